"""A built Brian2 network is reused by later runs of the same graph and semantics: no rebuild, the
same numbers as a fresh network and as the reference, whatever ran before."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("brian2", reason="brian2 is not installed: pip install 'nirverse[brian2]'")

from nirverse.backends import get_backend  # noqa: E402
from nirverse.graph import prepare  # noqa: E402
from nirverse.reference import simulate  # noqa: E402
from nirverse.testing.catalogue import load_cases  # noqa: E402
from nirverse_brian2 import _reuse  # noqa: E402


@pytest.fixture
def builds(monkeypatch):
    """Counts the networks built."""
    _reuse.clear()
    made = []
    real = _reuse.build_network

    def counting(*args, **kwargs):
        made.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(_reuse, "build_network", counting)
    yield made
    _reuse.clear()


@pytest.mark.parametrize("case_id", ["recurrent-cubalif-euler-value-imm", "delay-euler-value-1step"])
def test_second_run_reuses_the_network_and_stays_identical(case_id, builds):
    case = load_cases([case_id])[0]
    backend = get_backend("brian2")
    rng = np.random.default_rng(0)
    x1 = case.inputs
    x2 = {k: v * rng.uniform(0.5, 1.5, v.shape) for k, v in x1.items()}
    runs = []
    for inputs in (x1, x2, x1):
        plan = prepare(case.graph(), case.semantics)  # a new plan each time, as nirverse.run makes one
        runs.append((plan, inputs, backend.run(backend.build(plan, case.dtype), inputs, True)))
    assert len(builds) == 1  # built once, reused twice
    for plan, inputs, out in runs:
        ref, ref_states = simulate(plan, inputs, case.dtype, record=True)
        for k in ref:
            if plan.output_is_spikes(k):
                assert np.array_equal(out.outputs[k], ref[k]), k
            assert np.abs(out.outputs[k] - ref[k]).max() < 1e-9, k
        for n, traces in ref_states.items():
            for v, trace in traces.items():
                assert np.abs(out.states[n][v] - trace).max() < 1e-9, (n, v)
    for k in runs[0][2].outputs:  # the third run (first inputs again) repeats the first exactly
        assert np.array_equal(runs[0][2].outputs[k], runs[2][2].outputs[k])


def test_other_batch_steps_or_parameters_build_anew(builds):
    case = load_cases(["recurrent-lif-euler-value-imm"])[0]
    backend = get_backend("brian2")
    plan = prepare(case.graph(), case.semantics)
    x = case.inputs
    backend.run(backend.build(plan, "float64"), x, False)
    backend.run(backend.build(plan, "float64"), {k: v[:, :-1] for k, v in x.items()}, False)
    graph = case.graph()
    graph.nodes["rec"].weight = graph.nodes["rec"].weight * 0.5
    other = prepare(graph, case.semantics)
    out = backend.run(backend.build(other, "float64"), x, False)
    assert len(builds) == 3
    ref, _ = simulate(other, x)
    assert all(np.abs(out.outputs[k] - ref[k]).max() < 1e-9 for k in ref)
