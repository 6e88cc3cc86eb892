"""Rockpool's OWN NIR bridge (``rockpool.nn.modules.from_nir`` / ``to_nir``) measured against the reference.

These tests document upstream behaviour with numbers; each asserts that the measured deviation exists
(if Rockpool fixes one, its test fails and the docs must be updated). Not workarounds, not tolerances.
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("rockpool", reason="rockpool is not installed: pip install 'nirverse[rockpool]'")
pytest.importorskip("nirtorch", reason="Rockpool's NIR bridge needs nirtorch")

import nir  # noqa: E402
import nirverse  # noqa: E402
import torch  # noqa: E402
from nirverse import Semantics  # noqa: E402
from rockpool.nn.combinators import Sequential  # noqa: E402
from rockpool.nn.modules import LIFNeuronTorch, LIFTorch, LinearTorch  # noqa: E402

# Rockpool's bridge calls nirtorch's deprecated API; those warnings are upstream's, not the measurement
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DT = 1e-3
SEM = Semantics(DT, method="exp", reset="subtract")  # Rockpool's own discretisation and reset


def _bridge():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from rockpool.nn.modules import from_nir, to_nir
    return from_nir, to_nir


def _graph(neuron, n_in=2, n=3, seed=0, gain=1.0):
    rng = np.random.default_rng(seed)
    return nir.NIRGraph(
        nodes={"input": nir.Input(np.array([n_in])), "fc": nir.Affine(gain * rng.uniform(0.5, 1.5, (n, n_in)), np.zeros(n)),
               "neuron": neuron, "output": nir.Output(np.array([n]))},
        edges=[("input", "fc"), ("fc", "neuron"), ("neuron", "output")], type_check=False)


def _input(n_in=2, steps=200, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((1, steps, n_in)) < 0.2).astype(np.float64)


def test_from_nir_crashes_on_lif():
    from_nir, _ = _bridge()
    graph = _graph(nir.LIF(tau=np.full(3, 0.02), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.ones(3)))
    with pytest.raises(AttributeError, match="tau_mem"):
        from_nir(graph)


def test_from_nir_cubalif_dynamics_differ():
    """Rockpool imports CubaLIF as LIFTorch with dt = min(tau_mem/(1+r)) (0.95 ms here), its synapse takes the
    input unscaled (no w_in, no r) and the current enters the membrane without tau_mem/dt scaling: spikes land
    in other steps (measured: ~24% of the raster entries differ, max |dv| ~ 0.97)."""
    from_nir, _ = _bridge()
    n = 3  # snnTorch-style parameters, as in the paper's Braille graphs: r = tau_mem/dt, w_in = tau_syn/dt
    cuba = nir.CubaLIF(tau_syn=np.full(n, 5e-3), tau_mem=np.full(n, 2e-2), r=np.full(n, 20.0), v_leak=np.zeros(n),
                       v_threshold=np.ones(n), w_in=np.full(n, 5.0))
    graph = _graph(cuba, gain=0.1)
    x = _input()
    model = from_nir(graph)
    lif = model.get_submodule("neuron")
    assert isinstance(lif, LIFTorch) and lif.dt == pytest.approx(0.02 / 21)
    fc = graph.nodes["fc"]
    drive = torch.as_tensor(x @ fc.weight.T + fc.bias, dtype=torch.float32)
    spikes, _, record = LIFTorch.evolve(lif, drive, record=True)
    spikes = spikes.detach().numpy().astype(np.float64)
    ref = nirverse.run(graph, x, SEM, record=True)
    mismatches = int(np.count_nonzero(spikes != ref.outputs["output"]))
    dv = float(np.abs(record["vmem"].detach().numpy() - ref.states["neuron"]["v"]).max())
    print(f"Rockpool from_nir CubaLIF: {int(spikes.sum())} spikes vs {int(ref.outputs['output'].sum())} reference, "
          f"{mismatches} raster mismatches of {spikes.size}, max |dv| = {dv:.3g}")
    assert ref.outputs["output"].sum() > 0
    assert mismatches > 0.1 * spikes.size and dv > 0.5


def test_to_nir_declares_batched_input_shape():
    _, to_nir = _bridge()
    graph = to_nir(Sequential(LinearTorch((2, 3)), LIFTorch((3,), dt=DT)))
    assert tuple(np.asarray(graph.nodes["input"].input_type["input"])) == (1, 2)
    with pytest.raises(nirverse.InvalidGraphError, match="input_type"):
        nirverse.prepare(graph, SEM)


def test_to_nir_round_trip_drifts_dt():
    from_nir, to_nir = _bridge()
    net = Sequential(LinearTorch((2, 3)), LIFTorch((3,), tau_mem=0.02, tau_syn=0.005, dt=DT))
    back = from_nir(to_nir(net))
    dts = [m.dt for m in back.modules() if isinstance(m, LIFTorch)]
    print(f"Rockpool to_nir -> from_nir: dt {DT} -> {dts[0]!r}")
    assert len(dts) == 1 and dts[0] != DT and abs(dts[0] - DT) > 1e-6


def test_to_nir_drops_bias_and_changes_dynamics():
    """LIFNeuronTorch(bias=0.05) exports as LIF(v_leak=0, r=tau*exp(-dt/tau)/dt): the bias is gone."""
    _, to_nir = _bridge()
    lif = LIFNeuronTorch((2,), tau_mem=torch.tensor([0.02, 0.01]), threshold=torch.tensor([1.0, 1.0]),
                         bias=torch.tensor([0.05, 0.05]), dt=DT)
    net = Sequential(LinearTorch((2, 2), weight=torch.eye(2)), lif)
    graph = to_nir(net)
    # Rockpool also declares the Input shape as (1, N) (its sample batch); restore (N,) to run the graph at all
    graph.nodes["input"] = nir.Input(np.array([2]))
    exported = next(v for v in graph.nodes.values() if isinstance(v, nir.LIF))
    assert np.all(np.asarray(exported.v_leak) == 0)
    x = _input(steps=300)
    spikes, _, record = net(torch.as_tensor(x, dtype=torch.float32), record=True)
    ref = nirverse.run(graph, x, SEM, record=True)
    v_ref = next(iter(ref.states.values()))["v"]
    v_rp = record[net._submodulenames[1]]["vmem"].detach().numpy()
    dv = float(np.abs(v_rp - v_ref).max())
    mismatches = int(np.count_nonzero(spikes.detach().numpy() != ref.outputs["output"]))
    print(f"Rockpool to_nir LIF with bias: {mismatches} raster mismatches, max |dv| = {dv:.3g}")
    assert dv > 0.1 and mismatches > 0


def test_from_nir_casts_li_tau_to_int():
    """LI(tau=0.01) becomes ExpSynTorch(tau=int(0.01)=0): the decay exp(-dt/0) is 0, the output stays 0."""
    from_nir, _ = _bridge()
    li = nir.LI(tau=np.full(3, 0.01), r=np.ones(3), v_leak=np.zeros(3))
    graph = _graph(li)
    model = from_nir(graph)
    syn = model.get_submodule("neuron")
    assert torch.all(syn.tau == 0)
    x = _input()
    out, _ = model(torch.as_tensor(x, dtype=torch.float32))
    ref = nirverse.run(graph, x, SEM)
    dv = float(np.abs(out.detach().numpy() - ref.outputs["output"]).max())
    print(f"Rockpool from_nir LI: output max {float(out.detach().abs().max())}, reference max {ref.outputs['output'].max():.3g}, max |dv| = {dv:.3g}")
    assert float(out.detach().abs().max()) == 0.0 and dv > 0.1
