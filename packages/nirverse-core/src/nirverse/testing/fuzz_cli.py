"""``nirverse fuzz``: the command line of :mod:`nirverse.testing.fuzz` (kept apart from ``cli.py``)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

__all__ = ["add_parser", "cmd_fuzz", "merge"]

SYMBOLS = {"identical": "✔", "refused": "–", "deviating": "✘", "error": "!", "crashed": "☠", "timed_out": "⧗"}


def add_parser(sub) -> None:
    """Register ``fuzz`` on the ``nirverse`` subparsers."""
    p = sub.add_parser("fuzz", help="random valid graphs through every backend, each in an isolated child process")
    p.add_argument("--backends", help="comma-separated (default: every available backend)")
    p.add_argument("--graphs", type=int, default=100, help="random graphs (each runs on every backend)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--time-limit", type=float, default=120.0, help="seconds per backend run (then: timed out)")
    p.add_argument("--memory-limit", type=float, default=4.0, help="GiB per backend child (then: crashed)")
    p.add_argument("--families", help="comma-separated graph shapes (default: all)")
    p.add_argument("--shrink-budget", type=int, default=40, help="backend runs spent shrinking each failure")
    p.add_argument("--json", help="write the summary here")
    p.add_argument("--out", default="fuzz-reproducers", help="folder for shrunk reproducers")
    p.add_argument("--strict", action="store_true", help="exit 1 on any deviating/error/crashed/timed-out result")
    p.add_argument("--merge", nargs="+", metavar="JSON", help="only merge these summaries into --json")
    p.set_defaults(func=cmd_fuzz)


def _line(tallies: dict[str, Counter]) -> str:
    return " | ".join(f"{b} " + " ".join(f"{SYMBOLS[v]}{n}" for v, n in c.items() if n) for b, c in tallies.items())


def cmd_fuzz(args) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from ..backends import available_backends
    from .fuzz import FAILURES, Fuzzer

    console = Console() if Console().is_terminal else Console(width=200)
    if args.merge:
        result = merge([json.loads(Path(p).read_text()) for p in args.merge])
        Path(args.json or "fuzz.json").write_text(json.dumps(result, indent=1) + "\n")
        return 0
    names = [b for b in (args.backends.split(",") if args.backends else available_backends()) if b and b != "reference"]
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("fuzzing", total=args.graphs)

        def advance(done: int, tallies: dict[str, Counter]) -> None:
            progress.update(task, completed=done, description=_line(tallies))
            if args.json and done % 25 == 0:  # a checkpoint: a long run stopped early still has its counts
                _write(args.json, fuzzer.summary())

        fuzzer = Fuzzer(names, seed=args.seed, graphs=args.graphs, time_limit=args.time_limit,
                        memory_limit=int(args.memory_limit * 2**30), out=Path(args.out),
                        shrink_budget=args.shrink_budget,
                        families=args.families.split(",") if args.families else None, progress=advance)
        result = fuzzer.run()
    _print(console, result)
    if args.json:
        _write(args.json, result)
        console.print(f"summary: {args.json}")
    bad = sum(b["counts"][v] for b in result["backends"].values() for v in FAILURES)
    return 1 if args.strict and bad else 0


def _write(path: str, result: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=1) + "\n")


def _print(console, result: dict) -> None:
    from rich.table import Table

    from .fuzz import VERDICTS

    table = Table(title=f"fuzz: {result['graphs']} graphs, seed {result['seed']}, {result['seconds']} s")
    for col in ("backend", *VERDICTS, "top refusal"):
        table.add_column(col, overflow="fold")
    for name, b in result["backends"].items():
        top = next(iter(b["refusals"].items()), None)
        table.add_row(name, *(str(b["counts"][v]) for v in VERDICTS), f"{top[1]}× {top[0]}" if top else "")
    console.print(table)
    for b in result["backends"].values():
        for f in b["findings"]:
            console.print(f"[red]{f['backend']} {f['verdict']}[/red] ({f.get('reason') or ''}) {f.get('replay', '')}")


def merge(summaries: list[dict]) -> dict:
    """One summary from several (e.g. one run per backend in parallel): counts add up per backend."""
    out = dict(summaries[0]) | {"backends": {}, "families": Counter(), "graphs": 0, "seconds": 0.0, "seed": []}
    for s in summaries:
        out["seed"].append(s["seed"])
        out["graphs"] = max(out["graphs"], s["graphs"])
        out["seconds"] += s["seconds"]
        for name, b in s["backends"].items():
            into = out["backends"].setdefault(name, {"version": b["version"], "graphs": 0, "counts": Counter(),
                                                     "refusals": Counter(), "findings": []})
            into["graphs"] += b["graphs"]
            into["counts"].update(b["counts"])
            into["refusals"].update(b["refusals"])
            into["findings"] += b["findings"]
    for b in out["backends"].values():
        b["counts"], b["refusals"] = dict(b["counts"]), dict(b["refusals"].most_common())
    out["families"] = dict(out["families"])
    out["seed"] = sorted(set(out["seed"]))
    return out
