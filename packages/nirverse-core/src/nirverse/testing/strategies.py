r"""Hypothesis strategies for random *valid* NIR graphs, inputs and semantics (``pip install hypothesis``).

:func:`fuzz_cases` draws a :class:`FuzzCase` -- graph, inputs, semantics, dtype -- from one of the
:data:`FAMILIES` of shapes, with all 18 node types and parameters over the whole valid range:

* time constants :math:`\tau = \Delta t \cdot 10^{u}`, :math:`u \in [-1, 3]` (dt/10 to 1000 dt);
* thresholds, leaks, resets, ``r`` and ``w_in`` anywhere in a signed range (resets above threshold and
  negative thresholds included), weights signed and often exactly zero;
* every semantics (method, reset, latency, a few dt), float64 and float32.

Inputs are *margin-checked*: the reference's pre-threshold values (membranes before reset and the inputs
of Threshold nodes) stay at least :math:`m (1 + \max|u|)` away from their thresholds, with
:math:`m = 10^{-9}` in float64 (a rounding-level tie between two correct simulators is not a bug) and
:math:`m = 10^{-4}` in float32 (the semantics note's margin); and rounding must not move the verdict:
the reference run in float32 (for a float32 case) or in extended precision (for a float64 case) stays
within a tenth of the dtype's tolerance of the float64 run, outputs and states (an unstable euler leak,
:math:`\tau < \Delta t/2`, amplifies rounding every step, and two correct simulators round differently).
A draw whose inputs never pass is rejected.

Third-party backends can use these directly::

    @given(fuzz_cases())
    def test_mine(case):
        ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import nir
import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from ..semantics import LATENCIES, METHODS, RESETS, Semantics

__all__ = [
    "FAMILIES", "NEURONS", "FuzzCase", "fuzz_cases", "graphs", "semantics", "margin", "flat_twin", "margin_ok",
]

NEURONS = ("I", "IF", "LI", "LIF", "CubaLI", "CubaLIF")
SPIKING_NEURONS = ("IF", "LIF", "CubaLIF")
ELEMENTWISE = NEURONS + ("Scale", "Delay", "Threshold")
#: the graph shapes :func:`graphs` draws from
FAMILIES = ("chain", "reconverge", "multi_io", "nested", "self_loop", "loop", "conv", "cuba")
DTS = (1e-3, 1e-4, 5e-4, 1.0)
MARGINS = {"float64": 1e-9, "float32": 1e-4}
INPUT_KINDS = ("uniform", "normal", "events", "sparse")


@dataclass
class FuzzCase:
    """One random case: run ``graph`` on ``inputs`` under ``semantics`` in ``dtype``."""

    graph: nir.NIRGraph
    inputs: dict[str, np.ndarray]
    semantics: Semantics
    dtype: str = "float64"
    family: str = ""
    notes: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        shapes = {k: v.shape for k, v in self.inputs.items()}
        return f"FuzzCase({self.family}, {len(self.graph.nodes)} nodes, {self.semantics}, {self.dtype}, {shapes})"


# -- parameters ------------------------------------------------------------------------------------
def _values(draw, shape: tuple[int, ...], lo: float, hi: float, zero: bool = True) -> np.ndarray:
    """An array of ``shape`` in [lo, hi]: one drawn constant, or per-element values from a drawn seed."""
    if draw(st.booleans()):
        value = draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))
        if not zero and value == 0.0:
            value = hi
        return np.full(shape, value)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.uniform(lo, hi, shape)


def _taus(draw, shape: tuple[int, ...], dt: float) -> np.ndarray:
    r""":math:`\tau = \Delta t \cdot 10^{u}`, :math:`u \in [-1, 3]`."""
    return dt * 10.0 ** _values(draw, shape, -1.0, 3.0)


def neuron(draw, kind: str, shape: tuple[int, ...], dt: float) -> nir.NIRNode:
    """A neuron node of ``kind`` and ``shape`` with parameters over the whole valid range."""
    r = _values(draw, shape, -2.0, 5.0)
    if kind == "I":
        return nir.I(r=r / dt)
    v_threshold, v_reset = _values(draw, shape, -1.0, 3.0), _values(draw, shape, -2.0, 3.0)
    if kind == "IF":
        return nir.IF(r=r / dt, v_threshold=v_threshold, v_reset=v_reset)
    tau, v_leak = _taus(draw, shape, dt), _values(draw, shape, -1.0, 1.0)
    if kind == "LI":
        return nir.LI(tau=tau, r=r, v_leak=v_leak)
    if kind == "LIF":
        return nir.LIF(tau=tau, r=r, v_leak=v_leak, v_threshold=v_threshold, v_reset=v_reset)
    tau_syn, w_in = _taus(draw, shape, dt), _values(draw, shape, -2.0, 3.0)
    if kind == "CubaLI":
        return nir.CubaLI(tau_syn=tau_syn, tau_mem=tau, r=r, v_leak=v_leak, w_in=w_in)
    return nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau, r=r, v_leak=v_leak, v_threshold=v_threshold,
                       v_reset=v_reset, w_in=w_in)


def elementwise(draw, kind: str, shape: tuple[int, ...], dt: float) -> nir.NIRNode:
    """A neuron, Scale, Delay (0-4 whole steps) or Threshold node of ``shape``."""
    if kind in NEURONS:
        return neuron(draw, kind, shape, dt)
    if kind == "Scale":
        return nir.Scale(scale=_values(draw, shape, -3.0, 3.0))
    if kind == "Threshold":
        return nir.Threshold(threshold=_values(draw, shape, -1.0, 2.0))
    steps = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).integers(0, draw(st.integers(1, 5)), shape)
    return nir.Delay(delay=steps * dt)


def synapse(draw, n_out: int, n_in: int) -> nir.NIRNode:
    """Affine or Linear (out x in), weights in [-3, 3] (zero included)."""
    weight = _values(draw, (n_out, n_in), -3.0, 3.0)
    if draw(st.booleans()):
        return nir.Linear(weight=weight)
    return nir.Affine(weight=weight, bias=_values(draw, (n_out,), -1.0, 1.0))


# -- graph building --------------------------------------------------------------------------------
class _Net:
    """A graph under construction: nodes, edges and each node's output shape."""

    def __init__(self, draw, dt: float) -> None:
        self.draw, self.dt = draw, dt
        self.nodes: dict[str, nir.NIRNode] = {}
        self.edges: list[tuple[str, str]] = []
        self.shapes: dict[str, tuple[int, ...]] = {}

    def add(self, prefix: str, node: Any, shape: tuple[int, ...], *sources: str) -> str:
        name = f"{prefix}{len(self.nodes)}"
        self.nodes[name] = node
        self.shapes[name] = tuple(shape)
        self.edges += [(s, name) for s in sources]
        return name

    def input(self, shape: tuple[int, ...]) -> str:
        return self.add("in", nir.Input(np.array(shape)), shape)

    def output(self, *sources: str) -> str:
        return self.add("out", nir.Output(np.array(self.shapes[sources[0]])), self.shapes[sources[0]], *sources)

    def layer(self, source: str, kinds=ELEMENTWISE, width: int | None = None) -> str:
        """``source`` -> [Affine|Linear] -> an element-wise node (neuron, Scale, Delay, Threshold)."""
        draw, shape = self.draw, self.shapes[source]
        if len(shape) == 1 and (width is not None or draw(st.booleans())):
            n = width if width is not None else draw(st.integers(1, 5))
            source = self.add("syn", synapse(draw, n, shape[0]), (n,), source)
            shape = (n,)
        kind = draw(st.sampled_from(kinds))
        return self.add(kind.lower(), elementwise(draw, kind, shape, self.dt), shape, source)

    def chain(self, source: str, length: int, kinds=ELEMENTWISE) -> str:
        for _ in range(length):
            source = self.layer(source, kinds)
        return source

    def graph(self) -> nir.NIRGraph:
        return nir.NIRGraph(nodes=dict(self.nodes), edges=list(self.edges), type_check=False)


def _chain(net: _Net) -> None:
    """Input -> 1-4 layers -> Output (sometimes a second Output on an inner layer)."""
    draw = net.draw
    source = net.input((draw(st.integers(1, 5)),))
    layers = [net.layer(source, NEURONS, width=draw(st.integers(1, 5)))]
    for _ in range(draw(st.integers(0, 3))):
        layers.append(net.layer(layers[-1]))
    net.output(layers[-1])
    if len(layers) > 1 and draw(st.booleans()):
        net.output(draw(st.sampled_from(layers[:-1])))


def _reconverge(net: _Net) -> None:
    """One source fans out into 2-3 paths of different length that meet again in one node."""
    draw = net.draw
    source = net.layer(net.input((draw(st.integers(1, 4)),)), NEURONS, width=draw(st.integers(1, 4)))
    width = draw(st.integers(1, 4))
    lengths = draw(st.lists(st.integers(0, 3), min_size=2, max_size=3, unique=True))
    ends = []
    for length in lengths:
        end = net.chain(source, length)
        ends.append(net.add("syn", synapse(draw, width, net.shapes[end][0]), (width,), end))
    kind = draw(st.sampled_from(NEURONS))
    merge = net.add(kind.lower(), neuron(draw, kind, (width,), net.dt), (width,), *ends)
    net.output(merge)


def _multi_io(net: _Net) -> None:
    """2-3 Inputs, 2-3 Outputs; some layer receives from two Inputs' paths."""
    draw = net.draw
    heads = [net.layer(net.input((draw(st.integers(1, 4)),)), NEURONS, width=draw(st.integers(1, 4)))
             for _ in range(draw(st.integers(2, 3)))]
    width = draw(st.integers(1, 4))
    sums = [net.add("syn", synapse(draw, width, net.shapes[h][0]), (width,), h) for h in heads]
    kind = draw(st.sampled_from(NEURONS))
    merge = net.add(kind.lower(), neuron(draw, kind, (width,), net.dt), (width,), *sums)
    sinks = [merge, *heads]
    for sink in draw(st.lists(st.sampled_from(sinks), min_size=2, max_size=3, unique=True)):
        net.output(sink)


def _subgraph(draw, dt: float, width: int) -> tuple[nir.NIRGraph, int]:
    """A graph Input(width) -> 1-2 layers (maybe recurrent, maybe nested again) -> Output."""
    inner = _Net(draw, dt)
    source = inner.input((width,))
    body = inner.layer(source, NEURONS, width=draw(st.integers(1, 4)))
    if draw(st.booleans()):
        n = inner.shapes[body][0]
        rec = inner.add("rec", synapse(draw, n, n), (n,), body)
        inner.edges.append((rec, body))
    if draw(st.integers(0, 3)) == 0:
        sub, n_out = _subgraph(draw, dt, inner.shapes[body][0])
        body = inner.add("sub", sub, (n_out,), body)
    body = inner.chain(body, draw(st.integers(0, 1)))
    inner.output(body)
    return inner.graph(), inner.shapes[body][0]


def _nested(net: _Net) -> None:
    """A subgraph (recurrent inside, sometimes nested twice) between top-level layers; its Output may feed a
    top-level Output directly."""
    draw = net.draw
    pre = net.layer(net.input((draw(st.integers(1, 4)),)), NEURONS, width=draw(st.integers(1, 4)))
    sub, width = _subgraph(draw, net.dt, net.shapes[pre][0])
    block = net.add("block", sub, (width,), pre)
    if draw(st.booleans()):
        net.output(block)
    else:
        net.output(net.chain(block, draw(st.integers(1, 2))))


def _self_loop(net: _Net) -> None:
    """A node whose output feeds itself directly (a neuron, Scale or Delay with a self-edge)."""
    draw = net.draw
    source = net.layer(net.input((draw(st.integers(1, 4)),)), NEURONS, width=draw(st.integers(1, 4)))
    looped = net.layer(source, NEURONS + ("Scale", "Delay"))
    net.edges.append((looped, looped))
    net.output(net.chain(looped, draw(st.integers(0, 1))))


def _loop(net: _Net) -> None:
    """A loop from a neuron back into itself through a Delay, a Scale or a Threshold (and a Linear)."""
    draw = net.draw
    head = net.layer(net.input((draw(st.integers(1, 4)),)), NEURONS, width=draw(st.integers(1, 4)))
    n = net.shapes[head][0]
    via = draw(st.sampled_from(("Delay", "Scale", "Threshold")))
    mid = net.add(via.lower(), elementwise(draw, via, (n,), net.dt), (n,), head)
    if draw(st.booleans()):
        mid = net.add("syn", synapse(draw, n, n), (n,), mid)
    net.edges.append((mid, head))
    net.output(draw(st.sampled_from((head, mid))))


def _conv_size(n: int, k: int, s: int, d: int, pad: int) -> int:
    return (n + 2 * pad - d * (k - 1) - 1) // s + 1


def _conv2d(net: _Net, source: str) -> str:
    """Conv2d with kernel 1-3, stride 1-2, dilation 1-2, int/'same'/'valid' padding, groups."""
    draw = net.draw
    c_in, h, w = net.shapes[source]
    groups = draw(st.sampled_from([g for g in (1, 2, 3) if c_in % g == 0]))
    c_out = groups * draw(st.integers(1, 2))
    k = (draw(st.integers(1, min(3, h))), draw(st.integers(1, min(3, w))))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(st.sampled_from(("int", "same", "valid")))
    s = (1, 1) if padding == "same" else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = (draw(st.integers(0, 2)), draw(st.integers(0, 2))) if padding == "int" else (0, 0)
    if padding == "same":
        out = (h, w)
    else:
        out = tuple(_conv_size(n, kk, ss, dd, p) for n, kk, ss, dd, p in zip((h, w), k, s, d, pad))
    assume(min(out) >= 1)
    node = nir.Conv2d(input_shape=(h, w), weight=_values(draw, (c_out, c_in // groups, *k), -2.0, 2.0), stride=s,
                      padding=padding if padding != "int" else pad, dilation=d, groups=groups,
                      bias=_values(draw, (c_out,), -0.5, 0.5))
    return net.add("conv", node, (c_out, *out), source)


def _pool(net: _Net, source: str) -> str:
    """SumPool2d or AvgPool2d, kernel 1-3, stride 1-2, padding up to half the kernel."""
    draw = net.draw
    c, h, w = net.shapes[source]
    k = (draw(st.integers(1, min(3, h))), draw(st.integers(1, min(3, w))))
    s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    out = tuple((n + 2 * pp - kk) // ss + 1 for n, kk, ss, pp in zip((h, w), k, s, p))
    cls = draw(st.sampled_from((nir.SumPool2d, nir.AvgPool2d)))
    return net.add("pool", cls(kernel_size=np.array(k), stride=np.array(s), padding=np.array(p)), (c, *out), source)


def _conv1d(net: _Net, source: str) -> str:
    """(C, H, W) -> Flatten(1, 2) -> Conv1d -> a neuron."""
    draw = net.draw
    c, h, w = net.shapes[source]
    flat = net.add("flat", nir.Flatten(input_type={"input": np.array([c, h, w])}, start_dim=1, end_dim=2),
                   (c, h * w), source)
    k, s, d, pad = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(0, 2))
    length = _conv_size(h * w, k, s, d, pad)
    assume(length >= 1)
    c_out = draw(st.integers(1, 2))
    node = nir.Conv1d(input_shape=h * w, weight=_values(draw, (c_out, c, k), -2.0, 2.0), stride=s, padding=pad,
                      dilation=d, groups=1, bias=_values(draw, (c_out,), -0.5, 0.5))
    conv = net.add("conv1d", node, (c_out, length), flat)
    return net.layer(conv, NEURONS)


def _conv(net: _Net) -> None:
    """(C, H, W) Input -> a stack of Conv2d / pools / neurons (maybe a Conv1d) -> Flatten -> Affine -> neuron."""
    draw = net.draw
    x = net.input((draw(st.integers(1, 3)), draw(st.integers(2, 7)), draw(st.integers(2, 7))))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(("conv", "pool", "neuron")))
        x = _conv2d(net, x) if op == "conv" else _pool(net, x) if op == "pool" else net.layer(x, NEURONS)
    if draw(st.booleans()):
        x = _conv1d(net, x)
    shape = net.shapes[x]
    flat = net.add("flat", nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1),
                   (math.prod(shape),), x)
    net.output(net.layer(flat, NEURONS, width=draw(st.integers(1, 4))))


def _cuba(net: _Net) -> None:
    """Cuba neurons feeding Cuba neurons: directly (same width) and through a Linear."""
    draw = net.draw
    first = net.layer(net.input((draw(st.integers(1, 4)),)), ("CubaLIF", "CubaLI"), width=draw(st.integers(1, 4)))
    n = net.shapes[first][0]
    kind = draw(st.sampled_from(("CubaLIF", "CubaLI")))
    second = net.add(kind.lower(), neuron(draw, kind, (n,), net.dt), (n,), first)
    third = net.layer(second, ("CubaLIF", "CubaLI"), width=draw(st.integers(1, 4)))
    net.output(third)


BUILD = {"chain": _chain, "reconverge": _reconverge, "multi_io": _multi_io, "nested": _nested,
         "self_loop": _self_loop, "loop": _loop, "conv": _conv, "cuba": _cuba}


# -- strategies ------------------------------------------------------------------------------------
def semantics(dts=DTS) -> st.SearchStrategy[Semantics]:
    """Every method, reset and latency; dt from ``dts``."""
    return st.builds(Semantics, st.sampled_from(dts), st.sampled_from(METHODS), st.sampled_from(RESETS),
                     st.sampled_from(LATENCIES))


@st.composite
def graphs(draw, dt: float = 1e-3, families=FAMILIES) -> nir.NIRGraph:
    """A random valid graph of one of ``families`` whose parameters assume time step ``dt``."""
    net = _Net(draw, dt)
    BUILD[draw(st.sampled_from(families))](net)
    return net.graph()


def _inputs(plan, kind: str, scale: float, batch: int, steps: int, rng: np.random.Generator) -> dict:
    out = {}
    for name in plan.inputs:
        shape = (batch, steps, *plan.out_shapes[name])
        if kind == "uniform":
            out[name] = rng.uniform(0.0, scale, shape)
        elif kind == "normal":
            out[name] = rng.normal(0.0, scale, shape)
        else:
            p = 0.3 if kind == "events" else 0.05
            out[name] = (rng.random(shape) < p) * scale
    return out


def margin(plan, states: dict[str, dict[str, np.ndarray]]) -> tuple[float, float]:
    """(smallest ``|u - threshold|``, largest ``|u|``) over the pre-threshold values ``"u"`` of ``states``."""
    smallest, largest = math.inf, 0.0
    for name, rec in states.items():
        if "u" in rec and rec["u"].size:
            p = plan.params[name]
            thr = p["v_threshold"] if "v_threshold" in p else p["threshold"]
            smallest = min(smallest, float(np.min(np.abs(rec["u"] - thr))))
            largest = max(largest, float(np.max(np.abs(rec["u"]))))
    return smallest, largest


def margin_ok(plan, inputs: dict[str, np.ndarray], dtype: str) -> bool:
    """Whether ``inputs`` keep every pre-threshold value of the reference far enough from its threshold
    and whether rounding cannot move the verdict (see the module docstring)."""
    with np.errstate(all="ignore"):
        outputs, states = simulate(plan, inputs, "float64", record=True, pre_reset=True)
        smallest, largest = margin(plan, states)
        if not all(np.all(np.isfinite(v)) for v in outputs.values()):
            return False
        if not smallest >= MARGINS[dtype] * (1.0 + largest):
            return False
        if dtype == "float32":
            return _rounding_stable(plan, inputs, "float32", "float32", outputs, states)
        return _rounding_stable(plan, inputs, np.longdouble, "float64", outputs, states)
    return True


def _rounding_stable(plan, inputs, other, dtype: str, outputs, states) -> bool:
    """Rounding cannot move the verdict: the reference's run in ``other`` precision (float32; or extended
    precision, for a float64 case) gives the same spikes and outputs and states within a tenth of the
    tolerance of the case's dtype. Another correct simulator rounds differently, and an unstable euler leak
    (tau < dt/2) amplifies any rounding every step."""
    from ..compare import TOLERANCES, raster_mismatches

    out2, states2 = simulate(plan, inputs, other, record=True)
    tol = TOLERANCES[dtype] / 10
    pairs = [(out2[n], outputs[n], plan.output_is_spikes(n)) for n in outputs]
    pairs += [(states2[n][k], v, False) for n, s in states.items() for k, v in s.items() if k != "u"]
    for a, b, raster in pairs:
        if raster and raster_mismatches(a, b):
            return False
        if not raster and not np.all(np.abs(a.astype(np.longdouble) - b) <= tol * (1 + np.abs(b))):
            return False
    return True


def simulate(plan, inputs, dtype, record: bool = False, pre_reset: bool = False):
    """The reference simulator (imported here, not at module import)."""
    from ..reference import simulate as reference

    return reference(plan, inputs, dtype, record=record, pre_reset=pre_reset)


@st.composite
def fuzz_cases(draw, families=FAMILIES, dtypes=("float64", "float32"), max_steps: int = 30,
               max_batch: int = 2) -> FuzzCase:
    """A graph, margin-checked inputs, a semantics and a dtype (see the module docstring)."""
    from ..graph import prepare

    sem = draw(semantics())
    family = draw(st.sampled_from(families))
    graph = draw(graphs(sem.dt, (family,)))
    dtype = draw(st.sampled_from(dtypes))
    plan = prepare(graph, sem)
    kind, scale = draw(st.sampled_from(INPUT_KINDS)), draw(st.sampled_from((0.5, 1.0, 2.0, 5.0)))
    batch, steps = draw(st.integers(1, max_batch)), draw(st.integers(1, max_steps))
    seed = draw(st.integers(0, 2**32 - 1))
    for attempt in range(8):
        inputs = _inputs(plan, kind, scale, batch, steps, np.random.default_rng([seed, attempt]))
        if margin_ok(plan, inputs, dtype):
            return FuzzCase(graph, inputs, sem, dtype, family, {"input": kind, "scale": scale, "seed": seed})
    assume(False)
    raise AssertionError("unreachable")


# -- nesting ---------------------------------------------------------------------------------------
def flat_twin(graph: nir.NIRGraph) -> nir.NIRGraph:
    """The same graph with every subgraph inlined (nodes renamed ``<sub>_<node>``, inner Input/Output
    pass-throughs contracted away), which the semantics says behaves exactly as ``graph``."""
    nodes, edges = _inline(graph, "")
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _inline(graph: nir.NIRGraph, prefix: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    entries: dict[str, list[str]] = {}  # subgraph name -> the flat nodes its Input feeds
    exits: dict[str, list[str]] = {}  # subgraph name -> the flat nodes feeding its Output
    for name, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            inner_nodes, inner_edges = _inline(node, f"{prefix}{name}_")
            port_in = next(n for n, v in node.nodes.items() if isinstance(v, nir.Input))
            port_out = next(n for n, v in node.nodes.items() if isinstance(v, nir.Output))
            entries[name] = _through(inner_edges, f"{prefix}{name}_{port_in}", forward=True)
            exits[name] = _through(inner_edges, f"{prefix}{name}_{port_out}", forward=False)
            ports = {f"{prefix}{name}_{port_in}", f"{prefix}{name}_{port_out}"}
            nodes |= {k: v for k, v in inner_nodes.items() if k not in ports}
            edges += [(s, t) for s, t in inner_edges if s not in ports and t not in ports]
        else:
            nodes[prefix + name] = node
    for src, dst in graph.edges:
        for s in exits.get(src, [prefix + src]):
            for t in entries.get(dst, [prefix + dst]):
                edges.append((s, t))
    return nodes, edges


def _through(edges: list[tuple[str, str]], port: str, forward: bool) -> list[str]:
    """The nodes an inner Input feeds (``forward``) or that feed an inner Output."""
    return [t for s, t in edges if s == port] if forward else [s for s, t in edges if t == port]
