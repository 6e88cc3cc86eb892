"""Benchmark (a script, not a test): the plugin's Rockpool model vs a hand-written Rockpool model of the same
network vs Rockpool's own NIR importer, in one process. Prints time steps per second and ratios.

    python benchmarks/bench_rockpool.py [--batch 16] [--steps 300] [--repeat 5] [--dtype float32]

Networks: (a) feed-forward Linear(64->128) -> CubaLIF(128) -> Linear(128->10) -> CubaLIF(10), method "exp",
reset "subtract"; (b) the NIR paper's Braille RNN (12 -> 40 recurrent CubaLIF -> 7, subtractive reset, euler).
The hand-written model is what a Rockpool user writes: ``Sequential(LinearTorch, LIFTorch, ...)`` with the
plugin's gains folded into the weights; it uses the same strict unit spike function so that all three
compute the same network. Every model runs under ``torch.no_grad()``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import OrderedDict

import nir
import nirverse
import nirverse_rockpool as nr
import numpy as np
import torch
from nirverse import Semantics
from nirverse.testing.catalogue import data_dir
from nirverse_rockpool._nodes import TORCH_DTYPES, ScaleTorch, default_dtype


def feedforward_graph(seed: int = 0) -> nir.NIRGraph:
    rng = np.random.default_rng(seed)

    def cuba(n):
        return nir.CubaLIF(tau_syn=rng.uniform(3e-3, 8e-3, n), tau_mem=rng.uniform(1e-2, 3e-2, n),
                           r=rng.uniform(10, 30, n), v_leak=np.zeros(n), v_threshold=np.ones(n),
                           w_in=rng.uniform(3, 8, n))

    return nir.NIRGraph(
        nodes={"input": nir.Input(np.array([64])), "fc1": nir.Linear(rng.normal(0.05, 0.1, (128, 64))),
               "lif1": cuba(128), "fc2": nir.Linear(rng.normal(0.05, 0.1, (10, 128))), "lif2": cuba(10),
               "output": nir.Output(np.array([10]))},
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")],
        type_check=False)


def hand_written(model, dtype):
    """The same network written directly with Rockpool modules: gains folded into the LinearTorch weights."""
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch

    layers = OrderedDict()
    pending = None  # a LinearTorch waiting for the gain of the neuron after it
    loop_weights = {weights for _, weights in model._recurrent.values()}  # inside LIFTorch(has_rec=True)
    for name in model.plan.order:
        mods = model.node_modules(name)
        if not mods or name in loop_weights:
            continue
        if isinstance(mods[0], LinearTorch):
            pending = mods[0]
            continue
        gain = mods[0].scale.detach() if isinstance(mods[0], ScaleTorch) else None
        lif = mods[-1]
        weight = pending.weight.detach() * (gain if gain is not None else 1.0)
        lin = LinearTorch(tuple(weight.shape), weight=weight.float(), has_bias=False).to(dtype)
        lin.weight = weight
        layers[f"{name}_w"] = lin
        new = LIFTorch(lif.shape, tau_mem=lif.tau_mem.detach().float(), tau_syn=lif.tau_syn.detach().float(),
                       threshold=lif.threshold.detach().float(), bias=lif.bias.detach().float(), dt=lif.dt,
                       has_rec=bool(lif._has_rec), w_rec=lif.w_rec.detach().float() if lif._has_rec else None,
                       spike_generation_fn=nr.StrictStep, max_spikes_per_dt=torch.tensor(1.0)).to(dtype)
        for key in ("tau_mem", "tau_syn", "threshold", "bias") + (("w_rec",) if lif._has_rec else ()):
            setattr(new, key, getattr(lif, key).detach().clone())
        layers[name] = new
    return Sequential(layers)


def rockpool_importer(graph):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from rockpool.nn.modules import from_nir

        try:
            return from_nir(graph)
        except Exception as exc:  # Rockpool's own bridge; report, do not hide
            return f"{type(exc).__name__}: {exc}"


def timed(fn, repeat: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench(label: str, graph, semantics: Semantics, batch: int, steps: int, repeat: int, dtype: str) -> None:
    torch_dtype = TORCH_DTYPES[dtype]
    plan = nirverse.prepare(graph, semantics)
    n_in = int(np.prod(plan.out_shapes[plan.inputs[0]]))
    rng = np.random.default_rng(1)
    x = torch.as_tensor((rng.random((batch, steps, n_in)) < 0.1).astype(np.float64), dtype=torch_dtype)
    model = nr.from_nir(graph, semantics, dtype=dtype)
    hand = hand_written(model, torch_dtype)

    def run_plugin():
        with torch.no_grad():
            return model(x)[0]

    def run_hand():
        with torch.no_grad(), default_dtype(torch_dtype):
            hand.reset_state()
            return hand(x)[0]

    agree = bool(torch.equal(run_plugin(), run_hand()))
    t_plugin, t_hand = float("inf"), float("inf")
    for _ in range(repeat):  # interleaved, best of each, so a load change hits both
        t_plugin = min(t_plugin, timed(run_plugin, 1))
        t_hand = min(t_hand, timed(run_hand, 1))
    imported = rockpool_importer(graph)
    if isinstance(imported, str):
        t_import, import_note = None, imported.splitlines()[0][:80]
    else:
        x32 = x.float()

        def run_import():
            with torch.no_grad():
                return imported(x32)

        t_import, import_note = timed(run_import, repeat), "float32 (its only dtype), its own dynamics"
    print(f"\n{label}  batch={batch} steps={steps} dtype={dtype}  (rasters plugin == hand-written: {agree})")
    print(f"  plugin (nirverse_rockpool.from_nir)  {steps / t_plugin:10.1f} steps/s  {t_plugin * 1e3:8.1f} ms")
    print(f"  hand-written Rockpool Sequential     {steps / t_hand:10.1f} steps/s  {t_hand * 1e3:8.1f} ms")
    if t_import is not None:
        print(f"  Rockpool's own from_nir              {steps / t_import:10.1f} steps/s  {t_import * 1e3:8.1f} ms  [{import_note}]")
    else:
        print(f"  Rockpool's own from_nir              failed: {import_note}")
    print(f"  ratio plugin / hand-written time: {t_plugin / t_hand:.3f}"
          + (f";  plugin / Rockpool importer: {t_plugin / t_import:.3f}" if t_import else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    bench("feed-forward CubaLIF 64-128-10", feedforward_graph(), Semantics(1e-3, method="exp", reset="subtract"),
          args.batch, args.steps, args.repeat, args.dtype)
    braille = nir.read(str(data_dir() / "nir-paper" / "braille_noDelay_noBias_subtract.nir"))
    bench("Braille RNN (NIR paper)", braille, Semantics(1e-4, method="euler", reset="subtract"),
          args.batch, args.steps, args.repeat, args.dtype)


if __name__ == "__main__":
    main()
