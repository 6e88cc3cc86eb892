"""Patching a framework construct so that its results are off by a small amount (the mutation check of
the node labels, :mod:`nirverse.testing.mutation`, and :meth:`nirverse.Backend.perturb`).

``perturbed(construct)`` patches the construct a backend names (a dotted path to a class or a callable) for
the duration of a ``with`` block, so that everything it returns is off by ``amount``: floating tensors and
arrays (torch, numpy, jax), also inside tuples, lists, named tuples and dicts. A class is patched at its
update method (the first of ``forward``, ``step``, ``step_math``, ``__call__`` it defines). Nothing of the
core is imported here, so that :mod:`nirverse.backends` can use it without an import cycle.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["UPDATE_METHODS", "perturbed", "resolve", "shift"]

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
