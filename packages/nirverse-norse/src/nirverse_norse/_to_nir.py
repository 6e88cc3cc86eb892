r"""Norse → NIR: a graph whose reference run under ``semantics`` equals the Norse model's own run.

Norse's step, per cell, with :math:`\kappa = \mathtt{dt}\cdot\tau^{-1}` as Norse computes it, and the
inverse leak factor :math:`\tau = \kappa^{-1}(\kappa)` of the semantics (:math:`\Delta t/\kappa` for
euler, :math:`-\Delta t/\ln(1-\kappa)` for exp, which needs :math:`0<\kappa<1`):

====================  ================================================================================
Norse module          NIR node(s)
====================  ================================================================================
``LIFBoxCell``        LIF: tau = κ⁻¹(dt·tau_mem_inv), r = 1, v_leak, v_threshold = v_th, v_reset; the
                      reset mode is ``p.reset_method`` (``reset_value`` / ``reset_subtract``)
``LIBoxCell``         LI: tau = κ⁻¹(dt·tau_mem_inv), r = 1, v_leak
``IAFCell``           IF: r = 1/Δt (Norse adds the input unscaled), v_threshold = v_th, v_reset; value
                      reset; v_reset must be 0 (Norse starts the membrane at v_reset, NIR at 0)
``LIFCell``           CubaLIF: tau_syn = κ⁻¹(dt·tau_syn_inv), tau_mem = κ⁻¹(dt·tau_mem_inv), r = 1,
                      w_in = 1/(dt·tau_syn_inv), v_leak, v_threshold, v_reset; value reset. Norse's
                      current jumps by the input and the membrane sees it in the same step, then it
                      decays: :math:`j_t = (1-\kappa_s) j_{t-1} + x_t`, which is NIR's
                      :math:`i_t = i_{t-1} + \kappa_s(w_{in}x_t - i_{t-1})` with :math:`w_{in} = 1/\kappa_s`
``LIFRecurrentCell``  Linear(input_weights) → CubaLIF (as ``LIFCell``) → Linear(recurrent_weights) → back
                      into the CubaLIF (a back-edge: Norse adds :math:`W_{rec} z_{t-1}`)
``torch.nn.Linear``   Affine (W, b) or Linear (W) without bias
``Conv1d/Conv2d``     Conv1d/Conv2d (input_shape from the traced shape)
``AvgPool2d``         AvgPool2d (``count_include_pad``) or SumPool2d (``divisor_override=1``)
``Flatten``           Flatten (per-sample dims = torch dims − 1)
``Sequential``        a chain Input → children in order → Output; the same for ``SequentialState``
``NorseGraph``        the graph it was built from, nesting and names kept, each node's parameters read
                      back from its Norse modules -- or, where those still hold exactly the numbers
                      built from the NIR graph and the semantics is the same, the original NIR
                      parameters (so NIR → Norse → NIR returns the same numbers bit for bit)
====================  ================================================================================

Norse sequential models deliver a layer's spikes to the next layer in the same step; an export under
``latency="one-step"`` is refused where that would add a delay.
"""

from __future__ import annotations

import math
from typing import Any

import nir
import numpy as np
import torch
from nirverse import Semantics, UnsupportedNodeError, UnsupportedSemanticsError, prepare

from ._model import NorseGraph
from ._nodes import Cell, Cuba, DelayLine, Node, Stateless

__all__ = ["to_nir"]


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().to(torch.float64).numpy().copy() if isinstance(t, torch.Tensor) else np.asarray(t, np.float64)


def _kappa(where: str, field: str, dt: float, rate: Any) -> np.ndarray:
    """Norse's per-step factor ``dt * tau_inv`` in float64."""
    return _np(dt * torch.as_tensor(rate).to(torch.float64))


def _tau(where: str, field: str, kappa: np.ndarray, s: Semantics) -> np.ndarray:
    """The time constant whose leak factor under ``s`` is ``kappa``."""
    if np.any(kappa <= 0) or (s.method == "exp" and np.any(kappa >= 1)):
        bound = "0 < dt*tau_inv" + (" < 1" if s.method == "exp" else "")
        raise UnsupportedNodeError(
            f"per-step factor dt*{field} = {kappa.min()!r}..{kappa.max()!r} has no NIR time constant under "
            f"method={s.method!r}", node=where, field=field, expected=bound,
        )
    if s.method == "euler":
        return s.dt / kappa
    return -s.dt / np.log1p(-kappa)


def _check_dt(where: str, cell: Any, s: Semantics) -> None:
    if not math.isclose(float(cell.dt), s.dt, rel_tol=1e-12):
        raise UnsupportedSemanticsError(
            f"the cell integrates with dt={cell.dt!r}, the semantics has dt={s.dt!r}", node=where, field="dt",
            expected="the cell's dt",
        )


def _reset_of(where: str, p: Any) -> str:
    from norse.torch.functional.reset import reset_subtract, reset_value

    method = getattr(p, "reset_method", reset_value)
    if method is reset_value:
        return "value"
    if method is reset_subtract:
        return "subtract"
    raise UnsupportedNodeError(
        f"custom reset_method {getattr(method, '__name__', method)!r}", node=where, field="reset_method",
        expected="norse's reset_value or reset_subtract",
    )


def _check_reset(where: str, reset: str, s: Semantics) -> None:
    if reset != s.reset:
        raise UnsupportedSemanticsError(
            f"the cell resets by {reset!r}, the semantics by {s.reset!r}", node=where, field="reset",
            expected=f"reset={reset!r}",
        )


def _shaped(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(_np(value), shape).copy()


# -- neuron cells -----------------------------------------------------------------------------
def _lif_box(where, cell, s, shape, r=None) -> nir.NIRNode:
    _check_dt(where, cell, s)
    _check_reset(where, _reset_of(where, cell.p), s)
    p = cell.p
    tau = _tau(where, "tau_mem_inv", _kappa(where, "tau_mem_inv", cell.dt, p.tau_mem_inv), s)
    return nir.LIF(
        tau=_shaped(tau, shape), r=_shaped(1.0 if r is None else r, shape), v_leak=_shaped(p.v_leak, shape),
        v_threshold=_shaped(p.v_th, shape), v_reset=_shaped(p.v_reset, shape),
    )


def _li_box(where, cell, s, shape, r=None) -> nir.NIRNode:
    _check_dt(where, cell, s)
    tau = _tau(where, "tau_mem_inv", _kappa(where, "tau_mem_inv", cell.dt, cell.p.tau_mem_inv), s)
    return nir.LI(tau=_shaped(tau, shape), r=_shaped(1.0 if r is None else r, shape), v_leak=_shaped(cell.p.v_leak, shape))


def _iaf(where, cell, s, shape, gain=None, reset="value", zero_start=False) -> nir.NIRNode:
    """IAFCell adds its input as is: NIR's Δt·r = gain (1 for a bare cell)."""
    _check_reset(where, reset, s)
    v_reset = _np(cell.p.v_reset)
    if not zero_start and np.any(v_reset != 0):
        raise UnsupportedNodeError(
            "IAFCell starts its membrane at v_reset, NIR's IF at 0", node=where, field="v_reset", expected="0",
        )
    r = (1.0 if gain is None else _np(gain)) / s.dt
    return nir.IF(r=_shaped(r, shape), v_threshold=_shaped(cell.p.v_th, shape), v_reset=_shaped(v_reset, shape))


def _lif_current(where, cell, s, shape) -> nir.NIRNode:
    """LIFCell / LIFRecurrentCell: CubaLIF with w_in = 1/κ_syn (Norse adds the input to the current)."""
    _check_dt(where, cell, s)
    _check_reset(where, "value", s)
    p = cell.p
    k_syn = _kappa(where, "tau_syn_inv", cell.dt, p.tau_syn_inv)
    tau_syn = _tau(where, "tau_syn_inv", k_syn, s)
    tau_mem = _tau(where, "tau_mem_inv", _kappa(where, "tau_mem_inv", cell.dt, p.tau_mem_inv), s)
    return nir.CubaLIF(
        tau_syn=_shaped(tau_syn, shape), tau_mem=_shaped(tau_mem, shape), r=_shaped(1.0, shape),
        v_leak=_shaped(p.v_leak, shape), v_threshold=_shaped(p.v_th, shape), v_reset=_shaped(p.v_reset, shape),
        w_in=_shaped(1.0 / k_syn, shape),
    )


# -- nirverse's own node modules (NorseGraph) -------------------------------------------------
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
    if kind == "Scale":
        return nir.Scale(scale=c("scale"))
    if kind == "Threshold":
        return nir.Threshold(threshold=c("threshold"))
    if kind == "Delay":
        return nir.Delay(delay=c("delay"))
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


def _from_module(name: str, node: Node, original: Any, s: Semantics, in_shape, out_shape) -> nir.NIRNode:
    """The NIR node read back from the Norse modules of a (possibly modified) NorseGraph node."""
    from norse.torch import IAFCell

    kind = node.kind
    if isinstance(node, Cell):
        shape = tuple(out_shape)
        if kind == "LIF":
            return _lif_box(name, node.cell, s, shape, node.gain)
        if kind == "LI":
            return _li_box(name, node.cell, s, shape, node.gain)
        reset = "value" if isinstance(node.cell, IAFCell) else "subtract"
        spec = _iaf(name, node.cell, s, shape, node.gain, reset if kind == "IF" else s.reset, zero_start=True)
        return spec if kind == "IF" else nir.I(r=spec.r)
    if isinstance(node, Cuba):
        shape = tuple(out_shape)
        k_syn = _kappa(name, "tau_mem_inv", node.synapse.dt, node.synapse.p.tau_mem_inv)
        if np.any(_np(node.synapse.p.v_leak) != 0):
            raise UnsupportedNodeError("the synapse leaks towards a non-zero value", node=name, field="v_leak", expected="0")
        _check_dt(name, node.synapse, s)
        membrane = (_lif_box if kind == "CubaLIF" else _li_box)(name, node.membrane, s, shape, node.r)
        fields = {k: getattr(membrane, k) for k in _NEURON_FIELDS[kind] if hasattr(membrane, k) and k != "tau"}
        fields.update(
            tau_mem=membrane.tau, tau_syn=_shaped(_tau(name, "tau_mem_inv", k_syn, s), shape),
            w_in=_shaped(1.0 if node.w_in is None else node.w_in, shape),
        )
        return getattr(nir, kind)(**fields)
    if isinstance(node, DelayLine):
        return nir.Delay(delay=_np(node.steps) * s.dt)
    if isinstance(node, Stateless):
        fn = node.fn
        if kind in ("Affine", "Linear"):
            weight, bias = _np(fn.weight), (_np(fn.bias) if kind == "Affine" else None)
            if node.fold is not None:  # the next neuron's gain was folded into these rows: take it out
                fold = _np(node.fold)
                weight, bias = weight / fold[:, None], (None if bias is None else bias / fold)
            return nir.Affine(weight=weight, bias=bias) if kind == "Affine" else nir.Linear(weight=weight)
        if kind == "Scale":
            return nir.Scale(scale=_np(fn.scale))
        if kind == "Threshold":
            return nir.Threshold(threshold=_np(fn.threshold))
        if kind in ("Conv1d", "Conv2d"):
            conv = fn[-1] if isinstance(fn, torch.nn.Sequential) else fn
            weight, bias = _np(conv.weight), _np(conv.bias)
            if node.fold is not None:  # the next neuron's per-channel gain was folded in: take it out
                fold = _np(node.fold)
                weight, bias = weight / fold.reshape((-1,) + (1,) * (weight.ndim - 1)), bias / fold
            p = dict(node.source, weight=weight, bias=bias)
            return _from_source(kind, p, original, in_shape)
        return _from_source(kind, node.source, original, in_shape)
    raise UnsupportedNodeError(f"unknown nirverse node module {type(node).__name__}", node=name, field="type")


def _export_graph(model: NorseGraph, s: Semantics) -> nir.NIRGraph:
    plan = model.plan
    same = s == model.semantics
    if s.latency != model.semantics.latency:
        here = {(e.source, e.target) for e in prepare(plan.graph, s).delayed_edges}
        if here != {(e.source, e.target) for e in plan.delayed_edges}:
            raise UnsupportedSemanticsError(
                f"the model was built for latency={model.semantics.latency!r}; under {s.latency!r} its graph "
                "would delay other edges", field="latency", expected=repr(model.semantics.latency),
            )
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


# -- user-written Norse models ----------------------------------------------------------------
def _shape_of_cell(cell: Any) -> tuple[int, ...] | None:
    for key in ("v_leak", "v_th", "tau_mem_inv"):
        value = getattr(cell.p, key, None)
        if isinstance(value, torch.Tensor) and value.dim() > 0:
            return tuple(value.shape)
    return None


def _fragment(name: str, mod: torch.nn.Module, s: Semantics, shape: tuple[int, ...] | None):
    """(nodes, edges, entry, exit, out_shape, in_shape) of one module of a chain."""
    from norse.torch import IAFCell, LIBoxCell, LIFBoxCell, LIFCell, LIFRecurrentCell

    if isinstance(mod, LIFRecurrentCell):
        w_in, w_rec = _np(mod.input_weights), _np(mod.recurrent_weights)
        hidden = (w_in.shape[0],)
        if shape is not None and tuple(shape) != (w_in.shape[1],):
            raise UnsupportedNodeError(f"receives shape {shape}", node=name, field="input_size", expected=str(w_in.shape[1]))
        nodes = {name + "_in": nir.Linear(weight=w_in), name: _lif_current(name, mod, s, hidden),
                 name + "_rec": nir.Linear(weight=w_rec)}
        edges = [(name + "_in", name), (name, name + "_rec"), (name + "_rec", name)]
        return nodes, edges, name + "_in", name, hidden, (w_in.shape[1],)
    if isinstance(mod, (LIFBoxCell, LIBoxCell, IAFCell, LIFCell)):
        own = _shape_of_cell(mod)
        shape = shape if shape is not None else own
        if shape is None:
            raise UnsupportedNodeError("the layer's size is unknown", node=name, field="input_shape",
                                       expected="input_shape=... or per-neuron parameters")
        if isinstance(mod, LIFBoxCell):
            node = _lif_box(name, mod, s, shape)
        elif isinstance(mod, LIBoxCell):
            node = _li_box(name, mod, s, shape)
        elif isinstance(mod, IAFCell):
            node = _iaf(name, mod, s, shape)
        else:
            node = _lif_current(name, mod, s, shape)
        return {name: node}, [], name, name, shape, shape
    if isinstance(mod, torch.nn.Linear):
        w = _np(mod.weight)
        node = nir.Linear(weight=w) if mod.bias is None else nir.Affine(weight=w, bias=_np(mod.bias))
        return {name: node}, [], name, name, (w.shape[0],), (w.shape[1],)
    if shape is None:
        raise UnsupportedNodeError("the input shape is unknown", node=name, field="input_shape",
                                   expected="to_nir(..., input_shape=(C, H, W))")
    with torch.no_grad():
        probe = mod(torch.zeros((1, *shape), dtype=next(iter(mod.parameters()), torch.zeros(())).dtype))
    out_shape = tuple(probe.shape[1:])
    node = _layer_node(name, mod, shape)
    return {name: node}, [], name, name, out_shape, tuple(shape)


def _layer_node(name: str, mod: torch.nn.Module, shape: tuple[int, ...]) -> nir.NIRNode:
    """The NIR node of a torch Conv1d/Conv2d, AvgPool2d or Flatten receiving ``shape`` (per sample)."""
    if isinstance(mod, (torch.nn.Conv1d, torch.nn.Conv2d)):
        if not isinstance(mod.padding, tuple) or mod.padding_mode != "zeros":
            raise UnsupportedNodeError(f"padding {mod.padding!r} ({mod.padding_mode})", node=name, field="padding",
                                       expected="explicit zero padding")
        cls = nir.Conv1d if isinstance(mod, torch.nn.Conv1d) else nir.Conv2d
        bias = np.zeros(mod.out_channels) if mod.bias is None else _np(mod.bias)
        node = cls(input_shape=np.array(shape[1:]), weight=_np(mod.weight), stride=mod.stride, padding=mod.padding,
                   dilation=mod.dilation, groups=mod.groups, bias=bias)
    elif isinstance(mod, torch.nn.AvgPool2d):
        if mod.ceil_mode or not mod.count_include_pad or mod.divisor_override not in (None, 1):
            raise UnsupportedNodeError("ceil_mode, count_include_pad=False or a divisor", node=name, field="AvgPool2d",
                                       expected="PyTorch's defaults or divisor_override=1 (a sum)")
        cls = nir.SumPool2d if mod.divisor_override == 1 else nir.AvgPool2d
        node = cls(kernel_size=_pair(mod.kernel_size), stride=_pair(mod.stride if mod.stride is not None else mod.kernel_size),
                   padding=_pair(mod.padding))
    elif isinstance(mod, torch.nn.Flatten):
        start = mod.start_dim - 1 if mod.start_dim > 0 else mod.start_dim
        end = mod.end_dim - 1 if mod.end_dim > 0 else mod.end_dim
        node = nir.Flatten(input_type={"input": np.array(shape)}, start_dim=start, end_dim=end)
    else:
        raise UnsupportedNodeError(f"no NIR export for {type(mod).__name__}", node=name, field="type",
                                   expected="Norse cells, Linear, Conv1d/2d, AvgPool2d, Flatten, Sequential")
    return node


def _pair(v: Any) -> np.ndarray:
    return np.array(v if isinstance(v, tuple) else (v, v))


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
        frag_nodes, frag_edges, entry, exit_, out_shape, in_shape = _fragment(name, mod, s, shape)
        first_in = first_in or in_shape
        nodes.update(frag_nodes)
        edges.append((previous, entry))
        edges.extend(frag_edges)
        previous, shape = exit_, out_shape
    nodes["input"] = nir.Input(input_type=np.array(first_in))
    nodes["output"] = nir.Output(output_type=np.array(shape))
    edges.append((previous, "output"))
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    graph.metadata = dict(s.to_metadata())
    if s.latency == "one-step":
        here = {(e.source, e.target) for e in prepare(graph, s).delayed_edges}
        norse = {(e.source, e.target) for e in prepare(graph, Semantics(s.dt, s.method, s.reset)).delayed_edges}
        if here != norse:
            raise UnsupportedSemanticsError(
                "Norse delivers a layer's spikes to the next layer in the same step; under 'one-step' the edges "
                f"{sorted(here - norse)} would be delayed", field="latency", expected="'immediate'",
            )
    return graph


def to_nir(module: Any, semantics: Semantics, input_shape: Any = None) -> nir.NIRGraph:
    """A ``nir.NIRGraph`` that executes like ``module`` under ``semantics`` (see the module docstring)."""
    if not isinstance(semantics, Semantics):
        from nirverse import InvalidSemanticsError

        raise InvalidSemanticsError(f"got {type(semantics).__name__}", field="semantics", expected="a nirverse.Semantics")
    if isinstance(module, NorseGraph):
        return _export_graph(module, semantics)
    if not isinstance(module, torch.nn.Module):
        raise UnsupportedNodeError(f"got {type(module).__name__}", field="module", expected="a torch.nn.Module")
    return _export_chain(module, semantics, input_shape)
