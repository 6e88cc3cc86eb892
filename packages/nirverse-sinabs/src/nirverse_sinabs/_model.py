"""``SinabsGraph``: the torch module that runs a NIR graph's Sinabs modules in the core's order.

The schedule and the stepping are the core executor's (:func:`nirverse.execution.execute`); each
:class:`Node` supplies the per-node operator: :meth:`Node.sequence` outside cycles (a Sinabs layer loops
over time itself), ``begin``/``step``/``recorded`` inside a cycle (each Sinabs layer keeps its state in
its buffers between the calls).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from nirverse import Plan, Semantics
from nirverse.execution import execute

from ._nodes import Node

__all__ = ["SinabsGraph"]


class SinabsGraph(torch.nn.Module):
    """A NIR graph as a Sinabs (torch) module.

    ``forward({input name: (batch, time, *shape)}, record=False)`` returns ``(outputs, states)``:
    ``{output name: (batch, time, *shape)}`` and, if ``record``, ``{neuron name: {"v", "i"}}``.
    A single tensor is accepted for a graph with one Input. ``layers[name]`` is the module of a node.
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
        values = {n: inputs[n].to(self.dtype) for n in plan.inputs}
        ops = {n: _Operator(node) for n, node in self.layers.items()}
        values, states = execute(plan, ops, values, dtype=self.dtype, time_axis=1, record=record)
        return {n: values[n] for n in plan.outputs}, states


class _Operator:
    """The executor's operator for a :class:`Node`: a Sinabs layer keeps its state in its own buffers."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def init_state(self, batch: int) -> None:
        self.node.begin(batch)

    def step(self, x: torch.Tensor, state: None) -> tuple[torch.Tensor, None]:
        return self.node.step(x), state

    def recorded(self, state: None) -> dict[str, torch.Tensor]:
        return self.node.recorded()

    def sequence(self, x: torch.Tensor, record: bool = False):
        return self.node.sequence(x, record)
