"""``SinabsGraph``: the torch module that runs a NIR graph's Sinabs modules in the core's order.

The schedule is the core :class:`~nirverse.Plan`'s: groups (strongly connected components) in
dependency order; a node outside any cycle receives its whole input sequence at once (delayed edges
shift it by one step) and runs it with :meth:`Node.sequence` (a Sinabs layer loops over time itself);
the nodes of a cycle are stepped jointly, one time step at a time, in the plan's order (each Sinabs
layer keeps its state in its buffers between the calls). Values arriving on several edges are summed
in the order the plan lists the edges.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from nirverse import Plan, Semantics

from ._nodes import Node, shifted

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
        values: dict[str, torch.Tensor] = {n: inputs[n].to(self.dtype) for n in plan.inputs}
        batch, steps = next(iter(values.values())).shape[:2]
        states: dict[str, dict[str, torch.Tensor]] = {}
        for group, cyclic in self._schedule:
            if cyclic:
                self._step_group(group, values, states, batch, steps, record)
                continue
            (name,) = group
            if name in values:
                continue
            x = None
            for source, delayed in self._incoming[name]:
                src = shifted(values[source]) if delayed else values[source]
                x = src if x is None else x + src
            if x is None:
                x = torch.zeros((batch, steps, *plan.in_shapes[name]), dtype=self.dtype)
            values[name], traces = self.layers_[self._keys[name]].sequence(x, record)
            if traces:
                states[name] = traces
        return {n: values[n] for n in plan.outputs}, states

    def _step_group(self, group, values, states, batch, steps, record) -> None:
        """Step the nodes of a cycle jointly through time (the literal per-step definition)."""
        plan = self.plan
        members = [n for n in group if n not in plan.inputs]
        mods = {n: self.layers_[self._keys[n]] for n in members}
        for n in members:
            values[n] = torch.zeros((batch, steps, *plan.out_shapes[n]), dtype=self.dtype)
            mods[n].begin(batch)
        traces: dict[str, dict[str, list]] = {n: {} for n in members}
        for t in range(steps):
            for n in members:
                x = None
                for source, delayed in self._incoming[n]:
                    if delayed and t == 0:
                        continue
                    src = values[source][:, t - 1] if delayed else values[source][:, t]
                    x = src if x is None else x + src
                if x is None:
                    x = torch.zeros((batch, *plan.in_shapes[n]), dtype=self.dtype)
                values[n][:, t] = mods[n].step(x)
                if record:
                    for k, v in mods[n].recorded().items():
                        traces[n].setdefault(k, []).append(v)
        if record:
            for n in members:
                if traces[n]:
                    states[n] = {k: torch.stack(v, 1) for k, v in traces[n].items()}
