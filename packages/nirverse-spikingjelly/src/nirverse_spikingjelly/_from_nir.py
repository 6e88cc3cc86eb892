r"""NIR → SpikingJelly: one mapper per NIR node type, derived from SpikingJelly 2.0.0's code.

Neuron nodes follow the table in :mod:`nirverse_spikingjelly._mapping` (``IFNode``, ``LIFNode`` with
``decay_input``, ``CUBALIFNode``, one population per distinct set of scalar parameters). Every module
runs in multi-step mode (``step_mode="m"``). Stateless nodes:

===========  ==========================================================================================
NIR node     SpikingJelly construct
===========  ==========================================================================================
Affine       ``layer.Linear(in, out, bias=True)``, weight = W, bias = b
Linear       ``layer.Linear(in, out, bias=False)``, weight = W
Conv1d/2d    ``layer.Conv1d/Conv2d`` (weight, bias, stride, dilation, groups, symmetric padding); uneven
             'same' padding → ``torch.nn.ZeroPad1d/2d`` first
SumPool2d    ``layer.AvgPool2d(kernel, stride, padding, divisor_override=1)`` (a window sum)
AvgPool2d    ``layer.AvgPool2d(kernel, stride, padding)`` (padding counted); padding > kernel/2 →
             ``torch.nn.ZeroPad2d`` first
Flatten      ``layer.Flatten(start_dim + 1, end_dim + 1)`` (the leading sample axis)
Threshold    ``surrogate.heaviside(x − θ_sj)`` (SpikingJelly's spike function, θ_sj = next float above θ)
Scale        a torch module :math:`s \odot x` (SpikingJelly has none)
Delay        ``layer.Delay(k)`` per distinct k = round(delay/Δt)
===========  ==========================================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from nirverse import Plan, UnsupportedNodeError
from spikingjelly.activation_based import layer, neuron

from ._mapping import group_rows, neuron_spec, threshold_above
from ._nodes import Cuba, DelayLine, Node, Population, Scale, Stateless, Threshold

__all__ = ["MAPPERS", "build_node", "TORCH_DTYPES"]

TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}
_NEURON_CLASSES = {"IF": "IFNode", "I": "IFNode", "LIF": "LIFNode", "LI": "LIFNode", "CubaLIF": "CUBALIFNode",
                   "CubaLI": "CUBALIFNode"}


def _t(value: Any, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(value, dtype=np.float64)).to(dtype)


def _opt(value: np.ndarray | None, dtype: torch.dtype) -> torch.Tensor | None:
    return None if value is None else _t(value, dtype)


def _sj_neuron(kind: str, kwargs: dict[str, Any]) -> torch.nn.Module:
    """A SpikingJelly neuron in multi-step mode (``CUBALIFNode`` takes no ``step_mode`` argument)."""
    cls = getattr(neuron, _NEURON_CLASSES[kind])
    if cls is neuron.CUBALIFNode:
        module = cls(**kwargs)
        module.step_mode = "m"
        return module
    return cls(**kwargs, step_mode="m")


def _neuron(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    kind, p = plan.types[name], plan.params[name]
    dtype_name = "float64" if dtype == torch.float64 else "float32"
    spec = neuron_spec(name, kind, p, plan.semantics, dtype_name)
    modules = [_sj_neuron(kind, kwargs) for _, kwargs in spec.groups]
    indices = [idx for idx, _ in spec.groups]
    gain, bias = _opt(spec.gain, dtype), _opt(spec.bias, dtype)
    if kind in ("CubaLI", "CubaLIF"):
        return Cuba(kind, modules, indices, gain, bias, _t(spec.v0, dtype), _t(spec.c0, dtype),
                    _opt(spec.c_scale, dtype), spec.emit_v, p)
    return Population(kind, modules, indices, gain, bias, _t(spec.v0, dtype), spec.emit_v, p)


def _affine(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p = plan.params[name]
    weight = p["weight"]
    fc = layer.Linear(weight.shape[1], weight.shape[0], bias="bias" in p, step_mode="m").to(dtype)
    with torch.no_grad():
        fc.weight.copy_(_t(weight, dtype))
        if "bias" in p:
            fc.bias.copy_(_t(p["bias"], dtype))
    return Stateless(plan.types[name], fc, plan.out_shapes[name], p)


class _TimeFolded(torch.nn.Sequential):
    """A torch padding before a SpikingJelly layer: the padding runs on (steps·batch, ...)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad, sj_layer = self[0], self[1]
        steps, batch = x.shape[:2]
        padded = pad(x.reshape(steps * batch, *x.shape[2:]))
        return sj_layer(padded.reshape(steps, batch, *padded.shape[1:]))


def _conv(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p = plan.params[name]
    weight = p["weight"]
    dims = weight.ndim - 2
    symmetric = all(lo == hi for lo, hi in p["pads"])
    conv = (layer.Conv1d if dims == 1 else layer.Conv2d)(
        weight.shape[1] * p["groups"], weight.shape[0], tuple(weight.shape[2:]), stride=p["stride"],
        padding=tuple(lo for lo, _ in p["pads"]) if symmetric else 0, dilation=p["dilation"], groups=p["groups"],
        bias=True, step_mode="m",
    ).to(dtype)
    with torch.no_grad():
        conv.weight.copy_(_t(weight, dtype))
        conv.bias.copy_(_t(p["bias"], dtype))
    fn: torch.nn.Module = conv
    if not symmetric:
        flat = tuple(v for lo_hi in reversed(p["pads"]) for v in lo_hi)  # torch pads the last dim first
        fn = _TimeFolded(torch.nn.ZeroPad1d(flat) if dims == 1 else torch.nn.ZeroPad2d(flat), conv)
    return Stateless(plan.types[name], fn, plan.out_shapes[name], p)


def _pool(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p = plan.params[name]
    divisor = 1 if plan.types[name] == "SumPool2d" else None
    kernel, stride, padding = p["kernel_size"], p["stride"], p["padding"]
    if all(pad <= k // 2 for pad, k in zip(padding, kernel)):
        fn: torch.nn.Module = layer.AvgPool2d(kernel, stride, padding, divisor_override=divisor, step_mode="m")
    else:  # torch refuses padding > kernel/2: pad first
        ph, pw = padding
        fn = _TimeFolded(torch.nn.ZeroPad2d((pw, pw, ph, ph)), layer.AvgPool2d(kernel, stride, 0, divisor_override=divisor,
                                                                              step_mode="m"))
    return Stateless(plan.types[name], fn, plan.out_shapes[name], p)


def _flatten(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p, ndim = plan.params[name], len(plan.in_shapes[name])
    start = p["start_dim"] % ndim if ndim else 0
    end = p["end_dim"] % ndim if ndim else 0
    return Stateless("Flatten", layer.Flatten(start + 1, end + 1, step_mode="m"), plan.out_shapes[name], p)


def _scale(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p = plan.params[name]
    return Stateless("Scale", Scale(_t(p["scale"], dtype)), plan.out_shapes[name], p)


def _threshold(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p = plan.params[name]
    dtype_name = "float64" if dtype == torch.float64 else "float32"
    return Stateless("Threshold", Threshold(_t(threshold_above(p["threshold"], dtype_name), dtype)),
                     plan.out_shapes[name], p)


def _delay(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    p = plan.params[name]
    steps = np.asarray(p["steps"], dtype=np.int64)
    groups = group_rows(steps.reshape(-1, 1).astype(np.float64))
    modules = [layer.Delay(int(steps.reshape(-1)[0 if idx is None else idx[0]]), step_mode="m") for idx in groups]
    return DelayLine(modules, groups, plan.out_shapes[name], p)


def _pass(plan: Plan, name: str, dtype: torch.dtype) -> Node:
    return Stateless(plan.types[name], torch.nn.Identity(), plan.out_shapes[name], {})


MAPPERS: dict[str, Callable[[Plan, str, torch.dtype], Node]] = {
    "LIF": _neuron, "LI": _neuron, "IF": _neuron, "I": _neuron, "CubaLI": _neuron, "CubaLIF": _neuron,
    "Affine": _affine, "Linear": _affine, "Scale": _scale, "Threshold": _threshold,
    "Conv1d": _conv, "Conv2d": _conv, "SumPool2d": _pool, "AvgPool2d": _pool, "Flatten": _flatten,
    "Delay": _delay, "Input": _pass, "Output": _pass, "Pass": _pass,
}


def build_node(plan: Plan, name: str, dtype: str) -> Node:
    """The SpikingJelly module of node ``name`` of ``plan``, in ``dtype``."""
    kind = plan.types[name]
    if kind not in MAPPERS:
        raise UnsupportedNodeError(f"SpikingJelly has no {kind} construct", node=name, field="type")
    node = MAPPERS[kind](plan, name, TORCH_DTYPES[dtype])
    node.take_snapshot()
    return node
