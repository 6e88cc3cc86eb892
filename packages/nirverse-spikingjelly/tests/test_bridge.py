"""SpikingJelly's OWN NIR bridge (``spikingjelly.activation_based.nir_exchange``, SpikingJelly 2.0.0, its
``[nir]`` extra: nir >= 1.0.7, nirtorch 2.6) measured against the reference.

Each test asserts the measured behaviour (refusals and deviations), so a fixed upstream limitation shows up
as a failing test here; the plugin's own result on the same graph is asserted next to it.
"""

from __future__ import annotations

import logging

import nir
import numpy as np
import pytest

pytest.importorskip("spikingjelly", reason="spikingjelly is not installed: pip install 'nirverse[spikingjelly]'")
pytest.importorskip("nirtorch", reason="SpikingJelly's NIR bridge needs nirtorch")
import nirverse  # noqa: E402
import nirverse_spikingjelly  # noqa: E402
import torch  # noqa: E402
from nirverse import Semantics  # noqa: E402
from spikingjelly.activation_based import layer, neuron  # noqa: E402
from spikingjelly.activation_based.nir_exchange import export_to_nir, import_from_nir  # noqa: E402

DT = 1e-3
N = 4
W = np.random.default_rng(0).normal(0.6, 0.5, (N, 3))
X = np.random.default_rng(1).uniform(0.0, 3.0, (2, 100, 3))
logging.getLogger("spikingjelly").setLevel(logging.WARNING)


def _graph(neuron_node, n_in=3, weight=W) -> nir.NIRGraph:
    return nir.NIRGraph(
        nodes={"input": nir.Input(np.array([n_in])), "fc": nir.Affine(weight=weight, bias=np.zeros(weight.shape[0])),
               "lif": neuron_node, "output": nir.Output(np.array([weight.shape[0]]))},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")], type_check=False,
    )


def _lif(tau=0.01, v_leak=0.0):
    return nir.LIF(tau=np.broadcast_to(tau, (N,)).copy(), r=np.ones(N), v_leak=np.full(N, v_leak),
                   v_threshold=np.ones(N), v_reset=np.zeros(N))


def _run_imported(graph, x):
    model = import_from_nir(graph, dt=DT, dtype=torch.float64, step_mode="m")
    with torch.no_grad():
        y = model(torch.as_tensor(np.swapaxes(x, 0, 1)))
    return np.swapaxes((y[0] if isinstance(y, tuple) else y).numpy(), 0, 1)


def _mismatches(a, b) -> int:
    return int(np.count_nonzero((a != 0) != (b != 0)))


def _ours(graph, x, semantics):
    return nirverse.run(graph, x, semantics, backend="spikingjelly").outputs["output"]


def test_import_is_exact_for_uniform_euler_lif_but_assumes_euler():
    graph = _graph(_lif())
    got = _run_imported(graph, X)
    euler = nirverse.run(graph, X, Semantics(DT)).outputs["output"]
    assert euler.sum() > 100 and _mismatches(got, euler) == 0  # measured: 154 spikes, 0 mismatches
    # the importer always discretises with dt/tau; under exponential Euler the dynamics differ
    exp = nirverse.run(graph, X, Semantics(DT, "exp")).outputs["output"]
    assert _mismatches(got, exp) > 50  # measured: 107 of 800
    assert _mismatches(_ours(graph, X, Semantics(DT, "exp")), exp) == 0


def test_import_refuses_per_neuron_parameters_and_v_leak():
    with pytest.raises(ValueError, match="uniform"):
        _run_imported(_graph(_lif(tau=np.array([0.01, 0.02, 0.005, 0.05]))), X)
    with pytest.raises(ValueError, match="v_leak must equal v_reset"):
        _run_imported(_graph(_lif(v_leak=0.2)), X)
    with pytest.raises(ValueError, match="LI"):
        _run_imported(_graph(nir.LI(tau=np.full(N, 0.01), r=np.ones(N), v_leak=np.zeros(N))), X)
    per_neuron = _graph(_lif(tau=np.array([0.01, 0.02, 0.005, 0.05])))
    ref = nirverse.run(per_neuron, X, Semantics(DT)).outputs["output"]
    assert _mismatches(_ours(per_neuron, X, Semantics(DT)), ref) == 0


def test_import_fires_on_equality():
    """IF with Δt·r = 1 and input 0.5: SpikingJelly fires when the membrane equals the threshold (h >= θ)."""
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "if": nir.IF(r=np.full(1, 1 / DT), v_threshold=np.ones(1),
                                                              v_reset=np.zeros(1)), "output": nir.Output(np.array([1]))},
        edges=[("input", "if"), ("if", "output")], type_check=False,
    )
    x = np.full((1, 8, 1), 0.5)
    ref = nirverse.run(graph, x, Semantics(DT)).outputs["output"][0, :, 0]
    got = _run_imported(graph, x)[0, :, 0]
    assert ref.tolist() == [0, 0, 1, 0, 0, 1, 0, 0] and got.tolist() == [0, 1, 0, 1, 0, 1, 0, 1]
    assert _ours(graph, x, Semantics(DT))[0, :, 0].tolist() == ref.tolist()


def test_import_of_cubalif_in_spikingjelly_form_is_exact():
    """CubaLIF with r = τ_mem/Δt, w_in = τ_syn/Δt, v_leak = 0 becomes CUBALIFNode; exact under euler."""
    cuba = nir.CubaLIF(tau_syn=np.full(N, 0.005), tau_mem=np.full(N, 0.01), r=np.full(N, 10.0), v_leak=np.zeros(N),
                       v_threshold=np.ones(N), v_reset=np.zeros(N), w_in=np.full(N, 5.0))
    graph, x = _graph(cuba), X * 0.05
    ref = nirverse.run(graph, x, Semantics(DT)).outputs["output"]
    assert 0 < ref.sum() < ref.size / 2
    assert _mismatches(_run_imported(graph, x), ref) == 0


def test_export_refuses_soft_reset():
    net = torch.nn.Sequential(layer.Linear(3, 4), neuron.LIFNode(tau=4.0, v_reset=None))
    with pytest.raises(NotImplementedError, match="soft reset"):
        export_to_nir(net, torch.zeros(1, 3), dt=DT)
    graph = nirverse_spikingjelly.to_nir(net, Semantics(DT, reset="subtract"))
    assert isinstance(graph.nodes["lifnode_1"], nir.LIF)


def test_export_keeps_the_inclusive_threshold():
    """An exported IFNode fires on equality in SpikingJelly but not in the exported graph's semantics."""
    torch.manual_seed(0)
    fc = layer.Linear(1, 1, bias=False).double()
    with torch.no_grad():
        fc.weight.fill_(1.0)
    net = torch.nn.Sequential(fc, neuron.IFNode(v_threshold=1.0, v_reset=0.0)).double()
    x = np.full((1, 8, 1), 0.5)
    with torch.no_grad():
        native = torch.stack([net(torch.as_tensor(x[:, t])) for t in range(8)], 1).numpy()
    for module in net.modules():
        if hasattr(module, "reset"):
            module.reset()
    theirs = export_to_nir(net, torch.zeros(1, 1, dtype=torch.float64), dt=DT)
    (if_node,) = (n for n in theirs.nodes.values() if isinstance(n, nir.IF))
    assert np.all(if_node.v_threshold == 1.0)
    ref = nirverse.run(theirs, x, Semantics(DT)).outputs["output"]
    assert _mismatches(native, ref) == 4  # SpikingJelly 0,1,0,1,0,1,0,1; the exported graph 0,0,1,0,0,1,0,0
    ours = nirverse_spikingjelly.to_nir(net, Semantics(DT))
    assert _mismatches(native, nirverse.run(ours, x, Semantics(DT)).outputs["output"]) == 0
