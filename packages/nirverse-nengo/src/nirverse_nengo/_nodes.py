r"""Nengo neuron types with NIR's per-step equations, for what ``nengo.LIF`` cannot express.

Nengo's documented extension point is a :class:`nengo.neurons.NeuronType` subclass with its own
``step(dt, J, output, **state)``; the builder (``nengo/builder/neurons.py::build_neurons``) turns its
``state`` dict into signals (initial values from ``initial_state``) and calls ``step`` once per time
step with the input current ``J`` (the ensemble's ``bias`` plus ``gain`` times every incoming
connection into ``ensemble.neurons``). Every type here takes per-neuron parameter arrays and the
semantics' ``method`` / ``reset`` and computes, with :math:`\kappa(\tau)` the leak factor
(``dt/tau`` or ``-expm1(-dt/tau)``) and :math:`x = J`:

=========================  ==================================================================  =======
type                       update                                                              output
=========================  ==================================================================  =======
Integrator (I)             :math:`v \mathrel{+}= \Delta t\, r x`                                 v
LeakyIntegrator (LI)       :math:`v \mathrel{+}= \kappa(\tau)(v_{leak} - v + r x)`               v
IntegrateAndFire (IF)      :math:`u = v + \Delta t\, r x`, :math:`z = [u > v_{thr}]`, reset      z a/dt
LeakyIntegrateAndFire      :math:`u = v + \kappa(\tau)(v_{leak} - v + r x)`, z, reset            z a/dt
CubaLeakyIntegrator        :math:`i \mathrel{+}= \kappa(\tau_s)(w_{in} x - i)`, then LI on i       v
CubaLeakyIntegrateAndFire  ``current`` as above, then LIF on i (the same step's current)       z a/dt
=========================  ==================================================================  =======

reset: ``"value"`` :math:`v = z\,?\,v_{reset} : u`; ``"subtract"`` :math:`v = u - z\,v_{thr}`.
Spiking types follow Nengo's convention output = spike * amplitude / dt (``nengo.LIF.step``); the
mapper sets ``amplitude = dt`` so the graph sees unit spikes (x/x is exactly 1 in IEEE arithmetic).
States are named ``voltage`` (and ``current``) as in Nengo's own types, so ``nengo.Probe(ens.neurons,
"voltage")`` records them after the step.
"""

from __future__ import annotations

import numpy as np
from nengo.dists import Choice
from nengo.neurons import NeuronType
from nengo.params import EnumParam, NdarrayParam, NumberParam

__all__ = [
    "NIRNeuronType",
    "Integrator",
    "LeakyIntegrator",
    "IntegrateAndFire",
    "LeakyIntegrateAndFire",
    "CubaLeakyIntegrator",
    "CubaLeakyIntegrateAndFire",
    "NEURON_TYPES",
]


def _param(name: str) -> NdarrayParam:
    return NdarrayParam(name, shape=("*",), readonly=True)


class NIRNeuronType(NeuronType):
    """Base class: per-neuron parameter arrays, the semantics' ``method`` (leak factor) and ``reset``.

    ``fields`` lists the NIR parameters of the type (NdarrayParams of shape ``(n_neurons,)``).
    """

    fields: tuple[str, ...] = ()
    leaky = False
    cuba = False
    state = {"voltage": Choice([0.0])}

    method = EnumParam("method", values=("euler", "exp"), readonly=True)
    amplitude = NumberParam("amplitude", low=0, low_open=True, readonly=True)

    def __init__(self, method: str = "euler", amplitude: float = 1.0, initial_state=None, **params) -> None:
        super().__init__(initial_state=initial_state)
        self.method = method
        self.amplitude = amplitude
        missing = set(self.fields) - set(params)
        if missing or set(params) - set(self.fields):
            raise TypeError(f"{type(self).__name__} takes {self.fields}, got {sorted(params)}")
        for name in self.fields:
            setattr(self, name, np.asarray(params[name], dtype=np.float64).reshape(-1))
        self._constants_cache: dict = {}

    def __eq__(self, other: object) -> bool:
        """Identity: Nengo's optimiser merges the SimNeurons operators of *equal* neuron types into one over
        both populations, which per-neuron parameter arrays cannot serve (fuzz finding: two I nodes with
        the same parameters in a chain failed with a (4,) vs (8,) broadcast)."""
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def kappa(self, dt: float, tau: np.ndarray) -> np.ndarray:
        r"""Leak factor :math:`\Delta t/\tau` (euler) or :math:`1 - e^{-\Delta t/\tau}` (exp), float64."""
        return dt / tau if self.method == "euler" else -np.expm1(-dt / tau)

    def _constants(self, dt: float, dtype: np.dtype) -> dict:
        """Parameters cast to the simulator's dtype, leak factors computed once per (dt, dtype)."""
        key = (dt, np.dtype(dtype).str)
        cached = self._constants_cache.get(key)
        if cached is None:
            cast = lambda a: np.asarray(a, dtype=np.float64).astype(dtype)  # noqa: E731
            cached = {name: cast(getattr(self, name)) for name in self.fields}
            cached["dt"] = np.dtype(dtype).type(dt)
            if self.leaky:
                cached["kappa"] = cast(self.kappa(dt, self.tau_mem if self.cuba else self.tau))
            if self.cuba:
                cached["kappa_syn"] = cast(self.kappa(dt, self.tau_syn))
            self._constants_cache[key] = cached
        return cached

    def max_rates_intercepts(self, gain, bias):
        """Not defined for these types (their rate depends on the semantics); NaN, never used."""
        nan = np.full(np.shape(gain), np.nan)
        return nan, nan.copy()

    def gain_bias(self, max_rates, intercepts):
        raise NotImplementedError(f"{type(self).__name__} needs explicit gain and bias (1 and 0)")

    def rates(self, x, gain, bias):
        raise NotImplementedError(f"{type(self).__name__} has no rate approximation")

    def _membrane(self, c: dict, v: np.ndarray, drive: np.ndarray) -> np.ndarray:
        if self.leaky:
            return v + c["kappa"] * (c["v_leak"] - v + c["r"] * drive)
        return v + c["dt"] * c["r"] * drive


class _NonSpiking(NIRNeuronType):
    def step(self, dt, J, output, voltage):
        c = self._constants(dt, voltage.dtype)
        voltage[...] = self._membrane(c, voltage, J)
        output[...] = voltage


class _Spiking(NIRNeuronType):
    spiking = True
    negative = False
    reset = EnumParam("reset", values=("value", "subtract"), readonly=True)

    def __init__(self, method="euler", reset="value", amplitude=1.0, initial_state=None, **params) -> None:
        super().__init__(method=method, amplitude=amplitude, initial_state=initial_state, **params)
        self.reset = reset

    def _fire(self, c: dict, dt: float, u: np.ndarray, voltage: np.ndarray, output: np.ndarray) -> None:
        spike = u > c["v_threshold"]
        output[...] = spike * (self.amplitude / dt)
        if self.reset == "subtract":
            voltage[...] = u - spike * c["v_threshold"]
        else:
            voltage[...] = np.where(spike, c["v_reset"], u)

    def step(self, dt, J, output, voltage):
        c = self._constants(dt, voltage.dtype)
        self._fire(c, dt, self._membrane(c, voltage, J), voltage, output)


class Integrator(_NonSpiking):
    """NIR ``I``: :math:`v_t = v_{t-1} + \\Delta t\\, r x_t`; outputs v."""

    fields = ("r",)
    r = _param("r")


class LeakyIntegrator(_NonSpiking):
    """NIR ``LI``: :math:`v_t = v_{t-1} + \\kappa(\\tau)(v_{leak} - v_{t-1} + r x_t)`; outputs v."""

    fields = ("tau", "r", "v_leak")
    leaky = True
    tau, r, v_leak = _param("tau"), _param("r"), _param("v_leak")


class IntegrateAndFire(_Spiking):
    """NIR ``IF``: integrate :math:`\\Delta t\\, r x`, spike above ``v_threshold``, reset."""

    fields = ("r", "v_threshold", "v_reset")
    r, v_threshold, v_reset = _param("r"), _param("v_threshold"), _param("v_reset")


class LeakyIntegrateAndFire(_Spiking):
    """NIR ``LIF`` with any method, reset, ``v_leak``, ``v_reset`` and per-neuron ``tau``."""

    fields = ("tau", "r", "v_leak", "v_threshold", "v_reset")
    leaky = True
    tau, r, v_leak = _param("tau"), _param("r"), _param("v_leak")
    v_threshold, v_reset = _param("v_threshold"), _param("v_reset")


class _Cuba:
    state = {"voltage": Choice([0.0]), "current": Choice([0.0])}
    cuba = True
    leaky = True

    def _synapse(self, c: dict, current: np.ndarray, J: np.ndarray) -> np.ndarray:
        current[...] = current + c["kappa_syn"] * (c["w_in"] * J - current)
        return current


class CubaLeakyIntegrator(_Cuba, _NonSpiking):
    """NIR ``CubaLI``: synaptic current (state ``current``) feeding a leaky integrator; outputs v."""

    fields = ("tau_syn", "tau_mem", "r", "v_leak", "w_in")
    tau_syn, tau_mem, r = _param("tau_syn"), _param("tau_mem"), _param("r")
    v_leak, w_in = _param("v_leak"), _param("w_in")

    def step(self, dt, J, output, voltage, current):
        c = self._constants(dt, voltage.dtype)
        voltage[...] = self._membrane(c, voltage, self._synapse(c, current, J))
        output[...] = voltage


class CubaLeakyIntegrateAndFire(_Cuba, _Spiking):
    """NIR ``CubaLIF``: the CubaLI current feeding a spiking LIF membrane (same step's current)."""

    fields = ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in")
    tau_syn, tau_mem, r = _param("tau_syn"), _param("tau_mem"), _param("r")
    v_leak, v_threshold, v_reset, w_in = _param("v_leak"), _param("v_threshold"), _param("v_reset"), _param("w_in")

    def step(self, dt, J, output, voltage, current):
        c = self._constants(dt, voltage.dtype)
        self._fire(c, dt, self._membrane(c, voltage, self._synapse(c, current, J)), voltage, output)


#: NIR class name -> neuron type
NEURON_TYPES = {
    "I": Integrator,
    "LI": LeakyIntegrator,
    "IF": IntegrateAndFire,
    "LIF": LeakyIntegrateAndFire,
    "CubaLI": CubaLeakyIntegrator,
    "CubaLIF": CubaLeakyIntegrateAndFire,
}
