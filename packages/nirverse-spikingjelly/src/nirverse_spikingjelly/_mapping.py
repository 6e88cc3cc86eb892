r"""NIR parameters → SpikingJelly constructor arguments: numpy only, so that ``node_level`` and
``check_support`` never import torch or SpikingJelly.

SpikingJelly 2.0.0's neurons (``spikingjelly/_ops/lif/reference.py``, ``_ops/if_/reference.py``,
``_ops/reset.py``, ``functional/neuron.py`` ``cuba_lif_step``), one step with input :math:`x'`:

.. math::

    \text{IFNode: } h = v + x' \qquad
    \text{LIFNode: } h = v + (x' - (v - V_r))/\tau_{sj} \ (\texttt{decay\_input}),\quad
    h = v - (v - V_r)/\tau_{sj} + x' \ (\text{not})

    \text{CUBALIFNode: } c_t = c_{t-1}\,c_{decay} + x',\quad h = v\,v_{decay} + c_t

    z = H(h - \theta_{sj}) = 1[h \ge \theta_{sj}],\qquad
    v_t = z V_r + (1-z) h \ (V_r\text{ a float}),\quad v_t = h - z\,\theta_{sj} \ (V_r = \text{None})

with :math:`V_r = 0` in the charge when ``v_reset=None``. Every parameter is a Python float (the
constructors assert it; the float32 kernels also require a finite threshold and :math:`\tau_{sj} > 1`).
So a NIR node whose neurons differ in a scalar parameter becomes one SpikingJelly population per
distinct value tuple (the *groups*), each fed its neurons' inputs.

The semantics fires on :math:`u > \theta`; SpikingJelly on :math:`h \ge \theta_{sj}`. nirverse passes
:math:`\theta_{sj}` = the next float above θ in the run's dtype, so :math:`h \ge \theta_{sj} \iff h > \theta`
exactly (a subtractive reset then removes θ plus one ulp: well inside 1e-9).

With κ = κ(τ) of the semantics, :math:`L` the leak target SpikingJelly uses (:math:`v_{reset}` under
``"value"``, 0 under ``"subtract"``) and :math:`\Omega` the dtype's largest finite number (a threshold the
membrane never reaches: the non-spiking nodes):

=========  =========================================================================================
NIR node   SpikingJelly
=========  =========================================================================================
IF         ``IFNode(v_threshold=θ_sj, v_reset=v_reset | None)``; x' = (Δt·r) x; v₀ = 0
I          ``IFNode(v_threshold=Ω, v_reset=0.0)``; x' = (Δt·r) x; v₀ = 0; output the membrane
LIF        ``LIFNode(tau=1/κ, decay_input, v_threshold=θ_sj, v_reset=v_reset | None)``; decay_input:
           x' = r x + (v_leak − L); κr = 1: ``decay_input=False``, x' = x + κ(v_leak − L); v₀ = v_leak
LI         ``LIFNode(tau=1/κ, decay_input, v_threshold=Ω, v_reset=v_leak)``; x' = r x (or x when κr = 1)
CubaLIF    ``CUBALIFNode(c_decay=1−κ_syn, v_decay=1−κ_mem, v_threshold=θ_sj, v_reset=v_reset | None)``
           with the current stored scaled: c = a i + b, a = κ_mem r, b = κ_mem v_leak; x' = a κ_syn w_in x
           + κ_syn b; c₀ = b; v₀ = v_leak; recorded i = (c − b)/a
CubaLI     the same with ``v_threshold=Ω, v_reset=0.0``
Delay      ``layer.Delay(k)`` per distinct k = round(delay/Δt)
=========  =========================================================================================

Refused: κ ≥ 1 in a LIF or LI (``LIFNode`` asserts τ > 1); a = κ_mem r zero or too small in a Cuba node
(the current could not be read back from c to the tolerance: :math:`|a| < 10^{-4}|b|` in float64,
:math:`10^{-1}|b|` in float32, or |a| near the dtype's subnormal range).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from nirverse.errors import UnsupportedNodeError
from nirverse.levels import ADAPTED, EMULATED, NATIVE, NodeLevel

__all__ = ["NeuronSpec", "neuron_spec", "group_rows", "node_level", "threshold_above", "NEURON_CONSTRUCTS"]

SJ = "spikingjelly.activation_based"
NEURON_CONSTRUCTS = {
    "IF": f"{SJ}.neuron.IFNode", "I": f"{SJ}.neuron.IFNode", "LIF": f"{SJ}.neuron.LIFNode",
    "LI": f"{SJ}.neuron.LIFNode", "CubaLIF": f"{SJ}.neuron.CUBALIFNode", "CubaLI": f"{SJ}.neuron.CUBALIFNode",
}
STATELESS_CONSTRUCTS = {
    "Affine": f"{SJ}.layer.Linear", "Linear": f"{SJ}.layer.Linear", "Conv1d": f"{SJ}.layer.Conv1d",
    "Conv2d": f"{SJ}.layer.Conv2d", "AvgPool2d": f"{SJ}.layer.AvgPool2d", "SumPool2d": f"{SJ}.layer.AvgPool2d",
    "Flatten": f"{SJ}.layer.Flatten", "Threshold": f"{SJ}.surrogate.heaviside", "Delay": f"{SJ}.layer.Delay",
}
_NP = {"float64": np.float64, "float32": np.float32}
#: κ·r within this many ulps of 1 counts as 1 (``decay_input=False`` adds the input unscaled)
_ULPS = 4


@dataclass
class NeuronSpec:
    """How one NIR neuron node becomes SpikingJelly populations (per neuron arrays have the node's shape)."""

    kind: str
    construct: str
    #: per population: flat neuron indices (None: all neurons) and the constructor's keyword arguments
    groups: list[tuple[np.ndarray | None, dict[str, Any]]]
    gain: np.ndarray | None  # x' = gain * x + bias (None: not applied)
    bias: np.ndarray | None
    v0: np.ndarray
    emit_v: bool
    c0: np.ndarray | None = None  # Cuba: initial (scaled) current
    c_scale: np.ndarray | None = None  # Cuba: a of c = a i + b (None: a = 1 and b = 0)
    notes: list[str] = field(default_factory=list)


def threshold_above(theta: np.ndarray, dtype: str) -> np.ndarray:
    """θ_sj: the next float above θ in the run's dtype (as float64 values), so that h ≥ θ_sj ⟺ h > θ."""
    t = np.asarray(theta, dtype=np.float64).astype(_NP[dtype])
    return np.nextafter(t, _NP[dtype](np.inf)).astype(np.float64)


def group_rows(keys: np.ndarray) -> list[np.ndarray | None]:
    """Flat neuron indices of each distinct row of ``keys`` (neurons × fields; NaN stands for None);
    ``[None]`` when all rows are equal."""
    encoded = np.where(np.isnan(keys), np.inf, keys) if keys.size else keys
    unique, inverse = np.unique(encoded, axis=0, return_inverse=True)
    if len(unique) <= 1:
        return [None]
    inverse = inverse.reshape(-1)
    return [np.flatnonzero(inverse == g) for g in range(len(unique))]


def _first(mask: np.ndarray) -> str:
    idx = np.unravel_index(int(np.argmax(mask)), mask.shape)
    return f"neuron {tuple(int(i) for i in idx)}"


def _unit(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - 1.0) <= _ULPS * np.finfo(np.float64).eps))


def _leak_factor(name: str, field_name: str, tau: np.ndarray, semantics) -> np.ndarray:
    kappa = semantics.kappa(tau)
    bad = ~((kappa > 0) & (kappa < 1))
    if np.any(bad):
        raise UnsupportedNodeError(
            f"leak factor κ = {float(kappa[bad].flat[0])!r} ({_first(bad)}): SpikingJelly's LIFNode takes "
            "tau = 1/κ in steps and asserts tau > 1", node=name, field=field_name,
            expected=f"0 < κ(τ) < 1, i.e. τ > dt = {semantics.dt!r} under method='euler' (or method='exp')",
        )
    return kappa


def _populations(keys: list[np.ndarray], names: tuple[str, ...]) -> list[tuple[np.ndarray | None, dict]]:
    """One (indices, kwargs) per distinct tuple of the per-neuron scalar parameters in ``keys``."""
    table = np.stack([np.asarray(k, dtype=np.float64).reshape(-1) for k in keys], axis=1)
    out = []
    for idx in group_rows(table):
        row = table[0] if idx is None else table[idx[0]]
        out.append((idx, {n: (None if np.isnan(v) else float(v)) for n, v in zip(names, row)}))
    return out


def _integrator(name: str, kind: str, p: dict, semantics, dtype: str) -> NeuronSpec:
    np_dtype = _NP[dtype]
    gain = (np_dtype(semantics.dt) * p["r"].astype(np_dtype)).astype(np.float64)
    shape = p["r"].shape
    if kind == "I":
        groups = [(None, {"v_threshold": float(np.finfo(np_dtype).max), "v_reset": 0.0})]
    else:
        v_reset = p["v_reset"] if semantics.reset == "value" else np.full(shape, np.nan)
        groups = _populations([threshold_above(p["v_threshold"], dtype), v_reset], ("v_threshold", "v_reset"))
    return NeuronSpec(kind, NEURON_CONSTRUCTS[kind], groups, None if np.all(gain == 1) else gain, None,
                      np.zeros(shape), kind == "I")


def _leaky(name: str, kind: str, p: dict, semantics, dtype: str) -> NeuronSpec:
    kappa = _leak_factor(name, "tau", p["tau"], semantics)
    r, shape = p["r"], p["r"].shape
    scaled = _unit(kappa * r)  # decay_input=False adds x unscaled: κ r = 1
    if kind == "LI":  # leaks towards v_reset = v_leak, never fires
        bias = None
        threshold, v_reset = np.full(shape, np.finfo(_NP[dtype]).max), p["v_leak"]
    else:
        value = semantics.reset == "value"
        threshold = threshold_above(p["v_threshold"], dtype)
        v_reset = p["v_reset"] if value else np.full(shape, np.nan)
        offset = p["v_leak"] - (p["v_reset"] if value else 0.0)  # v_leak − L
        bias = (kappa * offset if scaled else offset) if np.any(offset != 0) else None
    gain = None if scaled or np.all(r == 1) else r
    groups = _populations([1.0 / kappa, threshold, v_reset], ("tau", "v_threshold", "v_reset"))
    for _, kwargs in groups:
        kwargs["decay_input"] = not scaled
    return NeuronSpec(kind, NEURON_CONSTRUCTS[kind], groups, gain, bias, p["v_leak"].copy(), kind == "LI")


#: the smallest ``|a|`` = ``|κ_mem r|`` relative to ``|b|`` = ``|κ_mem v_leak|``: reading i = (c − b)/a back loses
#: ε``|b|``/``|a|`` absolutely, which this keeps ~100x inside the tolerance (1e-9 float64, 1e-5 float32)
READBACK_CONDITION = {"float64": 1e-4, "float32": 1e-1}


def _check_readback(name: str, a: np.ndarray, b: np.ndarray, dtype: str) -> None:
    """Refuse a Cuba node whose current cannot be read back from c = a i + b to the tolerance:
    :math:`|a| < C_{dtype} |b|`, or |a| so small that a·i loses digits (below tiny·2^nmant of the dtype)."""
    info = np.finfo(_NP[dtype])
    bad = (np.abs(a) < READBACK_CONDITION[dtype] * np.abs(b)) | (np.abs(a) < float(info.tiny) * 2.0**info.nmant)
    if np.any(bad):
        raise UnsupportedNodeError(
            f"κ(tau_mem)·r = {float(a[bad].flat[0])!r} is 0 or too small ({_first(bad)}): CUBALIFNode adds its "
            "current to the membrane unscaled, so nirverse stores it as c = κ r i + κ v_leak and reads it back "
            "as (c − κ v_leak)/(κ r), which loses the current's digits", node=name, field="r",
            expected=f"|κ(tau_mem)·r| >= {READBACK_CONDITION[dtype]} x |κ(tau_mem)·v_leak| (and not subnormal in {dtype})",
        )


def _cuba(name: str, kind: str, p: dict, semantics, dtype: str) -> NeuronSpec:
    k_syn, k_mem = semantics.kappa(p["tau_syn"]), semantics.kappa(p["tau_mem"])
    a, b = k_mem * p["r"], k_mem * p["v_leak"]
    _check_readback(name, a, b, dtype)
    shape = a.shape
    if kind == "CubaLIF":
        threshold = threshold_above(p["v_threshold"], dtype)
        v_reset = p["v_reset"] if semantics.reset == "value" else np.full(shape, np.nan)
    else:
        threshold, v_reset = np.full(shape, np.finfo(_NP[dtype]).max), np.zeros(shape)
    groups = _populations([1.0 - k_syn, 1.0 - k_mem, threshold, v_reset], ("c_decay", "v_decay", "v_threshold", "v_reset"))
    gain = a * k_syn * p["w_in"]
    identity = bool(np.all(a == 1) and np.all(b == 0))
    return NeuronSpec(
        kind, NEURON_CONSTRUCTS[kind], groups, None if np.all(gain == 1) else gain,
        None if np.all(b == 0) else k_syn * b, p["v_leak"].copy(), kind == "CubaLI", c0=b.copy(),
        c_scale=None if identity else a,
    )


def neuron_spec(name: str, kind: str, p: dict, semantics, dtype: str) -> NeuronSpec:
    """The SpikingJelly populations of one neuron node (raises ``UnsupportedNodeError`` for refusals)."""
    if kind in ("I", "IF"):
        return _integrator(name, kind, p, semantics, dtype)
    if kind in ("LI", "LIF"):
        return _leaky(name, kind, p, semantics, dtype)
    return _cuba(name, kind, p, semantics, dtype)


def _neuron_level(name: str, kind: str, spec: NeuronSpec) -> NodeLevel:
    changes = []
    if spec.gain is not None:
        changes.append("input scaled per neuron")
    if spec.bias is not None:
        changes.append("a constant input moves the leak target to v_leak")
    if spec.c_scale is not None:
        changes.append("the current is stored as κ_mem·r·i + κ_mem·v_leak")
    what = f"{len(spec.groups)} {spec.construct.rsplit('.', 1)[-1]} population(s) (one per distinct scalar parameter set)"
    if kind in ("IF", "LIF", "CubaLIF"):
        what += "; v_threshold = next float above θ (SpikingJelly fires on ≥)"
    else:
        what += "; v_threshold = largest finite float (never fires), output = membrane"
    if changes:
        return NodeLevel(name, kind, ADAPTED, spec.construct, what + "; " + "; ".join(changes))
    return NodeLevel(name, kind, NATIVE, spec.construct, what)


def _stateless_level(plan, name: str, kind: str) -> NodeLevel:
    if kind == "Scale":
        return NodeLevel(name, kind, EMULATED, "torch.nn.Module", "SpikingJelly has no elementwise scale: a torch module")
    construct = STATELESS_CONSTRUCTS[kind]
    p = plan.params[name]
    if kind in ("Conv1d", "Conv2d") and any(lo != hi for lo, hi in p["pads"]):
        return NodeLevel(name, kind, ADAPTED, construct, "uneven 'same' padding: torch.nn.ZeroPad first")
    if kind in ("AvgPool2d", "SumPool2d") and any(pad > k // 2 for pad, k in zip(p["padding"], p["kernel_size"])):
        return NodeLevel(name, kind, ADAPTED, construct, "padding > kernel/2: torch.nn.ZeroPad2d first")
    reasons = {
        "Threshold": "1[x − θ_sj ≥ 0] with θ_sj the next float above θ",
        "SumPool2d": "divisor_override=1 (a window sum)",
        "Delay": "one layer.Delay per distinct delay in steps",
    }
    return NodeLevel(name, kind, NATIVE, construct, reasons.get(kind, "parameters copied"))


def node_level(plan, name: str, dtype: str) -> NodeLevel:
    """Level of node ``name`` (see :mod:`nirverse.levels`); raises ``UnsupportedNodeError`` where refused."""
    kind = plan.types[name]
    if kind in NEURON_CONSTRUCTS:
        return _neuron_level(name, kind, neuron_spec(name, kind, plan.params[name], plan.semantics, dtype))
    return _stateless_level(plan, name, kind)
