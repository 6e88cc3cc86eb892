"""The fuzzing kit on the reference alone: strategies draw valid, covering, margin-checked cases; the
shrinker minimises; reproducers replay; the runner classifies every kind of outcome."""

import json
from collections import Counter

import nir
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
import nirverse  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from nirverse.graph import prepare  # noqa: E402
from nirverse.isolation import Outcome  # noqa: E402
from nirverse.testing import fuzz, strategies  # noqa: E402
from nirverse.testing.shrink import shrink  # noqa: E402
from nirverse.validation import NODE_TYPES  # noqa: E402


def fast(n: int):
    return settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck))


def _types(graph) -> set[str]:
    out = set()
    for node in graph.nodes.values():
        out |= _types(node) | {"NIRGraph"} if isinstance(node, nir.NIRGraph) else {type(node).__name__}
    return out


def _draw(n: int, **kwargs) -> list:
    cases = []

    @seed(7)
    @fast(n)
    @given(strategies.fuzz_cases(**kwargs))
    def collect(case):
        cases.append(case)

    collect()
    return cases


@pytest.fixture(scope="module")
def drawn():
    return _draw(300)


def test_every_node_type_family_semantics_and_dtype_is_drawn(drawn):
    types = set().union(*(_types(c.graph) for c in drawn + _draw(30, families=("conv",))))
    assert NODE_TYPES | {"NIRGraph"} <= types, sorted(NODE_TYPES - types)
    assert {c.family for c in drawn} == set(strategies.FAMILIES)
    assert {(c.semantics.method, c.semantics.reset, c.semantics.latency) for c in drawn} >= {
        (m, r, lat) for m in ("euler", "exp") for r in ("value", "subtract") for lat in ("immediate", "one-step")}
    assert {c.dtype for c in drawn} == {"float64", "float32"}


def test_parameters_span_the_valid_range(drawn):
    taus, thresholds, resets = [], [], []
    for case in drawn:
        plan = prepare(case.graph, case.semantics)
        for _name, p in plan.params.items():
            for key in ("tau", "tau_mem", "tau_syn"):
                if key in p:
                    taus += list((p[key] / case.semantics.dt).ravel())
            if "v_threshold" in p:
                thresholds += list(p["v_threshold"].ravel())
                resets += list((p["v_reset"] - p["v_threshold"]).ravel())
    assert min(taus) < 0.2 and max(taus) > 500  # dt/10 ... 1000 dt
    assert min(thresholds) < 0 and max(resets) > 0  # negative thresholds, resets above threshold


def test_drawn_cases_are_valid_and_margin_checked(drawn):
    for case in drawn[:60]:
        plan = prepare(case.graph, case.semantics)
        assert strategies.margin_ok(plan, case.inputs, case.dtype)


def test_nested_graphs_equal_their_flat_twin_on_the_reference():
    for case in _draw(25, families=("nested",)):
        a = nirverse.run(case.graph, case.inputs, case.semantics)
        b = nirverse.run(strategies.flat_twin(case.graph), case.inputs, case.semantics)
        assert "NIRGraph" not in _types(strategies.flat_twin(case.graph))
        for name in a.outputs:
            np.testing.assert_array_equal(a.outputs[name], b.outputs[name])


def test_shrinker_finds_a_minimal_failing_graph():
    """A made-up failure ("any LIF node fails from step 3 on") shrinks to Input -> ... -> LIF -> Output."""
    case = next(c for c in _draw(200, families=("chain", "reconverge", "multi_io"))
                if "LIF" in _types(c.graph) and len(c.graph.nodes) > 5 and c.inputs[next(iter(c.inputs))].shape[1] > 8)

    def still_fails(candidate):
        return "LIF" in _types(candidate.graph) and next(iter(candidate.inputs.values())).shape[1] > 3, 3

    small = shrink(case, still_fails, budget=200)
    assert "LIF" in _types(small.graph) and len(small.graph.nodes) < len(case.graph.nodes)
    assert next(iter(small.inputs.values())).shape[:2] == (1, 4)
    prepare(small.graph, small.semantics)


def test_classify_every_outcome():
    case = _draw(1)[0]
    expected = fuzz.reference(case)
    ok = Outcome("ok", value=fuzz.run_backend("reference", case))
    assert fuzz.classify("x", ok, expected, "float64").verdict == "identical"
    shifted = {"outputs": {k: v + 1.0 for k, v in expected.outputs.items()}, "states": {}, "spiking": expected.spiking}
    assert fuzz.classify("x", Outcome("ok", value=shifted), expected, "float64").verdict == "deviating"
    refused = {"refused": "UnsupportedNodeError: no X", "message": "no X"}
    assert fuzz.classify("x", Outcome("ok", value=refused), expected, "float64").reason == "UnsupportedNodeError: no X"
    assert fuzz.classify("x", Outcome("raised", error_type="ValueError", message="m"), expected, "float64").verdict == "error"
    assert fuzz.classify("x", Outcome("crashed", signal="SIGSEGV"), expected, "float64").reason == "SIGSEGV"
    assert fuzz.classify("x", Outcome("timed_out"), expected, "float64").verdict == "timed_out"


def test_refusal_reasons_group_equal_causes():
    a = nirverse.UnsupportedNodeError("backend 'x' has no Conv1d node", node="conv3", field="type")
    b = nirverse.UnsupportedNodeError("backend 'x' has no Conv1d node", node="block.conv7", field="type")
    assert fuzz.refusal_reason(a) == fuzz.refusal_reason(b)


def test_reproducer_replays_with_its_command(tmp_path):
    from nirverse.cli import main

    case = _draw(3, families=("nested",))[0]
    verdict = fuzz.FuzzVerdict("reference", "deviating", measures={"mismatches": 1})
    info = fuzz.write_reproducer(tmp_path, "reference", case, verdict, {"nodes": 9})
    stored = json.loads((tmp_path / (info["reproducer"].rsplit("/", 1)[1] + ".json")).read_text())
    argv = stored["replay"].split()[1:]
    assert argv[0] == "compare" and main(argv) == 0  # the reference against itself: identical


def test_fuzzer_on_the_reference_is_all_identical(tmp_path):
    result = fuzz.Fuzzer(["reference"], seed=3, graphs=12, out=tmp_path, time_limit=60).run()
    counts = result["backends"]["reference"]["counts"]
    assert counts["identical"] == 12 and sum(counts.values()) == 12, counts
    assert sum(result["families"].values()) == 12
    assert Counter(result["backends"]["reference"]["refusals"]) == Counter()
