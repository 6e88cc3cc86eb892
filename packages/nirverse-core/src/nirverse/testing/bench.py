"""The benchmark suite: every (backend, network, size) in a fresh process, one timing harness for all.

Each measurement runs ``python -m nirverse.testing.bench --child BACKEND NETWORK SIZE`` in a new
interpreter and reports, as one JSON line: build time (``Backend.build``), first run (jit, code
generation), warm run (best of ``repeats``), steps/s (batch x steps / warm), and the child's peak
resident memory (:func:`peak_rss_mb`). The parent adds the ratios to the reference (warm, and end to end =
build + first run) and writes everything to ``results/bench.json``. ``--in-process`` also measures each
backend after every other backend ran in the same process, against the same backend alone.

A plugin whose ``benchmarks/bench_<fw>.py`` defines ``native(network, graph, semantics, x)`` (a
hand-written model in the framework itself, built, as a zero-argument run; None where it has none) gets
that model measured the same way in its own process, and the ratio plugin / hand-written. Those scripts
time with :func:`time_calls` too (one timing loop, not one per plugin).

    python -m nirverse.testing.bench [--quick] [--backends reference,norse] [--out results/bench.json]

Figures taken on a loaded machine are not figures: run it on a quiet one (and ``taskset`` for stability).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nir
import numpy as np

__all__ = ["NETWORKS", "Network", "time_calls", "measure", "run_suite"]


def time_calls(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """(first call seconds, best of ``repeats`` further calls) of ``fn()``."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return first, best


@dataclass(frozen=True)
class Network:
    """A benchmark network: ``make(size, quick) -> (graph, inputs (batch, time, ...), semantics)``."""

    name: str
    sizes: tuple[int, ...]
    quick_sizes: tuple[int, ...]
    make: Callable[[int, bool], tuple[nir.NIRGraph, np.ndarray, Any]]


def _lif(shape, rng, tau=(5e-3, 2e-2), r=20.0):
    return nir.LIF(tau=rng.uniform(*tau, shape), r=np.full(shape, r), v_leak=np.zeros(shape),
                   v_threshold=np.ones(shape), v_reset=np.zeros(shape))


def _paper(file: str, shape: tuple[int, ...], steps: int, rate: float, semantics: dict):
    from ..semantics import Semantics
    from .catalogue import PAPER, data_dir

    def make(size: int, quick: bool):
        rng = np.random.default_rng(0)
        x = (rng.random((size, steps // (5 if quick else 1), *shape)) < rate).astype(float)
        return nir.read(str(data_dir() / PAPER / file)), x, Semantics(**semantics)

    return make


def recurrent_lif(n: int, quick: bool):
    """Input(64) -> Affine -> LIF(n) <-> Linear(n x n, dense) ; LIF -> Linear -> LI(10); 1000 steps, batch 4."""
    from ..semantics import Semantics

    rng = np.random.default_rng(n)
    nodes = {"input": nir.Input(np.array([64])), "fc": nir.Affine(rng.normal(0, 1 / 8, (n, 64)), rng.normal(0, 0.1, n)),
             "lif": _lif(n, rng), "rec": nir.Linear(rng.normal(0, 1 / np.sqrt(n), (n, n))),
             "out": nir.Linear(rng.normal(0, 1 / np.sqrt(n), (10, n))),
             "li": nir.LI(tau=np.full(10, 1e-2), r=np.ones(10), v_leak=np.zeros(10)), "output": nir.Output(np.array([10]))}
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out"), ("out", "li"), ("li", "output")]
    x = (rng.random((4, 100 if quick else 1000, 64)) < 0.05).astype(float)
    return nir.NIRGraph(nodes=nodes, edges=edges), x, Semantics(1e-3)


def feedforward(size: int, quick: bool):
    """784 -> 1000 -> 1000 -> 10 LIF (Affine + LIF per layer), 300 steps, batch 32."""
    from ..semantics import Semantics

    rng = np.random.default_rng(1)
    widths, nodes, edges, prev = [784, 1000, 1000, 10], {"input": nir.Input(np.array([784]))}, [], "input"
    for k, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        nodes[f"fc{k}"] = nir.Affine(rng.normal(0, 2 / np.sqrt(a), (b, a)), np.zeros(b))
        nodes[f"lif{k}"] = _lif(b, rng)
        edges += [(prev, f"fc{k}"), (f"fc{k}", f"lif{k}")]
        prev = f"lif{k}"
    nodes["output"] = nir.Output(np.array([10]))
    x = (rng.random((4 if quick else 32, 30 if quick else 300, 784)) < 0.05).astype(float)
    return nir.NIRGraph(nodes=nodes, edges=[*edges, (prev, "output")]), x, Semantics(1e-3)


def conv_events(size: int, quick: bool):
    """2x34x34 events -> Conv2d(8, 3x3, stride 2) -> LIF -> Conv2d(16, 3x3, stride 2) -> LIF -> Flatten -> Affine -> LIF(10)."""
    from ..semantics import Semantics

    rng = np.random.default_rng(2)
    conv = lambda c_in, c_out, hw: nir.Conv2d(input_shape=(hw, hw), weight=rng.normal(0.1, 0.4, (c_out, c_in, 3, 3)),  # noqa: E731
                                              stride=2, padding=1, dilation=1, groups=1, bias=np.zeros(c_out))
    nodes = {"input": nir.Input(np.array([2, 34, 34])), "conv1": conv(2, 8, 34), "lif1": _lif((8, 17, 17), rng),
             "conv2": conv(8, 16, 17), "lif2": _lif((16, 9, 9), rng),
             "flat": nir.Flatten(input_type={"input": np.array([16, 9, 9])}, start_dim=0, end_dim=-1),
             "fc": nir.Affine(rng.normal(0, 0.05, (10, 16 * 81)), np.zeros(10)), "lif3": _lif(10, rng),
             "output": nir.Output(np.array([10]))}
    chain = list(nodes)
    x = (rng.random((4, 20 if quick else 100, 2, 34, 34)) < 0.05).astype(float)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(chain[:-1], chain[1:])), type_check=False), x, Semantics(1e-3, reset="subtract")


NETWORKS = {
    "braille": Network("braille", (4,), (4,), _paper("braille_noDelay_bias_zero.nir", (12,), 300, 0.15, {"dt": 1e-4})),
    "cnn": Network("cnn", (1,), (1,), _paper("cnn_sinabs.nir", (2, 34, 34), 50, 0.05, {"dt": 1.0, "reset": "subtract"})),
    "recurrent-lif": Network("recurrent-lif", (256, 2048, 8192), (256, 2048), recurrent_lif),
    "feedforward": Network("feedforward", (784,), (784,), feedforward),
    "conv-events": Network("conv-events", (34,), (34,), conv_events),
}


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM of its own address space where Linux reports it
    (ru_maxrss also counts the parent's pages when it was started by vfork + exec), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def _prepared(backend: str, network: str, size: int, quick: bool):
    """(backend object, built-model factory, inputs, work = batch x steps) for one measurement."""
    from ..api import normalize_inputs, prepare
    from ..backends import get_backend

    graph, x, sem = NETWORKS[network].make(size, quick)
    plan = prepare(graph, sem)
    impl = get_backend(backend)
    impl.check_support(plan, sem, "float64")
    return impl, plan, normalize_inputs(plan, {"input": x}), x.shape[0] * x.shape[1]


def dense_products_s(plan, batch: int, steps: int, repeats: int) -> float:
    """Best time numpy's BLAS needs for the graph's dense products alone: per step for the Affine/Linear
    nodes of a cycle ((batch, in) @ (in, out), ``steps`` times), one product over all steps otherwise."""
    rng = np.random.default_rng(0)
    work = []
    for group in plan.groups:
        for n in group:
            if plan.types[n] in ("Affine", "Linear"):
                w = np.ascontiguousarray(plan.params[n]["weight"].T)
                rows = batch if plan.is_cyclic(group) else batch * steps
                work.append((plan.is_cyclic(group), (rng.random((rows, w.shape[0])) < 0.1).astype(float), w))

    def products():
        for cyclic, x, w in work:
            for _ in range(steps if cyclic else 1):
                x @ w

    return time_calls(products, repeats)[1]


def measure(backend: str, network: str, size: int, quick: bool, repeats: int, others: tuple[str, ...] = ()) -> dict:
    """One row: build, first and warm run seconds, steps/s, peak memory. ``others`` run first, in this process."""
    from ..errors import NirverseError

    row: dict[str, Any] = {"backend": backend, "network": network, "size": size}
    try:
        for other in others:  # the in-process check: every other backend runs here first (twice)
            try:
                o_impl, o_plan, o_data, _ = _prepared(other, network, size, quick)
                o_model = o_impl.build(o_plan, "float64")
                for _ in range(2):
                    o_impl.run(o_model, o_data, False)
            except NirverseError:
                continue
        impl, plan, data, work = _prepared(backend, network, size, quick)
        start = time.perf_counter()
        model = impl.build(plan, "float64")
        row["build_s"] = time.perf_counter() - start
        row["first_s"], row["warm_s"] = time_calls(lambda: impl.run(model, data, False), repeats)
        row["steps_per_s"] = work / row["warm_s"]
        if backend == "reference":  # what the dense products alone cost with numpy's BLAS
            x = next(iter(data.values()))
            row["dense_products_s"] = dense_products_s(plan, x.shape[0], x.shape[1], repeats)
    except NirverseError as exc:
        row["skipped"] = f"{type(exc).__name__}: {exc}"
    row["peak_rss_mb"] = peak_rss_mb()
    return row


def native_script(backend: str, root: Path) -> Path | None:
    """The plugin's benchmark script, when it offers hand-written models (a function ``native``)."""
    path = root / "packages" / f"nirverse-{backend}" / "benchmarks" / f"bench_{backend}.py"
    return path if path.exists() and "\ndef native(" in path.read_text() else None


def measure_native(backend: str, network: str, size: int, quick: bool, repeats: int, root: Path) -> dict:
    """One row for the plugin's hand-written model: ``native(network, graph, semantics, x)`` of its
    benchmark script builds it and returns a zero-argument run, or None where it has no such model."""
    import importlib.util

    path = native_script(backend, root)
    spec = importlib.util.spec_from_file_location(f"bench_{backend}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    graph, x, sem = NETWORKS[network].make(size, quick)
    row: dict[str, Any] = {"backend": backend, "network": network, "size": size, "variant": "native"}
    start = time.perf_counter()
    run = module.native(network, graph, sem, x)
    if run is None:
        return {**row, "skipped": "no hand-written model of this network"}
    row["build_s"] = time.perf_counter() - start
    row["first_s"], row["warm_s"] = time_calls(run, repeats)
    row["steps_per_s"] = x.shape[0] * x.shape[1] / row["warm_s"]
    row["peak_rss_mb"] = peak_rss_mb()
    return row


def _child(args: list[str], time_limit: float, flag: str = "--child") -> dict:
    """A fresh interpreter measures one row; a crash or time-out becomes a row saying so."""
    cmd = [sys.executable, "-m", "nirverse.testing.bench", flag, *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=time_limit)
    except subprocess.TimeoutExpired:
        return {"skipped": f"timed out after {time_limit:.0f} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode or not lines:
        return {"skipped": f"child failed (rc {done.returncode}): {done.stderr.strip().splitlines()[-1:]}"}
    return json.loads(lines[-1])


def _ratios(rows: list[dict], natives: list[dict]) -> None:
    """Add warm and end-to-end (build + first run) ratios to the reference of the same network and size,
    and the warm ratio to the plugin's hand-written model where one ran."""
    ref = {(r["network"], r["size"]): r for r in rows if r["backend"] == "reference" and "warm_s" in r}
    hand = {(r["backend"], r["network"], r["size"]): r for r in natives if "warm_s" in r}
    for r in rows:
        h = hand.get((r["backend"], r["network"], r["size"]))
        if h and "warm_s" in r:
            r["native_warm_s"], r["warm_vs_native"] = h["warm_s"], r["warm_s"] / h["warm_s"]
        base = ref.get((r["network"], r["size"]))
        if base and "warm_s" in r:
            r["warm_vs_reference"] = r["warm_s"] / base["warm_s"]
            r["end_to_end_vs_reference"] = (r["build_s"] + r["first_s"]) / (base["build_s"] + base["first_s"])


def run_suite(backends: list[str], networks: list[str], quick: bool, repeats: int, in_process: str | None,
              time_limit: float, root: Path = Path(".")) -> dict:
    """Every (backend, network, size) in its own process, and each plugin's hand-written model of it
    where its benchmark script (under ``root``) has one; ``in_process`` names the network of that check."""
    rows, natives = [], []
    for net in networks:
        for size in NETWORKS[net].quick_sizes if quick else NETWORKS[net].sizes:
            for b in backends:
                args = [b, net, str(size), str(int(quick)), str(repeats)]
                rows.append({"backend": b, "network": net, "size": size, **_child(args, time_limit)})
                print(_format(rows[-1]), flush=True)
                if b != "reference" and native_script(b, root):
                    natives.append({"backend": b, "network": net, "size": size, "variant": "native",
                                    **_child([*args, str(root)], time_limit, "--native-child")})
                    print(_format(natives[-1], "  hand-written"), flush=True)
    _ratios(rows, natives)
    checks = []
    if in_process:
        size = NETWORKS[in_process].quick_sizes[0]
        alone = {r["backend"]: r for r in rows if r["network"] == in_process and r["size"] == size}
        for b in backends:
            others = ",".join(o for o in backends if o != b)
            after = _child([b, in_process, str(size), str(int(quick)), str(repeats), others], time_limit)
            if "warm_s" in after and "warm_s" in alone.get(b, {}):
                checks.append({"backend": b, "network": in_process, "size": size, "alone_s": alone[b]["warm_s"],
                               "after_others_s": after["warm_s"], "ratio": after["warm_s"] / alone[b]["warm_s"]})
    return {"meta": _meta(quick, repeats), "rows": rows, "native": natives, "in_process": checks}


def _meta(quick: bool, repeats: int) -> dict:
    return {"quick": quick, "repeats": repeats, "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "load_average": os.getloadavg(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _format(row: dict, label: str = "") -> str:
    head = f"{label or row['backend']:10s} {row['network']:14s} {row['size']:6d}"
    if "warm_s" not in row:
        return f"{head}  skipped: {row.get('skipped', '?')[:100]}"
    return (f"{head}  build {row['build_s']:8.3f} s  first {row['first_s']:8.3f} s  warm {row['warm_s']:8.4f} s"
            f"  {row['steps_per_s']:10.0f} steps/s  {row['peak_rss_mb']:7.0f} MB")


def ratio_table(result: dict) -> str:
    """Markdown: warm and end-to-end ratios to the reference, per network and size, one column per backend."""
    rows = result["rows"]
    backends = sorted({r["backend"] for r in rows}, key=lambda b: (b != "reference", b))
    lines = ["| network | size | " + " | ".join(backends) + " |", "|---|---|" + "---|" * len(backends)]
    for net, size in dict.fromkeys((r["network"], r["size"]) for r in rows):
        cells = []
        for b in backends:
            r = next((r for r in rows if (r["network"], r["size"], r["backend"]) == (net, size, b)), {})
            cells.append(f"{r['warm_s'] * 1e3:.1f} ms ({r.get('warm_vs_reference', float('nan')):.2f}x / "
                         f"{r.get('end_to_end_vs_reference', float('nan')):.2f}x)" if "warm_s" in r else "-")
        lines.append(f"| {net} | {size} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--native-child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--root", default=".", help="repository root (plugins' benchmarks/ scripts)")
    parser.add_argument("--quick", action="store_true", help="short runs, N up to 2048: a few minutes")
    parser.add_argument("--backends", help="comma-separated (default: every available backend)")
    parser.add_argument("--networks", default=",".join(NETWORKS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--in-process", default="braille", help="network of the in-process vs alone check ('' = none)")
    parser.add_argument("--time-limit", type=float, default=900.0, help="seconds per measurement")
    parser.add_argument("--out", default="results/bench.json")
    args = parser.parse_args(argv)
    if args.child:
        b, net, size, quick, repeats, *others = args.child
        others = tuple(o for o in (others[0].split(",") if others else ()) if o)
        print(json.dumps(measure(b, net, int(size), bool(int(quick)), int(repeats), others)))
        return
    if args.native_child:
        b, net, size, quick, repeats, root = args.native_child
        print(json.dumps(measure_native(b, net, int(size), bool(int(quick)), int(repeats), Path(root))))
        return
    from ..backends import available_backends

    backends = args.backends.split(",") if args.backends else available_backends()
    result = run_suite(backends, args.networks.split(","), args.quick, args.repeats, args.in_process or None,
                       args.time_limit, Path(args.root))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print("\nwarm time (warm / end-to-end ratio to the reference)\n" + ratio_table(result))
    for r in result["rows"]:
        if "warm_vs_native" in r:
            print(f"plugin / hand-written: {r['backend']:10s} {r['network']:14s} {r['size']:6d} {r['warm_vs_native']:.2f}")
    for c in result["in_process"]:
        print(f"in-process vs alone: {c['backend']:10s} {c['ratio']:.2f}")


if __name__ == "__main__":
    main()
