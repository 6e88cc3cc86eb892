"""nirverse-tonic: Tonic event data into any NIR graph, on any nirverse backend.

A *data* plugin, not a simulator backend: it registers no ``nirverse.backends`` entry point.

* :func:`to_event_data` / :func:`from_event_data` -- Tonic events <-> ``nir.EventData``;
* :func:`to_time_gridded` / :func:`from_time_gridded` -- Tonic events <-> ``nir.TimeGriddedData`` at ``dt``;
* :class:`ToGraphInput` -- a Tonic-style transform: events -> a graph's ``(batch, time, *input_shape)``
  input, binned at the semantics' ``dt`` exactly like ``tonic.transforms.ToFrame(time_window=...)``;
* :func:`batches` -- a Tonic dataset (or a list of event arrays) -> batches for :func:`nirverse.run`;
* :func:`read_events` -- event files (.aedat4, .es, .raw, .dat, .csv) through ``faery``, if installed.

Nothing here imports Tonic or faery at import time (attributes load lazily).
"""

from __future__ import annotations

from nirverse.backends import lazy_attributes

__all__ = [
    "EVENTS_DTYPE",
    "ToGraphInput",
    "batches",
    "from_event_data",
    "from_time_gridded",
    "read_events",
    "to_event_data",
    "to_time_gridded",
]

_LAZY = {
    "EVENTS_DTYPE": "._events",
    "ToGraphInput": "._transform",
    "batches": "._dataset",
    "from_event_data": "._nir_data",
    "from_time_gridded": "._nir_data",
    "read_events": "._faery",
    "to_event_data": "._nir_data",
    "to_time_gridded": "._nir_data",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
