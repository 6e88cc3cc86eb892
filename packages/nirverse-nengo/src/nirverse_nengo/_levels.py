"""How each NIR node runs in Nengo (see :mod:`nirverse.levels`), and the perturbation of a Nengo neuron type.

A LIF node is ``nengo.LIF`` (native) where :func:`uses_native_lif` holds and the run is float64; every
other neuron node runs one of this package's ``NeuronType`` subclasses (:mod:`._nodes`): emulated, the
update is the plugin's numpy code in Nengo's extension point. Nengo's ``step`` writes its results into the
state arrays it is given, so :func:`perturbed_step` adds the amount to them after each step. Pure numpy:
Nengo is imported only by the perturbation.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from nirverse import Plan
from nirverse.levels import EMULATED, NATIVE, NodeLevel

__all__ = ["node_level", "uses_native_lif", "perturbed_step", "NATIVE_LIF", "HOST"]

NATIVE_LIF, HOST = "nengo.LIF", "nengo.neurons.NeuronType"
_CONNECTION = "nengo.Connection"
_STATELESS = {
    "Affine": (_CONNECTION, NATIVE, "Connection with a Dense transform; bias from the ensemble or a constant Node"),
    "Linear": (_CONNECTION, NATIVE, "Connection with a Dense transform"),
    "Scale": (_CONNECTION, NATIVE, "Connection with an elementwise transform"),
    "Conv1d": (_CONNECTION, NATIVE, "Connection with a Convolution (or exact Sparse) transform"),
    "Conv2d": (_CONNECTION, NATIVE, "Connection with a Convolution (or exact Sparse) transform"),
    "SumPool2d": (_CONNECTION, NATIVE, "Connection with a depthwise Convolution (or Sparse) transform"),
    "AvgPool2d": (_CONNECTION, NATIVE, "Connection with a depthwise Convolution (or Sparse) transform"),
    "Flatten": (_CONNECTION, NATIVE, "none: Nengo's flat vectors already are the flattening"),
    "Delay": ("nengo.synapses.LinearFilter", NATIVE, "Connection with a discrete LinearFilter delaying k steps"),
    "Threshold": ("nengo.Node", EMULATED, "plugin function 1[x > theta] as a Node's output"),
}
_TYPES = {"I": "Integrator", "LI": "LeakyIntegrator", "IF": "IntegrateAndFire", "LIF": "LeakyIntegrateAndFire",
          "CubaLI": "CubaLeakyIntegrator", "CubaLIF": "CubaLeakyIntegrateAndFire"}


def uses_native_lif(kind: str, p: dict, semantics) -> bool:
    """Whether a LIF node maps to ``nengo.LIF`` exactly (see :mod:`._from_nir`)."""
    if kind != "LIF" or semantics.method != "exp" or semantics.reset != "value":
        return False
    tau = p["tau"]
    if tau.size == 0 or np.any(tau != tau.flat[0]):
        return False
    return bool(
        np.all(p["v_threshold"] == 1.0)
        and np.all(p["v_reset"] == 0.0)
        and np.all(p["v_leak"] == 0.0)
        and -math.expm1(-semantics.dt / float(tau.flat[0])) < 0.99
    )


def node_level(plan: Plan, name: str, dtype: str) -> NodeLevel:
    kind = plan.types[name]
    if kind in _STATELESS:
        construct, level, reason = _STATELESS[kind]
        return NodeLevel(name, kind, level, construct, reason)
    if dtype == "float64" and uses_native_lif(kind, plan.params[name], plan.semantics):
        return NodeLevel(name, kind, NATIVE, NATIVE_LIF, "nengo.LIF(tau_rc=tau, tau_ref=0) does the whole update; "
                         "r is the ensemble gain")
    why = "nengo.LIF needs exp, value reset, one tau, v_threshold 1, v_reset 0, v_leak 0, float64"
    if kind != "LIF":
        why = f"Nengo has no {kind} neuron with NIR's per-step update"
    return NodeLevel(name, kind, EMULATED, HOST, f"plugin-written NeuronType {_TYPES[kind]} ({why})")


@contextlib.contextmanager
def perturbed_step(construct: str, amount: float = 1e-3) -> Iterator[None]:
    """Within the block, the Nengo neuron type ``construct`` adds ``amount`` to every floating state array
    (output, voltage, ...) after each of its steps."""
    from nirverse.testing.mutation import resolve

    cls = resolve(construct)[2]
    own = cls.__dict__.get("step")
    step = cls.step

    def perturbed(self: Any, dt: float, J: np.ndarray, *output: np.ndarray, **state: np.ndarray) -> None:
        step(self, dt, J, *output, **state)
        for array in (*output, *state.values()):
            if isinstance(array, np.ndarray) and array.dtype.kind == "f":
                array += amount

    cls.step = perturbed
    try:
        yield
    finally:
        if own is None:
            del cls.step
        else:
            cls.step = own
