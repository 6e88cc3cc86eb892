r"""The execution semantics: the one definition of what a NIR graph does in a time step.

A NIR file declares continuous-time dynamics only. :class:`Semantics` fixes the four choices a
simulator must make to execute it (see the *Semantics* page of the docs):

* ``dt`` -- the time step in seconds;
* ``method`` -- the leak discretisation factor :math:`\kappa(\tau)`:
  ``"euler"`` :math:`\kappa = \Delta t/\tau`, ``"exp"`` :math:`\kappa = 1 - e^{-\Delta t/\tau}`;
* ``reset`` -- after a spike ``"value"`` :math:`v \leftarrow v_{reset}` or
  ``"subtract"`` :math:`v \leftarrow v - v_{thr}`;
* ``latency`` -- ``"immediate"`` (an edge delivers the same step's value) or ``"one-step"``
  (edges leaving a neuron deliver the previous step's value, as in event-driven simulators).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InvalidSemanticsError

__all__ = ["Semantics", "METHODS", "RESETS", "LATENCIES"]

METHODS = ("euler", "exp")
RESETS = ("value", "subtract")
LATENCIES = ("immediate", "one-step")

_METADATA_PREFIX = "nirverse.semantics."


@dataclass(frozen=True)
class Semantics:
    """How a NIR graph is executed in discrete time.

    >>> Semantics(1e-3, method="exp", reset="subtract")
    Semantics(dt=0.001, method='exp', reset='subtract', latency='immediate')
    """

    dt: float
    method: str = "euler"
    reset: str = "value"
    latency: str = "immediate"

    def __post_init__(self) -> None:
        dt = self.dt
        if isinstance(dt, (bool, np.bool_)) or not isinstance(dt, (int, float, np.integer, np.floating)):
            raise InvalidSemanticsError(
                f"got {dt!r} of type {type(dt).__name__}", field="dt", expected="a finite number of seconds > 0"
            )
        dt = float(dt)
        if not math.isfinite(dt) or dt <= 0.0:
            raise InvalidSemanticsError(f"got {dt!r}", field="dt", expected="a finite number of seconds > 0")
        object.__setattr__(self, "dt", dt)
        for knob, allowed in (("method", METHODS), ("reset", RESETS), ("latency", LATENCIES)):
            value = getattr(self, knob)
            if not isinstance(value, str) or value not in allowed:
                raise InvalidSemanticsError(
                    f"unknown value {value!r}", field=knob, expected="one of " + ", ".join(map(repr, allowed))
                )

    def kappa(self, tau: np.ndarray) -> np.ndarray:
        r"""Leak factor :math:`\kappa(\tau)`: :math:`\Delta t/\tau` (euler) or :math:`1-e^{-\Delta t/\tau}` (exp)."""
        tau = np.asarray(tau, dtype=np.float64)
        if self.method == "euler":
            return self.dt / tau
        return -np.expm1(-self.dt / tau)

    def to_metadata(self) -> dict[str, Any]:
        """A flat dict (NIR metadata supports flat dicts only) that :meth:`from_metadata` reads back."""
        return {
            _METADATA_PREFIX + "dt": self.dt,
            _METADATA_PREFIX + "method": self.method,
            _METADATA_PREFIX + "reset": self.reset,
            _METADATA_PREFIX + "latency": self.latency,
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> Semantics:
        """Read a semantics written by :meth:`to_metadata` (e.g. from a graph's ``metadata``)."""
        key = _METADATA_PREFIX + "dt"
        if key not in metadata:
            raise InvalidSemanticsError("metadata holds no semantics", field=key, expected="a stored time step")

        def text(name: str, default: str) -> str:
            value = metadata.get(_METADATA_PREFIX + name, default)
            if isinstance(value, bytes):
                value = value.decode()
            return str(value) if isinstance(value, (str, np.str_)) else value

        dt = metadata[key]
        if isinstance(dt, np.ndarray) and dt.shape == ():
            dt = dt.item()
        return cls(dt, text("method", "euler"), text("reset", "value"), text("latency", "immediate"))
