"""How each NIR node runs in jaxsnn (see :mod:`nirverse.levels`).

Every neuron node calls jaxsnn's own kernels (:mod:`._from_nir`): ``li_step`` / ``lif_step`` with
``tau_mem = 1`` and ``dt = κ`` (or ``Δt r`` for I/IF), the input multiplied by ``r``: adapted. The plugin
adds a strict spike function (``lif_step``), the subtract reset after ``li_step`` (jaxsnn resets to a
value only), and the CubaLI/CubaLIF synapse ``i += κ_syn (w_in x − i)`` (jaxsnn's synapse adds the input as a
jump and decays it after the membrane update, which is not NIR's current). Stateless nodes other than
Linear are plugin jax functions in a jaxsnn ``Population``: emulated. The schedule is the plugin's
``lax.scan``.
"""

from __future__ import annotations

import numpy as np
from nirverse import Plan
from nirverse.levels import ADAPTED, EMULATED, NATIVE, NodeLevel

__all__ = ["node_level", "folded_into", "folded_target"]

LI_STEP, LIF_STEP = "jaxsnn.discrete.functional.li_step", "jaxsnn.discrete.functional.lif_step"
_LINEAR, _POPULATION = "jaxsnn.discrete.modules.Linear", "jaxsnn.discrete.types.Population"
_STATELESS = {
    "Linear": (_LINEAR, NATIVE, "jaxsnn Linear (functional.linear: x @ W^T)"),
    "Affine": (_LINEAR, ADAPTED, "jaxsnn Linear, the bias added by the plugin"),
    "Scale": (_POPULATION, EMULATED, "plugin jax function s * x"),
    "Threshold": (_POPULATION, EMULATED, "plugin jax function 1[x > theta]"),
    "Flatten": (_POPULATION, EMULATED, "plugin reshape"),
    "Conv1d": (_POPULATION, EMULATED, "plugin jax.lax.conv_general_dilated"),
    "Conv2d": (_POPULATION, EMULATED, "plugin jax.lax.conv_general_dilated"),
    "SumPool2d": (_POPULATION, EMULATED, "plugin jax.lax.reduce_window"),
    "AvgPool2d": (_POPULATION, EMULATED, "plugin jax.lax.reduce_window, divided by the window size"),
    "Delay": (_POPULATION, EMULATED, "plugin ring buffer of round(delay/dt) steps"),
}


def folded_into(plan: Plan, name: str) -> str | None:
    """The Affine/Linear node whose weights (and bias) absorb LI node ``name``'s input gain r: the node's only
    input, with the node its only consumer. Then ``r ⊙ (W x + b) = (r ⊙ W) x + r ⊙ b`` and ``li_step`` gets
    its whole input from jaxsnn's Linear."""
    if plan.types[name] != "LI" or len(plan.incoming[name]) != 1:
        return None
    source = plan.incoming[name][0].source
    if plan.types[source] not in ("Affine", "Linear") or sum(e.source == source for e in plan.edges) != 1:
        return None
    r = plan.params[name]["r"]
    return source if r.shape == plan.out_shapes[source] and not np.all(r == 1.0) else None


def folded_target(plan: Plan, name: str) -> str | None:
    """For an Affine/Linear node: the LI node whose input gain it absorbs (see :func:`folded_into`)."""
    targets = [e.target for e in plan.edges if e.source == name]
    return targets[0] if len(targets) == 1 and folded_into(plan, targets[0]) == name else None


def node_level(plan: Plan, name: str, dtype: str) -> NodeLevel:
    kind = plan.types[name]
    if kind in _STATELESS:
        construct, level, reason = _STATELESS[kind]
        if kind in ("Affine", "Linear") and folded_target(plan, name):
            reason += f", weights times the input gain r of {folded_target(plan, name)}"
        return NodeLevel(name, kind, level, construct, reason)
    if kind == "LI" and (folded_into(plan, name) or np.all(plan.params[name]["r"] == 1.0)):
        where = f"r folded into {folded_into(plan, name)}" if folded_into(plan, name) else "r = 1"
        return NodeLevel(name, kind, NATIVE, LI_STEP, "li_step does the whole update (dt = κ, tau_mem = 1; its "
                         f"synaptic current stays 0); {where}")
    spiking, value = kind in ("IF", "LIF", "CubaLIF"), plan.semantics.reset == "value"
    leak = "dt = κ, tau_mem = 1, input r x" if kind not in ("I", "IF") else "dt = Δt r, tau_mem = 1, v_leak = V"
    done = [leak]
    if spiking and value:
        construct = LIF_STEP
        done.append("the plugin's strict spike function 1[u > v_th]")
    else:
        construct = LI_STEP
        if spiking:
            done.append("threshold and subtract reset written by the plugin")
    if kind.startswith("Cuba"):
        done.append("synapse i += κ_syn (w_in x − i) written by the plugin")
    return NodeLevel(name, kind, ADAPTED, construct, f"{construct.rsplit('.', 1)[1]} with " + "; ".join(done))
