"""How each NIR node runs in Norse: native, adapted or emulated (see :mod:`nirverse.levels`).

Pure numpy over the plan (Norse is not imported). The mapping itself is :mod:`._from_nir`: a neuron is
native where the Norse cell's own parameters express it and no input gain is needed (r = 1, or Δt·r = 1
for the integrators), adapted where the plugin multiplies the input or composes two cells, emulated
where the update is the plugin's own step function (IF with subtract reset: ``IAFCell`` hard-codes the
value reset).
"""

from __future__ import annotations

import numpy as np
from nirverse import Plan
from nirverse.levels import ADAPTED, EMULATED, NATIVE, NodeLevel

__all__ = ["node_level", "CELLS", "input_gain", "folded_into", "fold_factors"]

#: stateless nodes whose output rows / channels can absorb the next neuron's input gain
_FOLDS = ("Affine", "Linear", "Conv1d", "Conv2d")

LIF_BOX, LI_BOX = "norse.torch.LIFBoxCell", "norse.torch.LIBoxCell"
IAF, SNN_CELL = "norse.torch.IAFCell", "norse.torch.module.snn.SNNCell"
#: construct, level and reason of every stateless node type
_STATELESS = {
    "Affine": ("torch.nn.Linear", NATIVE, "torch.nn.Linear with weight and bias"),
    "Linear": ("torch.nn.Linear", NATIVE, "torch.nn.Linear without bias"),
    "Conv1d": ("torch.nn.Conv1d", NATIVE, "torch.nn.Conv1d (uneven padding: torch.nn.ZeroPad1d first)"),
    "Conv2d": ("torch.nn.Conv2d", NATIVE, "torch.nn.Conv2d (uneven padding: torch.nn.ZeroPad2d first)"),
    "SumPool2d": ("torch.nn.AvgPool2d", NATIVE, "torch.nn.AvgPool2d with divisor_override=1 (a window sum)"),
    "AvgPool2d": ("torch.nn.AvgPool2d", NATIVE, "torch.nn.AvgPool2d, padding counted"),
    "Scale": ("torch.nn.Module", EMULATED, "plugin-written torch module: s * x"),
    "Threshold": ("torch.nn.Module", EMULATED, "plugin-written torch module: 1[x > theta]"),
    "Flatten": ("torch.nn.Module", EMULATED, "plugin-written reshape"),
    "Delay": ("torch.nn.Module", EMULATED, "plugin-written shift by round(delay/dt) steps"),
}
#: the cell of every neuron type (the membrane cell for the Cuba types)
CELLS = {"LIF": LIF_BOX, "LI": LI_BOX, "IF": IAF, "I": IAF, "CubaLI": LI_BOX, "CubaLIF": LIF_BOX}


def input_gain(plan: Plan, name: str) -> np.ndarray:
    """The multiplier of a LIF/LI (r) or IF/I (Δt·r) node's input, float64."""
    r = plan.params[name]["r"]
    return plan.semantics.dt * r if plan.types[name] in ("I", "IF") else r


def folded_into(plan: Plan, name: str) -> str | None:
    """The Affine/Linear (or Conv) node whose rows (output channels) absorb the input gain of neuron ``name``:
    its only consumer is this LIF/LI/IF/I node, which has no other input; the gain is neither 1 everywhere
    nor 0 anywhere and, after a convolution, one value per channel. Then ``r ⊙ (W x + b) = (r ⊙ W) x + r ⊙ b``
    and the Norse cell receives its whole input from torch."""
    if plan.types[name] not in ("LIF", "LI", "IF", "I") or len(plan.incoming[name]) != 1:
        return None
    source = plan.incoming[name][0].source
    if plan.types[source] not in _FOLDS or sum(e.source == source for e in plan.edges) != 1:
        return None
    gain = input_gain(plan, name)
    if gain.shape != plan.out_shapes[source] or np.all(gain == 1.0) or np.any(gain == 0.0):
        return None
    if plan.types[source].startswith("Conv") and not np.all(gain == gain.reshape(gain.shape[0], -1)[:, :1].reshape(
            (gain.shape[0],) + (1,) * (gain.ndim - 1))):
        return None
    return source


def fold_factors(plan: Plan, source: str) -> np.ndarray | None:
    """The per-row (Affine/Linear) or per-channel (Conv) factors folded into ``source``, or None."""
    target = folded_gain(plan, source)
    if target is None:
        return None
    gain = input_gain(plan, target)
    return gain.reshape(gain.shape[0], -1)[:, 0].copy()


def folded_gain(plan: Plan, name: str) -> str | None:
    """For an Affine/Linear/Conv node: the neuron whose input gain it absorbs (see :func:`folded_into`)."""
    targets = [e.target for e in plan.edges if e.source == name]
    return targets[0] if len(targets) == 1 and folded_into(plan, targets[0]) == name else None


def _unit_gain(plan: Plan, name: str, dtype: str) -> bool:
    """Whether the input multiplier the mapping would apply is 1 everywhere (then no gain is applied)."""
    p = plan.params[name]
    if plan.types[name] in ("I", "IF"):
        np_dtype = np.dtype(dtype).type
        return bool(np.all(np_dtype(plan.semantics.dt) * p["r"].astype(np_dtype) == 1))
    return bool(np.all(p["r"] == 1.0))


def node_level(plan: Plan, name: str, dtype: str) -> NodeLevel:
    kind = plan.types[name]
    if kind in _STATELESS:
        construct, level, reason = _STATELESS[kind]
        if kind in _FOLDS and folded_gain(plan, name):
            reason += f", output rows/channels scaled by the input gain of {folded_gain(plan, name)}"
        return NodeLevel(name, kind, level, construct, reason)
    if kind == "IF" and plan.semantics.reset == "subtract":
        return NodeLevel(name, kind, EMULATED, SNN_CELL,
                         "plugin-written step (Norse's threshold and reset_subtract) in an SNNCell: "
                         "IAFCell hard-codes the value reset")
    cell = CELLS[kind].rsplit(".", 1)[1]
    if kind in ("CubaLI", "CubaLIF"):
        return NodeLevel(name, kind, ADAPTED, CELLS[kind],
                         f"plugin composes a LIBoxCell synapse (input w_in x) and a {cell} membrane (input r i)")
    if _unit_gain(plan, name, dtype):
        return NodeLevel(name, kind, NATIVE, CELLS[kind], f"{cell} does the whole update; parameters mapped")
    source = folded_into(plan, name)
    if source is not None:
        return NodeLevel(name, kind, NATIVE, CELLS[kind], f"{cell} does the whole update; its input gain is "
                         f"folded into the weights of {source}")
    gain = "dt r" if kind in ("I", "IF") else "r"
    extra = " and v_th = +inf (never fires)" if kind == "I" else ""
    return NodeLevel(name, kind, ADAPTED, CELLS[kind], f"{cell} with the input multiplied by {gain}{extra}")
