"""From a NIR graph to an execution plan: flattening, validation, delayed edges, evaluation order.

Every backend executes the same :class:`Plan`, so graph ordering is defined once, here, exactly as the
semantics note says:

* nested graphs are flattened; an edge to (from) a subgraph goes to its Input (from its Output); inner
  Input/Output nodes pass values through;
* *delayed* edges deliver the source's output of step t-1 (zeros at t = 0); with ``"immediate"`` they are
  the back-edges of a depth-first search from the Input nodes (listed order, edges followed in listed
  order); with ``"one-step"`` also every edge from a neuron node to a non-Output node (the search then
  runs without those edges);
* nodes are evaluated in topological order of the graph without its delayed edges.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import nir
import numpy as np

from .errors import InvalidGraphError
from .limits import MAX_DEPTH, MAX_ELEMENTS, check_elements
from .loading import GraphSource, load
from .semantics import Semantics
from .validation import (
    ELEMENTWISE_FIELD,
    NEURON_TYPES,
    SPIKING_TYPES,
    broadcast_parameters,
    declared_input_shape,
    node_parameters,
    node_type,
    output_shape,
)

__all__ = ["Edge", "Plan", "prepare", "MAX_ELEMENTS"]

#: MAX_ELEMENTS (re-exported from :mod:`nirverse.limits`, the one documented size limit)


@dataclass(frozen=True)
class Edge:
    """An edge of the flattened graph; ``delayed`` edges deliver the source's value of the previous step."""

    source: str
    target: str
    delayed: bool


@dataclass(frozen=True, eq=False)
class Plan:
    """A validated, flattened graph with its evaluation order under one semantics.

    ``nodes`` maps flat names (``"sub.lif"`` for a node ``lif`` inside subgraph ``sub``) to NIR nodes;
    ``types`` their NIR class names ("Pass" for the inner Input/Output of a nested graph); ``params``
    the validated float64 parameters; ``in_shapes``/``out_shapes`` the per-sample shapes; ``order`` the
    evaluation order; ``incoming[name]`` the edges into a node; ``groups`` the strongly connected
    components in an order that respects every edge (a group with more than one node, or a self-loop,
    must be stepped jointly, one time step at a time).
    """

    graph: nir.NIRGraph
    semantics: Semantics
    nodes: Mapping[str, Any]
    types: Mapping[str, str]
    params: Mapping[str, Mapping[str, Any]]
    in_shapes: Mapping[str, tuple[int, ...]]
    out_shapes: Mapping[str, tuple[int, ...]]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    edges: tuple[Edge, ...]
    order: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    incoming: Mapping[str, tuple[Edge, ...]] = field(repr=False)

    def is_neuron(self, name: str) -> bool:
        return self.types[name] in NEURON_TYPES

    def is_cyclic(self, group: tuple[str, ...]) -> bool:
        """Whether a group must be evaluated step by step (a cycle, or a self-loop)."""
        if len(group) > 1:
            return True
        (name,) = group
        return any(e.source == name for e in self.incoming[name])

    def output_is_spikes(self, output: str) -> bool:
        """Whether an Output node carries a spike raster (all its sources emit spikes)."""
        sources = [e.source for e in self.incoming[output]]
        while len(sources) == 1 and self.types[sources[0]] in ("Pass", "Delay", "Flatten"):
            sources = [e.source for e in self.incoming[sources[0]]]
        return len(sources) == 1 and self.types[sources[0]] in SPIKING_TYPES

    @property
    def delayed_edges(self) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.delayed)


def _flatten(graph: nir.NIRGraph, prefix: str = "", depth: int = 0):
    """Flat node dict, flat edge list and the names of the inner Input/Output nodes (pass-throughs)."""
    if depth > MAX_DEPTH:
        raise InvalidGraphError(
            f"subgraphs nested more than {MAX_DEPTH} deep", node=prefix.rstrip("."), field="nodes",
            expected=f"at most {MAX_DEPTH} levels of nested NIRGraph",
        )
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    passthrough: set[str] = set()
    sub_edges: list[tuple[str, str]] = []
    if not isinstance(graph.nodes, Mapping):
        raise InvalidGraphError("is not a mapping", node=prefix.rstrip(".") or "<root>", field="nodes")
    for name, node in graph.nodes.items():
        if not isinstance(name, str) or not name:
            raise InvalidGraphError(
                f"invalid node name {name!r}", node=prefix + str(name), field="nodes", expected="a non-empty string"
            )
        full = prefix + name
        if node_type(full, node) == "NIRGraph":
            inner_nodes, inner_edges, inner_pass = _flatten(node, full + ".", depth + 1)
            for inner_name, inner in inner_nodes.items():
                if inner_name in nodes:
                    raise InvalidGraphError(
                        "a flattened subgraph node has the name of another node", node=inner_name, field="nodes",
                        expected="unique names after flattening ('<subgraph>.<node>')",
                    )
                nodes[inner_name] = inner
            passthrough |= inner_pass
            passthrough |= {
                f"{full}.{n}" for n, v in node.nodes.items() if isinstance(v, (nir.Input, nir.Output))
            }
            sub_edges.extend(inner_edges)
        else:
            if full in nodes:
                raise InvalidGraphError(
                    "the name of a node clashes with a flattened subgraph node", node=full, field="nodes",
                    expected="unique names after flattening",
                )
            nodes[full] = node

    raw_edges = graph.edges
    if not isinstance(raw_edges, (list, tuple, np.ndarray)):
        raise InvalidGraphError(
            f"is {type(raw_edges).__name__}", node=prefix.rstrip(".") or "<root>", field="edges",
            expected="a list of (source, target) name pairs",
        )
    for i, edge in enumerate(raw_edges):
        try:
            src, dst = edge
        except (TypeError, ValueError) as exc:
            raise InvalidGraphError(
                f"edge #{i} is {edge!r}", node=prefix.rstrip(".") or "<root>", field="edges",
                expected="(source, target) name pairs",
            ) from exc
        src, dst = (s.decode() if isinstance(s, bytes) else str(s) for s in (src, dst))
        edges.append((_port(src, nir.Output, "from", graph, prefix), _port(dst, nir.Input, "into", graph, prefix)))
    return nodes, edges + sub_edges, passthrough


def _port(name: str, kind: type, role: str, owner: nir.NIRGraph, base: str) -> str:
    """The flat name of the node an edge of ``owner`` (flattened under ``base``) goes ``role`` ("from" or
    "into"): ``name`` itself, or the one ``kind`` (Output/Input) node of subgraph ``name``, recursively."""
    node = owner.nodes.get(name)
    if node is None and "." in name:  # "sub.node" addresses a node inside subgraph "sub"
        head, rest = name.split(".", 1)
        sub = owner.nodes.get(head)
        if isinstance(sub, nir.NIRGraph):
            return _port(rest, kind, role, sub, base + head + ".")
    if node is None:
        raise InvalidGraphError(
            f"an edge {role} a node that does not exist", node=base + name, field="edges",
            expected="an existing node name",
        )
    if not isinstance(node, nir.NIRGraph):
        return base + name
    ports = [n for n, v in node.nodes.items() if isinstance(v, kind)]
    if len(ports) != 1:
        raise InvalidGraphError(
            f"an edge {role} subgraph {name!r}, which has {len(ports)} {kind.__name__} nodes",
            node=base + name, field="edges",
            expected=f"exactly one {kind.__name__}, or an edge to '{name}.<node>'",
        )
    return _port(ports[0], kind, role, node, base + name + ".")


def _back_edges(names: list[str], starts: list[str], out_edges: dict[str, list[int]], edges, skip: set[int]) -> set[int]:
    """Indices of the back-edges of an iterative DFS from ``starts``, then from unreached nodes (listed order)."""
    state = dict.fromkeys(names, 0)  # 0 = new, 1 = on stack, 2 = done
    back: set[int] = set()
    for root in starts + names:
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(out_edges[root]))]
        while stack:
            node, it = stack[-1]
            for idx in it:
                if idx in skip:
                    continue
                target = edges[idx][1]
                if state[target] == 1:
                    back.add(idx)
                elif state[target] == 0:
                    state[target] = 1
                    stack.append((target, iter(out_edges[target])))
                    break
            else:
                state[node] = 2
                stack.pop()
    return back


def _topological_order(names: list[str], edges, delayed: set[int]) -> list[str]:
    """Kahn's algorithm over the non-delayed edges; ties broken by listed order."""
    import heapq

    rank = {n: i for i, n in enumerate(names)}
    indegree = dict.fromkeys(names, 0)
    succ: dict[str, list[str]] = {n: [] for n in names}
    for idx, (s, t) in enumerate(edges):
        if idx not in delayed:
            indegree[t] += 1
            succ[s].append(t)
    ready = [rank[n] for n in names if indegree[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        n = names[heapq.heappop(ready)]
        order.append(n)
        for t in succ[n]:
            indegree[t] -= 1
            if indegree[t] == 0:
                heapq.heappush(ready, rank[t])
    if len(order) != len(names):  # cannot happen: removing all back-edges leaves a DAG
        raise AssertionError("cycle left after removing back-edges")
    return order


def _groups(order: list[str], edges) -> list[tuple[str, ...]]:
    """Strongly connected components (Tarjan, iterative), listed so every edge goes forward or inside."""
    succ: dict[str, list[str]] = {n: [] for n in order}
    for s, t in edges:
        succ[s].append(t)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    comps: list[list[str]] = []
    counter = 0
    for root in order:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            recurse = False
            for j in range(i, len(succ[node])):
                t = succ[node][j]
                if t not in index:
                    work.append((node, j + 1))
                    work.append((t, 0))
                    recurse = True
                    break
                if t in on_stack:
                    low[node] = min(low[node], index[t])
            if recurse:
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                comps.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    comps.reverse()  # Tarjan emits components in reverse topological order
    position = {n: i for i, n in enumerate(order)}
    return [tuple(sorted(c, key=position.__getitem__)) for c in comps]


def prepare(graph: GraphSource, semantics: Semantics) -> Plan:
    """Load, flatten and validate ``graph`` and order it under ``semantics``.

    Raises :class:`InvalidGraphError` (naming the node and field) for anything a simulator could not
    execute exactly: unknown node types, non-finite or non-positive parameters, dangling edges, shape
    mismatches, missing Input/Output nodes, delays that are not whole steps.
    """
    if not isinstance(semantics, Semantics):
        from .errors import InvalidSemanticsError

        raise InvalidSemanticsError(
            f"got {type(semantics).__name__}", field="semantics", expected="a nirverse.Semantics"
        )
    graph = load(graph)
    nodes, raw_edges, passthrough = _flatten(graph)
    names = list(nodes)
    types = {n: ("Pass" if n in passthrough else node_type(n, nodes[n])) for n in names}
    inputs = [n for n in names if types[n] == "Input"]
    outputs = [n for n in names if types[n] == "Output"]
    if not inputs:
        raise InvalidGraphError("the graph has no Input node", node="<root>", field="nodes", expected="an Input node")
    if not outputs:
        raise InvalidGraphError("the graph has no Output node", node="<root>", field="nodes", expected="an Output node")
    params = {n: ({} if types[n] == "Pass" else node_parameters(n, nodes[n], semantics)) for n in names}

    incoming_raw, out_edges = _edge_indices(names, types, raw_edges)

    in_shapes, out_shapes = _infer_shapes(names, types, nodes, params, raw_edges, incoming_raw)
    for n in names:
        if types[n] in ELEMENTWISE_FIELD and params[n][ELEMENTWISE_FIELD[types[n]]].ndim == 0:
            params[n] = broadcast_parameters(params[n], in_shapes[n])
    _check_size(names, out_shapes, types, params)

    one_step = set()
    if semantics.latency == "one-step":
        observed = _observed_only(names, types, raw_edges, out_edges)
        one_step = {
            i for i, (s, t) in enumerate(raw_edges) if types[s] in NEURON_TYPES and t not in observed
        }
    delayed = one_step | _back_edges(names, inputs, out_edges, raw_edges, one_step)
    order = _topological_order(names, raw_edges, delayed)
    groups = _groups(order, raw_edges)
    edges = tuple(Edge(s, t, i in delayed) for i, (s, t) in enumerate(raw_edges))
    incoming = {n: tuple(edges[i] for i in incoming_raw[n]) for n in names}
    return Plan(
        graph=graph, semantics=semantics, nodes=nodes, types=types, params=params, in_shapes=in_shapes,
        out_shapes=out_shapes, inputs=tuple(inputs), outputs=tuple(outputs), edges=edges, order=tuple(order),
        groups=tuple(groups), incoming=incoming,
    )


def _edge_indices(names: list[str], types: dict[str, str], raw_edges: list) -> tuple[dict, dict]:
    """({node: indices of its incoming edges}, {node: indices of its outgoing edges}), refusing an edge into
    an Input, out of an Output, or a node other than an Input without input."""
    incoming_raw: dict[str, list[int]] = {n: [] for n in names}
    out_edges: dict[str, list[int]] = {n: [] for n in names}
    for idx, (s, t) in enumerate(raw_edges):
        out_edges[s].append(idx)
        incoming_raw[t].append(idx)
    for n in names:
        if types[n] == "Input" and incoming_raw[n]:
            raise InvalidGraphError(
                f"has incoming edges from {[raw_edges[i][0] for i in incoming_raw[n]]}", node=n, field="edges",
                expected="no edge into an Input node",
            )
        if types[n] == "Output" and out_edges[n]:
            raise InvalidGraphError("has outgoing edges", node=n, field="edges", expected="no edge out of an Output node")
        if types[n] != "Input" and not incoming_raw[n]:
            raise InvalidGraphError(
                "has no incoming edge", node=n, field="edges", expected="an edge from an Input or another node"
            )
    return incoming_raw, out_edges


def _observed_only(names, types, edges, out_edges) -> set[str]:
    """Top-level Outputs, and inner Output/Input pass-throughs that lead to top-level Outputs only: with the
    pass-throughs contracted away, an edge from a neuron into one of these ends at an Output (not delayed)."""
    observed = {n for n in names if types[n] == "Output"}
    changed = True
    while changed:
        changed = False
        for n in names:
            if types[n] == "Pass" and n not in observed and out_edges[n] and all(
                edges[i][1] in observed for i in out_edges[n]
            ):
                observed.add(n)
                changed = True
    return observed


def _infer_shapes(names, types, nodes, params, edges, incoming_raw):
    """Fix-point propagation of per-sample shapes, then a check of every edge."""
    in_shapes: dict[str, tuple[int, ...]] = {}
    for n in names:
        if types[n] in ("Pass", "Output"):
            continue
        declared = declared_input_shape(n, types[n], nodes[n], params[n])
        if declared is not None:
            in_shapes[n] = declared
    out_shapes: dict[str, tuple[int, ...]] = {}
    changed = True
    while changed:
        changed = False
        for n in names:
            if n not in in_shapes:
                sources = [edges[i][0] for i in incoming_raw[n] if edges[i][0] in out_shapes]
                if sources:
                    in_shapes[n] = out_shapes[sources[0]]
                    changed = True
            if n in in_shapes and n not in out_shapes:
                out_shapes[n] = output_shape(n, types[n], nodes[n], params[n], in_shapes[n])
                changed = True
    for n in names:
        if n not in out_shapes:
            raise InvalidGraphError(
                "its shape cannot be inferred (no source with a known shape)", node=n, field="input_type",
                expected="a node reachable from an Input, or a declared input shape",
            )
    for s, t in edges:
        if out_shapes[s] != in_shapes[t]:
            raise InvalidGraphError(
                f"receives shape {out_shapes[s]} from {s!r}", node=t, field="input_type",
                expected=f"shape {in_shapes[t]}",
            )
    for n in names:
        if types[n] == "Output":
            declared = _declared_output(nodes[n])
            if declared is not None and math.prod(declared) != math.prod(out_shapes[n]):
                raise InvalidGraphError(
                    f"declares shape {declared} but receives {out_shapes[n]}", node=n, field="shape",
                    expected=f"shape {out_shapes[n]}",
                )
    return in_shapes, out_shapes


def _declared_output(node: Any) -> tuple[int, ...] | None:
    try:
        arr = np.atleast_1d(np.asarray(node.output_type["output"]))
    except (AttributeError, KeyError, TypeError):
        return None
    if arr.dtype.kind not in "iuf":
        return None
    return tuple(int(v) for v in arr)


def _check_size(names, out_shapes, types, params) -> None:
    """Per sample and step: each node's output, and each delay buffer (steps x shape), within the limit."""
    for n in names:
        check_elements(math.prod(out_shapes[n]), "output per sample", node=n, field="shape")
        if types[n] == "Delay" and "steps" in params[n]:
            check_elements(delay_buffer(params[n], out_shapes[n]), "delay buffer per sample (steps x shape)",
                           node=n, field="delay")


def delay_buffer(params: Mapping[str, Any], shape: tuple[int, ...]) -> int:
    """Values one sample's delay buffer holds: (largest step count + 1) x elements of the shape."""
    steps = params["steps"]
    return (int(steps.max(initial=0)) + 1) * math.prod(shape)
