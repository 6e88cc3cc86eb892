r"""Lowering a :class:`~nirverse.graph.Plan` to populations, projections and lags (no GeNN needed).

*Populations* are the nodes with state or a non-linear map: Input, the neuron nodes, Threshold, and
Output nodes that do not simply show one population (a *probe* population sums their edges). Every
path population → linear nodes → population becomes a *projection* with matrix
:math:`M = A_m \cdots A_1` and :math:`k` = the number of delayed edges on it plus its Delay steps.
A bias :math:`b` of a linear node reaches a population as :math:`A_m \cdots A_{j+1} b`: a neuron
variable when it passes no delay (:math:`k = 0`), else a projection from a constant population.

**Schedule.** GeNN delivers across a synapse population one step late, and a synapse population can
add ``axonal_delay_steps`` D ≥ 0. A population with *lag* :math:`L` computes semantic step
:math:`t = s - L` in GeNN step :math:`s`. A projection src → dst with :math:`k` delays must deliver
src's step :math:`t-k`: :math:`s - 1 - D - L_{src} = s - L_{dst} - k`, i.e.
:math:`D = L_{dst} - L_{src} - 1 + k \ge 0`. The lags are the longest paths of the constraint graph
(edge weight :math:`1-k`, Bellman–Ford). ``"one-step"`` latency puts :math:`k \ge 1` on every edge
out of a neuron, so a network of neurons runs with all lags 0 and D = k − 1 (GeNN's native timing);
``"immediate"`` staggers feed-forward layers by one step each. A cycle whose projections outnumber its
delays (positive cycle) has no schedule: :class:`UnsupportedSemanticsError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from nirverse.errors import UnsupportedNodeError, UnsupportedSemanticsError
from nirverse.graph import Plan
from nirverse.lowering import LINEAR_TYPES, delay_split, linear_map, node_bias
from nirverse.validation import NEURON_TYPES

from ._from_nir import SPIKING_SOURCES, neuron_vars, threshold_vars

__all__ = ["Population", "Projection", "Network", "lower", "MAX_PATHS"]

#: most population-to-population paths a graph may expand to
MAX_PATHS = 20000


@dataclass
class Population:
    """A GeNN neuron population: ``role`` in input/neuron/threshold/probe/const; ``kind`` the NIR type."""

    node: str | None
    role: str
    kind: str
    size: int
    vars: dict[str, np.ndarray]
    lag: int = 0

    @property
    def spiking(self) -> bool:
        return self.kind in SPIKING_SOURCES


@dataclass
class Projection:
    """``matrix`` (n_dst × n_src) from population ``src`` to ``dst``, ``k`` semantic delays, ``delay`` = D."""

    src: int
    dst: int
    k: int
    matrix: sp.csr_matrix
    delay: int = 0


@dataclass
class Network:
    """Everything :mod:`._model` needs to build the GeNN model of one plan."""

    populations: list[Population]
    projections: list[Projection]
    #: Output name -> (population index, output shape)
    outputs: dict[str, tuple[int, tuple[int, ...]]]
    #: neuron node -> population index
    neurons: dict[str, int]
    #: Input node -> population index
    inputs: dict[str, int]
    reset: str
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def max_lag(self) -> int:
        return max((p.lag for p in self.populations), default=0)


def _direct_source(plan: Plan, output: str) -> str | None:
    """The population an Output shows unchanged (single undelayed edges through Pass/Flatten), if any."""
    node = output
    while True:
        inc = plan.incoming[node]
        if len(inc) != 1 or inc[0].delayed:
            return None
        src = inc[0].source
        kind = plan.types[src]
        if kind == "Input" or kind == "Threshold" or kind in NEURON_TYPES:
            return src
        if kind not in ("Pass", "Flatten"):
            return None
        node = src


def lower(plan: Plan) -> Network:
    """Populations, projections and lags for ``plan`` (raises Unsupported*Error where GeNN cannot)."""
    pops, index = _populations(plan)
    outputs, probes = _output_populations(plan, pops, index)
    walker = _PathWalker(plan, index, probes)
    for name in plan.order:
        if name in index and plan.types[name] != "Output":
            walker.walk(name, name, sp.identity(_size(plan, name), format="csr"), 0, (name,))
        elif plan.types[name] in LINEAR_TYPES:
            b = node_bias(plan, name)
            if b is not None and np.any(b != 0):
                walker.walk(("bias", name), name, sp.csr_matrix(b.reshape(-1, 1)), 0, (name,))
    projections = _projections(walker.found, pops, index)
    _schedule(plan, pops, projections)
    neurons = {n: i for n, i in index.items() if plan.types[n] in NEURON_TYPES}
    return Network(
        populations=pops, projections=projections, outputs=outputs, neurons=neurons,
        inputs={n: index[n] for n in plan.inputs}, reset=plan.semantics.reset,
        shapes={n: plan.out_shapes[n] for n in plan.nodes},
    )


def _size(plan: Plan, name: str) -> int:
    return int(math.prod(plan.out_shapes[name]))


def _populations(plan: Plan) -> tuple[list[Population], dict[str, int]]:
    """One population per Input, neuron and Threshold node (in plan order), and {node: its index}."""
    pops: list[Population] = []
    index: dict[str, int] = {}
    for name in plan.order:
        kind, n = plan.types[name], _size(plan, name)
        if kind == "Input":
            index[name] = len(pops)
            pops.append(Population(name, "input", "Input", n, {"out": np.zeros(n)}))
        elif kind in NEURON_TYPES:
            values = neuron_vars(kind, plan.params[name], plan.semantics)
            values["bias"] = np.zeros(n)
            index[name] = len(pops)
            pops.append(Population(name, "neuron", kind, n, values))
        elif kind == "Threshold":
            values = threshold_vars(plan.params[name])
            values["bias"] = np.zeros(n)
            index[name] = len(pops)
            pops.append(Population(name, "threshold", kind, n, values))
    return pops, index


def _output_populations(plan: Plan, pops: list[Population], index: dict[str, int]) -> tuple[dict, set[str]]:
    """{Output: (population read, shape)}: the population feeding it directly, else a probe population
    appended to ``pops`` (the Output's name added to ``index`` and to the returned probes)."""
    outputs: dict[str, tuple[int, tuple[int, ...]]] = {}
    probes: set[str] = set()
    for name in plan.outputs:
        src = _direct_source(plan, name)
        if src is None:
            index[name] = len(pops)
            probes.add(name)
            n = _size(plan, name)
            pops.append(Population(name, "probe", "Output", n, {"out": np.zeros(n), "bias": np.zeros(n)}))
            outputs[name] = (index[name], plan.out_shapes[name])
        else:
            outputs[name] = (index[src], plan.out_shapes[name])
    return outputs, probes


class _PathWalker:
    """Every path from a population (or a linear node's bias) through linear and Delay nodes to the next
    population, as ``found[(origin, target population, lag)]`` = the summed matrix of its linear maps."""

    def __init__(self, plan: Plan, index: dict[str, int], probes: set[str]) -> None:
        self.plan, self.index, self.probes = plan, index, probes
        self.out_edges: dict[str, list] = {n: [] for n in plan.nodes}
        for e in plan.edges:
            self.out_edges[e.source].append(e)
        self.found: dict[tuple, sp.csr_matrix] = {}
        self.paths = 0

    def is_population(self, name: str) -> bool:
        return name in self.index and (self.plan.types[name] != "Output" or name in self.probes)

    def emit(self, origin: Any, target: str, k: int, m: sp.csr_matrix) -> None:
        self.paths += 1
        if self.paths > MAX_PATHS:
            raise UnsupportedNodeError(
                f"the graph expands to more than {MAX_PATHS} paths between populations", node=target,
                field="edges", expected="fewer parallel branches of linear nodes",
            )
        key = (origin, self.index[target], k)
        self.found[key] = self.found[key] + m if key in self.found else m

    def walk(self, origin: Any, node: str, m: sp.csr_matrix, k: int, stack: tuple[str, ...]) -> None:
        plan = self.plan
        for e in self.out_edges[node]:
            tgt, kk = e.target, k + int(e.delayed)
            if self.is_population(tgt):
                self.emit(origin, tgt, kk, m)
            elif plan.types[tgt] == "Output" or plan.types[tgt] not in LINEAR_TYPES:
                continue  # an Output read directly from its population
            elif tgt in stack:
                raise UnsupportedNodeError(
                    "lies on a cycle that passes no neuron or Threshold node", node=tgt, field="edges",
                    expected="every recurrent loop to pass through a population node",
                )
            elif plan.types[tgt] == "Delay":
                for steps, mask in delay_split(plan, tgt):
                    self.walk(origin, tgt, (sp.diags(mask) @ m).tocsr(), kk + steps, stack + (tgt,))
            else:
                self.walk(origin, tgt, (linear_map(plan, tgt) @ m).tocsr(), kk, stack + (tgt,))


def _projections(found: dict[tuple, sp.csr_matrix], pops: list[Population], index: dict[str, int]) -> list[Projection]:
    """The projections of the walked paths; a bias arriving without lag is added to its target's ``bias``,
    a lagged one comes from a constant population (appended to ``pops``)."""
    projections: list[Projection] = []
    const: int | None = None
    for (origin, dst, k), m in found.items():
        m = m.tocsr()
        m.eliminate_zeros()
        if m.nnz == 0:
            continue
        if isinstance(origin, tuple):  # a bias
            column = m.toarray().reshape(-1)
            if k == 0:
                pops[dst].vars["bias"] = pops[dst].vars["bias"] + column
                continue
            if const is None:
                const = len(pops)
                pops.append(Population(None, "const", "Const", 1, {"out": np.zeros(1)}))
            projections.append(Projection(const, dst, k, m))
        else:
            projections.append(Projection(index[origin], dst, k, m))
    return projections


def _schedule(plan: Plan, pops: list[Population], projections: list[Projection]) -> None:
    """Lags as longest paths (weights 1 - k); synaptic delays D = L_dst - L_src - 1 + k.

    Paths of unequal length between two populations always have a schedule (the shorter one gets the
    difference as D); only a loop with more projections than delays has none."""
    lags = [0] * len(pops)
    via: dict[int, Projection] = {}
    for _ in range(len(pops) + 1):
        changed = None
        for pr in projections:
            need = lags[pr.src] + 1 - pr.k
            if need > lags[pr.dst]:
                lags[pr.dst] = need
                via[pr.dst] = changed = pr
        if changed is None:
            break
    else:
        loop = _loop(via, changed.dst, len(pops))
        names = [pops[pr.src].node or pops[pr.src].role for pr in loop]
        delays = sum(pr.k for pr in loop)
        raise UnsupportedSemanticsError(
            f"latency={plan.semantics.latency!r}: the recurrent loop {' -> '.join(names + names[:1])} passes "
            f"{len(loop)} GeNN synapse population(s) but only {delays} delayed edge(s), and each synapse "
            "population delivers one step late", node=names[0], field="latency",
            expected="'one-step' latency, or a loop with one population per delayed edge",
        )
    for pop, lag in zip(pops, lags):
        pop.lag = lag
    for pr in projections:
        pr.delay = lags[pr.dst] - lags[pr.src] - 1 + pr.k
        assert pr.delay >= 0


def _loop(via: dict[int, Projection], start: int, n: int) -> list[Projection]:
    """The positive cycle Bellman-Ford left in the predecessor projections ``via``, in path order."""
    node = start
    for _ in range(n):  # n steps back along the predecessors land on the cycle
        node = via[node].src
    loop, at = [], node
    while True:
        loop.append(via[at])
        at = via[at].src
        if at == node:
            return loop[::-1]
