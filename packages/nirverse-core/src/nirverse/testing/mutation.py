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
import importlib
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["perturbed", "resolve", "shift", "single_neuron_cases", "labelled_constructs", "all_perturbed"]

UPDATE_METHODS = ("forward", "step", "step_math", "__call__")


def resolve(construct: str) -> tuple[Any, str, Any]:
    """``(owner, attribute, object)`` for a dotted name: the longest importable module prefix, then attributes."""
    parts = construct.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        rest = parts[cut:]
        if not rest:
            raise ValueError(f"{construct!r} names a module, not a class or callable")
        for attr in rest[:-1]:
            owner = getattr(owner, attr)
        return owner, rest[-1], getattr(owner, rest[-1])
    raise ValueError(f"{construct!r} does not start with an importable module")


def shift(value: Any, amount: float) -> Any:
    """``value`` with ``amount`` added to every floating array or tensor in it (containers are rebuilt)."""
    if hasattr(value, "is_floating_point") and callable(value.is_floating_point):  # torch
        return value + amount if value.is_floating_point() else value
    if hasattr(value, "dtype") and hasattr(value, "shape"):  # numpy and jax arrays
        try:
            floating = np.dtype(value.dtype).kind == "f"
        except TypeError:
            floating = False
        return value + amount if floating else value
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(shift(v, amount) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(shift(v, amount) for v in value)
    if isinstance(value, dict):
        return {k: shift(v, amount) for k, v in value.items()}
    return value


def _update_method(cls: type) -> str:
    for name in UPDATE_METHODS:
        if any(name in vars(klass) for klass in cls.__mro__ if klass is not object):
            return name
    raise ValueError(f"{cls.__qualname__} has none of the update methods {UPDATE_METHODS}")


@contextlib.contextmanager
def perturbed(construct: str, amount: float = 1e-3) -> Iterator[None]:
    """Within the block, ``construct``'s results are off by ``amount``."""
    owner, attr, obj = resolve(construct)
    if isinstance(obj, type):
        owner, attr = obj, _update_method(obj)
    original = owner.__dict__.get(attr, None) if isinstance(owner, type) else getattr(owner, attr)
    target = getattr(owner, attr)
    if isinstance(original, (staticmethod, classmethod)):
        target = original.__func__

    @functools.wraps(target)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return shift(target(*args, **kwargs), amount)

    replacement: Any = wrapper
    if isinstance(original, staticmethod):
        replacement = staticmethod(wrapper)
    elif isinstance(original, classmethod):
        replacement = classmethod(wrapper)
    setattr(owner, attr, replacement)
    try:
        yield
    finally:
        if isinstance(owner, type) and original is None:
            delattr(owner, attr)  # the method was inherited: restore inheritance
        else:
            setattr(owner, attr, original)


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
