"""The ``spyx`` backend: every NIR node type, both methods, resets and latencies, float64 and float32.

Spyx is imported only inside :meth:`SpyxBackend.build` / :meth:`SpyxBackend.run` / :meth:`SpyxBackend.to_nir`;
:meth:`SpyxBackend.node_level` reads the plan only. Refused (typed, per node): a leak factor κ > 1, a Cuba
node with r·κ = 0, a CubaLIF whose v_leak (or, with ``reset="value"``, v_reset) lies above its threshold
(see :mod:`nirverse_spyx._neurons`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from nirverse.backends import Backend, RunOutput
from nirverse.graph import Plan
from nirverse.levels import ADAPTED, EMULATED, NATIVE, NodeLevel
from nirverse.semantics import Semantics

from ._neurons import NEURONS, check_neuron

__all__ = ["SpyxBackend"]

_HOST = "spyx.nn.StatefulLayer"  # Spyx's contract for a layer stepped in its scan: plugin code lives there
_NEURON_WHY = {
    "I": "Spyx's LI with beta = 1 integrates; the plugin scales the input by dt*r",
    "LI": "Spyx's LI leaks (beta = 1 - kappa); the plugin feeds kappa*(v_leak + r*x)",
    "IF": "Spyx's IF integrates and subtracts; the plugin corrects its one-step-late reset and reads the "
          "same step's spike with the module's activation on the updated membrane",
    "LIF": "Spyx's LIF leaks, integrates and subtracts; the plugin feeds kappa*(v_leak + r*x), corrects the "
           "reset (theta vs beta*theta, or to v_reset) and reads the same step's spike with the module's activation",
    "CubaLI": "Spyx's CuBaLIF (threshold = float max) steps current and membrane; the plugin scales its current "
              "to r*kappa*i + kappa*v_leak",
    "CubaLIF": "Spyx's CuBaLIF steps current, membrane and subtractive reset; the plugin scales its current to "
               "r*kappa*i + kappa*v_leak and reads the same step's spike with the module's activation",
}


class SpyxBackend(Backend):
    """NIR graphs as Spyx neuron modules and Flax NNX layers, stepped by one jitted ``jax.lax.scan``."""

    name = "spyx"
    framework = "spyx"
    module = "spyx"
    install_hint = "pip install 'nirverse[spyx]'  (spyx>=1.0 with jax and flax; Python >= 3.11)"
    exports = True

    def check_support(self, plan: Plan, semantics: Semantics, dtype: str) -> None:
        super().check_support(plan, semantics, dtype)
        for name in plan.order:
            if plan.types[name] in NEURONS:
                check_neuron(plan, name, dtype)

    def node_level(self, plan: Plan, name: str, dtype: str) -> NodeLevel:
        kind = plan.types[name]
        if kind in NEURONS:
            check_neuron(plan, name, dtype)
            return NodeLevel(name, kind, ADAPTED, f"spyx.nn.{NEURONS[kind]}", _NEURON_WHY[kind])
        return NodeLevel(name, kind, *_stateless_level(plan, name))

    def build(self, plan: Plan, dtype: str) -> Any:
        from ._model import build_model

        return build_model(plan, dtype)

    def run(self, model: Any, inputs: Mapping[str, np.ndarray], record: bool) -> RunOutput:
        states, outputs = model(inputs, record=record)
        out = {n: np.asarray(v) for n, v in outputs.items()}
        rec = {n: {k: np.asarray(v) for k, v in s.items()} for n, s in (states or {}).items()}
        return RunOutput(outputs=out, states=rec)

    def to_nir(self, model: Any, semantics: Semantics) -> Any:
        from ._to_nir import to_nir

        return to_nir(model, semantics)


def _stateless_level(plan: Plan, name: str) -> tuple[str, str, str]:
    kind = plan.types[name]
    if kind in ("Affine", "Linear"):
        return NATIVE, "flax.nnx.Linear", "NNX's Linear with kernel = W.T (Spyx's dense layer)"
    if kind in ("Conv1d", "Conv2d"):
        return ADAPTED, "flax.nnx.Conv", "NNX's Conv (Spyx's conv layer); the plugin moves channels last and back"
    if kind == "SumPool2d" and not any(plan.params[name]["padding"]):
        return NATIVE, "spyx.nn.SumPool", "Spyx's SumPool over the spatial axes, 'VALID'"
    if kind in ("SumPool2d", "AvgPool2d"):
        return ADAPTED, "spyx.nn.SumPool", "Spyx's SumPool; the plugin pads explicitly and (AvgPool2d) divides by k0*k1"
    if kind == "Flatten":
        from ._from_nir import is_full_flatten

        if is_full_flatten(plan, name):
            return NATIVE, "spyx.nn.Flatten", "Spyx's Flatten (the whole sample)"
        return EMULATED, _HOST, "a partial flatten is a plugin reshape: Spyx's Flatten keeps only the batch axis"
    if kind == "Threshold":
        return ADAPTED, "spyx.axn.heaviside", "Spyx's spike function on x - threshold"
    if kind == "Scale":
        return EMULATED, _HOST, "s * x in plugin code: Spyx has no elementwise scaling module"
    return EMULATED, _HOST, "a ring buffer in plugin code: Spyx has no delay module"
