"""The core's conformance kit over every stored case."""

import pytest

pytest.importorskip("norse", reason="norse is not installed: pip install 'nirverse[norse]'")

from nirverse.testing import BackendConformance  # noqa: E402


class TestConformance(BackendConformance):
    backend = "norse"
