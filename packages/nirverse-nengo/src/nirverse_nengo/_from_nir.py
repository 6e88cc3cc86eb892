r"""NIR -> Nengo: one mapper per NIR node type, building a :class:`NIRNetwork` from a core ``Plan``.

Values travel as flat (C-order) vectors, so NIR shapes ``(C, H, W)`` map to Nengo sizes
``C*H*W`` and ``Flatten`` is free. Edges are ``nengo.Connection`` objects with ``synapse=None``
(Nengo delivers those in the same step); a *delayed* edge of the plan (back-edge, or every edge
leaving a neuron under ``latency="one-step"``) gets the synapse
``LinearFilter([1], [1], analog=False)``: the builder (``nengo/builder/connection.py::
build_connection``) runs a connection's synapse in ``mode="update"``, so its output in step t is
``1.0 * x_{t-1}`` and 0 at t = 0 -- exactly the plan's delayed edge. Values on several edges into a
node are summed by Nengo (a node's or neurons' input signal is incremented by every connection).

==============  ======================================  =============================================
NIR node        Nengo construct                         parameters (NIR field -> Nengo)
==============  ======================================  =============================================
Input           ``Node(output=Feed)``                   one row of the input per step (t = n dt)
Output          ``Probe(source, synapse=None)``         the source's value in every step
Affine          ``Connection(transform=Dense(W))``      weight -> ``W`` (out x in); bias ->
                                                        the target ensemble's ``bias`` (or a
                                                        constant ``Node(output=b)``)
Linear          ``Connection(transform=Dense(W))``      weight -> ``W``
Scale           ``Connection(transform=s)``             scale -> elementwise transform ``s``
Conv1d/2d       ``Connection(transform=Convolution)``   weight (C_out, C_in/g, *K) -> ``init``
                                                        (*K, C_in/g, C_out); stride -> ``strides``;
                                                        groups; ``channels_last=False``; padding ->
                                                        ``"valid"``/``"same"`` where PyTorch's pads
                                                        give the same windows as Nengo's (TF-style)
                                                        ``calc_pad``, else ``Sparse`` (the exact
                                                        cross-correlation as a sparse matrix; also
                                                        for dilation != 1); bias per channel
SumPool2d       ``Convolution(groups=C)``, kernel 1     depthwise; ``Sparse`` where the padding is
AvgPool2d       same, kernel ``1/(kh*kw)``              not Nengo-expressible
Flatten         none (the flat vector is unchanged)
Threshold       ``Node(output=_Heaviside(theta))``      threshold -> ``theta``: ``1[x > theta]``
Delay           ``Connection(synapse=LinearFilter(      delay -> k = round(delay/dt) per element;
                [1], [1]+[0]*k, analog=False))``        one connection per distinct k (see
                                                        :func:`delay_synapse`)
I, LI, IF,      ``Ensemble(neuron_type=...)`` of        see ``_nodes`` (per-neuron arrays as
LIF, CubaLI,    this package's ``NeuronType``           given, ``method``/``reset`` from the
CubaLIF         subclasses; ``gain=1``, ``bias=0``      semantics, ``amplitude=dt``); edges connect
                                                        to ``ensemble.neurons``
LIF (special)   ``nengo.LIF(tau_rc=tau, tau_ref=0,      when method="exp", reset="value", uniform
                min_voltage=-inf, amplitude=dt)``       tau, v_threshold = 1, v_reset = 0,
                                                        v_leak = 0 and kappa < 0.99, in float64;
                                                        r -> ``gain``, initial voltage 0
==============  ======================================  =============================================

Why ``nengo.LIF`` is exact there (``nengo/neurons.py::LIF.step``): with ``tau_ref = 0`` the
refractory time after a spike is the spike time ``t_s <= dt`` (next step ``dt - (t_s - dt) >= dt``
is clipped to ``dt``), so every step integrates ``v -= (J - v) * expm1(-dt/tau)``, i.e.
``v + (r x - v) kappa`` with ``J = 0 + r x`` -- the reference's ``v + kappa (0 - v + r x)``
bit for bit for a given x (with several incoming edges Nengo applies the gain per edge,
``r x1 + r x2``: equal up to rounding); ``spiked = v > 1``; ``v = 0`` after a spike; ``min_voltage=-inf`` disables clipping.
``t_s`` is finite or -inf because a spiking membrane satisfies ``1 < v <= J`` (``v`` moves from
below 1 towards ``J`` by a factor ``kappa < 0.99``, and rounding is monotone). In float32
``nengo.LIF`` would evaluate ``expm1`` in float32, so float32 models keep the NeuronType, which
rounds the float64 factor as the reference does.

Bit-level note: matrix products (Nengo's per-step ``W @ x`` vs the reference's batched product) and
sums over several edges may round differently; the measured gap is ~1e-14, far inside the 1e-9
tolerance of the semantics note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import nengo
import numpy as np
from nirverse.errors import UnsupportedNodeError
from nirverse.graph import Plan

from ._levels import uses_native_lif
from ._nodes import NEURON_TYPES

__all__ = ["NIRNetwork", "Feed", "one_step", "delay_synapse", "uses_native_lif"]

LINEAR_TYPES = frozenset({"Affine", "Linear", "Scale", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d"})
IDENTITY_TYPES = frozenset({"Flatten", "Pass"})


def one_step() -> nengo.synapses.LinearFilter:
    """The synapse of a delayed edge: y_t = x_{t-1} (0 at t = 0)."""
    return nengo.synapses.LinearFilter([1.0], [1.0], analog=False)


def delay_synapse(k: int) -> nengo.synapses.LinearFilter | None:
    """A k-step delay: the discrete transfer function z^-k (``[1], [1, 0, ..., 0]``).

    Nengo realises it without a passthrough (``LinearFilter.NoD``: x_t = A x_{t-1} + B u_t,
    y_t = C x_t, so z^-k alone delays k-1 steps); the update mode adds the k-th. k = 1 is
    :func:`one_step`; every coefficient is 0 or 1, so the values are copied exactly.
    """
    if k == 0:
        return None
    if k == 1:
        return one_step()
    return nengo.synapses.LinearFilter([1.0], [1.0] + [0.0] * k, analog=False)


class Feed:
    """A Node output: row ``round(t/dt) - 1`` of ``data`` (time, size); zeros before data is set."""

    def __init__(self, size: int, dt: float) -> None:
        self.size, self.dt = size, dt
        self.data: np.ndarray | None = None
        self._zeros = np.zeros(size)

    def __call__(self, t: float) -> np.ndarray:
        data = self.data
        i = int(round(t / self.dt)) - 1
        if data is None or not 0 <= i < len(data):
            return self._zeros
        return data[i]


@dataclass
class _End:
    """How a node's output is read: Nengo object plus a transform and bias not yet applied."""

    obj: Any
    transform: Any = None
    bias: np.ndarray | None = None

    @property
    def pending(self) -> bool:
        return self.transform is not None or self.bias is not None


class NIRNetwork(nengo.Network):
    """A Nengo network built from a NIR graph under a semantics.

    ``input_nodes`` {Input name: Node}, ``feeds`` {Input name: :class:`Feed`} (or call
    :meth:`set_input` before running), ``output_probes`` {Output name: Probe},
    ``neuron_ensembles`` {neuron node: Ensemble}, ``constructs`` {node: its Nengo parameters};
    :meth:`probe_states` adds voltage/current probes. ``native_lif=False`` keeps every LIF node on
    this package's NeuronType (used for float32, where ``nengo.LIF`` would compute its leak factor
    in float32 instead of rounding the float64 one).
    """

    def __init__(self, plan: Plan, label: str | None = None, seed: int | None = 0, native_lif: bool = True) -> None:
        super().__init__(label=label or "nirverse", seed=seed)
        self.plan = plan
        self.native_lif = native_lif
        self.input_nodes: dict[str, nengo.Node] = {}
        self.feeds: dict[str, Feed] = {}
        self.output_probes: dict[str, nengo.Probe] = {}
        self.neuron_ensembles: dict[str, nengo.Ensemble] = {}
        self.state_probes: dict[str, dict[str, nengo.Probe]] = {}
        #: NIR node -> the Nengo constructs carrying its parameters (read back by ``to_nir``)
        self.constructs: dict[str, dict[str, Any]] = {}
        self._ends: dict[str, _End] = {}
        self._materialized: dict[int, Any] = {}
        with self:
            _Builder(self).build()

    def set_input(self, name: str, data: np.ndarray) -> None:
        """Feed ``data`` (time, *shape) to Input ``name`` in the next run."""
        self.feeds[name].data = np.asarray(data, dtype=np.float64).reshape(len(data), -1)

    def probe_states(self) -> dict[str, dict[str, nengo.Probe]]:
        """Probes of every neuron node's state after each step ("voltage", and "current" for Cuba)."""
        if not self.state_probes:
            with self:
                for name, ens in self.neuron_ensembles.items():
                    keys = ("voltage", "current") if self.plan.types[name].startswith("Cuba") else ("voltage",)
                    self.state_probes[name] = {k: nengo.Probe(ens.neurons, k, synapse=None) for k in keys}
        return self.state_probes


class _Builder:
    """Walks the plan in evaluation order; every mapper returns the node's :class:`_End`."""

    def __init__(self, net: NIRNetwork) -> None:
        self.net = net
        self.plan = net.plan
        self.dt = net.plan.semantics.dt
        self.deferred: list = []
        self.outdeg = {n: 0 for n in self.plan.order}
        for e in self.plan.edges:
            self.outdeg[e.source] += 1

    # -- helpers ----------------------------------------------------------------------------
    def size(self, name: str, out: bool = True) -> int:
        return int(math.prod((self.plan.out_shapes if out else self.plan.in_shapes)[name]))

    def materialize(self, end: _End) -> Any:
        """A Nengo object carrying ``end``'s value (a passthrough Node when something is pending)."""
        if not end.pending:
            return end.obj
        key = id(end)
        if key not in self.net._materialized:
            size = end.transform.size_out if end.transform is not None else end.bias.size
            node = nengo.Node(size_in=size, label="value")
            self.connect(end, node, delayed=False)
            self.net._materialized[key] = node
        return self.net._materialized[key]

    def connect(self, end: _End, target: Any, delayed: bool) -> None:
        """Connect ``end`` into ``target`` (its pending transform on the connection, its bias from a
        constant Node); a delayed edge gets the one-step synapse on both."""
        synapse = one_step() if delayed else None
        transform = end.transform if end.transform is not None else nengo.params.Default
        nengo.Connection(end.obj, target, transform=transform, synapse=synapse)
        if end.bias is not None:
            nengo.Connection(nengo.Node(output=end.bias, label="bias"), target, synapse=synapse)

    def connect_edge(self, edge: Any, target: Any) -> None:
        """Connect a plan edge now, or after the walk when its source comes later (a back-edge)."""
        if edge.source in self.net._ends:
            self.connect(self.net._ends[edge.source], target, edge.delayed)
        else:
            self.deferred.append((edge, target))

    def gather(self, name: str) -> Any:
        """One object holding the sum of the node's inputs (a passthrough Node for several edges)."""
        edges = self.plan.incoming[name]
        if len(edges) == 1 and not edges[0].delayed:
            return self.materialize(self.net._ends[edges[0].source])
        node = nengo.Node(size_in=self.size(name, out=False), label=f"{name}.in")
        for e in edges:
            self.connect_edge(e, node)
        return node

    # -- walk -------------------------------------------------------------------------------
    def build(self) -> None:
        plan = self.plan
        for name in plan.order:
            kind = plan.types[name]
            if kind == "Input":
                self.net._ends[name] = self.input(name)
            elif kind == "Output":
                continue
            elif kind in IDENTITY_TYPES:
                edges = plan.incoming[name]
                if len(edges) == 1 and not edges[0].delayed:
                    self.net._ends[name] = self.net._ends[edges[0].source]
                else:
                    self.net._ends[name] = _End(self.gather(name))
            elif kind in LINEAR_TYPES:
                self.net._ends[name] = self.linear(name, kind)
            elif kind in NEURON_TYPES:
                self.net._ends[name] = self.neurons(name, kind)
            elif kind == "Threshold":
                self.net._ends[name] = self.threshold(name)
            elif kind == "Delay":
                self.net._ends[name] = self.delay(name)
            else:  # pragma: no cover - check_support refuses it first
                raise UnsupportedNodeError(f"no Nengo mapping for {kind}", node=name, field="type")
        for edge, target in self.deferred:  # back-edges: their sources exist now
            self.connect(self.net._ends[edge.source], target, edge.delayed)
        for name in plan.outputs:
            self.output(name)

    def input(self, name: str) -> _End:
        feed = Feed(self.size(name), self.dt)
        node = nengo.Node(output=feed, size_out=feed.size, label=name)
        self.net.input_nodes[name], self.net.feeds[name] = node, feed
        return _End(node)

    def output(self, name: str) -> None:
        self.net.output_probes[name] = nengo.Probe(self.gather(name), synapse=None, label=name)

    def linear(self, name: str, kind: str) -> _End:
        p = self.plan.params[name]
        transform, bias = _transform(kind, p, self.plan.in_shapes[name], self.plan.out_shapes[name])
        self.net.constructs[name] = {"transform": transform, "bias": bias}
        source = self.gather(name)
        end = _End(source, transform, bias)
        if self.outdeg[name] == 1:  # applied on the one outgoing connection, as a hand-written model would
            return end
        return _End(self.materialize(end))

    def neurons(self, name: str, kind: str) -> _End:
        p = self.plan.params[name]
        n = self.size(name)
        flat = {k: v.reshape(-1) for k, v in p.items()}
        semantics = self.plan.semantics
        gain = np.ones(n)
        if self.net.native_lif and uses_native_lif(kind, p, semantics):
            neuron_type = nengo.LIF(
                tau_rc=float(flat["tau"][0]),
                tau_ref=0.0,
                min_voltage=-np.inf,
                amplitude=self.dt,
                initial_state={"voltage": np.zeros(n), "refractory_time": np.zeros(n)},
            )
            gain = flat["r"].copy()
        else:
            cls = NEURON_TYPES[kind]
            init = {"voltage": flat["v_leak"] if cls.leaky else np.zeros(n)}
            if cls.cuba:
                init["current"] = np.zeros(n)
            extra = {"reset": semantics.reset} if cls.spiking else {}
            neuron_type = cls(
                method=semantics.method,
                amplitude=self.dt,
                initial_state=init,
                **extra,
                **{f: flat[f] for f in cls.fields},
            )
        bias = np.zeros(n)
        edges = self.plan.incoming[name]
        # an Affine feeding only this node through a same-step edge: its bias is the ensemble's
        # bias (J = b + W x); exact when the gain is 1 (our types apply r inside the step)
        fold = None
        if len(edges) == 1 and not edges[0].delayed and np.all(gain == 1.0):
            source_end = self.net._ends.get(edges[0].source)
            if source_end is not None and source_end.bias is not None:
                fold = source_end
        if fold is not None:
            bias = fold.bias.copy()
        ens = nengo.Ensemble(
            n,
            1,
            neuron_type=neuron_type,
            gain=gain,
            bias=bias,
            encoders=np.ones((n, 1)),
            label=name,
        )
        self.net.neuron_ensembles[name] = ens
        self.net.constructs[name] = {"ensemble": ens}
        if fold is not None:
            nengo.Connection(fold.obj, ens.neurons, transform=fold.transform, synapse=None)
        else:
            for e in edges:
                self.connect_edge(e, ens.neurons)
        return _End(ens.neurons)

    def threshold(self, name: str) -> _End:
        theta = self.plan.params[name]["threshold"].reshape(-1).copy()
        self.net.constructs[name] = {"threshold": theta}
        node = nengo.Node(output=_Heaviside(theta), size_in=theta.size, size_out=theta.size, label=name)
        for e in self.plan.incoming[name]:
            self.connect_edge(e, node)
        return _End(node)

    def delay(self, name: str) -> _End:
        steps = self.plan.params[name]["steps"].reshape(-1)
        source = self.gather(name)
        node = nengo.Node(size_in=steps.size, label=name)
        for k in np.unique(steps):
            idx = np.flatnonzero(steps == k)
            whole = idx.size == steps.size
            nengo.Connection(
                source if whole else source[idx], node if whole else node[idx], synapse=delay_synapse(int(k))
            )
        return _End(node)


class _Heaviside:
    """Node function 1[x > theta], with theta rounded to the simulator's dtype (as the reference does)."""

    def __init__(self, theta: np.ndarray) -> None:
        self.theta = theta
        self._cast: dict = {}

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        theta = self._cast.get(x.dtype)
        if theta is None:
            theta = self._cast[x.dtype] = self.theta.astype(x.dtype)
        return (x > theta).astype(x.dtype)


def _transform(kind: str, p: dict, in_shape: tuple, out_shape: tuple):
    """(Nengo transform, flat bias or None) of a linear NIR node."""
    if kind == "Affine":
        return nengo.Dense(p["weight"].shape, init=p["weight"]), p["bias"].copy()
    if kind == "Linear":
        return nengo.Dense(p["weight"].shape, init=p["weight"]), None
    if kind == "Scale":
        scale = np.broadcast_to(p["scale"], in_shape).reshape(-1)
        return nengo.Dense((scale.size, scale.size), init=scale), None  # a 1-d init is elementwise
    from ._conv import conv_transform, pool_transform

    if kind in ("Conv1d", "Conv2d"):
        transform = conv_transform(p, in_shape, out_shape)
        spatial = math.prod(out_shape[1:])
        bias = np.repeat(p["bias"], spatial)
        return transform, (bias if np.any(bias != 0.0) else None)
    return pool_transform(kind, p, in_shape, out_shape), None
