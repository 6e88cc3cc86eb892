"""How each NIR node runs in Brian2 (see :mod:`nirverse.levels`), and the perturbation of its state updaters.

Every neuron node is a ``NeuronGroup`` whose equations are the NIR ODE, integrated by Brian2's own state
updater (``euler``; ``exact`` = ``linear`` for method "exp" on the leaky types), with Brian2's thresholder
and resetter: native. Brian2 turns the state updater's abstract code into the simulation code, so a
perturbation of a state updater (:func:`perturbed_updater`) appends ``x = x * (1 + amount)`` for every
differential variable to the code it produces and clears Brian2's cache of ``apply_stateupdater``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from nirverse import Plan
from nirverse.levels import EMULATED, NATIVE, NodeLevel

__all__ = ["node_level", "perturbed_updater", "UPDATERS"]

EULER, EXACT = "brian2.stateupdaters.explicit.euler", "brian2.stateupdaters.exact.linear"
UPDATERS = (EULER, EXACT)
_SYNAPSES = "brian2.Synapses"
_STATELESS = {
    "Affine": (_SYNAPSES, NATIVE, "Synapses summing w * y_pre into the target, bias in the target's equation"),
    "Linear": (_SYNAPSES, NATIVE, "Synapses summing w * y_pre into the target"),
    "Scale": (_SYNAPSES, NATIVE, "one-to-one Synapses with w = s"),
    "Conv1d": (_SYNAPSES, NATIVE, "sparse Synapses of the cross-correlation, bias per channel"),
    "Conv2d": (_SYNAPSES, NATIVE, "sparse Synapses of the cross-correlation, bias per channel"),
    "SumPool2d": (_SYNAPSES, NATIVE, "sparse Synapses with unit weights"),
    "AvgPool2d": (_SYNAPSES, NATIVE, "sparse Synapses with unit weights, target divides by k_h k_w"),
    "Flatten": ("brian2.NeuronGroup", NATIVE, "the source's variable itself (linked variable)"),
    "Threshold": ("brian2.NeuronGroup", NATIVE, "NeuronGroup equation y = int(x > theta)"),
    "Delay": ("brian2.NeuronGroup.run_regularly", EMULATED, "plugin-written shift register in run_regularly code"),
}


def node_level(plan: Plan, name: str, dtype: str) -> NodeLevel:
    kind = plan.types[name]
    if kind in _STATELESS:
        construct, level, reason = _STATELESS[kind]
        return NodeLevel(name, kind, level, construct, reason)
    exact = kind not in ("I", "IF") and plan.semantics.method == "exp"
    groups = "two NeuronGroups (current, membrane)" if kind.startswith("Cuba") else "a NeuronGroup"
    spikes = ", Brian2's thresholder and resetter" if kind in ("IF", "LIF", "CubaLIF") else ""
    return NodeLevel(name, kind, NATIVE, EXACT if exact else EULER,
                     f"{groups} with the NIR equations, Brian2's {'exact' if exact else 'euler'} state updater{spikes}")


def _clear_cache() -> None:
    from brian2.stateupdaters.base import StateUpdateMethod

    StateUpdateMethod.apply_stateupdater.__wrapped__._cache.clear()


@contextlib.contextmanager
def perturbed_updater(construct: str, amount: float = 1e-3) -> Iterator[None]:
    """Within the block, the state updater ``construct`` produces code whose every differential variable is
    off by the factor ``1 + amount`` after each step (Brian2's registry and cache are restored after)."""
    from brian2.stateupdaters.base import StateUpdateMethod
    from nirverse.testing.mutation import resolve

    original = resolve(construct)[2]

    class Perturbed(StateUpdateMethod):
        def __call__(self, equations, variables=None, method_options=None):
            code = original(equations, variables, method_options)
            return code + "".join(f"\n{x} = {x} * {1.0 + amount!r}" for x in equations.diff_eq_names)

    names = [k for k, v in StateUpdateMethod.stateupdaters.items() if v is original]
    for key in names:
        StateUpdateMethod.stateupdaters[key] = Perturbed()
    _clear_cache()
    try:
        yield
    finally:
        for key in names:
            StateUpdateMethod.stateupdaters[key] = original
        _clear_cache()
