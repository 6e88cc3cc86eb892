"""nirverse plugin for Spyx: run NIR graphs with Spyx's neuron modules, export Spyx models to NIR.

``from_nir(graph, semantics, dtype)`` returns a :class:`SpyxModel` (Spyx / Flax NNX modules stepped by one
jitted ``jax.lax.scan``; float64 runs turn on JAX's x64 for the call only); ``to_nir(model, semantics,
input_shape)`` exports a model built in Spyx (``spyx.nn.Sequential`` of ``nnx.Linear`` and Spyx neurons) or a
:class:`SpyxModel`. Spyx is imported lazily, on first use.
"""

from __future__ import annotations

from typing import Any

from ._backend import SpyxBackend

__all__ = ["SpyxBackend", "SpyxModel", "from_nir", "precision", "to_nir"]

_LAZY = {"SpyxModel": "._model", "precision": "._model"}


def from_nir(graph: Any, semantics: Any, dtype: str = "float64"):
    """The Spyx model of ``graph`` (a ``nir.NIRGraph`` or a path) under ``semantics``.

    Refuses (``Unsupported*Error``) what cannot be executed identically, like ``nirverse.run``.
    """
    from nirverse.graph import prepare

    plan = prepare(graph, semantics)
    backend = SpyxBackend()
    backend.check_support(plan, semantics, dtype)
    return backend.build(plan, dtype)


def to_nir(model: Any, semantics: Any, input_shape: Any = None):
    """A ``nir.NIRGraph`` whose run under ``semantics`` equals ``model``'s own run (see ``_to_nir``)."""
    from ._to_nir import to_nir as _to_nir

    return _to_nir(model, semantics, input_shape=input_shape)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
