"""Properties of the fuzzing generator on every backend that exports (Hypothesis shrinks any failure):
a nested graph runs as its flat twin; export -> nir.write -> nir.read -> import is identical; float32 on
margin-checked inputs agrees with float64."""

import nirverse
import pytest
from nirverse import UnsupportedNodeError, UnsupportedSemanticsError
from nirverse.testing import simulator_backends

pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from nirverse.testing import properties  # noqa: E402
from nirverse.testing.strategies import fuzz_cases  # noqa: E402

SETTINGS = settings(max_examples=10, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))


def _available(backend: str, exports: bool = False) -> None:
    try:
        info = nirverse.backend_info(backend)
    except nirverse.BackendUnavailableError as exc:
        pytest.skip(str(exc))
    if not info.available:
        pytest.skip(info.reason)
    if exports and not info.exports:
        pytest.skip(f"{backend} does not export to NIR")


def _holds(check, backend, case):
    try:
        cmp = check(backend, case)
    except (UnsupportedNodeError, UnsupportedSemanticsError):
        return  # a refusal is allowed; a different answer is not
    assert cmp.identical, cmp.to_dict()


@pytest.mark.parametrize("backend", simulator_backends())
def test_nested_graph_equals_its_flat_twin(backend):
    _available(backend)

    @SETTINGS
    @given(fuzz_cases(families=("nested",)))
    def check(case):
        _holds(properties.flat_twin_agrees, backend, case)

    check()


@pytest.mark.parametrize("backend", simulator_backends())
def test_export_write_read_import_round_trip(backend):
    _available(backend, exports=True)

    @SETTINGS
    @given(fuzz_cases(dtypes=("float64",)))
    def check(case):
        _holds(properties.round_trip_agrees, backend, case)

    check()


@pytest.mark.parametrize("backend", simulator_backends())
def test_float32_agrees_with_float64_on_margin_checked_inputs(backend):
    _available(backend)

    @SETTINGS
    @given(fuzz_cases(dtypes=("float32",)))
    def check(case):
        _holds(properties.float32_agrees, backend, case)

    check()
