"""Brian2 -> NIR: round trips are parameter-exact; an exported graph's reference run equals Brian2's run."""

from __future__ import annotations

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2", reason="brian2 is not installed: pip install 'nirverse[brian2]'")

import nirverse  # noqa: E402
import nirverse_brian2 as nb  # noqa: E402
from nirverse import Semantics  # noqa: E402
from nirverse.errors import UnsupportedNodeError, UnsupportedSemanticsError  # noqa: E402
from nirverse.testing.catalogue import load_cases  # noqa: E402
from nirverse_brian2._from_nir import TEMPLATES, codegen  # noqa: E402

DT = 1e-3
ROUND_TRIP = [
    "nested-euler-value-imm",
    "recurrent-cubalif-exp-subtract-1step",
    "conv-stack-euler-subtract-imm",
    "delay-euler-value-1step",
    "stateless-scale",
    "stateless-threshold",
    "single-i-euler-value-imm",
]


def _arrays(plan):
    return {(n, k): np.asarray(v) for n in plan.order for k, v in plan.params[n].items() if isinstance(v, np.ndarray)}


@pytest.mark.parametrize("case_id", ROUND_TRIP)
def test_round_trip_is_parameter_exact_and_runs_the_same(case_id):
    (case,) = load_cases([case_id])
    model = nb.from_nir(case.graph(), case.semantics, case.inputs, record=True)
    model.run()
    exported = nb.to_nir(model, case.semantics)
    before, after = nirverse.prepare(case.graph(), case.semantics), nirverse.prepare(exported, case.semantics)
    assert before.edges == after.edges and before.types == after.types
    a, b = _arrays(before), _arrays(after)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=str(key))
    assert Semantics.from_metadata(exported.metadata) == case.semantics
    ref = nirverse.run(exported, case.inputs, case.semantics, record=True)
    mine = nirverse.Result(outputs=model.outputs(), states=model.states())
    cmp = nirverse.compare(mine, ref, spiking_outputs=ref.spiking)
    assert cmp.identical, cmp


def test_changes_made_in_brian2_are_exported():
    (case,) = load_cases(["feedforward-euler-value-imm"])
    model = nb.from_nir(case.graph(), case.semantics, case.inputs)
    lif = next(n for n in model.plan.order if model.plan.types[n] == "LIF")
    model.groups[lif].v_threshold = 0.123
    exported = nb.to_nir(model, case.semantics)
    assert np.all(nirverse.prepare(exported, case.semantics).params[lif]["v_threshold"] == 0.123)


def test_model_export_under_another_semantics_is_refused():
    (case,) = load_cases(["feedforward-euler-value-imm"])
    model = nb.from_nir(case.graph(), case.semantics, case.inputs)
    with pytest.raises(UnsupportedSemanticsError, match="built under"):
        nb.to_nir(model, Semantics(DT, method="exp"))


def hand_written(method="euler", reset="v = v_reset", clock_dt=DT, order2=0):
    """Input (TimedArray) -> Synapses -> LIF -> Synapses -> LIF, with the plugin's template, Brian2's
    default schedule (summed variables update before the groups: a neuron-to-neuron edge delivers the
    previous step's spikes)."""
    rng = np.random.default_rng(3)
    b = brian2
    clock = b.Clock(dt=clock_dt * b.second)
    stim = b.TimedArray(rng.uniform(0, 2, size=(80, 3)), dt=clock_dt * b.second)
    inp = b.NeuronGroup(3, "y : 1", clock=clock, namespace={"stim": stim}, name="inp")
    inp.run_regularly("y = stim(t, i)", when="start")
    params = "tau : second\nr : 1\nv_leak : 1\nv_threshold : 1\nv_reset : 1\nz : 1\n"
    groups = []
    for name, n in (("hidden", 4), ("top", 2)):
        g = b.NeuronGroup(
            n, TEMPLATES["leak"] + "\nx = in0 : 1\nin0 : 1\n" + params, threshold="v > v_threshold",
            reset=reset + "\nz = 1", method=method, clock=clock, name=name, order=order2 if name == "top" else 0,
        )
        g.tau = rng.uniform(0.005, 0.03, n) * b.second
        g.r, g.v_leak, g.v_threshold, g.v_reset = rng.uniform(1, 3, n), 0.05, 0.4, -0.05
        g.v = 0.05
        g.run_regularly("z = 0", when="before_thresholds")
        groups.append(g)
    s1 = b.Synapses(inp, groups[0], "w : 1\nin0_post = w*y_pre : 1 (summed)", clock=clock, name="s1")
    s1.connect()
    s1.w = rng.normal(1.0, 0.5, size=12)
    s2 = b.Synapses(groups[0], groups[1], "w : 1\nin0_post = w*z_pre : 1 (summed)", clock=clock, name="s2")
    s2.connect(p=1.0)
    s2.w = rng.normal(2.0, 0.5, size=8)
    mon = b.SpikeMonitor(groups[1], name="spikes")
    vmon = b.StateMonitor(groups[0], "v", record=True, name="vmon", when="end")
    net = b.Network(inp, *groups, s1, s2, mon, vmon)
    return net, stim


def test_hand_written_network_exports_to_an_equivalent_graph():
    sem = Semantics(DT, method="euler", reset="value", latency="one-step")
    with codegen("numpy", "float64"):
        net, stim = hand_written()
        net.run(80 * DT * brian2.second, namespace={})
    graph = nb.to_nir(net, sem)
    assert {type(n).__name__ for n in graph.nodes.values()} == {"Input", "Linear", "LIF", "Output"}
    x = np.asarray(stim.values)[None]
    ref = nirverse.run(graph, {"inp": x}, sem, record=True)
    raster = np.zeros((80, 2))
    raster[np.round(np.asarray(net["spikes"].t_) / DT).astype(int), np.asarray(net["spikes"].i)] = 1
    assert raster.sum() > 0
    np.testing.assert_array_equal(ref.outputs["top_output"][0], raster)
    np.testing.assert_allclose(ref.states["hidden"]["v"][0], np.asarray(net["vmon"].v).T, rtol=1e-9, atol=1e-9)


def test_hand_written_network_under_immediate_latency_is_refused():
    net, _ = hand_written()
    with pytest.raises(UnsupportedSemanticsError, match="previous"):
        nb.to_nir(net, Semantics(DT, latency="immediate"))


@pytest.mark.parametrize(
    "kwargs, sem, error, match",
    [
        ({"method": "exact"}, Semantics(DT, latency="one-step"), UnsupportedSemanticsError, "method"),
        ({}, Semantics(DT, method="exp", latency="one-step"), UnsupportedSemanticsError, "method"),
        ({"reset": "v = v - v_threshold"}, Semantics(DT, latency="one-step"), UnsupportedSemanticsError, "reset"),
        ({"clock_dt": 2e-3}, Semantics(DT, latency="one-step"), UnsupportedSemanticsError, "dt"),
    ],
)
def test_networks_the_semantics_does_not_describe_are_refused(kwargs, sem, error, match):
    net, _ = hand_written(**kwargs)
    with pytest.raises(error, match=match):
        nb.to_nir(net, sem)


def test_other_equations_are_refused_with_the_group_name():
    g = brian2.NeuronGroup(2, "dv/dt = -v**2/(10*ms) : 1", name="quadratic")
    with pytest.raises(UnsupportedNodeError, match="quadratic"):
        nb.to_nir([g], Semantics(DT))
