"""The core's conformance kit over every stored case."""

import pytest

pytest.importorskip("sinabs", reason="sinabs is not installed: pip install 'nirverse[sinabs]'")

from nirverse.testing import BackendConformance  # noqa: E402


class TestConformance(BackendConformance):
    backend = "sinabs"
