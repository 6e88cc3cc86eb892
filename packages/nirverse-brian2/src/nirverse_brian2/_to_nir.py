r"""Brian2 -> NIR: export a network whose dynamics the semantics describes, parameters read from Brian2.

Two kinds of input:

* a :class:`~nirverse_brian2._from_nir.Brian2Model` (from :func:`nirverse_brian2.from_nir`): the graph it
  was built from, same names, nesting and edges, with every parameter read back from the Brian2 objects
  (so changes made in Brian2 are exported). The semantics must be the one it was built under.
* a ``brian2.Network`` (or a list of its objects) written with the plugin's neuron templates
  (:data:`~nirverse_brian2._from_nir.TEMPLATES`; the ``"leak"`` one is the textbook LIF
  ``dv/dt = (v_leak - v + r*x)/tau``) and summed-variable ``Synapses``.

======================================================  ===============================================
Brian2                                                  NIR
======================================================  ===============================================
group with ``dv/dt = r*x`` (+ threshold)                I (IF): ``r`` [Hz], ``v_threshold``, ``v_reset``
group with ``dv/dt = (v_leak - v + r*x)/tau``           LI / LIF: ``tau`` [s], ``r``, ``v_leak``, ...
``disyn/dt = (w_in*x - isyn)/tau_syn`` + a group with   CubaLI / CubaLIF: ``tau_syn``, ``w_in`` from the
``dv/dt = (v_leak - v + r*I)/tau_mem``, I linked        current group, the rest from the membrane group
``threshold="v > v_threshold"``                         spiking node (``z = 1[v > v_threshold]``)
``reset="v = v_reset"`` / ``"v = v - v_threshold"``     semantics ``reset="value"`` / ``"subtract"``
``method="euler"`` / ``"exact"`` (Brian2's default)     semantics ``method="euler"`` / ``"exp"``
``Synapses`` ``in<k>_post = w*<var>_pre (summed)``      ``Linear`` with ``W[j, i] = sum of w over i -> j``
group without equations of the templates, no inputs     ``Input`` of the group's size
neuron group no Synapses read from                      its ``Output``
a synapse reading ``<var>_prev`` or scheduled before     a delayed edge: must be one the semantics delays
its source's state update (Brian2's default schedule)   (``"one-step"``: every edge out of a neuron)
======================================================  ===============================================

Anything else (other equations, constants instead of per-neuron parameters, a schedule the semantics
does not give) raises ``UnsupportedNodeError`` / ``UnsupportedSemanticsError`` naming the group.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import nir
import numpy as np
from nirverse import Semantics, prepare
from nirverse.errors import UnsupportedNodeError, UnsupportedSemanticsError

from . import _connectivity as conn
from ._from_nir import TEMPLATES, Brian2Model

__all__ = ["to_nir"]

#: NIR field -> (Brian2 variable, group: "main" or "current")
_FIELDS = {
    "I": {"r": ("r", "main")},
    "IF": {"r": ("r", "main"), "v_threshold": ("v_threshold", "main"), "v_reset": ("v_reset", "main")},
    "LI": {"tau": ("tau", "main"), "r": ("r", "main"), "v_leak": ("v_leak", "main")},
    "LIF": {"tau": ("tau", "main"), "r": ("r", "main"), "v_leak": ("v_leak", "main"),
            "v_threshold": ("v_threshold", "main"), "v_reset": ("v_reset", "main")},
    "CubaLI": {"tau_syn": ("tau_syn", "current"), "tau_mem": ("tau_mem", "main"), "r": ("r", "main"),
               "v_leak": ("v_leak", "main"), "w_in": ("w_in", "current")},
    "CubaLIF": {"tau_syn": ("tau_syn", "current"), "tau_mem": ("tau_mem", "main"), "r": ("r", "main"),
                "v_leak": ("v_leak", "main"), "v_threshold": ("v_threshold", "main"),
                "v_reset": ("v_reset", "main"), "w_in": ("w_in", "current")},
}


def to_nir(obj: Any, semantics: Semantics) -> nir.NIRGraph:
    """A ``nir.NIRGraph`` whose run under ``semantics`` equals the Brian2 network's run."""
    if not isinstance(semantics, Semantics):
        raise UnsupportedSemanticsError(f"got {type(semantics).__name__}", field="semantics", expected="a nirverse.Semantics")
    if isinstance(obj, Brian2Model):
        return _export_model(obj, semantics)
    return _export_network(obj, semantics)


# -- parameters ------------------------------------------------------------------------------------
def _values(group: Any, var: str, count: int, node: str) -> np.ndarray:
    """The first ``count`` raw values (SI units) of a per-neuron variable of ``group``."""
    variable = group.variables.get(var) if hasattr(group, "variables") else None
    if variable is None or not hasattr(variable, "get_value") or variable.scalar or variable.size < count:
        raise UnsupportedNodeError(
            f"group {group.name!r} has no per-neuron variable {var!r}", node=node, field=var,
            expected="a per-neuron parameter of the group",
        )
    return np.array(variable.get_value()[:count], dtype=np.float64)


def _neuron_fields(kind: str, main: Any, current: Any, shape: tuple[int, ...], node: str) -> dict[str, np.ndarray]:
    n = math.prod(shape)
    groups = {"main": main, "current": current}
    return {f: _values(groups[where], var, n, node).reshape(shape) for f, (var, where) in _FIELDS[kind].items()}


def _weights(syn: Any, n_pre: int, n_post: int) -> np.ndarray:
    """Dense (n_post, n_pre) sum of the synapse weights of sample 0 (w = 1 without a ``w`` variable)."""
    i = np.asarray(syn.i[:], dtype=np.int64)
    j = np.asarray(syn.j[:], dtype=np.int64)
    w = np.asarray(syn.w_[:], dtype=np.float64) if "w" in syn.variables else np.ones(i.size)
    keep = (i < n_pre) & (j < n_post)
    weight = np.zeros((n_post, n_pre))
    np.add.at(weight, (j[keep], i[keep]), w[keep])
    return weight


def _conv_weight(syn: Any, params: dict, in_shape, out_shape) -> np.ndarray:
    """Invert :func:`_connectivity.conv`: each (pre, post) pair belongs to exactly one kernel entry."""
    shape = params["weight"].shape
    ids = np.arange(1, math.prod(shape) + 1, dtype=np.float64).reshape(shape)
    pre, post, wid = conn.conv(ids, params["groups"], params["stride"], params["dilation"], params["pads"], in_shape, out_shape)
    n_in, n_out = math.prod(in_shape), math.prod(out_shape)
    keys = pre * n_out + post
    order = np.argsort(keys)
    i = np.asarray(syn.i[:], dtype=np.int64)
    j = np.asarray(syn.j[:], dtype=np.int64)
    w = np.asarray(syn.w_[:], dtype=np.float64)
    keep = (i < n_in) & (j < n_out)
    found = order[np.searchsorted(keys, i[keep] * n_out + j[keep], sorter=order)]
    weight = np.zeros(math.prod(shape))
    weight[wid[found].astype(np.int64) - 1] = w[keep]
    return weight.reshape(shape)


# -- Brian2Model: the original graph, parameters from Brian2 ----------------------------------------
def _export_model(model: Brian2Model, semantics: Semantics) -> nir.NIRGraph:
    built = model.plan.semantics
    if semantics != built:
        raise UnsupportedSemanticsError(
            f"the network was built under {built}", field="semantics", expected=f"the same semantics, not {semantics}"
        )

    def rebuild(graph: nir.NIRGraph, prefix: str) -> nir.NIRGraph:
        nodes = {}
        for name, node in graph.nodes.items():
            full = prefix + name
            if isinstance(node, nir.NIRGraph):
                nodes[name] = rebuild(node, full + ".")
            else:
                nodes[name] = _node_from_model(model, full, node)
        metadata = dict(getattr(graph, "metadata", {}) or {})
        if not prefix:
            metadata.update(semantics.to_metadata())
        # type_check=False: nir's own inference gets grouped convolutions wrong (C_in = weight.shape[1]);
        # nirverse.prepare checks every shape of the exported graph instead
        return nir.NIRGraph(nodes=nodes, edges=list(graph.edges), metadata=metadata, type_check=False)

    return rebuild(model.plan.graph, "")


def _node_from_model(model: Brian2Model, name: str, node: Any) -> Any:
    plan = model.plan
    kind = plan.types[name]
    params = plan.params.get(name, {})
    if kind in _FIELDS:
        shape = tuple(params["r"].shape)
        fields = _neuron_fields(kind, model.groups[name], model.currents.get(name), shape, name)
        return dataclasses.replace(node, **fields)
    syns = model.synapses.get(name, [])
    n_in, n_out = math.prod(plan.in_shapes[name]), math.prod(plan.out_shapes[name])
    if kind in ("Affine", "Linear"):
        weight = _weights(syns[0], n_in, n_out) if syns else np.zeros_like(params["weight"])
        if kind == "Linear":
            return dataclasses.replace(node, weight=weight)
        return dataclasses.replace(node, weight=weight, bias=_values(model.groups[name], "b", n_out, name))
    if kind == "Scale":
        scale = np.zeros(n_out)
        if syns:
            scale[np.asarray(syns[0].j[:])[: n_out]] = np.asarray(syns[0].w_[:])[: n_out]
        return dataclasses.replace(node, scale=scale.reshape(plan.out_shapes[name]))
    if kind in ("Conv1d", "Conv2d"):
        weight = _conv_weight(syns[0], params, plan.in_shapes[name], plan.out_shapes[name]) if syns else params["weight"] * 0
        spatial = math.prod(plan.out_shapes[name][1:])
        bias = _values(model.groups[name], "b", n_out, name)[::spatial]
        return dataclasses.replace(node, weight=weight, bias=bias)
    if kind == "Threshold":
        return dataclasses.replace(node, threshold=_values(model.groups[name], "theta", n_out, name).reshape(plan.out_shapes[name]))
    if kind == "Delay":
        steps = np.asarray(model.groups[name].k[:n_out], dtype=np.float64)
        return dataclasses.replace(node, delay=(steps * model.plan.semantics.dt).reshape(plan.out_shapes[name]))
    return node  # Input, Output, Flatten, pooling, pass-throughs: structure only


# -- a Brian2 network written with the templates ---------------------------------------------------
def _template_kind(group: Any) -> str | None:
    """Which template's differential equation the group uses (``None``: none at all)."""
    import sympy
    from brian2 import Equations
    from brian2.equations.equations import DIFFERENTIAL_EQUATION
    from brian2.parsing.sympytools import str_to_sympy

    diff = {n: eq for n, eq in group.equations.items() if eq.type == DIFFERENTIAL_EQUATION}
    if not diff:
        return None
    for key, text in TEMPLATES.items():
        ((var, teq),) = Equations(text).items()
        if set(diff) == {var} and sympy.simplify(str_to_sympy(diff[var].expr.code) - str_to_sympy(teq.expr.code)) == 0:
            return key
    raise UnsupportedNodeError(
        f"group {group.name!r} has equations {sorted(diff)} that match no template", node=group.name,
        field="equations", expected="; ".join(TEMPLATES.values()),
    )


def _check_group(group: Any, kind: str, semantics: Semantics) -> None:
    if abs(float(group.clock.dt_) - semantics.dt) > 1e-9 * semantics.dt:
        raise UnsupportedSemanticsError(
            f"clock dt is {float(group.clock.dt_)!r} s", node=group.name, field="dt", expected=f"{semantics.dt!r} s"
        )
    if kind not in ("I", "IF"):
        method = group.method_choice if isinstance(group.method_choice, str) else "exact"  # Brian2's default
        want = "euler" if semantics.method == "euler" else "exact"
        if method.replace("linear", "exact") != want:
            raise UnsupportedSemanticsError(
                f"integrates with method {method!r}", node=group.name, field="method",
                expected=f"{want!r} for semantics method {semantics.method!r}",
            )
    if kind not in ("IF", "LIF", "CubaLIF"):
        return
    condition = " ".join(str(group.events["spike"]).split())
    if condition != "v > v_threshold":
        raise UnsupportedNodeError(f"threshold {condition!r}", node=group.name, field="threshold", expected="'v > v_threshold'")
    lines = {" ".join(line.split()) for line in str(group.event_codes.get("spike", "")).splitlines() if line.strip()}
    lines.discard("z = 1")
    wanted = {"value": {"v = v_reset"}, "subtract": {"v = v - v_threshold"}}[semantics.reset]
    if lines != wanted:
        raise UnsupportedSemanticsError(
            f"reset {sorted(lines)}", node=group.name, field="reset",
            expected=f"{sorted(wanted)} for semantics reset {semantics.reset!r}",
        )


def _export_network(obj: Any, semantics: Semantics) -> nir.NIRGraph:
    """The NIR graph of a Brian2 network (or list of objects): template groups as neurons, input groups as
    Inputs, summed-variable synapses as Linear nodes, and an Output behind every neuron nothing reads; the
    schedule of each synapse must deliver the step the semantics' latency says."""
    import brian2

    objects = list(obj.objects) if isinstance(obj, brian2.Network) else list(obj)
    network = obj if isinstance(obj, brian2.Network) else brian2.Network(*objects)
    position = {o.name: k for k, o in enumerate(network.sorted_objects)}
    groups = [o for o in objects if isinstance(o, brian2.NeuronGroup)]
    kinds = {g.name: _template_kind(g) for g in groups}
    nodes, node_of, spiking = _export_groups(groups, kinds, semantics)
    edges: list[tuple[str, str]] = []
    measured: dict[str, bool] = {}  # synapse node -> whether it delivers the previous step's value
    read_from: set[str] = set()
    for syn in (o for o in objects if isinstance(o, brian2.Synapses)):
        src_node, var = _synapse_source(syn, kinds, node_of, spiking)
        nodes[syn.name] = nir.Linear(_weights(syn, len(syn.source), len(syn.target)))
        edges += [(src_node, syn.name), (syn.name, node_of[syn.target.name])]
        read_from.add(src_node)
        measured[syn.name] = _delivers_previous(syn, var, kinds[syn.source.name] is None, spiking.get(src_node),
                                                position)
    for name in list(nodes):
        if name in spiking and name not in read_from:
            out = name + "_output"
            nodes[out] = nir.Output(np.array([nodes[name].r.size]))
            edges.append((name, out))
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata=semantics.to_metadata(), type_check=False)
    _check_latency(graph, measured, semantics)
    return graph


def _export_groups(groups: list, kinds: dict, semantics: Semantics) -> tuple[dict, dict[str, str], dict[str, bool]]:
    """(NIR nodes, group name -> node name, node -> whether it spikes) of the template and input groups; a
    synaptic-current group becomes part of the CubaLI/CubaLIF node of the membrane linked to it."""
    currents = {g.name: g for g in groups if kinds[g.name] == "current"}
    node_of: dict[str, str] = {}
    nodes: dict[str, Any] = {}
    spiking: dict[str, bool] = {}
    for g in groups:
        kind = kinds[g.name]
        if kind == "current":
            continue
        node_of[g.name] = g.name
        if kind is None:
            nodes[g.name] = nir.Input(np.array([len(g)]))
            continue
        spikes = "spike" in g.events
        nir_kind = {"integrate": "IF" if spikes else "I", "leak": "LIF" if spikes else "LI",
                    "membrane": "CubaLIF" if spikes else "CubaLI"}[kind]
        current = _linked_current(g, currents, semantics) if kind == "membrane" else None
        if current is not None:
            node_of[current.name] = g.name
        _check_group(g, nir_kind, semantics)
        fields = _neuron_fields(nir_kind, g, current, (len(g),), g.name)
        nodes[g.name] = getattr(nir, nir_kind)(**fields)
        spiking[g.name] = spikes
    return nodes, node_of, spiking


def _linked_current(g: Any, currents: dict, semantics: Semantics) -> Any:
    """The synaptic-current group whose ``isyn`` membrane group ``g`` links as ``I`` (checked)."""
    owner = getattr(g.variables.get("I"), "owner", None)
    current = currents.get(getattr(owner, "name", None))
    if current is None:
        raise UnsupportedNodeError(
            f"group {g.name!r} has no I linked to a synaptic-current group", node=g.name, field="I",
            expected=f"I = linked_var(<group with {TEMPLATES['current']!r}>, 'isyn')",
        )
    _check_group(current, "current", semantics)
    return current


def _synapse_source(syn: Any, kinds: dict, node_of: dict[str, str], spiking: dict[str, bool]) -> tuple[str, str]:
    """(source node, the source variable read) of synapses summing one variable between exported groups."""
    summed = list(syn.summed_updaters.values())
    source, target = syn.source.name, syn.target.name
    if len(summed) != 1 or source not in node_of or target not in node_of or kinds[target] is None:
        raise UnsupportedNodeError(
            f"synapses {syn.name!r} are not one summed variable between exported groups", node=syn.name,
            field="model", expected="'in<k>_post = w*<var>_pre : 1 (summed)' between template or input groups",
        )
    reads = sorted(n[: -len("_pre")] for n in summed[0].expression.identifiers if n.endswith("_pre"))
    src_node = node_of[source]
    var = reads[0] if len(reads) == 1 else None
    allowed = {"y", "y_prev"} if kinds[source] is None else ({"z", "z_prev"} if spiking[src_node] else {"v", "v_prev"})
    if var not in allowed:
        raise UnsupportedNodeError(
            f"synapses {syn.name!r} read {reads} of {source!r}", node=syn.name, field="model",
            expected="the source's output: one of " + ", ".join(sorted(allowed)),
        )
    return src_node, var


def _delivers_previous(syn: Any, var: str, from_input: bool, spikes: bool | None, position: dict[str, int]) -> bool:
    """Whether synapses ``syn`` deliver the previous step's value of ``var``: a ``*_prev`` variable, or a
    summed update scheduled before the source's state update (after its reset: the same step's)."""
    updater = position[next(iter(syn.summed_updaters.values())).name]
    if var.endswith("_prev"):
        return True
    if from_input:
        # the input's own code (run_regularly etc.); its state updater has no equations to run
        runners = [
            position[o.name] for o in syn.source.contained_objects
            if o.name in position and o is not getattr(syn.source, "state_updater", None)
        ]
        if any(p > updater for p in runners):
            raise UnsupportedSemanticsError(
                f"synapses {syn.name!r} read input {syn.source.name!r} before it is set", node=syn.name,
                field="when", expected="the input's code scheduled before the synapses' summed update",
            )
        return False
    group = syn.source
    last = group.resetter["spike"] if spikes else group.state_updater
    if updater < position[group.state_updater.name]:
        return True
    if updater > position[last.name]:
        return False
    raise UnsupportedSemanticsError(
        f"synapses {syn.name!r} read {syn.source.name!r} between its update and its reset", node=syn.name,
        field="when", expected="a summed update before the source's state update or after its reset",
    )


def _check_latency(graph: nir.NIRGraph, measured: dict[str, bool], semantics: Semantics) -> None:
    """Refuse a synapse whose schedule delivers another step than the plan of ``graph`` under ``semantics``."""
    plan = prepare(graph, semantics)
    for name, delayed in measured.items():
        planned = any(e.delayed for e in plan.incoming[name]) or any(
            e.delayed for n in plan.order for e in plan.incoming[n] if e.source == name
        )
        if planned != delayed:
            raise UnsupportedSemanticsError(
                f"Brian2 delivers {'the previous' if delayed else 'the same'} step's value through {name!r}",
                node=name, field="latency",
                expected=f"a network scheduled as latency {semantics.latency!r} says",
            )
