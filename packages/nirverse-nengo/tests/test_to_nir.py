"""Nengo -> NIR: NIR -> Nengo -> NIR is parameter-exact; an exported hand-written network's reference run
equals Nengo's own run; what cannot be exported is refused by name and field."""

import numpy as np
import pytest

nengo = pytest.importorskip("nengo", reason="Nengo is not installed: pip install 'nirverse[nengo]'")

import nirverse  # noqa: E402
from nirverse import Semantics, UnsupportedNodeError, UnsupportedSemanticsError  # noqa: E402
from nirverse.graph import prepare  # noqa: E402
from nirverse.testing import load_cases  # noqa: E402
from nirverse_nengo import from_nir, to_nir  # noqa: E402

DT = 1e-3
ZERO = {"voltage": nengo.dists.Choice([0.0])}


@pytest.mark.parametrize("case", load_cases(), ids=lambda c: c.id)
def test_round_trip_is_parameter_exact(case):
    graph = case.graph()
    exported = to_nir(from_nir(graph, case.semantics), case.semantics)
    assert Semantics.from_metadata(exported.metadata) == case.semantics
    before, after = prepare(graph, case.semantics), prepare(exported, case.semantics)
    assert before.order == after.order and before.types == after.types and before.edges == after.edges
    for name in before.order:
        assert before.params[name].keys() == after.params[name].keys()
        for key, value in before.params[name].items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(after.params[name][key], value, err_msg=f"{name}.{key}")
            else:
                assert after.params[name][key] == value, f"{name}.{key}"


def test_round_trip_refuses_another_semantics():
    case = load_cases(["feedforward-euler-value-imm"])[0]
    net = from_nir(case.graph(), case.semantics)
    with pytest.raises(UnsupportedSemanticsError, match="semantics"):
        to_nir(net, Semantics(DT, "exp"))


def _stim(x):
    return lambda t: x[int(round(t / DT)) - 1]


def _run(net, steps):
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run_steps(steps)
    return sim


def test_exported_lif_network_runs_like_nengo():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2))
    lif = dict(tau_ref=0, min_voltage=-np.inf, initial_state=ZERO)
    with nengo.Network(seed=3) as net:
        stim = nengo.Node(_stim(x), size_out=2, label="stim")
        a = nengo.Ensemble(20, 2, neuron_type=nengo.LIF(**lif), label="a")
        b = nengo.Ensemble(8, 1, neuron_type=nengo.LIF(tau_rc=0.03, **lif), label="b")
        mid = nengo.Node(size_in=1, label="middle")
        nengo.Connection(stim, a, synapse=None)
        nengo.Connection(a, b, function=lambda v: v[0] * v[1], synapse=None)
        nengo.Connection(a.neurons[:10], b.neurons[2:6], transform=rng.normal(size=(4, 10)) * 0.02, synapse=None)
        nengo.Connection(b, mid, synapse=nengo.synapses.LinearFilter([1], [1], analog=False))
        probes = {
            "spikes": nengo.Probe(a.neurons, synapse=None, label="spikes"),
            "mid": nengo.Probe(mid, synapse=None, label="mid"),
            "decoded": nengo.Probe(b, synapse=None, label="decoded"),
        }
    sim = _run(net, len(x))
    sem = Semantics(DT, "exp", "value")
    graph = to_nir(sim, sem)
    assert type(graph.nodes["a"]).__name__ == type(graph.nodes["b"]).__name__ == "LIF"
    res = nirverse.run(graph, x[None], sem)
    spikes = sim.data[probes["spikes"]] * DT  # Nengo's spikes have height amplitude/dt
    assert spikes.sum() > 50
    np.testing.assert_array_equal(res.outputs["spikes"][0], spikes)
    for key in ("mid", "decoded"):
        np.testing.assert_allclose(res.outputs[key][0], sim.data[probes[key]], rtol=1e-9, atol=1e-9)
    assert np.abs(sim.data[probes["mid"]]).max() > 0.1


def test_exported_convolution_runs_like_nengo():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 2 * 5 * 5)) * 3
    conv = nengo.Convolution(
        3,
        (2, 5, 5),
        kernel_size=(3, 3),
        strides=(2, 2),
        padding="same",
        channels_last=False,
        init=rng.normal(size=(3, 3, 2, 3)),
    )
    with nengo.Network(seed=2) as net:
        stim = nengo.Node(_stim(x), size_out=x.shape[1], label="stim")
        ens = nengo.Ensemble(
            conv.size_out,
            1,
            neuron_type=nengo.LIF(tau_ref=0, min_voltage=-np.inf, initial_state=ZERO),
            gain=np.ones(conv.size_out),
            bias=np.full(conv.size_out, 0.5),
            label="ens",
        )
        nengo.Connection(stim, ens.neurons, transform=conv, synapse=None)
        probe = nengo.Probe(ens.neurons, synapse=None, label="spikes")
    sim = _run(net, len(x))
    sem = Semantics(DT, "exp", "value")
    graph = to_nir(sim, sem)
    assert type(graph.nodes["conn0"]).__name__ == "Conv2d"
    res = nirverse.run(graph, x.reshape(1, len(x), 2, 5, 5), sem)  # C-order, as Nengo flattens
    assert sim.data[probe].sum() > 0
    np.testing.assert_array_equal(res.outputs["spikes"][0], sim.data[probe] * DT)


def _relu_net(x):
    with nengo.Network(seed=4) as net:
        stim = nengo.Node(_stim(x), size_out=x.shape[1], label="stim")
        ens = nengo.Ensemble(
            x.shape[1],
            1,
            neuron_type=nengo.SpikingRectifiedLinear(initial_state=ZERO),
            gain=np.ones(x.shape[1]),
            bias=np.zeros(x.shape[1]),
            label="ens",
        )
        nengo.Connection(stim, ens.neurons, synapse=None)
        probe = nengo.Probe(ens.neurons, synapse=None, label="spikes")
        volt = nengo.Probe(ens.neurons, "voltage", synapse=None)
    return net, probe, volt


def test_spiking_rectified_linear_in_range_is_identical():
    x = np.random.default_rng(5).uniform(0.0, 900.0, size=(80, 6))  # 0 <= J < 1/dt: at most one spike
    net, probe, volt = _relu_net(x)
    sim = _run(net, len(x))
    sem = Semantics(DT, "euler", "subtract")
    res = nirverse.run(to_nir(sim, sem), x[None], sem, record=True)
    np.testing.assert_array_equal(res.outputs["spikes"][0], sim.data[probe] * DT)
    np.testing.assert_allclose(res.states["ens"]["v"][0], sim.data[volt], rtol=1e-9, atol=1e-9)


def test_spiking_rectified_linear_out_of_range_deviation_is_measured():
    """Nengo rectifies negative currents and emits several spikes per step; NIR's IF does neither."""
    x = np.random.default_rng(6).uniform(-1500.0, 2500.0, size=(80, 6))
    net, probe, volt = _relu_net(x)
    sim = _run(net, len(x))
    sem = Semantics(DT, "euler", "subtract")
    res = nirverse.run(to_nir(sim, sem), x[None], sem, record=True)
    nengo_spikes = sim.data[probe] * DT
    assert nengo_spikes.max() >= 2  # several spikes in one step
    mismatches = int(np.sum(res.outputs["spikes"][0] != nengo_spikes))
    dv = float(np.abs(res.states["ens"]["v"][0] - sim.data[volt]).max())
    assert mismatches > 50 and dv > 1.0, (mismatches, dv)


@pytest.mark.parametrize(
    "make,error,field",
    [
        (lambda: dict(neuron_type=nengo.LIF(initial_state=ZERO)), UnsupportedNodeError, "tau_ref"),
        (lambda: dict(neuron_type=nengo.LIF(tau_ref=0, min_voltage=-np.inf)), UnsupportedNodeError, "initial_state"),
        (
            lambda: dict(neuron_type=nengo.Izhikevich(initial_state={"voltage": nengo.dists.Choice([0.0])})),
            UnsupportedNodeError,
            "neuron_type",
        ),
        (lambda: dict(synapse=nengo.Lowpass(0.005)), UnsupportedNodeError, "synapse"),
        (lambda: dict(function_node=True), UnsupportedNodeError, "output"),
        (lambda: dict(semantics=Semantics(DT, "euler")), UnsupportedSemanticsError, "method"),
    ],
    ids=["refractory", "random-initial-voltage", "izhikevich", "lowpass", "python-node", "euler-for-lif"],
)
def test_refusals_name_object_and_field(make, error, field):
    opts = make()
    neuron_type = opts.get("neuron_type", nengo.LIF(tau_ref=0, min_voltage=-np.inf, initial_state=ZERO))
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(lambda t: [0.0], label="stim")
        ens = nengo.Ensemble(3, 1, neuron_type=neuron_type, label="ens")
        nengo.Connection(stim, ens, synapse=opts.get("synapse"))
        if opts.get("function_node"):
            nengo.Node(lambda t, v: v * 2, size_in=1, label="fn")
    with pytest.raises(error) as info:
        to_nir(net, opts.get("semantics", Semantics(DT, "exp", "value")))
    assert info.value.field == field
