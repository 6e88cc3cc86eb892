"""The ``nirverse`` command: ``info``, ``run``, ``compare`` (the main job), ``conformance`` and ``fuzz``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .errors import NirverseError
from .semantics import LATENCIES, METHODS, RESETS, Semantics

#: the built-in demo: the NIR paper's recurrent Braille RNN, which no two simulators reproduced alike
DEMO_GRAPH = "braille_noDelay_bias_zero.nir"
DEMO_SEMANTICS = dict(dt=1e-4, method="euler", reset="value", latency="immediate")


def _console():
    from rich.console import Console

    return Console()


def _semantics(args, defaults) -> Semantics:
    return Semantics(
        args.dt if args.dt is not None else defaults["dt"],
        method=args.method or defaults["method"],
        reset=args.reset or defaults["reset"],
        latency=args.latency or defaults["latency"],
    )


def _add_semantics(parser, dt_required: bool) -> None:
    parser.add_argument("--dt", type=float, required=dt_required, help="time step in seconds")
    parser.add_argument("--method", choices=METHODS, help="leak discretisation (default euler)")
    parser.add_argument("--reset", choices=RESETS, help="reset mode (default value)")
    parser.add_argument("--latency", choices=LATENCIES, help="edge latency (default immediate)")


def cmd_info(args) -> int:
    from rich.table import Table

    from .backends import backend_info, backend_names

    table = Table(title="nirverse backends")
    for col in ("backend", "framework", "version", "available", "node types", "semantics", "install / reason"):
        table.add_column(col, overflow="fold")
    for name in backend_names():
        try:
            info = backend_info(name)
        except NirverseError as exc:
            table.add_row(name, "?", "-", "[red]no[/red]", "-", "-", str(exc))
            continue
        sem = f"{'/'.join(sorted(info.methods))}; {'/'.join(sorted(info.resets))}; {'/'.join(sorted(info.latencies))}"
        table.add_row(
            name, info.framework, info.version or "-", "[green]yes[/green]" if info.available else "[red]no[/red]",
            str(len(info.node_types)), sem, info.install_hint if info.available else f"{info.reason}. {info.install_hint}",
        )
    _console().print(table)
    return 0


def cmd_run(args) -> int:
    from .api import run

    sem = _semantics(args, DEMO_SEMANTICS | {"dt": args.dt})
    inputs = np.load(args.input, allow_pickle=False)
    if isinstance(inputs, np.lib.npyio.NpzFile):
        inputs = {k: inputs[k] for k in inputs.files}
    result = run(args.graph, inputs, sem, backend=args.backend, dtype=args.dtype, record=args.record)
    arrays = {f"out:{k}": v for k, v in result.outputs.items()}
    arrays |= {f"state:{n}:{k}": v for n, s in result.states.items() for k, v in s.items()}
    np.savez_compressed(args.output, **arrays)
    _console().print(f"{args.backend}: {len(result.outputs)} output(s) written to {args.output} ({result.wall_time:.3f} s)")
    return 0


def _demo_inputs(plan, steps: int, batch: int, seed: int) -> dict[str, np.ndarray]:
    """Seeded random events (probability 0.1 per input and step) for every Input node."""
    rng = np.random.default_rng(seed)
    return {n: (rng.random((batch, steps, *plan.out_shapes[n])) < 0.1).astype(np.float64) for n in plan.inputs}


def cmd_compare(args) -> int:
    from rich.progress import Progress
    from rich.table import Table

    from .api import run
    from .backends import available_backends, backend_info
    from .compare import compare
    from .errors import UnsupportedNodeError, UnsupportedSemanticsError
    from .graph import prepare
    from .loading import load
    from .testing.catalogue import PAPER, data_dir

    console = _console()
    if args.graph is None:
        graph_path = data_dir() / PAPER / DEMO_GRAPH
        defaults = DEMO_SEMANTICS
        console.print(f"demo graph: the NIR paper's Braille RNN ({DEMO_GRAPH}), seeded random input")
    else:
        graph_path = Path(args.graph)
        defaults = DEMO_SEMANTICS | {"dt": 1e-3}
    sem = _semantics(args, defaults)
    graph = load(graph_path)
    plan = prepare(graph, sem)
    if args.input:
        loaded = np.load(args.input, allow_pickle=False)
        inputs = {k: loaded[k] for k in loaded.files} if isinstance(loaded, np.lib.npyio.NpzFile) else loaded
    else:
        inputs = _demo_inputs(plan, args.steps, args.batch, args.seed)
    chosen = args.backends.split(",") if args.backends is not None else available_backends()
    names = [b for b in chosen if b and b != "reference"]  # the reference is the judge, run once
    console.print(f"semantics: {sem}; backends: {', '.join(names) or '(none besides the reference)'}")
    reference = run(graph, inputs, sem, backend="reference", dtype=args.dtype, record=True)
    results, rows = {}, []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("running backends", total=len(names))
        for name in names:
            progress.update(task, description=f"running {name}")
            try:
                version = backend_info(name).version or "-"
            except NirverseError:
                version = "-"
            start = time.perf_counter()
            try:
                res = run(graph, inputs, sem, backend=name, dtype=args.dtype, record=True)
            except (UnsupportedNodeError, UnsupportedSemanticsError) as exc:
                rows.append((name, version, "[yellow]unsupported[/yellow]", "-", "-", "-", str(exc)))
            except NirverseError as exc:
                rows.append((name, version, "[red]error[/red]", "-", "-", "-", str(exc)))
            else:
                elapsed = time.perf_counter() - start
                results[name] = res
                cmp = compare(res, reference, dtype=args.dtype)
                verdict = "[green]identical[/green]" if cmp.identical else "[red]deviating[/red]"
                rows.append((name, version, verdict, f"{cmp.mismatches}/{cmp.raster_entries}", f"{cmp.max_abs:.3g}",
                             f"{elapsed:.2f}", "" if cmp.first_step is None else f"first differing step {cmp.first_step}"))
            progress.advance(task)
    table = Table(title=f"{graph_path.name} against the float64 reference")
    for col in ("backend", "version", "verdict", "raster mismatches", "max |Δv|", "time (s)", "note"):
        table.add_column(col, overflow="fold")
    table.add_row("reference", "-", "judge", "0", "0", f"{reference.wall_time:.2f}", "")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if not args.no_plot:
        from .plot import comparison_figure

        figure = comparison_figure(results, reference, args.figure)
        console.print(f"figure: {figure}")
    deviating = any("deviating" in r[2] or "error" in r[2] for r in rows)
    return 1 if (args.strict and deviating) else 0


def cmd_conformance(args) -> int:
    from rich.progress import Progress
    from rich.table import Table

    from .backends import available_backends
    from .testing.catalogue import drift, load_cases, write_catalogue
    from .testing.scoreboard import summarize, write_scoreboard
    from .testing.verdict import run_case

    console = _console()
    if args.regenerate:
        console.print(f"wrote {write_catalogue()}")
        return 0
    if args.check:
        problems = drift()
        for p in problems:
            console.print(f"[red]drift[/red] {p}")
        console.print("catalogue up to date" if not problems else f"{len(problems)} difference(s)")
        return 1 if problems else 0
    names = args.backends.split(",") if args.backends else available_backends()
    cases = [c for c in load_cases() if not args.cases or any(p in c.id for p in args.cases.split(","))]
    verdicts = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("conformance", total=len(names) * len(cases))
        for name in names:
            for case in cases:
                progress.update(task, description=f"{name}: {case.id}")
                verdicts.append(run_case(name, case))
                progress.advance(task)
    path = write_scoreboard(verdicts, args.output)
    table = Table(title="conformance")
    for col in ("backend", "identical", "unsupported", "deviating", "error"):
        table.add_column(col)
    for name, counts in summarize(v.to_dict() for v in verdicts).items():
        table.add_row(name, *(str(counts.get(k, 0)) for k in ("identical", "unsupported", "deviating", "error")))
    console.print(table)
    for v in verdicts:
        if v.status in ("deviating", "error"):
            console.print(v.summary())
    console.print(f"scoreboard: {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nirverse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="backends, versions, availability, install hints").set_defaults(func=cmd_info)

    p = sub.add_parser("run", help="run a graph on one backend and write its outputs (.npz)")
    p.add_argument("graph")
    p.add_argument("--input", required=True, help=".npy (batch, time, *shape) or .npz {input name: array}")
    p.add_argument("--backend", default="reference")
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    p.add_argument("--record", action="store_true", help="also write neuron states")
    p.add_argument("--output", default="outputs.npz")
    _add_semantics(p, dt_required=True)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compare", help="run a graph (default: the paper's Braille RNN) on every backend")
    p.add_argument("graph", nargs="?", help=".nir file (default: built-in demo graph)")
    p.add_argument("--backends", help="comma-separated (default: every available backend)")
    p.add_argument("--input", help=".npy/.npz input (default: seeded random events)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    p.add_argument("--figure", default="nirverse-compare.png", help="figure path (.png or .svg)")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--strict", action="store_true", help="exit 1 when a backend deviates or fails")
    _add_semantics(p, dt_required=False)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("conformance", help="run the conformance suite and write the scoreboard")
    p.add_argument("--backends", help="comma-separated (default: every available backend)")
    p.add_argument("--cases", help="comma-separated substrings of case ids")
    p.add_argument("--output", default="scoreboard.json")
    p.add_argument("--regenerate", action="store_true", help="rewrite the stored catalogue")
    p.add_argument("--check", action="store_true", help="regenerate in a temporary folder and fail on drift")
    p.set_defaults(func=cmd_conformance)

    from .testing.fuzz_cli import add_parser as add_fuzz_parser

    add_fuzz_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NirverseError as exc:
        _console().print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
