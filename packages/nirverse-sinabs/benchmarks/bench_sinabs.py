"""Time per run: the nirverse-built Sinabs model vs a hand-written Sinabs model of the same network vs
Sinabs' own NIR importer (``sinabs.nir.from_nir``), in one process.

Network: Input(64) → Affine(128) → LIF(128) → Affine(10) → LIF(10) → Output, per-neuron time constants,
r = 1, v_leak = 0, subtractive reset, ``method="exp"``: exactly Sinabs' own ``LIF`` with ``tau_mem`` in
steps (τ/Δt), ``norm_input=True``, ``SingleSpike``, ``MembraneSubtract``, so the hand-written model is
what a Sinabs user writes for this graph. float32 only: Sinabs' spike functions return float32, so a
``.double()`` hand-written Sinabs network fails at its second Linear layer. Sinabs' importer reads τ in
steps and uses ``MultiSpike`` and ``norm_input=False``; it is timed on the same graph, its raster differs.
Run: ``python benchmarks/bench_sinabs.py [--batch 16] [--steps 300] [--repeat 3] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import nir
import numpy as np
import torch


def network(rng: np.random.Generator, dt: float) -> nir.NIRGraph:
    def lif(n):
        return nir.LIF(tau=rng.uniform(5, 40, n) * dt, r=np.ones(n), v_leak=np.zeros(n),
                       v_threshold=rng.uniform(0.8, 1.2, n), v_reset=np.zeros(n))

    return nir.NIRGraph(
        nodes={"input": nir.Input(np.array([64])),
               "fc1": nir.Affine(weight=rng.normal(0.05, 0.1, (128, 64)), bias=rng.uniform(0, 0.3, 128)),
               "lif1": lif(128),
               "fc2": nir.Affine(weight=rng.normal(0.5, 0.5, (10, 128)), bias=np.zeros(10)),
               "lif2": lif(10), "output": nir.Output(np.array([10]))},
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")],
        type_check=False,
    )


def hand_written(graph: nir.NIRGraph, dt: float):
    """What a Sinabs user writes: Sequential(Linear, LIF, Linear, LIF) on (batch, time, features)."""
    import sinabs.layers as sl
    from sinabs.activation import MembraneSubtract, SingleSpike

    layers = []
    for name in ("fc1", "lif1", "fc2", "lif2"):
        node = graph.nodes[name]
        f32 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
        if isinstance(node, nir.Affine):
            layer = torch.nn.Linear(node.weight.shape[1], node.weight.shape[0])
            with torch.no_grad():
                layer.weight.copy_(f32(node.weight))
                layer.bias.copy_(f32(node.bias))
        else:
            layer = sl.LIF(tau_mem=f32(node.tau / dt), spike_threshold=f32(node.v_threshold), spike_fn=SingleSpike,
                           reset_fn=MembraneSubtract(), norm_input=True)
        layers.append(layer)
    model = torch.nn.Sequential(*layers)

    def run(x):
        for layer in model:
            if isinstance(layer, sl.StatefulLayer):
                layer.reset_states()
        return model(x)

    return run


def sinabs_importer(graph: nir.NIRGraph, batch: int):
    import sinabs.nir as snir

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = snir.from_nir(graph, batch_size=batch)

    def run(x):
        for mod in model.modules():
            if hasattr(mod, "reset_states"):
                mod.reset_states()
        out = model(x.flatten(0, 1))[0]
        return out.reshape(*x.shape[:2], -1)

    return run


def plugin(graph: nir.NIRGraph, dt: float):
    import nirverse
    import nirverse_sinabs

    model = nirverse_sinabs.from_nir(graph, nirverse.Semantics(dt, "exp", "subtract"), dtype="float32")
    return lambda x: model({"input": x})[0]["output"]


def best_time(fn, x, repeat: int) -> tuple[float, torch.Tensor]:
    best, out = float("inf"), None
    with torch.no_grad():
        fn(x[:, :5])  # warm-up
        for _ in range(repeat):
            start = time.perf_counter()
            out = fn(x)
            best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (1: per-step ops this small only pay for thread sync)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import sinabs

    dt = 1e-3
    rng = np.random.default_rng(0)
    graph = network(rng, dt)
    x = torch.as_tensor(rng.uniform(0, 1, (args.batch, args.steps, 64)) < 0.3, dtype=torch.float32)
    print(f"sinabs {sinabs.__version__} torch {torch.__version__} threads {torch.get_num_threads()}; "
          f"batch {args.batch}, {args.steps} steps, float32, best of {args.repeat}")
    t_hand, y_hand = best_time(hand_written(graph, dt), x, args.repeat)
    t_plug, y_plug = best_time(plugin(graph, dt), x, args.repeat)
    t_imp, y_imp = best_time(sinabs_importer(graph, args.batch), x, args.repeat)
    spikes = int(torch.count_nonzero(y_plug))
    rows = [("hand-written Sinabs", t_hand, ""),
            ("nirverse from_nir", t_plug, f"raster mismatches vs hand-written: {int(torch.count_nonzero((y_hand != 0) != (y_plug != 0)))} ({spikes} spikes)"),
            ("sinabs.nir.from_nir", t_imp, f"raster mismatches vs nirverse: {int(torch.count_nonzero((y_imp != 0) != (y_plug != 0)))}")]
    print(f"{'model':22s} {'steps/s':>10s} {'time/hand':>10s}")
    for label, t, note in rows:
        print(f"{label:22s} {args.steps / t:10.0f} {t / t_hand:10.3f}  {note}")


if __name__ == "__main__":
    main()
