r"""NIR neuron nodes → NEST built-in models (``iaf_psc_delta``, ``iaf_psc_exp``), parameters and levels.

NEST runs with resolution :math:`h = 1` ms standing for one step of the semantics, so every time
constant is given in *steps*. NEST keeps the membrane relative to ``E_L``; nirverse sets ``E_L = 0``
and stores :math:`y = v - v_{leak}` (so thresholds and resets are shifted by :math:`v_{leak}`).

``iaf_psc_delta`` (NEST ``models/iaf_psc_delta.cpp``), per step, with :math:`P_{33} = e^{-h/\tau_m}`:
:math:`y \leftarrow P_{33} y + \sum_j w_j s_j`, spike when :math:`y \ge V_{th}`, then
:math:`y \leftarrow V_{reset}` (``t_ref = 0``: no refractory step). The semantics'
:math:`u = v + \kappa(v_{leak} - v + r x)` is exactly this with :math:`P_{33} = 1 - \kappa`,
weights :math:`\kappa r W`, and :math:`V_{th}` = the next float above :math:`v_{th} - v_{leak}`
(NEST compares ``>=``, the semantics ``>``). ``"exp"``: :math:`\tau_m = \tau/\Delta t` (native);
``"euler"``: :math:`\tau_m = -1/\ln(1 - \Delta t/\tau)` (adapted). I/IF: :math:`\tau_m = 10^{300}`
(:math:`P_{33} = 1` exactly), weights :math:`\Delta t\, r W`. Threshold: :math:`\tau_m = 10^{-300}`
(:math:`P_{33} = 0`: :math:`y` is this step's input). LI and I never spike (:math:`V_{th} = +\infty`).

``iaf_psc_exp`` (``models/iaf_psc_exp.cpp``) updates :math:`V \leftarrow P_{22} V + P_{21} I` with
the *previous* current, then :math:`I \leftarrow P_{11} I + \sum_j w_j s_j`. The semantics' CubaLIF
uses the same step's current, :math:`v_t = a v_{t-1} + c\, i_t`. With :math:`P_{22} = a`,
:math:`P_{11} = 1 - \kappa_{syn}` and weights scaled by :math:`\kappa_{syn} w_{in} c / P_{21}`,
NEST's :math:`V` after step :math:`s+1` is :math:`v_s`: the membrane runs one NEST step behind the
current (the population's output ``offset`` is 1, see :mod:`._lowering`). Adapted.

Reset ``"subtract"`` has no NEST built-in model (every ``iaf_*`` model resets to ``V_reset``;
``mat2_psc_exp``, whose threshold could carry the subtraction, cannot fire in two consecutive steps), and a
recurrent CubaLIF has no exact schedule with ``iaf_psc_exp``. Such graphs run every neuron node as the
plugin's NESTML model (:mod:`._nestml`, *emulated*) where NESTML can build it, and are refused otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from nirverse.errors import UnsupportedNodeError, UnsupportedSemanticsError
from nirverse.levels import ADAPTED, EMULATED, NATIVE, NodeLevel
from nirverse.semantics import Semantics
from nirverse.validation import NEURON_TYPES

__all__ = ["NestSpec", "neuron_spec", "emulated_spec", "threshold_spec", "probe_spec", "level_of", "SPIKING",
           "CONTINUOUS", "INFINITE_TAU"]

#: node types whose NEST populations emit spikes
SPIKING = frozenset({"IF", "LIF", "CubaLIF", "Threshold"})
#: neuron nodes whose output is the membrane (read through a multimeter, never sent on)
CONTINUOUS = frozenset({"I", "LI", "CubaLI"})
#: τ_m standing for "no leak" (P33 = exp(-1e-300) == 1.0) and for "no memory" (P33 = exp(-1e300) == 0.0)
INFINITE_TAU, ZERO_TAU = 1e300, 1e-300
DELTA, EXP = "iaf_psc_delta", "iaf_psc_exp"
STATIC = "static_synapse"
_BUILTIN_LIMITS = ("their iaf models reset to V_reset (no subtraction), iaf_psc_exp integrates with the previous "
                   "step's current (no exact schedule for a recurrent CubaLIF)")
SUBTRACT_REASON = (
    "NEST's built-in iaf models reset the membrane to V_reset; reset='subtract' needs the plugin's NESTML model "
    "(pip install 'nirverse-nest[nestml]', plus cmake, a C++ compiler and the Boost and libltdl headers)"
)


@dataclass
class NestSpec:
    """One population's NEST model: ``params`` per neuron, ``gain`` multiplies every incoming weight,
    ``offset`` = NEST steps between the population's input and its output (1 for ``iaf_psc_exp``),
    ``shift`` = value added to NEST's V_m to get v, ``i_scale`` = factor from NEST's I_syn to i."""

    model: str
    params: dict[str, np.ndarray]
    gain: np.ndarray
    offset: int = 0
    shift: np.ndarray | None = None
    i_scale: np.ndarray | None = None
    spiking: bool = True
    v_name: str = "V_m"
    i_names: tuple[str, ...] = ("I_syn_ex", "I_syn_in")

    def fires_at_rest(self) -> bool:
        """Whether a neuron left at rest with no input would fire (then it must not run before its start)."""
        p = self.params
        if "V_th" in p:  # iaf models: the membrane rests at 0 (relative to v_leak), firing when 0 >= V_th
            return self.spiking and bool(np.any(p["V_th"] <= 0))
        rest = p["v"]
        fused = p.get("fused", np.zeros_like(rest)) > 0.5
        seen_first = np.where(p.get("fused_delay", np.zeros_like(rest)) > 0.5, 0.0, rest)
        fused_fires = fused & ((rest > p.get("fused_theta", rest)) | (seen_first > p.get("fused_theta", rest)))
        return bool((p["spiking"] > 0.5).any() and np.any(rest > p["v_th"])) or bool(fused_fires.any())


def tau_steps(tau: np.ndarray, semantics: Semantics, node: str, field: str) -> np.ndarray:
    """τ in steps such that NEST's exp(-h/τ) is the semantics' 1 - κ(τ)."""
    ratio = semantics.dt / np.asarray(tau, dtype=np.float64)
    if semantics.method == "exp":
        return 1.0 / ratio
    if np.any(ratio > 1):
        raise UnsupportedNodeError(
            f"method='euler' with dt/{field} > 1 gives a negative decay factor 1 - dt/{field}; NEST's exact "
            "propagators exp(-h/tau) are always positive", node=node, field=field, expected=f"{field} >= dt",
        )
    with np.errstate(divide="ignore"):
        steps = -1.0 / np.log1p(-ratio)
    return np.where(ratio >= 1, ZERO_TAU, steps)


def _above(x: np.ndarray) -> np.ndarray:
    """The next float above x: NEST's ``y >= V_th`` then means ``y > x``."""
    return np.nextafter(x, np.inf)


def propagator_21(tau_syn: np.ndarray, tau_m: np.ndarray) -> np.ndarray:
    r""":math:`P_{21} = \int_0^h e^{-(h-s)/\tau_m} e^{-s/\tau_s} ds` (C = 1, h = 1), NEST's ``propagator_32``."""
    a, b = 1.0 / tau_m, 1.0 / tau_syn
    diff = a - b
    with np.errstate(divide="ignore", invalid="ignore"):
        general = np.exp(-a) * np.expm1(diff) / diff
    return np.where(np.abs(diff) < 1e-14, np.exp(-a), general)


def neuron_spec(kind: str, params: Mapping[str, np.ndarray], semantics: Semantics, node: str) -> NestSpec:
    """The NEST model and per-neuron parameters of one neuron node (flattened)."""
    flat = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in params.items()}
    n = flat["r"].size
    if kind in SPIKING and semantics.reset == "subtract":
        raise UnsupportedSemanticsError(SUBTRACT_REASON, node=node, field="reset", expected="reset='value'")
    cuba = kind in ("CubaLI", "CubaLIF")
    if kind in ("I", "IF"):
        leak, tau, gain = np.zeros(n), np.full(n, INFINITE_TAU), semantics.dt * flat["r"]
    else:
        leak = flat["v_leak"]
        tau_field = "tau_mem" if cuba else "tau"
        tau = tau_steps(flat[tau_field], semantics, node, tau_field)
        gain = semantics.kappa(flat[tau_field]) * flat["r"]
    common = {"E_L": np.zeros(n), "V_m": np.zeros(n), "C_m": np.ones(n), "t_ref": np.zeros(n), "tau_m": tau}
    if kind in SPIKING:
        common["V_th"] = _above(flat["v_threshold"] - leak)
        common["V_reset"] = flat["v_reset"] - leak
        if np.any(common["V_reset"] >= common["V_th"]):
            raise UnsupportedNodeError("NEST's iaf models require the reset potential below the threshold",
                                       node=node, field="v_reset", expected="v_reset < v_threshold")
    else:
        common["V_th"] = np.full(n, np.inf)
        common["V_reset"] = np.zeros(n)
    if not cuba:
        return NestSpec(DELTA, common, gain, 0, leak, spiking=kind in SPIKING)
    if np.any(gain == 0):
        raise UnsupportedNodeError(
            "a zero membrane gain κ(tau_mem)·r leaves the synaptic current unobservable in iaf_psc_exp",
            node=node, field="r", expected="r != 0",
        )
    tau_syn = tau_steps(flat["tau_syn"], semantics, node, "tau_syn")
    p21 = propagator_21(tau_syn, tau)
    common.update(tau_syn_ex=tau_syn, tau_syn_in=tau_syn, I_e=np.zeros(n))
    scale = gain / p21  # NEST's I = scale * i
    gain = semantics.kappa(flat["tau_syn"]) * flat["w_in"] * scale
    return NestSpec(EXP, common, gain, 1, leak, 1.0 / scale, spiking=kind in SPIKING)


def threshold_spec(params: Mapping[str, np.ndarray]) -> NestSpec:
    """Threshold y = 1[x > θ]: a memoryless iaf_psc_delta (P33 = 0) that fires when this step's input > θ."""
    theta = np.asarray(params["threshold"], dtype=np.float64).reshape(-1)
    n = theta.size
    p = {"E_L": np.zeros(n), "V_m": np.zeros(n), "C_m": np.ones(n), "t_ref": np.zeros(n),
         "tau_m": np.full(n, ZERO_TAU), "V_th": _above(theta), "V_reset": theta - 1.0}
    return NestSpec(DELTA, p, np.ones(n), 0, np.zeros(n))  # V_reset < V_th (NEST's check); P33 = 0 forgets it


def probe_spec(n: int) -> NestSpec:
    """An Output that sums several edges: a memoryless, never-firing iaf_psc_delta read by a multimeter."""
    p = {"E_L": np.zeros(n), "V_m": np.zeros(n), "C_m": np.ones(n), "t_ref": np.zeros(n),
         "tau_m": np.full(n, ZERO_TAU), "V_th": np.full(n, np.inf), "V_reset": np.zeros(n)}
    return NestSpec(DELTA, p, np.ones(n), 0, np.zeros(n), spiking=False)


def emulated_spec(kind: str, params: Mapping[str, np.ndarray], semantics: Semantics) -> NestSpec:
    """The NESTML ``nirverse_neuron`` (:mod:`._nestml`): the semantics' step, weights unscaled, no lag."""
    flat = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in params.items()}
    n = flat["r"].size
    cuba, leaky, spiking = kind in ("CubaLI", "CubaLIF"), kind not in ("I", "IF"), kind in SPIKING
    tau = flat.get("tau_mem", flat.get("tau"))
    full = lambda value: np.full(n, float(value))  # noqa: E731
    p = {
        "kappa": semantics.kappa(tau) if leaky else full(semantics.dt), "leaky": full(leaky),
        "v_leak": flat["v_leak"] if leaky else full(0), "r": flat["r"], "cuba": full(cuba),
        "kappa_syn": semantics.kappa(flat["tau_syn"]) if cuba else full(1), "w_in": flat.get("w_in", full(1)),
        "v_th": flat["v_threshold"] if spiking else full(0), "v_reset": flat["v_reset"] if spiking else full(0),
        "subtract": full(semantics.reset == "subtract"), "spiking": full(spiking),
        "v": flat["v_leak"] if leaky else full(0),
    }
    from ._nestml import MODEL

    return NestSpec(MODEL, p, full(1), 0, full(0), full(1) if cuba else None, spiking=spiking, v_name="v",
                    i_names=("i",))


_REASONS = {
    "LIF": "iaf_psc_delta: NEST's exact propagator exp(-dt/tau) is the semantics' exp method; weights κ·r, "
           "threshold the next float above v_th (NEST compares >=)",
    "LI": "iaf_psc_delta that never fires (V_th = +inf), read by a multimeter",
    "IF": "iaf_psc_delta with tau_m = 1e300 standing for no leak (its propagator rounds to exactly 1), weights dt·r",
    "I": "iaf_psc_delta with tau_m = 1e300 (no leak) that never fires, read by a multimeter",
    "CubaLIF": "iaf_psc_exp with the membrane one NEST step behind the current (NEST uses the previous step's "
               "current), incoming weights scaled by κ_syn·w_in·κ_mem·r/P21",
    "CubaLI": "iaf_psc_exp (as CubaLIF) that never fires, read by a multimeter",
    "Threshold": "iaf_psc_delta with tau_m = 1e-300 (no memory: the membrane is this step's input), threshold "
                 "the next float above θ",
}
_MODEL = {"LIF": DELTA, "LI": DELTA, "IF": DELTA, "I": DELTA, "CubaLIF": EXP, "CubaLI": EXP, "Threshold": DELTA}


def level_of(kind: str, node: str, semantics: Semantics, mode: str = "builtin") -> NodeLevel:
    """The level of a node NEST runs (no NEST import); linear nodes become static_synapse connections."""
    if kind in NEURON_TYPES and mode == "nestml":
        from ._nestml import CONSTRUCT

        return NodeLevel(node, kind, EMULATED, CONSTRUCT, "the semantics' step written in NESTML (model "
                         "nirverse_neuron), compiled into a NEST module; NEST's built-in models cannot do this graph: "
                         + _BUILTIN_LIMITS)
    if kind in NEURON_TYPES or kind == "Threshold":
        if kind in SPIKING and semantics.reset == "subtract":
            raise UnsupportedNodeError(SUBTRACT_REASON, node=node, field="reset", expected="reset='value'")
        native = kind in ("LIF", "LI") and semantics.method == "exp"
        reason = _REASONS[kind]
        if kind in ("LIF", "LI") and not native:
            reason += "; method='euler' by tau_m = -dt/ln(1 - dt/tau), so that exp(-dt/tau_m) = 1 - dt/tau"
        return NodeLevel(node, kind, NATIVE if native else ADAPTED, f"nest.{_MODEL[kind]}", reason)
    reason = ("folded with the other linear nodes of its path into the weights (and delays) of static_synapse "
              "connections, scaled by the target's input gain")
    if kind == "Delay":
        reason = "whole steps become synaptic delays of static_synapse connections"
    return NodeLevel(node, kind, ADAPTED, f"nest.{STATIC}", reason)
