"""Benchmark: the plugin-built Brian2 network against a hand-written Brian2 network of the same graph.

Graph: Input(N_IN) -> Affine -> LIF(N_HID) -> Affine -> LIF(N_OUT) -> Output, semantics euler / value /
one-step (Brian2's native latency). Brian2 has no NIR importer of its own, so there is no third column.
Both networks run in one process with the same codegen target; the first step (code generation) is
timed apart from the remaining steps (CPU time, best of ``--repeats``). Prints steps/s and the ratio plugin / hand-written.

    python benchmarks/bench_brian2.py [--steps 2000] [--target numpy|cython] [--hidden 200]
"""

from __future__ import annotations

import argparse
import time

import brian2 as b
import nir
import nirverse
import nirverse_brian2
import numpy as np
from nirverse import Semantics
from nirverse_brian2._from_nir import codegen

DT = 1e-3


def make_graph(n_in: int, n_hid: int, n_out: int, seed: int = 0) -> nir.NIRGraph:
    rng = np.random.default_rng(seed)
    lif = lambda n, tau: nir.LIF(  # noqa: E731
        tau=rng.uniform(*tau, n), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n)
    )
    return nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n_in])),
            "fc1": nir.Affine(rng.normal(0.15, 0.3, (n_hid, n_in)), rng.normal(0.5, 0.2, n_hid)),
            "lif1": lif(n_hid, (0.005, 0.02)),
            "fc2": nir.Affine(rng.normal(0.02, 0.1, (n_out, n_hid)), np.zeros(n_out)),
            "lif2": lif(n_out, (0.01, 0.03)),
            "output": nir.Output(np.array([n_out])),
        },
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")],
    )


def hand_written(graph: nir.NIRGraph, x: np.ndarray):
    """What a Brian2 user writes: a TimedArray input, a summed dense layer, a spike-driven (on_pre) layer."""
    n = graph.nodes
    clock = b.Clock(dt=DT * b.second)
    stim = b.TimedArray(x[0], dt=DT * b.second)
    inp = b.NeuronGroup(x.shape[2], "y : 1", clock=clock, namespace={"stim": stim})
    inp.run_regularly("y = stim(t, i)", when="start")
    eqs = """
    dv/dt = (v_leak - v + r*(I + bias))/tau : 1
    I : 1
    bias : 1 (constant)
    tau : second (constant)
    r : 1 (constant)
    v_leak : 1 (constant)
    v_threshold : 1 (constant)
    v_reset : 1 (constant)
    """
    groups = []
    for lif_name, fc_name in (("lif1", "fc1"), ("lif2", "fc2")):
        lif = n[lif_name]
        g = b.NeuronGroup(lif.tau.size, eqs, threshold="v > v_threshold", reset="v = v_reset", method="euler",
                          clock=clock)
        g.tau = lif.tau * b.second
        g.r, g.v_leak, g.v_threshold, g.v_reset, g.v = lif.r, lif.v_leak, lif.v_threshold, lif.v_reset, lif.v_leak
        g.bias = n[fc_name].bias
        groups.append(g)
    w1, w2 = n["fc1"].weight, n["fc2"].weight
    s1 = b.Synapses(inp, groups[0], "w : 1 (constant)\nI_post = w*y_pre : 1 (summed)", clock=clock)
    post, pre = np.nonzero(w1)
    s1.connect(i=pre, j=post)
    s1.w = w1[post, pre]
    # spikes of step t act in step t + 1: accumulate after the threshold, consume in the next update
    s2 = b.Synapses(groups[0], groups[1], "w : 1 (constant)", on_pre="I_post += w", clock=clock)
    post, pre = np.nonzero(w2)
    s2.connect(i=pre, j=post)
    s2.w = w2[post, pre]
    groups[1].run_regularly("I = 0", when="after_groups")
    mon = b.SpikeMonitor(groups[1])
    return b.Network(inp, *groups, s1, s2, mon), mon


def timed(net, rest) -> tuple[float, float]:
    """CPU seconds of the first step (code generation included) and of the remaining steps (both
    networks run single-threaded in this process, so CPU time is robust on a shared machine)."""
    t0 = time.process_time()
    net.run(DT * b.second, namespace={})
    t1 = time.process_time()
    net.run(rest, namespace={})
    return t1 - t0, time.process_time() - t1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--hidden", type=int, default=200)
    parser.add_argument("--target", default="numpy")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sem = Semantics(DT, method="euler", reset="value", latency="one-step")
    graph = make_graph(100, args.hidden, 10)
    x = np.random.default_rng(1).uniform(0, 1, (1, args.steps, 100))
    rest = (args.steps - 1) * DT * b.second
    best = {"plugin": [np.inf, np.inf], "hand-written": [np.inf, np.inf]}
    rasters = {}
    for _ in range(args.repeats):
        for label in ("plugin", "hand-written"):
            with codegen(args.target, "float64"):
                if label == "plugin":
                    model = nirverse_brian2.from_nir(graph, sem, x, target=args.target)
                    net = model.network
                else:
                    net, mon = hand_written(graph, x)
                first, remaining = timed(net, rest)
            best[label] = [min(best[label][0], first), min(best[label][1], remaining)]
            if label == "plugin":
                rasters[label] = model.outputs()["output"][0]
            else:
                raster = np.zeros((args.steps, 10))
                raster[np.round(np.asarray(mon.t_) / DT).astype(int), np.asarray(mon.i)] = 1
                rasters[label] = raster
    ref = nirverse.run(graph, x, sem).outputs["output"][0]
    print(f"Brian2 {b.__version__}, target {args.target}, {args.steps} steps, 100-{args.hidden}-10, batch 1")
    for label, (first, remaining) in best.items():
        mism = int(np.count_nonzero(rasters[label] != ref))
        print(f"{label:>13}: first step (codegen) {first:7.3f} s, {(args.steps - 1) / remaining:9.0f} steps/s, "
              f"{int(rasters[label].sum())} spikes, {mism} raster mismatches vs reference")
    ratio = best["plugin"][1] / best["hand-written"][1]
    print(f"ratio plugin / hand-written (time per step): {ratio:.3f}")


if __name__ == "__main__":
    main()
