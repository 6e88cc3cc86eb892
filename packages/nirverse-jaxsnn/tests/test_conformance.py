"""The core's conformance kit over every stored case."""

import pytest

pytest.importorskip("jaxsnn", reason="jaxsnn is not installed: pip install 'nirverse[jaxsnn]'")

from nirverse.testing import BackendConformance  # noqa: E402


class TestConformance(BackendConformance):
    backend = "jaxsnn"
