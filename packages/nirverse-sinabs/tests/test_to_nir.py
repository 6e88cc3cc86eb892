"""Sinabs → NIR: the exported graph's reference run equals the Sinabs model's own run (float64), and
NIR → Sinabs → NIR returns the same parameters bit for bit."""

import nir
import numpy as np
import pytest

sinabs = pytest.importorskip("sinabs", reason="sinabs is not installed: pip install 'nirverse[sinabs]'")
import nirverse  # noqa: E402
import nirverse_sinabs  # noqa: E402
import sinabs.layers as sl  # noqa: E402
import torch  # noqa: E402
from nirverse import Semantics  # noqa: E402
from nirverse.testing import graphs  # noqa: E402
from sinabs.activation import MembraneReset, MembraneSubtract, SingleSpike  # noqa: E402

DT = 1e-3
F64 = torch.float64


def t(*values):
    return torch.tensor(values if len(values) > 1 else values[0], dtype=F64)


def linear(n_in, n_out, seed, gain=3.0, bias=True):
    torch.manual_seed(seed)
    layer = torch.nn.Linear(n_in, n_out, bias=bias).double()
    with torch.no_grad():
        layer.weight.mul_(gain)
    return layer


def _flat_params(graph, semantics):
    plan = nirverse.prepare(graph, semantics)
    return plan, {n: {k: np.asarray(v) for k, v in p.items()} for n, p in plan.params.items()}


ROUND_TRIP = {
    "feedforward": graphs.feedforward, "nested": graphs.nested, "conv": graphs.conv_stack,
    "recurrent": lambda: graphs.recurrent("CubaLIF"), "delay": lambda: graphs.delay_chain(DT),
    "threshold": graphs.threshold_chain, "IF": lambda: graphs.single_neuron("IF"),
    "I": lambda: graphs.single_neuron("I"), "CubaLI": lambda: graphs.single_neuron("CubaLI"),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("key", sorted(ROUND_TRIP))
def test_round_trip_is_bit_exact(key, dtype):
    graph = ROUND_TRIP[key]()
    s = Semantics(DT, "exp", "subtract")
    back = nirverse_sinabs.to_nir(nirverse_sinabs.from_nir(graph, s, dtype=dtype), s)
    plan1, p1 = _flat_params(graph, s)
    plan2, p2 = _flat_params(back, s)
    assert plan1.edges == plan2.edges and plan1.types == plan2.types
    for name, fields in p1.items():
        for field, value in fields.items():
            assert np.array_equal(value, p2[name][field]), (name, field)
    assert Semantics.from_metadata(back.metadata) == s


@pytest.mark.parametrize("semantics", [Semantics(DT), Semantics(DT, "exp", "subtract", "one-step")],
                         ids=["euler-value", "exp-subtract-1step"])
@pytest.mark.parametrize("key", ["feedforward", "recurrent", "IF", "I", "CubaLI", "threshold"])
def test_modified_model_exports_its_native_parameters(key, semantics):
    """After training-like edits the export reads Sinabs' tensors back; its reference run equals the model."""
    graph = ROUND_TRIP[key]()
    model = nirverse_sinabs.from_nir(graph, semantics)
    with torch.no_grad():
        for node in model.layers.values():
            layer = getattr(node, "layer", None)
            if layer is not None and getattr(layer, "alpha_mem", None) is not None:
                layer.alpha_mem.mul_(0.999)
            if layer is not None and getattr(layer, "spike_threshold", None) is not None:
                layer.spike_threshold.mul_(0.9)
                if getattr(layer.reset_fn, "subtract_value", None) is not None:
                    layer.reset_fn.subtract_value.mul_(0.9)
            if isinstance(getattr(node, "fn", None), torch.nn.Linear):
                node.fn.weight.mul_(1.1)
    assert not all(node.unchanged() for node in model.layers.values())
    exported = nirverse_sinabs.to_nir(model, semantics)
    plan = nirverse.prepare(graph, semantics)
    x = np.random.default_rng(3).uniform(0, 2, (2, 40, *plan.out_shapes[plan.inputs[0]]))
    with torch.no_grad():
        native, _ = model({plan.inputs[0]: torch.as_tensor(x)})
    ref = nirverse.run(exported, x, semantics)
    for name in plan.outputs:
        np.testing.assert_allclose(native[name].numpy(), ref.outputs[name], rtol=1e-9, atol=1e-9)


def test_changing_only_the_subtracted_value_is_refused_by_the_export():
    s = Semantics(DT, "exp", "subtract")
    model = nirverse_sinabs.from_nir(graphs.single_neuron("LIF"), s)
    with torch.no_grad():
        model.layers["neuron"].layer.reset_fn.subtract_value.mul_(0.5)
    assert not model.layers["neuron"].unchanged()
    with pytest.raises(nirverse.UnsupportedNodeError) as err:  # fires above θ, subtracts θ/2: no NIR node does that
        nirverse_sinabs.to_nir(model, s)
    assert err.value.node == "neuron" and err.value.field == "reset_fn.subtract_value"


def _squeeze_cnn():
    """The paper CNN's shape in miniature: Conv2d → IAFSqueeze → SumPool2d → Flatten → Linear → IAFSqueeze.

    In float32: Sinabs' spike functions return float32 (``.float()``), so a ``.double()`` Sinabs network
    fails at the first layer after a spiking one (``mat1 and mat2 must have the same dtype``)."""
    torch.manual_seed(6)
    conv = torch.nn.Conv2d(1, 2, 3, padding=1)
    with torch.no_grad():
        conv.weight.mul_(4.0)
        conv.bias.fill_(0.3)
    iaf = dict(spike_fn=SingleSpike, reset_fn=MembraneSubtract(), batch_size=2)
    return torch.nn.Sequential(conv, sl.IAFSqueeze(spike_threshold=torch.tensor(1.0), **iaf), sl.SumPool2d(2),
                               torch.nn.Flatten(), linear(8, 3, 7, gain=2.0).float(),
                               sl.IAFSqueeze(spike_threshold=torch.tensor(1.0), **iaf))


def _user_models():
    tau_steps = t(10.0, 20.0, 5.0, 50.0)
    lif = dict(spike_threshold=t(0.5), spike_fn=SingleSpike)
    models = {
        "LIF-subtract": (torch.nn.Sequential(linear(3, 4, 0), sl.LIF(tau_mem=tau_steps, reset_fn=MembraneSubtract(), **lif)),
                         Semantics(DT, "exp", "subtract")),
        "LIF-value-no-norm": (torch.nn.Sequential(linear(3, 4, 1, gain=0.5), sl.LIF(
            tau_mem=tau_steps, reset_fn=MembraneReset(), norm_input=False, **lif)), Semantics(DT)),
        "LIF-train-alphas": (torch.nn.Sequential(linear(3, 4, 2), sl.LIF(
            tau_mem=tau_steps, train_alphas=True, reset_fn=MembraneSubtract(), **lif)), Semantics(DT, reset="subtract")),
        "LIF-tau-syn": (torch.nn.Sequential(linear(3, 4, 3), sl.LIF(
            tau_mem=tau_steps, tau_syn=t(5.0, 2.0, 8.0, 3.0), reset_fn=MembraneReset(), **lif)), Semantics(DT, "exp")),
        "LIF-tau-syn-no-spikes": (torch.nn.Sequential(linear(3, 4, 4), sl.LIF(
            tau_mem=tau_steps, tau_syn=t(5.0), spike_fn=None, reset_fn=None, spike_threshold=None)), Semantics(DT)),
        "ExpLeak": (torch.nn.Sequential(linear(3, 4, 5), sl.ExpLeak(tau_mem=tau_steps)), Semantics(DT, "exp")),
        "IAF": (torch.nn.Sequential(linear(3, 4, 6, bias=False), sl.IAF(
            spike_threshold=t(1.0, 2.0, 3.0, 4.0), spike_fn=SingleSpike, reset_fn=MembraneSubtract())),
            Semantics(DT, reset="subtract")),
    }
    return {k: (m.double(), s) for k, (m, s) in models.items()}


def _native_run(model, x, squeeze=False, dtype=F64):
    xt = torch.as_tensor(x, dtype=dtype)
    if squeeze:
        xt = xt.flatten(0, 1)
    with torch.no_grad():
        y = model(xt)
    return (y.unflatten(0, x.shape[:2]) if squeeze else y).double().numpy()


def _assert_exports_identically(model, semantics, x, input_shape=None, squeeze=False, dtype=F64):
    graph = nirverse_sinabs.to_nir(model, semantics, input_shape=input_shape)
    native = _native_run(model, x, squeeze, dtype)
    ref = nirverse.run(graph, x, semantics)
    (out,) = ref.outputs.values()
    assert native.shape == out.shape
    if ref.spiking["output"]:
        assert np.count_nonzero(native) > 0, "the case must spike to test anything"
        assert np.count_nonzero((native != 0) != (out != 0)) == 0
    tol = 1e-9 if dtype == F64 else 1e-5
    np.testing.assert_allclose(native, out, rtol=tol, atol=tol)
    return graph


@pytest.mark.parametrize("key", sorted(_user_models()))
def test_user_model_export_runs_identically(key):
    model, semantics = _user_models()[key]
    _assert_exports_identically(model, semantics, np.random.default_rng(1).uniform(0, 1.5, (2, 60, 3)))


@pytest.mark.parametrize("key", sorted(_user_models()))
def test_user_model_comes_back_from_nir_identical(key):
    """Sinabs model → to_nir → nirverse_sinabs.from_nir: the rebuilt Sinabs model runs as the original."""
    model, semantics = _user_models()[key]
    x = np.random.default_rng(2).uniform(0, 1.5, (2, 60, 3))
    back = nirverse_sinabs.from_nir(nirverse_sinabs.to_nir(model, semantics), semantics)
    with torch.no_grad():
        (rebuilt,) = back(torch.as_tensor(x))[0].values()
    native = _native_run(model, x)
    assert np.count_nonzero((native != 0) != (rebuilt.numpy() != 0)) == 0
    np.testing.assert_allclose(rebuilt.numpy(), native, rtol=1e-9, atol=1e-9)


def test_squeeze_cnn_export_runs_identically():
    x = (np.random.default_rng(2).random((2, 30, 1, 4, 4)) < 0.4).astype(float)
    graph = _assert_exports_identically(_squeeze_cnn(), Semantics(1.0, reset="subtract"), x, (1, 4, 4), squeeze=True,
                                        dtype=torch.float32)
    assert [type(n).__name__ for n in graph.nodes.values()].count("IF") == 2
    assert any(isinstance(n, nir.SumPool2d) for n in graph.nodes.values())


@pytest.mark.parametrize("cls", ["LIFRecurrent", "IAFRecurrent"])
def test_recurrent_layer_exports_as_a_loop(cls):
    """Sinabs' recurrent layers add rec_connect(z_{t-1}) to step t's input: a Linear back-edge in NIR. In
    float32: the layer starts its recurrent input as float32 zeros and feeds float32 spikes to rec_connect."""
    torch.manual_seed(8)
    rec = torch.nn.Linear(5, 5, bias=False)
    with torch.no_grad():
        rec.weight.copy_(torch.round(torch.randn(5, 5) * 4) / 8)
    spikes = dict(rec_connect=rec, spike_threshold=torch.tensor(1.0), spike_fn=SingleSpike, reset_fn=MembraneSubtract())
    layer = sl.LIFRecurrent(tau_mem=torch.tensor(20.0), norm_input=False, **spikes) if cls == "LIFRecurrent" else sl.IAFRecurrent(**spikes)
    model = torch.nn.Sequential(linear(3, 5, 9, gain=1.0).float(), layer)
    s = Semantics(1.0, "exp", "subtract")
    x = (np.random.default_rng(5).random((2, 60, 3)) < 0.3).astype(float)
    graph = _assert_exports_identically(model, s, x, dtype=torch.float32)
    plan = nirverse.prepare(graph, s)
    assert {(e.source, e.target) for e in plan.delayed_edges} == {(f"{cls.lower()}_1_rec", f"{cls.lower()}_1")}


def test_integer_membrane_on_the_threshold_exports_exactly():
    """Sinabs fires at v = θ; the export's threshold is the float just below θ, so integer drives agree."""
    model = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False).double(), sl.IAF(
        spike_threshold=t(2.0), spike_fn=SingleSpike, reset_fn=MembraneReset())).double()
    with torch.no_grad():
        model[0].weight.copy_(t([[1.0, 1.0], [2.0, 0.0]]))
    x = (np.random.default_rng(4).random((3, 50, 2)) < 0.5).astype(float)
    graph = _assert_exports_identically(model, Semantics(1.0), x)
    assert np.all(np.asarray(graph.nodes["iaf_1"].v_threshold) < 2.0)


def test_refusals_name_the_layer_and_field():
    s = Semantics(DT, reset="subtract")
    with pytest.raises(nirverse.UnsupportedNodeError) as err:
        nirverse_sinabs.to_nir(torch.nn.Sequential(linear(3, 2, 0), sl.IAF()), s)  # Sinabs' default MultiSpike
    assert err.value.node == "iaf_1" and err.value.field == "spike_fn"
    clipped = sl.IAF(spike_fn=SingleSpike, min_v_mem=-1.0)
    with pytest.raises(nirverse.UnsupportedNodeError, match="min_v_mem"):
        nirverse_sinabs.to_nir(torch.nn.Sequential(linear(3, 2, 0), clipped), s)
    shifted = sl.IAF(spike_fn=SingleSpike, reset_fn=MembraneReset(reset_value=0.5))
    with pytest.raises(nirverse.UnsupportedNodeError) as err:
        nirverse_sinabs.to_nir(torch.nn.Sequential(linear(3, 2, 0), shifted), Semantics(DT))
    assert err.value.field == "reset_fn.reset_value"
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="reset"):
        nirverse_sinabs.to_nir(torch.nn.Sequential(linear(3, 2, 0), sl.IAF(spike_fn=SingleSpike)), Semantics(DT))
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="one-step"):
        nirverse_sinabs.to_nir(torch.nn.Sequential(linear(3, 2, 0), sl.IAF(spike_fn=SingleSpike), linear(2, 2, 1)),
                               Semantics(DT, reset="subtract", latency="one-step"))
    with pytest.raises(nirverse.UnsupportedNodeError) as err:
        nirverse_sinabs.to_nir(torch.nn.Sequential(linear(3, 2, 0), torch.nn.ReLU()), s)
    assert err.value.field == "type"
    with pytest.raises(nirverse.UnsupportedNodeError, match="input_shape"):
        nirverse_sinabs.to_nir(sl.IAF(spike_fn=SingleSpike), s)
    with pytest.raises(nirverse.UnsupportedNodeError, match="tau_syn"):
        nirverse_sinabs.to_nir(torch.nn.Sequential(linear(3, 2, 0), sl.IAF(spike_fn=SingleSpike, tau_syn=5.0)), s)


def test_sinabs_graph_export_checks_semantics():
    model = nirverse_sinabs.from_nir(graphs.feedforward(), Semantics(DT))
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="reset"):
        nirverse_sinabs.to_nir(model, Semantics(DT, reset="subtract"))
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="latency"):
        nirverse_sinabs.to_nir(model, Semantics(DT, latency="one-step"))
    # another method is fine: the time constants are recomputed for it
    exp = nirverse_sinabs.to_nir(model, Semantics(DT, "exp"))
    kappa = Semantics(DT, "exp").kappa(nirverse.prepare(exp, Semantics(DT)).params["lif"]["tau"])
    np.testing.assert_allclose(kappa, DT / nirverse.prepare(graphs.feedforward(), Semantics(DT)).params["lif"]["tau"], rtol=1e-12)


def test_exported_graph_is_a_nir_graph_that_writes(tmp_path):
    model, semantics = _user_models()["LIF-tau-syn"]
    graph = nirverse_sinabs.to_nir(model, semantics)
    nir.write(tmp_path / "cuba.nir", graph)
    again = nir.read(tmp_path / "cuba.nir")
    assert set(again.nodes) == set(graph.nodes)
    assert Semantics.from_metadata(again.metadata) == semantics
