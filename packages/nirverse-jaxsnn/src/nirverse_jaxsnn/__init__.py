"""nirverse plugin for jaxsnn: run NIR graphs with jaxsnn's discrete-time modules under a nirverse semantics.

``from_nir(graph, semantics, dtype)`` returns the native :class:`JaxsnnModel` (jaxsnn modules, their
parameters and a jitted ``apply``; use float64 parameters inside ``with precision("float64"):``, which turns
on JAX's x64 for that block only); ``event_from_nir(graph, t_max, max_spikes)`` maps a graph onto jaxsnn's
event-based (exact spike time) simulator. jaxsnn is imported lazily, on first use.
"""

from __future__ import annotations

from typing import Any

from ._backend import JaxsnnBackend

__all__ = [
    "EventModel", "JaxsnnBackend", "JaxsnnModel", "event_from_nir", "events_to_raster", "from_nir", "precision",
]

_LAZY = {
    "JaxsnnModel": "._model", "precision": "._model",
    "EventModel": "._event", "event_from_nir": "._event", "events_to_raster": "._event",
}


def from_nir(graph: Any, semantics: Any, dtype: str = "float64"):
    """The jaxsnn model of ``graph`` (a ``nir.NIRGraph`` or a path) under ``semantics``.

    Refuses (``Unsupported*Error``) what cannot be executed identically, like ``nirverse.run``.
    """
    from nirverse.graph import prepare

    from ._model import build_model

    plan = prepare(graph, semantics)
    JaxsnnBackend().check_support(plan, semantics, dtype)
    return build_model(plan, dtype)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
