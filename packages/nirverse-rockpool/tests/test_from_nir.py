"""NIR -> Rockpool: module choice, parameter mapping, threshold/reset edge cases, refusals."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("rockpool", reason="rockpool is not installed: pip install 'nirverse[rockpool]'")

import nir  # noqa: E402
import nirverse  # noqa: E402
import nirverse_rockpool as nr  # noqa: E402
import torch  # noqa: E402
from nirverse import Semantics, UnsupportedNodeError  # noqa: E402
from nirverse.testing import load_cases  # noqa: E402
from nirverse_rockpool._from_nir import rockpool_tau  # noqa: E402
from rockpool.nn.modules import ExpSynTorch, LIFNeuronTorch, LIFTorch, LinearTorch  # noqa: E402

DT = 1e-3


def test_import_does_not_import_rockpool():
    """The package and its registered backend class load without importing Rockpool or torch."""
    code = ("import sys, nirverse_rockpool, nirverse.backends as b; b.get_backend('rockpool'); "
            "print(sorted(m for m in ('rockpool', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def _lif(n=3, **kw):
    params = dict(tau=np.linspace(0.01, 0.03, n), r=np.linspace(0.5, 2, n), v_leak=np.linspace(-0.1, 0.1, n),
                  v_threshold=np.linspace(0.8, 1.2, n), v_reset=np.linspace(-0.2, 0.0, n))
    params.update(kw)
    return nir.LIF(**params)


def test_modules_are_rockpool_classes(chain):
    graph = chain(nir.Affine(np.ones((3, 2)), np.zeros(3)), _lif(), nir.Affine(np.ones((2, 3)), np.zeros(2)),
                  nir.CubaLIF(tau_syn=np.full(2, 5e-3), tau_mem=np.full(2, 2e-2), r=np.ones(2), v_leak=np.zeros(2),
                              v_threshold=np.ones(2), w_in=np.ones(2)),
                  nir.Linear(np.ones((2, 2))), nir.LI(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2)), n_in=2, n_out=2)
    model = nr.from_nir(graph, Semantics(DT, method="exp", reset="subtract"))
    kinds = {name: [type(m) for m in model.node_modules(name)] for name in ("n0", "n1", "n3", "n5")}
    assert kinds["n0"] == [LinearTorch]
    assert kinds["n1"][-1] is LIFNeuronTorch and kinds["n3"][-1] is LIFTorch and kinds["n5"][-1] is ExpSynTorch
    lif = model.node_modules("n1")[-1]
    assert lif.dt == DT and lif.tau_mem.dtype == torch.float64
    assert float(lif.max_spikes_per_dt) == 1.0
    # exp: Rockpool's tau is NIR's tau; bias = kappa * v_leak; gain = kappa * r
    kappa = -np.expm1(-DT / graph.nodes["n1"].tau)
    np.testing.assert_array_equal(lif.tau_mem.detach().numpy(), graph.nodes["n1"].tau)
    np.testing.assert_allclose(lif.bias.detach().numpy(), kappa * graph.nodes["n1"].v_leak, rtol=1e-15)
    np.testing.assert_allclose(model.node_modules("n1")[0].scale.detach().numpy(), kappa * graph.nodes["n1"].r, rtol=1e-15)


def test_value_reset_uses_value_reset_subclass(chain):
    from nirverse_rockpool._nodes import LIFNeuronValueResetTorch

    model = nr.from_nir(chain(_lif(), n_in=3), Semantics(DT, reset="value"))
    lif = model.node_modules("n0")[-1]
    assert isinstance(lif, LIFNeuronValueResetTorch) and isinstance(lif, LIFNeuronTorch)
    np.testing.assert_array_equal(lif.v_reset.detach().numpy(), np.linspace(-0.2, 0.0, 3))


def test_euler_tau_decays_like_one_minus_dt_over_tau():
    tau = np.array([2e-3, 1e-2, 0.5])
    sem = Semantics(DT, method="euler")
    tau_r = rockpool_tau(sem, tau, "n", "tau")
    np.testing.assert_allclose(np.exp(-DT / tau_r), 1 - DT / tau, rtol=2e-16, atol=0)


@pytest.mark.parametrize("field,node", [
    ("tau", _lif(tau=np.array([0.01, 1e-3, 0.02]))),
    ("v_threshold", _lif(v_threshold=np.array([1.0, 0.0, 1.0]))),
])
def test_refusals_name_node_and_field(field, node, chain):
    graph = chain(node, n_in=3)
    with pytest.raises(UnsupportedNodeError) as info:
        nirverse.run(graph, np.zeros((1, 5, 3)), Semantics(DT, method="euler"), backend="rockpool")
    assert info.value.node == "n0" and info.value.field == field


def test_cubalif_with_zero_r_is_refused(chain):
    node = nir.CubaLIF(tau_syn=np.full(2, 5e-3), tau_mem=np.full(2, 2e-2), r=np.array([1.0, 0.0]),
                       v_leak=np.zeros(2), v_threshold=np.ones(2))
    with pytest.raises(UnsupportedNodeError, match="r"):
        nr.from_nir(chain(node, n_in=2), Semantics(DT))


def test_exact_threshold_hit_does_not_spike(chain):
    """IF with dt*r = 1 fed 0.25 per step reaches v = 1.0 = v_threshold exactly at step 3: no spike (strict >).
    Rockpool's stock StepPWL (v >= threshold) would fire there; the plugin's StrictStep does not."""
    graph = chain(nir.IF(r=np.array([1.0]), v_threshold=np.array([1.0]), v_reset=np.array([0.0])), n_in=1)
    sem = Semantics(1.0, reset="subtract")
    x = np.full((1, 8, 1), 0.25)
    ref = nirverse.run(graph, x, sem, record=True)
    got = nirverse.run(graph, x, sem, backend="rockpool", record=True)
    assert ref.outputs["output"][0, 3, 0] == 0 and ref.outputs["output"][0, 4, 0] == 1
    np.testing.assert_array_equal(got.outputs["output"], ref.outputs["output"])
    np.testing.assert_array_equal(got.states["n0"]["v"], ref.states["n0"]["v"])  # bit-identical
    stock = LIFNeuronTorch((1,), tau_mem=torch.tensor([np.inf]), threshold=torch.tensor([1.0]), dt=1.0,
                           max_spikes_per_dt=torch.tensor(1.0))
    spikes, _, _ = stock(torch.tensor(x, dtype=torch.float32))
    assert spikes[0, 3, 0] == 1  # the stock spike function fires on equality


def test_at_most_one_spike_per_step(chain):
    graph = chain(nir.IF(r=np.array([1.0]), v_threshold=np.array([1.0]), v_reset=np.array([0.0])), n_in=1)
    sem = Semantics(1.0, reset="subtract")
    x = np.full((1, 4, 1), 10.0)
    got = nirverse.run(graph, x, sem, backend="rockpool", record=True)
    ref = nirverse.run(graph, x, sem, record=True)
    assert got.outputs["output"].max() == 1.0
    np.testing.assert_array_equal(got.states["n0"]["v"], ref.states["n0"]["v"])


def test_recurrent_cubalif_runs_as_native_has_rec():
    case = load_cases(["recurrent-cubalif-exp-subtract-imm"])[0]
    model = nr.from_nir(case.graph(), case.semantics)
    lif = [m for m in model.modules().values() if isinstance(m, LIFTorch)]
    assert len(lif) == 1 and lif[0]._has_rec


def test_rockpool_api_and_state_record():
    case = load_cases(["feedforward-exp-subtract-imm"])[0]
    model = nr.from_nir(case.graph(), case.semantics)
    x = torch.as_tensor(case.inputs["input"]).reshape(*case.inputs["input"].shape[:2], -1)
    with torch.no_grad():
        out, state, record = model(x, record=True)
    out = out if isinstance(out, dict) else {"output": out}
    assert set(out) == set(case.outputs)
    for name, expected in case.outputs.items():
        np.testing.assert_allclose(out[name].numpy().reshape(expected.shape), expected, rtol=1e-9, atol=1e-9)
    for node, states in case.states.items():
        for var, value in states.items():
            np.testing.assert_allclose(record[node][var].numpy().reshape(value.shape), value, rtol=1e-9, atol=1e-9)
    # a second call starts again from rest
    out2, _, _ = model(x)
    out2 = out2 if isinstance(out2, dict) else {"output": out2}
    for name in out:
        np.testing.assert_array_equal(out2[name].detach().numpy(), out[name].numpy())


def test_paper_lif_spikes_at_460_510_710_760():
    case = load_cases(["paper-lif-exp-subtract-imm"])[0]
    result = nirverse.run(case.graph(), case.inputs, case.semantics, backend="rockpool")
    (out,) = result.outputs.values()
    assert np.flatnonzero(out[0, :, 0]).tolist() == [460, 510, 710, 760]


def test_li_input_terms_folded_into_the_affine():
    """Affine -> LI: the LI's input gain and offset live in the LinearTorch, the ExpSynTorch does the whole
    update (native), the run is identical, and the export takes the terms back out of a modified model."""
    from nirverse.testing import graphs

    graph, sem = graphs.single_neuron("LI"), Semantics(1e-3, "exp", "value")
    labels = {label.type: label for label in nirverse.explain(graph, sem, backend="rockpool")}
    assert labels["LI"].level == "native" and "folded" in labels["LI"].reason
    model = nr.from_nir(graph, sem)
    affine, li = model._impls["affine"], model._impls["neuron"]
    assert [type(s) for s in li.stages] == [ExpSynTorch] and li.folded_gain is not None
    x = np.random.default_rng(0).normal(size=(2, 30, *nirverse.prepare(graph, sem).out_shapes["input"]))
    cmp = nirverse.compare(nirverse.run(graph, x, sem, backend="rockpool", record=True), nirverse.run(graph, x, sem, record=True))
    assert cmp.identical, cmp
    assert nr.to_nir(model, sem).nodes["affine"] is graph.nodes["affine"] or np.array_equal(
        nr.to_nir(model, sem).nodes["affine"].weight, graph.nodes["affine"].weight)
    with torch.no_grad():
        affine.stages[0].weight.mul_(2.0)
    exported = nr.to_nir(model, sem)
    np.testing.assert_allclose(exported.nodes["affine"].weight, 2 * graph.nodes["affine"].weight, rtol=1e-12)
    np.testing.assert_allclose(exported.nodes["neuron"].r, graph.nodes["neuron"].r, rtol=1e-12)
@pytest.mark.parametrize("case_id", ["fuzz-rockpool-i-self-loop-batch-euler-subtract-1step",
                                     "fuzz-rockpool-cubalif-zero-r-exp-value-imm-f32"])
def test_fuzz_findings(case_id):
    """Issue 20: an I neuron in a stepped loop carried one sample's state into the next (now identical); a
    CubaLIF whose r*kappa is 0 in float32 gave NaN currents (now refused)."""
    from nirverse.testing import run_case

    (case,) = load_cases([case_id])
    verdict = run_case("rockpool", case)
    assert verdict.status == ("unsupported" if case.dtype == "float32" else "identical"), verdict.summary()
