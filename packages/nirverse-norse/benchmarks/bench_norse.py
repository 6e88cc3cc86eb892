"""Steps per second: the nirverse-built Norse model vs a hand-written Norse model of the same network vs
Norse's own NIR importer (``norse.torch.from_nir``), in one process.

Network: Input(64) → Affine(128) → LIF(128) → Affine(10) → LIF(10) → Output, per-neuron parameters,
r = 1 and v_reset = 0 so that Norse's own importer computes the same dynamics (it ignores both).
Run: ``python benchmarks/bench_norse.py [--batch 16] [--steps 300] [--repeat 3] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import warnings

import nir
import numpy as np
import torch


def network(rng: np.random.Generator) -> nir.NIRGraph:
    def lif(n):
        return nir.LIF(tau=rng.uniform(5e-3, 40e-3, n), r=np.ones(n), v_leak=np.zeros(n),
                       v_threshold=rng.uniform(0.8, 1.2, n), v_reset=np.zeros(n))

    return nir.NIRGraph(
        nodes={"input": nir.Input(np.array([64])),
               "fc1": nir.Affine(weight=rng.normal(0.05, 0.2, (128, 64)), bias=rng.uniform(0, 0.3, 128)),
               "lif1": lif(128),
               "fc2": nir.Affine(weight=rng.normal(0.3, 0.3, (10, 128)), bias=np.zeros(10)),
               "lif2": lif(10), "output": nir.Output(np.array([10]))},
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")],
        type_check=False,
    )


def hand_written(graph: nir.NIRGraph, dt: float, dtype: torch.dtype):
    """What a Norse user writes: SequentialState of Linear and LIFBoxCell, stepped through time."""
    import norse.torch as snn

    layers = []
    for name in ("fc1", "lif1", "fc2", "lif2"):
        node = graph.nodes[name]
        d = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype)  # noqa: E731
        if isinstance(node, nir.Affine):
            layer = torch.nn.Linear(node.weight.shape[1], node.weight.shape[0], dtype=dtype)
            with torch.no_grad():
                layer.weight.copy_(d(node.weight))
                layer.bias.copy_(d(node.bias))
        else:
            layer = snn.LIFBoxCell(snn.LIFBoxParameters(tau_mem_inv=1 / d(node.tau), v_leak=d(node.v_leak),
                                                        v_th=d(node.v_threshold), v_reset=d(node.v_reset)), dt=dt)
        layers.append(layer)
    model = snn.SequentialState(*layers)

    def run(x):  # (time, batch, 64)
        state, out = None, []
        for t in range(x.shape[0]):
            y, state = model(x[t], state)
            out.append(y)
        return torch.stack(out)

    return run


def norse_importer(graph: nir.NIRGraph, dt: float):
    import norse.torch as snn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = snn.from_nir(graph, dt=dt)

    def run(x):
        state, out = None, []
        for t in range(x.shape[0]):
            y, state = model(x[t], state)
            out.append(y)
        return torch.stack(out)

    return run


def plugin(graph: nir.NIRGraph, dt: float, dtype: str):
    import nirverse
    import nirverse_norse

    model = nirverse_norse.from_nir(graph, nirverse.Semantics(dt), dtype=dtype)
    return lambda x: model({"input": x})[0]["output"]


def best_time(fn, x, repeat: int) -> tuple[float, torch.Tensor]:
    from nirverse.testing.bench import time_calls

    out = []
    with torch.no_grad():
        fn(x[:5])  # warm-up
        _, best = time_calls(lambda: out.append(fn(x)), repeat)
    return best, out[-1]


def _linear(node, dtype, gain=None):
    """torch.nn.Linear holding a NIR Affine/Linear's W (and b), times the next neuron's r where given."""
    w = np.asarray(node.weight, np.float64) * (1.0 if gain is None else np.asarray(gain)[:, None])
    b = getattr(node, "bias", None)
    layer = torch.nn.Linear(w.shape[1], w.shape[0], bias=b is not None, dtype=dtype)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(w, dtype=dtype))
        if b is not None:
            layer.bias.copy_(torch.as_tensor(np.asarray(b) * (1.0 if gain is None else gain), dtype=dtype))
    return layer


def _lif_box(node, dt, dtype):
    import norse.torch as snn

    d = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype)  # noqa: E731
    return snn.LIFBoxCell(snn.LIFBoxParameters(tau_mem_inv=1 / d(node.tau), v_leak=d(node.v_leak),
                                               v_th=d(node.v_threshold), v_reset=d(node.v_reset)), dt=dt)


def native(network: str, graph: nir.NIRGraph, semantics, x: np.ndarray):
    """Hand-written Norse models of the suite's networks (``nirverse.testing.bench``), r folded into the
    weights as a Norse user would: a zero-argument run, or None for a network without one here."""
    import norse.torch as snn

    dt, n, dtype = semantics.dt, graph.nodes, torch.float64
    xt = torch.as_tensor(np.swapaxes(x, 0, 1), dtype=dtype)  # (time, batch, ...)
    if network == "feedforward":
        model = snn.SequentialState(*[layer for k in range(3) for layer in (
            _linear(n[f"fc{k}"], dtype, n[f"lif{k}"].r), _lif_box(n[f"lif{k}"], dt, dtype))])
        return lambda: _stepped(lambda xs, s: model(xs, s), xt)
    if network == "recurrent-lif":
        fc, rec, out = _linear(n["fc"], dtype, n["lif"].r), _linear(n["rec"], dtype, n["lif"].r), _linear(n["out"], dtype)
        lif = _lif_box(n["lif"], dt, dtype)
        li = snn.LIBoxCell(snn.LIBoxParameters(tau_mem_inv=torch.as_tensor(1 / n["li"].tau, dtype=dtype),
                                               v_leak=torch.as_tensor(n["li"].v_leak, dtype=dtype)), dt=dt)

        def step(xs, state):
            z, s_lif, s_li = state if state else (torch.zeros(xs.shape[0], rec.in_features, dtype=dtype), None, None)
            z, s_lif = lif(fc(xs) + rec(z), s_lif)  # the recurrent edge delivers the previous step's spikes
            y, s_li = li(out(z), s_li)
            return y, (z, s_lif, s_li)

        return lambda: _stepped(step, xt)
    return None


def _stepped(step, xt):
    state, out = None, []
    with torch.no_grad():
        for t in range(xt.shape[0]):
            y, state = step(xt[t], state)
            out.append(y)
    return torch.stack(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (1: per-step ops this small only pay for thread sync)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dt = 1e-3
    rng = np.random.default_rng(0)
    graph = network(rng)
    x64 = torch.as_tensor(rng.uniform(0, 1, (args.steps, args.batch, 64)) < 0.3, dtype=torch.float64)
    import norse

    print(f"norse {norse.__version__ if hasattr(norse, '__version__') else ''} torch {torch.__version__} "
          f"threads {torch.get_num_threads()}; batch {args.batch}, {args.steps} steps, best of {args.repeat}")
    rows = []
    for dtype_name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
        x = x64.to(dtype)
        t_hand, y_hand = best_time(hand_written(graph, dt, dtype), x, args.repeat)
        t_plug, y_plug = best_time(plugin(graph, dt, dtype_name), x, args.repeat)
        same = int(torch.count_nonzero(y_hand != y_plug))
        rows.append((dtype_name, "hand-written Norse", t_hand, 1.0, ""))
        rows.append((dtype_name, "nirverse from_nir", t_plug, t_plug / t_hand, f"raster mismatches vs hand-written: {same}"))
        if dtype == torch.float32:  # Norse's importer builds float32 parameters only
            t_imp, y_imp = best_time(norse_importer(graph, dt), x, args.repeat)
            same = int(torch.count_nonzero(y_imp != y_plug))
            rows.append((dtype_name, "norse.torch.from_nir", t_imp, t_imp / t_hand, f"raster mismatches vs nirverse: {same}"))
    print(f"{'dtype':8s} {'model':22s} {'steps/s':>10s} {'time/hand':>10s}")
    for dtype_name, label, t, ratio, note in rows:
        print(f"{dtype_name:8s} {label:22s} {args.steps / t:10.0f} {ratio:10.3f}  {note}")


if __name__ == "__main__":
    main()
