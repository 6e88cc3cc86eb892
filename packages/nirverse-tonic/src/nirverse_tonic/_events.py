r"""Tonic event arrays: validation, the neuron layout they share with NIR data, and the time grid.

A Tonic event stream is a numpy structured array with fields ``x``, ``t`` (microseconds), ``p`` and,
for 2-D sensors, ``y``; ``sensor_size`` is ``(W, H, P)`` (``H = 1`` for sensors without ``y``).

**Neuron layout.** One frame of Tonic's ``ToFrame`` is a ``(P, H, W)`` array (``frames[k, p, y, x]``).
NIR data (``EventData.idx``, ``TimeGriddedData.data[..., n]``) number neurons in the C order of that
frame, so a graph whose Input is ``(2, 34, 34)`` or flattened ``(2312,)`` reads them unchanged:

.. math:: n = p \cdot H W + y \cdot W + x, \qquad
          p = \lfloor n / HW \rfloor,\; y = \lfloor n / W \rfloor \bmod H,\; x = n \bmod W.

**Time grid.** A time step of ``dt`` seconds is a window of :math:`w = 10^6\,dt` microseconds (taken
as the nearest whole number when within a relative 1e-9, so ``dt = 1e-3`` is exactly 1000 µs). Step
``k`` covers :math:`[s + k w,\ s + k w + w)` with :math:`s` the start time -- Tonic's
``SliceByTime`` windows, computed with the same floating-point operations (``tonic/slicers.py``,
``SliceByTime.get_slice_metadata``: ``arange(n) * stride + start``, ``+ time_window``, ``searchsorted``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from nirverse import InvalidInputError, TooLargeError
from nirverse.graph import MAX_ELEMENTS

__all__ = [
    "EVENTS_DTYPE",
    "SensorSize",
    "check_sensor_size",
    "event_fields",
    "as_event_list",
    "window_us",
    "snap_us",
    "bin_events",
    "check_grid_size",
    "check_n_steps",
    "check_start",
    "neuron_index",
    "neuron_coords",
]

#: The dtype :func:`from_event_data` / :func:`from_time_gridded` produce by default (Tonic's N-MNIST layout).
EVENTS_DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])

SensorSize = tuple[int, int, int]


def check_sensor_size(sensor_size: Any) -> SensorSize:
    """``sensor_size`` as ``(W, H, P)`` positive ints, or :class:`InvalidInputError`."""
    try:
        size = tuple(int(v) for v in sensor_size)
        ok = len(size) == 3 and all(v > 0 and v == s for v, s in zip(size, sensor_size, strict=True))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidInputError(
            f"got {sensor_size!r}", field="sensor_size", expected="(W, H, P): three positive integers, as Tonic's"
        )
    return size  # type: ignore[return-value]


def event_fields(events: Any, sensor_size: SensorSize, *, name: str = "events", single_polarity_any: bool = False):
    """Checked ``(x, y, t, p)`` int64/float arrays of one event stream.

    ``x``/``y``/``p`` must be whole numbers inside the sensor (``y`` may be absent when ``H == 1``);
    ``t`` finite. With ``single_polarity_any`` (Tonic's ``ToFrame`` rule for ``P == 1``), any single
    polarity value is accepted and mapped to channel 0; otherwise ``0 <= p < P``.
    """
    W, H, P = sensor_size
    arr = np.asarray(events)
    names = arr.dtype.names or ()
    if arr.ndim != 1 or not {"x", "t", "p"} <= set(names):
        raise InvalidInputError(
            f"has dtype {arr.dtype} and shape {arr.shape}", field=name,
            expected="a 1-D numpy structured array with fields x, t, p (and y), as Tonic's events",
        )
    if "y" not in names and H != 1:
        raise InvalidInputError("has no field 'y'", field=name, expected=f"a 'y' field for sensor height {H}")
    t = arr["t"]
    if not (np.issubdtype(t.dtype, np.integer) or np.issubdtype(t.dtype, np.floating)):
        raise InvalidInputError(f"has dtype {t.dtype}", field=f"{name}.t", expected="integer or float microseconds")
    if t.size and not np.all(np.isfinite(t)):
        raise InvalidInputError("contains NaN or inf", field=f"{name}.t", expected="finite microseconds")
    x = _whole(arr["x"], f"{name}.x", W)
    y = _whole(arr["y"], f"{name}.y", H) if "y" in names else np.zeros(len(arr), dtype=np.int64)
    praw = arr["p"]
    if P == 1 and single_polarity_any:
        if np.unique(praw).size > 1:
            raise InvalidInputError(
                "holds several polarity values for a single-polarity sensor", field=f"{name}.p",
                expected="one polarity value when sensor_size[2] == 1 (Tonic's ToFrame rule)",
            )
        p = np.zeros(len(arr), dtype=np.int64)
    else:
        p = _whole(praw, f"{name}.p", P)
    return x, y, t, p


def _whole(values: np.ndarray, field: str, size: int) -> np.ndarray:
    if values.dtype == bool:
        out = values.astype(np.int64)
    elif np.issubdtype(values.dtype, np.integer):
        out = values.astype(np.int64)
    elif np.issubdtype(values.dtype, np.floating) and np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        out = values.astype(np.int64)
    else:
        raise InvalidInputError(f"has non-integer values (dtype {values.dtype})", field=field, expected="whole numbers")
    if out.size and (out.min() < 0 or out.max() >= size):
        raise InvalidInputError(
            f"has values in [{out.min()}, {out.max()}]", field=field, expected=f"0 <= value < {size} (sensor_size)"
        )
    return out


def as_event_list(events: Any) -> list[Any]:
    """One structured array -> ``[events]``; a sequence of them -> a list."""
    if isinstance(events, np.ndarray) and events.dtype.names is not None:
        return [events]
    if isinstance(events, Sequence) or isinstance(events, np.ndarray):
        return list(events)
    raise InvalidInputError(
        f"got {type(events).__name__}", field="events", expected="a Tonic event array or a list of them"
    )


def window_us(dt: float) -> float | int:
    """The time step ``dt`` (seconds) in microseconds; a whole number when within relative 1e-9."""
    if isinstance(dt, (bool, np.bool_)) or not isinstance(dt, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"got {dt!r}", field="dt", expected="a finite number of seconds > 0")
    if not (math.isfinite(dt) and dt > 0):
        raise InvalidInputError(f"got {dt!r}", field="dt", expected="a finite number of seconds > 0")
    return snap_us(float(dt) * 1e6)


def snap_us(w: float) -> float | int:
    """A window in µs, as a whole number when within relative 1e-9 of one."""
    r = round(w)
    if r >= 1 and abs(w - r) <= 1e-9 * w:
        return int(r)
    return w


def neuron_index(x: np.ndarray, y: np.ndarray, p: np.ndarray, sensor_size: SensorSize) -> np.ndarray:
    """Flat neuron index ``p*H*W + y*W + x`` (C order of a ``(P, H, W)`` frame)."""
    W, H, _ = sensor_size
    return (p * H + y) * W + x


def neuron_coords(n: np.ndarray, sensor_size: SensorSize) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`neuron_index`: ``(x, y, p)``."""
    W, H, _ = sensor_size
    return n % W, (n // W) % H, n // (W * H)


def bin_events(
    t: np.ndarray, start: float, window: float, n_steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(step, event)`` index pairs: event ``e`` lies in step ``k`` when ``start_k <= t_e < start_k + w``.

    ``start_k = k * w + start`` as Tonic computes it, so frames equal Tonic's bit for bit even where
    float rounding makes neighbouring windows overlap or leave a gap. Events need not be sorted.
    """
    order = np.argsort(t, kind="stable")
    ts = t[order]
    starts = np.arange(n_steps) * window + start
    ends = starts + window
    lo = np.searchsorted(ts, starts)
    hi = np.searchsorted(ts, ends)
    counts = np.maximum(hi - lo, 0)
    steps = np.repeat(np.arange(n_steps), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return steps, order[np.repeat(lo, counts) + offsets]


def check_grid_size(n_samples: int, n_steps: int, per_step: int) -> None:
    """Refuse a dense ``(samples, steps, per_step)`` grid beyond the core's ``MAX_ELEMENTS``."""
    if n_samples * n_steps * per_step > MAX_ELEMENTS:
        raise TooLargeError(
            f"{n_samples} samples x {n_steps} steps x {per_step} values per step", field="n_steps",
            expected=f"at most {MAX_ELEMENTS} values in all (NIRVERSE_MAX_ELEMENTS); a larger dt or fewer steps",
        )


def check_start(start_time: Any) -> float:
    """A finite start time in µs, or :class:`InvalidInputError`."""
    if isinstance(start_time, (bool, np.bool_)) or not isinstance(start_time, (int, float, np.integer, np.floating)) or not math.isfinite(start_time):
        raise InvalidInputError(f"got {start_time!r}", field="start_time", expected="finite microseconds")
    return start_time


def check_n_steps(n_steps: Any) -> int:
    """An integer step count >= 1, or :class:`InvalidInputError`."""
    if isinstance(n_steps, (bool, np.bool_)) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise InvalidInputError(f"got {n_steps!r}", field="n_steps", expected="an integer >= 1")
    return int(n_steps)
