r"""NIR → Sinabs: one mapper per NIR node type, derived from Sinabs 2.0.3's code.

Neuron nodes become Sinabs' own layers with the numbers of :mod:`nirverse_sinabs._mapping` (read its
docstring for the equations): ``train_alphas=True`` with :math:`\alpha = 1-\kappa(\tau)` (so both the
``euler`` and the ``exp`` leak factor; Sinabs' own :math:`e^{-1/\tau}` is the ``exp`` one with
:math:`\tau` in steps), ``norm_input=True`` (Sinabs scales the input by :math:`1-\alpha`), ``SingleSpike``
with :math:`\theta' = \mathrm{nextafter}(\theta, +\infty)` (strict :math:`v > \theta`), and
``MembraneSubtract(subtract_value=θ)`` / ``MembraneReset(reset_value=0)``.

===============  ======================================================================================
NIR node         Sinabs / torch construct
===============  ======================================================================================
LIF              ``sinabs.layers.LIF(train_alphas=True, norm_input=True, spike_fn=SingleSpike, reset_fn)``;
                 input r·x + v_leak − c; start v_mem = v_leak − c (c = v_reset for a value reset, else 0)
LI               ``sinabs.layers.ExpLeak(train_alphas=True, norm_input=True)``; input r·x + v_leak; start
                 v_mem = v_leak; output v_mem
IF               ``sinabs.layers.IAF(spike_fn=SingleSpike, reset_fn)``; input Δt·r·x; start v_mem = −c
I                ``sinabs.layers.IAF(spike_fn=None)`` (Sinabs then emits v_mem); input Δt·r·x
CubaLIF          ``sinabs.layers.LIF(tau_syn=…, train_alphas=True, norm_input=True, SingleSpike, reset_fn)``;
                 input (r·κ_syn·w_in·x + κ_syn·b)/α_syn, start i_syn = b = v_leak − c: the membrane sees
                 the same step's current, as the semantics requires
CubaLI           the same layer with ``spike_fn=None``
Affine / Linear  ``torch.nn.Linear`` (Sinabs networks use torch layers for their weights)
Conv1d/2d        ``torch.nn.Conv1d/2d``; uneven 'same' padding → ``torch.nn.ZeroPad1d/2d`` first
SumPool2d        ``sinabs.layers.SumPool2d`` (``LPPool2d`` with p = 1) after ``torch.nn.ZeroPad2d``
AvgPool2d        ``torch.nn.AvgPool2d`` after ``torch.nn.ZeroPad2d`` (padding counted)
Flatten          ``torch.nn.Flatten`` (NIR's dims + 1: the batch·time axis)
Threshold        Sinabs' ``SingleSpike`` applied to x with θ' = nextafter(θ, +∞): :math:`1[x > \theta]`
Scale            a torch module :math:`s \odot x` (Sinabs has no such layer)
Delay            a torch module shifting each element by k = round(delay/Δt) steps
===============  ======================================================================================

Every tensor is created in the requested dtype (Sinabs creates its parameters and states in float32).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from nirverse import Plan, UnsupportedNodeError

from ._mapping import NeuronMap, neuron_map
from ._nodes import DelayLine, Neuron, Node, Stateless

__all__ = ["MAPPERS", "build_node", "TORCH_DTYPES", "Scale", "Threshold", "sinabs_layer"]

TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def _t(value: Any, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(value, dtype=np.float64)).to(dtype)


def _native(value: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """A tensor holding exactly the numbers of ``value`` (already in the run's dtype)."""
    return torch.as_tensor(np.ascontiguousarray(value)).to(dtype)


# -- neuron nodes ------------------------------------------------------------------------------
def sinabs_layer(m: NeuronMap, dtype: torch.dtype) -> torch.nn.Module:
    """The Sinabs layer of a :class:`~nirverse_sinabs._mapping.NeuronMap` (its parameters in ``dtype``)."""
    from sinabs.activation import MembraneReset, MembraneSubtract, SingleSpike
    from sinabs.layers import IAF, LIF, ExpLeak

    spikes: dict[str, Any] = {"spike_threshold": None, "spike_fn": None, "reset_fn": None}
    if m.spiking:
        reset = MembraneReset(reset_value=0.0) if m.subtract is None else MembraneSubtract(_native(m.subtract, dtype))
        spikes = {"spike_threshold": _native(m.threshold, dtype), "spike_fn": SingleSpike, "reset_fn": reset}
    if m.layer == "IAF":
        return IAF(**spikes)
    ones = torch.ones(m.v0.shape)
    if m.layer == "ExpLeak":
        layer = ExpLeak(tau_mem=ones, train_alphas=True, norm_input=True)
    else:
        layer = LIF(tau_mem=ones, tau_syn=None if m.alpha_syn is None else ones, train_alphas=True, norm_input=True,
                    **spikes)
    layer.alpha_mem = torch.nn.Parameter(_native(m.alpha_mem, dtype))
    if m.alpha_syn is not None:
        layer.alpha_syn = torch.nn.Parameter(_native(m.alpha_syn, dtype))
    return layer


def _neuron(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    m = neuron_map(plan, name, "float64" if dtype == torch.float64 else "float32")
    return Neuron(plan.types[name], sinabs_layer(m, dtype), m, dtype, plan.params[name])


# -- stateless nodes ---------------------------------------------------------------------------
class Scale(torch.nn.Module):
    """NIR Scale: :math:`y = s \\odot x` (Sinabs and torch have no such layer)."""

    def __init__(self, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("scale", scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class Threshold(torch.nn.Module):
    """NIR Threshold :math:`1[x > \\theta]` by Sinabs' ``SingleSpike`` (``x - θ' >= 0``, θ' = nextafter(θ, +∞))."""

    def __init__(self, threshold: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("threshold", threshold)
        self.register_buffer("strict", torch.nextafter(threshold, torch.full_like(threshold, float("inf"))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from sinabs.activation import SingleExponential, SingleSpike

        return SingleSpike.apply(x, self.strict, SingleExponential()).to(x.dtype)


def _affine(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p = plan.params[name]
    weight = p["weight"]
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias="bias" in p, dtype=dtype)
    with torch.no_grad():
        layer.weight.copy_(_t(weight, dtype))
        if "bias" in p:
            layer.bias.copy_(_t(p["bias"], dtype))
    return Stateless(plan.types[name], layer, plan.out_shapes[name], p)


def _scale(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p = plan.params[name]
    return Stateless("Scale", Scale(_t(p["scale"], dtype)), plan.out_shapes[name], p)


def _threshold(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p = plan.params[name]
    return Stateless("Threshold", Threshold(_t(p["threshold"], dtype)), plan.out_shapes[name], p)


def _conv(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p = plan.params[name]
    weight = p["weight"]
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
        conv.bias.copy_(_t(p["bias"], dtype))
    layer: torch.nn.Module = conv
    if not symmetric:  # torch pads (left, right) of the last dim first
        flat = tuple(v for lo_hi in reversed(p["pads"]) for v in lo_hi)
        layer = torch.nn.Sequential(torch.nn.ZeroPad1d(flat) if dims == 1 else torch.nn.ZeroPad2d(flat), conv)
    return Stateless(plan.types[name], layer, plan.out_shapes[name], p)


def _pool(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    from sinabs.layers import SumPool2d

    p = plan.params[name]
    if plan.types[name] == "SumPool2d":
        pool: torch.nn.Module = SumPool2d(p["kernel_size"], p["stride"])
    else:
        pool = torch.nn.AvgPool2d(p["kernel_size"], p["stride"], padding=0)
    layer = pool
    if any(p["padding"]):
        ph, pw = p["padding"]
        layer = torch.nn.Sequential(torch.nn.ZeroPad2d((pw, pw, ph, ph)), pool)
    return Stateless(plan.types[name], layer, plan.out_shapes[name], p)


def _flatten(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p, ndim = plan.params[name], len(plan.in_shapes[name])
    start, end = (p["start_dim"] % ndim + 1, p["end_dim"] % ndim + 1) if ndim else (1, 1)
    return Stateless("Flatten", torch.nn.Flatten(start, end), plan.out_shapes[name], p)


def _pass(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    return Stateless(plan.types[name], torch.nn.Identity(), plan.out_shapes[name], {})


def _delay(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    return DelayLine(plan.params[name]["steps"], plan.params[name])


MAPPERS: dict[str, Callable[[Plan, str, torch.dtype], Node]] = {
    "LIF": _neuron, "LI": _neuron, "IF": _neuron, "I": _neuron, "CubaLI": _neuron, "CubaLIF": _neuron,
    "Affine": _affine, "Linear": _affine, "Scale": _scale, "Threshold": _threshold,
    "Conv1d": _conv, "Conv2d": _conv, "SumPool2d": _pool, "AvgPool2d": _pool, "Flatten": _flatten,
    "Delay": _delay, "Input": _pass, "Output": _pass, "Pass": _pass,
}


def build_node(plan: Plan, name: str, dtype: str) -> Node:
    """The Sinabs module of node ``name`` of ``plan``, its parameters in ``dtype``."""
    kind = plan.types[name]
    if kind not in MAPPERS:
        raise UnsupportedNodeError(f"Sinabs has no {kind} construct", node=name, field="type")
    node = MAPPERS[kind](plan, name, TORCH_DTYPES[dtype])
    node.take_snapshot()
    return node
