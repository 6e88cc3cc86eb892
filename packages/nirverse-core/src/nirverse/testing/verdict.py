"""Running one case on one backend and judging it against the stored reference outputs."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ..api import Result, run
from ..backends import get_backend
from ..compare import compare
from ..errors import BackendUnavailableError, UnsupportedNodeError, UnsupportedSemanticsError
from ..isolation import OK, RAISED, backend_child, isolates
from ..isolation import TIMED_OUT as TIMED_OUT_OUTCOME
from .catalogue import Case

__all__ = ["Verdict", "run_case", "IDENTICAL", "DEVIATING", "UNSUPPORTED", "UNAVAILABLE", "ERROR", "CRASHED", "TIMED_OUT"]

IDENTICAL = "identical"
DEVIATING = "deviating"
UNSUPPORTED = "unsupported"
UNAVAILABLE = "unavailable"
ERROR = "error"
#: the backend's process died (``signal`` names the signal) / ran past the time limit; only isolated runs
#: (backends with ``native_code``) can report these, every other backend's results are kept
CRASHED = "crashed"
TIMED_OUT = "timed_out"


@dataclass
class Verdict:
    """One backend on one case: ``status`` and, for a run that finished, its measures."""

    backend: str
    case: str
    status: str
    version: str | None = None
    dtype: str = "float64"
    reason: str | None = None
    measures: dict[str, Any] = field(default_factory=dict)
    wall_time: float = 0.0
    build_time: float = 0.0
    #: the signal that killed the backend's process (``CRASHED``), e.g. "SIGSEGV"
    signal: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        if self.status in (UNSUPPORTED, UNAVAILABLE, ERROR, CRASHED, TIMED_OUT):
            return f"{self.backend} on {self.case}: {self.status}: {self.reason}"
        m = self.measures
        return (
            f"{self.backend} on {self.case}: {self.status} — {m.get('mismatches', 0)} raster mismatches of "
            f"{m.get('raster_entries', 0)}, first differing step {m.get('first_step')}, max |Δ| "
            f"{m.get('max_abs', 0.0):.3g} (tolerance {m.get('tolerance')}), cosine {m.get('cosine', 1.0):.6f}"
        )


def run_case(backend: str, case: Case, isolate: bool | None = None) -> Verdict:
    """Run ``case`` on ``backend`` (in the case's dtype, states recorded) and compare with the reference.

    A backend with native code runs in its own child process (:mod:`nirverse.isolation`): when that
    process dies the verdict is ``CRASHED`` with the signal, past the time limit ``TIMED_OUT``.
    ``isolate`` overrides that choice (``False`` for a check that patches the framework in this process).
    """
    try:
        if not (isolates(backend) if isolate is None else isolate):
            return _run_case_here(backend, case)
        version = get_backend(backend).info().version
    except BackendUnavailableError as exc:
        return Verdict(backend, case.id, UNAVAILABLE, dtype=case.dtype, reason=str(exc))
    outcome = backend_child(backend).call(_run_case_here, backend, case)
    if outcome.status == OK:
        return outcome.value
    status = {TIMED_OUT_OUTCOME: TIMED_OUT, RAISED: ERROR}.get(outcome.status, CRASHED)
    reason = outcome.describe() if status != ERROR else f"the isolated run failed: {outcome.describe()}"
    return Verdict(backend, case.id, status, version, case.dtype, reason=reason, signal=outcome.signal,
                   wall_time=outcome.wall_time)


def _run_case_here(backend: str, case: Case) -> Verdict:
    """:func:`run_case` in this process."""
    try:
        version = get_backend(backend).info().version
    except BackendUnavailableError as exc:
        return Verdict(backend, case.id, UNAVAILABLE, dtype=case.dtype, reason=str(exc))
    start = time.perf_counter()
    try:
        result = run(case.graph(), case.inputs, case.semantics, backend=backend, dtype=case.dtype, record=case.record)
    except (UnsupportedNodeError, UnsupportedSemanticsError) as exc:
        return Verdict(backend, case.id, UNSUPPORTED, version, case.dtype, reason=str(exc))
    except BackendUnavailableError as exc:
        return Verdict(backend, case.id, UNAVAILABLE, version, case.dtype, reason=str(exc))
    except Exception as exc:  # a crash is a result too: it is reported, never hidden
        return Verdict(backend, case.id, ERROR, version, case.dtype, reason=f"{type(exc).__name__}: {exc}",
                       wall_time=time.perf_counter() - start)
    expected = Result(outputs=case.outputs, states=case.states, spiking=dict(case.spiking))
    comparison = compare(result, expected, dtype=case.dtype)
    measures = comparison.to_dict()
    missing = [f"{n}.{k}" for n, s in case.states.items() for k in s if k not in result.states.get(n, {})]
    if missing:
        measures["details"]["states"] = {"error": f"states not recorded by the backend: {missing}"}
    identical = comparison.identical and not missing
    return Verdict(backend, case.id, IDENTICAL if identical else DEVIATING, version, case.dtype, measures=measures,
                   wall_time=result.wall_time, build_time=result.build_time)
