"""NIR → Norse: the native model, its parameters, and identity with the reference on every knob."""

import itertools
import subprocess
import sys

import numpy as np
import pytest

norse = pytest.importorskip("norse", reason="norse is not installed: pip install 'nirverse[norse]'")
import nirverse  # noqa: E402
import nirverse_norse  # noqa: E402
import torch  # noqa: E402
from nirverse import Semantics  # noqa: E402
from nirverse.testing import graphs  # noqa: E402

DT = 1e-3
ALL_SEMANTICS = [Semantics(DT, m, r, lat) for m, r, lat in itertools.product(
    ("euler", "exp"), ("value", "subtract"), ("immediate", "one-step"))]
KINDS = ("I", "IF", "LI", "LIF", "CubaLI", "CubaLIF")


def _inputs(graph, seed=0, steps=40):
    plan = nirverse.prepare(graph, Semantics(DT))
    return np.random.default_rng(seed).uniform(0.0, 2.0, (2, steps, *plan.out_shapes[plan.inputs[0]]))


def _assert_identical(graph, semantics, dtype="float64"):
    x = _inputs(graph)
    ref = nirverse.run(graph, x, semantics, record=True)
    got = nirverse.run(graph, x, semantics, backend="norse", dtype=dtype, record=True)
    cmp = nirverse.compare(got, ref, dtype=dtype)
    assert cmp.identical, cmp
    assert set(got.states) == set(ref.states)


@pytest.mark.parametrize("semantics", ALL_SEMANTICS, ids=lambda s: f"{s.method}-{s.reset}-{s.latency}")
@pytest.mark.parametrize("kind", KINDS)
def test_every_neuron_under_every_semantics(kind, semantics):
    _assert_identical(graphs.single_neuron(kind), semantics)


@pytest.mark.parametrize("semantics", ALL_SEMANTICS, ids=lambda s: f"{s.method}-{s.reset}-{s.latency}")
def test_recurrent_cubalif_and_feedforward(semantics):
    _assert_identical(graphs.recurrent("CubaLIF"), semantics)
    _assert_identical(graphs.feedforward(), semantics)


def test_the_model_is_made_of_norse_cells():
    from norse.torch import IAFCell, LIBoxCell, LIFBoxCell
    from norse.torch.functional.reset import reset_subtract

    s = Semantics(DT, "exp", "subtract")
    model = nirverse_norse.from_nir(graphs.feedforward(), s)
    assert isinstance(model, torch.nn.Module) and isinstance(model, nirverse_norse.NorseGraph)
    lif, cuba = model.layers["lif"], model.layers["cuba"]
    assert isinstance(lif.cell, LIFBoxCell) and lif.cell.p.reset_method is reset_subtract and lif.cell.dt == DT
    assert isinstance(cuba.synapse, LIBoxCell) and isinstance(cuba.membrane, LIFBoxCell)
    assert isinstance(model.layers["fc1"].fn, torch.nn.Linear)
    assert lif.cell.p.tau_mem_inv.dtype == torch.float64
    # Norse's own product dt * tau_mem_inv is the semantics' leak factor, bit for bit
    tau = nirverse.prepare(graphs.feedforward(), s).params["lif"]["tau"]
    assert np.array_equal((DT * lif.cell.p.tau_mem_inv).numpy(), s.kappa(tau))
    model_if = nirverse_norse.from_nir(graphs.single_neuron("IF"), Semantics(DT))
    assert isinstance(model_if.layers["neuron"].cell, IAFCell)


def test_float32_model_and_direct_call():
    g = graphs.single_neuron("LIF")
    model = nirverse_norse.from_nir(g, Semantics(DT), dtype="float32")
    assert model.layers["neuron"].cell.p.v_th.dtype == torch.float32
    x = torch.as_tensor(np.swapaxes(_inputs(g), 0, 1), dtype=torch.float32)
    outputs, states = model(x, record=True)
    assert outputs["output"].shape == (40, 2, 4) and outputs["output"].dtype == torch.float32
    assert states["neuron"]["v"].shape == (40, 2, 4)


def test_if_starts_at_zero_not_at_v_reset():
    """IAFCell's default state is v = v_reset; the semantics starts IF at 0."""
    g = graphs.single_neuron("IF")
    x = _inputs(g)
    got = nirverse.run(g, x, Semantics(DT), backend="norse", record=True)
    plan = nirverse.prepare(g, Semantics(DT))
    p, w = plan.params["neuron"], plan.params["affine"]
    first = DT * p["r"] * (x[:, 0] @ w["weight"].T + w["bias"])
    expected = np.where(first > p["v_threshold"], p["v_reset"], first)
    np.testing.assert_allclose(got.states["neuron"]["v"][:, 0], expected, rtol=1e-12, atol=0)


def test_refuses_unknown_dtype_and_semantics():
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="float16"):
        nirverse_norse.from_nir(graphs.single_neuron("LIF"), Semantics(DT), dtype="float16")
    with pytest.raises(nirverse.InvalidSemanticsError):
        nirverse_norse.from_nir(graphs.single_neuron("LIF"), "euler")


def test_registered_backend():
    info = nirverse.backend_info("norse")
    assert info.available and info.exports and info.framework == "norse"
    assert {"euler", "exp"} == info.methods and {"value", "subtract"} == info.resets


def test_import_does_not_load_the_framework():
    code = "import sys, nirverse_norse; print('norse' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_input_gain_folded_into_the_affine_makes_the_cell_native():
    """Affine -> LIF: r is folded into the Affine's rows, the LIFBoxCell receives its whole input from torch
    (native); the export takes the gain back out of the rows."""
    graph, sem = graphs.single_neuron("LIF"), Semantics(DT, "exp", "subtract")
    labels = {label.type: label for label in nirverse.explain(graph, sem, backend="norse")}
    assert labels["LIF"].level == "native" and "folded" in labels["LIF"].reason
    model = nirverse_norse.from_nir(graph, sem)
    affine, lif = (model.layers[n] for n in ("affine", "neuron"))
    r = graph.nodes["neuron"].r
    np.testing.assert_allclose(affine.fn.weight.detach().numpy(), r[:, None] * graph.nodes["affine"].weight, rtol=1e-15)
    assert lif.folded and torch.equal(lif.gain, torch.as_tensor(r))
    with torch.no_grad():
        affine.fn.weight.mul_(2.0)  # a trained model: the export reads the modules, not the stored NIR
    exported = nirverse_norse.to_nir(model, Semantics(DT, "euler", "subtract"))
    np.testing.assert_allclose(exported.nodes["affine"].weight, 2 * graph.nodes["affine"].weight, rtol=1e-12)
    np.testing.assert_allclose(exported.nodes["neuron"].r, r, rtol=1e-12)


def test_per_channel_gain_folded_into_a_convolution():
    """Conv2d -> LIF with one r per channel: the gain goes into the channels; the export takes it back out."""
    from nirverse.testing import load_cases

    case = load_cases(["conv-stack-euler-subtract-imm"])[0]
    graph = case.graph()
    labels = {label.node: label for label in nirverse.explain(graph, case.semantics, backend="norse")}
    assert labels["lif2"].level == "native" and "conv2" in labels["lif2"].reason
    model = nirverse_norse.from_nir(graph, case.semantics)
    conv = model.layers["conv2"]
    assert conv.fold is not None
    with torch.no_grad():
        (conv.fn[-1] if isinstance(conv.fn, torch.nn.Sequential) else conv.fn).weight.mul_(2.0)
    exported = nirverse_norse.to_nir(model, case.semantics)
    np.testing.assert_allclose(exported.nodes["conv2"].weight, 2 * graph.nodes["conv2"].weight, rtol=1e-12)
