r"""SpikingJelly → NIR: a graph whose reference run under ``semantics`` equals the SpikingJelly model's own run.

SpikingJelly steps a model layer by layer: a layer's spikes reach the next layer in the same step, so the
export needs ``latency="immediate"``. Its neurons are discrete (time constants in steps); with
:math:`\kappa = 1/\tau_{sj}` (``LIFNode``) or :math:`\kappa = \sigma(w)` (``ParametricLIFNode``) the NIR time
constant is the one whose leak factor under the semantics is κ (:math:`\Delta t/\kappa` for euler,
:math:`-\Delta t/\ln(1-\kappa)` for exp), so any ``dt`` and either method works. SpikingJelly fires on
:math:`h \ge \theta`; NIR's threshold is strict, so the exported threshold is the float just below θ.

=============================  ================================================================================
SpikingJelly                   NIR
=============================  ================================================================================
``IFNode(θ, v_reset)``         IF: r = 1/Δt, v_threshold = prev(θ), v_reset; ``v_reset=None`` needs
                               ``reset="subtract"``, a float ``reset="value"``; v_reset must be 0 (SpikingJelly
                               starts the membrane at v_reset, NIR's IF at 0)
``LIFNode(τ, decay_input)``    LIF: tau = κ⁻¹(1/τ), r = 1 (``decay_input``) or τ (not: the input enters unscaled),
                               v_leak = v_reset (0 for ``v_reset=None``: SpikingJelly leaks towards it),
                               v_threshold = prev(θ), v_reset
``ParametricLIFNode(w)``       as LIFNode with κ = sigmoid(w) (its value at export time)
``Linear``                     Affine (W, b) or Linear (W); ``layer.Linear`` or ``torch.nn.Linear``
``Conv1d/Conv2d``              Conv1d/Conv2d (zero padding)
``AvgPool2d``                  AvgPool2d (``count_include_pad``) or SumPool2d (``divisor_override=1``)
``Flatten``                    Flatten (per-sample dims = torch dims − 1)
``Sequential``                 a chain; also SpikingJelly's ``SeqToANNContainer`` / ``MultiStepContainer``
``SpikingJellyGraph``          the graph it was built from, each node's parameters read back from its modules --
                               or, where those still hold the numbers built from the NIR graph and the semantics
                               is the same, the original NIR parameters (NIR → SpikingJelly → NIR is bit-exact)
=============================  ================================================================================

Single- and multi-step models export alike (the step mode changes how a model is called, not its maths).
"""

from __future__ import annotations

import copy
from typing import Any

import nir
import numpy as np
import torch
from nirverse import InvalidSemanticsError, Semantics, UnsupportedNodeError, UnsupportedSemanticsError, prepare

from ._model import SpikingJellyGraph
from ._nodes import Cuba, DelayLine, Node, Population, Stateless

__all__ = ["to_nir"]


def _np(t: Any) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().to(torch.float64).numpy().copy()
    return np.asarray(t, dtype=np.float64)


def _below(theta: Any) -> np.ndarray:
    """The NIR threshold of a SpikingJelly one: u > prev(θ) ⟺ u ≥ θ."""
    return np.nextafter(_np(theta), -np.inf)


def _tau(where: str, field: str, kappa: np.ndarray, s: Semantics) -> np.ndarray:
    """The time constant whose leak factor under ``s`` is ``kappa``."""
    if np.any(kappa <= 0) or np.any(kappa >= 1):
        raise UnsupportedNodeError(f"per-step leak factor {float(np.max(kappa))!r} has no NIR time constant",
                                   node=where, field=field, expected="0 < 1/tau < 1")
    return s.dt / kappa if s.method == "euler" else -s.dt / np.log1p(-kappa)


def _check_reset(where: str, v_reset: Any, s: Semantics) -> None:
    wanted = "subtract" if v_reset is None else "value"
    if s.reset != wanted:
        raise UnsupportedSemanticsError(
            f"{where} resets {'by subtracting v_threshold' if v_reset is None else 'to v_reset'}, the semantics "
            f"by {s.reset!r}", node=where, field="reset", expected=f"reset={wanted!r}",
        )


# -- user-written SpikingJelly neurons --------------------------------------------------------
def _sj_neuron(where: str, mod: Any, s: Semantics, shape: tuple[int, ...]) -> nir.NIRNode:
    from spikingjelly.activation_based import neuron

    full = lambda v: np.full(shape, float(v))  # noqa: E731
    if type(mod) not in (neuron.IFNode, neuron.LIFNode, neuron.ParametricLIFNode):
        raise UnsupportedNodeError(f"no NIR export for {type(mod).__name__}", node=where, field="type",
                                   expected="IFNode, LIFNode or ParametricLIFNode")
    _check_reset(where, mod.v_reset, s)
    v_reset = 0.0 if mod.v_reset is None else mod.v_reset
    if isinstance(mod, neuron.IFNode):
        if v_reset != 0:
            raise UnsupportedNodeError("IFNode starts its membrane at v_reset, NIR's IF at 0", node=where,
                                       field="v_reset", expected="0.0 or None")
        return nir.IF(r=full(1.0 / s.dt), v_threshold=_below(full(mod.v_threshold)), v_reset=full(0.0))
    if isinstance(mod, neuron.ParametricLIFNode):
        kappa = float(torch.sigmoid(mod.w.detach().to(torch.float64)))
    else:
        kappa = 1.0 / mod.tau
    return nir.LIF(
        tau=_tau(where, "tau", full(kappa), s), r=full(1.0 if mod.decay_input else 1.0 / kappa),
        v_leak=full(v_reset), v_threshold=_below(full(mod.v_threshold)), v_reset=full(v_reset),
    )


def _probe(mod: torch.nn.Module, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The per-sample output shape of a stateless layer (called as its step mode expects)."""
    multi = getattr(mod, "step_mode", "s") == "m"
    param = next(iter(mod.parameters()), None)
    dtype = param.dtype if param is not None else torch.float64
    with torch.no_grad():
        out = mod(torch.zeros(((1, 1) if multi else (1,)) + tuple(shape), dtype=dtype))
    return tuple(out.shape[2:] if multi else out.shape[1:])


def _pair(v: Any) -> np.ndarray:
    return np.array(v if isinstance(v, (tuple, list)) else (v, v))


def _stateless(where: str, mod: torch.nn.Module, shape: tuple[int, ...]) -> nir.NIRNode:
    if isinstance(mod, torch.nn.Linear):
        w = _np(mod.weight)
        return nir.Linear(weight=w) if mod.bias is None else nir.Affine(weight=w, bias=_np(mod.bias))
    if isinstance(mod, (torch.nn.Conv1d, torch.nn.Conv2d)):
        if mod.padding_mode != "zeros":
            raise UnsupportedNodeError(f"padding_mode={mod.padding_mode!r}", node=where, field="padding_mode",
                                       expected="'zeros'")
        cls = nir.Conv1d if isinstance(mod, torch.nn.Conv1d) else nir.Conv2d
        bias = np.zeros(mod.out_channels) if mod.bias is None else _np(mod.bias)
        padding = mod.padding if isinstance(mod.padding, str) else tuple(mod.padding)
        return cls(input_shape=np.array(shape[1:]), weight=_np(mod.weight), stride=tuple(mod.stride), padding=padding,
                   dilation=tuple(mod.dilation), groups=mod.groups, bias=bias)
    if isinstance(mod, torch.nn.AvgPool2d):
        if mod.ceil_mode or (not mod.count_include_pad and np.any(_pair(mod.padding))) or mod.divisor_override not in (None, 1):
            raise UnsupportedNodeError("ceil_mode, count_include_pad=False or a divisor", node=where, field="AvgPool2d",
                                       expected="PyTorch's defaults or divisor_override=1 (a sum)")
        cls = nir.SumPool2d if mod.divisor_override == 1 else nir.AvgPool2d
        stride = mod.kernel_size if mod.stride is None else mod.stride
        return cls(kernel_size=_pair(mod.kernel_size), stride=_pair(stride), padding=_pair(mod.padding))
    if isinstance(mod, torch.nn.Flatten):
        start = mod.start_dim - 1 if mod.start_dim > 0 else mod.start_dim
        end = mod.end_dim - 1 if mod.end_dim > 0 else mod.end_dim
        return nir.Flatten(input_type={"input": np.array(shape)}, start_dim=start, end_dim=end)
    raise UnsupportedNodeError(f"no NIR export for {type(mod).__name__}", node=where, field="type",
                               expected="Linear, Conv1d/2d, AvgPool2d, Flatten, IFNode, LIFNode, ParametricLIFNode")


def _chain_types() -> tuple[type, ...]:
    """Containers that apply their children in order, time first (the TLast ones move time last: refused)."""
    from spikingjelly.activation_based import layer

    return (torch.nn.Sequential, layer.SeqToANNContainer, layer.MultiStepContainer, layer.StepModeContainer)


def _leaves(module: torch.nn.Module, prefix: str = "") -> list[tuple[str, torch.nn.Module]]:
    """The layers of a (nested) Sequential / SpikingJelly container, in order; Identity and Dropout dropped."""
    if isinstance(module, torch.nn.Sequential) and type(module) not in _chain_types():
        raise UnsupportedNodeError(f"{type(module).__name__} is not exported", node=prefix.rstrip("_") or "<module>",
                                   field="type", expected="Sequential, SeqToANNContainer, MultiStepContainer or "
                                   "StepModeContainer")
    if isinstance(module, torch.nn.Sequential):
        out = []
        for key, child in module.named_children():
            out.extend(_leaves(child, f"{prefix}{key}_"))
        return out
    if isinstance(module, (torch.nn.Identity, torch.nn.Dropout)):
        return []
    return [(prefix.rstrip("_") or "0", module)]


def _input_shape(layers: list[tuple[str, torch.nn.Module]]) -> tuple[int, ...] | None:
    first = layers[0][1]
    return (first.in_features,) if isinstance(first, torch.nn.Linear) else None


def _export_chain(module: torch.nn.Module, s: Semantics, input_shape: Any) -> nir.NIRGraph:
    from spikingjelly.activation_based.base import MemoryModule

    layers = _leaves(module)
    if not layers:
        raise UnsupportedNodeError("the model has no layers", field="modules", expected="at least one layer")
    shape = tuple(int(v) for v in np.atleast_1d(input_shape)) if input_shape is not None else _input_shape(layers)
    if shape is None:
        raise UnsupportedNodeError("the first layer does not fix the input shape", node=layers[0][0],
                                   field="input_shape", expected="to_nir(..., input_shape=(C, H, W))")
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(shape)})}
    edges, previous = [], "input"
    for key, mod in layers:
        name = f"{type(mod).__name__.lower()}_{key}"
        if isinstance(mod, MemoryModule):
            nodes[name] = _sj_neuron(name, mod, s, shape)
        else:
            nodes[name] = _stateless(name, mod, shape)
            shape = _probe(mod, shape)
        edges.append((previous, name))
        previous = name
    nodes["output"] = nir.Output(output_type={"output": np.array(shape)})
    edges.append((previous, "output"))
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False, metadata=s.to_metadata())
    if any(e.delayed for e in prepare(graph, s).edges):
        raise UnsupportedSemanticsError(
            "SpikingJelly delivers a layer's spikes to the next layer in the same step; under 'one-step' they would "
            "arrive a step later", field="latency", expected="'immediate'",
        )
    return graph


# -- nirverse's own SpikingJellyGraph ------------------------------------------------------------
def _per_neuron(node: Node, attr: str, shape: tuple[int, ...]) -> np.ndarray:
    """A scalar attribute of every population, spread over the neurons it runs."""
    out = np.empty(int(np.prod(shape)))
    for idx, pop in zip(node.indices, node.pops):
        value = getattr(pop, attr)
        out[slice(None) if idx is None else idx.numpy()] = np.nan if value is None else float(value)
    return out.reshape(shape)


def _gain(node: Node, shape) -> np.ndarray:
    return np.ones(shape) if node.gain is None else _np(node.gain)


def _bias(node: Node, shape) -> np.ndarray:
    return np.zeros(shape) if node.bias is None else _np(node.bias)


def _read_population(name: str, node: Population, s: Semantics) -> nir.NIRNode:
    """Invert the mapping of ``_mapping`` for an IF / I / LIF / LI population."""
    shape, kind = node.shape, node.kind
    gain = _gain(node, shape)
    if kind in ("I", "IF"):
        r = gain / s.dt
        if kind == "I":
            return nir.I(r=r)
        v_reset = _per_neuron(node, "v_reset", shape)
        return nir.IF(r=r, v_threshold=_below(_per_neuron(node, "v_threshold", shape)),
                      v_reset=np.nan_to_num(v_reset, nan=0.0))
    kappa = 1.0 / _per_neuron(node, "tau", shape)
    scaled = not node.pops[0].decay_input
    r = 1.0 / kappa if scaled else gain
    tau = _tau(name, "tau", kappa, s)
    if kind == "LI":
        return nir.LI(tau=tau, r=r, v_leak=_per_neuron(node, "v_reset", shape))
    v_reset = _per_neuron(node, "v_reset", shape)
    target = np.nan_to_num(v_reset, nan=0.0)
    bias = _bias(node, shape)
    v_leak = target + (bias / kappa if scaled else bias)
    return nir.LIF(tau=tau, r=r, v_leak=v_leak, v_threshold=_below(_per_neuron(node, "v_threshold", shape)),
                   v_reset=target)


def _read_cuba(name: str, node: Cuba, s: Semantics) -> nir.NIRNode:
    """Invert c = a i + b with a = κ_mem r, b = κ_mem v_leak, input a κ_syn w_in x + κ_syn b."""
    shape = node.shape
    k_syn = 1.0 - _per_neuron(node, "c_decay", shape)
    k_mem = 1.0 - _per_neuron(node, "v_decay", shape)
    a = np.ones(shape) if node.c_scale is None else _np(node.c_scale)
    b = _np(node.c0)
    fields = dict(tau_syn=_tau(name, "c_decay", k_syn, s), tau_mem=_tau(name, "v_decay", k_mem, s), r=a / k_mem,
                  v_leak=b / k_mem, w_in=_gain(node, shape) / (a * k_syn))
    if node.kind == "CubaLI":
        return nir.CubaLI(**fields)
    v_reset = np.nan_to_num(_per_neuron(node, "v_reset", shape), nan=0.0)
    return nir.CubaLIF(**fields, v_threshold=_below(_per_neuron(node, "v_threshold", shape)), v_reset=v_reset)


def _read_stateless(name: str, node: Stateless, source_node: Any) -> nir.NIRNode:
    fn = node.fn[-1] if isinstance(node.fn, torch.nn.Sequential) else node.fn
    kind = node.kind
    if kind == "Affine":
        return nir.Affine(weight=_np(fn.weight), bias=_np(fn.bias))
    if kind == "Linear":
        return nir.Linear(weight=_np(fn.weight))
    if kind in ("Conv1d", "Conv2d"):
        return type(source_node)(input_shape=source_node.input_shape, weight=_np(fn.weight), stride=source_node.stride,
                                 padding=source_node.padding, dilation=source_node.dilation,
                                 groups=source_node.groups, bias=_np(fn.bias))
    if kind == "Scale":
        return nir.Scale(scale=_np(fn.scale))
    if kind == "Threshold":
        return nir.Threshold(threshold=_below(fn.threshold))
    return source_node  # pools, Flatten: no tensors


def _export_graph(model: SpikingJellyGraph, s: Semantics) -> nir.NIRGraph:
    plan = model.plan
    if (s.dt, s.reset) != (model.semantics.dt, model.semantics.reset) or (
        {e.source + ">" + e.target for e in prepare(plan.graph, s).delayed_edges}
        != {e.source + ">" + e.target for e in plan.delayed_edges}
    ):
        raise UnsupportedSemanticsError(
            f"the model was built for {model.semantics}; its steps, resets and delays are those", field="semantics",
            expected="the same dt, reset and delayed edges (another method is fine)",
        )
    layers = model.layers

    def leaf(name: str, original: Any) -> Any:
        node = layers.get(name)
        if node is None or node.kind in ("Input", "Output", "Pass"):
            return original
        if node.unchanged() and (s == model.semantics or isinstance(node, Stateless)):
            return copy.deepcopy(original)
        if isinstance(node, Population):
            return _read_population(name, node, s)
        if isinstance(node, Cuba):
            return _read_cuba(name, node, s)
        if isinstance(node, DelayLine):
            return copy.deepcopy(original)
        return _read_stateless(name, node, original)

    def rebuild(graph: nir.NIRGraph, prefix: str) -> nir.NIRGraph:
        nodes = {key: rebuild(sub, prefix + key + ".") if isinstance(sub, nir.NIRGraph) else leaf(prefix + key, sub)
                 for key, sub in graph.nodes.items()}
        return nir.NIRGraph(nodes=nodes, edges=list(graph.edges), type_check=False)

    out = rebuild(plan.graph, "")
    out.metadata = dict(s.to_metadata())
    return out


def to_nir(module: Any, semantics: Semantics, input_shape: Any = None) -> nir.NIRGraph:
    """A ``nir.NIRGraph`` that executes like ``module`` under ``semantics`` (see the module docstring)."""
    if not isinstance(semantics, Semantics):
        raise InvalidSemanticsError(f"got {type(semantics).__name__}", field="semantics", expected="a nirverse.Semantics")
    if isinstance(module, SpikingJellyGraph):
        return _export_graph(module, semantics)
    if not isinstance(module, torch.nn.Module):
        raise UnsupportedNodeError(f"got {type(module).__name__}", field="module", expected="a torch.nn.Module")
    return _export_chain(module, semantics, input_shape)
