r"""NIR → Norse: one mapper per NIR node type, derived from Norse 1.1.0's code.

Norse integrates with forward Euler and a ``dt`` argument. Its cells, as written in
``norse/torch/functional``:

* ``lif_box.lif_box_feed_forward_step`` (``LIFBoxCell``):
  :math:`u = v + \Delta t\,\tau^{-1}_{mem}\,((x + v_{leak}) - v)`, :math:`z = H(u - v_{th})` with
  ``threshold`` → ``heaviside`` = ``gt(·, 0)`` (strict), then ``p.reset_method(z, u, v_reset, v_th)``
  (``reset.reset_value``: :math:`(1-z)u + z v_{reset}`; ``reset.reset_subtract``: :math:`(1-z)u + z(u-v_{th})`);
  initial state :math:`v = v_{leak}`.
* ``leaky_integrator_box.li_box_feed_forward_step`` (``LIBoxCell``):
  :math:`v \leftarrow v + \Delta t\,\tau^{-1}_{mem}\,((v_{leak} - v) + x)`, output :math:`v`.
* ``iaf.iaf_feed_forward_step`` (``IAFCell``): :math:`u = v + x` (``dt`` unused), value reset only
  (hard-coded); its default initial state is :math:`v = v_{reset}`, so nirverse passes :math:`v = 0`.
* ``lif.lif_feed_forward_step`` (``LIFCell``): jump :math:`j = i + x`, membrane with :math:`j`, then
  :math:`i \leftarrow j - \Delta t\,\tau^{-1}_{syn} j`; value reset hard-coded, no ``r`` / ``w_in``. It is
  exact for CubaLIF only with value reset and the input pre-scaled by :math:`r\kappa_{syn}w_{in}`, and its
  state holds :math:`(1-\kappa_{syn})i_t`, not :math:`i_t`; so nirverse builds CubaLIF from the two box
  cells below (both resets, :math:`i_t` is a state) and *exports* ``LIFCell`` (see ``_to_nir``).

With :math:`\kappa(\tau)` the semantics' leak factor (:math:`\Delta t/\tau` or :math:`1-e^{-\Delta t/\tau}`),
every cell gets Norse's ``dt`` = the semantics' :math:`\Delta t` and
``tau_mem_inv`` :math:`=\kappa(\tau)/\Delta t`, rounded (within two ulps) so that Norse's own product
``dt * tau_mem_inv`` equals :math:`\kappa(\tau)` bit for bit. So "exp" is Norse's Euler step with the
exponential decay as its effective :math:`\Delta t\,\tau^{-1}`.

===============  ======================================================================================
NIR node         Norse construct and parameters (gain = elementwise input multiplier before the cell)
===============  ======================================================================================
LIF              gain :math:`r`; ``LIFBoxCell(LIFBoxParameters(tau_mem_inv=κ(τ)/Δt, v_leak, v_th=v_threshold,
                 v_reset, reset_method=reset_value | reset_subtract), dt=Δt)``; initial v = v_leak
LI               gain :math:`r`; ``LIBoxCell(LIBoxParameters(tau_mem_inv=κ(τ)/Δt, v_leak), dt=Δt)``; output v
IF (value)       gain :math:`\Delta t\,r`; ``IAFCell(IAFParameters(v_th=v_threshold, v_reset))``; initial v = 0
IF (subtract)    gain :math:`\Delta t\,r`; ``SNNCell`` (Norse's cell base class) with an activation made of
                 Norse's ``threshold`` and ``reset_subtract`` over :math:`u = v + x` and ``IAFParameters``
I                gain :math:`\Delta t\,r`; ``IAFCell(IAFParameters(v_th=+∞, v_reset=0))`` (never fires); output v
CubaLI           synapse: gain :math:`w_{in}`, ``LIBoxCell(tau_mem_inv=κ(τ_syn)/Δt, v_leak=0)`` (state = i, starts 0);
                 membrane: gain :math:`r`, ``LIBoxCell(tau_mem_inv=κ(τ_mem)/Δt, v_leak)``; output v
CubaLIF          the same synapse, membrane ``LIFBoxCell(tau_mem_inv=κ(τ_mem)/Δt, v_leak, v_th, v_reset,
                 reset_method)``: the membrane sees the *same* step's current :math:`i_t`, as the semantics requires
Affine           ``torch.nn.Linear(in, out, bias=True)``, weight = W, bias = b
Linear           ``torch.nn.Linear(in, out, bias=False)``, weight = W
Scale            ``Scale`` module: :math:`s \odot x`
Conv1d/2d        ``torch.nn.Conv1d/2d`` (weight, bias, stride, dilation, groups, symmetric padding); uneven
                 'same' padding → ``torch.nn.ZeroPad1d/2d`` first
SumPool2d        ``torch.nn.AvgPool2d(kernel, stride, divisor_override=1)`` (a window sum) after ``ZeroPad2d``
AvgPool2d        ``torch.nn.AvgPool2d(kernel, stride)`` after ``ZeroPad2d`` (padding counted)
Flatten          reshape to the plan's output shape
Threshold        :math:`1[x > \theta]` (``torch.gt``)
Delay            a shift by :math:`k` = round(delay/Δt) steps per element
===============  ======================================================================================

Norse's cells are torch modules with their parameters in ``NamedTuple`` s that ``.double()`` does not
convert, so every tensor is created in the requested dtype here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from nirverse import Plan, UnsupportedNodeError

from ._levels import fold_factors, folded_into
from ._nodes import Cell, Cuba, DelayLine, Node, Stateless

__all__ = ["MAPPERS", "build_node", "effective_rate", "TORCH_DTYPES"]

TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def _t(value: Any, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(value, dtype=np.float64)).to(dtype)


def effective_rate(kappa: np.ndarray, dt: float, dtype: torch.dtype) -> torch.Tensor:
    """``tau_mem_inv`` with ``dt * tau_mem_inv == kappa`` (as Norse computes it), element by element.

    Starts from kappa/dt and walks at most two ulps towards the value whose product rounds to
    kappa; where no such value exists the nearest one stays (an error of one ulp of kappa).
    """
    target = _t(kappa, dtype)
    rate = target / dt
    for _ in range(2):
        got = dt * rate
        if torch.equal(got, target):
            break
        up = torch.nextafter(rate, torch.full_like(rate, math.inf))
        down = torch.nextafter(rate, torch.full_like(rate, -math.inf))
        rate = torch.where(got < target, up, torch.where(got > target, down, rate))
    return rate


def _gain(values: np.ndarray, dtype: torch.dtype) -> torch.Tensor | None:
    """An input multiplier, or None where it is 1 everywhere (multiplying by 1 is exact anyway)."""
    return None if np.all(values == 1.0) else _t(values, dtype)


def _reset_method(plan: Plan):
    from norse.torch.functional.reset import reset_subtract, reset_value

    return reset_subtract if plan.semantics.reset == "subtract" else reset_value


# -- neuron nodes ------------------------------------------------------------------------------
def _lif(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    from norse.torch import LIFBoxCell, LIFBoxParameters
    from norse.torch.functional.lif_box import LIFBoxFeedForwardState

    p, s = plan.params[name], plan.semantics
    params = LIFBoxParameters(
        tau_mem_inv=effective_rate(s.kappa(p["tau"]), s.dt, dtype), v_leak=_t(p["v_leak"], dtype),
        v_th=_t(p["v_threshold"], dtype), v_reset=_t(p["v_reset"], dtype), reset_method=_reset_method(plan),
    )
    cell = LIFBoxCell(params, dt=s.dt)
    return Cell("LIF", cell, _gain(p["r"], dtype), _t(p["v_leak"], dtype), LIFBoxFeedForwardState, False, p)


def _li(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    from norse.torch import LIBoxCell, LIBoxParameters
    from norse.torch.functional.leaky_integrator_box import LIBoxState

    p, s = plan.params[name], plan.semantics
    params = LIBoxParameters(tau_mem_inv=effective_rate(s.kappa(p["tau"]), s.dt, dtype), v_leak=_t(p["v_leak"], dtype))
    cell = LIBoxCell(params, dt=s.dt)
    return Cell("LI", cell, _gain(p["r"], dtype), _t(p["v_leak"], dtype), LIBoxState, True, p)


def _integrator_gain(plan: Plan, name: str, dtype: torch.dtype) -> torch.Tensor:
    """Δt·r, computed as the semantics does (Δt in the run's dtype times r)."""
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    r = plan.params[name]["r"].astype(np_dtype)
    return torch.as_tensor(np_dtype(plan.semantics.dt) * r)


def if_subtract_step(input_tensor, state, p, dt: float = 0.001):
    """Norse-style feed-forward IF step with subtractive reset: Norse's ``threshold`` and
    ``reset_subtract`` over :math:`u = v + x` (``IAFCell``'s own step hard-codes the value reset)."""
    from norse.torch.functional.iaf import IAFFeedForwardState
    from norse.torch.functional.reset import reset_subtract
    from norse.torch.functional.threshold import threshold

    u = state.v + input_tensor
    z = threshold(u - p.v_th, p.method, p.alpha)
    return z, IAFFeedForwardState(v=reset_subtract(z, u, p.v_reset, p.v_th))


def _zero_state(_input: torch.Tensor):  # pragma: no cover - nirverse always passes the state
    raise RuntimeError("nirverse passes the initial state explicitly")


def _if(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    from norse.torch import IAFCell, IAFParameters
    from norse.torch.functional.iaf import IAFFeedForwardState
    from norse.torch.module.snn import SNNCell

    p, s = plan.params[name], plan.semantics
    params = IAFParameters(v_th=_t(p["v_threshold"], dtype), v_reset=_t(p["v_reset"], dtype))
    if s.reset == "subtract":
        cell = SNNCell(if_subtract_step, _zero_state, params, dt=s.dt)
    else:
        cell = IAFCell(params, dt=s.dt)
    v0 = torch.zeros(p["r"].shape, dtype=dtype)
    return Cell("IF", cell, _integrator_gain(plan, name, dtype), v0, IAFFeedForwardState, False, p)


def _i(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    from norse.torch import IAFCell, IAFParameters
    from norse.torch.functional.iaf import IAFFeedForwardState

    p, s = plan.params[name], plan.semantics
    shape = p["r"].shape
    params = IAFParameters(v_th=torch.full(shape, math.inf, dtype=dtype), v_reset=torch.zeros(shape, dtype=dtype))
    cell = IAFCell(params, dt=s.dt)
    v0 = torch.zeros(shape, dtype=dtype)
    return Cell("I", cell, _integrator_gain(plan, name, dtype), v0, IAFFeedForwardState, True, p)


def _cuba(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    from norse.torch import LIBoxCell, LIBoxParameters, LIFBoxCell, LIFBoxParameters
    from norse.torch.functional.leaky_integrator_box import LIBoxState
    from norse.torch.functional.lif_box import LIFBoxFeedForwardState

    kind = plan.types[name]
    p, s = plan.params[name], plan.semantics
    synapse = LIBoxCell(
        LIBoxParameters(
            tau_mem_inv=effective_rate(s.kappa(p["tau_syn"]), s.dt, dtype),
            v_leak=torch.zeros(p["r"].shape, dtype=dtype),
        ),
        dt=s.dt,
    )
    rate = effective_rate(s.kappa(p["tau_mem"]), s.dt, dtype)
    v_leak = _t(p["v_leak"], dtype)
    if kind == "CubaLIF":
        membrane = LIFBoxCell(
            LIFBoxParameters(
                tau_mem_inv=rate, v_leak=v_leak, v_th=_t(p["v_threshold"], dtype), v_reset=_t(p["v_reset"], dtype),
                reset_method=_reset_method(plan),
            ),
            dt=s.dt,
        )
        mem_state = LIFBoxFeedForwardState
    else:
        membrane = LIBoxCell(LIBoxParameters(tau_mem_inv=rate, v_leak=v_leak), dt=s.dt)
        mem_state = LIBoxState
    return Cuba(
        kind, synapse, _gain(p["w_in"], dtype), membrane, _gain(p["r"], dtype), v_leak.clone(), LIBoxState, mem_state,
        kind == "CubaLI", p,
    )


# -- stateless nodes ---------------------------------------------------------------------------
class Scale(torch.nn.Module):
    """NIR Scale: :math:`y = s \\odot x` (torch has no such layer)."""

    def __init__(self, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("scale", scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class Threshold(torch.nn.Module):
    """NIR Threshold: :math:`y = 1[x > \\theta]`."""

    def __init__(self, threshold: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("threshold", threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.gt(x, self.threshold).to(x.dtype)


def _affine(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    """``torch.nn.Linear``; rows (and bias) times the next neuron's input gain where it is folded here."""
    p = plan.params[name]
    weight, bias = p["weight"], p.get("bias")
    gain = fold_factors(plan, name)
    if gain is not None:
        weight, bias = gain[:, None] * weight, (None if bias is None else gain * bias)
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, dtype=dtype)
    with torch.no_grad():
        layer.weight.copy_(_t(weight, dtype))
        if bias is not None:
            layer.bias.copy_(_t(bias, dtype))
    node = Stateless(plan.types[name], layer, plan.out_shapes[name], p)
    node.fold = None if gain is None else _t(gain, dtype)
    return node


def _scale(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p = plan.params[name]
    return Stateless("Scale", Scale(_t(p["scale"], dtype)), plan.out_shapes[name], p)


def _threshold(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p = plan.params[name]
    return Stateless("Threshold", Threshold(_t(p["threshold"], dtype)), plan.out_shapes[name], p)


def _conv(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p = plan.params[name]
    weight, bias = p["weight"], p["bias"]
    gain = fold_factors(plan, name)  # the next neuron's per-channel input gain, folded into the channels
    if gain is not None:
        weight, bias = gain.reshape((-1,) + (1,) * (weight.ndim - 1)) * weight, gain * bias
    dims = weight.ndim - 2
    conv_cls = torch.nn.Conv1d if dims == 1 else torch.nn.Conv2d
    symmetric = all(lo == hi for lo, hi in p["pads"])
    conv = conv_cls(
        weight.shape[1] * p["groups"], weight.shape[0], tuple(weight.shape[2:]), stride=p["stride"],
        padding=tuple(lo for lo, _ in p["pads"]) if symmetric else 0, dilation=p["dilation"], groups=p["groups"],
        bias=True, dtype=dtype,
    )
    with torch.no_grad():
        conv.weight.copy_(_t(weight, dtype))
        conv.bias.copy_(_t(bias, dtype))
    layer: torch.nn.Module = conv
    if not symmetric:
        # torch pads (left, right) of the last dim first
        flat = tuple(v for lo_hi in reversed(p["pads"]) for v in lo_hi)
        pad = torch.nn.ZeroPad1d(flat) if dims == 1 else torch.nn.ZeroPad2d(flat)
        layer = torch.nn.Sequential(pad, conv)
    node = Stateless(plan.types[name], layer, plan.out_shapes[name], p)
    node.fold = None if gain is None else _t(gain, dtype)
    return node


def _pool(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p = plan.params[name]
    pool = torch.nn.AvgPool2d(
        p["kernel_size"], p["stride"], padding=0, divisor_override=1 if plan.types[name] == "SumPool2d" else None
    )
    layer: torch.nn.Module = pool
    if any(p["padding"]):
        ph, pw = p["padding"]
        layer = torch.nn.Sequential(torch.nn.ZeroPad2d((pw, pw, ph, ph)), pool)
    return Stateless(plan.types[name], layer, plan.out_shapes[name], p)


def _flatten(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    return Stateless("Flatten", torch.nn.Identity(), plan.out_shapes[name], plan.params[name])


def _pass(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    return Stateless(plan.types[name], torch.nn.Identity(), plan.out_shapes[name], {})


def _delay(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    return DelayLine(plan.params[name]["steps"], plan.params[name])


MAPPERS: dict[str, Callable[[Plan, str, torch.dtype], Node]] = {
    "LIF": _lif, "LI": _li, "IF": _if, "I": _i, "CubaLI": _cuba, "CubaLIF": _cuba,
    "Affine": _affine, "Linear": _affine, "Scale": _scale, "Threshold": _threshold,
    "Conv1d": _conv, "Conv2d": _conv, "SumPool2d": _pool, "AvgPool2d": _pool, "Flatten": _flatten,
    "Delay": _delay, "Input": _pass, "Output": _pass, "Pass": _pass,
}


def build_node(plan: Plan, name: str, dtype: str) -> Node:
    """The Norse module of node ``name`` of ``plan``, its parameters in ``dtype``."""
    kind = plan.types[name]
    if kind not in MAPPERS:
        raise UnsupportedNodeError(f"Norse has no {kind} construct", node=name, field="type")
    node = MAPPERS[kind](plan, name, TORCH_DTYPES[dtype])
    if isinstance(node, Cell):
        node.folded = folded_into(plan, name) is not None
    node.take_snapshot()
    return node
