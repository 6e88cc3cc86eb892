"""How each NIR node runs in snnTorch: native, adapted or emulated (see :mod:`nirverse.levels`).

A neuron is snnTorch's ``Leaky`` (I, LI, IF, LIF) or ``Synaptic`` (CubaLI, CubaLIF) with the constants of
:func:`._from_nir.neuron_constants`. It is native where snnTorch's own update is the NIR update with mapped
parameters only: input gain 1, no bias, no membrane offset, for the Cuba types a synaptic state equal to
NIR's current (c = κ r = 1, K = 0), and no subtract reset (snnTorch's delayed subtraction needs the
plugin's correction terms and a rebuilt membrane). Everything else is adapted. Imports torch, not snnTorch.
"""

from __future__ import annotations

import numpy as np
from nirverse import Plan
from nirverse.levels import ADAPTED, EMULATED, NATIVE, NodeLevel

__all__ = ["node_level"]

_STATELESS = {
    "Affine": ("torch.nn.Linear", NATIVE, "torch.nn.Linear with weight and bias"),
    "Linear": ("torch.nn.Linear", NATIVE, "torch.nn.Linear without bias"),
    "Conv1d": ("torch.nn.Conv1d", NATIVE, "torch.nn.Conv1d"),
    "Conv2d": ("torch.nn.Conv2d", NATIVE, "torch.nn.Conv2d"),
    "SumPool2d": ("torch.nn.AvgPool2d", NATIVE, "torch.nn.AvgPool2d with divisor_override=1 (a window sum)"),
    "AvgPool2d": ("torch.nn.AvgPool2d", NATIVE, "torch.nn.AvgPool2d, padding counted"),
    "Flatten": ("torch.nn.Flatten", NATIVE, "torch.nn.Flatten over the sample axes"),
    "Scale": ("torch.nn.Module", EMULATED, "plugin-written torch module ScaleOp: s * x"),
    "Threshold": ("torch.nn.Module", EMULATED, "plugin-written torch module ThresholdOp: 1[x > theta]"),
    "Delay": ("torch.nn.Module", EMULATED, "plugin-written torch module DelayOp: shift by round(delay/dt) steps"),
}


def _adaptations(kind: str, k: dict, subtract: bool) -> list[str]:
    """What the plugin does around the snnTorch neuron, from the mapping's constants."""
    done = []
    if not np.all(k["gain"] == 1.0):
        done.append("input scaled")
    if np.any(k["bias"] != 0):
        done.append("bias added to the input")
    if np.any(k["offset"] != 0):
        done.append("membrane shifted by v_reset or v_leak")
    if kind.startswith("Cuba") and not (np.all(k["c"] == 1.0) and np.all(k["K"] == 0)):
        done.append("current read back from the scaled synaptic state")
    if subtract:
        done.append("correction terms for snnTorch's delayed subtraction, membrane rebuilt")
    return done


def node_level(plan: Plan, name: str, dtype: str) -> NodeLevel:
    from ._from_nir import check_node, folded_into, folded_target, neuron_constants  # torch only

    kind = plan.types[name]
    if kind in _STATELESS:
        construct, level, reason = _STATELESS[kind]
        if kind in ("Affine", "Linear") and folded_target(plan, name):
            reason += f", rows scaled by the input gain of {folded_target(plan, name)} (and its input bias added)"
        return NodeLevel(name, kind, level, construct, reason)
    check_node(name, kind, plan.params[name], plan.semantics)
    cls = "Synaptic" if kind.startswith("Cuba") else "Leaky"
    subtract = kind in ("IF", "LIF", "CubaLIF") and plan.semantics.reset == "subtract"
    done = _adaptations(kind, neuron_constants(kind, plan.params[name], plan.semantics), subtract)
    if folded_into(plan, name):
        return NodeLevel(name, kind, NATIVE, f"snntorch.{cls}", f"{cls} does the whole update; its input gain and "
                         f"bias are folded into {folded_into(plan, name)}")
    if not done:
        return NodeLevel(name, kind, NATIVE, f"snntorch.{cls}", f"{cls} does the whole update; parameters mapped")
    return NodeLevel(name, kind, ADAPTED, f"snntorch.{cls}", f"{cls} with " + "; ".join(done))
