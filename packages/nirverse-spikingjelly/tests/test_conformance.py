"""The core's conformance kit over every stored case."""

import pytest

pytest.importorskip("spikingjelly", reason="spikingjelly is not installed: pip install 'nirverse[spikingjelly]'")

from nirverse.testing import BackendConformance  # noqa: E402


class TestConformance(BackendConformance):
    backend = "spikingjelly"
