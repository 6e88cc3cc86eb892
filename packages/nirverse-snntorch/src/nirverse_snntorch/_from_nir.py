r"""NIR node → snnTorch / torch module, one mapper per NIR node type.

Derived from snnTorch 1.0.0's code (``snntorch/_neurons/leaky.py`` ``Leaky.forward`` /
``_base_state_function`` / ``_base_sub`` / ``_base_zero``, ``synaptic.py`` ``Synaptic.forward`` /
``_base_state_function``, ``neurons.py`` ``SpikingNeuron.fire`` / ``mem_reset``). One call of a neuron,
with :math:`\rho = H(m_{t-1} - \theta')` computed from the *stored* membrane and β, α clamped to [0, 1]:

.. math::

    \text{Leaky:}\ m = \beta m_{t-1} + I_t - \rho\,\theta' \ (\text{"subtract"}),\quad
    z = H(m - \theta'),\quad \text{reset\_delay=False: } m_t = m - (z - \rho)\,m \ (\text{"zero"})

    \text{Synaptic:}\ s_t = \alpha s_{t-1} + I_t,\quad m = \beta m_{t-1} + s_t,\ \text{then as Leaky.}

``reset="value"`` uses ``reset_mechanism="zero", reset_delay=False`` (a reset in the same step) on the
membrane shifted by :math:`o = v_{reset}` (:math:`m = v - o`), so snnTorch's reset to zero is the reset
to :math:`v_{reset}`; ρ stays 0 because the stored membrane never exceeds θ' (checked below).
``reset="subtract"`` uses ``reset_mechanism="subtract", reset_delay=True``: snnTorch stores the membrane
*before* the subtraction (:math:`m = u`, ρ = z_{t−1}) and computes
:math:`u_t = \beta u_{t-1} + I_t - \theta z_{t-1}`, where the semantics has
:math:`u_t = \beta (u_{t-1} - \theta z_{t-1}) + I_t`; the input path adds the difference
:math:`\kappa\theta z_{t-1}` (for ``Synaptic``, which adds its input to the current, also
:math:`-\alpha\kappa\theta z_{t-2}` so that the pulse reaches the membrane once). This is exact for any
input: snnTorch's ``reset_delay=False`` subtraction decides its next reset from the post-reset
membrane and deviates whenever that stays above threshold (see ``tests/test_bridge.py``).

With :math:`o = v_{reset}` (spiking node, "value"), :math:`o = v_{leak}` (CubaLI), else :math:`o = 0`;
:math:`\kappa = \kappa(\tau)` or :math:`\kappa(\tau_{mem})`, :math:`\kappa_s = \kappa(\tau_{syn})`:

==========  ========================  ==========================================================================
NIR node    snnTorch                  parameters (per neuron, tensors of the node's shape)
==========  ========================  ==========================================================================
I           ``Leaky``, reset "none"   β = 1; I = dt·r·x; output v = m
LI          ``Leaky``, reset "none"   β = 1 − κ; I = κ r x + κ v_leak; m₀ = v_leak; output v = m
IF          ``Leaky``                 β = 1; I = dt·r·x; θ' = v_threshold − o; m₀ = −o
LIF         ``Leaky``                 β = 1 − κ; I = κ r x + κ (v_leak − o); θ' = v_threshold − o; m₀ = v_leak − o
CubaLI      ``Synaptic``, "none"      α = 1 − κ_s, β = 1 − κ; s = c·i + K with c = κ r, K = κ (v_leak − o);
                                      I = c κ_s w_in x + κ_s K; s₀ = K, m₀ = v_leak − o; output v = m + o
CubaLIF     ``Synaptic``              as CubaLI, θ' = v_threshold − o; recorded i = (s − K − κθ z_{t−1})/c
Affine      ``torch.nn.Linear``       weight = W, bias = b
Linear      ``torch.nn.Linear``       weight = W, bias=False
Conv1d/2d   ``torch.nn.Conv1d/2d``    weight, bias, stride, padding (ints or 'same'/'valid'), dilation, groups
AvgPool2d   ``torch.nn.AvgPool2d``    kernel_size, stride, padding (count_include_pad); padding > k/2 →
                                      ``ZeroPad2d`` + pool
SumPool2d   ``torch.nn.AvgPool2d``    as AvgPool2d with ``divisor_override=1`` (a window sum)
Flatten     ``torch.nn.Flatten``      start_dim + 1, end_dim + 1 (a leading sample axis)
Scale       :class:`ScaleOp`          y = s ⊙ x
Threshold   :class:`ThresholdOp`      y = 1[x > θ]
Delay       :class:`DelayOp`          y_t = x_{t−k}, k = round(delay/dt)
==========  ========================  ==========================================================================

Recorded v is m + o ("value", non-spiking) or m − θ z ("subtract"). Spikes use
``graded_spikes_factor`` = ones of the node's shape in the model's dtype, so that a float64 model emits
float64 spikes (snnTorch's surrogates return ``.float()``).

Refused (:func:`check_node`): κ > 1 (β < 0 would be clamped), a rest state above threshold (snnTorch
would see ρ = 1 in the first step), v_reset > v_threshold under "value" (ρ = 1 after every reset),
r·κ = 0 or too small in a Cuba node (the current cannot be read back from the scaled synaptic state to
the tolerance: :math:`|c| < 10^{-4} (|K| + |\kappa\theta|)` in float64, :math:`10^{-1}` in float32,
or subnormal).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from nirverse.errors import UnsupportedNodeError
from nirverse.execution import delay_sequence
from nirverse.graph import Plan
from torch import nn

__all__ = ["build_module", "check_node", "SnnNeuron", "DelayOp", "ScaleOp", "ThresholdOp", "neuron_constants",
           "folded_into", "folded_target"]

_SPIKING = ("IF", "LIF", "CubaLIF")
_CUBA = ("CubaLI", "CubaLIF")


def _t(a: Any, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64)).to(dtype)


def neuron_constants(kind: str, p: dict, semantics) -> dict[str, np.ndarray]:
    """float64 snnTorch constants of one neuron node (see the module table)."""
    r = p["r"]
    zeros = np.zeros_like(r)
    spiking = kind in _SPIKING
    if kind in ("I", "IF"):
        kappa, v_leak = zeros, zeros
        gain = semantics.dt * r
        beta = np.ones_like(r)
    else:
        tau = p["tau_mem"] if kind in _CUBA else p["tau"]
        kappa = semantics.kappa(tau)
        v_leak = p["v_leak"]
        beta = 1.0 - kappa
        gain = kappa * r
    if spiking and semantics.reset == "value":
        offset = p["v_reset"]
    elif kind == "CubaLI":
        offset = v_leak
    else:
        offset = zeros
    out = {"beta": beta, "offset": offset, "mem0": v_leak - offset}
    if kind in _CUBA:
        kappa_s = semantics.kappa(p["tau_syn"])
        out["alpha"] = 1.0 - kappa_s
        out["c"] = gain
        out["K"] = kappa * (v_leak - offset)
        out["gain"] = gain * kappa_s * p["w_in"]
        out["bias"] = kappa_s * out["K"]
    else:
        out["gain"] = gain
        out["bias"] = kappa * (v_leak - offset)
    if spiking:
        out["threshold"] = p["v_threshold"] - offset
        out["feedback"] = kappa * p["v_threshold"]  # (1 − β) θ, used under "subtract" only
    return out


def _first(mask: np.ndarray) -> str:
    idx = np.unravel_index(int(np.argmax(mask)), mask.shape)
    return f"neuron {tuple(int(i) for i in idx) if len(idx) > 1 else int(idx[0]) if idx else ()}"


#: the smallest ``|r kappa|`` relative to the constant it is read back past (see :func:`check_node`): the
#: read-back error eps ``|K|`` / ``|r kappa|`` stays ~100x inside the tolerance (1e-9 float64, 1e-5 float32)
READBACK_CONDITION = {"float64": 1e-4, "float32": 1e-1}


def check_node(name: str, kind: str, p: dict, semantics, dtype: str = "float64") -> None:
    """Refuse parameters snnTorch's neurons cannot execute identically (see the module docstring)."""
    if kind in ("LI", "LIF", "CubaLI", "CubaLIF"):
        fields = [("tau_mem", p["tau_mem"]), ("tau_syn", p["tau_syn"])] if kind in _CUBA else [("tau", p["tau"])]
        for field, tau in fields:
            kappa = semantics.kappa(tau)
            if np.any(kappa > 1.0):
                raise UnsupportedNodeError(
                    f"dt/tau = {float(kappa.max())!r} > 1 ({_first(kappa > 1.0)}): snnTorch clamps its decay "
                    "factor 1 - dt/tau to [0, 1]",
                    node=name,
                    field=field,
                    expected=f"tau >= dt = {semantics.dt!r} under method='euler' (or method='exp')",
                )
    if kind in _CUBA:
        const = neuron_constants(kind, p, semantics)
        c, cancelled = np.abs(const["c"]), np.abs(const["K"])
        if kind == "CubaLIF" and semantics.reset == "subtract":
            cancelled = cancelled + np.abs(const["feedback"])
        # i = (s - K [- kappa theta z]) / c loses |terms| eps / |c| absolutely: keep that well inside the tolerance
        info = np.finfo(dtype)
        bad = (c < READBACK_CONDITION[dtype] * cancelled) | (c < info.tiny * 2.0**info.nmant)
        if np.any(bad):
            raise UnsupportedNodeError(
                f"r * kappa(tau_mem) = {float(c[bad].flat[0])!r} is 0 or too small ({_first(bad)}): snnTorch's "
                "Synaptic adds its current to the membrane with weight 1, so the current is stored as "
                "s = r kappa i + K and read back as (s - K) / (r kappa), which loses the current's digits",
                node=name,
                field="r",
                expected=f"|r kappa(tau_mem)| >= {READBACK_CONDITION[dtype]} x |kappa (v_leak - offset)| "
                f"(and not subnormal in {dtype})",
            )
    if kind in _SPIKING:
        rest = np.zeros_like(p["r"]) if kind == "IF" else p["v_leak"]
        thr = p["v_threshold"]
        if np.any(rest > thr):
            field = "v_threshold" if kind == "IF" else "v_leak"
            raise UnsupportedNodeError(
                f"the rest state lies above v_threshold ({_first(rest > thr)}): snnTorch decides a reset "
                "from the stored membrane before it integrates, so its first step would differ",
                node=name,
                field=field,
                expected="rest state (v_leak; 0 for IF) <= v_threshold",
            )
        if semantics.reset == "value" and np.any(p["v_reset"] > thr):
            raise UnsupportedNodeError(
                f"v_reset > v_threshold ({_first(p['v_reset'] > thr)}): after a reset snnTorch's next step "
                "would reset again before integrating",
                node=name,
                field="v_reset",
                expected="v_reset <= v_threshold",
            )


class SnnNeuron(nn.Module):
    """One NIR neuron node: the snnTorch neuron ``self.neuron`` plus its input path.

    ``drive = gain ⊙ x + bias`` (+ the reset correction under "subtract") feeds the neuron; the node
    outputs spikes (IF, LIF, CubaLIF) or ``v = m + o`` (I, LI, CubaLI). The state is the tuple
    ``([s,] m[, z_{t-1}[, z_{t-2}]])``.
    """

    def __init__(self, name: str, kind: str, p: dict, semantics, dtype: torch.dtype) -> None:
        super().__init__()
        import snntorch as snn

        self.node_name = name
        self.kind = kind
        self.cuba = kind in _CUBA
        self.spiking = kind in _SPIKING
        self.subtract = self.spiking and semantics.reset == "subtract"
        k = neuron_constants(kind, p, semantics)
        shape = p["r"].shape
        reset = ("subtract" if self.subtract else "zero") if self.spiking else "none"
        common = dict(
            threshold=_t(k["threshold"], dtype) if self.spiking else torch.zeros(shape, dtype=dtype),
            reset_mechanism=reset,
            reset_delay=self.subtract,
            init_hidden=False,
        )
        if self.cuba:
            self.neuron = snn.Synaptic(alpha=_t(k["alpha"], dtype), beta=_t(k["beta"], dtype), **common)
            self.neuron.graded_spikes_factor = torch.ones(shape, dtype=dtype)
        else:
            self.neuron = snn.Leaky(
                beta=_t(k["beta"], dtype), graded_spikes_factor=torch.ones(shape, dtype=dtype), **common
            )
        self.register_buffer("gain", _t(k["gain"], dtype))
        self.register_buffer("bias", _t(k["bias"], dtype))
        self.has_bias = bool(np.any(k["bias"] != 0))
        self.register_buffer("offset", _t(k["offset"], dtype))
        self.has_offset = bool(np.any(k["offset"] != 0))
        self.register_buffer("mem0", _t(k["mem0"], dtype))
        # "subtract": snnTorch's delayed subtraction removes θ z_{t-1}; the semantics removes β θ z_{t-1}
        self.feedback = self.subtract and bool(np.any(k["feedback"] != 0))
        self.register_buffer("fb1", _t(k["feedback"], dtype) if self.subtract else torch.zeros(()))
        if self.cuba:
            self.register_buffer("syn0", _t(k["K"], dtype))
            self.register_buffer("c", _t(k["c"], dtype))
            self.register_buffer("fb2", _t(-k["alpha"] * k["feedback"], dtype) if self.subtract else torch.zeros(()))
        self.state_names = ("v", "i") if self.cuba else ("v",)
        #: the input path is folded into the Affine/Linear before (see ``folded_into``)
        self.folded = False

    # -- input path and states ----------------------------------------------------------------
    def drive(self, x: torch.Tensor) -> torch.Tensor:
        if self.folded:  # gain and bias are in the weights of the Affine/Linear before
            return x
        return torch.addcmul(self.bias, x, self.gain) if self.has_bias else x * self.gain

    def init_state(self, batch: int) -> tuple:
        mem = self.mem0.expand(batch, *self.mem0.shape).clone()
        state: tuple = (mem,)
        if self.cuba:
            state = (self.syn0.expand(batch, *self.syn0.shape).clone(), mem)
        if self.feedback:
            zero = torch.zeros_like(mem)
            state = state + ((zero, zero) if self.cuba else (zero,))
        return state

    def v(self, mem: torch.Tensor, spk: torch.Tensor) -> torch.Tensor:
        """v = m + o; under "subtract" snnTorch stores the membrane before the subtraction: v = m − θ z."""
        if self.subtract:
            return mem - spk * self.neuron.threshold
        return mem + self.offset if self.has_offset else mem

    def i(self, syn: torch.Tensor, spk_prev: torch.Tensor) -> torch.Tensor:
        """i = (s − K − κθ z_{t−1}) / c (the reset correction passes through the synaptic state)."""
        if self.feedback:
            syn = syn - spk_prev * self.fb1
        return (syn - self.syn0) / self.c

    # -- one step of driven input ------------------------------------------------------------
    def step(self, drive: torch.Tensor, state: tuple) -> tuple[torch.Tensor, tuple]:
        if self.cuba:
            if self.feedback:
                syn, mem, z1, z2 = state
                drive = torch.addcmul(torch.addcmul(drive, z1, self.fb1), z2, self.fb2)
            else:
                syn, mem = state
            spk, syn, mem = self.neuron(drive, syn, mem)
            new = (syn, mem, spk, z1) if self.feedback else (syn, mem)
        else:
            if self.feedback:
                mem, z1 = state
                drive = torch.addcmul(drive, z1, self.fb1)
            else:
                (mem,) = state
            spk, mem = self.neuron(drive, mem)
            new = (mem, spk) if self.feedback else (mem,)
        return (spk if self.spiking else self.v(mem, spk)), new

    def mem_of(self, state: tuple) -> torch.Tensor:
        return state[1] if self.cuba else state[0]

    def traces(self, y: torch.Tensor, mems: list, syns: list) -> dict[str, torch.Tensor]:
        """Recorded v (and i) from the stacked outputs ``y`` and per-step membranes / currents."""
        spk = y if self.spiking else torch.zeros_like(y)
        out = {"v": self.v(torch.stack(mems), spk)}
        if self.cuba:
            prev = torch.cat([torch.zeros_like(spk[:1]), spk[:-1]])
            out["i"] = self.i(torch.stack(syns), prev)
        return out

    def sequence(self, x: torch.Tensor, record: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Run over ``x`` (time, batch, *shape); returns the output and the recorded states (time-major)."""
        drive = self.drive(x)
        state = self.init_state(x.shape[1])
        outs, mems, syns = [], [], []
        for t in range(x.shape[0]):
            y, state = self.step(drive[t], state)
            outs.append(y)
            if record:
                mems.append(self.mem_of(state))
                if self.cuba:
                    syns.append(state[0])
        if not outs:
            empty = x.new_zeros((0, *x.shape[1:]))
            return empty, ({k: empty for k in self.state_names} if record else {})
        y = torch.stack(outs)
        return y, (self.traces(y, mems, syns) if record else {})


class ScaleOp(nn.Module):
    """NIR Scale: y = s ⊙ x."""

    def __init__(self, scale: np.ndarray, dtype: torch.dtype) -> None:
        super().__init__()
        self.register_buffer("scale", _t(scale, dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class ThresholdOp(nn.Module):
    """NIR Threshold: y = 1[x > θ]."""

    def __init__(self, threshold: np.ndarray, dtype: torch.dtype) -> None:
        super().__init__()
        self.register_buffer("threshold", _t(threshold, dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > self.threshold).to(x.dtype)


class DelayOp(nn.Module):
    """NIR Delay: y_t = x_{t−k} per element (zeros before), k = round(delay/dt)."""

    def __init__(self, steps: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("steps", torch.as_tensor(np.asarray(steps, dtype=np.int64)))
        self.depth = int(np.max(steps, initial=0))

    def sequence(self, x: torch.Tensor) -> torch.Tensor:
        """x: (time, batch, *shape)."""
        return delay_sequence(x, self.steps.cpu(), time_axis=0)

    def init_state(self, x_like: torch.Tensor) -> torch.Tensor:
        return x_like.new_zeros((self.depth + 1, *x_like.shape))

    def step(self, x: torch.Tensor, history: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        history = torch.cat([x.unsqueeze(0), history[:-1]])  # history[j] = x_{t-j}
        idx = self.steps.unsqueeze(0).unsqueeze(0).expand(1, *x.shape)
        return torch.gather(history, 0, idx)[0], history


def _pool(kind: str, p: dict) -> nn.Module:
    kernel, stride, padding = p["kernel_size"], p["stride"], p["padding"]
    divisor = 1 if kind == "SumPool2d" else None
    if all(pad <= k // 2 for pad, k in zip(padding, kernel)):
        return nn.AvgPool2d(kernel, stride, padding, count_include_pad=True, divisor_override=divisor)
    pool = nn.AvgPool2d(kernel, stride, 0, divisor_override=divisor)
    return nn.Sequential(nn.ZeroPad2d((padding[1], padding[1], padding[0], padding[0])), pool)


def build_module(plan, name: str, dtype: torch.dtype) -> nn.Module:
    """The torch/snnTorch module of one node of ``plan`` (Input/Output/Pass → ``nn.Identity``)."""
    kind, p = plan.types[name], plan.params[name]
    if kind in ("Input", "Output", "Pass"):
        return nn.Identity()
    if kind in ("Affine", "Linear"):
        return _linear(plan, name, dtype)
    if kind in ("Conv1d", "Conv2d"):
        w = p["weight"]
        cls = nn.Conv1d if kind == "Conv1d" else nn.Conv2d
        padding = p["padding"]
        mod = cls(
            w.shape[1] * p["groups"],
            w.shape[0],
            tuple(w.shape[2:]),
            stride=p["stride"],
            padding=padding,
            dilation=p["dilation"],
            groups=p["groups"],
            bias=True,
            dtype=dtype,
        )
        with torch.no_grad():
            mod.weight.copy_(_t(w, dtype))
            mod.bias.copy_(_t(p["bias"], dtype))
        return mod
    if kind in ("AvgPool2d", "SumPool2d"):
        return _pool(kind, p)
    if kind == "Flatten":
        ndim = len(plan.in_shapes[name])
        start = p["start_dim"] % ndim if ndim else 0
        end = p["end_dim"] % ndim if ndim else 0
        return nn.Flatten(start + 1, end + 1)
    if kind == "Scale":
        return ScaleOp(p["scale"], dtype)
    if kind == "Threshold":
        return ThresholdOp(p["threshold"], dtype)
    if kind == "Delay":
        return DelayOp(p["steps"])
    neuron = SnnNeuron(name, kind, p, plan.semantics, dtype)
    neuron.folded = folded_into(plan, name) is not None
    return neuron


def _linear(plan, name: str, dtype: torch.dtype) -> nn.Module:
    """``nn.Linear``; where a neuron's input path is folded here (``folded_into``) its rows are
    multiplied by the neuron's gain and the neuron's input bias is added to the bias."""
    kind, p = plan.types[name], plan.params[name]
    w, b = p["weight"], p.get("bias")
    target = folded_target(plan, name)
    if target is not None:
        k = neuron_constants(plan.types[target], plan.params[target], plan.semantics)
        w = k["gain"][:, None] * w
        b = None if b is None else k["gain"] * b + k["bias"]
    mod = nn.Linear(w.shape[1], w.shape[0], bias=kind == "Affine", dtype=dtype)
    with torch.no_grad():
        mod.weight.copy_(_t(w, dtype))
        if kind == "Affine":
            mod.bias.copy_(_t(b, dtype))
    return mod


def folded_into(plan: Plan, name: str) -> str | None:
    """The Affine/Linear node that absorbs neuron ``name``'s input path ``gain ⊙ x + bias`` (its rows times the
    gain, the bias added to its own): the neuron's only input, this neuron its only consumer, a node whose
    other adaptations vanish (no membrane offset, no Cuba current, no subtract reset) and, for a non-zero bias,
    an Affine. Then ``gain ⊙ (W x + b) + c = (gain ⊙ W) x + (gain ⊙ b + c)`` and ``Leaky`` gets its input from torch."""
    kind = plan.types[name]
    if kind not in ("I", "LI", "IF", "LIF") or len(plan.incoming[name]) != 1:
        return None
    source = plan.incoming[name][0].source
    if plan.types[source] not in ("Affine", "Linear") or sum(e.source == source for e in plan.edges) != 1:
        return None
    k = neuron_constants(kind, plan.params[name], plan.semantics)
    subtract = kind in ("IF", "LIF") and plan.semantics.reset == "subtract"
    if subtract or np.any(k["offset"] != 0) or k["gain"].shape != plan.out_shapes[source]:
        return None
    if np.any(k["bias"] != 0) and plan.types[source] != "Affine":
        return None
    return source


def folded_target(plan: Plan, name: str) -> str | None:
    """For an Affine/Linear node: the neuron whose input path it absorbs (see :func:`folded_into`)."""
    targets = [e.target for e in plan.edges if e.source == name]
    return targets[0] if len(targets) == 1 and folded_into(plan, targets[0]) == name else None
