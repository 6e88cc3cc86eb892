"""Nengo's own routes from NIR, measured against the reference (documenting deviations, not hiding them).

Nengo ships no NIR bridge. The NIR repository's example script
``docs/source/examples/nengo/nir-nengo-lif.py`` (``nir_to_nengo``) maps a LIF node to
``nengo.RegularSpiking(nengo.LIFRate(tau_rc=tau[0], tau_ref=0))`` with ``gain=1, bias=0`` (ignoring
``r``, ``v_leak``, ``v_threshold``, ``v_reset`` and every tau but the first), an Affine node to a
Python Node ``W x + b``, and edges to ``synapse=None`` connections; it targets the pre-1.0 NIR API
(list nodes, ``nir.Input(shape=...)``), so it cannot run against nir 1.0.x as written. The
tests rebuild those conventions with Nengo's classes and measure them, and measure a plain
``nengo.LIF`` with Nengo's defaults (``tau_ref=0.002``, ``min_voltage=0``, initial voltage drawn
from U(0, 1)). Each test asserts that the measured deviation exists.

Measured with nengo 4.1.0 (8 neurons x 200 steps = 1600 raster entries, 312 reference spikes,
exp/value semantics, the graph's declared meaning):

=============================================  ==========  ===========
Nengo model                                    mismatches  max |dv|
=============================================  ==========  ===========
example script (RegularSpiking(LIFRate))       507         0.99
  same, graph with v_threshold=2, r=0.5        377         1.94
nengo.LIF(tau_rc) defaults                     444         1.00
nengo.LIF(tau_ref=0, min_voltage=-inf)         172         0.99
  + initial_state voltage 0 (nirverse's map)   0           2.2e-16
=============================================  ==========  ===========
"""

import numpy as np
import pytest

nengo = pytest.importorskip("nengo", reason="Nengo is not installed: pip install 'nirverse[nengo]'")

import nir  # noqa: E402
import nirverse  # noqa: E402
from nirverse import Semantics  # noqa: E402

DT = 1e-3
N, M, STEPS = 8, 3, 200
SEM = Semantics(DT, "exp", "value")  # the semantics nengo.LIF itself implements


def _graph(**lif):
    rng = np.random.default_rng(0)
    params = dict(tau=np.full(N, 0.02), r=np.ones(N), v_leak=np.zeros(N), v_threshold=np.ones(N), v_reset=np.zeros(N))
    params.update(lif)
    return nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array([M])),
            "fc": nir.Affine(rng.uniform(0, 2, (N, M)), rng.uniform(0, 1, N)),
            "lif": nir.LIF(**params),
            "out": nir.Output(np.array([N])),
        },
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")],
    )


def _input():
    return np.random.default_rng(1).uniform(0.0, 3.0, size=(1, STEPS, M))


def _run_nengo(graph, neuron_type, seed=0):
    """Affine as a Python Node (as the example script does), LIF as an ensemble of ``neuron_type``."""
    fc = graph.nodes["fc"]
    x = _input()[0]
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(lambda t: x[int(round(t / DT)) - 1], size_out=M)
        affine = nengo.Node(lambda t, v: fc.weight @ v + fc.bias, size_in=M, size_out=N)
        ens = nengo.Ensemble(N, 1, neuron_type=neuron_type, gain=np.ones(N), bias=np.zeros(N))
        nengo.Connection(stim, affine, synapse=None)
        nengo.Connection(affine, ens.neurons, synapse=None)
        spikes = nengo.Probe(ens.neurons, synapse=None)
        voltage = nengo.Probe(ens.neurons, "voltage", synapse=None) if "voltage" in neuron_type.state else None
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run_steps(STEPS)
    z = sim.data[spikes] * DT / neuron_type.amplitude
    return z, (sim.data[voltage] if voltage is not None else None)


def _measure(graph, neuron_type):
    ref = nirverse.run(graph, _input(), SEM, record=True)
    z, v = _run_nengo(graph, neuron_type)
    mismatches = int(np.sum(z != ref.outputs["out"][0]))
    dv = float(np.abs(v - ref.states["lif"]["v"][0]).max()) if v is not None else float("nan")
    return mismatches, dv, int(ref.outputs["out"].sum())


def test_example_script_regular_spiking_lifrate_deviates():
    """RegularSpiking(LIFRate): a rate model turned into regular spikes, not a membrane -- measured."""
    mismatches, _, ref_spikes = _measure(_graph(), nengo.RegularSpiking(nengo.LIFRate(tau_rc=0.02, tau_ref=0)))
    assert ref_spikes > 100
    assert mismatches > 0, mismatches


def test_example_script_ignores_threshold_and_r():
    """Same script on a graph with v_threshold = 2 and r = 0.5: both ignored, so far more mismatches."""
    graph = _graph(v_threshold=np.full(N, 2.0), r=np.full(N, 0.5))
    mismatches, _, ref_spikes = _measure(graph, nengo.RegularSpiking(nengo.LIFRate(tau_rc=0.02, tau_ref=0)))
    assert mismatches > ref_spikes // 2, (mismatches, ref_spikes)


def test_plain_nengo_lif_defaults_deviate():
    """nengo.LIF() defaults: refractory 2 ms, voltage clipped at 0, random initial voltage."""
    mismatches, dv, _ = _measure(_graph(), nengo.LIF(tau_rc=0.02))
    assert mismatches > 0 and dv > 0.1, (mismatches, dv)


def test_nengo_lif_random_initial_state_alone_deviates():
    """Even with tau_ref=0 and no clipping, Nengo's U(0, 1) initial voltage changes the raster."""
    mismatches, dv, _ = _measure(_graph(), nengo.LIF(tau_rc=0.02, tau_ref=0, min_voltage=-np.inf))
    assert mismatches > 0 and dv > 0.01, (mismatches, dv)


def test_nengo_lif_with_exact_initial_state_is_identical():
    """The control: the conventions nirverse uses (tau_ref=0, no clipping, v0 = 0) give no deviation."""
    neuron = nengo.LIF(tau_rc=0.02, tau_ref=0, min_voltage=-np.inf, initial_state={"voltage": np.zeros(N)})
    mismatches, dv, _ = _measure(_graph(), neuron)
    assert mismatches == 0 and dv <= 1e-9, (mismatches, dv)
