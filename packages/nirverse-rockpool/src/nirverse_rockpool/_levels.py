"""How each NIR node runs in Rockpool: native, adapted or emulated (see :mod:`nirverse.levels`).

Rockpool's LIF modules reset by subtraction only and spike on ``v >= θ``; so (see :mod:`._from_nir`)
IF/LIF/CubaLIF with ``"subtract"`` are Rockpool's ``LIFNeuronTorch`` / ``LIFTorch`` with the plugin's
strict spike function (adapted), while ``"value"`` runs the plugin's own ``forward`` loop in a subclass
of them (emulated: Rockpool has no value reset). I/LI/CubaLI are Rockpool's ``ExpSynTorch`` (native
where no input gain or offset is needed, else adapted). A CubaLIF ↔ Affine/Linear loop runs on the
module's own recurrent weights ``w_rec``.
"""

from __future__ import annotations

import numpy as np
from nirverse import Plan
from nirverse.levels import ADAPTED, EMULATED, NATIVE, NodeLevel

from ._folding import folded_into, folded_target, input_terms

__all__ = ["node_level", "input_terms", "folded_into", "folded_target"]

LIF_NEURON = "rockpool.nn.modules.torch.lif_neuron_torch.LIFNeuronTorch"
LIF_SYN = "rockpool.nn.modules.torch.lif_torch.LIFTorch"
EXP_SYN = "rockpool.nn.modules.torch.exp_syn_torch.ExpSynTorch"
LINEAR = "rockpool.nn.modules.torch.linear_torch.LinearTorch"
INSTANT = "rockpool.nn.modules.InstantTorch"
TORCH_MODULE = "rockpool.nn.modules.torch.torch_module.TorchModule"
_STATELESS = {
    "Affine": (LINEAR, NATIVE, "LinearTorch with weight W^T and bias"),
    "Linear": (LINEAR, NATIVE, "LinearTorch with weight W^T"),
    "Scale": (TORCH_MODULE, EMULATED, "plugin-written ScaleTorch module: s * x"),
    "Threshold": (INSTANT, EMULATED, "plugin function 1[x > theta] in InstantTorch"),
    "Conv1d": (INSTANT, EMULATED, "plugin function around torch.nn.functional.conv1d in InstantTorch"),
    "Conv2d": (INSTANT, EMULATED, "plugin function around torch.nn.functional.conv2d in InstantTorch"),
    "SumPool2d": (INSTANT, EMULATED, "plugin function around avg_pool2d (divisor 1) in InstantTorch"),
    "AvgPool2d": (INSTANT, EMULATED, "plugin function around avg_pool2d in InstantTorch"),
    "Flatten": (TORCH_MODULE, EMULATED, "no module: the plugin's flat (batch, time, N) layout"),
    "Delay": (TORCH_MODULE, EMULATED, "plugin-written shift by round(delay/dt) steps in the graph module"),
}


def _loop(plan: Plan, name: str) -> tuple[str, str] | None:
    """``(lif, weights)`` when ``name`` is part of a CubaLIF ↔ Affine/Linear loop run by ``LIFTorch(has_rec)``."""
    from ._from_nir import recurrent_pattern

    for group in plan.groups:
        if name in group and plan.is_cyclic(group):
            return recurrent_pattern(plan, group)
    return None


def _exp_syn(plan: Plan, name: str) -> NodeLevel:
    kind = plan.types[name]
    if kind == "CubaLI":
        return NodeLevel(name, kind, ADAPTED, EXP_SYN,
                         "two ExpSynTorch (current, membrane) composed by the plugin with input gains")
    scale, offset = input_terms(plan, name)
    if np.all(scale == 1.0) and not np.any(offset):
        return NodeLevel(name, kind, NATIVE, EXP_SYN, "ExpSynTorch does the whole update; parameters mapped")
    if folded_into(plan, name):
        return NodeLevel(name, kind, NATIVE, EXP_SYN, "ExpSynTorch does the whole update; its input gain and "
                         f"offset are folded into the LinearTorch of {folded_into(plan, name)}")
    return NodeLevel(name, kind, ADAPTED, EXP_SYN, "ExpSynTorch with a plugin ScaleTorch gain/offset on its input")


def node_level(plan: Plan, name: str, dtype: str) -> NodeLevel:
    kind = plan.types[name]
    loop = _loop(plan, name) if kind in ("Affine", "Linear", "CubaLIF") else None
    value = plan.semantics.reset == "value"
    if loop is not None and kind != "CubaLIF":
        if value:
            return NodeLevel(name, kind, EMULATED, LIF_SYN, "recurrent weights w_rec in the plugin's value-reset "
                             "forward of a LIFTorch subclass")
        return NodeLevel(name, kind, NATIVE, LIF_SYN, "LIFTorch's own recurrent weights w_rec (W scaled by the gain)")
    if kind in _STATELESS:
        construct, level, reason = _STATELESS[kind]
        if kind in ("Affine", "Linear") and folded_target(plan, name):
            reason += f", scaled and shifted by the input terms of {folded_target(plan, name)}"
        return NodeLevel(name, kind, level, construct, reason)
    from ._from_nir import check_node

    check_node(plan, name)
    if kind in ("I", "LI", "CubaLI"):
        return _exp_syn(plan, name)
    construct = LIF_SYN if kind == "CubaLIF" else LIF_NEURON
    module = construct.rsplit(".", 1)[1]
    if value:
        return NodeLevel(name, kind, EMULATED, construct,
                         f"plugin-written forward (reset to v_reset) in a {module} subclass: Rockpool resets by "
                         "subtraction only")
    return NodeLevel(name, kind, ADAPTED, construct,
                     f"{module} with the plugin's strict spike function 1[v > θ] and an input gain")
