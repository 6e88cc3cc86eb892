"""The ``nirverse`` command: ``info``, ``run``, ``compare`` (the main job), ``explain``, ``conformance`` and ``fuzz``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import _cli_io
from .errors import NirverseError
from .semantics import LATENCIES, METHODS, RESETS, Semantics

#: the built-in demo: the NIR paper's recurrent Braille RNN, which no two simulators reproduced alike
DEMO_GRAPH = "braille_noDelay_bias_zero.nir"
DEMO_SEMANTICS = dict(dt=1e-4, method="euler", reset="value", latency="immediate")
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
DEFAULT_OUTPUT = "outputs.npz"
DEFAULT_FIGURE = "nirverse-compare.png"
MAX_STEPS = 10**7
MAX_BATCH = 10**6


def escape(text: str) -> str:
    """``text`` with rich markup escaped (error messages quote user paths and names)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


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


def _semantics_summary(info) -> str:
    """"all" where a backend runs every method, reset and latency; else the values of the knobs it restricts
    (the value names are unique across knobs: "one-step" says latency one-step only)."""
    limits = ['/'.join(sorted(have)) for knob, have, every in (
        ("method", info.methods, METHODS), ("reset", info.resets, RESETS), ("latency", info.latencies, LATENCIES))
        if set(have) != set(every)]
    return "; ".join(limits) or "all"


def cmd_info(args) -> int:
    from rich.markup import escape
    from rich.table import Table

    from .backends import backend_info, backend_names
    from .validation import NODE_TYPES

    console = _console()
    table = Table(title="nirverse backends")
    for col in ("backend", "framework", "version", "ok", "nodes", "semantics", "native"):
        table.add_column(col, no_wrap=col != "semantics")
    missing: list[str] = []
    for name in backend_names():
        try:
            info = backend_info(name)
        except NirverseError as exc:
            table.add_row(escape(name), "?", "-", "[red]no[/red]", "-", "-", "-")
            missing.append(f"[bold]{escape(name)}[/bold]: {escape(str(exc))}")
            continue
        nodes = "all" if set(info.node_types) >= NODE_TYPES else f"{len(info.node_types)}/{len(NODE_TYPES)}"
        table.add_row(escape(name), escape(info.framework), escape(info.version or "-"),
                      "[green]yes[/green]" if info.available else "[red]no[/red]", nodes,
                      escape(_semantics_summary(info)), escape(_native_share(name)))
        if not info.available:
            hint = "" if info.install_hint in (info.reason or "") else f" — {info.install_hint}"
            missing.append(f"[bold]{escape(name)}[/bold]: {escape(str(info.reason))}{escape(hint)}")
    console.print(table)
    console.print("native: the share of the catalogue's neuron nodes the framework's own model updates "
                  "(nirverse explain tells per node)")
    for line in missing:
        console.print(line, soft_wrap=False)
    return 0


def _native_share(backend: str) -> str:
    """The backend's native share of the catalogue's neuron nodes (see ``nirverse explain``)."""
    from .testing.coverage import ORDER, catalogue_levels

    try:
        counts = catalogue_levels(backend)
    except NirverseError:
        return "-"
    total = sum(counts.values())
    return f"{100 * counts.get(ORDER[0], 0) / total:.0f}%" if total else "-"


def cmd_run(args) -> int:
    from .api import run

    sem = _semantics(args, DEMO_SEMANTICS | {"dt": args.dt})
    output = args.output if args.output is not None else _cli_io.fresh_path(DEFAULT_OUTPUT)
    target = _cli_io.check_output(output, args.force)  # before the run, which may be long
    inputs = _cli_io.load_array_file(args.input)
    result = run(args.graph, inputs, sem, backend=args.backend, dtype=args.dtype, record=args.record)
    arrays = {f"out:{k}": v for k, v in result.outputs.items()}
    arrays |= {f"state:{n}:{k}": v for n, s in result.states.items() for k, v in s.items()}
    written = _cli_io.write_output(target, args.force, lambda tmp: _savez(tmp, arrays))
    _console().print(f"{args.backend}: {len(result.outputs)} output(s) written to {str(written)!r} "
                     f"({result.wall_time:.3f} s)", markup=False, highlight=False, soft_wrap=True)
    return 0


def _savez(path: str, arrays: dict[str, np.ndarray]) -> None:
    """Compressed .npz at exactly ``path`` (numpy appends '.npz' to a name without it; a file object not)."""
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def _demo_inputs(plan, steps: int, batch: int, seed: int) -> dict[str, np.ndarray]:
    """Seeded random events (probability 0.1 per input and step) for every Input node."""
    import math

    from .limits import check_elements

    per_step = sum(math.prod(plan.out_shapes[n]) for n in plan.inputs)
    check_elements(batch * steps * per_step, f"--batch {batch} x --steps {steps} x {per_step} input values",
                   field="--steps")
    rng = np.random.default_rng(seed)
    return {n: (rng.random((batch, steps, *plan.out_shapes[n])) < 0.1).astype(np.float64) for n in plan.inputs}


def _compare_row(name: str, graph: Any, inputs: Any, sem: Semantics, dtype: str, reference: Any, results: dict) -> tuple:
    """The table row of backend ``name`` in ``nirverse compare``; its result goes into ``results``. A backend
    with native code runs in a child process: its crash is its verdict, not the end of the command."""
    from .backends import backend_info
    from .compare import compare
    from .errors import UnsupportedNodeError, UnsupportedSemanticsError
    from .isolation import IsolationError, run_backend

    try:
        version = backend_info(name).version or "-"
    except NirverseError:
        version = "-"
    levels = _compare_levels(graph, sem, name, dtype)
    start = time.perf_counter()
    try:  # a backend with native code runs in a child: its crash is its verdict, not the end
        res = run_backend(name, "nirverse.api:run", graph, inputs, sem, backend=name, dtype=dtype,
                          record=True).unwrap()
    except (UnsupportedNodeError, UnsupportedSemanticsError) as exc:
        return (name, version, "[yellow]unsupported[/yellow]", "-", "-", "-", levels, str(exc))
    except NirverseError as exc:
        return (name, version, "[red]error[/red]", "-", "-", "-", levels, str(exc))
    except IsolationError as exc:
        status = {"timed_out": "timed out", "raised": "error"}.get(exc.outcome.status, "crashed")
        return (name, version, f"[red]{status}[/red]", "-", "-", f"{exc.outcome.wall_time:.2f}", levels,
                str(exc))
    elapsed = time.perf_counter() - start
    results[name] = res
    cmp = compare(res, reference, dtype=dtype)
    verdict = "[green]identical[/green]" if cmp.identical else "[red]deviating[/red]"
    return (name, version, verdict, f"{cmp.mismatches}/{cmp.raster_entries}", f"{cmp.max_abs:.3g}",
            f"{elapsed:.2f}", levels, "" if cmp.first_step is None else f"first differing step {cmp.first_step}")


def cmd_compare(args) -> int:
    from rich.progress import Progress
    from rich.table import Table

    from .api import run
    from .backends import available_backends
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
    figure = args.figure if args.figure is not None else _cli_io.fresh_path(DEFAULT_FIGURE)
    figure_path = None if args.no_plot else _cli_io.check_output(figure, args.force, "--figure", FIGURE_SUFFIXES)
    graph = load(graph_path)
    plan = prepare(graph, sem)
    if args.input:
        inputs = _cli_io.load_array_file(args.input)
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
            rows.append(_compare_row(name, graph, inputs, sem, args.dtype, reference, results))
            progress.advance(task)
    table = Table(title=f"{graph_path.name} against the {args.dtype} reference")
    noted = any(row[-1] for row in rows)  # the note column only where a backend has something to say
    for col in ("backend", "version", "verdict", "raster", "max |Δv|", "time s", "levels", "note")[:8 if noted else 7]:
        table.add_column(col, overflow="fold", no_wrap=col != "note")
    judge = ("reference", "-", "judge", "0", "0", f"{reference.wall_time:.2f}",
             _compare_levels(graph, sem, "reference", args.dtype), "")
    for row in [judge, *rows]:
        table.add_row(*row[:8 if noted else 7])
    console.print(table)
    console.print("raster: mismatching spike entries of all; levels: nodes native (N), adapted (A), emulated (E), "
                  "refused (R), per node in nirverse explain")
    if not args.no_plot:
        from .plot import comparison_figure

        figure = _cli_io.write_output(figure_path, args.force, lambda tmp: comparison_figure(results, reference, tmp),
                                      "--figure")
        console.print(f"figure: {str(figure)!r}", markup=False, highlight=False, soft_wrap=True)
    deviating = any(word in r[2] for r in rows for word in ("deviating", "error", "crashed", "timed out"))
    return _failure_code(deviating, args.exit_zero)


def cmd_explain(args) -> int:
    """Per node: the level the backend runs it at (native / adapted / emulated / refused), the construct, why."""
    from rich.table import Table

    from .api import explain
    from .levels import LEVELS, REFUSED

    sem = _semantics(args, DEMO_SEMANTICS | {"dt": 1e-3})
    labels = explain(args.graph, sem, backend=args.backend, dtype=args.dtype)
    table = Table(title=f"{Path(args.graph).name} on {args.backend} ({sem}, {args.dtype})")
    for col in ("node", "type", "level", "construct", "why"):
        table.add_column(col, overflow="fold")
    style = dict(zip(LEVELS + (REFUSED,), ("green", "cyan", "yellow", "red")))
    for label in labels:
        table.add_row(label.node, label.type, f"[{style[label.level]}]{label.level}[/]", label.construct, label.reason)
    console = _console()
    console.print(table)
    console.print(_level_counts(labels))
    return 0


def _level_counts(labels) -> str:
    """``"2 native, 1 emulated"`` (neuron and stateless nodes together)."""
    from collections import Counter

    from .levels import LEVELS, REFUSED

    counts = Counter(label.level for label in labels)
    return ", ".join(f"{counts[level]} {level}" for level in LEVELS + (REFUSED,) if counts.get(level)) or "-"


def _compare_levels(graph, sem, backend: str, dtype: str) -> str:
    """The node counts per level for ``nirverse compare``, one letter each: ``"3N 2E"`` is 3 native and 2
    emulated nodes (``"-"`` when the backend cannot say)."""
    from collections import Counter

    from .api import explain
    from .levels import LEVELS, REFUSED

    try:
        counts = Counter(label.level for label in explain(graph, sem, backend=backend, dtype=dtype))
    except NirverseError:
        return "-"
    return " ".join(f"{counts[level]}{level[0].upper()}" for level in LEVELS + (REFUSED,) if counts.get(level)) or "-"


def cmd_conformance(args) -> int:
    from rich.markup import escape
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
    _cli_io.check_scoreboard(args.output)
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
    statuses = ("identical", "unsupported", "deviating", "error", "crashed", "timed_out")
    for col in ("backend", *statuses):
        table.add_column(col)
    for name, counts in summarize(v.to_dict() for v in verdicts).items():
        table.add_row(name, *(str(counts.get(k, 0)) for k in statuses))
    console.print(table)
    failed = [v for v in verdicts if v.status in ("deviating", "error", "crashed", "timed_out")]
    for v in failed:
        console.print(escape(v.summary()))
    console.print(f"scoreboard: {path}")
    return _failure_code(bool(failed), args.exit_zero)


def _failure_code(failed: bool, exit_zero: bool) -> int:
    """1 when a backend deviated, failed, crashed or timed out (what the command exists to detect), unless
    the user asked for ``--exit-zero``."""
    return 1 if failed and not exit_zero else 0


def _add_exit_zero(parser) -> None:
    parser.add_argument("--exit-zero", action="store_true",
                        help="exit 0 even when a backend deviates, fails, crashes or times out (default: exit 1)")
    parser.add_argument("--strict", action="store_true", help=argparse.SUPPRESS)  # the old opt-in; now the default


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nirverse", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also show the frameworks' own log messages and warnings (on stderr)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="backends, versions, availability, install hints").set_defaults(func=cmd_info)

    p = sub.add_parser("run", help="run a graph on one backend and write its outputs (.npz)")
    p.add_argument("graph")
    p.add_argument("--input", required=True, help=".npy (batch, time, *shape) or .npz {input name: array}")
    p.add_argument("--backend", default="reference")
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    p.add_argument("--record", action="store_true", help="also write neuron states")
    p.add_argument("--output", help=f"the .npz file to write, exactly this path (default: {DEFAULT_OUTPUT}, "
                   "or a numbered name if that exists)")
    p.add_argument("--force", action="store_true", help="overwrite --output if it exists")
    _add_semantics(p, dt_required=True)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compare", help="run a graph (default: the paper's Braille RNN) on every backend")
    p.add_argument("graph", nargs="?", help=".nir file (default: built-in demo graph)")
    p.add_argument("--backends", help="comma-separated (default: every available backend)")
    p.add_argument("--input", help=".npy/.npz input (default: seeded random events)")
    p.add_argument("--steps", type=_bounded_int(1, MAX_STEPS), default=200,
                   help=f"time steps of the random input (1 to {MAX_STEPS})")
    p.add_argument("--batch", type=_bounded_int(1, MAX_BATCH), default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    p.add_argument("--figure", help=f"figure path (.png, .svg or .pdf; default: {DEFAULT_FIGURE}, "
                   "or a numbered name if that exists)")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--force", action="store_true", help="overwrite --figure if it exists")
    _add_exit_zero(p)
    _add_semantics(p, dt_required=False)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("explain", help="which nodes a backend runs natively, adapted or emulated, and why")
    p.add_argument("graph", help=".nir file")
    p.add_argument("--backend", default="reference")
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    _add_semantics(p, dt_required=False)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("conformance", help="run the conformance suite and write the scoreboard")
    p.add_argument("--backends", help="comma-separated (default: every available backend)")
    p.add_argument("--cases", help="comma-separated substrings of case ids")
    p.add_argument("--output", default="scoreboard.json")
    p.add_argument("--regenerate", action="store_true", help="rewrite the stored catalogue")
    p.add_argument("--check", action="store_true", help="regenerate in a temporary folder and fail on drift")
    _add_exit_zero(p)
    p.set_defaults(func=cmd_conformance)

    from .testing.fuzz_cli import add_parser as add_fuzz_parser

    add_fuzz_parser(sub)
    return parser


def _route_framework_noise(verbose: bool) -> None:
    """Frameworks log and warn on import and build (jaxsnn's missing hxtorch, Nengo's decoder cache):
    that is debug information, shown with ``-v`` only; nirverse itself reports through its own output."""
    import logging
    import warnings

    logging.captureWarnings(True)
    root = logging.getLogger()
    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s", force=True)
        warnings.simplefilter("default")
    else:
        root.handlers[:] = [logging.NullHandler()]


def _bounded_int(low: int, high: int):
    """An argparse type: an integer in [low, high] ("1e3" accepted when it is a whole number)."""

    def parse(text: str) -> int:
        try:
            value = float(text)
            number = int(value)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if number != value or not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer from {low} to {high}")
        return number

    return parse


def _error(exc: BaseException) -> int:
    """One line (no wrapping, markup in paths escaped), exit status 2."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    _console().print(f"[red]error:[/red] {escape(text)}", soft_wrap=True)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _route_framework_noise(args.verbose)
    try:
        return args.func(args)
    except (NirverseError, OSError, ValueError, MemoryError) as exc:  # OSError...: what no check foresaw
        return _error(exc)


if __name__ == "__main__":
    sys.exit(main())
