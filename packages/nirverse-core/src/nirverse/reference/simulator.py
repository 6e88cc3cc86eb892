"""The reference simulator: executes a :class:`~nirverse.graph.Plan` exactly as the semantics note says.

Nodes are evaluated group by group (strongly connected components, in an order that respects every
edge). A node outside any cycle receives its whole input sequence at once -- an edge delivers the
source's sequence, shifted by one step when the edge is delayed -- and runs vectorised over time. The
nodes of a cycle are stepped jointly, one time step at a time, in the plan's order. Both paths give
the numbers of the literal per-step definition (``stepwise=True`` forces the literal one; a test checks
they agree). The stepping itself is the core executor's (:func:`nirverse.execution.execute`); this
module supplies the reference's per-node operators. Stepped groups -- cycles and neuron nodes -- run on
the compiled kernel of :mod:`~nirverse.reference.compiled` (handed to the executor as the group's
construct) when numba is installed (``nirverse-core[fast]``) and the group's nodes are ones it handles;
tests prove it equal to the literal stepping.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import numpy as np

from ..execution import execute
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
    ops = {n: make_operator(plan, n, dtype) for n in plan.order}
    if pre_reset:
        for op in ops.values():
            op.keep_pre_reset = True
    batch, steps = next(iter(values.values())).shape[:2]
    constructs = {} if stepwise else {
        group: partial(compiled.run_group, plan, group, ops, batch=batch, steps=steps, record=record)
        for group in plan.groups if _stepped(plan, group) and compiled.eligible(plan, group, ops, dtype)
    }
    values, states = execute(plan, ops, values, dtype=dtype, time_axis=1, record=record, stepwise=stepwise,
                             constructs=constructs)
    outputs = {n: values[n] for n in plan.outputs}
    return outputs, states


def _stepped(plan: Plan, group: tuple[str, ...]) -> bool:
    """Whether ``group`` steps through time: a cycle, or a neuron (stateless nodes vectorise over time)."""
    return plan.is_cyclic(group) or any(plan.is_neuron(n) for n in group)
