"""Seconds per run: the nirverse-built NEST network vs a hand-written NEST model of the same network.

Network: Input(n_in) -> Affine -> LIF(n_hid) -> Linear -> LIF(n_out) -> Output, latency "one-step"
(NEST's native timing), exp method (NEST's own propagator), reset to value, float64, one thread.
Both sides do what a NEST run needs: reset the kernel, create, connect, simulate, read the recorder.
The hand-written model is what a NEST user would write: one ``spike_generator`` per input carrying the
input value as ``spike_weights``, a bias generator firing every step, ``iaf_psc_delta`` populations with
scalar parameters, dense ``all_to_all`` connections, a ``spike_recorder``. NEST has no NIR importer of
its own, so there is no third column.

    python benchmarks/bench_nest.py [--steps 2000] [--repeats 5]
    python benchmarks/bench_nest.py --recurrent 2048 --backends nest brian2 genn norse [--steps 1000]

``--recurrent N`` times ``nirverse.run`` on a recurrent LIF network (Input(100) -> Affine -> LIF(N) with
a sparse N x N recurrent Linear -> Output) on each backend (one run each after a warm-up), and checks
every backend's spikes against the reference.
"""

from __future__ import annotations

import argparse
import time

import nir
import nirverse
import numpy as np
from nirverse.graph import prepare


def make_graph(n_in, n_hid, n_out, seed=0):
    rng = np.random.default_rng(seed)
    lif = lambda n: nir.LIF(tau=np.full(n, 0.02), r=np.ones(n), v_leak=np.zeros(n),  # noqa: E731
                            v_threshold=np.ones(n), v_reset=np.zeros(n))
    return nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([n_in])}),
            "fc1": nir.Affine(weight=rng.normal(0, 3.0 / np.sqrt(n_in), (n_hid, n_in)), bias=np.full(n_hid, 0.2)),
            "lif1": lif(n_hid),
            "fc2": nir.Linear(weight=rng.normal(3.0, 1.0, (n_out, n_hid)) / np.sqrt(n_hid)),
            "lif2": lif(n_out),
            "out": nir.Output(output_type={"output": np.array([n_out])}),
        },
        edges=[("in", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "out")],
    )


def run_hand(graph, semantics, x):
    """The hand-written NEST model: τ in steps (resolution 1 ms = one step), weights κ·W."""
    from nirverse_nest._model import import_nest

    nest = import_nest()
    w1, b1, w2 = graph.nodes["fc1"].weight, graph.nodes["fc1"].bias, graph.nodes["fc2"].weight
    kappa = float(semantics.kappa(0.02))
    steps, n_in = x.shape
    nest.ResetKernel()
    nest.set(resolution=1.0, local_num_threads=1)
    params = {"E_L": 0.0, "V_m": 0.0, "V_reset": 0.0, "t_ref": 0.0, "C_m": 1.0, "tau_m": 0.02 / semantics.dt,
              "V_th": float(np.nextafter(1.0, 2.0))}
    lif1 = nest.Create("iaf_psc_delta", w1.shape[0], params=params)
    lif2 = nest.Create("iaf_psc_delta", w2.shape[0], params=params)
    gen = nest.Create("spike_generator", n_in)
    times = np.arange(1, steps + 1, dtype=float)
    gen.set([{"spike_times": times[x[:, j] != 0].tolist(), "spike_weights": x[x[:, j] != 0, j].tolist()}
             for j in range(n_in)])
    bias = nest.Create("spike_generator", params={"spike_times": times.tolist()})
    nest.Connect(gen, lif1, "all_to_all", {"weight": kappa * w1, "delay": 1.0})
    nest.Connect(bias, lif1, "all_to_all", {"weight": kappa * b1.reshape(-1, 1), "delay": 1.0})
    nest.Connect(lif1, lif2, "all_to_all", {"weight": kappa * w2, "delay": 1.0})
    rec = nest.Create("spike_recorder")
    nest.Connect(lif2, rec)
    nest.Simulate(float(steps + 2))
    ev = rec.get("events")
    raster = np.zeros((steps, w2.shape[0]))
    t = np.rint(ev["times"]).astype(int) - 2  # input of step t is sent at t + 1 and counts in NEST step t + 1
    keep = t < steps
    raster[t[keep], ev["senders"][keep] - lif2[0].global_id] = 1
    return raster


def make_recurrent(n, n_in=100, density=0.05, seed=0):
    rng = np.random.default_rng(seed)
    rec = rng.normal(0, 1.0 / np.sqrt(density * n), (n, n)) * (rng.random((n, n)) < density)
    return nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([n_in])}),
            "fc": nir.Affine(weight=rng.normal(0, 2.0 / np.sqrt(n_in), (n, n_in)), bias=np.zeros(n)),
            "lif": nir.LIF(tau=np.full(n, 0.02), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n),
                           v_reset=np.zeros(n)),
            "rec": nir.Linear(weight=rec),
            "out": nir.Output(output_type={"output": np.array([n])}),
        },
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")],
    )


def compare_backends(n, backends, steps):
    semantics = nirverse.Semantics(1e-3, "exp", "value", "one-step")
    graph = make_recurrent(n)
    x = np.random.default_rng(1).uniform(0, 1, (1, steps, 100))
    ref = nirverse.run(graph, x, semantics, backend="reference").outputs["out"]
    print(f"recurrent LIF N={n}, {steps} steps, one-step latency, exp, float64; reference spikes {int(ref.sum())}")
    for name in backends:
        nirverse.run(graph, x[:, :10], semantics, backend=name)  # warm-up (compilation, caches)
        t0 = time.perf_counter()
        out = nirverse.run(graph, x, semantics, backend=name).outputs["out"]
        took = time.perf_counter() - t0
        print(f"{name:<10} {took:8.3f} s  mismatches vs reference {int(np.count_nonzero(out != ref))}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs=3, default=(100, 400, 10))
    ap.add_argument("--recurrent", type=int, default=0, help="N: compare backends on a recurrent network")
    ap.add_argument("--backends", nargs="+", default=["nest"])
    args = ap.parse_args()
    if args.recurrent:
        compare_backends(args.recurrent, args.backends, args.steps)
        return
    from nirverse_nest._backend import NESTBackend

    semantics = nirverse.Semantics(1e-3, "exp", "value", "one-step")
    graph = make_graph(*args.sizes)
    x = np.random.default_rng(1).uniform(0, 1, (1, args.steps, args.sizes[0]))
    network = NESTBackend().build(prepare(graph, semantics), "float64")
    ref = nirverse.run(graph, x, semantics, backend="reference").outputs["out"][0]
    t_plugin, t_hand = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out, _ = network.run({"in": x})
        t1 = time.perf_counter()
        raster = run_hand(graph, semantics, x[0])
        t2 = time.perf_counter()
        t_plugin.append(t1 - t0)
        t_hand.append(t2 - t1)
    print(f"NEST, 1 thread, float64, sizes {tuple(args.sizes)}, {args.steps} steps, best of {args.repeats}")
    print(f"spikes: plugin==reference {np.array_equal(out['out'][0], ref)}, hand==reference "
          f"{np.array_equal(raster, ref)}, output spikes {int(ref.sum())}")
    print(f"nirverse plugin network: {min(t_plugin):8.3f} s")
    print(f"hand-written NEST      : {min(t_hand):8.3f} s")
    print(f"time ratio plugin/hand : {min(t_plugin) / min(t_hand):.3f}")


if __name__ == "__main__":
    main()
