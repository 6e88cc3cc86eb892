r"""The native model: a ``torch.nn.Module`` that executes a :class:`nirverse.Plan` with snnTorch neurons.

Scheduling comes from the plan (never re-derived here): its strongly connected components
(``plan.groups``) are run in order. A node outside any cycle receives its whole input sequence at once
(a delayed edge shifts its source's sequence by one step, zeros at t = 0): torch layers run over
time × batch in one call, an snnTorch neuron steps through time. The nodes of a cycle are stepped
jointly, one time step at a time, in the plan's order, delayed edges reading the previous step.
Tensors are time-major inside, ``(time, batch, *shape)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ._from_nir import DelayOp, SnnNeuron, build_module

__all__ = ["SnnTorchNetwork"]

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def _shift(x: torch.Tensor) -> torch.Tensor:
    """The sequence delayed by one step (zeros at t = 0)."""
    return torch.cat([x.new_zeros((1, *x.shape[1:])), x[:-1]]) if x.shape[0] else x


class SnnTorchNetwork(nn.Module):
    """A NIR graph as snnTorch neurons and torch layers, executed under the plan's semantics.

    ``forward(inputs)`` takes ``{input name: (batch, time, *shape)}`` (or one tensor for a graph with
    one Input) and returns ``{output name: (batch, time, *shape)}``; :meth:`run` also returns the
    neurons' states. ``layers[i]`` is the module of node ``node_names[i]``.
    """

    def __init__(self, plan, dtype: str = "float64") -> None:
        super().__init__()
        self.plan = plan
        self.semantics = plan.semantics
        self.dtype = _DTYPES[dtype]
        self.node_names = tuple(plan.order)
        index = {n: i for i, n in enumerate(self.node_names)}
        self.layers = nn.ModuleList(build_module(plan, n, self.dtype) for n in self.node_names)
        self.inputs = tuple(plan.inputs)
        self.outputs = tuple(plan.outputs)
        self._index = index
        # program: per group, (cyclic, [(node index, ((source index, delayed), ...))])
        self._program = []
        for group in plan.groups:
            members = [
                (index[n], tuple((index[e.source], e.delayed) for e in plan.incoming[n]))
                for n in group
                if n not in plan.inputs
            ]
            if members:
                self._program.append((plan.is_cyclic(group), members))

    # -- execution -------------------------------------------------------------------------------
    def forward(self, inputs) -> dict[str, torch.Tensor]:
        return self.run(inputs, record=False)[0]

    def run(self, inputs, record: bool = False):
        """Outputs and (if ``record``) states ``{node: {"v", "i"}}``, all ``(batch, time, *shape)``.

        Differentiable (snnTorch's surrogate gradients apply); wrap in ``torch.no_grad()`` for inference.
        """
        if not isinstance(inputs, Mapping):
            if len(self.inputs) != 1:
                raise ValueError(f"this network has {len(self.inputs)} inputs {list(self.inputs)}: pass a dict")
            inputs = {self.inputs[0]: inputs}
        values: list[torch.Tensor | None] = [None] * len(self.node_names)
        for name in self.inputs:
            x = torch.as_tensor(inputs[name]).to(self.dtype)
            values[self._index[name]] = x.transpose(0, 1)
        states: dict[int, dict[str, torch.Tensor]] = {}
        for cyclic, members in self._program:
            if cyclic:
                self._run_cycle(members, values, states, record)
                continue
            ((i, incoming),) = members
            x = None
            for src, delayed in incoming:
                s = _shift(values[src]) if delayed else values[src]
                x = s if x is None else x + s
            layer = self.layers[i]
            if isinstance(layer, SnnNeuron):
                values[i], traces = layer.sequence(x, record)
                if traces:
                    states[i] = traces
            elif isinstance(layer, DelayOp):
                values[i] = layer.sequence(x)
            elif isinstance(layer, nn.Identity):
                values[i] = x
            else:
                T, B = x.shape[:2]
                y = layer(x.reshape(T * B, *x.shape[2:]))
                values[i] = y.reshape(T, B, *y.shape[1:])
        outputs = {n: values[self._index[n]].transpose(0, 1) for n in self.outputs}
        recorded = {self.node_names[i]: {k: v.transpose(0, 1) for k, v in s.items()} for i, s in states.items()}
        return outputs, recorded

    def _run_cycle(self, members, values, states, record) -> None:
        """Step the nodes of one strongly connected component jointly through time."""
        T, B = next(v for v in values if v is not None).shape[:2]
        plan = self.plan
        outs = {i: [] for i, _ in members}
        mems: dict[int, list] = {i: [] for i, _ in members}
        syns: dict[int, list] = {i: [] for i, _ in members}
        state = {}
        current: dict[int, torch.Tensor] = {}
        previous: dict[int, torch.Tensor] = {}
        member_ids = {i for i, _ in members}
        for i, _ in members:
            layer = self.layers[i]
            shape = plan.out_shapes[self.node_names[i]]
            previous[i] = torch.zeros((B, *shape), dtype=self.dtype)
            if isinstance(layer, SnnNeuron):
                state[i] = layer.init_state(B)
            elif isinstance(layer, DelayOp):
                state[i] = layer.init_state(torch.zeros((B, *plan.in_shapes[self.node_names[i]]), dtype=self.dtype))
        for t in range(T):
            for i, incoming in members:
                x = None
                for src, delayed in incoming:
                    if src in member_ids:
                        s = previous[src] if delayed else current[src]
                    else:
                        seq = values[src]
                        if delayed:
                            s = seq[t - 1] if t else torch.zeros_like(seq[0])
                        else:
                            s = seq[t]
                    x = s if x is None else x + s
                layer = self.layers[i]
                if isinstance(layer, SnnNeuron):
                    y, state[i] = layer.step(layer.drive(x), state[i])
                    if record:
                        mems[i].append(layer.mem_of(state[i]))
                        if layer.cuba:
                            syns[i].append(state[i][0])
                elif isinstance(layer, DelayOp):
                    y, state[i] = layer.step(x, state[i])
                elif isinstance(layer, nn.Identity):
                    y = x
                else:
                    y = layer(x)
                current[i] = y
                outs[i].append(y)
            previous = dict(current)
        for i, _ in members:
            shape = plan.out_shapes[self.node_names[i]]
            values[i] = torch.stack(outs[i]) if T else torch.zeros((0, B, *shape), dtype=self.dtype)
            layer = self.layers[i]
            if isinstance(layer, SnnNeuron) and record:
                if T:
                    states[i] = layer.traces(values[i], mems[i], syns[i])
                else:
                    empty = torch.zeros((0, B, *shape), dtype=self.dtype)
                    states[i] = {k: empty for k in layer.state_names}
