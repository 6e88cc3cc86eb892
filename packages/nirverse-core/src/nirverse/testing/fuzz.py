"""Differential fuzzing: random valid graphs (:mod:`nirverse.testing.strategies`) through every backend.

Each backend runs in its own long-lived child process (:class:`nirverse.isolation.Isolated`, replaced
after a crash) under a time and memory limit. Every (graph, backend) pair gets one verdict:

* ``identical`` -- the semantics note's verdict against the float64 reference;
* ``refused`` -- a typed ``UnsupportedNodeError`` / ``UnsupportedSemanticsError`` (its reason is counted);
* ``deviating`` -- it ran and differs (raster mismatches, first differing step, max ``|Δ|``);
* ``error`` -- any other exception; ``crashed`` -- the child died (signal, or the memory limit);
* ``timed_out`` -- it ran past the time limit.

Every result that is neither identical nor refused is shrunk (:mod:`nirverse.testing.shrink`) and written as
a reproducer: ``<id>.nir`` + ``<id>.npz`` (inputs) + ``<id>.json`` (semantics, verdict, replay command).
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..isolation import CRASHED, OK, OUT_OF_MEMORY, TIMED_OUT, Isolated, Outcome
from .strategies import FuzzCase

__all__ = ["VERDICTS", "FuzzVerdict", "Fuzzer", "run_backend", "classify", "write_reproducer", "summary"]

IDENTICAL, REFUSED, DEVIATING, ERROR, CRASHED_V, TIMED_OUT_V = (
    "identical", "refused", "deviating", "error", "crashed", "timed_out")
VERDICTS = (IDENTICAL, REFUSED, DEVIATING, ERROR, CRASHED_V, TIMED_OUT_V)
FAILURES = (DEVIATING, ERROR, CRASHED_V, TIMED_OUT_V)


@dataclass
class FuzzVerdict:
    """One backend on one case."""

    backend: str
    verdict: str
    reason: str | None = None  # refusal reason key, error type, signal
    detail: str | None = None  # the full message
    measures: dict[str, Any] = field(default_factory=dict)
    wall_time: float = 0.0

    def same_failure(self, other: FuzzVerdict) -> bool:
        """Whether ``other`` is the same kind of failure (for shrinking): verdict and, for errors, type."""
        return other.verdict == self.verdict and (self.verdict != ERROR or other.reason == self.reason)


def import_backend(backend: str) -> bool:
    """(in the child) Import ``backend``'s plugin and framework; whether it is available."""
    from ..backends import backend_info

    return backend_info(backend).available


def run_backend(backend: str, case: FuzzCase) -> dict[str, Any]:
    """(in the child) Run ``case`` on ``backend``; a typed refusal is returned, anything else raises."""
    from .. import run
    from ..errors import UnsupportedNodeError, UnsupportedSemanticsError

    try:
        result = run(case.graph, case.inputs, case.semantics, backend=backend, dtype=case.dtype, record=True)
    except (UnsupportedNodeError, UnsupportedSemanticsError) as exc:
        return {"refused": refusal_reason(exc), "message": str(exc)}
    return {"outputs": result.outputs, "states": result.states, "spiking": result.spiking}


def refusal_reason(exc: BaseException) -> str:
    """A refusal's reason with node names and numbers taken out, so that equal reasons count together."""
    message = str(exc).split(" (expected ")[0]
    message = re.sub(r"^node '[^']*', ", "", message)
    message = re.sub(r"-?\b\d+(\.\d*)?(e[-+]?\d+)?", "N", message)
    message = re.sub(r"\((N, )*N,?\)", "N", message)
    return f"{type(exc).__name__}: {message[:160]}"


def reference(case: FuzzCase):
    """The float64 reference run of ``case`` (states recorded)."""
    from .. import run

    with np.errstate(all="ignore"):
        return run(case.graph, case.inputs, case.semantics, record=True)


def classify(backend: str, outcome: Outcome, expected, dtype: str) -> FuzzVerdict:
    """The verdict of one isolated call against the reference result ``expected`` (for a run in ``dtype``)."""
    from ..api import Result
    from ..compare import compare

    if outcome.status == TIMED_OUT:
        return FuzzVerdict(backend, TIMED_OUT_V, "timed out", outcome.describe(), wall_time=outcome.wall_time)
    if outcome.status in (CRASHED, OUT_OF_MEMORY):
        reason = outcome.signal or ("out of memory" if outcome.status == OUT_OF_MEMORY else f"exit {outcome.exitcode}")
        return FuzzVerdict(backend, CRASHED_V, reason, outcome.describe(), wall_time=outcome.wall_time)
    if outcome.status != OK:
        detail = f"{outcome.error_type}: {outcome.message}\n{outcome.traceback or ''}"
        return FuzzVerdict(backend, ERROR, outcome.error_type, detail, wall_time=outcome.wall_time)
    value = outcome.value
    if "refused" in value:
        return FuzzVerdict(backend, REFUSED, value["refused"], value["message"], wall_time=outcome.wall_time)
    got = Result(value["outputs"], value["states"], spiking=value["spiking"])
    with np.errstate(all="ignore"):
        cmp = compare(got, expected, dtype=dtype)
    verdict = IDENTICAL if cmp.identical else DEVIATING
    return FuzzVerdict(backend, verdict, measures=_jsonable(cmp.to_dict()), wall_time=outcome.wall_time)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return value


class Runner:
    """One isolated child per backend; :meth:`verdict` runs a case on one backend against the reference."""

    def __init__(self, backends: Iterable[str], time_limit: float, memory_limit: int) -> None:
        self.children = {b: Isolated(time_limit, memory_limit) for b in backends}

    def close(self) -> None:
        for child in self.children.values():
            child.close()

    def warm_up(self, backend: str) -> None:
        """Start the child and import the framework outside the time limit of a run (first import of torch,
        JAX or Brian2 on a busy machine can take longer than a whole run is allowed)."""
        child = self.children[backend]
        if not child.alive:
            child.call(import_backend, backend, time_limit=max(600.0, child.time_limit))

    def verdict(self, backend: str, case: FuzzCase, expected=None) -> FuzzVerdict:
        if expected is None:
            expected = reference(case)
        self.warm_up(backend)
        outcome = self.children[backend].call(run_backend, backend, case)
        return classify(backend, outcome, expected, case.dtype)


def case_id(backend: str, verdict: FuzzVerdict, case: FuzzCase) -> str:
    """A short, stable name: backend, verdict and a hash of the graph, inputs and semantics."""
    import nir

    digest = hashlib.sha1(repr(case.semantics).encode() + case.dtype.encode())
    digest.update(json.dumps(_jsonable(_graph_summary(nir, case.graph)), sort_keys=True).encode())
    for name in sorted(case.inputs):
        digest.update(np.ascontiguousarray(case.inputs[name]).tobytes())
    return f"{backend}-{verdict.verdict}-{digest.hexdigest()[:10]}"


def _graph_summary(nir, graph) -> Any:
    out = {}
    for name, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            out[name] = _graph_summary(nir, node)
        else:
            out[name] = {k: np.asarray(v).tolist() if isinstance(v, np.ndarray) else repr(v)
                         for k, v in vars(node).items() if k not in ("input_type", "output_type", "metadata")}
    return {"nodes": out, "edges": [list(e) for e in graph.edges]}


def replay_command(stem: Path, case: FuzzCase, backend: str) -> str:
    s = case.semantics
    return (f"nirverse compare {stem}.nir --input {stem}.npz --dt {s.dt!r} --method {s.method} --reset {s.reset} "
            f"--latency {s.latency} --dtype {case.dtype} --backends {backend} --no-plot --strict")


def write_reproducer(directory: Path, backend: str, case: FuzzCase, verdict: FuzzVerdict,
                     original: dict[str, Any]) -> dict[str, Any]:
    """Write ``<id>.nir``, ``<id>.npz`` (inputs by Input name) and ``<id>.json``; return the json's content."""
    import nir

    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / case_id(backend, verdict, case)
    graph = case.graph
    graph.metadata = {**(getattr(graph, "metadata", None) or {}), **case.semantics.to_metadata()}
    nir.write(f"{stem}.nir", graph)
    np.savez_compressed(f"{stem}.npz", **case.inputs)
    info = {
        "backend": backend, "verdict": verdict.verdict, "reason": verdict.reason, "detail": verdict.detail,
        "measures": verdict.measures, "semantics": {"dt": case.semantics.dt, "method": case.semantics.method,
                                                     "reset": case.semantics.reset, "latency": case.semantics.latency},
        "dtype": case.dtype, "family": case.family, "nodes": _count_nodes(graph), "steps": _steps(case),
        "original": original, "replay": replay_command(stem, case, backend),
    }
    Path(f"{stem}.json").write_text(json.dumps(_jsonable(info), indent=1) + "\n")
    return info | {"reproducer": str(stem)}


def _count_nodes(graph) -> int:
    import nir

    return sum(_count_nodes(n) if isinstance(n, nir.NIRGraph) else 1 for n in graph.nodes.values())


def _steps(case: FuzzCase) -> int:
    return int(next(iter(case.inputs.values())).shape[1])


def summary(tallies: dict[str, Counter], refusals: dict[str, Counter], findings: list[dict], *, seed: int,
            graphs: int, started: float, settings: dict[str, Any], versions: dict[str, str | None],
            families: Counter) -> dict[str, Any]:
    """The JSON summary: per-backend counts of every verdict and refusal counts by reason."""
    from .. import __version__

    backends = {}
    for name, counts in tallies.items():
        backends[name] = {
            "version": versions.get(name), "graphs": sum(counts.values()),
            "counts": {v: counts.get(v, 0) for v in VERDICTS},
            "refusals": dict(refusals[name].most_common()),
            "findings": [f for f in findings if f["backend"] == name],
        }
    return {
        "fuzz": 1, "nirverse": __version__, "python": platform.python_version(), "seed": seed, "graphs": graphs,
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"), "seconds": round(time.time() - started, 1),
        "settings": settings, "families": dict(families), "backends": backends,
    }


#: called after every graph with (graphs done, per-backend verdict counts)
Progress = Callable[[int, dict[str, Counter]], None]


class Fuzzer:
    """``graphs`` random cases (Hypothesis, seeded with ``seed``) through ``backends``; see the module docstring."""

    def __init__(self, backends: Iterable[str], *, seed: int = 0, graphs: int = 100, time_limit: float = 120.0,
                 memory_limit: int = 4 * 2**30, out: Path | None = None, shrink_budget: int = 40,
                 families: Iterable[str] | None = None, progress: Progress | None = None) -> None:
        from .strategies import FAMILIES

        self.backends = list(backends)
        self.seed, self.graphs, self.out = seed, graphs, Path(out) if out is not None else None
        self.time_limit, self.memory_limit, self.shrink_budget = time_limit, memory_limit, shrink_budget
        self.families = tuple(families or FAMILIES)
        self.progress = progress
        self.tallies = {b: Counter() for b in self.backends}
        self.refusals = {b: Counter() for b in self.backends}
        self.findings: list[dict[str, Any]] = []
        self.family_counts: Counter = Counter()
        self.done = 0
        self.started = time.time()

    def run(self) -> dict[str, Any]:
        """Fuzz; return the JSON summary (see :func:`summary`)."""
        self.started = time.time()
        self.runner = Runner(self.backends, self.time_limit, self.memory_limit)
        try:
            self._drive()
        finally:
            self.runner.close()
        return self.summary()

    def summary(self) -> dict[str, Any]:
        """The JSON summary of the graphs done so far (see :func:`summary`)."""
        from ..backends import backend_info

        versions = {}
        for b in self.backends:
            try:
                versions[b] = backend_info(b).version
            except Exception:  # noqa: BLE001 - an unregistered name still gets its (error) counts
                versions[b] = None
        settings = {"time_limit": self.time_limit, "memory_limit": self.memory_limit, "families": self.families,
                    "shrink_budget": self.shrink_budget}
        return summary(self.tallies, self.refusals, self.findings, seed=self.seed, graphs=self.done,
                       started=self.started, settings=settings, versions=versions, families=self.family_counts)

    def _drive(self) -> None:
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import seed as hypothesis_seed

        from .strategies import fuzz_cases

        @hypothesis_seed(self.seed)
        @settings(max_examples=self.graphs, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck), print_blob=False)
        @given(fuzz_cases(families=self.families))
        def loop(case: FuzzCase) -> None:
            if self.done < self.graphs:
                self.one(case)

        loop()

    def one(self, case: FuzzCase) -> None:
        """Run one case on every backend; shrink and write every failure."""
        self.done += 1
        self.family_counts[case.family] += 1
        try:
            expected = reference(case)
        except Exception as exc:  # noqa: BLE001 - a generator bug is reported, not fatal
            self.findings.append({"backend": "(reference)", "verdict": ERROR, "reason": type(exc).__name__,
                                  "detail": str(exc), "family": case.family})
            return
        for backend in self.backends:
            verdict = self.runner.verdict(backend, case, expected)
            self.tallies[backend][verdict.verdict] += 1
            if verdict.verdict == REFUSED:
                self.refusals[backend][verdict.reason] += 1
            elif verdict.verdict != IDENTICAL:
                self.findings.append(self.report(backend, case, verdict))
        if self.progress is not None:
            self.progress(self.done, self.tallies)

    def report(self, backend: str, case: FuzzCase, verdict: FuzzVerdict) -> dict[str, Any]:
        """Shrink a failure; write the reproducer (when an output folder is set); return its finding."""
        from .shrink import shrink

        original = {"nodes": _count_nodes(case.graph), "steps": _steps(case), "family": case.family}

        def still_fails(candidate: FuzzCase) -> tuple[bool, int | None]:
            try:
                got = self.runner.verdict(backend, candidate)
            except Exception:  # noqa: BLE001 - a candidate the reference cannot run is no reproducer
                return False, None
            return verdict.same_failure(got), got.measures.get("first_step")

        budget = 3 if verdict.verdict == TIMED_OUT_V else self.shrink_budget
        small = shrink(case, still_fails, budget)
        final = self.runner.verdict(backend, small)
        if not verdict.same_failure(final):  # flaky: keep the original
            small, final = case, verdict
        if self.out is None:
            return {"backend": backend, "verdict": final.verdict, "reason": final.reason, "detail": final.detail,
                    "measures": final.measures, "original": original}
        return write_reproducer(self.out, backend, small, final, original)
