"""Mutation checks of the native / adapted / emulated labels.

``perturbed(construct)`` patches the framework construct a backend names (a dotted path to a class or a
callable) for the duration of a ``with`` block, so that everything it returns is off by ``amount``:
floating tensors and arrays (torch, numpy, jax), also inside tuples, lists, named tuples and dicts. A class
is patched at its update method (the first of ``forward``, ``step``, ``step_math``, ``__call__`` it defines).

A node labelled native or adapted must deviate from the reference under the perturbation; a node labelled
emulated must stay identical while every construct the backend labels native/adapted for a neuron node, and
every framework model it declares (``Backend.framework_models``), is perturbed. A backend whose
framework updates state in place (no return value) overrides :meth:`nirverse.Backend.perturb`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

from .._perturbation import UPDATE_METHODS, perturbed, resolve, shift

__all__ = [
    "UPDATE_METHODS", "perturbed", "resolve", "shift", "single_neuron_cases", "labelled_constructs", "all_perturbed",
]

# -- the kit's mutation check ---------------------------------------------------------------------------

def single_neuron_cases(cases: list[Any]) -> list[Any]:
    """The catalogue cases whose plan has exactly one neuron node: a deviation under a perturbation can only
    come from that node or from the stateless nodes around it (whose constructs are kept apart)."""
    from ..graph import prepare

    chosen = []
    for case in cases:
        plan = prepare(case.graph(), case.semantics)
        if sum(plan.is_neuron(n) for n in plan.order) == 1:
            chosen.append(case)
    return chosen


@functools.cache
def labelled_constructs(backend: str) -> frozenset[str]:
    """What an emulated neuron node must be independent of: every construct ``backend`` labels native or
    adapted for a neuron node of any catalogue case (under that case's semantics and dtype), and the
    framework's own neuron models it declares (:attr:`nirverse.Backend.framework_models`)."""
    from ..api import explain
    from ..backends import get_backend
    from ..levels import ADAPTED, NATIVE
    from ..validation import NEURON_TYPES
    from .catalogue import load_cases

    found: set[str] = set(get_backend(backend).framework_models)
    for case in load_cases():
        found.update(label.construct for label in explain(case.graph(), case.semantics, backend, case.dtype)
                     if label.level in (NATIVE, ADAPTED) and label.type in NEURON_TYPES)
    return frozenset(found)


@contextlib.contextmanager
def all_perturbed(backend: Any, constructs: Iterator[str] | list[str]) -> Iterator[None]:
    """``backend.perturb`` of every construct at once (nested, in sorted order)."""
    with contextlib.ExitStack() as stack:
        for construct in sorted(constructs):
            stack.enter_context(backend.perturb(construct))
        yield
