"""Property-based: random valid graphs (node types, shapes, parameters, semantics) through every available
backend against the reference, in this process (Hypothesis shrinks a failure to a minimal graph). The
generator is the fuzzer's (:mod:`nirverse.testing.strategies`); ``test_fuzz.py`` runs it isolated, at scale."""

import nirverse
import pytest
from hypothesis import HealthCheck, given, settings
from nirverse import UnsupportedNodeError, UnsupportedSemanticsError
from nirverse.testing import simulator_backends
from nirverse.testing.strategies import fuzz_cases


@pytest.mark.parametrize("backend", simulator_backends())
def test_random_graphs_match_reference(backend):
    try:
        if not nirverse.backend_info(backend).available:
            pytest.skip(nirverse.backend_info(backend).reason)
    except nirverse.BackendUnavailableError as exc:
        pytest.skip(str(exc))

    @settings(max_examples=12, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(fuzz_cases())
    def check(case):
        reference = nirverse.run(case.graph, case.inputs, case.semantics, record=True)
        try:
            result = nirverse.run(case.graph, case.inputs, case.semantics, backend=backend, dtype=case.dtype,
                                  record=True)
        except (UnsupportedNodeError, UnsupportedSemanticsError):
            return  # refusing is allowed; running differently is not
        cmp = nirverse.compare(result, reference, dtype=case.dtype)
        assert cmp.identical, cmp.to_dict()

    check()
