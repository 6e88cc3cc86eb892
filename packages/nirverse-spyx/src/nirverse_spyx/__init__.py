"""nirverse plugin for Spyx: run NIR graphs with Spyx's neuron modules, export Spyx models to NIR.

``from_nir(graph, semantics, dtype)`` returns a :class:`SpyxModel` (Spyx / Flax NNX modules stepped by one
jitted ``jax.lax.scan``; float64 runs turn on JAX's x64 for the call only); ``to_nir(model, semantics,
input_shape)`` exports a model built in Spyx (``spyx.nn.Sequential`` of ``nnx.Linear`` and Spyx neurons) or a
:class:`SpyxModel`. Spyx is imported lazily, on first use.
"""

from __future__ import annotations

from typing import Any

from nirverse.backends import lazy_attributes, make_from_nir

from ._backend import SpyxBackend

__all__ = ["SpyxBackend", "SpyxModel", "from_nir", "precision", "to_nir"]


from_nir = make_from_nir(SpyxBackend, doc="""The Spyx model of ``graph`` (a ``nir.NIRGraph`` or a path) under ``semantics``.

    Refuses (``Unsupported*Error``) what cannot be executed identically, like ``nirverse.run``.
    """)

def to_nir(model: Any, semantics: Any, input_shape: Any = None):
    """A ``nir.NIRGraph`` whose run under ``semantics`` equals ``model``'s own run (see ``_to_nir``)."""
    from ._to_nir import to_nir as _to_nir

    return _to_nir(model, semantics, input_shape=input_shape)


__getattr__, __dir__ = lazy_attributes(__name__, {"SpyxModel": "._model", "precision": "._model"})
