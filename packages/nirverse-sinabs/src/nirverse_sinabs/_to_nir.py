r"""Sinabs → NIR: a graph whose reference run under ``semantics`` equals the Sinabs model's own run.

Sinabs counts time in steps and has no ``dt``; the semantics' :math:`\Delta t` gives the graph its units.
With :math:`\alpha` Sinabs' decay factor as Sinabs computes it (``alpha_mem_calculated``:
:math:`e^{-1/\tau_{mem}}`, or ``alpha_mem`` with ``train_alphas``), :math:`\kappa = 1-\alpha` and
:math:`\tau = \kappa^{-1}(\kappa)` the semantics' inverse leak factor (:math:`\Delta t/\kappa` for euler,
:math:`-\Delta t/\ln\alpha` for exp, which needs :math:`0<\alpha<1`), :math:`n = \kappa` with
``norm_input`` and 1 without:

=========================  ===========================================================================
Sinabs module              NIR node
=========================  ===========================================================================
``IAF`` / ``IAFSqueeze``   IF: r = 1/Δt (Sinabs adds the input as is)
``LIF`` / ``LIFSqueeze``   LIF: tau, r = n/κ, v_leak = 0
``LIF`` with ``tau_syn``   CubaLIF: tau_syn from α_syn, w_in = α_syn/κ_syn (Sinabs' current is
                           :math:`\alpha_s(i + x)`), tau_mem, r = n/κ_mem, v_leak = 0
``ExpLeak`` (``Squeeze``)  LI: tau, r = n/κ, v_leak = 0
``torch.nn.Linear``        Affine (W, b) or Linear (W) without bias
``Conv1d`` / ``Conv2d``    Conv1d / Conv2d
``sinabs SumPool2d``       SumPool2d (``LPPool2d`` with p = 1)
``AvgPool2d``              AvgPool2d (``count_include_pad``, no ``divisor_override``)
``Flatten``                Flatten (per-sample dims = torch dims − 1)
``*Recurrent``             the neuron node and its ``rec_connect`` (a Linear) as a loop back into it: a
                           back-edge, as Sinabs adds rec_connect(z_{t−1}) to step t's input
``Sequential``             a chain Input → children in order → Output
``SinabsGraph``            the graph it was built from, each node's parameters read back from its Sinabs
                           layer -- or, where the layer still holds exactly the numbers built from the NIR
                           graph and the semantics is the same, the original NIR parameters (bit for bit)
=========================  ===========================================================================

Spikes: ``SingleSpike`` fires where :math:`v - \theta \ge 0`; NIR fires where :math:`v > \theta_{NIR}`,
so :math:`\theta_{NIR} = \mathrm{nextafter}(\theta, -\infty)` (exact in float64). Resets:
``MembraneSubtract()`` (or ``subtract_value`` = θ) ↔ ``reset="subtract"`` (it then subtracts
:math:`\theta_{NIR}`, one ulp less than Sinabs); ``MembraneReset(reset_value=0)`` ↔ ``reset="value"`` with
``v_reset = 0``. Refused, naming the layer and the field: ``MultiSpike`` / ``MaxSpike`` (Sinabs' default:
several spikes in one step, NIR has one), ``MembraneReset`` with a non-zero value (Sinabs adds it to every
neuron, spiking or not), ``min_v_mem`` (NIR has no floor), an ``IAF`` with ``tau_syn`` (NIR has no
current-based IF), a decay factor with no NIR time constant, and ``latency="one-step"`` where Sinabs'
same-step delivery would be delayed.
"""

from __future__ import annotations

from typing import Any

import nir
import numpy as np
import torch
from nirverse import Semantics, UnsupportedNodeError, UnsupportedSemanticsError, prepare

from ._model import SinabsGraph
from ._nodes import DelayLine, Neuron, Node, Stateless

__all__ = ["to_nir"]


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().to(torch.float64).numpy().copy() if isinstance(t, torch.Tensor) else np.asarray(t, np.float64)


def _shaped(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(_np(value), shape).copy()


def _tau(where: str, field: str, alpha: np.ndarray, s: Semantics) -> np.ndarray:
    """The time constant whose leak factor under ``s`` is 1 − α."""
    kappa = 1.0 - alpha
    if np.any(kappa <= 0) or (s.method == "exp" and np.any(alpha <= 0)):
        bound = "0 < 1 - alpha" + (" < 1" if s.method == "exp" else "")
        raise UnsupportedNodeError(
            f"decay factor {field} = {alpha.min()!r}..{alpha.max()!r} has no NIR time constant under method={s.method!r}",
            node=where, field=field, expected=bound,
        )
    return s.dt / kappa if s.method == "euler" else -s.dt / np.log(alpha)


def _spikes(where: str, layer: Any, s: Semantics, shape) -> dict[str, np.ndarray]:
    """v_threshold and v_reset of a spiking Sinabs layer (refusing what NIR cannot express)."""
    from sinabs.activation import MembraneReset, MembraneSubtract, SingleSpike

    if layer.spike_fn is not SingleSpike:
        name = getattr(layer.spike_fn, "__name__", type(layer.spike_fn).__name__)
        raise UnsupportedNodeError(f"spike_fn={name} emits several spikes per step where v >= 2θ; NIR emits one",
                                   node=where, field="spike_fn", expected="sinabs.activation.SingleSpike")
    if getattr(layer, "min_v_mem", None) is not None:
        raise UnsupportedNodeError("min_v_mem clips the membrane from below; NIR has no floor", node=where,
                                   field="min_v_mem", expected="None")
    theta = _shaped(layer.spike_threshold, shape)
    reset = layer.reset_fn
    if isinstance(reset, MembraneSubtract):
        if reset.subtract_value is not None and not np.array_equal(_shaped(reset.subtract_value, shape), theta):
            raise UnsupportedNodeError("MembraneSubtract subtracts a value other than the threshold", node=where,
                                       field="reset_fn.subtract_value", expected="None or spike_threshold")
        mode, v_reset = "subtract", np.zeros(shape)
    elif isinstance(reset, MembraneReset):
        if np.any(_np(reset.reset_value) != 0):
            raise UnsupportedNodeError("MembraneReset(reset_value != 0) adds its value to every neuron in every step",
                                       node=where, field="reset_fn.reset_value", expected="0")
        mode, v_reset = "value", np.zeros(shape)
    else:
        raise UnsupportedNodeError(f"custom reset_fn {type(reset).__name__}", node=where, field="reset_fn",
                                   expected="MembraneSubtract or MembraneReset")
    if mode != s.reset:
        raise UnsupportedSemanticsError(f"the layer resets by {mode!r}, the semantics by {s.reset!r}", node=where,
                                        field="reset", expected=f"reset={mode!r}")
    return {"v_threshold": np.nextafter(theta, -np.inf), "v_reset": v_reset}


def _sinabs_neuron(where: str, layer: Any, s: Semantics, shape: tuple[int, ...]) -> nir.NIRNode:
    """The NIR node of one Sinabs neuron layer (IAF, LIF, ExpLeak and their Squeeze twins)."""
    from sinabs.layers import IAF, ExpLeak, IAFRecurrent

    if getattr(layer, "min_v_mem", None) is not None:
        raise UnsupportedNodeError("min_v_mem clips the membrane from below; NIR has no floor", node=where,
                                   field="min_v_mem", expected="None")
    alpha_syn = layer.alpha_syn_calculated
    if isinstance(layer, (IAF, IAFRecurrent)):
        if alpha_syn is not None:
            raise UnsupportedNodeError("an IAF with tau_syn has no NIR node (NIR has no current-based IF)",
                                       node=where, field="tau_syn", expected="None")
        return nir.IF(r=np.full(shape, 1.0 / s.dt), **_spikes(where, layer, s, shape))
    alpha = _shaped(layer.alpha_mem_calculated, shape)
    tau = _tau(where, "alpha_mem", alpha, s)
    r = np.ones(shape) if layer.norm_input else 1.0 / (1.0 - alpha)
    if isinstance(layer, ExpLeak):
        return nir.LI(tau=tau, r=r, v_leak=np.zeros(shape))
    if alpha_syn is None:
        return nir.LIF(tau=tau, r=r, v_leak=np.zeros(shape), **_spikes(where, layer, s, shape))
    a_syn = _shaped(alpha_syn, shape)
    tau_syn = _tau(where, "alpha_syn", a_syn, s)
    fields = dict(tau_syn=tau_syn, tau_mem=tau, r=r, v_leak=np.zeros(shape), w_in=a_syn / (1.0 - a_syn))
    if layer.spike_fn is None:
        return nir.CubaLI(**fields)
    return nir.CubaLIF(**fields, **_spikes(where, layer, s, shape))


# -- nirverse's own node modules (SinabsGraph) ------------------------------------------------
_NEURON_FIELDS = {
    "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    "LI": ("tau", "r", "v_leak"),
    "IF": ("r", "v_threshold", "v_reset"),
    "I": ("r",),
    "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak", "w_in"),
    "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
}


def _from_source(kind: str, p: dict, original: Any, in_shape: tuple[int, ...]) -> nir.NIRNode:
    """The NIR node of ``kind`` with the validated parameters ``p`` it was built from."""
    c = lambda k: np.array(p[k], dtype=np.float64)  # noqa: E731
    if kind in _NEURON_FIELDS:
        return getattr(nir, kind)(**{k: c(k) for k in _NEURON_FIELDS[kind]})
    if kind == "Affine":
        return nir.Affine(weight=c("weight"), bias=c("bias"))
    if kind == "Linear":
        return nir.Linear(weight=c("weight"))
    if kind in ("Scale", "Threshold", "Delay"):
        field = kind.lower()
        return getattr(nir, kind)(**{field: c(field)})
    if kind in ("Conv1d", "Conv2d"):
        return getattr(nir, kind)(
            input_shape=getattr(original, "input_shape", None), weight=c("weight"), stride=p["stride"],
            padding=p["padding"], dilation=p["dilation"], groups=p["groups"], bias=c("bias"),
        )
    if kind in ("SumPool2d", "AvgPool2d"):
        return getattr(nir, kind)(
            kernel_size=np.array(p["kernel_size"]), stride=np.array(p["stride"]), padding=np.array(p["padding"])
        )
    if kind == "Flatten":
        return nir.Flatten(input_type={"input": np.array(in_shape)}, start_dim=p["start_dim"], end_dim=p["end_dim"])
    raise AssertionError(kind)


def _neuron_from_layer(name: str, node: Neuron, s: Semantics, shape: tuple[int, ...]) -> nir.NIRNode:
    """Read a (possibly trained) nirverse neuron node back: the inverse of :mod:`nirverse_sinabs._mapping`."""
    kind, layer = node.kind, node.layer
    one = lambda t: np.ones(shape) if t is None else _shaped(t, shape)  # noqa: E731
    zero = lambda t: np.zeros(shape) if t is None else _shaped(t, shape)  # noqa: E731
    c, gain, bias = zero(node.offset), one(node.gain), zero(node.bias_)
    fields: dict[str, np.ndarray] = {}
    if layer.spike_fn is not None:
        theta = np.nextafter(_shaped(layer.spike_threshold, shape), -np.inf) + c
        sub = getattr(layer.reset_fn, "subtract_value", None)
        if sub is not None and not np.allclose(_shaped(sub, shape), theta, rtol=1e-12, atol=0):
            raise UnsupportedNodeError("the layer subtracts a value other than its threshold; NIR subtracts v_threshold",
                                       node=name, field="reset_fn.subtract_value", expected="the spike threshold")
        fields.update(v_threshold=theta, v_reset=c if sub is None else _shaped(node.source["v_reset"], shape))
    if kind in ("IF", "I"):
        return getattr(nir, kind)(r=gain / s.dt, **fields)
    alpha = _shaped(layer.alpha_mem_calculated, shape)
    if kind in ("LIF", "LI"):
        return getattr(nir, kind)(tau=_tau(name, "alpha_mem", alpha, s), r=gain, v_leak=bias + c, **fields)
    a_syn = _shaped(layer.alpha_syn_calculated, shape)
    k_syn = 1.0 - a_syn
    r, b = one(node.r), bias * a_syn / k_syn
    return getattr(nir, kind)(tau_syn=_tau(name, "alpha_syn", a_syn, s), tau_mem=_tau(name, "alpha_mem", alpha, s),
                              r=r, v_leak=b + c, w_in=gain * a_syn / (r * k_syn), **fields)


def _from_module(name: str, node: Node, original: Any, s: Semantics, in_shape, out_shape) -> nir.NIRNode:
    """The NIR node read back from the modules of a (possibly modified) SinabsGraph node."""
    kind = node.kind
    if isinstance(node, Neuron):
        return _neuron_from_layer(name, node, s, tuple(out_shape))
    if isinstance(node, DelayLine):
        return nir.Delay(delay=_np(node.steps) * s.dt)
    if isinstance(node, Stateless):
        fn = node.fn
        if kind in ("Affine", "Linear"):
            return nir.Affine(weight=_np(fn.weight), bias=_np(fn.bias)) if kind == "Affine" else nir.Linear(weight=_np(fn.weight))
        if kind == "Scale":
            return nir.Scale(scale=_np(fn.scale))
        if kind == "Threshold":
            return nir.Threshold(threshold=_np(fn.threshold))
        if kind in ("Conv1d", "Conv2d"):
            conv = fn[-1] if isinstance(fn, torch.nn.Sequential) else fn
            return _from_source(kind, dict(node.source, weight=_np(conv.weight), bias=_np(conv.bias)), original, in_shape)
        return _from_source(kind, node.source, original, in_shape)
    raise UnsupportedNodeError(f"unknown nirverse node module {type(node).__name__}", node=name, field="type")


def _check_latency(graph: nir.NIRGraph, built_for: Semantics, s: Semantics) -> None:
    """Refuse a latency under which the graph would delay edges that Sinabs' model delivers in the same step."""
    here = {(e.source, e.target) for e in prepare(graph, s).delayed_edges}
    native = {(e.source, e.target) for e in prepare(graph, built_for).delayed_edges}
    if here != native:
        raise UnsupportedSemanticsError(
            f"the model delivers in the step given by latency={built_for.latency!r}; under {s.latency!r} the edges "
            f"{sorted(here ^ native)} would be delayed differently", field="latency", expected=repr(built_for.latency),
        )


def _export_graph(model: SinabsGraph, s: Semantics) -> nir.NIRGraph:
    plan = model.plan
    same = s == model.semantics
    if s.latency != model.semantics.latency:
        _check_latency(plan.graph, model.semantics, s)
    if s.reset != model.semantics.reset and any(plan.types[n] in ("IF", "LIF", "CubaLIF") for n in plan.order):
        raise UnsupportedSemanticsError(f"the model resets by {model.semantics.reset!r}, the semantics by {s.reset!r}",
                                        field="reset", expected=repr(model.semantics.reset))
    layers = model.layers

    def leaf(name: str, original: Any) -> Any:
        kind = plan.types[name]
        if kind in ("Input", "Output", "Pass"):
            return original
        node = layers[name]
        stateless = kind not in _NEURON_FIELDS and kind != "Delay"
        if node.unchanged() and (same or stateless):
            return _from_source(kind, node.source, original, plan.in_shapes[name])
        return _from_module(name, node, original, s, plan.in_shapes[name], plan.out_shapes[name])

    def rebuild(graph: nir.NIRGraph, prefix: str) -> nir.NIRGraph:
        nodes = {}
        for key, sub in graph.nodes.items():
            full = prefix + key
            nodes[key] = rebuild(sub, full + ".") if isinstance(sub, nir.NIRGraph) else leaf(full, sub)
        return nir.NIRGraph(nodes=nodes, edges=list(graph.edges), type_check=False)

    out = rebuild(plan.graph, "")
    out.metadata = dict(s.to_metadata())
    return out


# -- user-written Sinabs models ---------------------------------------------------------------
def _layer_shape(layer: Any) -> tuple[int, ...] | None:
    """The per-sample shape a Sinabs layer fixes (its state, or per-neuron parameters), if any."""
    v_mem = getattr(layer, "v_mem", None)
    if isinstance(v_mem, torch.Tensor) and v_mem.dim() > 1:
        return tuple(v_mem.shape[1:])
    for key in ("alpha_mem", "tau_mem", "spike_threshold"):
        value = getattr(layer, key, None)
        if isinstance(value, torch.Tensor) and value.dim() > 0 and value.numel() > 1:
            return tuple(value.shape)
    return None


def _stateless(name: str, mod: torch.nn.Module, shape: tuple[int, ...]) -> nir.NIRNode:
    from sinabs.layers import SumPool2d

    pair = lambda v: np.array(v if isinstance(v, (tuple, list)) else (v, v))  # noqa: E731
    if isinstance(mod, (torch.nn.Conv1d, torch.nn.Conv2d)):
        if not isinstance(mod.padding, tuple) or mod.padding_mode != "zeros":
            raise UnsupportedNodeError(f"padding {mod.padding!r} ({mod.padding_mode})", node=name, field="padding",
                                       expected="explicit zero padding")
        cls = nir.Conv1d if isinstance(mod, torch.nn.Conv1d) else nir.Conv2d
        bias = np.zeros(mod.out_channels) if mod.bias is None else _np(mod.bias)
        return cls(input_shape=np.array(shape[1:]), weight=_np(mod.weight), stride=mod.stride, padding=mod.padding,
                   dilation=mod.dilation, groups=mod.groups, bias=bias)
    if isinstance(mod, SumPool2d):
        if mod.ceil_mode or mod.norm_type != 1:
            raise UnsupportedNodeError("ceil_mode or a norm other than 1", node=name, field="SumPool2d",
                                       expected="Sinabs' defaults")
        stride = mod.stride if mod.stride is not None else mod.kernel_size
        return nir.SumPool2d(kernel_size=pair(mod.kernel_size), stride=pair(stride), padding=np.array((0, 0)))
    if isinstance(mod, torch.nn.AvgPool2d):
        if mod.ceil_mode or not mod.count_include_pad or mod.divisor_override is not None:
            raise UnsupportedNodeError("ceil_mode, count_include_pad=False or a divisor", node=name, field="AvgPool2d",
                                       expected="PyTorch's defaults")
        stride = mod.stride if mod.stride is not None else mod.kernel_size
        return nir.AvgPool2d(kernel_size=pair(mod.kernel_size), stride=pair(stride), padding=pair(mod.padding))
    if isinstance(mod, torch.nn.Flatten):
        start = mod.start_dim - 1 if mod.start_dim > 0 else mod.start_dim
        end = mod.end_dim - 1 if mod.end_dim > 0 else mod.end_dim
        return nir.Flatten(input_type={"input": np.array(shape)}, start_dim=start, end_dim=end)
    raise UnsupportedNodeError(f"no NIR export for {type(mod).__name__}", node=name, field="type",
                               expected="Sinabs IAF/LIF/ExpLeak, Linear, Conv1d/2d, SumPool2d, AvgPool2d, Flatten, Sequential")


def _recurrence(name: str, mod: Any, shape: tuple[int, ...]) -> nir.NIRNode:
    """The NIR node of a recurrent layer's ``rec_connect`` (a ``torch.nn.Linear`` from the layer to itself)."""
    rec = mod.rec_connect
    if not isinstance(rec, torch.nn.Linear) or len(shape) != 1 or rec.in_features != shape[0] or rec.out_features != shape[0]:
        raise UnsupportedNodeError(f"rec_connect is {type(rec).__name__}", node=name, field="rec_connect",
                                   expected=f"a torch.nn.Linear({shape[0]}, {shape[0]}) on a 1-d layer")
    w = _np(rec.weight)
    return nir.Linear(weight=w) if rec.bias is None else nir.Affine(weight=w, bias=_np(rec.bias))


def _neuron_fragment(name: str, mod: Any, s: Semantics, shape: tuple[int, ...] | None):
    """A Sinabs neuron layer; a ``LIFRecurrent``/``IAFRecurrent`` adds its ``rec_connect`` as a loop (a
    back-edge: Sinabs adds rec_connect(z_{t-1}) to the input of step t)."""
    if not hasattr(mod, "alpha_mem_calculated"):
        raise UnsupportedNodeError(f"no NIR export for {type(mod).__name__}", node=name, field="type",
                                   expected="IAF, LIF, ExpLeak, their Squeeze or Recurrent variants")
    if shape is None and getattr(mod, "rec_connect", None) is not None and hasattr(mod.rec_connect, "out_features"):
        shape = (mod.rec_connect.out_features,)
    shape = shape if shape is not None else _layer_shape(mod)
    if shape is None:
        raise UnsupportedNodeError("the layer's size is unknown", node=name, field="input_shape",
                                   expected="input_shape=... or per-neuron parameters")
    shape = tuple(shape)
    nodes, edges = {name: _sinabs_neuron(name, mod, s, shape)}, []
    if hasattr(mod, "rec_connect"):
        nodes[name + "_rec"] = _recurrence(name, mod, shape)
        edges = [(name, name + "_rec"), (name + "_rec", name)]
    return nodes, edges, shape, shape


def _fragment(name: str, mod: torch.nn.Module, s: Semantics, shape: tuple[int, ...] | None):
    """(NIR nodes, edges inside them, out_shape, in_shape) of one module of a chain; the chain enters and
    leaves the fragment at the node called ``name``."""
    from sinabs.layers import StatefulLayer

    if isinstance(mod, StatefulLayer):
        return _neuron_fragment(name, mod, s, shape)
    if isinstance(mod, torch.nn.Linear):
        w = _np(mod.weight)
        node = nir.Linear(weight=w) if mod.bias is None else nir.Affine(weight=w, bias=_np(mod.bias))
        return {name: node}, [], (w.shape[0],), (w.shape[1],)
    if shape is None:
        raise UnsupportedNodeError("the input shape is unknown", node=name, field="input_shape",
                                   expected="to_nir(..., input_shape=(C, H, W))")
    with torch.no_grad():
        dtype = next(iter(mod.parameters()), torch.zeros((), dtype=torch.float64)).dtype
        out_shape = tuple(mod(torch.zeros((1, *shape), dtype=dtype)).shape[1:])
    return {name: _stateless(name, mod, tuple(shape))}, [], out_shape, tuple(shape)


def _export_chain(module: torch.nn.Module, s: Semantics, input_shape) -> nir.NIRGraph:
    children = list(module.named_children()) if isinstance(module, torch.nn.Sequential) else [("0", module)]
    if not children:
        raise UnsupportedNodeError("the Sequential is empty", field="modules", expected="at least one layer")
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    shape = None if input_shape is None else tuple(int(v) for v in np.atleast_1d(input_shape))
    first_in, previous = None, "input"
    for key, mod in children:
        name = f"{type(mod).__name__.lower()}_{key}"
        frag_nodes, frag_edges, out_shape, in_shape = _fragment(name, mod, s, shape)
        first_in = first_in or in_shape
        nodes.update(frag_nodes)
        edges.append((previous, name))
        edges.extend(frag_edges)
        previous, shape = name, out_shape
    nodes["input"] = nir.Input(input_type=np.array(first_in))
    nodes["output"] = nir.Output(output_type=np.array(shape))
    edges.append((previous, "output"))
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    graph.metadata = dict(s.to_metadata())
    if s.latency == "one-step":
        _check_latency(graph, Semantics(s.dt, s.method, s.reset), s)
    return graph


def to_nir(module: Any, semantics: Semantics, input_shape: Any = None) -> nir.NIRGraph:
    """A ``nir.NIRGraph`` that executes like ``module`` under ``semantics`` (see the module docstring)."""
    if not isinstance(semantics, Semantics):
        from nirverse import InvalidSemanticsError

        raise InvalidSemanticsError(f"got {type(semantics).__name__}", field="semantics", expected="a nirverse.Semantics")
    if isinstance(module, SinabsGraph):
        return _export_graph(module, semantics)
    if not isinstance(module, torch.nn.Module):
        raise UnsupportedNodeError(f"got {type(module).__name__}", field="module", expected="a torch.nn.Module")
    return _export_chain(module, semantics, input_shape)
