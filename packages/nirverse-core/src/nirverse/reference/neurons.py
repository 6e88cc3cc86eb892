r"""Neuron nodes, exactly as the semantics note defines them.

With :math:`\kappa(\tau)` the leak factor of the semantics (:math:`\Delta t/\tau` or
:math:`1-e^{-\Delta t/\tau}`), :math:`x_t` the summed input and state starting at rest
(:math:`v_0 = v_{leak}` -- 0 for I and IF -- and :math:`i_0 = 0`):

=======  =====================================================================================  ======
node     update in step t                                                                       output
=======  =====================================================================================  ======
I        :math:`v_t = v_{t-1} + \Delta t\, r x_t`                                               v
LI       :math:`v_t = v_{t-1} + \kappa(\tau)(v_{leak} - v_{t-1} + r x_t)`                       v
IF       :math:`u = v_{t-1} + \Delta t\, r x_t`, :math:`z = 1[u > v_{thr}]`, v_t = reset(u, z)  z
LIF      :math:`u = v_{t-1} + \kappa(\tau)(v_{leak} - v_{t-1} + r x_t)`, z, reset               z
CubaLI   :math:`i_t = i_{t-1} + \kappa(\tau_{syn})(w_{in} x_t - i_{t-1})`, then LI with i_t     v
CubaLIF  i_t as CubaLI, then LIF with input i_t (the *same* step's current)                     z
=======  =====================================================================================  ======

reset(u, z) is :math:`v_{reset}` where z = 1 (``"value"``) or :math:`u - z\,v_{thr}` (``"subtract"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..semantics import Semantics
from .operator import Operator


class Neuron(Operator):
    """One neuron node. ``kind`` is the NIR class name; ``params`` the validated parameters."""

    #: also keep ``u`` (membrane before threshold and reset) in the state, for margin checks
    keep_pre_reset = False

    def __init__(self, kind: str, params: Mapping[str, np.ndarray], semantics: Semantics, dtype: np.dtype) -> None:
        self.kind = kind
        self.dtype = dtype
        self.shape = params["r"].shape
        cast = lambda a: np.asarray(a, dtype=np.float64).astype(dtype)  # noqa: E731
        self.r = cast(params["r"])
        self.leaky = kind in ("LI", "LIF", "CubaLI", "CubaLIF")
        self.spiking = kind in ("IF", "LIF", "CubaLIF")
        self.cuba = kind in ("CubaLI", "CubaLIF")
        self.dt = dtype.type(semantics.dt)
        if self.leaky:
            tau = params["tau_mem"] if self.cuba else params["tau"]
            self.kappa = cast(semantics.kappa(tau))
            self.v_leak = cast(params["v_leak"])
        if self.cuba:
            self.kappa_syn = cast(semantics.kappa(params["tau_syn"]))
            self.w_in = cast(params["w_in"])
        if self.spiking:
            self.v_threshold = cast(params["v_threshold"])
            self.v_reset = cast(params["v_reset"])
            self.subtract = semantics.reset == "subtract"
        self.state_names = ("v", "i") if self.cuba else ("v",)

    def init(self, batch: int) -> dict[str, np.ndarray]:
        rest = self.v_leak if self.leaky else np.zeros(self.shape, self.dtype)
        state = {"v": np.broadcast_to(rest, (batch, *self.shape)).astype(self.dtype)}
        if self.cuba:
            state["i"] = np.zeros((batch, *self.shape), self.dtype)
        return state

    def step(self, x: np.ndarray, state: dict[str, np.ndarray]) -> tuple[np.ndarray, Any]:
        v = state["v"]
        if self.cuba:
            i = state["i"] + self.kappa_syn * (self.w_in * x - state["i"])
            drive = i
        else:
            drive = x
        if self.leaky:
            u = v + self.kappa * (self.v_leak - v + self.r * drive)
        else:
            u = v + self.dt * self.r * drive
        new = {"v": u}
        if self.keep_pre_reset and self.spiking:
            new["u"] = u
        if self.cuba:
            new["i"] = i
        if not self.spiking:
            return u, new
        spike = u > self.v_threshold
        if self.subtract:
            new["v"] = u - spike * self.v_threshold
        else:
            new["v"] = np.where(spike, self.v_reset, u)
        return spike.astype(self.dtype), new

    def recorded(self, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return state
