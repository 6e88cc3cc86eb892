r"""NIR neuron nodes on Spyx's own neuron modules (``spyx.nn``, Spyx 1.0.0), with the arguments that make
them compute the semantics' update.

What one call of a Spyx neuron computes (``spyx/nn.py``; ``H`` is ``spyx.axn.heaviside``, ``H(y) = 1[y > 0]``,
the forward pass of every Spyx surrogate; β, α are clipped to [0, 1]):

===========  ==========================================================================================
``LI``       :math:`S' = \beta S + x`, returns (S', S')
``IF``       :math:`s = H(S - \theta)`, :math:`S' = S + x - s\theta`, returns (s, S')
``LIF``      :math:`s = H(S - \theta)`, :math:`S' = \beta S + x - s\theta`, returns (s, S')
``CuBaLIF``  :math:`s = H(V - \theta)`, :math:`I' = \alpha I + x`, :math:`V' = \beta (V - s\theta) + I'`,
             state ``concat([V, I], -1)``, returns (s, state')
===========  ==========================================================================================

So a Spyx neuron emits the spike of the state it is *given* (the previous step's: one step late), has no
``v_leak``, ``r``, ``v_reset`` or dt/τ input scaling, and its only reset subtracts θ from the *given*
state (for ``LIF`` after the leak, so it removes θ where the semantics removes βθ). The plugin therefore
passes, with β = 1 − κ(τ), α = 1 − κ(τ_syn) (both methods: :math:`u = (1-\kappa) v + \kappa(v_{leak} + r x)`):

==========  ==================================  =====================================================
NIR node    Spyx module, state S                input x' (per step)
==========  ==================================  =====================================================
I           ``LI`` β = 1, S = v                 dt·r·x
LI          ``LI`` β = 1 − κ, S = v             κ(v_leak + r x)
IF          ``IF`` θ, S = u (subtract) or       dt·r·x + c
            v (value)
LIF         ``LIF`` β, θ, S as IF               κ(v_leak + r x) + c
CubaLI      ``CuBaLIF`` α, β, θ = float max     κ_s(k w_in x + κ v_leak), k = κ r; I = k i + κ v_leak
CubaLIF     ``CuBaLIF`` α, β, θ, S as IF        as CubaLI
==========  ==================================  =====================================================

with the correction :math:`c = (H(S-\theta) - \beta z_{t-1})\theta` (``"subtract"``, S = u_{t−1}: Spyx
removes θ, the semantics βθ) or :math:`c = H(S-\theta)\theta` (``"value"``, S = v_{t−1} already reset by
the plugin: Spyx's own subtraction is cancelled; it is 0 unless v_reset or v_leak lies above θ). Where
neither lies above θ (decided from the graph at build time) Spyx's H(S − θ) is z_{t−1} or 0, and c is
computed as κθz_{t−1} (LIF, subtract) or 0 without evaluating it again. The
spike of the *same* step is the module's own activation on the updated state,
:math:`z_t = \mathtt{module.spike}(S' - \theta)`; with ``"value"`` the plugin then sets
:math:`v_t = z_t\,?\,v_{reset} : S'`. For CuBaLIF the correction cannot be fed in (it would stay in I), so
a CubaLIF whose rest or reset value lies above its threshold is refused (:func:`check_neuron`), as are
κ > 1 (β < 0 would be clipped) and, in a Cuba node, k = κ r so small that i = (I − K)/k loses its digits
(:math:`|k| < 10^{-4}|K|` in float64, :math:`10^{-1}|K|` in float32, or k near the subnormal range).

κ, κ_s and θ are read from the module's current β, α and threshold in every step (κ = 1 − β), so a model
whose Spyx parameters are changed or trained is still one NIR node, which ``to_nir`` reads back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from nirverse.errors import UnsupportedNodeError

__all__ = ["NEURONS", "NeuronNode", "check_neuron", "neuron_node"]

#: NIR neuron type -> the Spyx module that steps it
NEURONS = {"I": "LI", "LI": "LI", "IF": "IF", "LIF": "LIF", "CubaLI": "CuBaLIF", "CubaLIF": "CuBaLIF"}
_SPIKING = ("IF", "LIF", "CubaLIF")


def _kappas(plan: Any, name: str) -> dict[str, np.ndarray]:
    kind, p, s = plan.types[name], plan.params[name], plan.semantics
    if kind in ("I", "IF"):
        return {}
    if kind in ("LI", "LIF"):
        return {"tau": s.kappa(p["tau"])}
    return {"tau_mem": s.kappa(p["tau_mem"]), "tau_syn": s.kappa(p["tau_syn"])}


#: the smallest ``|k|`` = ``|r kappa|`` relative to ``|K|`` = ``|kappa v_leak|`` it is read back past: the read-back error
#: eps ``|K|`` / ``|k|`` of i = (I - K) / k stays ~100x inside the tolerance (1e-9 float64, 1e-5 float32)
READBACK_CONDITION = {"float64": 1e-4, "float32": 1e-1}


def _check_readback(plan: Any, name: str, dtype: str) -> None:
    """Refuse a Cuba node whose current i cannot be read back from Spyx's I = k i + K in ``dtype``:
    :math:`|k| < c_{dtype} |K|` (cancellation loses i's digits) or k below the dtype's normal range
    times :math:`2^{nmant}` (0, subnormal, or k·i losing digits to underflow)."""
    p = plan.params[name]
    kappa = _kappas(plan, name)["tau_mem"]
    k, K = np.abs(kappa * p["r"]), np.abs(kappa * p["v_leak"])
    info = np.finfo(dtype)
    bad = (k < READBACK_CONDITION[info.dtype.name] * K) | (k < info.tiny * 2.0**info.nmant)
    if np.any(bad):
        raise UnsupportedNodeError(
            f"r * kappa(tau_mem) = {float(k[bad].flat[0])!r} is 0 or too small: Spyx's CuBaLIF holds the current "
            "as I = k i + K (k = r kappa, K = kappa v_leak), read back as i = (I - K) / k, which loses its digits",
            node=name, field="r",
            expected=f"|r kappa(tau_mem)| >= {READBACK_CONDITION[info.dtype.name]} x |kappa v_leak| "
            f"(and >= {float(info.tiny * 2.0**info.nmant):.3g} in {info.dtype.name})",
        )


def check_neuron(plan: Any, name: str, dtype: str = "float64") -> None:
    """Raise ``UnsupportedNodeError`` where a Spyx neuron cannot compute the node identically."""
    kind, p = plan.types[name], plan.params[name]
    for field, kappa in _kappas(plan, name).items():
        if np.any(kappa > 1):
            raise UnsupportedNodeError(
                f"leak factor kappa({field}) = {kappa.max()!r} > 1: Spyx clips its decay 1 - kappa to [0, 1]",
                node=name, field=field, expected=f"{field} >= dt (method {plan.semantics.method!r})",
            )
    if kind.startswith("Cuba"):
        _check_readback(plan, name, dtype)
    if kind == "CubaLIF":
        above = {"v_leak": p["v_leak"]}
        if plan.semantics.reset == "value":
            above["v_reset"] = p["v_reset"]
        for field, value in above.items():
            if np.any(value > p["v_threshold"]):
                raise UnsupportedNodeError(
                    f"{field} above v_threshold: Spyx's CuBaLIF would subtract the threshold from that state "
                    "before the step, through its current", node=name, field=field, expected=f"{field} <= v_threshold",
                )


@dataclass
class NeuronNode:
    """One neuron node: its Spyx module and the plugin's arguments around it (arrays of the run's dtype)."""

    kind: str
    module: Any
    drive: dict[str, Any]  # coefficients of the input x'
    rest: Any  # initial state (v_leak, or 0)
    threshold: Any  # None for I / LI / CubaLI
    v_reset: Any
    beta: Any
    subtract: bool
    alpha: Any = None
    above: bool = True  # a rest (or, with value reset, reset) state above threshold: the general correction

    def coefficients(self, module: Any) -> dict[str, Any]:
        """The plugin's input coefficients from the module's *current* parameters (κ = 1 − β, κ_s = 1 − α,
        as Spyx clips them), so a model whose Spyx parameters are changed (trained) stays one NIR node."""
        import jax.numpy as jnp

        d = dict(self.drive)
        if self.kind not in ("I", "IF"):
            d["kappa"] = 1.0 - jnp.clip(module.beta[...], 0, 1)
        if self.kind.startswith("Cuba"):
            d["kappa_syn"] = 1.0 - jnp.clip(module.alpha[...], 0, 1)
            d["k"], d["K"] = d["kappa"] * d["r"], d["kappa"] * d["v_leak"]
        if self.threshold is not None:
            d["theta"] = jnp.asarray(module.threshold)
        return d

    def init(self, batch: int, module: Any) -> dict[str, Any]:
        import jax.numpy as jnp

        v = jnp.broadcast_to(self.rest, (batch, *self.rest.shape))
        state = {"S": v, "z": jnp.zeros_like(v)}
        if self.kind.startswith("Cuba"):
            state["I"] = jnp.broadcast_to(self.coefficients(module)["K"], v.shape)
        return state

    def _input(self, d: dict[str, Any], x: Any) -> Any:
        if self.kind in ("I", "IF"):
            return d["dt_r"] * x
        if self.kind in ("LI", "LIF"):
            return d["kappa"] * (d["v_leak"] + d["r"] * x)
        return d["kappa_syn"] * (d["k"] * d["w_in"] * x + d["K"])

    def _correction(self, module: Any, d: dict[str, Any], S: Any, z: Any) -> Any:
        import jax.numpy as jnp

        if not self.above:  # S never exceeds theta except as u_{t-1} with z_{t-1} = H(S - theta)
            return d["kappa"] * z * d["theta"] if (self.subtract and self.kind == "LIF") else 0.0
        given = module.spike(S - d["theta"])
        if self.subtract:
            beta = jnp.clip(module.beta[...], 0, 1) if self.kind == "LIF" else 1.0
            return (given - beta * z) * d["theta"]
        return given * d["theta"]

    def step(self, module: Any, x: Any, state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """One time step: (output, new state)."""
        import jax.numpy as jnp

        d = self.coefficients(module)
        S, drive = state["S"], self._input(d, x)
        if self.kind.startswith("Cuba"):
            _, VI = module(drive, jnp.concatenate([S, state["I"]], axis=-1))
            u, current = jnp.split(VI, 2, axis=-1)
            new = {"I": current}
        else:
            if self.kind in _SPIKING:
                drive = drive + self._correction(module, d, S, state["z"])
            _, u = module(drive, S)
            new = {}
        if self.kind not in _SPIKING:
            return u, {**state, **new, "S": u}
        z = module.spike(u - d["theta"])
        kept = u if self.subtract else jnp.where(z > 0, self.v_reset, u)
        return z, {**state, **new, "S": kept, "z": z}

    def recorded(self, state: dict[str, Any], module: Any) -> dict[str, Any]:
        """The semantics' state: v (post-reset) and, for Cuba nodes, i = (I - K) / k."""
        d = self.coefficients(module)
        v = state["S"] - state["z"] * d["theta"] if (self.subtract and self.kind in _SPIKING) else state["S"]
        if not self.kind.startswith("Cuba"):
            return {"v": v}
        return {"v": v, "i": (state["I"] - d["K"]) / d["k"]}


def _above(plan: Any, name: str) -> bool:
    """Whether the state given to Spyx can lie above threshold other than as a pre-reset membrane."""
    p, rest = plan.params[name], plan.params[name].get("v_leak", 0.0)
    high = np.any(rest > p["v_threshold"])
    return bool(high or (plan.semantics.reset == "value" and np.any(p["v_reset"] > p["v_threshold"])))


def _module(kind: str, shape: tuple[int, ...], beta: Any, alpha: Any, threshold: Any) -> Any:
    import spyx.nn
    from flax import nnx

    rngs = nnx.Rngs(0)
    cls = getattr(spyx.nn, NEURONS[kind])
    if cls is spyx.nn.IF:
        return spyx.nn.IF(shape, threshold=threshold)
    if cls is spyx.nn.LI:
        module = spyx.nn.LI(shape, rngs=rngs)
    else:
        module = cls(shape, threshold=threshold, rngs=rngs)
    module.beta = nnx.Param(beta)  # per neuron: Spyx's constructor only takes a scalar
    if alpha is not None:
        module.alpha = nnx.Param(alpha)
    return module


def neuron_node(plan: Any, name: str, dtype: np.dtype) -> NeuronNode:
    """The Spyx neuron module of node ``name`` and the plugin's arguments (see the module docstring)."""
    import jax.numpy as jnp

    kind, p, s = plan.types[name], plan.params[name], plan.semantics
    shape = tuple(plan.out_shapes[name])
    cast = lambda a: jnp.asarray(np.broadcast_to(np.asarray(a, np.float64), shape).astype(dtype))  # noqa: E731
    kappas = _kappas(plan, name)
    kappa = kappas.get("tau", kappas.get("tau_mem"))
    drive: dict[str, Any] = {}
    if kappa is None:
        drive["dt_r"] = cast(dtype.type(s.dt) * p["r"].astype(dtype))  # the reference's dt * r, in the run's dtype
        beta = cast(1.0)
    else:
        beta = cast(1.0 - kappa)
        drive.update(v_leak=cast(p["v_leak"]), r=cast(p["r"]))
    alpha = None
    if kind.startswith("Cuba"):
        alpha = cast(1.0 - kappas["tau_syn"])
        drive["w_in"] = cast(p["w_in"])
    spiking = kind in _SPIKING
    threshold = cast(p["v_threshold"]) if spiking else None
    module_threshold = threshold if spiking else (cast(np.finfo(dtype).max) if kind == "CubaLI" else None)
    rest = cast(p["v_leak"] if kappa is not None else 0.0)
    module = _module(kind, shape, beta, alpha, None if module_threshold is None else np.asarray(module_threshold))
    return NeuronNode(kind, module, drive, rest, threshold, cast(p["v_reset"]) if spiking else None, beta,
                      s.reset == "subtract", alpha, _above(plan, name) if spiking else False)
