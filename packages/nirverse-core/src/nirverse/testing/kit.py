"""The conformance kit a plugin (or a third-party framework) runs in a few lines::

    from nirverse.testing import BackendConformance

    class TestConformance(BackendConformance):
        backend = "norse"

Every stored case becomes one test. A backend that raises ``UnsupportedNodeError`` /
``UnsupportedSemanticsError`` is skipped with its reason; a wrong answer fails with its measures;
cases listed in the plugin's ``expected_failures.txt`` must fail (an entry that no longer matches a
failing case is itself an error). A backend with native code runs in a child process: a crash fails
its case with the signal, and the session goes on with a fresh child.

``test_levels_are_true`` checks the backend's native / adapted / emulated labels by mutation (see
:mod:`nirverse.testing.mutation`) on every case with one neuron node.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import ClassVar

from ..api import explain
from ..backends import get_backend
from ..isolation import run_backend
from ..levels import ADAPTED, NATIVE, NodeLevel
from ..validation import NEURON_TYPES
from .catalogue import Case, load_cases
from .expected import expected_failures_of
from .mutation import all_perturbed, labelled_constructs, single_neuron_cases
from .verdict import CRASHED, DEVIATING, ERROR, IDENTICAL, TIMED_OUT, UNAVAILABLE, UNSUPPORTED, Verdict, run_case

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
    def mutation_cases(cls) -> list[Case]:
        return single_neuron_cases(cls.selected_cases())

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
        assert verdict.status in (DEVIATING, ERROR, CRASHED, TIMED_OUT)
        pytest.fail(verdict.summary() + _detail(verdict), pytrace=False)

    def test_levels_are_true(self, nirverse_mutation_case: Case) -> None:
        """Perturbing the construct of a native/adapted neuron node makes the case deviate; perturbing every
        construct the backend labels native/adapted anywhere leaves an emulated node's case identical."""
        import pytest

        case = nirverse_mutation_case
        baseline = verdict_for(self.backend, case)
        if baseline.status != IDENTICAL:
            pytest.skip(f"the unperturbed run is {baseline.status}: no baseline to perturb")
        label, others = _neuron_label(self.backend, case)
        if label.level in (NATIVE, ADAPTED):
            if label.construct in others:
                pytest.skip(f"{label.construct} also serves another node here: a deviation would not single out "
                            f"{label.node} (the single-node cases check it)")
            mutated = perturbed_verdict(self.backend, case, (label.construct,))
            assert mutated.status == DEVIATING, (
                f"{case.id}: {label.node} is labelled {label.level} ({label.construct}) but perturbing that "
                f"construct leaves the case {mutated.status}" + (f": {mutated.reason}" if mutated.reason else ""))
            return
        foreign = labelled_constructs(self.backend) - others
        if not foreign:
            pytest.skip(f"{self.backend!r} labels no native/adapted construct outside this case's other nodes")
        mutated = perturbed_verdict(self.backend, case, tuple(foreign))
        assert mutated.status == IDENTICAL, (
            f"{case.id}: {label.node} is labelled emulated but perturbing {sorted(foreign)} makes it "
            f"{mutated.status}: {mutated.summary()}")

    def test_expected_failures_name_existing_cases(self) -> None:
        known = {c.id for c in load_cases()}
        unknown = sorted(set(self.known_failures()) - known)
        assert not unknown, f"expected_failures.txt of {self.backend!r} names cases that do not exist: {unknown}"


def perturbed_verdict(backend: str, case: Case, constructs: tuple[str, ...]) -> Verdict:
    """The verdict of ``case`` with ``constructs`` perturbed, in the process that runs the backend: its
    isolated child for a backend with native code (a perturbation made here would not reach it)."""
    outcome = run_backend(backend, _run_perturbed, backend, case, constructs)
    return outcome.unwrap()


def _run_perturbed(backend: str, case: Case, constructs: tuple[str, ...]) -> Verdict:
    with all_perturbed(get_backend(backend), constructs):
        return run_case(backend, case, isolate=False)


@cache
def _plugin_failures(backend: str) -> dict[str, str]:
    from ..backends import get_backend
    from ..errors import BackendUnavailableError

    try:
        module = type(get_backend(backend)).__module__
    except BackendUnavailableError:  # not installed: its cases are skipped anyway
        return {}
    return expected_failures_of(module)


def _neuron_label(backend: str, case: Case) -> tuple[NodeLevel, set[str]]:
    """The label of the case's one neuron node and the constructs of its other nodes."""
    labels = explain(case.graph(), case.semantics, backend, case.dtype)
    (label,) = [item for item in labels if item.type in NEURON_TYPES]
    return label, {item.construct for item in labels if item is not label}


def _detail(verdict: Verdict) -> str:
    details = verdict.measures.get("details", {})
    bad = {k: v for k, v in details.items() if v.get("mismatches") or v.get("first_step") is not None or "error" in v}
    return "".join(f"\n  {k}: {v}" for k, v in bad.items())


#: the frameworks nirverse ships simulator plugins for; absent ones are skipped with their install hint
FRAMEWORKS = ("norse", "snntorch", "rockpool", "brian2", "genn", "nengo", "jaxsnn", "sinabs", "nest", "spikingjelly",
              "spyx")


def simulator_backends() -> list[str]:
    """Every simulator backend to test: the project's frameworks plus any registered third-party backend."""
    from ..backends import backend_names

    return sorted((set(FRAMEWORKS) | set(backend_names())) - {"reference"})
