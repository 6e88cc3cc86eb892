"""The core's conformance kit over every stored case (skipped with the install hint without snnTorch)."""

import pytest

pytest.importorskip("snntorch", reason="snnTorch is not installed: pip install 'nirverse[snntorch]'")

from nirverse.testing import BackendConformance  # noqa: E402


class TestConformance(BackendConformance):
    backend = "snntorch"
