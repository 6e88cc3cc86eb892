r"""``ToGraphInput``: a Tonic-style transform from an event stream to a NIR graph's input.

Binning is Tonic's ``ToFrame(sensor_size, time_window=w)`` with :math:`w = 10^6\,dt` µs (``dt`` from
the semantics): step ``k`` counts, per ``(p, y, x)``, the events with
:math:`s + k w \le t < s + k w + w`. With ``start_time=s`` and ``n_steps=n`` the frames equal
``ToFrame(sensor_size, time_window=w, start_time=s, end_time=s + n*w + w/2)`` exactly (a test
compares them). Differences from ``ToFrame``'s defaults, chosen so that a batch has one time grid:

* ``start_time`` defaults to 0 (the recording's origin), not to the first event; ``None`` is Tonic's
  choice.
* ``n_steps`` defaults to the fewest steps holding every event, where ``ToFrame`` drops the last,
  incomplete window (``include_incomplete=False``), and with ``include_incomplete=True`` still drops
  an event lying exactly on the end of the last window.
* events need not be sorted by time (Tonic's ``searchsorted`` assumes they are); the caller's array
  is never modified (``ToFrame`` writes ``p = 0`` into it for a single-polarity sensor).

Graphs whose time constants count *steps* rather than seconds (Sinabs exports: ``IF`` with ``r = 1``
reproduces Sinabs' ``v += x`` only at ``dt = 1``) run at ``dt = 1`` while their data are binned at a
physical window: ``time_window`` (µs) overrides :math:`10^6\,dt` for that case, explicitly.

One ``(P, H, W)`` frame is then laid out as the graph's Input shape: ``(P, H, W)`` itself, the
same with size-1 axes left out (e.g. ``(P, W)`` for audio sensors without ``y``), or flattened
(``P*H*W``, C order -- the layout of :mod:`nirverse_tonic._nir_data`).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from nirverse import InvalidInputError, Semantics, prepare

from ._events import (
    as_event_list,
    bin_events,
    check_grid_size,
    check_n_steps,
    check_sensor_size,
    check_start,
    event_fields,
    neuron_index,
    snap_us,
    window_us,
)
from ._nir_data import default_n_steps

__all__ = ["ToGraphInput", "accepted_shapes"]


def accepted_shapes(sensor_size: tuple[int, int, int]) -> list[tuple[int, ...]]:
    """Input shapes a ``(P, H, W)`` frame can be laid out as: itself, size-1 axes dropped, flattened."""
    W, H, P = sensor_size
    frame = (P, H, W)
    shapes = [frame]
    ones = [i for i, v in enumerate(frame) if v == 1]
    for r in range(1, len(ones) + 1):
        for drop in itertools.combinations(ones, r):
            shape = tuple(v for i, v in enumerate(frame) if i not in drop)
            if shape and shape not in shapes:
                shapes.append(shape)
    flat = (P * H * W,)
    if flat not in shapes:
        shapes.append(flat)
    return shapes


class ToGraphInput:
    """Events -> ``(time, *input_shape)`` float64 counts for ``graph``'s Input, at ``semantics.dt``.

    ``transform(events)`` returns one sample (usable as a Tonic dataset ``transform``);
    ``transform.batch(list_of_events)`` returns ``(batch, time, *input_shape)`` for
    :func:`nirverse.run`, every sample on the same ``n_steps`` grid (the longest, unless given).
    ``input`` names the Input node when the graph has several; ``time_window`` (µs) replaces
    ``semantics.dt * 1e6`` for graphs in step units (see the module docstring).
    """

    def __init__(
        self,
        graph: Any,
        semantics: Semantics,
        sensor_size: Any,
        n_steps: int | None = None,
        start_time: float | None = 0,
        input: str | None = None,
        time_window: float | None = None,
    ) -> None:
        if not isinstance(semantics, Semantics):
            raise InvalidInputError(
                f"got {type(semantics).__name__}", field="semantics", expected="a nirverse.Semantics"
            )
        plan = prepare(graph, semantics)
        if input is None:
            if len(plan.inputs) != 1:
                raise InvalidInputError(
                    f"the graph has {len(plan.inputs)} Input nodes {list(plan.inputs)}", field="input",
                    expected="input=<name of the Input node the events feed>",
                )
            input = plan.inputs[0]
        elif input not in plan.inputs:
            raise InvalidInputError(f"unknown Input node {input!r}", field="input", expected="one of " + ", ".join(plan.inputs))
        self.sensor_size = check_sensor_size(sensor_size)
        self.input = input
        self.input_shape = tuple(plan.out_shapes[input])
        shapes = accepted_shapes(self.sensor_size)
        if self.input_shape not in shapes:
            raise InvalidInputError(
                f"has shape {self.input_shape}, which events of sensor_size {self.sensor_size} (frames (P, H, W)) "
                "cannot fill", node=input, field="shape", expected=" or ".join(map(str, shapes)),
            )
        self.semantics = semantics
        self.dt = semantics.dt
        self.window = window_us(semantics.dt) if time_window is None else snap_us(_positive(time_window, "time_window"))
        self.n_steps = None if n_steps is None else check_n_steps(n_steps)
        self.start_time = None if start_time is None else check_start(start_time)

    def __repr__(self) -> str:
        return (
            f"ToGraphInput(input={self.input!r}, input_shape={self.input_shape}, sensor_size={self.sensor_size}, "
            f"time_window={self.window} us, n_steps={self.n_steps}, start_time={self.start_time})"
        )

    def __call__(self, events: Any) -> np.ndarray:
        """One event stream -> ``(time, *input_shape)``."""
        return self._frames([events], self.n_steps)[0]

    def batch(self, events: Any) -> np.ndarray:
        """A list of event streams (or one) -> ``(batch, time, *input_shape)``, ready for ``nirverse.run``."""
        return self._frames(as_event_list(events), self.n_steps)

    def frames(self, events: Any, n_steps: int | None = None) -> np.ndarray:
        """Tonic's own frame layout ``(time, P, H, W)`` (``(time, P, W)`` without ``y``) for one stream."""
        ev = np.asarray(events)
        out = self._frames([ev], n_steps if n_steps is not None else self.n_steps, layout="frame")[0]
        if ev.dtype.names is not None and "y" not in ev.dtype.names:
            out = out[:, :, 0, :]
        return out

    def _frames(self, samples: list[Any], n_steps: int | None, layout: str = "input") -> np.ndarray:
        if not samples:
            raise InvalidInputError("is empty", field="events", expected="at least one event stream")
        W, H, P = self.sensor_size
        fields = [
            event_fields(ev, self.sensor_size, name=f"events[{i}]", single_polarity_any=True)
            for i, ev in enumerate(samples)
        ]
        starts = [self._start_of(f[2]) for f in fields]
        if n_steps is None:
            n_steps = max(default_n_steps([f[2]], s, self.window) for f, s in zip(fields, starts, strict=True))
        per_step = P * H * W
        check_grid_size(len(samples), n_steps, per_step)
        frames = np.zeros((len(samples), n_steps * per_step), dtype=np.float64)
        for i, ((x, y, t, p), s) in enumerate(zip(fields, starts, strict=True)):
            steps, ev = bin_events(t, s, self.window, n_steps)
            flat = steps * per_step + neuron_index(x[ev], y[ev], p[ev], self.sensor_size)
            np.add.at(frames[i], flat, 1.0)
        frames = frames.reshape(len(samples), n_steps, P, H, W)
        if layout == "frame":
            return frames
        return frames.reshape(len(samples), n_steps, *self.input_shape)

    def _start_of(self, t: np.ndarray) -> float:
        if self.start_time is not None:
            return self.start_time
        return float(np.min(t)) if len(t) else 0.0


def _positive(value: Any, field: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
        np.isfinite(value) and value > 0
    ):
        raise InvalidInputError(f"got {value!r}", field=field, expected="a finite number of microseconds > 0")
    return float(value)
