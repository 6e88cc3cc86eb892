"""Lowering NIR plans to populations, projections and lags: runs without GeNN."""

from __future__ import annotations

import nir
import numpy as np
import pytest
from genn_graphs import lif_params, mixed, recurrent
from nirverse import Semantics, UnsupportedNodeError, UnsupportedSemanticsError
from nirverse.graph import prepare
from nirverse.lowering import linear_map, node_bias
from nirverse.reference import make_operator
from nirverse_genn._lowering import lower


def _conv_graph(kind, **kw):
    rng = np.random.default_rng(3)
    if kind == "Conv2d":
        node = nir.Conv2d(input_shape=(5, 6), weight=rng.normal(size=(4, 2 // kw["groups"], 3, 2)), bias=rng.normal(size=4), **kw)
        shape = [2, 5, 6]
    elif kind == "Conv1d":
        node = nir.Conv1d(input_shape=7, weight=rng.normal(size=(4, 2 // kw["groups"], 3)), bias=rng.normal(size=4), **kw)
        shape = [2, 7]
    else:
        node = getattr(nir, kind)(**kw)
        shape = [3, 6, 7]
    return nir.NIRGraph(
        nodes={"in": nir.Input(input_type={"input": np.array(shape)}), "op": node, "out": nir.Output(output_type={"output": None})},
        edges=[("in", "op"), ("op", "out")], type_check=False,
    )


@pytest.mark.parametrize(
    "kind, kw",
    [
        ("Conv2d", dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)),
        ("Conv2d", dict(stride=1, padding="same", dilation=1, groups=1)),
        ("Conv1d", dict(stride=2, padding=2, dilation=2, groups=2)),
        ("SumPool2d", dict(kernel_size=np.array([2, 3]), stride=np.array([2, 2]), padding=np.array([1, 0]))),
        ("AvgPool2d", dict(kernel_size=np.array([3, 2]), stride=np.array([1, 2]), padding=np.array([1, 1]))),
    ],
)
def test_linear_maps_equal_the_reference_operator(kind, kw):
    """The Toeplitz matrix (+ bias) of conv/pool reproduces the reference operator."""
    plan = prepare(_conv_graph(kind, **kw), Semantics(1e-3))
    x = np.random.default_rng(4).normal(size=(3, *plan.in_shapes["op"]))
    want = make_operator(plan, "op", np.dtype("float64")).apply(x).reshape(3, -1)
    got = (linear_map(plan, "op") @ x.reshape(3, -1).T).T
    bias = node_bias(plan, "op")
    if bias is not None:
        got = got + bias
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_immediate_staggers_layers_and_delays_recurrence():
    net = lower(prepare(recurrent(), Semantics(1e-3, latency="immediate")))
    lags = {p.node: p.lag for p in net.populations}
    assert lags == {"in": 0, "lif1": 1, "li": 2, None: 0}
    # the recurrent bias passes the back-edge: it comes from the constant population, k = 1
    const = [i for i, p in enumerate(net.populations) if p.role == "const"]
    (late,) = [pr for pr in net.projections if pr.src == const[0]]
    assert late.k == 1 and late.delay == 1
    rec = [pr for pr in net.projections if pr.src == pr.dst]
    assert [(pr.k, pr.delay) for pr in rec] == [(1, 0)]


def test_one_step_is_genn_native_timing():
    net = lower(prepare(recurrent(), Semantics(1e-3, latency="one-step")))
    assert {p.node: p.lag for p in net.populations} == {"in": 0, "lif1": 1, "li": 1}
    from_neurons = [pr for pr in net.projections if net.populations[pr.src].role == "neuron"]
    assert from_neurons and all(pr.k == 1 and pr.delay == 0 for pr in from_neurons)
    assert all(p.role != "const" for p in net.populations)  # the recurrent bias is on time at t = 0
    lif = net.populations[net.neurons["lif1"]]
    w = prepare(recurrent(), Semantics(1e-3)).params
    np.testing.assert_array_equal(lif.vars["bias"], w["fc1"]["bias"] + w["rec"]["bias"])


def test_delay_splits_by_steps():
    plan = prepare(mixed(), Semantics(1e-3))
    net = lower(plan)
    src, dst = net.neurons["cuba"], net.neurons["iff"]
    ks = sorted(pr.k for pr in net.projections if pr.src == src and pr.dst == dst)
    assert ks == sorted(set(plan.params["dl"]["steps"].tolist()))


def test_two_populations_per_back_edge_cannot_be_immediate():
    rng = np.random.default_rng(0)
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([2])}),
            "a": nir.LIF(**lif_params(2, rng)),
            "b": nir.LIF(**lif_params(2, rng)),
            "w": nir.Linear(weight=np.eye(2)),
            "out": nir.Output(output_type={"output": None}),
        },
        edges=[("in", "a"), ("a", "b"), ("b", "w"), ("w", "a"), ("b", "out")],
    )
    with pytest.raises(UnsupportedSemanticsError) as err:
        lower(prepare(graph, Semantics(1e-3, latency="immediate")))
    assert err.value.field == "latency" and err.value.node in ("a", "b")
    lower(prepare(graph, Semantics(1e-3, latency="one-step")))  # GeNN's native latency is fine


def test_cycle_without_population_is_refused():
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([2])}),
            "a": nir.Linear(weight=np.eye(2) * 0.5),
            "b": nir.Scale(scale=np.ones(2)),
            "out": nir.Output(output_type={"output": None}),
        },
        edges=[("in", "a"), ("a", "b"), ("b", "a"), ("b", "out")],
    )
    with pytest.raises(UnsupportedNodeError) as err:
        lower(prepare(graph, Semantics(1e-3)))
    assert err.value.node in ("a", "b") and err.value.field == "edges"


def test_missing_pygenn_is_reported_with_install_instructions():
    import importlib

    import nirverse
    from nirverse import BackendUnavailableError
    from nirverse_genn._backend import GeNNBackend

    reason = GeNNBackend().check()
    try:
        importlib.import_module("pygenn")
    except ImportError:
        pass
    else:
        assert reason is None
        return
    assert "pip install https://github.com/genn-team/genn" in reason
    with pytest.raises(BackendUnavailableError) as err:
        nirverse.run(recurrent(), np.zeros((1, 2, 3)), Semantics(1e-3), backend="genn")
    assert "genn-team/genn" in str(err.value)
