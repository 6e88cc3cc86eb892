"""SpikingJelly → NIR: the exported graph's reference run equals the SpikingJelly model's own run (float64),
it runs identically on every other installed backend, and NIR → SpikingJelly → NIR returns the same
parameters bit for bit."""

import nir
import numpy as np
import pytest

pytest.importorskip("spikingjelly", reason="spikingjelly is not installed: pip install 'nirverse[spikingjelly]'")
import nirverse  # noqa: E402
import nirverse_spikingjelly  # noqa: E402
import torch  # noqa: E402
from nirverse import Semantics  # noqa: E402
from nirverse.testing import graphs, simulator_backends  # noqa: E402
from spikingjelly.activation_based import base, functional, layer, neuron  # noqa: E402

DT = 1e-3
F64 = torch.float64


def _flat_params(graph, semantics):
    plan = nirverse.prepare(graph, semantics)
    return plan, {n: {k: np.asarray(v) for k, v in p.items()} for n, p in plan.params.items()}


ROUND_TRIP = {
    "feedforward": graphs.feedforward, "nested": graphs.nested, "conv": graphs.conv_stack,
    "recurrent": lambda: graphs.recurrent("CubaLIF"), "delay": lambda: graphs.delay_chain(DT),
    "threshold": graphs.threshold_chain, "branches": graphs.branches,
    "IF": lambda: graphs.single_neuron("IF"), "I": lambda: graphs.single_neuron("I"),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("key", sorted(ROUND_TRIP))
def test_round_trip_is_bit_exact(key, dtype):
    graph = ROUND_TRIP[key]()
    s = Semantics(DT, "exp", "subtract")
    back = nirverse_spikingjelly.to_nir(nirverse_spikingjelly.from_nir(graph, s, dtype=dtype), s)
    plan1, p1 = _flat_params(graph, s)
    plan2, p2 = _flat_params(back, s)
    assert plan1.edges == plan2.edges and plan1.types == plan2.types
    for name, fields in p1.items():
        for field, value in fields.items():
            assert np.array_equal(value, p2[name][field]), (name, field)
    assert Semantics.from_metadata(back.metadata) == s


def _native(model, x: np.ndarray) -> np.ndarray:
    """The model's own run on x (batch, time, ...) in float64, as SpikingJelly users call it."""
    functional.reset_net(model)
    xt = torch.as_tensor(np.swapaxes(x, 0, 1), dtype=F64)
    with torch.no_grad():
        # a MultiStepModule (MultiStepContainer, SeqToANNContainer) has no step_mode attribute until set
        multi = any(isinstance(m, base.MultiStepModule) or getattr(m, "step_mode", "s") == "m" for m in model.modules())
        y = model(xt) if multi else torch.stack([model(xt[t]) for t in range(xt.shape[0])])
    functional.reset_net(model)
    return np.swapaxes(y.numpy(), 0, 1)


@pytest.mark.parametrize("semantics", [Semantics(DT), Semantics(DT, "exp", "subtract")], ids=["euler-value", "exp-subtract"])
@pytest.mark.parametrize("key", ["feedforward", "recurrent", "IF", "I", "nested", "threshold"])
def test_modified_model_exports_its_native_parameters(key, semantics):
    """After training-like edits the export reads SpikingJelly's modules back; its reference run equals the model."""
    graph = ROUND_TRIP[key]()
    model = nirverse_spikingjelly.from_nir(graph, semantics)
    with torch.no_grad():
        for node in model.layers.values():
            for pop in getattr(node, "pops", ()):
                if hasattr(pop, "v_threshold") and np.isfinite(pop.v_threshold) and pop.v_threshold < 1e30:
                    pop.v_threshold = float(pop.v_threshold * 0.9)
            fn = getattr(node, "fn", None)
            if isinstance(fn, torch.nn.Linear):
                fn.weight.mul_(1.1)
    exported = nirverse_spikingjelly.to_nir(model, semantics)
    plan = nirverse.prepare(graph, semantics)
    x = np.random.default_rng(3).uniform(0, 2, (2, 40, *plan.out_shapes[plan.inputs[0]]))
    with torch.no_grad():
        native, _ = model({plan.inputs[0]: torch.as_tensor(np.swapaxes(x, 0, 1))})
    ref = nirverse.run(exported, x, semantics)
    for name in plan.outputs:
        np.testing.assert_allclose(np.swapaxes(native[name].numpy(), 0, 1), ref.outputs[name], rtol=1e-9, atol=1e-9)


def _linear(n_in, n_out, seed, gain=3.0, step_mode="s", bias=True):
    torch.manual_seed(seed)
    fc = layer.Linear(n_in, n_out, bias=bias, step_mode=step_mode).double()
    with torch.no_grad():
        fc.weight.mul_(gain)
        if bias:
            fc.bias.add_(0.5)
    return fc


def _conv_model(step_mode):
    torch.manual_seed(6)
    conv = layer.Conv2d(1, 2, 3, padding=1, step_mode=step_mode).double()
    with torch.no_grad():
        conv.weight.mul_(4.0)
        conv.bias.fill_(0.3)
    return torch.nn.Sequential(
        conv, neuron.IFNode(v_threshold=1.0, v_reset=None, step_mode=step_mode),
        layer.AvgPool2d(2, 2, step_mode=step_mode), layer.Flatten(step_mode=step_mode),
        _linear(8, 3, 7, step_mode=step_mode), neuron.LIFNode(tau=3.0, v_reset=None, step_mode=step_mode),
    )


def _user_models():
    plif = neuron.ParametricLIFNode(init_tau=2.5, v_threshold=0.8, step_mode="m")
    with torch.no_grad():
        plif.w.fill_(-0.7)  # "trained"
    return {
        "LIFNode-single-step": (torch.nn.Sequential(_linear(3, 4, 0, gain=6.0), neuron.LIFNode(tau=4.0, v_reset=-0.2)),
                                Semantics(DT), (3,)),
        "LIFNode-multi-step-soft": (torch.nn.Sequential(_linear(3, 4, 1, step_mode="m"),
                                                        neuron.LIFNode(tau=5.0, decay_input=False, v_threshold=1.5,
                                                                       v_reset=None, step_mode="m")),
                                    Semantics(DT, "exp", "subtract"), (3,)),
        "IFNode": (torch.nn.Sequential(_linear(3, 4, 2, gain=0.5, bias=False), neuron.IFNode(v_threshold=1.0)),
                   Semantics(DT), (3,)),
        "ParametricLIFNode": (torch.nn.Sequential(_linear(3, 4, 3, step_mode="m"), plif), Semantics(DT, "exp"), (3,)),
        "conv-single-step": (_conv_model("s"), Semantics(DT, reset="subtract"), (1, 4, 4)),
        "conv-multi-step": (_conv_model("m"), Semantics(DT, "exp", "subtract"), (1, 4, 4)),
        "MultiStepContainer": (layer.MultiStepContainer(_linear(3, 4, 9, gain=6.0), neuron.IFNode(v_reset=None)),
                               Semantics(DT, reset="subtract"), (3,)),
        "SeqToANNContainer": (torch.nn.Sequential(
            layer.SeqToANNContainer(_linear(3, 5, 8, gain=8.0), torch.nn.Identity()),
            neuron.LIFNode(tau=2.0, step_mode="m"), _linear(5, 2, 5, gain=8.0, step_mode="m"),
            neuron.LIFNode(tau=8.0, step_mode="m")), Semantics(DT), (3,)),
    }


@pytest.mark.parametrize("key", sorted(_user_models()))
def test_user_model_export_runs_identically(key):
    model, semantics, shape = _user_models()[key]
    graph = nirverse_spikingjelly.to_nir(model, semantics, input_shape=shape if key.startswith("conv") else None)
    x = np.random.default_rng(1).uniform(0, 1.5, (2, 60, *shape))
    native = _native(model, x)
    ref = nirverse.run(graph, x, semantics).outputs["output"]
    assert native.shape == ref.shape and np.count_nonzero(native) > 0, "the case must spike to test anything"
    assert np.count_nonzero((native != 0) != (ref != 0)) == 0
    np.testing.assert_allclose(native, ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("key", ["LIFNode-single-step", "conv-multi-step"])
def test_exported_graph_is_identical_on_every_installed_backend(key):
    """SpikingJelly's stepping is the semantics with latency='immediate' (and the model's reset); a backend
    that cannot schedule that refuses with its reason instead of answering differently."""
    model, semantics, shape = _user_models()[key]
    graph = nirverse_spikingjelly.to_nir(model, semantics, input_shape=shape)
    x = np.random.default_rng(2).uniform(0, 1.5, (1, 40, *shape))
    ref = nirverse.run(graph, x, semantics, record=True)
    ran = []
    for backend in simulator_backends():
        try:
            got = nirverse.run(graph, x, semantics, backend=backend, record=True)
        except (nirverse.UnsupportedNodeError, nirverse.UnsupportedSemanticsError, nirverse.BackendUnavailableError):
            continue
        cmp = nirverse.compare(got, ref)
        assert cmp.identical, (backend, cmp)
        ran.append(backend)
    assert "spikingjelly" in ran, ran
    if len(ran) < 2:
        pytest.skip("no other simulator backend is installed here")


def test_graph_export_checks_semantics():
    model = nirverse_spikingjelly.from_nir(graphs.feedforward(), Semantics(DT))
    for other in (Semantics(DT, reset="subtract"), Semantics(DT, latency="one-step"), Semantics(2 * DT)):
        with pytest.raises(nirverse.UnsupportedSemanticsError):
            nirverse_spikingjelly.to_nir(model, other)
    # another method is fine: the time constants are recomputed for it
    exp = nirverse_spikingjelly.to_nir(model, Semantics(DT, "exp"))
    kappa = Semantics(DT, "exp").kappa(nirverse.prepare(exp, Semantics(DT)).params["lif"]["tau"])
    np.testing.assert_allclose(kappa, DT / nirverse.prepare(graphs.feedforward(), Semantics(DT)).params["lif"]["tau"],
                               rtol=1e-12)


def test_refusals_name_the_node_and_field():
    with pytest.raises(nirverse.UnsupportedNodeError) as err:
        nirverse_spikingjelly.to_nir(torch.nn.Sequential(_linear(3, 2, 0), neuron.IFNode(v_reset=0.5)), Semantics(DT))
    assert err.value.node == "ifnode_1" and err.value.field == "v_reset"
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="reset"):
        nirverse_spikingjelly.to_nir(torch.nn.Sequential(_linear(3, 2, 0), neuron.LIFNode(v_reset=None)), Semantics(DT))
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="one-step"):
        nirverse_spikingjelly.to_nir(torch.nn.Sequential(_linear(3, 2, 0), neuron.LIFNode(), _linear(2, 2, 1)),
                                     Semantics(DT, latency="one-step"))
    with pytest.raises(nirverse.UnsupportedNodeError) as err:
        nirverse_spikingjelly.to_nir(torch.nn.Sequential(_linear(3, 2, 0), neuron.IzhikevichNode()), Semantics(DT))
    assert err.value.field == "type"
    with pytest.raises(nirverse.UnsupportedNodeError, match="TLastSeqToANNContainer"):
        nirverse_spikingjelly.to_nir(layer.TLastSeqToANNContainer(_linear(3, 2, 0)), Semantics(DT))
    with pytest.raises(nirverse.UnsupportedNodeError, match="input_shape"):
        nirverse_spikingjelly.to_nir(neuron.LIFNode(), Semantics(DT))


def test_exported_graph_writes_and_reads(tmp_path):
    model, semantics, _ = _user_models()["LIFNode-multi-step-soft"]
    graph = nirverse_spikingjelly.to_nir(model, semantics)
    nir.write(tmp_path / "sj.nir", graph)
    again = nir.read(tmp_path / "sj.nir")
    assert set(again.nodes) == set(graph.nodes)
    assert Semantics.from_metadata(again.metadata) == semantics
