"""Event files through ``faery`` (optional; ``pip install faery``).

``faery.events_stream_from_file(path)`` decodes .aedat4, .es, .raw (EVT 2/2.1/3), .dat and .csv into a
structured array ``t`` (u8, µs), ``x``, ``y`` (u2), ``p`` (bool, titled ``on``), and reports the sensor's
``dimensions() -> (W, H)``. :func:`read_events` returns it in Tonic's own event layout
(``tonic.io.events_struct``: x, y int16, t int64, p bool) with ``sensor_size = (W, H, 2)``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from nirverse import BackendUnavailableError, InvalidInputError

__all__ = ["read_events", "TONIC_EVENTS_DTYPE"]

#: Tonic's ``tonic.io.events_struct``, restated so that reading never needs Tonic itself.
TONIC_EVENTS_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])


def read_events(path: Any, **faery_options: Any) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Read an event file with faery: ``(events, sensor_size)`` in Tonic's layout.

    ``faery_options`` go to ``faery.events_stream_from_file`` (e.g. ``dimensions_fallback`` for files
    whose header has no size).
    """
    try:
        import faery
    except ImportError as exc:
        raise BackendUnavailableError(
            "reading event files needs faery", field="faery", expected="pip install faery"
        ) from exc
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InvalidInputError(f"no such file: {path!r}", field="path", expected="an existing event file")
    try:
        stream = faery.events_stream_from_file(path, **faery_options)
        width, height = (int(v) for v in stream.dimensions())
        raw = stream.to_array()
    except Exception as exc:
        raise InvalidInputError(
            f"faery could not read {path!r}: {type(exc).__name__}: {exc}", field="path",
            expected="an .aedat4, .es, .raw, .dat or .csv event file",
        ) from exc
    if raw.size and int(raw["t"].max()) > np.iinfo(np.int64).max:
        raise InvalidInputError("has timestamps beyond int64 microseconds", field="path")
    events = np.empty(raw.shape[0], dtype=TONIC_EVENTS_DTYPE)
    events["x"], events["y"] = raw["x"], raw["y"]
    events["t"], events["p"] = raw["t"].astype(np.int64), raw["p"]
    return events, (width, height, 2)
