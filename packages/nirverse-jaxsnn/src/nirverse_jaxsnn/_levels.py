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

from nirverse import Plan
from nirverse.levels import ADAPTED, EMULATED, NATIVE, NodeLevel

__all__ = ["node_level"]

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


def node_level(plan: Plan, name: str, dtype: str) -> NodeLevel:
    kind = plan.types[name]
    if kind in _STATELESS:
        construct, level, reason = _STATELESS[kind]
        return NodeLevel(name, kind, level, construct, reason)
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
