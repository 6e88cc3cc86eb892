"""The core's conformance kit over every stored case, on the rockpool backend."""

import pytest

pytest.importorskip("rockpool", reason="rockpool is not installed: pip install 'nirverse[rockpool]'")

from nirverse.testing import BackendConformance  # noqa: E402


class TestConformance(BackendConformance):
    backend = "rockpool"
