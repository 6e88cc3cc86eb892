import pytest

testing = pytest.importorskip("nirverse.testing")
if not hasattr(testing, "BackendConformance"):
    pytest.skip("the conformance kit (nirverse.testing.BackendConformance) is not available", allow_module_level=True)

from nirverse.testing import BackendConformance  # noqa: E402


class TestConformance(BackendConformance):
    backend = "nest"
