"""The core's conformance kit over every stored case."""

import pytest

pytest.importorskip("brian2", reason="brian2 is not installed: pip install 'nirverse[brian2]'")

from nirverse.testing import BackendConformance  # noqa: E402


class TestConformance(BackendConformance):
    backend = "brian2"
