r"""Tonic events <-> NIR data (``nir.EventData``, ``nir.TimeGriddedData``).

========================  =====================================  ===========================================
Tonic                     ``nir.EventData``                      ``nir.TimeGriddedData`` (``dt``)
========================  =====================================  ===========================================
``x, y, p``               ``idx = p*H*W + y*W + x``              neuron axis ``n = p*H*W + y*W + x``
``t`` (µs)                ``time = t / 1e6`` (s)                 step ``k``: ``s + k*w <= t < s + k*w + w``
several samples           rows, padded with ``idx=-1, time=inf``  rows ``data[sample]``
events per bin                                                   ``data[sample, k, n]`` = count (or bool)
========================  =====================================  ===========================================

with ``w = dt * 1e6`` µs and ``s`` the start time (µs, default 0 -- NIR's time origin).

**Loss-free:** events -> ``EventData`` -> events (order, duplicates and dtype kept; times come back
exactly for whole-microsecond timestamps, every Tonic dataset's case); ``TimeGriddedData`` (counts) ->
events -> ``TimeGriddedData``; events whose times lie on the grid (``t = s + k*w``) -> ``TimeGriddedData``
-> events (the same multiset; events come back sorted by time, then neuron).

**Not loss-free, by the formats:** ``TimeGriddedData`` keeps only the step of an event (sub-step timing
becomes the step's start time ``s + k*w``) and not the order within a step; ``binary=True`` keeps
only whether a neuron had an event in a step (NIR's boolean convention); events outside the
``n_steps`` windows are dropped; ``EventData`` cannot hold the value of the polarity field of a
single-polarity sensor (it must be 0 here); times that are not whole microseconds are refused
when converted back into an integer ``t`` field rather than rounded.
"""

from __future__ import annotations

import math
from typing import Any

import nir
import numpy as np
from nirverse import InvalidInputError

from ._events import (
    EVENTS_DTYPE,
    as_event_list,
    bin_events,
    check_grid_size,
    check_n_steps,
    check_sensor_size,
    check_start,
    event_fields,
    neuron_coords,
    neuron_index,
    window_us,
)

__all__ = ["to_event_data", "from_event_data", "to_time_gridded", "from_time_gridded", "default_n_steps"]

#: Whole-µs check when writing NIR times (s) back to an integer ``t`` field: 1 ns, plus the float64
#: error of ``t / 1e6 * 1e6`` (at most 2**-52 relative), so round trips stay exact up to 1e15 µs.
_US_TOL = 1e-3
_US_REL = 4e-16


def to_event_data(events: Any, sensor_size: Any, t_max: float | None = None) -> nir.EventData:
    """Tonic events (one array or a list, one per sample) -> ``nir.EventData``.

    ``t_max`` (seconds) defaults to the latest event time; it must not be earlier than any event.
    """
    size = check_sensor_size(sensor_size)
    samples = as_event_list(events)
    if not samples:
        raise InvalidInputError("is empty", field="events", expected="at least one sample")
    rows = []
    for i, ev in enumerate(samples):
        x, y, t, p = event_fields(ev, size, name=f"events[{i}]")
        rows.append((neuron_index(x, y, p, size), np.asarray(t, dtype=np.float64) / 1e6))
    width = max(len(r[0]) for r in rows)
    idx = np.full((len(rows), width), -1, dtype=np.int64)
    time = np.full((len(rows), width), np.inf)
    for i, (n, s) in enumerate(rows):
        idx[i, : len(n)] = n
        time[i, : len(s)] = s
    latest = max((float(s.max()) for _, s in rows if s.size), default=0.0)
    if t_max is None:
        t_max = latest
    elif not (isinstance(t_max, (int, float, np.integer, np.floating)) and math.isfinite(t_max) and t_max >= latest):
        raise InvalidInputError(f"got {t_max!r}", field="t_max", expected=f"seconds >= the latest event ({latest})")
    return nir.EventData(idx=idx, time=time, n_neurons=int(np.prod(size)), t_max=float(t_max))


def from_event_data(data: nir.EventData, sensor_size: Any, dtype: Any = EVENTS_DTYPE) -> list[np.ndarray]:
    """``nir.EventData`` -> one Tonic event array per sample (entries with ``idx == -1`` are padding)."""
    size = check_sensor_size(sensor_size)
    if not isinstance(data, nir.EventData):
        raise InvalidInputError(f"got {type(data).__name__}", field="data", expected="a nir.EventData")
    n_neurons = int(np.prod(size))
    if int(data.n_neurons) != n_neurons:
        raise InvalidInputError(
            f"has n_neurons={data.n_neurons}", field="n_neurons", expected=f"W*H*P = {n_neurons} for sensor_size {size}"
        )
    idx = np.asarray(data.idx)
    time = np.asarray(data.time, dtype=np.float64)
    if idx.ndim != 2 or not np.issubdtype(idx.dtype, np.integer):
        raise InvalidInputError(f"has shape {idx.shape}, dtype {idx.dtype}", field="idx", expected="(n_samples, n_events) integers")
    valid = idx != -1
    if np.any((idx < -1) | (idx >= n_neurons)):
        raise InvalidInputError("holds indices outside the sensor", field="idx", expected=f"-1 (padding) or 0..{n_neurons - 1}")
    if not np.all(np.isfinite(time[valid])):
        raise InvalidInputError("has non-finite times for real events", field="time", expected="finite seconds")
    dtype = _events_dtype(dtype, size)
    return [_events(idx[i][valid[i]], time[i][valid[i]] * 1e6, size, dtype) for i in range(idx.shape[0])]


def default_n_steps(times: list[np.ndarray], start: float, window: float) -> int:
    """Fewest steps whose windows hold every event at or after ``start`` (at least 1)."""
    latest = max((float(np.max(t)) for t in times if len(t)), default=None)
    if latest is None or latest < start:
        return 1
    n = int(math.floor((latest - start) / window)) + 1
    while n * window + start <= latest:  # float rounding at a window edge; (n-1)*w + start + w as Tonic does
        n += 1
    return n


def to_time_gridded(
    events: Any,
    sensor_size: Any,
    dt: float,
    n_steps: int | None = None,
    start_time: float = 0,
    binary: bool = False,
) -> nir.TimeGriddedData:
    """Tonic events -> ``nir.TimeGriddedData`` ``(n_samples, n_steps, W*H*P)`` at ``dt`` seconds.

    ``data[s, k, n]`` counts the events of neuron ``n`` in step ``k`` (int64), or is ``bool`` with
    ``binary=True``. ``n_steps`` defaults to the fewest steps holding every event of every sample;
    ``start_time`` (µs) is the start of step 0 (events before it are dropped, as by Tonic).
    """
    size = check_sensor_size(sensor_size)
    window = window_us(dt)
    samples = as_event_list(events)
    if not samples:
        raise InvalidInputError("is empty", field="events", expected="at least one sample")
    fields = [event_fields(ev, size, name=f"events[{i}]") for i, ev in enumerate(samples)]
    start = check_start(start_time)
    n = default_n_steps([f[2] for f in fields], start, window) if n_steps is None else check_n_steps(n_steps)
    n_neurons = int(np.prod(size))
    check_grid_size(len(samples), n, n_neurons)
    counts = np.zeros((len(samples), n * n_neurons), dtype=np.int64)
    for i, (x, y, t, p) in enumerate(fields):
        steps, ev = bin_events(t, start, window, n)
        flat = steps * n_neurons + neuron_index(x[ev], y[ev], p[ev], size)
        np.add.at(counts[i], flat, 1)
    counts = counts.reshape(len(samples), n, n_neurons)
    return nir.TimeGriddedData(counts > 0 if binary else counts, float(dt))


def from_time_gridded(
    data: nir.TimeGriddedData, sensor_size: Any, start_time: float = 0, dtype: Any = EVENTS_DTYPE
) -> list[np.ndarray]:
    """``nir.TimeGriddedData`` of event counts (bool or whole numbers >= 0) -> Tonic events per sample.

    A count ``c`` at ``(k, n)`` becomes ``c`` events at ``t = start_time + k*w`` µs, sorted by time,
    then neuron.
    """
    size = check_sensor_size(sensor_size)
    if not isinstance(data, nir.TimeGriddedData):
        raise InvalidInputError(f"got {type(data).__name__}", field="data", expected="a nir.TimeGriddedData")
    arr = np.asarray(data.data)
    n_neurons = int(np.prod(size))
    if arr.ndim != 3 or arr.shape[2] != n_neurons:
        raise InvalidInputError(
            f"has shape {arr.shape}", field="data", expected=f"(n_samples, n_steps, {n_neurons}) for sensor_size {size}"
        )
    if arr.dtype != bool:
        if not (np.issubdtype(arr.dtype, np.number) and np.all(np.isfinite(arr)) and np.all(arr >= 0) and np.all(arr == np.round(arr))):
            raise InvalidInputError(
                "holds values that are not event counts", field="data",
                expected="bool or whole numbers >= 0 (a real-valued signal has no event form)",
            )
    counts = arr.astype(np.int64)
    window = window_us(float(data.dt))
    start = check_start(start_time)
    dtype = _events_dtype(dtype, size)
    out = []
    for sample in counts:
        k, n = np.nonzero(sample)
        reps = sample[k, n]
        k, n = np.repeat(k, reps), np.repeat(n, reps)
        out.append(_events(n, k * window + start, size, dtype))
    return out


def _events(n: np.ndarray, t_us: np.ndarray, size, dtype: np.dtype) -> np.ndarray:
    x, y, p = neuron_coords(np.asarray(n, dtype=np.int64), size)
    out = np.zeros(len(x), dtype=dtype)
    out["x"], out["p"] = x, p
    if "y" in dtype.names:
        out["y"] = y
    if np.issubdtype(dtype["t"], np.integer):
        r = np.round(t_us)
        if r.size and np.any(np.abs(t_us - r) > _US_TOL + _US_REL * np.abs(r)):
            raise InvalidInputError(
                "holds times that are not whole microseconds", field="time",
                expected="a dtype with a float 't' field to keep them",
            )
        t_us = r
    out["t"] = t_us
    return out


def _events_dtype(dtype: Any, size) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise InvalidInputError(f"got {dtype!r}", field="dtype", expected="a numpy structured dtype") from exc
    names = dt.names or ()
    if not {"x", "t", "p"} <= set(names) or ("y" not in names and size[1] != 1):
        raise InvalidInputError(f"got {dt}", field="dtype", expected="fields x, t, p and (unless H == 1) y")
    return dt
