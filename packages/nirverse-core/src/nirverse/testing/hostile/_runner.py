"""Run hostile cases against a backend in an isolated child and sort each outcome into one verdict.

Verdicts: ``typed`` (the expected typed error, or a backend's typed refusal of a case that should run),
``ran`` (a case that should run ran and equals the reference), ``mistyped`` (a typed error of another
class), ``generic`` (an untyped exception, or a :class:`~nirverse.errors.BackendError` wrapping a
framework's failure), ``silent`` (ran where it should have refused, or ran to a result that differs from
the reference), ``crash`` (the child died or was killed at the memory limit), ``hang`` (time limit).
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ... import errors
from ...isolation import CRASHED, OK, OUT_OF_MEMORY, RAISED, TIMED_OUT, Isolated
from ._cases import BACKEND, CASES, EXIT_2, RUNS, CliTrial, Trial

VERDICTS = ("typed", "ran", "mistyped", "generic", "silent", "crash", "hang")
#: failures of the backend, not of the input: counted as typed refusals of a case that should run
REFUSALS = (errors.UnsupportedNodeError, errors.UnsupportedSemanticsError, errors.BackendUnavailableError)


def attempt(case_id: str, backend: str, workdir: str) -> dict[str, str]:
    """Child-side: build case ``case_id`` in a fresh folder under ``workdir``, run it, judge it."""
    case = CASES[case_id]
    tmp = Path(tempfile.mkdtemp(prefix=f"{case_id}-", dir=workdir))
    try:
        if case.category == "cli":
            return _judge_cli(case.expect, case.make(tmp), backend, tmp)
        return _judge(case.expect, lambda: _run(case.make(tmp), backend))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(trial: Trial, backend: str):
    import nirverse

    result = nirverse.run(trial.graph, trial.inputs, trial.semantics, backend=backend, **trial.kwargs)
    if backend == "reference":
        return result, _expected_empty(trial, result)
    kwargs = {k: v for k, v in trial.kwargs.items() if k != "require"}
    reference = nirverse.run(trial.graph, trial.inputs, trial.semantics, backend="reference", **kwargs)
    return result, _same(result, reference)


def _expected_empty(trial: Trial, result) -> str | None:
    """The reference judged on its own: an empty input gives outputs of shape (batch, time, *shape)."""
    lead = np.shape(trial.inputs)[:2] if not isinstance(trial.inputs, dict) else None
    if lead is None or 0 not in lead:
        return None
    for name, out in result.outputs.items():
        if out.shape[:2] != lead:
            return f"output {name!r} has shape {out.shape} for input (batch, time) {lead}"
    return None


def _same(result, reference) -> str | None:
    """None when ``result`` equals the reference (outputs and recorded states, shapes included)."""
    from ...compare import compare

    for name, ref in reference.outputs.items():
        if result.outputs[name].shape != ref.shape:
            return f"output {name!r} has shape {result.outputs[name].shape}, the reference {ref.shape}"
    for node, states in result.states.items():
        for key, value in states.items():
            ref = reference.states.get(node, {}).get(key)
            if ref is not None and value.shape != ref.shape:
                return f"state {node}.{key} has shape {value.shape}, the reference {ref.shape}"
    if any(o.size == 0 for o in reference.outputs.values()):
        return None
    cmp = compare(result, reference)
    return None if cmp.identical else f"differs from the reference: {cmp.mismatches} raster mismatches"


def _judge(expect: str, go) -> dict[str, str]:
    try:
        _, problem = go()
    except errors.BackendError as exc:
        return {"verdict": "generic", "detail": f"BackendError: {exc}"}
    except errors.NirverseError as exc:
        detail = f"{type(exc).__name__}: {exc}"
        if expect == RUNS:
            return {"verdict": "typed" if isinstance(exc, REFUSALS) else "mistyped", "detail": detail}
        wanted = getattr(errors, expect)
        return {"verdict": "typed" if isinstance(exc, wanted) else "mistyped", "detail": detail}
    except Exception as exc:  # noqa: BLE001 - an untyped error is what the corpus looks for
        return {"verdict": "generic", "detail": f"{type(exc).__name__}: {exc}"}
    if expect != RUNS:
        return {"verdict": "silent", "detail": f"ran, expected {expect}"}
    if problem:
        return {"verdict": "silent", "detail": problem}
    return {"verdict": "ran", "detail": "ok"}


def _judge_cli(expect: str, trial: CliTrial, backend: str, tmp: Path) -> dict[str, str]:
    """``typed``: exit 2, one line after argparse's usage, no traceback, protected files untouched;
    ``ran``: exit 0 and exactly the requested file written."""
    import contextlib
    import io
    import os

    from ...cli import main

    before = {p: _bytes(p) for p in trial.unchanged}
    devnull_npz = os.path.exists(os.devnull + ".npz")  # numpy's suffix once turned /dev/null into this
    argv = [backend if a == BACKEND else a for a in trial.argv]
    text, cwd = io.StringIO(), os.getcwd()
    try:
        os.chdir(tmp)
        with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's own errors
                code = exc.code
    except Exception as exc:  # noqa: BLE001 - a traceback is what the corpus looks for
        return {"verdict": "generic", "detail": f"{type(exc).__name__}: {exc}"}
    finally:
        os.chdir(cwd)
    output = text.getvalue()
    changed = [p.name for p, data in before.items() if _bytes(p) != data]
    if changed or os.path.exists(os.devnull + ".npz") > devnull_npz:
        return {"verdict": "silent", "detail": f"changed {changed or os.devnull + '.npz'}: {output[-300:]}"}
    if expect == EXIT_2:
        lines = [ln for ln in output.strip().splitlines() if not ln.startswith((" ", "usage:"))]
        if code == 2 and "Traceback" not in output and len(lines) == 1:
            return {"verdict": "typed", "detail": lines[0]}
        return {"verdict": "generic" if code != 0 else "silent", "detail": f"exit {code}: {output[-300:]}"}
    name = trial.written
    written = name is not None and (tmp / name).is_file() and not (tmp / f"{name}.npz").exists() and f"'{name}'" in output
    return {"verdict": "ran" if code == 0 and written else "silent", "detail": f"exit {code}: {output[-300:]}"}


def _bytes(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


@dataclass
class Tally:
    """Verdict counts of one backend, and the details of every case that is not typed/ran."""

    backend: str
    counts: Counter = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def tried(self) -> int:
        return sum(self.counts.values())

    @property
    def clean(self) -> bool:
        return not self.failures

    def line(self) -> str:
        parts = ", ".join(f"{v} {self.counts.get(v, 0)}" for v in VERDICTS)
        return f"{self.backend}: {self.tried} tried: {parts}"


_STATUS = {CRASHED: "crash", OUT_OF_MEMORY: "crash", TIMED_OUT: "hang"}


def run_corpus(backend: str, cases: list[str] | None = None, time_limit: float = 120.0,
               memory_limit: int = 3 * 2**30) -> Tally:
    """Every case (or ``cases``) against ``backend``, in one reused isolated child."""
    tally = Tally(backend)
    with tempfile.TemporaryDirectory(prefix="nirverse-hostile-") as workdir, \
            Isolated(time_limit=time_limit, memory_limit=memory_limit) as child:
        for case_id in cases or list(CASES):
            outcome = child.call(attempt, case_id, backend, workdir)
            if outcome.status == OK:
                verdict, detail = outcome.value["verdict"], outcome.value["detail"]
            elif outcome.status == RAISED:
                verdict, detail = "generic", outcome.describe()
            else:
                verdict, detail = _STATUS[outcome.status], outcome.describe()
            tally.counts[verdict] += 1
            if verdict not in ("typed", "ran"):
                tally.failures[case_id] = f"{verdict}: {detail}"
    return tally


def expected_verdicts() -> dict[str, Any]:
    return {c.id: c.expect for c in CASES.values()}
