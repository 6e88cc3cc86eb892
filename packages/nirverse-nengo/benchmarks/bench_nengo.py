"""Steps per second: the plugin's Nengo model vs a hand-written Nengo model of the same network.

Network: Input(IN) -> Affine(IN->HID) -> LIF(HID) -> Linear(HID->OUT) -> LIF(OUT) -> Output, dt = 1 ms.
Rows (one process, same machine, best of REPEATS interleaved rounds):

* hand-written: ``nengo.LIF(tau_ref=0, min_voltage=-inf)`` ensembles, Dense connections into
  ``ens.neurons``, the Affine bias as the ensemble bias, a Node feeding the input, a spike Probe;
* plugin exp/value: ``nirverse`` backend "nengo" on the NIR graph (maps to the same nengo.LIF);
* plugin euler/subtract: the same graph under another semantics (this package's NeuronType);
* example-script conventions: the NIR repository's ``nir_to_nengo`` mapping (Affine as a Python
  Node, ``RegularSpiking(LIFRate)``) -- Nengo's only NIR importer, not an exact one.

Run: ``python benchmarks/bench_nengo.py [steps]``.
"""

from __future__ import annotations

import sys
import time
import warnings

import nengo
import nir
import numpy as np
from nirverse import Semantics
from nirverse.backends import get_backend
from nirverse.graph import prepare

IN, HID, OUT = 100, 300, 10
DT = 1e-3
REPEATS = 7


def nir_graph(rng: np.random.Generator) -> nir.NIRGraph:
    def lif(n):
        return nir.LIF(
            tau=np.full(n, 0.02), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n)
        )

    return nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array([IN])),
            "fc1": nir.Affine(rng.normal(size=(HID, IN)) * 0.3, rng.normal(size=HID)),
            "lif1": lif(HID),
            "fc2": nir.Linear(rng.normal(size=(OUT, HID)) * 0.5),
            "lif2": lif(OUT),
            "out": nir.Output(np.array([OUT])),
        },
        edges=[("in", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "out")],
    )


def hand_written(graph: nir.NIRGraph, x: np.ndarray):
    fc1, fc2 = graph.nodes["fc1"], graph.nodes["fc2"]
    neuron = nengo.LIF(tau_rc=0.02, tau_ref=0, min_voltage=-np.inf, amplitude=DT)
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(lambda t: x[int(round(t / DT)) - 1], size_out=IN)
        a = nengo.Ensemble(HID, 1, neuron_type=neuron, gain=np.ones(HID), bias=fc1.bias, encoders=np.ones((HID, 1)))
        b = nengo.Ensemble(
            OUT, 1, neuron_type=neuron, gain=np.ones(OUT), bias=np.zeros(OUT), encoders=np.ones((OUT, 1))
        )
        nengo.Connection(stim, a.neurons, transform=fc1.weight, synapse=None)
        nengo.Connection(a.neurons, b.neurons, transform=fc2.weight, synapse=None)
        probe = nengo.Probe(b.neurons, synapse=None)
    sim = nengo.Simulator(net, dt=DT, progress_bar=False)

    def run():
        sim.reset()
        sim.run_steps(len(x))
        return np.asarray(sim.data[probe])

    return run


def example_script(graph: nir.NIRGraph, x: np.ndarray):
    fc1, fc2 = graph.nodes["fc1"], graph.nodes["fc2"]
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(lambda t: x[int(round(t / DT)) - 1], size_out=IN)
        n1 = nengo.Node(lambda t, v: fc1.weight @ v + fc1.bias, size_in=IN, size_out=HID)
        a = nengo.Ensemble(
            HID,
            1,
            neuron_type=nengo.RegularSpiking(nengo.LIFRate(tau_rc=0.02, tau_ref=0)),
            gain=np.ones(HID),
            bias=np.zeros(HID),
        )
        n2 = nengo.Node(lambda t, v: fc2.weight @ v, size_in=HID, size_out=OUT)
        b = nengo.Ensemble(
            OUT,
            1,
            neuron_type=nengo.RegularSpiking(nengo.LIFRate(tau_rc=0.02, tau_ref=0)),
            gain=np.ones(OUT),
            bias=np.zeros(OUT),
        )
        for pre, post in ((stim, n1), (n1, a.neurons), (a.neurons, n2), (n2, b.neurons)):
            nengo.Connection(pre, post, synapse=None)
        probe = nengo.Probe(b.neurons, synapse=None)
    sim = nengo.Simulator(net, dt=DT, progress_bar=False)

    def run():
        sim.reset()
        sim.run_steps(len(x))
        return np.asarray(sim.data[probe])

    return run


def plugin(graph: nir.NIRGraph, x: np.ndarray, semantics: Semantics):
    backend = get_backend("nengo")
    model = backend.build(prepare(graph, semantics), "float64")
    inputs = {"in": x[None]}
    return lambda: backend.run(model, inputs, record=False).outputs["out"][0]


def best_times(runs: dict) -> dict:
    """Minimum wall time of each run over REPEATS rounds, the rows interleaved (the machine is shared)."""
    for run in runs.values():
        run()  # warm-up
    times = {label: [] for label in runs}
    for _ in range(REPEATS):
        for label, run in runs.items():
            start = time.perf_counter()
            run()
            times[label].append(time.perf_counter() - start)
    return {label: min(t) for label, t in times.items()}


def main(steps: int = 1000) -> None:
    warnings.simplefilter("ignore")  # Nengo notes on ensembles given gain and bias
    rng = np.random.default_rng(0)
    graph = nir_graph(rng)
    x = rng.uniform(0.0, 1.0, size=(steps, IN))
    rows = {
        "hand-written nengo.LIF": hand_written(graph, x),
        "plugin exp/value (nengo.LIF)": plugin(graph, x, Semantics(DT, "exp", "value")),
        "plugin euler/subtract (NeuronType)": plugin(graph, x, Semantics(DT, "euler", "subtract")),
        "example-script conventions": example_script(graph, x),
    }
    same = np.array_equal(rows["hand-written nengo.LIF"](), rows["plugin exp/value (nengo.LIF)"]())
    print(f"nengo {nengo.__version__}, {IN}->{HID}->{OUT}, {steps} steps; plugin raster == hand-written: {same}")
    seconds = best_times(rows)
    base = seconds["hand-written nengo.LIF"]
    for label, value in seconds.items():
        print(f"{label:38s} {steps / value:10.0f} steps/s   time ratio {value / base:5.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
