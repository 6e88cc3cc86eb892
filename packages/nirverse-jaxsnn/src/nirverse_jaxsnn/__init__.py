"""nirverse plugin for jaxsnn: run NIR graphs with jaxsnn's discrete-time modules under a nirverse semantics.

``from_nir(graph, semantics, dtype)`` returns the native :class:`JaxsnnModel` (jaxsnn modules, their
parameters and a jitted ``apply``; use float64 parameters inside ``with precision("float64"):``, which turns
on JAX's x64 for that block only); ``event_from_nir(graph, t_max, max_spikes)`` maps a graph onto jaxsnn's
event-based (exact spike time) simulator. jaxsnn is imported lazily, on first use.
"""

from __future__ import annotations

from nirverse.backends import lazy_attributes, make_from_nir

from ._backend import JaxsnnBackend

__all__ = [
    "EventModel", "JaxsnnBackend", "JaxsnnModel", "event_from_nir", "events_to_raster", "from_nir", "precision",
]


from_nir = make_from_nir(JaxsnnBackend, doc="""The jaxsnn model of ``graph`` (a ``nir.NIRGraph`` or a path) under ``semantics``.

    Refuses (``Unsupported*Error``) what cannot be executed identically, like ``nirverse.run``.
    """)

__getattr__, __dir__ = lazy_attributes(__name__, {
    "JaxsnnModel": "._model", "precision": "._model",
    "EventModel": "._event", "event_from_nir": "._event", "events_to_raster": "._event",
})
