r"""The numbers a NIR neuron node becomes in Sinabs (numpy only: the labels and the builder share them).

Sinabs 2.0.3's layers (``sinabs/layers/functional/lif.py``, ``lif_forward_single``) advance one step as

.. math::

    i_s \leftarrow \alpha_s (i_s + x') \ \text{(only with tau\_syn, else } i_s = x'\text{)}, \qquad
    v_s \leftarrow \alpha_m v_s + n\, i_s, \quad n = 1-\alpha_m \text{ (norm\_input) or } 1,

then ``spike_fn`` and ``reset_fn``. nirverse uses ``train_alphas=True`` so that Sinabs' decay factors
are set directly, :math:`\alpha = 1-\kappa(\tau)` (Sinabs otherwise computes :math:`e^{-1/\tau}` with
:math:`\tau` in *time steps*, in float32), ``SingleSpike`` (one spike per step) with the threshold
:math:`\theta' = \mathrm{nextafter}(\theta, +\infty)`, so that Sinabs' ``v - θ' >= 0`` is exactly NIR's
:math:`v > \theta`, and the resets ``MembraneSubtract(subtract_value=θ)`` / ``MembraneReset(0)``.

Sinabs' ``MembraneReset(reset_value=c)`` computes ``v * (spikes == 0) + c``: it adds :math:`c` to every
neuron, spiking or not. So a value reset to :math:`v_{reset} \ne 0` runs in shifted coordinates
:math:`v_s = v - c` with :math:`c = v_{reset}` (``MembraneReset(0)`` then resets to :math:`v_{reset}`);
``c = 0`` otherwise. With :math:`b = v_{leak} - c`:

=======  =====================  ====================================================  ===============================
node     Sinabs layer           input :math:`x'` (gain·x + bias)                      start state
=======  =====================  ====================================================  ===============================
LIF      ``LIF``, norm_input    :math:`r x + b`                                       :math:`v_s = v_{leak} - c`
LI       ``ExpLeak``, norm_in.  :math:`r x + v_{leak}`                                :math:`v_s = v_{leak}`
IF       ``IAF``                :math:`\Delta t\, r\, x`                              :math:`v_s = -c`
I        ``IAF``, no spike_fn   :math:`\Delta t\, r\, x`                              0
CubaLIF  ``LIF`` with tau_syn   :math:`(r\kappa_s w_{in} x + \kappa_s b)/\alpha_s`     :math:`i_s = b`, :math:`v_s = v_{leak}-c`
CubaLI   the same, no spike_fn  the same (c = 0)                                      the same
=======  =====================  ====================================================  ===============================

For the Cuba nodes Sinabs' current holds :math:`i_s = r\,i + b` (then
:math:`v_s = \alpha_m v_s + (1-\alpha_m)(r i + v_{leak} - c)` is NIR's membrane); NIR's current is read
back as :math:`(i_s - b)/r`, which loses :math:`\epsilon |b| / |r|`. Refused: a Cuba node with :math:`r = 0`
or :math:`|r|` too small for that (:math:`|r| < 10^{-4}|b|` in float64, :math:`10^{-1}|b|` in float32, or
subnormal: snnTorch's bound; its current cannot be read back to the tolerance) or :math:`\alpha_s = 0`
(forward Euler with :math:`\Delta t = \tau_{syn}`: Sinabs' current cannot take
the input).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from nirverse import Plan, UnsupportedNodeError

__all__ = ["NeuronMap", "neuron_map", "LAYERS", "NUMPY_DTYPES"]

NUMPY_DTYPES = {"float64": np.float64, "float32": np.float32}

#: the Sinabs layer class of each neuron node
LAYERS = {"LIF": "LIF", "LI": "ExpLeak", "IF": "IAF", "I": "IAF", "CubaLIF": "LIF", "CubaLI": "LIF"}


@dataclass(frozen=True)
class NeuronMap:
    """Everything a Sinabs neuron layer and the plugin's input transformation need (in the run's dtype).

    ``alpha_mem`` / ``alpha_syn``: Sinabs' decay factors (``None`` for IAF / without a synapse);
    ``threshold``: Sinabs' ``spike_threshold`` (``None`` without spikes); ``subtract``: the value
    ``MembraneSubtract`` takes (``None`` for ``MembraneReset(0)``); ``gain``/``bias``: x' = gain·x + bias
    (``None`` where not needed); ``offset`` c: v = v_s + c; ``v0``/``i0``: Sinabs' start state;
    ``r``/``b``: NIR's current is (i_s - b)/r.
    """

    kind: str
    layer: str
    alpha_mem: np.ndarray | None
    alpha_syn: np.ndarray | None
    threshold: np.ndarray | None
    subtract: np.ndarray | None
    gain: np.ndarray | None
    bias: np.ndarray | None
    offset: np.ndarray | None
    v0: np.ndarray
    i0: np.ndarray | None
    r: np.ndarray | None
    b: np.ndarray | None

    @property
    def spiking(self) -> bool:
        return self.threshold is not None

    def transformations(self) -> list[str]:
        """What the plugin does around Sinabs' layer (empty: Sinabs does the whole update)."""
        out = []
        if self.gain is not None:
            out.append("input scaled by " + ("r·κ_syn·w_in/α_syn" if self.alpha_syn is not None else
                                             "Δt·r" if self.layer == "IAF" else "r"))
        if self.bias is not None:
            out.append("a constant input (v_leak)")
        if self.offset is not None:
            out.append("membrane stored shifted by v_reset (Sinabs' MembraneReset adds its value to every neuron)")
        if np.any(self.v0 != 0) or (self.i0 is not None and np.any(self.i0 != 0)):
            out.append("start state set to the rest state")
        if self.r is not None and np.any(self.r != 1):
            out.append("current read back as (i_s - b)/r")
        return out


def _strict(threshold: np.ndarray) -> np.ndarray:
    """θ' with ``v - θ' >= 0`` ⇔ ``v > θ`` (IEEE: a - b == 0 only where a == b)."""
    return np.nextafter(threshold, np.array(np.inf, threshold.dtype))


def _unit(values: np.ndarray) -> np.ndarray | None:
    return None if np.all(values == 1) else values


def _zero(values: np.ndarray) -> np.ndarray | None:
    return None if np.all(values == 0) else values


def neuron_map(plan: Plan, name: str, dtype: str) -> NeuronMap:
    """The Sinabs mapping of neuron node ``name`` (raises ``UnsupportedNodeError`` where there is none)."""
    kind, p, s = plan.types[name], plan.params[name], plan.semantics
    d = NUMPY_DTYPES[dtype]
    cast = lambda a: np.asarray(a, dtype=np.float64).astype(d)  # noqa: E731
    r = cast(p["r"])
    spiking = kind in ("IF", "LIF", "CubaLIF")
    value_offset = spiking and s.reset == "value" and np.any(p["v_reset"] != 0)
    c = cast(p["v_reset"]) if value_offset else np.zeros_like(r)
    threshold = subtract = None
    if spiking:
        theta = cast(p["v_threshold"])
        threshold = _strict((theta - c).astype(d))
        subtract = theta if s.reset == "subtract" else None
    offset = c if value_offset else None
    if kind in ("IF", "I"):
        gain = (d(s.dt) * r).astype(d)
        return NeuronMap(kind, "IAF", None, None, threshold, subtract, _unit(gain), None, offset,
                         (-c).astype(d), None, None, None)
    alpha_mem = (1 - cast(s.kappa(p["tau_mem" if kind.startswith("Cuba") else "tau"]))).astype(d)
    b = (cast(p["v_leak"]) - c).astype(d)
    v0 = b
    if kind in ("LIF", "LI"):
        return NeuronMap(kind, LAYERS[kind], alpha_mem, None, threshold, subtract, _unit(r), _zero(b), offset,
                         v0, None, None, None)
    return _cuba_map(plan, name, kind, d, r, b, alpha_mem, threshold, subtract, offset, v0)


#: the smallest ``|r|`` relative to ``|b|`` that the current is read back past: (i_s - b)/r loses eps·``|b|``/``|r|``
#: absolutely, kept ~100x inside the tolerance (1e-9 float64, 1e-5 float32); snnTorch's bound
READBACK_CONDITION = {np.float64: 1e-4, np.float32: 1e-1}


def _check_readback(name: str, r: np.ndarray, b: np.ndarray, d) -> None:
    """Refuse r so small against b = v_leak - c that (i_s - b)/r cannot recover NIR's current exactly
    (:math:`|r| < 10^{-4}|b|` in float64, :math:`10^{-1}|b|` in float32, or r subnormal)."""
    info = np.finfo(d)
    mag = np.abs(r.astype(np.float64))
    bad = (mag < READBACK_CONDITION[d] * np.abs(b.astype(np.float64))) | (mag < float(info.tiny) * 2.0**info.nmant)
    if np.any(bad):
        at = int(np.flatnonzero(bad.ravel())[0])
        raise UnsupportedNodeError(
            f"r = {float(r.ravel()[at])!r} at neuron {at} is too small: Sinabs' current holds i_s = r·i + b "
            f"(b = v_leak - v_reset offset = {float(b.ravel()[at])!r}), and (i_s - b)/r loses the current's digits",
            node=name, field="r",
            expected=f"|r| >= {READBACK_CONDITION[d]} x |v_leak - offset| (and not subnormal in {info.dtype})",
        )


def _cuba_map(plan, name, kind, d, r, b, alpha_mem, threshold, subtract, offset, v0) -> NeuronMap:
    p, s = plan.params[name], plan.semantics
    if np.any(r == 0):
        bad = int(np.flatnonzero(r.ravel() == 0)[0])
        raise UnsupportedNodeError(
            f"r = 0 at neuron {bad}: Sinabs' current holds r·i, from which NIR's current cannot be read back",
            node=name, field="r", expected="r != 0",
        )
    _check_readback(name, r, b, d)
    kappa_syn = np.asarray(s.kappa(p["tau_syn"]), np.float64)
    alpha_syn = 1 - kappa_syn
    if np.any(alpha_syn == 0):
        bad = int(np.flatnonzero(alpha_syn.ravel() == 0)[0])
        raise UnsupportedNodeError(
            f"κ(tau_syn) = 1 at neuron {bad}: Sinabs' current i = α_syn·(i + x) takes no input when α_syn = 0",
            node=name, field="tau_syn", expected="tau_syn != dt under method='euler'",
        )
    w_in = np.asarray(p["w_in"], np.float64)
    r64, b64 = np.asarray(p["r"], np.float64), b.astype(np.float64)
    gain = (r64 * kappa_syn * w_in / alpha_syn).astype(d)
    bias = (kappa_syn * b64 / alpha_syn).astype(d)
    return NeuronMap(kind, "LIF", alpha_mem, alpha_syn.astype(d), threshold, subtract, _unit(gain), _zero(bias),
                     offset, v0, b, r, b)
