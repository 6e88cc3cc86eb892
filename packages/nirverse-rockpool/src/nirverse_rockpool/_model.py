r"""``GraphTorch``: a Rockpool ``TorchModule`` that executes a NIR graph's Rockpool modules in the plan's order.

The schedule is the core's :class:`~nirverse.graph.Plan` (never re-derived here): groups (strongly
connected components) in dependency order; an edge marked ``delayed`` delivers its source's output of
the previous step (zeros at t = 0). A group outside any cycle runs each of its Rockpool modules over the
whole sequence at once, as Rockpool modules are meant to run. A cycle made of a CubaLIF node and an
Affine/Linear node runs as one ``LIFTorch(has_rec=True)``; any other cycle is stepped one time step at a
time, one sample at a time (Rockpool modules keep the state of batch element 0 between calls).

Every call starts from rest (v = v_leak, i = 0), as ``nirverse.run`` does.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import torch
from nirverse.execution import delay_sequence, execute
from nirverse.graph import Plan
from rockpool.nn.modules.torch.torch_module import TorchModule

from ._from_nir import NodeImpl

__all__ = ["GraphTorch"]


def _attr(name: str, taken: set[str]) -> str:
    base = "n_" + re.sub(r"[^0-9A-Za-z_]", "_", name)
    candidate, k = base, 1
    while candidate in taken:
        candidate, k = f"{base}_{k}", k + 1
    taken.add(candidate)
    return candidate


class GraphTorch(TorchModule):
    """A NIR graph as a Rockpool module. Call it like any Rockpool module::

        out, state, record = model(x, record=True)   # x: (batch, time, N_in)

    ``x`` is a tensor for a graph with one Input node, else a dict {input name: tensor}; the output is a
    tensor (one Output node) or a dict {output name: tensor}, all in Rockpool's flat (batch, time, N)
    layout. ``record`` holds {node: {"v": ..., "i": ...}} for every neuron node. The Rockpool modules of
    node ``name`` are listed by :meth:`node_modules`.
    """

    def __init__(self, plan: Plan, impls: dict[str, NodeImpl], recurrent: dict[tuple, tuple[str, str]]) -> None:
        n_in = sum(math.prod(plan.out_shapes[n]) for n in plan.inputs)
        n_out = sum(math.prod(plan.out_shapes[n]) for n in plan.outputs)
        super().__init__(shape=(n_in, n_out), spiking_input=False,
                         spiking_output=all(plan.output_is_spikes(n) for n in plan.outputs))
        self._plan = plan
        self._torch_dtype = torch.float64
        self._impls = impls
        self._recurrent = recurrent
        self._module_names: dict[str, list[str]] = {}
        taken: set[str] = set()
        for name, impl in impls.items():
            names = []
            for stage in impl.stages:
                attr = _attr(name, taken)
                setattr(self, attr, stage)
                names.append(attr)
            self._module_names[name] = names

    # -- introspection --------------------------------------------------------------------------
    @property
    def plan(self) -> Plan:
        """The core's execution plan this module follows (graph, semantics, order)."""
        return self._plan

    def node_modules(self, name: str) -> list[Any]:
        """The Rockpool modules implementing NIR node ``name``, in the order they run."""
        return list(self._impls[name].stages)

    # -- execution ------------------------------------------------------------------------------
    def forward(self, data: Any) -> Any:
        from ._nodes import default_dtype

        # Rockpool allocates its output and record buffers in torch's default dtype
        with default_dtype(self._torch_dtype):
            return self._forward(data)

    def _forward(self, data: Any) -> Any:
        plan = self._plan
        inputs = data if isinstance(data, dict) else {plan.inputs[0]: data}
        values: dict[str, torch.Tensor] = {}
        for name in plan.inputs:
            x = torch.as_tensor(inputs[name], dtype=self._torch_dtype)
            values[name] = x.reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:]))  # -1 fails on size 0
        ops = {n: _Operator(self._impls[n], self._record) for n in plan.order}
        constructs = {group: self._recurrent_runner(group) for group in self._recurrent}
        values, states = execute(plan, ops, values, dtype=self._torch_dtype, time_axis=1, record=self._record,
                                 constructs=constructs, layout=lambda shape: (math.prod(shape),))
        self._record_dict = states
        outputs = {n: values[n] for n in plan.outputs}
        return outputs[plan.outputs[0]] if len(outputs) == 1 else outputs

    def _recurrent_runner(self, group: tuple):
        return lambda values, states: self._run_recurrent(group, values, states)

    def _run(self, name: str, x: torch.Tensor, states: dict) -> torch.Tensor:
        impl = self._impls[name]
        if impl.delay_steps is not None:
            return _delay(x, impl.delay_steps)
        impl.reset()
        y, st = impl.sequence(x, self._record)
        if st:
            states[name] = st
        return y

    def _run_recurrent(self, group: tuple, values: dict, states: dict) -> None:
        """CubaLIF <-> Affine/Linear loop as one ``LIFTorch(has_rec=True)`` (w_rec set at build)."""
        plan = self._plan
        lif, weights = self._recurrent[group]
        drive = None
        back_delayed = False
        for edge in plan.incoming[lif]:
            if edge.source == weights:
                back_delayed = edge.delayed
                continue
            x = values[edge.source]
            if edge.delayed:
                x = torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)
            drive = x if drive is None else drive + x
        bias = plan.params[weights].get("bias")
        if bias is not None and bias.any():
            b = torch.as_tensor(bias, dtype=drive.dtype)
            start = 1 if back_delayed else 0  # the step the loop first delivers the bias
            drive = drive.clone()
            drive[:, start:] = drive[:, start:] + b
        values[lif] = self._run(lif, drive, states)
        values[weights] = self._run(weights, values[lif], states)


class _Operator:
    """The executor's operator for one node's Rockpool modules.

    Outside a cycle the modules run over the whole sequence from rest. Inside one they advance one step
    per call, one sample at a time: Rockpool modules keep the state of batch element 0 between calls,
    so the operator's state is every sample's snapshot of the modules' states (``module.state()``).
    """

    def __init__(self, impl: NodeImpl, record: bool) -> None:
        self.impl, self.record = impl, record

    def sequence(self, x: torch.Tensor, record: bool = False) -> tuple[torch.Tensor, dict]:
        if self.impl.delay_steps is not None:
            return _delay(x, self.impl.delay_steps), {}
        self.impl.reset()
        return self.impl.sequence(x, record)

    def init_state(self, batch: int) -> tuple[list, list]:
        if self.impl.delay_steps is not None:
            return [], []  # the input history
        self.impl.reset()
        return [self._snapshot()] * batch, []

    def step(self, x: torch.Tensor, state: tuple[list, list]) -> tuple[torch.Tensor, tuple[list, list]]:
        if self.impl.delay_steps is not None:
            history = state[0] + [x]
            return _delay(torch.stack(history, 1), self.impl.delay_steps)[:, -1], (history, [])
        ys, snapshots, records = [], [], []
        for b, snapshot in enumerate(state[0]):
            self._restore(snapshot)
            out, st = self.impl.sequence(x[b : b + 1, None], self.record)
            ys.append(out[:, 0])
            records.append({k: v[:, 0] for k, v in st.items()})
            snapshots.append(self._snapshot())
        return torch.cat(ys), (snapshots, records)

    def recorded(self, state: tuple[list, list]) -> dict[str, torch.Tensor]:
        records = state[1]
        return {k: torch.cat([r[k] for r in records]) for k in records[0]} if records else {}

    def _snapshot(self) -> dict[tuple[int, str], torch.Tensor]:
        return {(i, k): v.clone() for i, stage in enumerate(self.impl.stages) for k, v in stage.state().items()}

    def _restore(self, snapshot: dict[tuple[int, str], torch.Tensor]) -> None:
        for (i, k), v in snapshot.items():
            setattr(self.impl.stages[i], k, v.clone())


def _delay(x: torch.Tensor, steps) -> torch.Tensor:
    """:math:`y_t = x_{t-k}` per element (zeros before); ``x`` is (batch, time, N)."""
    return delay_sequence(x, np.reshape(np.asarray(steps), x.shape[2:]), time_axis=1)


def build_model(plan: Plan, dtype: str) -> GraphTorch:
    """The Rockpool model of ``plan`` in ``dtype`` ("float64" or "float32")."""
    from ._from_nir import map_node, recurrent_pattern
    from ._nodes import TORCH_DTYPES, default_dtype
    from ._to_nir import mark_built

    torch_dtype = TORCH_DTYPES[dtype]
    with default_dtype(torch_dtype):
        recurrent = {}
        for group in plan.groups:
            if plan.is_cyclic(group):
                pattern = recurrent_pattern(plan, group)
                if pattern is not None:
                    recurrent[group] = pattern
        loop_weights = {lif: plan.params[w]["weight"] for lif, w in recurrent.values()}
        impls = {name: map_node(plan, name, torch_dtype, w_rec=loop_weights.get(name)) for name in plan.order}
        model = GraphTorch(plan, impls, recurrent)
        model._torch_dtype = torch_dtype
        mark_built(model)
        return model
