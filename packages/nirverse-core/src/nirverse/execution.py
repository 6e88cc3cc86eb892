r"""The one executor: runs a :class:`~nirverse.graph.Plan` over per-node operators on an array namespace.

Every backend that steps in Python (the numpy reference, the torch plugins) supplies one operator per
node and this module does the rest, exactly as the semantics note says:

* groups (strongly connected components) run in plan order;
* a node's input is the sum of its incoming edges, in the order the plan lists them,
  :math:`x^{(n)}_t = \sum_{e = (s \to n)} y^{(s)}_{t - d_e}` with :math:`d_e = 1` on a delayed (back)
  edge and :math:`d_e = 0` otherwise, and :math:`y_{-1} = 0` (zeros at t = 0);
* a node outside any cycle gets its whole input sequence at once and runs it with
  ``operator.sequence(x, record)`` (vectorised over time where the operator supports it);
* the nodes of a cycle are stepped jointly, one step at a time, in the plan's order, with
  ``operator.init_state(batch)`` and ``operator.step(x, state) -> (y, state)``; with ``record``,
  ``operator.recorded(state)`` is stacked over time into the node's traces;
* ``stepwise=True`` steps the whole plan as one group (the literal per-step definition).

The namespace is a minimal adapter (``zeros``, ``stack``, ``concat``) picked from the arrays' module:
array-api-compat is not a dependency of the core (it is not installed here, and these three functions
are all the executor needs), so :func:`namespace_of` serves numpy and torch directly. ``time_axis`` is 1
for batch-major arrays ``(batch, time, *shape)`` (the reference) and 0 for time-major ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .graph import Plan

__all__ = ["Namespace", "NodeOperator", "delay_sequence", "execute", "namespace_of"]


class NodeOperator(Protocol):
    """The per-node operator a backend supplies; arrays carry a leading batch axis per step."""

    def init_state(self, batch: int) -> Any: ...

    def step(self, x: Any, state: Any) -> tuple[Any, Any]: ...

    def recorded(self, state: Any) -> dict[str, Any]: ...

    def sequence(self, x: Any, record: bool = False) -> tuple[Any, dict[str, Any]]: ...


@dataclass(frozen=True)
class Namespace:
    """The array functions the executor uses: ``zeros(shape, dtype=)``, ``stack``, ``concat``, and
    ``asarray(a, like)``, ``take_along_axis(x, index, axis)``, ``where`` for :func:`delay_sequence`."""

    zeros: Callable[..., Any]
    stack: Callable[[Sequence[Any], int], Any]
    concat: Callable[[Sequence[Any], int], Any]
    asarray: Callable[..., Any]
    take_along_axis: Callable[[Any, Any, int], Any]
    where: Callable[[Any, Any, Any], Any]


def namespace_of(array: Any) -> Namespace:
    """The namespace of ``array``'s library (numpy or torch)."""
    module = type(array).__module__.split(".")[0]
    if module == "numpy":
        import numpy as np

        return Namespace(np.zeros, np.stack, np.concatenate, lambda a, like: np.asarray(a), np.take_along_axis,
                         np.where)
    if module == "torch":
        import torch

        return Namespace(torch.zeros, torch.stack, torch.cat, lambda a, like: torch.as_tensor(a, device=like.device),
                         lambda x, index, axis: torch.gather(x, axis, index), torch.where)
    raise TypeError(f"no array namespace for {type(array).__module__}.{type(array).__name__}")


def delay_sequence(x: Any, steps: Any, time_axis: int = 1) -> Any:
    r"""NIR Delay over a whole sequence: :math:`y_t = x_{t-k}` per element (zeros before).

    ``x`` is ``(batch, time, *shape)`` (``time_axis=1``) or ``(time, batch, *shape)`` (``time_axis=0``);
    ``steps`` holds :math:`k` per element, of ``shape``. An exact gather: no arithmetic on the values.
    """
    import numpy as np

    xp = namespace_of(x)
    k = np.asarray(steps, dtype=np.int64)
    length = x.shape[time_axis]
    source = np.arange(length).reshape((length,) + (1,) * k.ndim) - k  # (time, *shape)
    source = np.expand_dims(source, 1 - time_axis)  # the batch axis
    index = np.ascontiguousarray(np.broadcast_to(np.clip(source, 0, None), x.shape))
    valid = xp.asarray(np.broadcast_to(source >= 0, x.shape).copy(), x)
    gathered = xp.take_along_axis(x, xp.asarray(index, x), time_axis)
    return xp.where(valid, gathered, xp.zeros((), dtype=x.dtype))


@dataclass
class _Run:
    """One execution: the plan, its operators and the values computed so far."""

    plan: Plan
    ops: Mapping[str, NodeOperator]
    xp: Namespace
    dtype: Any
    axis: int
    record: bool
    batch: int
    steps: int
    values: dict[str, Any]
    states: dict[str, dict[str, Any]]
    layout: Callable[[tuple[int, ...]], tuple[int, ...]]

    def at(self, x: Any, t: int) -> Any:
        return x[(slice(None),) * self.axis + (t,)]

    def shifted(self, x: Any) -> Any:
        """The sequence delayed by one step: zeros at t = 0."""
        if self.steps == 0:
            return x
        head = self.xp.zeros(x.shape[: self.axis] + (1,) + x.shape[self.axis + 1 :], dtype=x.dtype)
        body = x[(slice(None),) * self.axis + (slice(0, -1),)]
        return self.xp.concat([head, body], self.axis)

    def empty_sequence(self, shape: tuple[int, ...], steps: int = 0) -> Any:
        """``steps`` steps of zeros of per-step shape ``(batch, *shape)``, time axis inserted."""
        per_step = (self.batch, *self.layout(shape))
        return self.xp.zeros(per_step[: self.axis] + (steps,) + per_step[self.axis :], dtype=self.dtype)


def execute(
    plan: Plan,
    ops: Mapping[str, NodeOperator],
    inputs: Mapping[str, Any],
    *,
    dtype: Any,
    time_axis: int = 1,
    record: bool = False,
    stepwise: bool = False,
    xp: Namespace | None = None,
    constructs: Mapping[tuple[str, ...], Callable[[dict, dict], None]] | None = None,
    layout: Callable[[tuple[int, ...]], tuple[int, ...]] = tuple,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Run ``plan``; return ({node name: output sequence} for every node, {node: {state: trace}}).

    ``constructs`` maps a group that the backend runs as one construct of its own (Rockpool's recurrent
    LIF, a compiled kernel) to a callable that fills in its members' values (and states) from the values
    so far; ``stepwise=True`` ignores it.
    ``layout`` maps a node's shape to the backend's per-sample shape (Rockpool's flat ``(N,)``).
    """
    values = dict(inputs)
    first = next(iter(values.values()))
    batch, steps = (first.shape[1], first.shape[0]) if time_axis == 0 else first.shape[:2]
    run = _Run(plan, ops, xp or namespace_of(first), dtype, time_axis, record, batch, steps, values, {}, layout)
    for group in [tuple(plan.order)] if stepwise else plan.groups:
        if not stepwise and constructs and group in constructs:
            constructs[group](run.values, run.states)
        elif not stepwise and not plan.is_cyclic(group):
            _run_sequence(run, group[0])
        else:
            _run_cycle(run, [n for n in group if n not in plan.inputs])
    return run.values, run.states


def _run_sequence(run: _Run, name: str) -> None:
    """One node outside any cycle, over its whole input sequence."""
    if name in run.values:  # an Input node
        return
    x = None
    for edge in run.plan.incoming[name]:
        src = run.values[edge.source]
        src = run.shifted(src) if edge.delayed else src
        x = src if x is None else x + src
    if x is None:  # a node nothing feeds: zero input
        x = run.empty_sequence(run.plan.in_shapes[name], run.steps)
    run.values[name], traces = run.ops[name].sequence(x, run.record)
    if traces:
        run.states[name] = traces


def _reads(run: _Run, members: list[str], outs: dict[str, list]) -> dict[str, list[tuple[list, bool]]]:
    """Per member, its sources' per-step values (a member's list grows as it steps) and whether delayed."""
    steps: dict[str, list] = dict(outs)
    for n in members:
        for edge in run.plan.incoming[n]:
            if edge.source not in steps:
                seq = run.values[edge.source]
                steps[edge.source] = [run.at(seq, t) for t in range(run.steps)]
    return {n: [(steps[e.source], e.delayed) for e in run.plan.incoming[n]] for n in members}


def _step_input(run: _Run, name: str, t: int, reads: list[tuple[list, bool]]) -> Any:
    """The summed input of ``name`` at step ``t``; a delayed edge reads step t - 1 (nothing at t = 0)."""
    x = None
    for source, delayed in reads:
        if delayed:
            if t == 0:
                continue
            src = source[t - 1]
        else:
            src = source[t]
        x = src if x is None else x + src
    if x is None:
        x = run.xp.zeros((run.batch, *run.layout(run.plan.in_shapes[name])), dtype=run.dtype)
    return x


def _run_cycle(run: _Run, members: list[str]) -> None:
    """Step the nodes of one group jointly through time (the literal per-step definition)."""
    ops = run.ops
    states = {n: ops[n].init_state(run.batch) for n in members}
    outs: dict[str, list] = {n: [] for n in members}
    reads = _reads(run, members, outs)
    traces: dict[str, dict[str, list]] = {n: {} for n in members}
    for t in range(run.steps):
        for n in members:
            y, states[n] = ops[n].step(_step_input(run, n, t, reads[n]), states[n])
            outs[n].append(y)
            if run.record:
                for k, v in ops[n].recorded(states[n]).items():
                    traces[n].setdefault(k, []).append(v)
    for n in members:
        run.values[n] = run.xp.stack(outs[n], run.axis) if run.steps else run.empty_sequence(run.plan.out_shapes[n])
        if not run.record:
            continue
        if run.steps == 0:
            recorded = run.ops[n].recorded(states[n])
            traces[n] = {k: run.empty_sequence(tuple(v.shape[1:])) for k, v in recorded.items()}
            if traces[n]:
                run.states[n] = traces[n]
        elif traces[n]:
            run.states[n] = {k: run.xp.stack(v, run.axis) for k, v in traces[n].items()}
