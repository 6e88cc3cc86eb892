"""NIR → SpikingJelly: the native model, its parameters, its labels, and identity with the reference on
every knob."""

import itertools
import subprocess
import sys

import nir
import numpy as np
import pytest

pytest.importorskip("spikingjelly", reason="spikingjelly is not installed: pip install 'nirverse[spikingjelly]'")
import nirverse  # noqa: E402
import nirverse_spikingjelly  # noqa: E402
import torch  # noqa: E402
from nirverse import Semantics  # noqa: E402
from nirverse.levels import ADAPTED, EMULATED, NATIVE  # noqa: E402
from nirverse.testing import graphs  # noqa: E402
from nirverse.testing.mutation import perturbed  # noqa: E402
from spikingjelly.activation_based import layer, neuron  # noqa: E402

DT = 1e-3
ALL_SEMANTICS = [Semantics(DT, m, r, lat) for m, r, lat in itertools.product(
    ("euler", "exp"), ("value", "subtract"), ("immediate", "one-step"))]
KINDS = ("I", "IF", "LI", "LIF", "CubaLI", "CubaLIF")
SJ = "spikingjelly"


def _inputs(graph, seed=0, steps=40):
    plan = nirverse.prepare(graph, Semantics(DT))
    return np.random.default_rng(seed).uniform(0.0, 2.0, (2, steps, *plan.out_shapes[plan.inputs[0]]))


def _compare(graph, semantics, dtype="float64", x=None):
    x = _inputs(graph) if x is None else x
    ref = nirverse.run(graph, x, semantics, dtype=dtype, record=True)
    got = nirverse.run(graph, x, semantics, backend=SJ, dtype=dtype, record=True)
    return nirverse.compare(got, ref, dtype=dtype), got, ref


def _assert_identical(graph, semantics, dtype="float64"):
    cmp, got, ref = _compare(graph, semantics, dtype)
    assert cmp.identical, cmp
    assert set(got.states) == set(ref.states)


@pytest.mark.parametrize("semantics", ALL_SEMANTICS, ids=lambda s: f"{s.method}-{s.reset}-{s.latency}")
@pytest.mark.parametrize("kind", KINDS)
def test_every_neuron_under_every_semantics(kind, semantics):
    _assert_identical(graphs.single_neuron(kind), semantics)


@pytest.mark.parametrize("semantics", ALL_SEMANTICS[::3], ids=lambda s: f"{s.method}-{s.reset}-{s.latency}")
def test_recurrent_nested_delay_and_conv(semantics):
    for graph in (graphs.recurrent("CubaLIF"), graphs.recurrent("LIF"), graphs.nested(), graphs.delay_chain(DT),
                  graphs.conv_stack(), graphs.threshold_chain()):
        _assert_identical(graph, semantics)


def test_float32_runs_match_the_float32_reference():
    for kind in ("LIF", "CubaLIF", "IF", "LI"):
        cmp, _, _ = _compare(graphs.single_neuron(kind), Semantics(DT, "exp", "subtract"), "float32")
        assert cmp.identical, (kind, cmp)


def test_threshold_is_strict_although_spikingjelly_fires_on_equality():
    """IF with Δt·r = 1 and input 0.5: the membrane reaches exactly 1.0 = θ in step 1 (no spike in the
    semantics; SpikingJelly's own ``h >= θ`` would fire) and 1.5 in step 2."""
    graph = graphs.around(nir.IF(r=np.ones(1), v_threshold=np.ones(1), v_reset=np.zeros(1)), (1,))
    x = np.full((1, 4, 1), 0.5)
    for reset in ("value", "subtract"):
        got = nirverse.run(graph, x, Semantics(1.0, reset=reset), backend=SJ).outputs["output"][0, :, 0]
        assert got.tolist() == [0.0, 0.0, 1.0, 0.0]
    node = neuron.IFNode(v_threshold=1.0, v_reset=0.0, step_mode="m")
    assert node(torch.full((4, 1, 1), 0.5, dtype=torch.float64))[1].item() == 1.0  # SpikingJelly alone fires at 1.0


def test_the_model_is_made_of_spikingjelly_modules_in_multi_step_mode():
    s = Semantics(DT, "exp", "subtract")
    model = nirverse_spikingjelly.from_nir(graphs.feedforward(), s)
    assert isinstance(model, torch.nn.Module) and isinstance(model, nirverse_spikingjelly.SpikingJellyGraph)
    lif, cuba, fc = model.layers["lif"], model.layers["cuba"], model.layers["fc1"]
    assert all(isinstance(p, neuron.LIFNode) and p.step_mode == "m" and p.v_reset is None for p in lif.pops)
    assert all(isinstance(p, neuron.CUBALIFNode) and p.step_mode == "m" for p in cuba.pops)
    assert isinstance(fc.fn, layer.Linear) and fc.fn.step_mode == "m" and fc.fn.weight.dtype == torch.float64
    # per-neuron time constants: one LIFNode per neuron, tau = 1/κ in steps
    tau = nirverse.prepare(graphs.feedforward(), s).params["lif"]["tau"]
    assert len(lif.pops) == tau.size
    taus = np.empty(tau.size)
    for idx, pop in zip(lif.indices, lif.pops):
        taus[idx.numpy()] = pop.tau
    np.testing.assert_allclose(1.0 / taus, s.kappa(tau), rtol=1e-15)


def test_uniform_parameters_make_one_population():
    n = 6
    lif = nir.LIF(tau=np.full(n, 0.02), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))
    model = nirverse_spikingjelly.from_nir(graphs.around(lif, (n,)), Semantics(DT))
    (pop,) = model.layers["node"].pops
    assert model.layers["node"].indices == [None] and pop.tau == pytest.approx(20.0) and pop.decay_input
    assert pop.v_threshold == np.nextafter(1.0, 2.0) and pop.v_reset == 0.0


def _levels(graph, semantics, dtype="float64"):
    return {label.node: label for label in nirverse.explain(graph, semantics, backend=SJ, dtype=dtype)}


def test_levels_say_what_runs():
    n = 3
    plain = nir.LIF(tau=np.full(n, 0.02), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))
    label = _levels(graphs.around(plain, (n,)), Semantics(DT))["node"]
    assert label.level == NATIVE and label.construct == "spikingjelly.activation_based.neuron.LIFNode"
    # κ·r = 1: decay_input=False takes the input unscaled -- still native
    scaled = nir.LIF(tau=np.full(n, 0.02), r=np.full(n, 20.0), v_leak=np.zeros(n), v_threshold=np.ones(n),
                     v_reset=np.zeros(n))
    assert _levels(graphs.around(scaled, (n,)), Semantics(DT))["node"].level == NATIVE
    model = nirverse_spikingjelly.from_nir(graphs.around(scaled, (n,)), Semantics(DT))
    assert not model.layers["node"].pops[0].decay_input and model.layers["node"].gain is None
    labels = _levels(graphs.feedforward(), Semantics(DT))
    assert labels["lif"].level == ADAPTED and "input scaled" in labels["lif"].reason
    assert labels["cuba"].level == ADAPTED and labels["cuba"].construct.endswith("CUBALIFNode")
    assert labels["fc1"].level == NATIVE and labels["fc1"].construct.endswith("layer.Linear")
    scale = _levels(graphs.branches(), Semantics(DT))
    assert {label.level for label in scale.values() if label.type == "Scale"} == {EMULATED}


MUTATION_GRAPHS = {
    "feedforward": graphs.feedforward, "branches": graphs.branches, "conv": graphs.conv_stack,
    "delay": lambda: graphs.delay_chain(DT), "threshold": graphs.threshold_chain, "nested": graphs.nested,
    "IF": lambda: graphs.single_neuron("IF"), "I": lambda: graphs.single_neuron("I"),
}


@pytest.mark.parametrize("key", sorted(MUTATION_GRAPHS))
def test_labels_survive_mutation(key):
    """Perturbing the construct of a native/adapted node changes the run; an emulated node stays identical
    while every native construct is perturbed."""
    graph, s = MUTATION_GRAPHS[key](), Semantics(DT, "exp", "subtract")
    backend = nirverse.backends.get_backend(SJ)
    labels = nirverse.explain(graph, s, backend=SJ)
    x = _inputs(graph)
    ref = nirverse.run(graph, x, s, record=True)
    for construct in sorted({label.construct for label in labels if label.level in (NATIVE, ADAPTED)}):
        with backend.perturb(construct):
            got = nirverse.run(graph, x, s, backend=SJ, record=True)
        assert not nirverse.compare(got, ref).identical, construct
    emulated = [label.node for label in labels if label.level == EMULATED]
    if emulated:
        plan = nirverse.prepare(graph, s)
        model = nirverse_spikingjelly.from_nir(graph, s)
        probe = torch.as_tensor(np.random.default_rng(1).normal(size=(3, 2, *plan.in_shapes[emulated[0]])))
        expected = model.layers[emulated[0]].chunk(probe, False)[0]
        with perturbed("spikingjelly.activation_based.neuron.LIFNode"), perturbed("spikingjelly.activation_based.layer.Linear"):
            assert torch.equal(model.layers[emulated[0]].chunk(probe, False)[0], expected)


def test_refusals_name_node_and_field():
    fast = graphs.around(nir.LIF(tau=np.array([1e-3, 2e-3]), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2),
                                 v_reset=np.zeros(2)), (2,))
    with pytest.raises(nirverse.UnsupportedNodeError) as err:
        nirverse_spikingjelly.from_nir(fast, Semantics(DT))
    assert err.value.node == "node" and err.value.field == "tau"
    assert _levels(fast, Semantics(DT))["node"].level == "refused"
    _assert_identical(fast, Semantics(DT, "exp"))  # κ = 1 − e⁻¹ < 1: fine
    dead = nir.CubaLIF(tau_syn=np.full(2, 5e-3), tau_mem=np.full(2, 1e-2), r=np.array([1.0, 0.0]), v_leak=np.zeros(2),
                       v_threshold=np.ones(2), v_reset=np.zeros(2), w_in=np.ones(2))
    with pytest.raises(nirverse.UnsupportedNodeError) as err:
        nirverse.run(graphs.around(dead, (2,)), np.zeros((1, 3, 2)), Semantics(DT), backend=SJ)
    assert err.value.field == "r"
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="float16"):
        nirverse_spikingjelly.from_nir(graphs.single_neuron("LIF"), Semantics(DT), dtype="float16")


def test_a_current_too_small_to_read_back_is_refused_per_dtype():
    # c = κ r i + κ v_leak: r / v_leak = 1e-2 reads back well in float64 (bound 1e-4), not in float32 (0.1)
    weak = graphs.around(nir.CubaLI(tau_syn=np.full(2, 5e-3), tau_mem=np.full(2, 1e-2), r=np.full(2, 1e-2),
                                    v_leak=np.ones(2), w_in=np.ones(2)), (2,))
    _assert_identical(weak, Semantics(DT))
    assert _levels(weak, Semantics(DT), "float32")["node"].level == "refused"
    with pytest.raises(nirverse.UnsupportedNodeError, match="too small") as err:
        nirverse_spikingjelly.from_nir(weak, Semantics(DT), dtype="float32")
    assert err.value.node == "node" and err.value.field == "r" and "float32" in err.value.expected


def test_float32_model_and_direct_call():
    g = graphs.single_neuron("CubaLIF")
    model = nirverse_spikingjelly.from_nir(g, Semantics(DT), dtype="float32")
    x = torch.as_tensor(np.swapaxes(_inputs(g), 0, 1), dtype=torch.float32)
    outputs, states = model(x, record=True)
    assert outputs["output"].shape == (40, 2, 4) and outputs["output"].dtype == torch.float32
    assert states["neuron"]["v"].shape == (40, 2, 4) and states["neuron"]["i"].dtype == torch.float32


def test_registered_backend():
    info = nirverse.backend_info(SJ)
    assert info.available and info.exports and info.framework == "spikingjelly"
    assert {"euler", "exp"} == info.methods and {"value", "subtract"} == info.resets


def test_import_does_not_load_the_framework():
    code = ("import sys, nirverse, nirverse_spikingjelly; from nirverse.testing import graphs;"
            "nirverse.explain(graphs.feedforward(), nirverse.Semantics(1e-3), backend='spikingjelly');"
            "print('spikingjelly' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
