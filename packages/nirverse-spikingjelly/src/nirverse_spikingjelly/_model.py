"""``SpikingJellyGraph``: the torch module that runs a NIR graph's SpikingJelly modules in the core's order.

The schedule is the core :class:`~nirverse.Plan`'s: groups (strongly connected components) in dependency
order. A node outside any cycle receives its whole input sequence at once (a delayed edge shifts it by one
step) and its SpikingJelly modules run it in multi-step mode; the nodes of a cycle are advanced jointly,
one step at a time, in the plan's order. Values arriving on several edges are summed in the order the
plan lists the edges.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from nirverse import Plan, Semantics

from ._nodes import Node

__all__ = ["SpikingJellyGraph"]


def shifted(x: torch.Tensor) -> torch.Tensor:
    """The sequence delayed by one step along time (axis 0): zeros at t = 0."""
    return torch.cat([torch.zeros_like(x[:1]), x[:-1]]) if x.shape[0] else x


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
        self._incoming = {n: tuple((e.source, e.delayed) for e in plan.incoming[n]) for n in plan.order}
        self._schedule = tuple((group, plan.is_cyclic(group)) for group in plan.groups)

    @property
    def layers(self) -> dict[str, Node]:
        """{node name: its module}, in evaluation order."""
        return {n: self.layers_[k] for n, k in self._keys.items()}

    def forward(self, inputs, record: bool = False):
        plan = self.plan
        if not isinstance(inputs, Mapping):
            (name,) = plan.inputs
            inputs = {name: inputs}
        values: dict[str, torch.Tensor] = {n: torch.as_tensor(inputs[n]).to(self.dtype) for n in plan.inputs}
        steps, batch = next(iter(values.values())).shape[:2]
        states: dict[str, dict[str, torch.Tensor]] = {}
        for group, cyclic in self._schedule:
            if cyclic:
                self._step_group(group, values, states, steps, batch, record)
                continue
            (name,) = group
            if name in values:
                continue
            x = None
            for source, delayed in self._incoming[name]:
                src = shifted(values[source]) if delayed else values[source]
                x = src if x is None else x + src
            node = self.layers_[self._keys[name]]
            if not steps:
                values[name], traces = self._empty(name, node, batch, record)
            else:
                node.start(batch, self.dtype, record)
                values[name], traces = node.chunk(x, record)
            if traces:
                states[name] = traces
        return {n: values[n] for n in plan.outputs}, states

    def _empty(self, name, node, batch, record):
        """Zero steps: an empty output (and empty states) of the node's shape."""
        empty = torch.zeros((0, batch, *self.plan.out_shapes[name]), dtype=self.dtype)
        return empty, ({k: empty for k in node.state_names} if record else {})

    def _step_group(self, group, values, states, steps, batch, record) -> None:
        """Advance the nodes of a cycle jointly, one step at a time (the literal per-step definition)."""
        plan = self.plan
        members = [n for n in group if n not in plan.inputs]
        nodes = {n: self.layers_[self._keys[n]] for n in members}
        for n in members:
            values[n] = torch.zeros((steps, batch, *plan.out_shapes[n]), dtype=self.dtype)
            nodes[n].start(batch, self.dtype, record)
        traces: dict[str, dict[str, list]] = {n: {} for n in members}
        for t in range(steps):
            for n in members:
                x = torch.zeros((1, batch, *plan.in_shapes[n]), dtype=self.dtype)
                for source, delayed in self._incoming[n]:
                    if delayed and t == 0:
                        continue
                    x = x + values[source][t - 1 if delayed else t].unsqueeze(0)
                y, recorded = nodes[n].chunk(x, record)
                values[n][t] = y[0]
                for k, v in recorded.items():
                    traces[n].setdefault(k, []).append(v)
        for n in members:
            if traces[n]:
                states[n] = {k: torch.cat(v) for k, v in traces[n].items()}
            elif record and nodes[n].state_names:
                states[n] = {k: values[n][:0].clone() for k in nodes[n].state_names}
