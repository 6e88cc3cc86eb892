"""Issue 16: paths of unequal length (immediate latency) need synaptic delays and delay slots; what the
generated code will index is checked before GeNN builds or runs it. Every GeNN run here is in a child
process, so a regression is a failing test, not a dead interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

import nir
import numpy as np
import pytest
from genn_graphs import lif_params
from nirverse import Semantics, UnsupportedSemanticsError
from nirverse.errors import BackendError
from nirverse.graph import prepare
from nirverse.isolation import call_isolated
from nirverse.testing.catalogue import load_cases
from nirverse_genn._lowering import lower

pytest.importorskip("pygenn", reason="pygenn (GeNN) is not installed", exc_type=ImportError)


def issue_graph(gain: float = 1.0) -> nir.NIRGraph:
    """The graph of issue 16 (``gain`` 1 as filed; larger so that the output spikes)."""
    n0, n1 = 3, 5
    rng = np.random.default_rng(0)
    return nir.NIRGraph(nodes={
        "input": nir.Input(input_type=np.array([n0])),
        "direct": nir.Linear(weight=rng.normal(0, 1, (n1, n0)) * gain),
        "hidden_w": nir.Linear(weight=rng.normal(0, 1, (n1, n0)) * gain),
        "hidden": nir.IF(r=np.full(n1, 100.0), v_threshold=np.ones(n1), v_reset=np.zeros(n1)),
        "out_lif": nir.LIF(tau=np.full(n1, 0.01), r=np.ones(n1), v_leak=np.zeros(n1),
                           v_threshold=np.ones(n1), v_reset=np.zeros(n1)),
        "output": nir.Output(output_type=np.array([n1])),
    }, edges=[("input", "direct"), ("input", "hidden_w"), ("hidden_w", "hidden"), ("hidden", "out_lif"),
              ("direct", "out_lif"), ("out_lif", "output")])


def _inputs() -> np.ndarray:
    rng = np.random.default_rng(0)
    rng.normal(size=(2, 5, 3))  # the issue's draws of the two weight matrices
    return (rng.random((2, 30, 3)) < 0.3).astype(float)


@pytest.mark.parametrize("latency", ["immediate", "one-step"])
@pytest.mark.parametrize("gain", [1.0, 8.0])
def test_issue_graph_is_identical_to_the_reference(latency, gain):
    graph, x, sem = issue_graph(gain), _inputs(), Semantics(1e-3, latency=latency)
    outcome = call_isolated("nirverse.api:run", graph, x, sem, backend="genn", record=True, time_limit=300)
    assert outcome.ok, outcome.describe()
    import nirverse

    ref = nirverse.run(graph, x, sem, record=True)
    np.testing.assert_array_equal(outcome.value.outputs["output"], ref.outputs["output"])
    np.testing.assert_allclose(outcome.value.states["out_lif"]["v"], ref.states["out_lif"]["v"], rtol=0, atol=1e-12)
    if gain > 1:
        assert ref.outputs["output"].sum() > 10  # the spikes of both paths are compared, not silence


def _unbuilt(graph, latency="immediate"):
    from nirverse_genn import _model

    net = lower(prepare(graph, Semantics(1e-3, latency=latency)))
    layout = _model._layout(net)
    values = [_model._population_values(p, net.reset) for p in net.populations]
    model = _model._make_model(net, "float64", layout, _model._weights(net, layout), values, "nv_guard_test")
    pops = [model.neuron_populations[f"p{i}"] for i in range(len(net.populations))]
    syns = [model.synapse_populations[f"s{j}"] for j in range(len(net.projections))]
    return net, pops, syns, [_model._device_initialised(p) for p in net.populations]


def test_the_delayed_input_population_gets_delay_slots_and_init_code():
    from nirverse_genn._guard import check_model

    net, pops, syns, init = _unbuilt(issue_graph())
    source = net.inputs["input"]
    delays = {pr.dst: pr.delay for pr in net.projections if pr.src == source}
    assert sorted(delays.values()) == [0, 1]  # the direct path waits one step for the hidden layer
    assert pops[source]._num_delay_slots == 2 and init[source] == {"out"}
    check_model(net, pops, syns, init)


def test_guard_refuses_a_delayed_population_genn_would_not_initialise():
    from nirverse_genn._guard import check_model

    net, pops, syns, _ = _unbuilt(issue_graph())
    with pytest.raises(BackendError) as err:  # what GeNN 5.4.0 made of the issue's graph: a SIGSEGV
        check_model(net, pops, syns, [set() for _ in net.populations])
    assert err.value.node == "input" and err.value.field == "num_delay_slots"


def test_guard_refuses_a_delay_the_schedule_did_not_plan():
    from nirverse_genn._guard import check_model

    net, pops, syns, init = _unbuilt(issue_graph())
    syns[0].axonal_delay_steps += 2
    with pytest.raises(BackendError) as err:
        check_model(net, pops, syns, init)
    assert err.value.field == "axonal_delay_steps"


def test_guard_refuses_an_input_buffer_of_the_wrong_size():
    from nirverse_genn._guard import check_sequence

    net, *_ = _unbuilt(issue_graph())
    i = net.inputs["input"]
    check_sequence(net, {i: 32 * 3}, 32)
    with pytest.raises(BackendError) as err:
        check_sequence(net, {i: 31 * 3}, 32)
    assert err.value.node == "input" and err.value.field == "seq"


def test_a_loop_without_a_schedule_is_refused_naming_it():
    rng = np.random.default_rng(0)
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type={"input": np.array([2])}), "a": nir.LIF(**lif_params(2, rng)),
               "b": nir.LIF(**lif_params(2, rng)), "w": nir.Linear(weight=np.eye(2)),
               "out": nir.Output(output_type={"output": None})},
        edges=[("in", "a"), ("a", "b"), ("b", "w"), ("w", "a"), ("b", "out")],
    )
    with pytest.raises(UnsupportedSemanticsError, match=r"loop (a -> b -> a|b -> a -> b) passes 2 .* 1 delayed"):
        lower(prepare(graph, Semantics(1e-3, latency="immediate")))


def test_unequal_paths_have_a_schedule_in_every_new_case():
    families = ("reconverge-", "two-inputs-", "fan-out-")
    cases = [c for c in load_cases() if c.id.startswith(families)]
    assert len(cases) == 20
    for case in cases:
        net = lower(prepare(case.graph(), case.semantics))
        assert all(pr.delay >= 0 for pr in net.projections)
        if case.semantics.latency == "immediate" and not case.id.startswith("fan-out"):
            assert any(pr.delay > 0 for pr in net.projections), case.id  # the delays issue 16 is about


def test_compare_reports_a_crashing_backend_and_keeps_genn():
    env = dict(os.environ, NIRVERSE_EXTRA_BACKENDS="segfault=nirverse.testing.doubles:SegfaultBackend",
               COLUMNS="250")
    proc = subprocess.run(
        [sys.executable, "-m", "nirverse.cli", "compare", "--backends", "segfault,genn", "--steps", "40", "--no-plot"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]  # a crashed backend fails the command, the others still report
    rows = {line.split("│")[1].strip(): line for line in proc.stdout.splitlines() if line.count("│") > 3}
    assert "crashed" in rows["segfault"] and "SIGSEGV" in rows["segfault"]
    assert "identical" in rows["genn"] and "0/" in rows["genn"]
