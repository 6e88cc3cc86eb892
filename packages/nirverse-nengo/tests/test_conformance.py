"""The core's conformance kit over every stored case (skips cleanly without Nengo)."""

import pytest

pytest.importorskip("nengo", reason="Nengo is not installed: pip install 'nirverse[nengo]'")

from nirverse.testing import BackendConformance  # noqa: E402


class TestConformance(BackendConformance):
    backend = "nengo"
