"""Norse → NIR: the exported graph's reference run equals the Norse model's own run (float64), and
NIR → Norse → NIR returns the same parameters bit for bit."""

import nir
import numpy as np
import pytest

pytest.importorskip("norse", reason="norse is not installed: pip install 'nirverse[norse]'")
import nirverse  # noqa: E402
import nirverse_norse  # noqa: E402
import norse.torch as snn  # noqa: E402
import torch  # noqa: E402
from nirverse import Semantics  # noqa: E402
from nirverse.testing import graphs  # noqa: E402
from norse.torch.functional.reset import reset_subtract  # noqa: E402

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
    "IF": lambda: graphs.single_neuron("IF"), "I": lambda: graphs.single_neuron("I"),
    "CubaLI": lambda: graphs.single_neuron("CubaLI"),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("key", sorted(ROUND_TRIP))
def test_round_trip_is_bit_exact(key, dtype):
    graph = ROUND_TRIP[key]()
    s = Semantics(DT, "exp", "subtract")
    back = nirverse_norse.to_nir(nirverse_norse.from_nir(graph, s, dtype=dtype), s)
    plan1, p1 = _flat_params(graph, s)
    plan2, p2 = _flat_params(back, s)
    assert plan1.edges == plan2.edges and plan1.types == plan2.types
    for name, fields in p1.items():
        for field, value in fields.items():
            assert np.array_equal(value, p2[name][field]), (name, field)
    assert Semantics.from_metadata(back.metadata) == s


@pytest.mark.parametrize("semantics", [Semantics(DT), Semantics(DT, "exp", "subtract", "one-step")],
                         ids=["euler-value", "exp-subtract-1step"])
@pytest.mark.parametrize("key", ["feedforward", "recurrent", "IF", "I", "CubaLI"])
def test_modified_model_exports_its_native_parameters(key, semantics):
    """After training-like edits the export reads Norse's tensors back; its reference run equals the model."""
    graph = ROUND_TRIP[key]()
    model = nirverse_norse.from_nir(graph, semantics)
    with torch.no_grad():
        for layer in model.layers.values():
            cell = getattr(layer, "cell", None) or getattr(layer, "membrane", None)
            if cell is not None and hasattr(cell.p, "v_th"):
                cell.p.v_th.mul_(0.9)
            if isinstance(getattr(layer, "fn", None), torch.nn.Linear):
                layer.fn.weight.mul_(1.1)
    assert not all(layer.unchanged() for layer in model.layers.values())
    exported = nirverse_norse.to_nir(model, semantics)
    plan = nirverse.prepare(graph, semantics)
    x = np.random.default_rng(3).uniform(0, 2, (2, 40, *plan.out_shapes[plan.inputs[0]]))
    torch_x = {plan.inputs[0]: torch.as_tensor(np.swapaxes(x, 0, 1))}
    with torch.no_grad():
        native, _ = model(torch_x)
    ref = nirverse.run(exported, x, semantics)
    for name in plan.outputs:
        got = np.swapaxes(native[name].numpy(), 0, 1)
        np.testing.assert_allclose(got, ref.outputs[name], rtol=1e-9, atol=1e-9)


def _user_models():
    lif_p = dict(tau_mem_inv=t(100.0, 50.0, 200.0, 20.0), v_leak=t(0.1), v_th=t(0.5), v_reset=t(-0.2))
    cur_p = snn.LIFParameters(tau_syn_inv=t(200.0, 100.0, 300.0, 150.0), tau_mem_inv=t(100.0), v_leak=torch.zeros(4, dtype=F64),
                              v_th=t(0.3), v_reset=t(0.0))
    rec = snn.LIFRecurrentCell(3, 5, p=snn.LIFParameters(tau_syn_inv=t(200.0), tau_mem_inv=t(100.0), v_leak=t(0.0),
                                                         v_th=t(0.3), v_reset=t(0.0)), dt=DT).double()
    torch.manual_seed(6)
    conv = torch.nn.Conv2d(1, 2, 3, padding=1).double()
    with torch.no_grad():
        conv.weight.mul_(6.0)
        conv.bias.fill_(0.5)
    return {
        "LIFBoxCell": (snn.SequentialState(linear(3, 4, 0), snn.LIFBoxCell(snn.LIFBoxParameters(**lif_p), dt=DT)),
                       Semantics(DT), (3,)),
        "LIFBoxCell-subtract-exp": (
            snn.SequentialState(linear(3, 4, 1), snn.LIFBoxCell(snn.LIFBoxParameters(**lif_p, reset_method=reset_subtract), dt=DT)),
            Semantics(DT, "exp", "subtract"), (3,)),
        "LIFCell": (snn.SequentialState(linear(3, 4, 2), snn.LIFCell(cur_p, dt=DT)), Semantics(DT), (3,)),
        "LIBoxCell": (snn.SequentialState(linear(3, 4, 3), snn.LIBoxCell(snn.LIBoxParameters(
            tau_mem_inv=t(100.0, 50.0, 200.0, 20.0), v_leak=torch.zeros(4, dtype=F64)), dt=DT)), Semantics(DT, "exp"), (3,)),
        "IAFCell": (snn.SequentialState(linear(3, 4, 4, bias=False), snn.IAFCell(snn.IAFParameters(
            v_th=t(1.0, 2.0, 3.0, 4.0), v_reset=torch.zeros(4, dtype=F64)), dt=DT)), Semantics(DT), (3,)),
        "LIFRecurrentCell": (snn.SequentialState(rec, linear(5, 2, 5)), Semantics(DT), (3,)),
        "Conv2d": (snn.SequentialState(conv, torch.nn.Flatten(), snn.LIFBoxCell(snn.LIFBoxParameters(tau_mem_inv=t(100.0), v_th=t(0.2)), dt=DT)),
                   Semantics(DT), (1, 4, 4)),
    }


@pytest.mark.parametrize("key", sorted(_user_models()))
def test_user_model_export_runs_identically(key, run_native):
    model, semantics, shape = _user_models()[key]
    graph = nirverse_norse.to_nir(model, semantics, input_shape=shape if key == "Conv2d" else None)
    x = np.random.default_rng(1).uniform(0, 1.5, (2, 60, *shape))
    native = run_native(model, x)
    ref = nirverse.run(graph, x, semantics)
    (out,) = ref.outputs.values()
    assert native.shape == out.shape
    if ref.spiking["output"]:
        assert np.count_nonzero(native) > 0, "the case must spike to test anything"
        assert np.count_nonzero((native != 0) != (out != 0)) == 0
    np.testing.assert_allclose(native, out, rtol=1e-9, atol=1e-9)


def test_norse_graph_export_checks_semantics():
    model = nirverse_norse.from_nir(graphs.feedforward(), Semantics(DT))
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="reset"):
        nirverse_norse.to_nir(model, Semantics(DT, reset="subtract"))
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="latency"):
        nirverse_norse.to_nir(model, Semantics(DT, latency="one-step"))
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="dt"):
        nirverse_norse.to_nir(model, Semantics(2 * DT))
    # another method is fine: the time constants are recomputed for it
    exp = nirverse_norse.to_nir(model, Semantics(DT, "exp"))
    kappa = Semantics(DT, "exp").kappa(nirverse.prepare(exp, Semantics(DT)).params["lif"]["tau"])
    np.testing.assert_allclose(kappa, DT / nirverse.prepare(graphs.feedforward(), Semantics(DT)).params["lif"]["tau"], rtol=1e-12)


def test_refusals_name_the_node_and_field():
    cell = snn.IAFCell(snn.IAFParameters(v_th=t(1.0, 1.0), v_reset=t(0.5, 0.5)), dt=DT)
    with pytest.raises(nirverse.UnsupportedNodeError) as err:
        nirverse_norse.to_nir(snn.SequentialState(linear(3, 2, 0), cell), Semantics(DT))
    assert err.value.node == "iafcell_1" and err.value.field == "v_reset"
    fast = snn.LIFBoxCell(snn.LIFBoxParameters(tau_mem_inv=t(1000.0, 2000.0)), dt=DT)
    with pytest.raises(nirverse.UnsupportedNodeError, match="tau_mem_inv"):
        nirverse_norse.to_nir(fast, Semantics(DT, "exp"))
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="one-step"):
        nirverse_norse.to_nir(snn.SequentialState(snn.LIFBoxCell(snn.LIFBoxParameters(v_th=t(1.0, 1.0)), dt=DT),
                                                  linear(2, 2, 0)), Semantics(DT, latency="one-step"))
    with pytest.raises(nirverse.UnsupportedNodeError) as err:
        nirverse_norse.to_nir(snn.SequentialState(linear(3, 2, 0), torch.nn.ReLU()), Semantics(DT))
    assert err.value.field == "type"
    with pytest.raises(nirverse.UnsupportedNodeError, match="input_shape"):
        nirverse_norse.to_nir(snn.LIFBoxCell(), Semantics(DT))


def test_exported_graph_is_a_nir_graph_that_writes(tmp_path):
    model, semantics, _ = _user_models()["LIFRecurrentCell"]
    graph = nirverse_norse.to_nir(model, semantics)
    nir.write(tmp_path / "rec.nir", graph)
    again = nir.read(tmp_path / "rec.nir")
    assert set(again.nodes) == set(graph.nodes)
    assert Semantics.from_metadata(again.metadata) == semantics
