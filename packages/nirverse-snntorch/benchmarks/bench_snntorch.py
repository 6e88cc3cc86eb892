"""Benchmark (a script, not a test): the plugin's snnTorch model vs a hand-written snnTorch model of the same
network vs snnTorch's own NIR importer, in one process, float32 on CPU.

Network: input(N_IN) → Affine → LIF(N_HID) → Affine → LIF(N_OUT), per-neuron τ, v_leak = 0, v_reset = 0,
reset "value" (snnTorch "zero"), euler, dt = 1 ms. The hand-written model is what an snnTorch user writes:
``nn.Linear`` layers with the input scaling r·dt/τ folded into the weights and ``snn.Leaky(beta, threshold,
reset_mechanism="zero", reset_delay=False)``, stepped in a Python loop. snnTorch's importer assumes
dt = 1e-4 and builds other dynamics (see tests/test_bridge.py); it is timed only.

    python benchmarks/bench_snntorch.py [--batch 32] [--steps 500] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time

import nir
import nirverse
import numpy as np
import torch
from nirverse import Semantics
from torch import nn

N_IN, N_HID, N_OUT = 100, 256, 10


def make_graph(seed: int = 0) -> nir.NIRGraph:
    rng = np.random.default_rng(seed)

    def lif(n):
        return nir.LIF(
            tau=rng.uniform(5e-3, 40e-3, n),
            r=np.ones(n),
            v_leak=np.zeros(n),
            v_threshold=np.ones(n),
            v_reset=np.zeros(n),
        )

    return nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([N_IN])),
            "fc1": nir.Affine(weight=rng.normal(0, 3.0, (N_HID, N_IN)), bias=rng.normal(0.5, 0.5, N_HID)),
            "lif1": lif(N_HID),
            "fc2": nir.Affine(weight=rng.normal(0, 2.0, (N_OUT, N_HID)), bias=np.zeros(N_OUT)),
            "lif2": lif(N_OUT),
            "output": nir.Output(np.array([N_OUT])),
        },
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")],
    )


class HandWritten(nn.Module):
    """The same network as an snnTorch user writes it (input scaling folded into the weights)."""

    def __init__(self, graph: nir.NIRGraph, sem: Semantics) -> None:
        super().__init__()
        import snntorch as snn

        self.fc, self.lif = nn.ModuleList(), nn.ModuleList()
        for fc, lif in (("fc1", "lif1"), ("fc2", "lif2")):
            a, n = graph.nodes[fc], graph.nodes[lif]
            kappa = sem.kappa(n.tau)
            linear = nn.Linear(a.weight.shape[1], a.weight.shape[0])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(a.weight * (kappa * n.r)[:, None]))
                linear.bias.copy_(torch.from_numpy(a.bias * kappa * n.r))
            self.fc.append(linear)
            self.lif.append(
                snn.Leaky(
                    beta=torch.from_numpy(1 - kappa).float(),
                    threshold=torch.from_numpy(n.v_threshold).float(),
                    reset_mechanism="zero",
                    reset_delay=False,
                )
            )

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (time, batch, N_IN)
        mem1 = torch.zeros(x.shape[1], N_HID)
        mem2 = torch.zeros(x.shape[1], N_OUT)
        out = []
        for t in range(x.shape[0]):
            spk1, mem1 = self.lif[0](self.fc[0](x[t]), mem1)
            spk2, mem2 = self.lif[1](self.fc[1](spk1), mem2)
            out.append(spk2)
        return torch.stack(out)


def importer_runner(graph: nir.NIRGraph):
    from snntorch.import_nir import import_from_nir

    with contextlib.redirect_stdout(io.StringIO()):
        model = import_from_nir(graph)

    @torch.no_grad()
    def run(x: torch.Tensor) -> torch.Tensor:
        from snntorch import utils

        utils.reset(model)
        state, out = None, []
        for t in range(x.shape[0]):
            y, state = model(x[t], state)
            out.append(y)
        return torch.stack(out)

    return run


def best_of(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    import snntorch
    from nirverse_snntorch import from_nir

    sem = Semantics(1e-3)
    graph = make_graph()
    x = (np.random.default_rng(1).uniform(0, 1, (args.batch, args.steps, N_IN)) < 0.1).astype(np.float32)
    x_tm = torch.from_numpy(np.ascontiguousarray(x.swapaxes(0, 1)))

    plugin = from_nir(graph, sem, dtype="float32")
    hand = HandWritten(graph, sem)
    imported = importer_runner(graph)

    ref = nirverse.run(graph, x, sem).outputs["output"]
    with torch.no_grad():
        ours = plugin(torch.from_numpy(x))["output"].numpy()
    mine = hand(x_tm).numpy().swapaxes(0, 1)
    print(
        f"snntorch {snntorch.__version__}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"batch {args.batch}, steps {args.steps}, network {N_IN}-{N_HID}-{N_OUT}"
    )
    print(
        f"spikes: reference {int(ref.sum())}, plugin {int(ours.sum())} "
        f"(mismatches {int(((ours != 0) != (ref != 0)).sum())}), hand-written {int(mine.sum())} "
        f"(mismatches {int(((mine != 0) != (ref != 0)).sum())})"
    )

    @torch.no_grad()
    def run_plugin():
        return plugin(torch.from_numpy(x))

    t_plugin = best_of(run_plugin, args.repeats)
    t_hand = best_of(lambda: hand(x_tm), args.repeats)
    t_import = best_of(lambda: imported(x_tm), args.repeats)
    for label, t in (
        ("plugin (nirverse_snntorch.from_nir)", t_plugin),
        ("hand-written snnTorch", t_hand),
        ("snnTorch import_from_nir", t_import),
    ):
        print(
            f"{label:38s} {t * 1e3:9.1f} ms   {args.steps / t:10.0f} steps/s   ratio to hand-written {t / t_hand:5.2f}x"
        )


if __name__ == "__main__":
    main()
