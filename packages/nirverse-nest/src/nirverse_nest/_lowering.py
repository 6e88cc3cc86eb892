r"""Lowering a :class:`~nirverse.graph.Plan` to NEST populations, connections and lags (no NEST needed).

*Populations*: Input nodes and constants (``spike_generator`` devices that send the value of each step
as the spike's weight), neuron and Threshold nodes (built-in models, :mod:`._mapping`), and Output nodes
that sum several edges (*probes*). Every path population → linear nodes → population becomes a
*projection* with matrix :math:`M = A_m \cdots A_1` and :math:`k` = the delayed edges on it plus its
Delay steps. A bias :math:`b` of a linear node reaches its target from a constant population.

**Schedule** (the GeNN plugin's lag construction, with NEST's timing). A population with lag :math:`L`
takes its input for semantic step :math:`t` in NEST step :math:`t + L` and shows its output in NEST
step :math:`t + L + e` (:math:`e` = 1 for ``iaf_psc_exp``, else 0). A spike sent in NEST step
:math:`s` with delay :math:`d \ge 1` is added in step :math:`s + d`, so src → dst with :math:`k`
delays needs :math:`d = L_{dst} - L_{src} - e_{src} + k \ge 1`. The lags are longest paths (edge
weight :math:`1 + e_{src} - k`). ``"one-step"`` latency of a network of ``iaf_psc_delta`` neurons
runs with :math:`d = k`, NEST's native timing; ``"immediate"`` staggers the layers. A cycle with more
NEST steps than delayed edges (e.g. a recurrent CubaLIF, whose membrane lags its current) has no
schedule: :class:`UnsupportedSemanticsError`.

NEST neurons communicate by spikes only: a continuous neuron output (I, LI, CubaLI) can be read by an
Output (through a multimeter), and, with the NESTML model, by a Threshold computed inside the neuron
(:func:`_fuse`); it cannot feed any other node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from nirverse.errors import UnsupportedNodeError, UnsupportedSemanticsError
from nirverse.graph import Plan
from nirverse.lowering import LINEAR_TYPES, delay_split, linear_map, node_bias
from nirverse.validation import NEURON_TYPES

from ._mapping import CONTINUOUS, NestSpec, emulated_spec, neuron_spec, probe_spec, threshold_spec

__all__ = ["Population", "Projection", "Network", "lower", "choose", "MAX_PATHS"]

MAX_PATHS = 20000


@dataclass
class Population:
    """``role`` in input/const/neuron/threshold/probe; ``spec`` the NEST model (None for generators)."""

    node: str | None
    role: str
    kind: str
    size: int
    spec: NestSpec | None = None
    lag: int = 0

    @property
    def offset(self) -> int:
        return self.spec.offset if self.spec is not None else 0

    @property
    def out_lag(self) -> int:
        return self.lag + self.offset

    @property
    def generator(self) -> bool:
        return self.spec is None


@dataclass
class Projection:
    """``matrix`` (n_dst × n_src) from population ``src`` to ``dst``; ``k`` semantic delays; NEST ``delay``."""

    src: int
    dst: int
    k: int
    matrix: sp.csr_matrix
    delay: int = 1


@dataclass
class Network:
    """Everything :mod:`._model` needs to build the NEST network of one plan."""

    populations: list[Population]
    projections: list[Projection]
    #: Output name -> (population index, output shape, "spikes" or "v")
    outputs: dict[str, tuple[int, tuple[int, ...], str]]
    neurons: dict[str, int]
    inputs: dict[str, int]
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: "builtin" (NEST's iaf models) or "nestml" (every neuron node as the plugin's NESTML model)
    mode: str = "builtin"
    #: Threshold node -> the continuous neuron node whose NESTML neuron also computes it (nestml mode)
    fused: dict[str, str] = field(default_factory=dict)

    @property
    def max_lag(self) -> int:
        return max((p.out_lag for p in self.populations), default=0)


def _direct_source(plan: Plan, output: str) -> str | None:
    """The neuron or Threshold an Output shows unchanged (single undelayed edges through Pass/Flatten)."""
    node = output
    while True:
        inc = plan.incoming[node]
        if len(inc) != 1 or inc[0].delayed:
            return None
        src = inc[0].source
        kind = plan.types[src]
        if kind == "Threshold" or kind in NEURON_TYPES:
            return src
        if kind not in ("Pass", "Flatten"):
            return None
        node = src


def _populations(plan: Plan, mode: str) -> tuple[list[Population], dict[str, int], dict[str, tuple[int, tuple]], set[str]]:
    pops: list[Population] = []
    index: dict[str, int] = {}
    size = lambda n: int(math.prod(plan.out_shapes[n]))  # noqa: E731
    for name in plan.order:
        kind = plan.types[name]
        if kind == "Input":
            index[name] = len(pops)
            pops.append(Population(name, "input", kind, size(name)))
        elif kind in NEURON_TYPES:
            index[name] = len(pops)
            if mode == "nestml":
                spec = emulated_spec(kind, plan.params[name], plan.semantics)
            else:
                spec = neuron_spec(kind, plan.params[name], plan.semantics, name)
            pops.append(Population(name, "neuron", kind, size(name), spec))
        elif kind == "Threshold":
            index[name] = len(pops)
            pops.append(Population(name, "threshold", kind, size(name), threshold_spec(plan.params[name])))
    outputs: dict[str, tuple[int, tuple]] = {}
    probes: set[str] = set()
    for name in plan.outputs:
        src = _direct_source(plan, name)
        if src is None:
            index[name] = len(pops)
            probes.add(name)
            pops.append(Population(name, "probe", "Output", size(name), probe_spec(size(name))))
            outputs[name] = (index[name], plan.out_shapes[name], "v")
        else:
            kind = "v" if plan.types[src] in CONTINUOUS else "spikes"
            outputs[name] = (index[src], plan.out_shapes[name], kind)
    return pops, index, outputs, probes


def _paths(plan: Plan, index: dict[str, int], probes: set[str]) -> dict[tuple, sp.csr_matrix]:
    """{(origin, target population, k): summed matrix} over every path of linear nodes."""
    out_edges: dict[str, list] = {n: [] for n in plan.nodes}
    for e in plan.edges:
        out_edges[e.source].append(e)
    is_pop = lambda n: n in index and (plan.types[n] != "Output" or n in probes)  # noqa: E731
    found: dict[tuple, sp.csr_matrix] = {}

    def walk(origin, node: str, m: sp.csr_matrix, k: int, stack: tuple[str, ...]) -> None:
        for e in out_edges[node]:
            tgt, kk = e.target, k + int(e.delayed)
            if is_pop(tgt):
                if len(found) > MAX_PATHS:
                    raise UnsupportedNodeError(f"the graph expands to more than {MAX_PATHS} paths", node=tgt,
                                               field="edges", expected="fewer parallel branches of linear nodes")
                key = (origin, index[tgt], kk)
                found[key] = found[key] + m if key in found else m
            elif plan.types[tgt] == "Output" or plan.types[tgt] not in LINEAR_TYPES:
                continue
            elif tgt in stack:
                raise UnsupportedNodeError("lies on a cycle that passes no neuron or Threshold node", node=tgt,
                                           field="edges", expected="every recurrent loop to pass through a neuron")
            elif plan.types[tgt] == "Delay":
                for steps, mask in delay_split(plan, tgt):
                    walk(origin, tgt, (sp.diags(mask) @ m).tocsr(), kk + steps, stack + (tgt,))
            else:
                walk(origin, tgt, (linear_map(plan, tgt) @ m).tocsr(), kk, stack + (tgt,))

    for name in plan.order:
        if name in index and plan.types[name] != "Output":
            walk(name, name, sp.identity(int(math.prod(plan.out_shapes[name])), format="csr"), 0, (name,))
        elif plan.types[name] in LINEAR_TYPES:
            b = node_bias(plan, name)
            if b is not None and np.any(b != 0):
                walk(("bias", name), name, sp.csr_matrix(b.reshape(-1, 1)), 0, (name,))
    return found


def _fuse(plan: Plan, pops: list[Population], index: dict[str, int], outputs: dict, found: dict) -> dict[str, str]:
    """NESTML mode: a Threshold whose only input is one continuous neuron (I, LI, CubaLI) elementwise,
    through at most one delayed edge, becomes part of that neuron's NESTML model, which fires when its
    value (this step's, or the previous step's with 0 before step 0) exceeds θ; the Threshold's edges
    then leave that neuron. Mutates ``found`` and ``outputs``; returns {Threshold: neuron}."""
    fused: dict[str, str] = {}
    for thr, t in list(index.items()):
        keys = [key for key in found if key[1] == t]
        if plan.types[thr] != "Threshold" or len(keys) != 1 or isinstance(keys[0][0], tuple):
            continue
        origin, _, k = keys[0]
        m = found[keys[0]]
        alone = [key for key in found if key[0] == origin] == keys
        if plan.types[origin] not in CONTINUOUS or k > 1 or not alone or m.shape[0] != m.shape[1]:
            continue
        if (m != sp.identity(m.shape[0], format="csr")).nnz:
            continue
        spec = pops[index[origin]].spec
        theta = np.asarray(plan.params[thr]["threshold"], dtype=np.float64).reshape(-1)
        spec.params.update(fused=np.ones_like(theta), fused_theta=theta, fused_delay=np.full(theta.size, float(k)))
        spec.spiking = True
        pops[t].role = "fused"
        del found[keys[0]]
        for key in [key for key in found if key[0] == thr]:
            found[(origin, key[1], key[2])] = found.pop(key)
        for name, (i, shape, _) in list(outputs.items()):
            if i == t:
                outputs[name] = (index[origin], shape, "spikes")
        fused[thr] = origin
    return fused


def choose(plan: Plan, nestml: bool) -> Network:
    """NEST's built-in models where they run ``plan`` exactly, else (``nestml``: NESTML is installed) the
    plugin's NESTML model for every neuron node; the built-in refusal when neither can."""
    try:
        return lower(plan, "builtin")
    except (UnsupportedNodeError, UnsupportedSemanticsError) as builtin:
        if not nestml:
            raise
        try:
            return lower(plan, "nestml")
        except (UnsupportedNodeError, UnsupportedSemanticsError):
            raise builtin from None


def lower(plan: Plan, mode: str = "builtin") -> Network:
    """Populations, projections and lags for ``plan`` (raises Unsupported*Error where NEST cannot)."""
    pops, index, outputs, probes = _populations(plan, mode)
    found = _paths(plan, index, probes)
    fused = _fuse(plan, pops, index, outputs, found) if mode == "nestml" else {}
    projections: list[Projection] = []
    const: int | None = None
    for (origin, dst, k), m in found.items():
        m = m.tocsr()
        m.eliminate_zeros()
        if m.nnz == 0:
            continue
        if isinstance(origin, tuple):  # a bias: from a population that sends 1 in every step
            if const is None:
                const = len(pops)
                pops.append(Population(None, "const", "Const", 1))
            projections.append(Projection(const, dst, k, m))
            continue
        if plan.types[origin] in CONTINUOUS and origin not in fused.values():  # fused: it sends θ's spikes
            raise UnsupportedNodeError(
                f"NEST neurons send spikes only: the membrane value of this {plan.types[origin]} node cannot "
                f"reach {pops[dst].node!r}", node=origin, field="edges",
                expected="a continuous neuron output (I, LI, CubaLI) that only an Output reads directly",
            )
        projections.append(Projection(index[origin], dst, k, m))
    _schedule(plan, pops, projections)
    return Network(
        populations=pops, projections=projections, outputs=outputs,
        neurons={n: i for n, i in index.items() if plan.types[n] in NEURON_TYPES},
        inputs={n: index[n] for n in plan.inputs}, shapes={n: plan.out_shapes[n] for n in plan.nodes}, mode=mode,
        fused=fused,
    )


def _schedule(plan: Plan, pops: list[Population], projections: list[Projection]) -> None:
    """Lags as longest paths (weights 1 + e_src - k); NEST delays d = L_dst - L_src - e_src + k ≥ 1."""
    lags = [0] * len(pops)
    for _ in range(len(pops) + 1):
        changed = None
        for pr in projections:
            need = lags[pr.src] + pops[pr.src].offset + 1 - pr.k
            if need > lags[pr.dst]:
                lags[pr.dst] = need
                changed = pr
        if changed is None:
            break
    else:
        node = pops[changed.dst].node or pops[changed.src].node
        raise UnsupportedSemanticsError(
            f"latency={plan.semantics.latency!r}: a recurrent loop through this node takes more NEST steps than it "
            "has delayed edges (each connection delivers at least one step late, and iaf_psc_exp adds one step "
            "between its synaptic current and its membrane)", node=node, field="latency",
            expected="a loop with one NEST step per delayed edge (e.g. LIF/IF neurons under 'one-step')",
        )
    for pop, lag in zip(pops, lags):
        pop.lag = lag
    for pr in projections:
        pr.delay = lags[pr.dst] - lags[pr.src] - pops[pr.src].offset + pr.k
        assert pr.delay >= 1
