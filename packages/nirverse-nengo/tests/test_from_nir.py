"""NIR -> Nengo edge cases the catalogue does not reach: the nengo.LIF path, conv/pool forms, delays,
unit spikes, float32, the user-facing network."""

import numpy as np
import pytest

nengo = pytest.importorskip("nengo", reason="Nengo is not installed: pip install 'nirverse[nengo]'")

import nir  # noqa: E402
import nirverse  # noqa: E402
from nirverse import Semantics  # noqa: E402
from nirverse.graph import prepare  # noqa: E402
from nirverse_nengo import NIRNetwork, from_nir  # noqa: E402
from nirverse_nengo._conv import nengo_padding  # noqa: E402
from nirverse_nengo._from_nir import uses_native_lif  # noqa: E402
from nirverse_nengo._nodes import LeakyIntegrateAndFire  # noqa: E402

DT = 1e-3


def _identical(graph, x, sem, dtype="float64"):
    ref = nirverse.run(graph, x, sem, dtype=dtype, record=True)
    out = nirverse.run(graph, x, sem, backend="nengo", dtype=dtype, record=True)
    cmp = nirverse.compare(out, ref, dtype=dtype)
    assert cmp.identical, cmp
    return ref, out


def _lif_graph(n=6, m=3, seed=0, **lif):
    rng = np.random.default_rng(seed)
    params = dict(
        tau=np.full(n, 0.02),
        r=rng.uniform(0.5, 2.0, n),
        v_leak=np.zeros(n),
        v_threshold=np.ones(n),
        v_reset=np.zeros(n),
    )
    params.update(lif)
    return nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array([m])),
            "fc": nir.Affine(rng.normal(size=(n, m)) * 3, rng.normal(size=n)),
            "lif": nir.LIF(**params),
            "rec": nir.Linear(rng.normal(size=(n, n))),
            "out": nir.Output(np.array([n])),
        },
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")],
    )


def _input(shape, steps=60, seed=1, scale=40.0):
    return np.random.default_rng(seed).normal(size=(2, steps, *shape)) * scale


@pytest.mark.parametrize("latency", ["immediate", "one-step"])
def test_native_lif_path_is_nengo_lif_and_identical(latency):
    sem = Semantics(DT, "exp", "value", latency)
    graph = _lif_graph()
    net = from_nir(graph, sem)
    ens = net.neuron_ensembles["lif"]
    assert type(ens.neuron_type) is nengo.LIF
    assert ens.neuron_type.tau_ref == 0 and ens.neuron_type.min_voltage == -np.inf
    np.testing.assert_array_equal(ens.gain, graph.nodes["lif"].r)
    ref, out = _identical(graph, _input((3,)), sem)
    assert ref.outputs["out"].sum() > 20  # the neurons do spike
    assert set(np.unique(out.outputs["out"])) <= {0.0, 1.0}  # unit spikes, not amplitude/dt


def test_float32_keeps_lif_on_the_neuron_type():
    """In float32 nengo.LIF would compute expm1 in float32; the NeuronType rounds the float64 factor."""
    sem = Semantics(DT, "exp", "value")
    graph = _lif_graph(n=3, m=2, seed=3)
    assert isinstance(
        NIRNetwork(prepare(graph, sem), native_lif=False).neuron_ensembles["lif"].neuron_type, LeakyIntegrateAndFire
    )
    x = np.full((1, 40, 2), 0.37)
    _identical(graph, x, sem, dtype="float32")


@pytest.mark.parametrize(
    "change",
    [
        dict(v_leak=np.full(6, 0.1)),
        dict(v_threshold=np.full(6, 1.5)),
        dict(v_reset=np.full(6, -0.2)),
        dict(tau=np.linspace(0.01, 0.03, 6)),
        dict(tau=np.full(6, 1e-4)),
    ],
    ids=["v_leak", "v_threshold", "v_reset", "per-neuron-tau", "kappa-near-1"],
)
def test_custom_type_where_nengo_lif_cannot_express(change):
    sem = Semantics(DT, "exp", "value")
    graph = _lif_graph(**change)
    plan = prepare(graph, sem)
    assert not uses_native_lif("LIF", plan.params["lif"], sem)
    net = from_nir(graph, sem)
    assert isinstance(net.neuron_ensembles["lif"].neuron_type, LeakyIntegrateAndFire)
    _identical(graph, _input((3,)), sem)


@pytest.mark.parametrize("method,reset", [("euler", "value"), ("exp", "subtract")])
def test_other_semantics_never_use_nengo_lif(method, reset):
    sem = Semantics(DT, method, reset)
    assert not uses_native_lif("LIF", prepare(_lif_graph(), sem).params["lif"], sem)


def test_nengo_padding_matches_pytorch_windows_only():
    # n=5, k=3, stride 1: pytorch padding 1 == nengo "same"; padding 0 == "valid"
    assert nengo_padding((5,), (3,), (1,), (1,), ((1, 1),), (5,)) == "same"
    assert nengo_padding((5,), (3,), (1,), (1,), ((0, 0),), (3,)) == "valid"
    # stride 2, padding 1 on n=5: out 3 == ceil(5/2), nengo pads total 2 -> 1 before
    assert nengo_padding((5,), (3,), (2,), (1,), ((1, 1),), (3,)) == "same"
    # n=6, k=3, stride 2, padding 1: out 3, nengo pads total 1 -> 0 before: different windows
    assert nengo_padding((6,), (3,), (2,), (1,), ((1, 1),), (3,)) is None
    assert nengo_padding((5,), (3,), (1,), (2,), ((2, 2),), (5,)) is None  # dilation


CONVS = {
    "conv2d-same-groups": (
        lambda r: nir.Conv2d((6, 6), r.normal(size=(4, 1, 3, 3)), 1, 1, 1, 2, r.normal(size=4)),
        (2, 6, 6),
        nengo.Convolution,
    ),
    "conv2d-stride2": (
        lambda r: nir.Conv2d((5, 5), r.normal(size=(3, 2, 3, 3)), 2, 1, 1, 1, r.normal(size=3)),
        (2, 5, 5),
        nengo.Convolution,
    ),
    "conv2d-dilation": (
        lambda r: nir.Conv2d((7, 7), r.normal(size=(3, 2, 3, 3)), 1, 2, 2, 1, r.normal(size=3)),
        (2, 7, 7),
        nengo.Sparse,
    ),
    "conv2d-stride2-even": (
        lambda r: nir.Conv2d((6, 6), r.normal(size=(2, 2, 3, 3)), 2, 1, 1, 1, np.zeros(2)),
        (2, 6, 6),
        nengo.Sparse,
    ),
    "conv1d-valid": (
        lambda r: nir.Conv1d(9, r.normal(size=(3, 2, 4)), 1, 0, 1, 1, r.normal(size=3)),
        (2, 9),
        nengo.Convolution,
    ),
}


@pytest.mark.parametrize("case", sorted(CONVS))
def test_conv_forms_are_identical(case):
    make, in_shape, expected = CONVS[case]
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array(in_shape)),
            "conv": make(np.random.default_rng(2)),
            "out": nir.Output(output_type={"output": None}),
        },
        edges=[("in", "conv"), ("conv", "out")],
        type_check=False,
    )
    sem = Semantics(DT)
    net = from_nir(graph, sem)
    assert isinstance(net.constructs["conv"]["transform"], expected)
    _identical(graph, _input(in_shape, steps=3), sem)


@pytest.mark.parametrize("kind", ["SumPool2d", "AvgPool2d"])
@pytest.mark.parametrize("padding,expected", [((0, 0), nengo.Convolution), ((1, 1), nengo.Sparse)])
def test_pools(kind, padding, expected):
    pool = getattr(nir, kind)(np.array([2, 2]), np.array([2, 2]), np.array(padding))
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([3, 4, 4])), "pool": pool, "out": nir.Output(output_type={"output": None})},
        edges=[("in", "pool"), ("pool", "out")],
        type_check=False,
    )
    sem = Semantics(DT)
    net = from_nir(graph, sem)
    assert isinstance(net.constructs["pool"]["transform"], expected)
    _identical(graph, _input((3, 4, 4), steps=3), sem)


def test_delays_of_several_steps_per_element():
    steps = np.array([0, 1, 2, 3, 5, 2])
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([6])), "d": nir.Delay(steps * DT), "out": nir.Output(np.array([6]))},
        edges=[("in", "d"), ("d", "out")],
    )
    ref, out = _identical(graph, _input((6,), steps=12), Semantics(DT))
    x = _input((6,), steps=12)
    for j, k in enumerate(steps):  # y_t = x_{t-k}, zeros before
        np.testing.assert_array_equal(out.outputs["out"][:, k:, j], x[:, : 12 - k, j])
        assert not out.outputs["out"][:, :k, j].any()


@pytest.mark.parametrize("kind", ["I", "LI", "IF", "CubaLI", "CubaLIF"])
def test_recorded_states_have_nirverse_names(kind):
    n = 4
    params = {
        "I": dict(r=np.full(n, 2.0)),
        "LI": dict(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.full(n, 0.1)),
        "IF": dict(r=np.full(n, 30.0), v_threshold=np.ones(n), v_reset=np.zeros(n)),
        "CubaLI": dict(
            tau_syn=np.full(n, 0.005), tau_mem=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n), w_in=np.full(n, 2.0)
        ),
        "CubaLIF": dict(
            tau_syn=np.full(n, 0.005),
            tau_mem=np.full(n, 0.01),
            r=np.full(n, 5.0),
            v_leak=np.zeros(n),
            v_threshold=np.ones(n),
            v_reset=np.zeros(n),
            w_in=np.ones(n),
        ),
    }[kind]
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([n])), "neu": getattr(nir, kind)(**params), "out": nir.Output(np.array([n]))},
        edges=[("in", "neu"), ("neu", "out")],
    )
    ref, out = _identical(graph, _input((n,), steps=30, scale=3.0), Semantics(DT, "euler", "subtract"))
    assert set(out.states["neu"]) == ({"v", "i"} if kind.startswith("Cuba") else {"v"})


def test_from_nir_is_a_plain_nengo_network():
    sem = Semantics(DT, "euler", "value")
    graph = _lif_graph()
    net = from_nir(graph, sem)
    assert isinstance(net, nengo.Network) and isinstance(net, NIRNetwork)
    x = _input((3,))[0]
    net.set_input("in", x)
    with nengo.Simulator(net, dt=sem.dt, progress_bar=False) as sim:
        sim.run_steps(len(x))
    ref = nirverse.run(graph, x[None], sem)
    np.testing.assert_array_equal(sim.data[net.output_probes["out"]], ref.outputs["out"][0])


def test_delayed_edges_use_nengo_synapses_not_python():
    sem = Semantics(DT, "euler", "value", "one-step")
    net = from_nir(_lif_graph(), sem)
    synapses = [c.synapse for c in net.all_connections if c.synapse is not None]
    assert synapses and all(isinstance(s, nengo.synapses.LinearFilter) and not s.analog for s in synapses)


def test_native_lif_label_is_checked_by_mutation():
    """The nengo.LIF path is labelled native, and perturbing nengo.LIF.step makes it deviate; the float32 run
    (the plugin's NeuronType) is labelled emulated and does not move."""
    from nirverse.backends import get_backend
    from nirverse.levels import EMULATED, NATIVE

    sem = Semantics(DT, "exp", "value")
    graph, x = _lif_graph(), _input((3,))
    labels = {label.node: label for label in nirverse.explain(graph, sem, backend="nengo")}
    assert labels["lif"].level == NATIVE and labels["lif"].construct == "nengo.LIF"
    assert nirverse.explain(graph, sem, backend="nengo", dtype="float32")[1].level == EMULATED
    ref = nirverse.run(graph, x, sem, record=True)
    with get_backend("nengo").perturb("nengo.LIF"):
        native = nirverse.run(graph, x, sem, backend="nengo", record=True)
        emulated = nirverse.run(graph, x, sem, backend="nengo", dtype="float32", record=True)
    assert not nirverse.compare(native, ref).identical
    assert nirverse.compare(emulated, nirverse.run(graph, x, sem, dtype="float32", record=True), dtype="float32").identical
    _identical(graph, x, sem)  # restored
def test_equal_neuron_types_stay_separate_operators():
    """Issue 20 (fuzz): two I nodes with the same parameters in a chain; Nengo's optimiser merged their
    SimNeurons into one operator over 8 neurons with the 4-neuron arrays of one of them."""
    from nirverse.testing import load_cases, run_case

    (case,) = load_cases(["fuzz-nengo-equal-i-nodes-exp-subtract-1step"])
    assert run_case("nengo", case).status == "identical"
