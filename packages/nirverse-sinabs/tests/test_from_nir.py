"""NIR → Sinabs: the native model, its parameters, and identity with the reference on every knob."""

import itertools
import subprocess
import sys

import numpy as np
import pytest

sinabs = pytest.importorskip("sinabs", reason="sinabs is not installed: pip install 'nirverse[sinabs]'")
import nir  # noqa: E402
import nirverse  # noqa: E402
import nirverse_sinabs  # noqa: E402
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


def _assert_identical(graph, semantics, dtype="float64", x=None):
    x = _inputs(graph) if x is None else x
    ref = nirverse.run(graph, x, semantics, record=True)
    got = nirverse.run(graph, x, semantics, backend="sinabs", dtype=dtype, record=True)
    cmp = nirverse.compare(got, ref, dtype=dtype)
    assert cmp.identical, cmp
    assert set(got.states) == set(ref.states)
    return ref


@pytest.mark.parametrize("semantics", ALL_SEMANTICS, ids=lambda s: f"{s.method}-{s.reset}-{s.latency}")
@pytest.mark.parametrize("kind", KINDS)
def test_every_neuron_under_every_semantics(kind, semantics):
    _assert_identical(graphs.single_neuron(kind), semantics)


@pytest.mark.parametrize("semantics", ALL_SEMANTICS[::3], ids=lambda s: f"{s.method}-{s.reset}-{s.latency}")
def test_recurrent_cubalif_and_feedforward(semantics):
    _assert_identical(graphs.recurrent("CubaLIF"), semantics)
    _assert_identical(graphs.feedforward(), semantics)


def _integer_if_graph(threshold):
    """An IF whose membrane lands exactly on its threshold (integer weights, Δt·r = 1): Sinabs' own
    spike functions fire at v = θ, NIR only at v > θ."""
    return nir.NIRGraph(
        nodes={"input": nir.Input(np.array([2])), "fc": nir.Linear(weight=np.array([[1.0, 1.0], [2.0, 0.0]])),
               "if": nir.IF(r=np.ones(2), v_threshold=np.full(2, threshold), v_reset=np.zeros(2)),
               "output": nir.Output(np.array([2]))},
        edges=[("input", "fc"), ("fc", "if"), ("if", "output")], type_check=False,
    )


@pytest.mark.parametrize("reset", ["value", "subtract"])
def test_threshold_is_strict_where_the_membrane_hits_it_exactly(reset):
    x = (np.random.default_rng(4).random((3, 50, 2)) < 0.5).astype(float)
    s = Semantics(1.0, reset=reset)
    ref = _assert_identical(_integer_if_graph(2.0), s, x=x)
    v = nirverse.run(_integer_if_graph(2.0), x, s, record=True).states["if"]["v"]
    assert ref.outputs["output"].sum() > 5 and np.any(v == 2.0)  # the case exercises v == θ without a spike


def test_the_model_is_made_of_sinabs_layers():
    from sinabs.activation import MembraneReset, MembraneSubtract, SingleSpike
    from sinabs.layers import IAF, LIF, ExpLeak

    s = Semantics(DT, "exp", "subtract")
    model = nirverse_sinabs.from_nir(graphs.feedforward(), s)
    assert isinstance(model, torch.nn.Module) and isinstance(model, nirverse_sinabs.SinabsGraph)
    lif, cuba = model.layers["lif"].layer, model.layers["cuba"].layer
    assert type(lif) is LIF and lif.train_alphas and lif.norm_input and lif.spike_fn is SingleSpike
    assert isinstance(lif.reset_fn, MembraneSubtract) and lif.alpha_mem.dtype == torch.float64
    assert type(cuba) is LIF and cuba.alpha_syn is not None
    # Sinabs' decay factor is the semantics' 1 - κ(τ)
    tau = nirverse.prepare(graphs.feedforward(), s).params["lif"]["tau"]
    np.testing.assert_array_equal(lif.alpha_mem.detach().numpy(), 1 - s.kappa(tau))
    assert isinstance(model.layers["fc1"].fn, torch.nn.Linear)
    model_if = nirverse_sinabs.from_nir(graphs.single_neuron("IF"), Semantics(DT))
    layer = model_if.layers["neuron"].layer
    assert type(layer) is IAF and isinstance(layer.reset_fn, MembraneReset) and layer.reset_fn.reset_value == 0
    li = nirverse_sinabs.from_nir(graphs.single_neuron("LI"), Semantics(DT)).layers["neuron"].layer
    assert type(li) is ExpLeak
    pool = nirverse_sinabs.from_nir(graphs.stateless("SumPool2d"), Semantics(DT)).layers
    assert any(isinstance(sub, sinabs.layers.SumPool2d) for m in pool.values() for sub in m.modules())


def test_paper_cnn_is_identical_and_native():
    """The paper's CNN, exported by Sinabs: at Δt = 1 (Sinabs' step) every IF is Sinabs' IAF unchanged."""
    from nirverse.testing.catalogue import PAPER, data_dir

    graph = nir.read(data_dir() / PAPER / "cnn_sinabs.nir")
    s = Semantics(1.0, reset="subtract")
    levels = {label.type: label.level for label in nirverse.explain(graph, s, backend="sinabs")}
    assert levels["IF"] == "native" and levels["SumPool2d"] == "native"
    x = (np.random.default_rng(0).random((1, 12, 2, 34, 34)) < 0.2).astype(float)
    ref = _assert_identical(graph, s, x=x)
    assert ref.outputs["output"].shape == (1, 12, 10)


def test_float32_model_and_direct_call():
    g = graphs.single_neuron("LIF")
    model = nirverse_sinabs.from_nir(g, Semantics(DT), dtype="float32")
    assert model.layers["neuron"].layer.spike_threshold.dtype == torch.float32
    x = torch.as_tensor(_inputs(g), dtype=torch.float32)
    outputs, states = model(x, record=True)
    assert outputs["output"].shape == (2, 40, 4) and outputs["output"].dtype == torch.float32
    assert states["neuron"]["v"].shape == (2, 40, 4)
    _assert_identical(graphs.feedforward(), Semantics(DT, "exp"), dtype="float32")


def test_a_model_runs_again_from_rest_with_any_batch():
    """Sinabs layers keep their state in buffers: every call starts from the rest state again."""
    for graph in (graphs.recurrent("CubaLIF"), graphs.feedforward()):
        model = nirverse_sinabs.from_nir(graph, Semantics(DT, "exp"))
        x = torch.as_tensor(_inputs(graph, steps=30))
        first, small, again = model(x)[0], model(x[:1])[0], model(x)[0]
        assert all(torch.equal(first[k], again[k]) and torch.equal(first[k][:1], small[k]) for k in first)


def test_a_current_that_cannot_be_read_back_is_refused():
    """Sinabs' current is i_s = r·i + b (b = v_leak − offset): (i_s − b)/r loses ε|b|/|r|, so |r| < 1e-4·|b|
    (float64) is refused, while an r just above that bound still runs identical to the reference."""
    cuba = graphs.single_neuron("CubaLIF")
    cuba.nodes["neuron"].v_leak[:] = 0.5
    cuba.nodes["neuron"].v_reset[:] = 0.0
    cuba.nodes["neuron"].r[:] = 4e-5  # < 1e-4 · 0.5
    with pytest.raises(nirverse.UnsupportedNodeError, match="too small") as err:
        nirverse.run(cuba, _inputs(cuba), Semantics(DT), backend="sinabs")
    assert err.value.node == "neuron" and err.value.field == "r"
    cuba.nodes["neuron"].r[:] = 6e-5
    _assert_identical(cuba, Semantics(DT))


def test_refusals_name_node_and_field():
    cuba = graphs.single_neuron("CubaLIF")
    cuba.nodes["neuron"].r[0] = 0.0
    with pytest.raises(nirverse.UnsupportedNodeError) as err:
        nirverse_sinabs.from_nir(cuba, Semantics(DT))
    assert err.value.node == "neuron" and err.value.field == "r"
    fast = graphs.single_neuron("CubaLI")
    fast.nodes["neuron"].tau_syn[:] = DT
    with pytest.raises(nirverse.UnsupportedNodeError, match="α_syn") as err:
        nirverse.run(fast, _inputs(fast), Semantics(DT), backend="sinabs")
    assert err.value.field == "tau_syn"
    nirverse.run(fast, _inputs(fast), Semantics(DT, "exp"), backend="sinabs")  # exp: α_syn = e^-1
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="float16"):
        nirverse_sinabs.from_nir(graphs.single_neuron("LIF"), Semantics(DT), dtype="float16")
    with pytest.raises(nirverse.InvalidSemanticsError):
        nirverse_sinabs.from_nir(graphs.single_neuron("LIF"), "euler")


def test_registered_backend():
    info = nirverse.backend_info("sinabs")
    assert info.available and info.exports and info.framework == "sinabs"
    assert {"euler", "exp"} == info.methods and {"value", "subtract"} == info.resets


def test_import_does_not_load_the_framework():
    code = "import sys, nirverse_sinabs; print('sinabs' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
