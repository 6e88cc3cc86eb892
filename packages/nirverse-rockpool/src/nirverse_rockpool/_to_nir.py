r"""Rockpool torch modules -> NIR, so that the graph's reference run under ``semantics`` equals the module's run.

The inverse of the mapping in ``_from_nir``. With a Rockpool decay :math:`d` (``alpha``, ``beta`` or
:math:`e^{-\Delta t/\tau}` of ``ExpSynTorch``), the NIR time constant is :math:`\tau = -\Delta t/\log d`
(``"exp"``) or :math:`\Delta t/(1-d)` (``"euler"``), so that :math:`1-\kappa(\tau) = d`, and
:math:`\kappa = \kappa(\tau)`:

=====================  ==========================================================================================
Rockpool module        NIR node
=====================  ==========================================================================================
``LinearTorch``        ``Linear(W=weight.T)``, or ``Affine(weight.T, bias)``
``ScaleTorch``         ``Scale(scale)``, or ``Affine(diag(scale), offset)`` with an offset
``LIFNeuronTorch``     ``LIF(tau, r = g/kappa, v_leak = bias/kappa, v_threshold = threshold)``, ``g`` the gain of a
                       preceding ``ScaleTorch`` (1 alone); with decay 1 (``tau_mem = inf``) ``IF(r = g/dt)``
``LIFTorch``           ``CubaLIF(tau_syn, tau_mem, w_in = 1, r = beta*g/(kappa_s*kappa_m), v_leak = bias/kappa_m,
                       v_threshold)``; ``has_rec`` adds ``Linear(W = w_rec.T)`` in a loop on the neuron
``ExpSynTorch``        ``LI(tau, r = beta*g/kappa, v_leak = beta*c/kappa)`` (``c`` a ScaleTorch offset), or
                       ``I(r = g/dt)`` with decay 1
``Sequential``         a chain input -> module -> ... -> output
``GraphTorch``         the graph it was built from, node by node: a node whose modules still hold the values the
                       build derived exports its original NIR parameters (exact round trip); a modified one is
                       derived from its modules as above
=====================  ==========================================================================================

Rockpool's ``dt`` must equal ``semantics.dt`` (it is written to no NIR field; the semantics carries it).
The ``*ValueResetTorch`` modules need ``reset="value"``; Rockpool's own LIF modules subtract, so they need
``reset="subtract"``. Rockpool modules start at v = 0 while NIR neurons start at ``v_leak``: with a
non-zero ``bias`` the module must start from its rest state :math:`b/(1-\alpha)` (GraphTorch does).
The graphs are equal as long as Rockpool's spike function emits unit spikes: its stock ``StepPWL`` fires
on :math:`v \ge \vartheta` and emits :math:`\lfloor v/\vartheta \rfloor` spikes, where NIR fires one spike on
:math:`v > \vartheta`; ``test_to_nir`` measures the difference when several spikes per step occur.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any

import nir
import numpy as np
import torch
from nirverse import Semantics, UnsupportedNodeError, UnsupportedSemanticsError

__all__ = ["to_nir"]

NEURONS = ("I", "IF", "LI", "LIF", "CubaLI", "CubaLIF")


def _np(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().to(torch.float64).numpy().copy()
    return np.asarray(value, dtype=np.float64).copy()


def _tau(decay: np.ndarray, semantics: Semantics, node: str, field: str) -> np.ndarray:
    """The NIR time constant whose 1 - kappa equals Rockpool's decay."""
    if np.any(decay <= 0) or np.any(decay >= 1):
        raise UnsupportedNodeError(
            f"decay {decay.min():.6g}..{decay.max():.6g} is outside (0, 1)", node=node, field=field,
            expected="0 < exp(-dt/tau) < 1 (a finite, positive time constant)",
        )
    if semantics.method == "exp":
        return -semantics.dt / np.log(decay)
    return semantics.dt / (1.0 - decay)


def _check_dt(module: Any, semantics: Semantics, node: str) -> None:
    dt = float(module.dt)
    if dt != semantics.dt:
        raise UnsupportedSemanticsError(
            f"the module runs with dt={dt!r}", node=node, field="dt", expected=f"semantics.dt == module dt ({semantics.dt!r})"
        )
    noise = float(_np(getattr(module, "noise_std", 0.0)).max(initial=0.0))
    if noise != 0.0:
        raise UnsupportedNodeError(f"noise_std={noise!r}", node=node, field="noise_std", expected="0 (NIR has no noise)")


def _reset_fields(module: Any, semantics: Semantics, node: str, n: int) -> dict[str, np.ndarray]:
    from ._nodes import LIFNeuronValueResetTorch, LIFValueResetTorch

    threshold = np.broadcast_to(_np(module.threshold), (n,)).copy()
    if np.any(threshold <= 0):
        raise UnsupportedNodeError("non-positive thresholds", node=node, field="threshold", expected="threshold > 0")
    value = isinstance(module, (LIFNeuronValueResetTorch, LIFValueResetTorch))
    if value and semantics.reset != "value":
        raise UnsupportedSemanticsError(
            f"{type(module).__name__} resets to v_reset", node=node, field="reset", expected="reset='value'"
        )
    if not value and semantics.reset != "subtract":
        raise UnsupportedSemanticsError(
            f"{type(module).__name__} subtracts the threshold on a spike", node=node, field="reset",
            expected="reset='subtract'",
        )
    v_reset = np.broadcast_to(_np(module.v_reset), (n,)).copy() if value else np.zeros(n)
    return {"v_threshold": threshold, "v_reset": v_reset}


def _gain(gain: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    if gain is None:
        return np.ones(n), np.zeros(n)
    scale = np.broadcast_to(_np(gain.scale), (n,)).copy()
    offset = np.zeros(n) if gain.offset is None else np.broadcast_to(_np(gain.offset), (n,)).copy()
    return scale, offset


def neuron_to_nir(core: Any, gain: Any, semantics: Semantics, node: str) -> tuple[nir.NIRNode, np.ndarray | None]:
    """One Rockpool neuron module (after an optional ScaleTorch ``gain``) -> (NIR node, recurrent NIR W or None)."""
    from rockpool.nn.modules import ExpSynTorch, LIFNeuronTorch, LIFTorch

    n = core.size_out
    _check_dt(core, semantics, node)
    g, offset = _gain(gain, n)
    dt = semantics.dt
    if isinstance(core, ExpSynTorch):
        beta = np.broadcast_to(np.exp(-dt / _np(core.tau)), (n,)).copy()
        if np.all(beta == 1.0) and not offset.any():
            return nir.I(r=g / dt), None
        tau = _tau(beta, semantics, node, "tau")
        kappa = semantics.kappa(tau)
        return nir.LI(tau=tau, r=beta * g / kappa, v_leak=beta * offset / kappa), None
    if offset.any():
        raise UnsupportedNodeError("a ScaleTorch offset in front of a LIF module", node=node, field="offset",
                                   expected="no offset (use the neuron's bias)")
    if isinstance(core, LIFTorch):
        if core.size_in != core.size_out:
            raise UnsupportedNodeError(
                f"{core.size_in // core.size_out} synapses per neuron", node=node, field="shape",
                expected="one synapse per neuron (size_in == size_out)",
            )
        alpha = np.broadcast_to(_np(core.alpha), (n,)).copy()
        beta = np.broadcast_to(_np(core.beta).reshape(-1), (n,)).copy()
        tau_mem, tau_syn = _tau(alpha, semantics, node, "tau_mem"), _tau(beta, semantics, node, "tau_syn")
        km, ks = semantics.kappa(tau_mem), semantics.kappa(tau_syn)
        bias = np.broadcast_to(_np(core.bias), (n,)).copy()
        lif = nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=beta * g / (ks * km), v_leak=bias / km,
                          w_in=np.ones(n), **_reset_fields(core, semantics, node, n))
        w_rec = _np(core.w_rec).T / g[:, None] if core._has_rec else None
        return lif, w_rec
    if isinstance(core, LIFNeuronTorch):
        alpha = np.broadcast_to(np.exp(-dt / _np(core.tau_mem)), (n,)).copy()
        bias = np.broadcast_to(_np(core.bias), (n,)).copy()
        fields = _reset_fields(core, semantics, node, n)
        if np.all(alpha == 1.0):
            if bias.any():
                raise UnsupportedNodeError("a bias on a neuron without leak", node=node, field="bias",
                                           expected="bias 0 where tau_mem = inf (NIR IF has no bias)")
            return nir.IF(r=g / dt, **fields), None
        tau = _tau(alpha, semantics, node, "tau_mem")
        kappa = semantics.kappa(tau)
        return nir.LIF(tau=tau, r=g / kappa, v_leak=bias / kappa, **fields), None
    raise UnsupportedNodeError(f"no NIR export for {type(core).__name__}", node=node, field="type",
                               expected="LIFTorch, LIFNeuronTorch, ExpSynTorch, LinearTorch, ScaleTorch")


def _stateless_to_nir(module: Any, node: str) -> nir.NIRNode:
    from rockpool.nn.modules import LinearTorch

    from ._nodes import ScaleTorch

    if isinstance(module, LinearTorch):
        weight = _np(module.weight).T
        if module.bias is None:
            return nir.Linear(weight=weight)
        return nir.Affine(weight=weight, bias=np.broadcast_to(_np(module.bias), (weight.shape[0],)).copy())
    if isinstance(module, ScaleTorch):
        scale = np.broadcast_to(_np(module.scale), (module.size_out,)).copy()
        if module.offset is None:
            return nir.Scale(scale=scale)
        return nir.Affine(weight=np.diag(scale), bias=np.broadcast_to(_np(module.offset), scale.shape).copy())
    raise UnsupportedNodeError(f"no NIR export for {type(module).__name__}", node=node, field="type",
                               expected="LIFTorch, LIFNeuronTorch, ExpSynTorch, LinearTorch, ScaleTorch, Sequential")


def _is_neuron(module: Any) -> bool:
    from rockpool.nn.modules import ExpSynTorch, LIFNeuronTorch, LIFTorch

    return isinstance(module, (ExpSynTorch, LIFNeuronTorch, LIFTorch))


def _graph(nodes: dict, edges: list, semantics: Semantics) -> nir.NIRGraph:
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    graph.metadata = dict(semantics.to_metadata())
    return graph


def _chain_to_nir(modules: list[tuple[str, Any]], semantics: Semantics) -> nir.NIRGraph:
    """A chain of Rockpool modules (a ScaleTorch right before a neuron is merged into it)."""
    from ._nodes import ScaleTorch

    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type=np.array([modules[0][1].size_in]))}
    edges: list[tuple[str, str]] = []
    previous = "input"
    neuron_feeds: list[str] = []  # neuron -> next non-Output node edges
    i = 0
    while i < len(modules):
        name, mod = modules[i]
        if isinstance(mod, ScaleTorch) and i + 1 < len(modules) and _is_neuron(modules[i + 1][1]):
            gain = mod
            name, mod = modules[i + 1]
            i += 1
        else:
            gain = None
        if _is_neuron(mod):
            node, w_rec = neuron_to_nir(mod, gain, semantics, name)
            nodes[name] = node
            edges.append((previous, name))
            if w_rec is not None:
                nodes[name + "_rec"] = nir.Linear(weight=w_rec)
                edges += [(name, name + "_rec"), (name + "_rec", name)]
        else:
            nodes[name] = _stateless_to_nir(mod, name)
            edges.append((previous, name))
        if previous in nodes and type(nodes[previous]).__name__ in NEURONS:
            neuron_feeds.append(previous)
        previous = name
        i += 1
    nodes["output"] = nir.Output(output_type=np.array([modules[-1][1].size_out]))
    edges.append((previous, "output"))
    if semantics.latency == "one-step" and neuron_feeds:
        raise UnsupportedSemanticsError(
            f"module {neuron_feeds[0]!r} feeds the next module in the same step (Rockpool evaluates layer by layer)",
            node=neuron_feeds[0], field="latency", expected="latency='immediate'",
        )
    return _graph(nodes, edges, semantics)


def _graph_torch_to_nir(model: Any, semantics: Semantics) -> nir.NIRGraph:
    plan = model.plan
    built = plan.semantics
    if built != semantics:
        raise UnsupportedSemanticsError(
            f"the model was built under {built}", node="<graph>", field="semantics",
            expected="the semantics the GraphTorch was built with",
        )
    nodes: dict[str, nir.NIRNode] = {}
    for name in plan.nodes:
        kind = plan.types[name]
        impl = model._impls[name]
        if kind == "Pass":  # inner Input/Output of a flattened subgraph: an identity that keeps the edge
            nodes[name] = nir.Scale(scale=np.ones(plan.out_shapes[name]))
        elif kind in NEURONS:
            nodes[name] = _neuron_node(plan, name, impl, semantics)
        elif kind in ("Affine", "Linear") and getattr(impl, "fold", None) is not None:
            nodes[name] = _unfolded(plan, name, impl)
        elif kind in ("Affine", "Linear", "Scale"):
            node = _stateless_to_nir(impl.stages[0], name)
            if kind == "Scale":
                node = nir.Scale(scale=node.scale.reshape(plan.out_shapes[name]))
            nodes[name] = node
        else:  # Input, Output, Flatten, Threshold, Conv, pools, Delay: fixed functions of the graph's node
            nodes[name] = plan.nodes[name]
    edges = [(e.source, e.target) for e in plan.edges]
    return _graph(nodes, edges, semantics)


def _unfolded(plan: Any, name: str, impl: Any) -> nir.NIRNode:
    """An Affine/Linear whose LinearTorch absorbed the next node's input terms (s, c): the original node while
    unchanged, else the weights with the terms taken out: ``W = A / s``, ``b = (b' - c) / s``."""
    if _unchanged(impl.stages[0]):
        return plan.nodes[name]
    node = _stateless_to_nir(impl.stages[0], name)
    scale, offset = impl.fold
    if isinstance(node, nir.Linear):
        return nir.Linear(weight=node.weight / scale[:, None])
    return nir.Affine(weight=node.weight / scale[:, None], bias=(node.bias - offset) / scale)


def _neuron_node(plan: Any, name: str, impl: Any, semantics: Semantics) -> nir.NIRNode:
    """The original NIR node where the modules still hold what the build derived, else derived anew."""
    if all(_unchanged(stage) for stage in impl.stages):
        kind, params = impl.source["kind"], impl.source["params"]
        return getattr(nir, kind)(**{k: np.array(v) for k, v in params.items()})
    from ._nodes import ScaleTorch

    stages = list(impl.stages)
    gain = stages.pop(0) if isinstance(stages[0], ScaleTorch) else getattr(impl, "folded_gain", None)
    if len(stages) != 1:
        raise UnsupportedNodeError("modified CubaLI modules (two synapse stages) have no export", node=name,
                                   field="parameters", expected="unmodified parameters")
    node, w_rec = neuron_to_nir(stages[0], gain, semantics, name)
    if w_rec is not None:
        raise UnsupportedNodeError("a modified recurrent LIFTorch inside a GraphTorch", node=name, field="w_rec",
                                   expected="unmodified parameters")
    shape = plan.out_shapes[name]
    fields = {k: np.asarray(getattr(node, k)).reshape(shape) for k in node.__dataclass_fields__
              if isinstance(getattr(node, k), np.ndarray) and np.asarray(getattr(node, k)).size == math.prod(shape)}
    return type(node)(**fields)


def derived_v_leak(impl: Any) -> np.ndarray | None:
    """``v_leak`` of the export of a neuron whose modules changed since the build (None if unchanged)."""
    if all(_unchanged(stage) for stage in impl.stages):
        return None
    from ._nodes import ScaleTorch

    stages = list(impl.stages)
    gain = stages.pop(0) if isinstance(stages[0], ScaleTorch) else getattr(impl, "folded_gain", None)
    if len(stages) != 1:
        return None
    node, _ = neuron_to_nir(stages[0], gain, impl.source["semantics"], "<node>")
    return np.asarray(node.v_leak).reshape(-1)


def _snapshot(stage: Any, copy: bool = True) -> dict[str, Any]:
    snap: dict[str, Any] = {k: (v.detach().clone() if copy else v.detach())
                            for k, v in stage.named_parameters(recurse=False)}
    snap["dt"] = getattr(stage, "dt", None)
    return snap


def _unchanged(stage: Any) -> bool:
    before = getattr(stage, "_nirverse_snapshot", None)
    if before is None:
        return False
    now = _snapshot(stage, copy=False)
    if before.keys() != now.keys() or before["dt"] != now["dt"]:
        return False
    return all(torch.equal(before[k], now[k]) for k in now if k != "dt")


def mark_built(model: Any) -> None:
    """Record every stage's parameters at build time (what :func:`_unchanged` compares against)."""
    for impl in model._impls.values():
        for stage in impl.stages:
            object.__setattr__(stage, "_nirverse_snapshot", _snapshot(stage))


def _safe(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", name)


def _is_graph_torch(module: Any) -> bool:
    """Whether ``module`` is a :class:`~nirverse_rockpool._model.GraphTorch`. Read from ``sys.modules`` (as
    array-api-compat's ``is_torch_array`` does): a GraphTorch exists only once ``_model`` is imported, and
    ``_model`` imports this module, so importing it here would close an import cycle."""
    model = sys.modules.get(f"{__package__}._model")
    return model is not None and isinstance(module, model.GraphTorch)


def to_nir(module: Any, semantics: Semantics) -> nir.NIRGraph:
    """A NIR graph whose reference run under ``semantics`` equals ``module``'s Rockpool run (see module doc)."""
    from rockpool.nn.combinators.sequential import SequentialMixin

    if not isinstance(semantics, Semantics):
        raise UnsupportedSemanticsError(f"got {type(semantics).__name__}", field="semantics", expected="a nirverse.Semantics")
    if _is_graph_torch(module):
        return _graph_torch_to_nir(module, semantics)
    if isinstance(module, SequentialMixin):
        names = list(module._submodulenames)
        if not names:
            raise UnsupportedNodeError("an empty Sequential", node="<sequential>", field="modules", expected="modules")
        return _chain_to_nir([(_safe(n), getattr(module, n)) for n in names], semantics)
    return _chain_to_nir([(_safe(type(module).__name__), module)], semantics)
