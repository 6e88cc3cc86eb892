"""``SpikingJellyGraph``: the torch module that runs a NIR graph's SpikingJelly modules in the core's order.

The schedule and the stepping are the core executor's (:func:`nirverse.execution.execute`). Each node's
operator runs its SpikingJelly modules in multi-step mode: over the whole input sequence outside any
cycle, one-step chunks inside one.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from nirverse import Plan, Semantics
from nirverse.execution import execute

from ._nodes import Node

__all__ = ["SpikingJellyGraph"]


class SpikingJellyGraph(torch.nn.Module):
    """A NIR graph as SpikingJelly modules (multi-step mode).

    ``forward({input name: (time, batch, *shape)}, record=False)`` returns ``(outputs, states)``:
    ``{output name: (time, batch, *shape)}`` and, if ``record``, ``{neuron name: {"v"[, "i"]}}``. A single
    tensor is accepted for a graph with one Input. ``layers[name]`` is the module of a node.
    """

    def __init__(self, plan: Plan, nodes: Mapping[str, Node], dtype: torch.dtype) -> None:
        super().__init__()
        self.plan = plan
        self.semantics: Semantics = plan.semantics
        self.dtype = dtype
        # ModuleDict keys may not contain '.', flattened names do ("sub.lif")
        self._keys = {name: f"n{i}_" + name.replace(".", "__") for i, name in enumerate(plan.order)}
        self.layers_ = torch.nn.ModuleDict({self._keys[n]: nodes[n] for n in plan.order})

    @property
    def layers(self) -> dict[str, Node]:
        """{node name: its module}, in evaluation order."""
        return {n: self.layers_[k] for n, k in self._keys.items()}

    def forward(self, inputs, record: bool = False):
        plan = self.plan
        if not isinstance(inputs, Mapping):
            (name,) = plan.inputs
            inputs = {name: inputs}
        values = {n: torch.as_tensor(inputs[n]).to(self.dtype) for n in plan.inputs}
        ops = {n: _Operator(node, plan.out_shapes[n], self.dtype, record) for n, node in self.layers.items()}
        values, states = execute(plan, ops, values, dtype=self.dtype, time_axis=0, record=record)
        return {n: values[n] for n in plan.outputs}, states


class _Operator:
    """The executor's operator for a :class:`Node`: its SpikingJelly modules run in multi-step mode,
    a whole sequence outside cycles and one-step chunks inside one (the modules keep their state)."""

    def __init__(self, node: Node, out_shape: tuple[int, ...], dtype: torch.dtype, record: bool) -> None:
        self.node, self.out_shape, self.dtype, self.record = node, tuple(out_shape), dtype, record
        self.last: dict[str, torch.Tensor] = {}

    def init_state(self, batch: int) -> None:
        self.node.start(batch, self.dtype, self.record)
        zero = torch.zeros((batch, *self.out_shape), dtype=self.dtype)
        self.last = {k: zero for k in self.node.state_names} if self.record else {}

    def step(self, x: torch.Tensor, state: None) -> tuple[torch.Tensor, None]:
        y, recorded = self.node.chunk(x.unsqueeze(0), self.record)
        self.last = {k: v[0] for k, v in recorded.items()}
        return y[0], state

    def recorded(self, state: None) -> dict[str, torch.Tensor]:
        return self.last

    def sequence(self, x: torch.Tensor, record: bool = False):
        if not x.shape[0]:  # zero steps: an empty output (and empty states) of the node's shape
            empty = torch.zeros((0, *x.shape[1:2], *self.out_shape), dtype=self.dtype)
            return empty, ({k: empty for k in self.node.state_names} if record else {})
        self.node.start(x.shape[1], self.dtype, record)
        return self.node.chunk(x, record)
