"""Rockpool -> NIR: the exported graph's reference run equals Rockpool's own run; NIR -> Rockpool -> NIR is exact."""

from collections import OrderedDict

import numpy as np
import pytest

pytest.importorskip("rockpool", reason="rockpool is not installed: pip install 'nirverse[rockpool]'")

import nirverse  # noqa: E402
import nirverse_rockpool as nr  # noqa: E402
import torch  # noqa: E402
from nirverse import Semantics, UnsupportedSemanticsError  # noqa: E402
from nirverse.testing import load_cases  # noqa: E402
from rockpool.nn.combinators import Sequential  # noqa: E402
from rockpool.nn.modules import ExpSynTorch, LIFNeuronTorch, LIFTorch, LinearTorch  # noqa: E402

DT = 1e-3


def _f64(module, **params):
    """``module`` in float64 with ``params`` set exactly (Rockpool's constructors cast to float32)."""
    module = module.double()
    for name, value in params.items():
        setattr(module, name, torch.as_tensor(value, dtype=torch.float64))
    return module


def _network(rng, method_dt=DT):
    lin = _f64(LinearTorch((3, 5)), weight=rng.normal(0.3, 0.3, (3, 5)))
    rec = _f64(LIFTorch((5,), dt=method_dt, has_rec=True, spike_generation_fn=nr.StrictStep,
                        max_spikes_per_dt=torch.tensor(1.0)),
               tau_mem=rng.uniform(0.01, 0.03, 5), tau_syn=rng.uniform(0.003, 0.01, (5, 1)),
               w_rec=rng.normal(0.0, 0.2, (5, 5)), bias=np.zeros(5), threshold=np.ones(5))
    lin2 = _f64(LinearTorch((5, 2), has_bias=True), weight=rng.normal(0.15, 0.05, (5, 2)), bias=np.array([0.01, 0.02]))
    out = _f64(LIFNeuronTorch((2,), dt=method_dt), tau_mem=np.array([0.02, 0.01]), threshold=np.array([1.2, 1.5]))
    syn = _f64(ExpSynTorch((2,), dt=method_dt), tau=np.array([0.005, 0.02]))
    return Sequential(OrderedDict(fc=lin, rnn=rec, fc2=lin2, lif=out, syn=syn))


def _compare(module, semantics, x, states):
    """Rockpool's own run vs the reference run of the export: (raster mismatches, max |dv|)."""
    torch.set_default_dtype(torch.float64)
    try:
        y, _, rec = module(torch.as_tensor(x), record=True)
    finally:
        torch.set_default_dtype(torch.float32)
    spikes = [v for k, v in rec.items() if k.endswith("_output") and k[:-7] in ("rnn", "lif")]
    assert all(float(s.detach().max()) <= 1.0 for s in spikes)  # the export's condition: unit spikes
    ref = nirverse.run(nr.to_nir(module, semantics), x, semantics, record=True)
    worst = 0.0
    for node, (rp_name, var, ref_var) in states.items():
        got = rec[rp_name][var].detach().numpy()
        got = got[..., 0] if got.ndim == 4 else got
        worst = max(worst, float(np.abs(got - ref.states[node][ref_var]).max()))
    return y.detach().numpy(), ref.outputs["output"], worst


@pytest.mark.parametrize("method", ["exp", "euler"])
def test_sequential_export_reproduces_rockpool(method):
    rng = np.random.default_rng(1)
    net = _network(rng)
    x = (rng.random((2, 80, 3)) < 0.3).astype(float)
    sem = Semantics(DT, method=method, reset="subtract")
    states = {"rnn": ("rnn", "vmem", "v"), "lif": ("lif", "vmem", "v")}
    y, ref, worst = _compare(net, sem, x, states)
    assert np.count_nonzero(ref) > 0
    np.testing.assert_allclose(y, ref, rtol=1e-9, atol=1e-9)
    assert worst < 1e-9
    graph = nr.to_nir(net, sem)
    assert type(graph.nodes["rnn"]).__name__ == "CubaLIF" and ("rnn", "rnn_rec") in graph.edges
    assert type(graph.nodes["syn"]).__name__ == "LI"
    assert Semantics.from_metadata(graph.metadata) == sem


def test_multi_spike_steps_are_the_measured_difference():
    """Rockpool's stock StepPWL emits floor(v/threshold) spikes per step; NIR emits one. Measured, not hidden."""
    lif = _f64(LIFNeuronTorch((1,), dt=DT), tau_mem=np.array([0.02]), threshold=np.array([1.0]))
    x = np.zeros((1, 20, 1))
    x[0, 5, 0] = 3.5  # v = 3.5 >= 3 thresholds in one step
    torch.set_default_dtype(torch.float64)
    try:
        y, _, _ = lif(torch.as_tensor(x))
    finally:
        torch.set_default_dtype(torch.float32)
    sem = Semantics(DT, method="exp", reset="subtract")
    ref = nirverse.run(nr.to_nir(lif, sem), x, sem)
    y = y.detach().numpy()
    assert y[0, 5, 0] == 3.0 and ref.outputs["output"][0, 5, 0] == 1.0
    assert np.count_nonzero(y != ref.outputs["output"]) >= 1


@pytest.mark.parametrize("case_id", ["feedforward-exp-subtract-imm", "recurrent-cubalif-euler-value-1step",
                                     "nested-euler-value-imm", "conv-stack-euler-subtract-imm"])
def test_round_trip_is_parameter_exact(case_id):
    case = load_cases([case_id])[0]
    graph = case.graph()
    model = nr.from_nir(graph, case.semantics)
    back = nr.to_nir(model, case.semantics)
    plan = nirverse.prepare(graph, case.semantics)
    for name, node in plan.nodes.items():
        if plan.types[name] == "Pass":
            continue
        exported = back.nodes[name]
        assert type(exported) is type(node)
        for field, value in plan.params[name].items():
            if isinstance(value, np.ndarray) and field != "steps":
                np.testing.assert_array_equal(np.broadcast_to(getattr(exported, field), value.shape), value, err_msg=f"{name}.{field}")
    assert Semantics.from_metadata(back.metadata).dt == case.semantics.dt  # dt preserved exactly
    again = nirverse.run(back, case.inputs, case.semantics, record=True)
    for name, expected in case.outputs.items():
        np.testing.assert_array_equal(again.outputs[name], expected)


def test_modified_model_exports_its_new_dynamics():
    case = load_cases(["feedforward-exp-subtract-imm"])[0]
    model = nr.from_nir(case.graph(), case.semantics)
    lif = model.node_modules("lif")[-1]
    lif.tau_mem = lif.tau_mem.detach() * 1.5
    lif.threshold = lif.threshold.detach() * 0.8
    back = nr.to_nir(model, case.semantics)
    assert not np.array_equal(back.nodes["lif"].tau, case.graph().nodes["lif"].tau)
    ours = nirverse.run(back, case.inputs, case.semantics, record=True)
    x = torch.as_tensor(case.inputs["input"]).reshape(*case.inputs["input"].shape[:2], -1)
    with torch.no_grad():
        out, _, rec = model(x, record=True)
    out = out if isinstance(out, dict) else {"output": out}
    for name, value in ours.outputs.items():
        np.testing.assert_allclose(out[name].numpy().reshape(value.shape), value, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(rec["lif"]["v"].numpy().reshape(ours.states["lif"]["v"].shape), ours.states["lif"]["v"],
                               rtol=1e-9, atol=1e-9)


def test_export_refusals():
    lif = _f64(LIFNeuronTorch((2,), dt=DT), tau_mem=np.array([0.02, 0.01]))
    with pytest.raises(UnsupportedSemanticsError, match="dt"):
        nr.to_nir(lif, Semantics(2e-3, reset="subtract"))
    with pytest.raises(UnsupportedSemanticsError, match="reset"):
        nr.to_nir(lif, Semantics(DT, reset="value"))
    net = Sequential(lif, _f64(LinearTorch((2, 2)), weight=np.eye(2)))
    with pytest.raises(UnsupportedSemanticsError, match="latency"):
        nr.to_nir(net, Semantics(DT, reset="subtract", latency="one-step"))
    case = load_cases(["single-lif-exp-subtract-imm"])[0]
    model = nr.from_nir(case.graph(), case.semantics)
    with pytest.raises(UnsupportedSemanticsError, match="semantics"):
        nr.to_nir(model, Semantics(DT, method="euler", reset="subtract"))
