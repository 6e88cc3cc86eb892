"""The core's conformance kit over every stored case."""

import pytest

pytest.importorskip("spyx", reason="spyx is not installed: pip install 'nirverse[spyx]'")

from nirverse.testing import BackendConformance  # noqa: E402


class TestConformance(BackendConformance):
    backend = "spyx"
