"""The conformance kit a plugin (or a third-party framework) runs in a few lines::

    from nirverse.testing import BackendConformance

    class TestConformance(BackendConformance):
        backend = "norse"

Every stored case becomes one test. A backend that raises ``UnsupportedNodeError`` /
``UnsupportedSemanticsError`` is skipped with its reason; a wrong answer fails with its measures;
cases listed in the plugin's ``expected_failures.txt`` must fail (an entry that no longer matches a
failing case is itself an error).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import ClassVar

from .catalogue import Case, load_cases
from .expected import expected_failures_of
from .verdict import DEVIATING, ERROR, IDENTICAL, UNAVAILABLE, UNSUPPORTED, Verdict, run_case

__all__ = ["BackendConformance", "FRAMEWORKS", "simulator_backends", "verdict_for"]

#: every verdict of this process, for the pytest plugin's scoreboard
VERDICTS: list[Verdict] = []
_CACHE: dict[tuple[str, str], Verdict] = {}


def verdict_for(backend: str, case: Case) -> Verdict:
    """``run_case`` once per (backend, case) in a process: a plugin's kit and the integration suite
    share one run when they are collected together."""
    key = (backend, case.id)
    if key not in _CACHE:
        _CACHE[key] = run_case(backend, case)
        VERDICTS.append(_CACHE[key])
    return _CACHE[key]


class BackendConformance:
    """Subclass with ``backend = "<name>"``; optional ``cases`` (ids) and ``expected_failures`` (path)."""

    backend: ClassVar[str]
    cases: ClassVar[tuple[str, ...] | None] = None
    expected_failures: ClassVar[str | Path | None] = None

    @classmethod
    def selected_cases(cls) -> list[Case]:
        return load_cases(cls.cases)

    @classmethod
    def known_failures(cls) -> dict[str, str]:
        return expected_failures_of(cls.__module__, cls.expected_failures) if cls.expected_failures else _plugin_failures(cls.backend)

    def test_case(self, nirverse_case: Case) -> None:
        import pytest

        verdict = verdict_for(self.backend, nirverse_case)
        expected = self.known_failures().get(nirverse_case.id)
        if verdict.status == UNAVAILABLE:
            pytest.skip(verdict.reason or "backend unavailable")
        if verdict.status == UNSUPPORTED:
            if expected:
                pytest.fail(f"stale expected failure {nirverse_case.id!r} ({expected}): the case is now refused: {verdict.reason}")
            pytest.skip(verdict.reason or "unsupported")
        if verdict.status == IDENTICAL:
            if expected:
                pytest.fail(f"stale expected failure {nirverse_case.id!r} ({expected}): the backend is now identical")
            return
        if expected:
            pytest.xfail(f"{expected} — {verdict.summary()}")
        assert verdict.status in (DEVIATING, ERROR)
        pytest.fail(verdict.summary() + _detail(verdict), pytrace=False)

    def test_expected_failures_name_existing_cases(self) -> None:
        known = {c.id for c in load_cases()}
        unknown = sorted(set(self.known_failures()) - known)
        assert not unknown, f"expected_failures.txt of {self.backend!r} names cases that do not exist: {unknown}"


@cache
def _plugin_failures(backend: str) -> dict[str, str]:
    from ..backends import get_backend
    from ..errors import BackendUnavailableError

    try:
        module = type(get_backend(backend)).__module__
    except BackendUnavailableError:  # not installed: its cases are skipped anyway
        return {}
    return expected_failures_of(module)


def _detail(verdict: Verdict) -> str:
    details = verdict.measures.get("details", {})
    bad = {k: v for k, v in details.items() if v.get("mismatches") or v.get("first_step") is not None or "error" in v}
    return "".join(f"\n  {k}: {v}" for k, v in bad.items())


#: the frameworks nirverse ships simulator plugins for; absent ones are skipped with their install hint
FRAMEWORKS = ("norse", "snntorch", "rockpool", "brian2", "genn", "nengo", "jaxsnn", "spyx")


def simulator_backends() -> list[str]:
    """Every simulator backend to test: the project's frameworks plus any registered third-party backend."""
    from ..backends import backend_names

    return sorted((set(FRAMEWORKS) | set(backend_names())) - {"reference"})
