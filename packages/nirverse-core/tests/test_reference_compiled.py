"""The compiled fast path of the reference equals the literal per-step definition (``stepwise=True``).

Every catalogue case and a few hundred random graphs (random neuron kinds, cycles, self-loops, Scale,
Threshold, Affine with and without bias, every semantics): 0 raster mismatches and |Δ| <= 1e-12 on
every output and every recorded state -- relative to the trace's largest magnitude where that exceeds 1
(random loops of I/LI nodes grow to 1e8, where the few-ulp difference of a reordered dense sum is
1e-7 absolute; the catalogue's traces stay below 1e3). Skipped where numba (``nirverse-core[fast]``) is not installed.
"""

from __future__ import annotations

import subprocess
import sys

import nir
import numpy as np
import pytest
from nirverse import NirverseError, Semantics
from nirverse.graph import prepare
from nirverse.reference import compiled, simulate
from nirverse.testing.catalogue import load_cases
from nirverse.testing.graphs import neuron_node

pytest.importorskip("numba")

KINDS = ("I", "IF", "LI", "LIF", "CubaLI", "CubaLIF")
TOLERANCE = 1e-12


@pytest.fixture
def kernel_groups(monkeypatch):
    """Counts the groups that ran on the kernel (so a test cannot pass by never using it)."""
    used = []
    real = compiled.run_group

    def spy(plan, group, *args, **kwargs):
        used.append(group)
        return real(plan, group, *args, **kwargs)

    monkeypatch.setattr(compiled, "run_group", spy)
    return used


def within(a: np.ndarray, b: np.ndarray) -> bool:
    """max |a - b| <= TOLERANCE * max(1, max |b|) (plain |Δ| <= 1e-12 for traces bounded by 1)."""
    return bool(np.abs(a - b).max(initial=0.0) <= TOLERANCE * max(1.0, np.abs(b).max(initial=0.0)))


def assert_equal_runs(plan, inputs, dtype="float64", pre_reset=False):
    """Fast path vs literal stepping: identical spike rasters, every value within TOLERANCE."""
    fast, fast_states = simulate(plan, inputs, dtype, record=True, pre_reset=pre_reset)
    slow, slow_states = simulate(plan, inputs, dtype, record=True, stepwise=True, pre_reset=pre_reset)
    assert fast.keys() == slow.keys()
    for k in slow:
        if plan.output_is_spikes(k):
            assert np.array_equal(fast[k], slow[k]), f"{k}: {int((fast[k] != slow[k]).sum())} raster mismatches"
        assert within(fast[k], slow[k]), (k, np.abs(fast[k] - slow[k]).max(initial=0.0))
    assert fast_states.keys() == slow_states.keys()
    for n, traces in slow_states.items():
        assert fast_states[n].keys() == traces.keys(), n
        for v, trace in traces.items():
            assert within(fast_states[n][v], trace), (n, v, np.abs(fast_states[n][v] - trace).max(initial=0.0))


@pytest.mark.parametrize("case", load_cases(), ids=lambda c: c.id)
def test_catalogue_case_equals_literal_stepping(case, kernel_groups):
    plan = prepare(case.graph(), case.semantics)
    assert_equal_runs(plan, case.inputs, case.dtype, pre_reset=case.dtype == "float32")
    stepped = [g for g in plan.groups if plan.is_cyclic(g) or any(plan.is_neuron(n) for n in g)]
    if case.dtype == "float64" and all(compiled.eligible(plan, g, _ops(plan), np.dtype("float64")) for g in stepped):
        assert len(kernel_groups) == len(stepped)


def test_catalogue_exercises_the_kernel_on_cycles():
    cyclic = [c for c in load_cases() if c.dtype == "float64" and _has_eligible_cycle(c)]
    assert len(cyclic) >= 5


def _ops(plan):
    from nirverse.reference.simulator import make_operator

    return {n: make_operator(plan, n, np.dtype("float64")) for n in plan.order}


def _has_eligible_cycle(case) -> bool:
    plan = prepare(case.graph(), case.semantics)
    ops = _ops(plan)
    return any(plan.is_cyclic(g) and compiled.eligible(plan, g, ops, np.dtype("float64")) for g in plan.groups)


def random_graph(rng: np.random.Generator) -> nir.NIRGraph:
    """A chain of random nodes (neurons, Affine, Linear, Scale, Threshold) of one width plus random
    extra edges: back edges (cycles), self-loops on neurons, skips."""
    n = int(rng.integers(1, 7))
    count = int(rng.integers(2, 7))
    nodes = {"input": nir.Input(np.array([n])), "output": nir.Output(np.array([n]))}
    names = []
    for k in range(count):
        pick = rng.integers(0, 10)
        if pick < 5:
            node = neuron_node(KINDS[rng.integers(0, len(KINDS))], n, rng, scale=float(rng.uniform(0.5, 3)))
        elif pick < 7:
            node = nir.Affine(weight=rng.normal(0.3, 1.0, (n, n)), bias=rng.uniform(-0.3, 0.6, n))
        elif pick < 8:
            node = nir.Linear(weight=rng.normal(0.3, 1.0, (n, n)))
        elif pick < 9:
            node = nir.Scale(scale=rng.uniform(-1.5, 2.0, n))
        else:
            node = nir.Threshold(threshold=rng.uniform(-0.2, 0.5, n))
        names.append(f"n{k}")
        nodes[names[-1]] = node
    chain = ["input", *names, "output"]
    edges = set(zip(chain[:-1], chain[1:]))
    for _ in range(int(rng.integers(1, 4))):
        a, b = rng.choice(names, 2)
        edges.add((str(a), str(b)))
    return nir.NIRGraph(nodes=nodes, edges=sorted(edges), type_check=False)


def random_semantics(rng: np.random.Generator) -> Semantics:
    return Semantics(float(rng.choice([1e-4, 1e-3, 5e-3])), method=str(rng.choice(["euler", "exp"])),
                     reset=str(rng.choice(["value", "subtract"])), latency=str(rng.choice(["immediate", "one-step"])))


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_equal_literal_stepping(seed, kernel_groups):
    rng = np.random.default_rng(1000 + seed)
    ran = 0
    for _ in range(8):
        graph = random_graph(rng)
        try:
            plan = prepare(graph, random_semantics(rng))
        except NirverseError:
            continue
        n_in = plan.out_shapes["input"][0]
        x = rng.normal(0.5, 1.0, (int(rng.integers(1, 4)), int(rng.integers(1, 60)), n_in))
        x[rng.random(x.shape) < 0.4] = 0.0
        assert_equal_runs(plan, {"input": x}, pre_reset=bool(rng.integers(0, 2)))
        ran += 1
    assert ran >= 4 and kernel_groups


def test_fallback_without_numba_gives_the_same_numbers(monkeypatch, kernel_groups):
    plan = _plan("recurrent-lif-euler-value-imm")
    x = np.random.default_rng(0).random((2, 50, plan.out_shapes["input"][0]))
    fast, _ = simulate(plan, {"input": x})
    monkeypatch.setattr(compiled, "available", lambda: False)
    slow, _ = simulate(plan, {"input": x})
    assert len(kernel_groups) >= 1  # the first run used the kernel, the second could not
    for k in fast:
        assert np.abs(fast[k] - slow[k]).max() <= TOLERANCE


def test_groups_the_kernel_does_not_handle_fall_back(kernel_groups):
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "n": nir.IF(r=np.ones(1), v_threshold=np.full(1, 0.5)),
               "d": nir.Delay(delay=np.array([2.0])), "output": nir.Output(np.array([1]))},
        edges=[("input", "n"), ("n", "d"), ("d", "n"), ("n", "output")], type_check=False,
    )
    plan = prepare(g, Semantics(1.0))
    x = np.zeros((1, 8, 1))
    x[0, 0, 0] = 1.0
    assert simulate(plan, {"input": x})[0]["output"][0, :, 0].tolist() == [1, 0, 0, 1, 0, 0, 1, 0]
    assert kernel_groups == []  # the cycle holds a Delay: numpy path


def test_float32_and_non_finite_weights_stay_on_numpy():
    plan = _plan("recurrent-lif-euler-value-imm")
    ops = _ops(plan)
    cycle = next(g for g in plan.groups if plan.is_cyclic(g))
    assert compiled.eligible(plan, cycle, ops, np.dtype("float64"))
    assert not compiled.eligible(plan, cycle, ops, np.dtype("float32"))
    affine = next(n for n in cycle if plan.types[n] in ("Affine", "Linear"))
    ops[affine].weight_t = ops[affine].weight_t.copy()
    ops[affine].weight_t[0, 0] = np.inf
    assert not compiled.eligible(plan, cycle, ops, np.dtype("float64"))


def test_import_nirverse_does_not_import_numba():
    code = "import sys, nirverse, nirverse.reference; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def _plan(case_id: str):
    case = load_cases([case_id])[0]
    return prepare(case.graph(), case.semantics)
