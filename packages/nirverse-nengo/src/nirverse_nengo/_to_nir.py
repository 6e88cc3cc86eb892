r"""Nengo -> NIR: ``to_nir(network_or_simulator, semantics)``.

A :class:`~nirverse_nengo._from_nir.NIRNetwork` is read back node by node from its Nengo
constructs (neuron types' parameter arrays or ``nengo.LIF``'s ``tau_rc`` and the ensemble ``gain``,
``Dense``/``Convolution`` ``init`` arrays, biases) into the original graph structure, so
NIR -> Nengo -> NIR returns the same parameters (broadcast to each node's shape). Paddings and
dilations are taken from the source graph: Nengo's ``"same"``/``"valid"`` strings do not carry them.

Any other Nengo network (or a built ``nengo.Simulator``, whose built parameters are then used) is
exported from its built model (``nengo.builder.Model``; give the network a ``seed`` so encoders,
gains and decoders are the ones your simulator uses):

+------------------------------------------+---------------------------------------------------------------------+
| Nengo                                    | NIR                                                                 |
+==========================================+=====================================================================+
| Node, no input, callable                 | ``Input`` (shape ``(size_out,)``)                                   |
+------------------------------------------+---------------------------------------------------------------------+
| Node, passthrough                        | ``Scale(1)`` (a sum of its inputs)                                  |
+------------------------------------------+---------------------------------------------------------------------+
| Ensemble of ``nengo.LIF``                | ``LIF(tau=tau_rc, r=1, v_leak=0, v_threshold=1, v_reset=0)``; needs |
|                                          | ``tau_ref=0``, ``min_voltage=-inf``, initial voltage 0,             |
|                                          | method="exp", reset="value" (see ``_from_nir`` for why this is      |
|                                          | exact); the built ``bias`` and ``scaled_encoders`` (gain and radius |
|                                          | folded in) become ``Affine(scaled_encoders, bias)`` in front of it  |
+------------------------------------------+---------------------------------------------------------------------+
| Ensemble of                              | ``IF(r=1, v_threshold=1, v_reset=0)`` under reset="subtract";       |
| ``SpikingRectifiedLinear``               | Nengo rectifies J, spikes at ``v >= 1`` and may emit several        |
|                                          | spikes per step: identical while ``0 <= J < 1/dt`` and v never      |
|                                          | lands exactly on 1 (``tests/test_to_nir.py`` measures the rest)     |
+------------------------------------------+---------------------------------------------------------------------+
| Connection                               | ``Linear(W)`` with W the built weights (decoders folded in for a    |
|                                          | decoded connection), times ``amplitude/dt`` after spiking           |
|                                          | neurons (Nengo's spike height), slices embedded with zeros;         |
|                                          | into ``ens.neurons`` followed by ``Scale(gain)`` (Nengo applies the |
|                                          | gain after the weights); ``Convolution`` -> ``Conv1d``/``Conv2d``   |
+------------------------------------------+---------------------------------------------------------------------+
| synapse ``None``                         | a plain edge (same step)                                            |
+------------------------------------------+---------------------------------------------------------------------+
| synapse                                  | ``Delay(dt)`` (one step)                                            |
| ``LinearFilter([1], [1], analog=False)`` |                                                                     |
+------------------------------------------+---------------------------------------------------------------------+
| Probe (``synapse=None``)                 | ``Output``; a neurons probe gives unit spikes (Nengo's value times  |
|                                          | ``dt/amplitude``), a decoded probe a ``Linear(decoders)``           |
+------------------------------------------+---------------------------------------------------------------------+

Everything else (Python-function nodes, other neuron types or synapses, random initial states,
refractory periods, channels-last convolutions) raises ``UnsupportedNodeError`` naming the object.
The semantics is stored in the graph's metadata (``Semantics.to_metadata``).
"""

from __future__ import annotations

import math
import re
from typing import Any

import nengo
import nir
import numpy as np
from nirverse.errors import UnsupportedNodeError, UnsupportedSemanticsError
from nirverse.semantics import Semantics

from ._from_nir import NIRNetwork
from ._nodes import NIRNeuronType

__all__ = ["to_nir"]


def to_nir(network: Any, semantics: Semantics) -> nir.NIRGraph:
    """Export a Nengo network (or a ``nengo.Simulator`` built from one) as a NIR graph."""
    if not isinstance(semantics, Semantics):
        raise UnsupportedSemanticsError(
            f"got {type(semantics).__name__}", field="semantics", expected="a nirverse.Semantics"
        )
    model = None
    if isinstance(network, nengo.Simulator):
        model, network = network.model, network.model.toplevel
    if isinstance(network, NIRNetwork):
        return _round_trip(network, semantics)
    if not isinstance(network, nengo.Network):
        raise UnsupportedNodeError(
            f"got {type(network).__name__}", field="network", expected="a nengo.Network or Simulator"
        )
    return _Exporter(network, semantics, model).graph()


# -- NIRNetwork: read every node back from its Nengo constructs ---------------------------------
def _neuron_node(kind: str, ens: nengo.Ensemble, shape: tuple, gain: np.ndarray) -> nir.NIRNode:
    t = ens.neuron_type
    if isinstance(t, NIRNeuronType):
        values = {f: np.asarray(getattr(t, f), dtype=np.float64).reshape(shape) for f in t.fields}
    else:  # nengo.LIF, see _from_nir.uses_native_lif
        ones = np.ones(shape)
        values = {
            "tau": np.full(shape, float(t.tau_rc)),
            "r": np.asarray(gain, dtype=np.float64).reshape(shape),
            "v_leak": 0 * ones,
            "v_threshold": ones,
            "v_reset": 0 * ones,
        }
    return getattr(nir, kind)(**values)


def _linear_node(kind: str, p: dict, built: dict, in_shape: tuple, original: Any) -> nir.NIRNode:
    transform, bias = built["transform"], built["bias"]
    if kind in ("Affine", "Linear"):
        weight = np.array(transform.init, dtype=np.float64)
        return nir.Affine(weight, np.array(bias)) if kind == "Affine" else nir.Linear(weight)
    if kind == "Scale":
        return nir.Scale(np.array(transform.init, dtype=np.float64).reshape(in_shape))
    if kind in ("Conv1d", "Conv2d"):
        if isinstance(transform, nengo.Convolution):
            dims = len(transform.kernel_size)
            weight = np.transpose(np.asarray(transform.init), (dims + 1, dims) + tuple(range(dims)))
            stride = tuple(int(s) for s in transform.strides)
            groups = int(transform.groups)
        else:  # the Sparse form keeps no kernel layout: the validated parameters
            weight, stride, groups = p["weight"], p["stride"], p["groups"]
        one = (lambda v: v[0]) if kind == "Conv1d" else tuple
        return getattr(nir, kind)(
            input_shape=original.input_shape,
            weight=np.array(weight, dtype=np.float64),
            stride=one(stride),
            padding=p["padding"] if isinstance(p["padding"], str) else one(p["padding"]),
            dilation=one(p["dilation"]),
            groups=groups,
            bias=np.array(p["bias"]),
        )
    if isinstance(transform, nengo.Convolution):  # pools
        kernel, stride = np.array(transform.kernel_size), np.array(transform.strides)
    else:
        kernel, stride = np.array(p["kernel_size"]), np.array(p["stride"])
    return getattr(nir, kind)(kernel_size=kernel, stride=stride, padding=np.array(p["padding"]))


def _round_trip(net: NIRNetwork, semantics: Semantics) -> nir.NIRGraph:
    plan = net.plan
    if semantics != plan.semantics:
        raise UnsupportedSemanticsError(
            f"the network was built for {plan.semantics}", field="semantics", expected="the same semantics"
        )
    exported: dict[str, nir.NIRNode] = {}
    for name, kind in plan.types.items():
        built = net.constructs.get(name)
        if built is None:  # Input, Output, Flatten, Delay, Pass: no parameters to read back
            continue
        if "ensemble" in built:
            ens = built["ensemble"]
            exported[name] = _neuron_node(kind, ens, plan.out_shapes[name], ens.gain)
        elif "threshold" in built:
            exported[name] = nir.Threshold(built["threshold"].reshape(plan.out_shapes[name]).copy())
        else:
            exported[name] = _linear_node(kind, plan.params[name], built, plan.in_shapes[name], plan.nodes[name])

    def rebuild(graph: nir.NIRGraph, prefix: str) -> nir.NIRGraph:
        nodes = {}
        for key, node in graph.nodes.items():
            if isinstance(node, nir.NIRGraph):
                nodes[key] = rebuild(node, prefix + key + ".")
            else:
                nodes[key] = exported.get(prefix + key, node)
        return nir.NIRGraph(nodes=nodes, edges=list(graph.edges), metadata=dict(graph.metadata or {}), type_check=False)

    graph = rebuild(plan.graph, "")
    graph.metadata.update(semantics.to_metadata())
    return graph


# -- any Nengo network ---------------------------------------------------------------------------
def _one_step(synapse: Any) -> bool:
    if not isinstance(synapse, nengo.synapses.LinearFilter) or synapse.analog:
        return False
    num, den = np.atleast_1d(synapse.num), np.atleast_1d(synapse.den)
    return num.shape == (1,) and den.shape == (1,) and num[0] == den[0] != 0


class _Exporter:
    def __init__(self, network: nengo.Network, semantics: Semantics, model: Any) -> None:
        self.net, self.sem = network, semantics
        if model is None:
            model = nengo.builder.Model(dt=semantics.dt)
            model.build(network)
        elif not math.isclose(model.dt, semantics.dt, rel_tol=1e-12):
            raise UnsupportedSemanticsError(f"the simulator runs dt={model.dt}", field="dt", expected=f"{semantics.dt}")
        self.model = model
        self.nodes: dict[str, nir.NIRNode] = {}
        self.edges: list[tuple[str, str]] = []
        self.names: dict[int, str] = {}
        self.first_input: str | None = None
        #: input Nodes feeding a Convolution get its (C, *spatial) shape; their other edges a Flatten
        self.shapes: dict[str, tuple[int, ...]] = {}

    def name(self, obj: Any, prefix: str) -> str:
        if id(obj) not in self.names:
            base = re.sub(r"[^A-Za-z0-9_]", "_", obj.label) if getattr(obj, "label", None) else prefix
            candidate, i = base, 0
            while candidate in self.nodes or candidate in self.names.values():
                i += 1
                candidate = f"{base}_{i}"
            self.names[id(obj)] = candidate
        return self.names[id(obj)]

    def add(self, name: str, node: nir.NIRNode) -> str:
        self.nodes[name] = node
        return name

    def graph(self) -> nir.NIRGraph:
        for i, node in enumerate(self.net.all_nodes):
            self.node(node, i)
        for conn in self.net.all_connections:
            if isinstance(conn.transform, nengo.Convolution):
                self.conv_input(conn)
        for i, ens in enumerate(self.net.all_ensembles):
            self.ensemble(ens, i)
        for i, conn in enumerate(self.net.all_connections):
            self.connection(conn, i)
        for i, probe in enumerate(self.net.all_probes):
            self.probe(probe, i)
        self.bias_sources()
        graph = nir.NIRGraph(nodes=self.nodes, edges=self.edges, metadata=self.sem.to_metadata(), type_check=False)
        return graph

    def node(self, node: nengo.Node, i: int) -> None:
        name = self.name(node, f"node{i}")
        if node.size_in == 0 and (callable(node.output) or isinstance(node.output, nengo.Process)):
            self.add(name, nir.Input(input_type={"input": np.array([node.size_out])}))
            self.first_input = self.first_input or name
        elif node.output is None:
            self.add(name, nir.Scale(np.ones(node.size_in)))
        else:
            raise UnsupportedNodeError(
                "a constant or Python-function Node has no NIR equivalent",
                node=name,
                field="output",
                expected="an input Node (no input, callable output) or a passthrough Node",
            )

    def ensemble(self, ens: nengo.Ensemble, i: int) -> None:
        name = self.name(ens, f"ensemble{i}")
        t, n = ens.neuron_type, ens.n_neurons
        built = self.model.params[ens]
        signals = self.model.sig[ens.neurons]
        if type(t) not in (nengo.LIF, nengo.SpikingRectifiedLinear):
            raise UnsupportedNodeError(
                f"neuron type {type(t).__name__}",
                node=name,
                field="neuron_type",
                expected="nengo.LIF or nengo.SpikingRectifiedLinear",
            )
        if np.any(np.asarray(signals["voltage"].initial_value) != 0):
            raise UnsupportedNodeError(
                "the initial voltage is not 0 (Nengo draws it at random by default); NIR neurons start at rest",
                node=name,
                field="initial_state",
                expected="initial_state={'voltage': nengo.dists.Choice([0])}",
            )
        self.add(name, self.lif(t, n, name) if type(t) is nengo.LIF else self.spiking_relu(n, name))
        enc = self.add(
            f"{name}_encoders",
            nir.Affine(np.array(built.scaled_encoders, dtype=np.float64), np.array(built.bias, dtype=np.float64)),
        )
        self.edges.append((enc, name))

    def lif(self, t: nengo.LIF, n: int, name: str) -> nir.LIF:
        """``nengo.LIF(tau_ref=0, min_voltage=-inf)``: NIR's LIF with r = 1, v_threshold = 1, resets to 0."""
        if t.tau_ref != 0 or t.min_voltage != -np.inf:
            raise UnsupportedNodeError(
                f"tau_ref={t.tau_ref}, min_voltage={t.min_voltage}",
                node=name,
                field="tau_ref",
                expected="nengo.LIF(tau_ref=0, min_voltage=-np.inf): NIR has no refractory period or clipping",
            )
        if self.sem.method != "exp" or self.sem.reset != "value":
            raise UnsupportedSemanticsError(
                f"nengo.LIF integrates exactly and resets to 0; got {self.sem}",
                node=name,
                field="method",
                expected="method='exp', reset='value'",
            )
        if -math.expm1(-self.sem.dt / t.tau_rc) >= 0.99:
            raise UnsupportedNodeError(
                f"dt/tau_rc = {self.sem.dt / t.tau_rc}",
                node=name,
                field="tau_rc",
                expected="1 - exp(-dt/tau_rc) < 0.99",
            )
        return nir.LIF(
            tau=np.full(n, float(t.tau_rc)),
            r=np.ones(n),
            v_leak=np.zeros(n),
            v_threshold=np.ones(n),
            v_reset=np.zeros(n),
        )

    def spiking_relu(self, n: int, name: str) -> nir.IF:
        """``nengo.SpikingRectifiedLinear``: NIR's IF with r = 1, v_threshold = 1, subtracting its threshold."""
        if self.sem.reset != "subtract":
            raise UnsupportedSemanticsError(
                "SpikingRectifiedLinear subtracts its threshold",
                node=name,
                field="reset",
                expected="reset='subtract'",
            )
        return nir.IF(r=np.ones(n), v_threshold=np.ones(n), v_reset=np.zeros(n))

    def bias_sources(self) -> None:
        """An encoder Affine without decoded inputs still adds the bias: feed it zeros from an Input."""
        targets = {t for _, t in self.edges}
        for name, node in list(self.nodes.items()):
            if name.endswith("_encoders") and name not in targets:
                if self.first_input is None:
                    raise UnsupportedNodeError("the network has no input Node", node=name, field="bias")
                size = int(np.asarray(self.nodes[self.first_input].input_type["input"]).prod())
                zero = self.add(f"{name}_zero", nir.Linear(np.zeros((node.weight.shape[1], size))))
                self.edges += [(self.flat(self.first_input), zero), (zero, name)]

    def conv_input(self, conn: nengo.Connection) -> None:
        """Give the input Node of a convolution NIR's (C, *spatial) shape (Nengo's values are flat)."""
        name = self.names.get(id(conn.pre_obj))
        shape = tuple(int(v) for v in conn.transform.input_shape.shape)
        if name is None or not isinstance(self.nodes.get(name), nir.Input) or self.shapes.get(name, shape) != shape:
            raise UnsupportedNodeError(
                "a Convolution whose input is not an input Node",
                node=getattr(conn, "label", None) or str(conn),
                field="transform",
                expected="nengo.Convolution from an input Node (NIR needs the (C, H, W) shape)",
            )
        self.shapes[name] = shape
        self.nodes[name] = nir.Input(input_type={"input": np.array(shape)})

    def source(self, obj: Any, flat: bool = True) -> tuple[str, float]:
        """The NIR node carrying ``obj``'s output and the factor turning unit spikes into Nengo's."""
        if isinstance(obj, nengo.ensemble.Neurons):
            obj = obj.ensemble
        if isinstance(obj, nengo.Ensemble):
            t = obj.neuron_type
            return self.names[id(obj)], (t.amplitude / self.sem.dt if t.spiking else 1.0)
        name = self.names[id(obj)]
        return (self.flat(name) if flat else name), 1.0

    def flat(self, name: str) -> str:
        """``name``, or a Flatten of it when it carries a (C, *spatial) shape."""
        if name not in self.shapes:
            return name
        flat_name = f"{name}_flat"
        if flat_name not in self.nodes:
            self.add(flat_name, nir.Flatten({"input": np.array(self.shapes[name])}, start_dim=0, end_dim=-1))
            self.edges.append((name, flat_name))
        return flat_name

    def connection(self, conn: nengo.Connection, i: int) -> None:
        label = f"conn{i}"
        if conn.synapse is not None and not _one_step(conn.synapse):
            raise UnsupportedNodeError(
                f"synapse {conn.synapse}",
                node=label,
                field="synapse",
                expected="None or nengo.synapses.LinearFilter([1], [1], analog=False)",
            )
        if isinstance(conn.pre_obj, nengo.Node) and conn.function is not None:
            raise UnsupportedNodeError("a Python function on a Node connection", node=label, field="function")
        is_conv = isinstance(conn.transform, nengo.Convolution)
        pre, factor = self.source(conn.pre_obj, flat=not is_conv)
        post_obj = conn.post_obj
        if isinstance(post_obj, nengo.ensemble.Neurons):
            post = self.names[id(post_obj.ensemble)]
        elif isinstance(post_obj, nengo.Ensemble):
            post = f"{self.names[id(post_obj)]}_encoders"
        else:
            post = self.names[id(post_obj)]
        built = self.model.params[conn].weights  # None for NoTransform (identity)
        weights = np.asarray(1.0 if built is None else built, dtype=np.float64)
        if is_conv:
            node = self.conv(conn, weights, factor, label)
            shape = np.array(conn.transform.output_shape.shape)
            chain = [pre, self.add(label, node), self.add(f"{label}_flat", nir.Flatten({"input": shape}, start_dim=0))]
        else:
            chain = [pre, self.add(label, nir.Linear(self.matrix(conn, weights) * factor))]
        if conn.synapse is not None:
            chain.append(self.add(f"{label}_delay", nir.Delay(np.full(post_obj.size_in, self.sem.dt))))
        if isinstance(post_obj, nengo.ensemble.Neurons):
            gain = np.asarray(self.model.params[post_obj.ensemble].gain, dtype=np.float64)
            if np.any(gain != 1.0):
                chain.append(self.add(f"{label}_gain", nir.Scale(gain)))
        chain.append(post)
        self.edges += list(zip(chain[:-1], chain[1:], strict=True))

    def matrix(self, conn: nengo.Connection, weights: np.ndarray) -> np.ndarray:
        """The built weights as a (post.size_in, pre.size_out) matrix, slices embedded with zeros."""
        pre_size = conn.pre_obj.size_out if not isinstance(conn.pre_obj, nengo.Ensemble) else conn.pre_obj.n_neurons
        post_size = conn.post_obj.size_in
        decoded = isinstance(conn.pre_obj, nengo.Ensemble)
        mid = conn.size_mid if not decoded else conn.pre_obj.n_neurons
        if weights.ndim == 0:
            w = weights * np.eye(mid)
        elif weights.ndim == 1:
            w = np.diag(weights)
        else:
            w = weights
        pre_index = np.arange(pre_size)[conn.pre_slice] if not decoded else np.arange(pre_size)
        post_index = np.arange(post_size)[conn.post_slice]
        full = np.zeros((post_size, pre_size))
        full[np.ix_(post_index, pre_index)] = w
        return full

    def conv(self, conn: nengo.Connection, weights: np.ndarray, factor: float, label: str) -> nir.NIRNode:
        t = conn.transform
        if t.channels_last or conn.pre_slice != slice(None) or conn.post_slice != slice(None):
            raise UnsupportedNodeError(
                "channels-last or sliced convolution",
                node=label,
                field="transform",
                expected="nengo.Convolution(channels_last=False) between whole objects",
            )
        dims = len(t.kernel_size)
        weight = np.transpose(np.asarray(weights), (dims + 1, dims) + tuple(range(dims))) * factor
        spatial, stride, kernel = t.input_shape.spatial_shape, tuple(t.strides), tuple(t.kernel_size)
        pads = []
        for n, k, s in zip(spatial, kernel, stride, strict=True):
            if t.padding == "valid":
                pads.append(0)
                continue
            out = -(-n // s)
            lo = max((out - 1) * s + k - n, 0) // 2
            if (n + 2 * lo - k) // s + 1 != out:
                raise UnsupportedNodeError(
                    f"Nengo's 'same' padding of {n} with kernel {k}, stride {s} is asymmetric",
                    node=label,
                    field="padding",
                    expected="a padding PyTorch can express symmetrically",
                )
            pads.append(lo)
        one = (lambda v: v[0]) if dims == 1 else tuple
        cls = nir.Conv1d if dims == 1 else nir.Conv2d
        return cls(
            input_shape=one(spatial),
            weight=weight,
            stride=one(stride),
            padding=one(pads),
            dilation=one((1,) * dims),
            groups=int(t.groups),
            bias=np.zeros(weight.shape[0]),
        )

    def probe(self, probe: nengo.Probe, i: int) -> None:
        label = self.name(probe, f"probe{i}")
        if probe.synapse is not None:
            raise UnsupportedNodeError(f"synapse {probe.synapse}", node=label, field="synapse", expected="None")
        target = probe.target
        if isinstance(target, nengo.ensemble.Neurons) and probe.attr == "output":
            src, size = self.names[id(target.ensemble)], target.size_out
        elif isinstance(target, nengo.Node) and probe.attr == "output":
            src, size = self.source(target)[0], target.size_out
        elif isinstance(target, nengo.Ensemble) and probe.attr == "decoded_output":
            decoders = self._decoders(probe)
            pre, factor = self.source(target)
            src = self.add(f"{label}_decoders", nir.Linear(decoders * factor))
            self.edges.append((pre, src))
            size = decoders.shape[0]
        elif isinstance(target, nengo.ensemble.Neurons):
            return  # a state probe (voltage ...): nirverse records neuron states itself
        else:
            raise UnsupportedNodeError(f"probe of {target}.{probe.attr}", node=label, field="attr")
        self.edges.append((src, self.add(label, nir.Output(output_type={"output": np.array([size])}))))

    def _decoders(self, probe: nengo.Probe) -> np.ndarray:
        """The built weights of the connection Nengo made for a decoded probe (``conn_probe``)."""
        for obj, built in self.model.params.items():
            if isinstance(obj, nengo.Connection) and obj.post_obj is probe:
                return np.asarray(built.weights, dtype=np.float64)
        raise UnsupportedNodeError("no built decoders", node=str(probe.label), field="attr")  # pragma: no cover
