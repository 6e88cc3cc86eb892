"""The reference simulator: executes a :class:`~nirverse.graph.Plan` exactly as the semantics note says.

Nodes are evaluated group by group (strongly connected components, in an order that respects every
edge). A node outside any cycle receives its whole input sequence at once -- an edge delivers the
source's sequence, shifted by one step when the edge is delayed -- and runs vectorised over time. The
nodes of a cycle are stepped jointly, one time step at a time, in the plan's order. Both paths give
the numbers of the literal per-step definition (``stepwise=True`` forces the literal one; a test checks
they agree). Stepped groups -- cycles and neuron nodes -- run on the compiled kernel of
:mod:`~nirverse.reference.compiled` when numba is installed (``nirverse-core[fast]``) and the group's
nodes are ones it handles; tests prove it equal to the literal stepping.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..graph import Plan
from . import compiled
from .conv import Conv, Pool2d
from .delay import Delay
from .neurons import Neuron
from .operator import Operator
from .stateless import Affine, Identity, Reshape, Scale, Threshold

__all__ = ["simulate", "make_operator"]


def make_operator(plan: Plan, name: str, dtype: np.dtype) -> Operator:
    """The reference operator of one node of ``plan``."""
    kind, p = plan.types[name], plan.params[name]
    if kind in ("Input", "Output", "Pass"):
        return Identity()
    if kind == "Affine":
        return Affine(p["weight"], p["bias"], dtype)
    if kind == "Linear":
        return Affine(p["weight"], None, dtype)
    if kind == "Scale":
        return Scale(p["scale"], dtype)
    if kind == "Threshold":
        return Threshold(p["threshold"], dtype)
    if kind == "Flatten":
        return Reshape(plan.out_shapes[name])
    if kind in ("Conv1d", "Conv2d"):
        return Conv(p["weight"], p["bias"], p["stride"], p["dilation"], p["groups"], p["pads"], dtype)
    if kind in ("SumPool2d", "AvgPool2d"):
        return Pool2d(p["kernel_size"], p["stride"], p["padding"], average=kind == "AvgPool2d")
    if kind == "Delay":
        return Delay(p["steps"], dtype)
    return Neuron(kind, p, plan.semantics, dtype)


def _shifted(x: np.ndarray) -> np.ndarray:
    """The sequence delayed by one step: zeros at t = 0."""
    y = np.zeros_like(x)
    y[:, 1:] = x[:, :-1]
    return y


def simulate(
    plan: Plan,
    inputs: Mapping[str, np.ndarray],
    dtype: str | np.dtype = "float64",
    record: bool = False,
    stepwise: bool = False,
    pre_reset: bool = False,
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """Run ``plan`` on ``inputs`` ({Input name: (batch, time, *shape)}); return outputs and states.

    ``pre_reset`` also records ``"u"``, the membrane before the threshold and reset (for margin checks).
    """
    dtype = np.dtype(dtype)
    values: dict[str, np.ndarray] = {n: np.asarray(inputs[n], dtype=dtype) for n in plan.inputs}
    batch, steps = next(iter(values.values())).shape[:2]
    states: dict[str, dict[str, np.ndarray]] = {}
    ops = {n: make_operator(plan, n, dtype) for n in plan.order}
    if pre_reset:
        for op in ops.values():
            op.keep_pre_reset = True
    groups = [tuple(plan.order)] if stepwise else plan.groups
    for group in groups:
        if not stepwise and _stepped(plan, group) and compiled.eligible(plan, group, ops, dtype):
            compiled.run_group(plan, group, ops, values, states, batch, steps, record)
            continue
        if not stepwise and not plan.is_cyclic(group):
            (name,) = group
            if name in values:  # an Input node
                continue
            x = None
            for edge in plan.incoming[name]:
                src = values[edge.source]
                src = _shifted(src) if edge.delayed else src
                x = src if x is None else x + src
            values[name], traces = ops[name].sequence(x, record)
            if traces:
                states[name] = traces
            continue
        _run_stepwise(plan, group, ops, values, states, batch, steps, dtype, record)
    outputs = {n: values[n] for n in plan.outputs}
    return outputs, states


def _stepped(plan: Plan, group: tuple[str, ...]) -> bool:
    """Whether ``group`` steps through time: a cycle, or a neuron (stateless nodes vectorise over time)."""
    return plan.is_cyclic(group) or any(plan.is_neuron(n) for n in group)


def _run_stepwise(plan, group, ops, values, states, batch, steps, dtype, record) -> None:
    """Step the nodes of ``group`` jointly through time (the literal per-step definition)."""
    members = [n for n in group if n not in plan.inputs]
    for n in members:
        values[n] = np.zeros((batch, steps, *plan.out_shapes[n]), dtype)
    op_states = {n: ops[n].init(batch) for n in members}
    if record and steps == 0:  # zero steps: empty traces, as for the vectorised path
        for n in members:
            traces = {k: np.empty((batch, 0, *v.shape[1:]), dtype) for k, v in ops[n].recorded(op_states[n]).items()}
            if traces:
                states[n] = traces
    for t in range(steps):
        for n in members:
            x = None
            for edge in plan.incoming[n]:
                if edge.delayed:
                    if t == 0:
                        continue
                    src = values[edge.source][:, t - 1]
                else:
                    src = values[edge.source][:, t]
                x = src if x is None else x + src
            if x is None:
                x = np.zeros((batch, *plan.in_shapes[n]), dtype)
            y, op_states[n] = ops[n].step(x, op_states[n])
            values[n][:, t] = y
            if record:
                for k, v in ops[n].recorded(op_states[n]).items():
                    trace = states.setdefault(n, {}).get(k)
                    if trace is None:
                        trace = states[n][k] = np.zeros((batch, steps, *v.shape[1:]), dtype)
                    trace[:, t] = v
