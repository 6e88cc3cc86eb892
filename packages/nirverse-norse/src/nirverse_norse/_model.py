"""``NorseGraph``: the torch module that runs a NIR graph's Norse modules in the core's order.

The schedule and the stepping are the core executor's (:func:`nirverse.execution.execute`, the
semantics' rules for groups, delayed edges and cycles); each :class:`Node` is the per-node operator
(``init_state``, ``step``, ``recorded``, ``sequence``), time-major.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from nirverse import Plan, Semantics
from nirverse.execution import execute

from ._nodes import Node

__all__ = ["NorseGraph"]


class NorseGraph(torch.nn.Module):
    """A NIR graph as a Norse (torch) module.

    ``forward({input name: (time, batch, *shape)}, record=False)`` returns ``(outputs, states)``:
    ``{output name: (time, batch, *shape)}`` and, if ``record``, ``{neuron name: {"v", "i"}}``.
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
        values, states = execute(plan, self.layers, values, dtype=self.dtype, time_axis=0, record=record)
        return {n: values[n] for n in plan.outputs}, states
