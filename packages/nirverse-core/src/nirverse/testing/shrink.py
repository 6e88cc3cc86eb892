"""Delta debugging of a failing fuzz case: the smallest graph, fewest steps and batch that still fail alike.

Candidates, tried greedily until none helps or the budget of backend runs is spent: the time axis cut to
the first differing step (or halved), one batch element, fewer Outputs, subgraphs inlined (their flat
twin), a node bypassed (same shape in and out) or cut out with everything that then hangs loose, an edge
into a summing node dropped, an input set to zero. A candidate counts only if it is a valid graph whose
inputs still pass the margin check of :mod:`nirverse.testing.strategies`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import nir
import numpy as np

from ..errors import NirverseError
from .strategies import FuzzCase, flat_twin, margin_ok

__all__ = ["shrink", "candidates"]


def _with(case: FuzzCase, nodes: dict, edges: list) -> FuzzCase | None:
    """``case`` with a new top-level graph; ``None`` when nothing would be left to run."""
    nodes, edges = _prune(dict(nodes), list(edges))
    if not any(isinstance(n, nir.Output) for n in nodes.values()):
        return None
    inputs = {k: v for k, v in case.inputs.items() if k in nodes}
    if not inputs:
        return None
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    return replace(case, graph=graph, inputs=inputs)


def _prune(nodes: dict, edges: list) -> tuple[dict, list]:
    """Drop nodes that have lost every incoming edge (Inputs aside) or no longer reach an Output."""
    while True:
        fed = {t for s, t in edges if s != t}
        dead = {n for n, v in nodes.items() if not isinstance(v, nir.Input) and n not in fed}
        reach = {n for n, v in nodes.items() if isinstance(v, nir.Output)}
        grown = True
        while grown:
            more = {s for s, t in edges if t in reach} - reach
            reach |= more
            grown = bool(more)
        dead |= set(nodes) - reach
        if not dead:
            return nodes, edges
        nodes = {k: v for k, v in nodes.items() if k not in dead}
        edges = [(s, t) for s, t in edges if s not in dead and t not in dead]


def _steps(case: FuzzCase) -> int:
    return next(iter(case.inputs.values())).shape[1]


def _time_candidates(case: FuzzCase, first_step: int | None) -> Iterator[FuzzCase]:
    steps = _steps(case)
    lengths = ([first_step + 1] if first_step is not None else []) + [1, steps // 4, steps // 2, steps - 1]
    for n in sorted({n for n in lengths if 0 < n < steps}):
        yield replace(case, inputs={k: v[:, :n] for k, v in case.inputs.items()})
    batch = next(iter(case.inputs.values())).shape[0]
    for b in range(batch if batch > 1 else 0):
        yield replace(case, inputs={k: v[b : b + 1] for k, v in case.inputs.items()})


def _graph_candidates(case: FuzzCase) -> Iterator[FuzzCase | None]:
    nodes, edges = case.graph.nodes, case.graph.edges
    if any(isinstance(n, nir.NIRGraph) for n in nodes.values()):
        yield replace(case, graph=flat_twin(case.graph))
    outputs = [n for n, v in nodes.items() if isinstance(v, nir.Output)]
    for out in outputs if len(outputs) > 1 else []:
        yield _with(case, {k: v for k, v in nodes.items() if k != out}, [e for e in edges if e[1] != out])
    shapes = _shapes(case)
    for name, node in nodes.items():
        if isinstance(node, (nir.Input, nir.Output)):
            continue
        rest = {k: v for k, v in nodes.items() if k != name}
        if shapes is not None and shapes[0].get(name) == shapes[1].get(name):
            into = [s for s, t in edges if t == name and s != name]
            out_of = [t for s, t in edges if s == name and t != name]
            bypass = [e for e in edges if name not in e] + [(s, t) for s in into for t in out_of]
            yield _with(case, rest, bypass)
        yield _with(case, rest, [e for e in edges if name not in e])
    for i, (s, t) in enumerate(edges):
        if sum(1 for _, tt in edges if tt == t) > 1 or s == t:
            yield _with(case, dict(nodes), [e for j, e in enumerate(edges) if j != i])
    for name, x in case.inputs.items():
        if np.any(x):
            yield replace(case, inputs={**case.inputs, name: np.zeros_like(x)})


def _shapes(case: FuzzCase):
    from ..graph import prepare

    try:
        plan = prepare(case.graph, case.semantics)
    except NirverseError:
        return None
    return plan.in_shapes, plan.out_shapes


def candidates(case: FuzzCase, first_step: int | None = None) -> Iterator[FuzzCase | None]:
    """Every one-step simplification of ``case``, cheapest and most effective first."""
    yield from _time_candidates(case, first_step)
    yield from _graph_candidates(case)


def valid(case: FuzzCase) -> bool:
    """A graph the core accepts, with inputs that pass the margin check."""
    from ..graph import prepare

    try:
        plan = prepare(case.graph, case.semantics)
        return margin_ok(plan, case.inputs, case.dtype)
    except (NirverseError, ValueError, KeyError):
        return False


def shrink(case: FuzzCase, still_fails: Callable[[FuzzCase], tuple[bool, int | None]], budget: int = 60) -> FuzzCase:
    """Greedy delta debugging: accept the first candidate that ``still_fails`` (which also returns the first
    differing step, when known) and start over, until no candidate fails or ``budget`` runs are spent."""
    first_step = None
    improved = True
    while improved and budget > 0:
        improved = False
        for candidate in candidates(case, first_step):
            if candidate is None or not valid(candidate):
                continue
            budget -= 1
            fails, step = still_fails(candidate)
            if fails:
                case, first_step, improved = candidate, step, True
                break
            if budget <= 0:
                break
    return case
