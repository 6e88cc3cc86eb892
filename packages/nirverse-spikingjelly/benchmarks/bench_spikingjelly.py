"""Time per run: the nirverse-built SpikingJelly model vs a hand-written multi-step SpikingJelly model of the
same network vs SpikingJelly's own NIR importer (``nir_exchange.import_from_nir``), in one process.

Network: Input(64) → Affine(128) → LIF(128) → Affine(10) → LIF(10) → Output with one time constant,
threshold and reset per layer, r = 1 and v_leak = v_reset = 0: the form SpikingJelly's ``LIFNode`` (and its
importer) computes natively. Every model runs in multi-step mode (``step_mode="m"``) on SpikingJelly's
torch backend. Run: ``python benchmarks/bench_spikingjelly.py [--batch 16] [--steps 300] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import logging
import time

import nir
import numpy as np
import torch

DT = 1e-3


def network(rng: np.random.Generator) -> nir.NIRGraph:
    def lif(n, tau, threshold):
        return nir.LIF(tau=np.full(n, tau), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.full(n, threshold),
                       v_reset=np.zeros(n))

    return nir.NIRGraph(
        nodes={"input": nir.Input(np.array([64])),
               "fc1": nir.Affine(weight=rng.normal(0.05, 0.2, (128, 64)), bias=rng.uniform(0, 0.3, 128)),
               "lif1": lif(128, 0.01, 1.0),
               "fc2": nir.Affine(weight=rng.normal(0.3, 0.3, (10, 128)), bias=np.zeros(10)),
               "lif2": lif(10, 0.02, 0.9), "output": nir.Output(np.array([10]))},
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")],
        type_check=False,
    )


def hand_written(graph: nir.NIRGraph, dtype: torch.dtype):
    """What a SpikingJelly user writes: Sequential of layer.Linear and LIFNode, all with step_mode='m'."""
    from spikingjelly.activation_based import functional, layer, neuron

    layers = []
    for name in ("fc1", "lif1", "fc2", "lif2"):
        node = graph.nodes[name]
        if isinstance(node, nir.Affine):
            fc = layer.Linear(node.weight.shape[1], node.weight.shape[0], step_mode="m").to(dtype)
            with torch.no_grad():
                fc.weight.copy_(torch.as_tensor(node.weight))
                fc.bias.copy_(torch.as_tensor(node.bias))
            layers.append(fc)
        else:
            layers.append(neuron.LIFNode(tau=float(node.tau[0] / DT), v_threshold=float(node.v_threshold[0]),
                                         v_reset=float(node.v_reset[0]), step_mode="m"))
    model = torch.nn.Sequential(*layers)

    def run(x):  # (time, batch, 64)
        functional.reset_net(model)
        return model(x)

    return run


def sj_importer(graph: nir.NIRGraph, dtype: torch.dtype):
    from spikingjelly.activation_based.nir_exchange import import_from_nir

    model = import_from_nir(graph, dt=DT, dtype=dtype, step_mode="m")

    def run(x):
        y = model(x)
        return y[0] if isinstance(y, tuple) else y

    return run


def plugin(graph: nir.NIRGraph, dtype: str):
    import nirverse
    import nirverse_spikingjelly

    model = nirverse_spikingjelly.from_nir(graph, nirverse.Semantics(DT), dtype=dtype)
    return lambda x: model({"input": x})[0]["output"]


def best_time(fn, x, repeat: int) -> tuple[float, torch.Tensor]:
    best, out = float("inf"), None
    with torch.no_grad():
        fn(x[:5])  # warm-up
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
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("spikingjelly").setLevel(logging.WARNING)
    rng = np.random.default_rng(0)
    graph = network(rng)
    x64 = torch.as_tensor(rng.uniform(0, 1, (args.steps, args.batch, 64)) < 0.3, dtype=torch.float64)
    import spikingjelly

    print(f"spikingjelly {getattr(spikingjelly, '__version__', '2.0.0')} torch {torch.__version__} threads "
          f"{torch.get_num_threads()}; batch {args.batch}, {args.steps} steps, best of {args.repeat}")
    print(f"{'dtype':8s} {'model':28s} {'steps/s':>10s} {'time/hand':>10s}")
    for dtype_name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
        x = x64.to(dtype)
        t_hand, y_hand = best_time(hand_written(graph, dtype), x, args.repeat)
        rows = [("hand-written SpikingJelly", t_hand, f"{int(y_hand.sum())} output spikes")]
        t_plug, y_plug = best_time(plugin(graph, dtype_name), x, args.repeat)
        rows.append(("nirverse from_nir", t_plug, f"raster mismatches vs hand-written: {int((y_hand != y_plug).sum())}"))
        t_imp, y_imp = best_time(sj_importer(graph, dtype), x, args.repeat)
        rows.append(("nir_exchange.import_from_nir", t_imp, f"raster mismatches vs hand-written: {int((y_hand != y_imp).sum())}"))
        for label, t, note in rows:
            print(f"{dtype_name:8s} {label:28s} {args.steps / t:10.0f} {t / t_hand:10.3f}  {note}")


if __name__ == "__main__":
    main()
