r"""Spyx -> NIR: a graph whose run under ``semantics`` equals the Spyx model's own run (``spyx.nn.run``).

A model built in Spyx (a ``spyx.nn.Sequential``, or one layer) is a chain. Spyx's neurons emit the spike of
the state they are given (the previous step's), so each spiking layer is exported as the NIR neuron whose
pre-reset membrane u is Spyx's state, followed by a ``Delay`` of one step. With κ = 1 − β, κ_s = 1 − α
(β, α clipped to [0, 1] as Spyx does) and the inverse leak factor of the semantics
(τ = Δt/κ for euler, −Δt/ln(1 − κ) for exp):

=====================  ============================================================================
Spyx layer             NIR
=====================  ============================================================================
``nnx.Linear``         Affine(W = kernel.T, b), or Linear without bias
``spyx.nn.LI``         LI(τ(κ), r = 1/κ, v_leak = 0); β = 1: I(r = 1/Δt)
``spyx.nn.IF``         IF(r = 1/Δt, v_threshold = θ, v_reset = 0) → Delay(Δt)
``spyx.nn.LIF``        LIF(τ(κ), r = 1/κ, v_leak = 0, θ) → Delay(Δt), and a self-loop LIF → Scale(−κθ) → LIF:
                       Spyx subtracts θ after the leak, the semantics βθ; the loop adds the difference
                       −κθ z_{t−1} (a back-edge: one step)
``spyx.nn.CuBaLIF``    CubaLIF(τ_syn(κ_s), τ_mem(κ), r = 1/κ, w_in = 1/κ_s, v_leak = 0, θ) → Delay(Δt)
``RIF``/``RLIF``/      as IF / LIF / CuBaLIF plus a self-loop through Linear(recurrent_w.T) (Spyx feeds back
``RCuBaLIF``           the spikes it emits, z_{t−1})
``spyx.nn.Flatten``    Flatten of the whole sample
=====================  ============================================================================

The export needs ``reset="subtract"`` (Spyx's only reset) when the model spikes and ``latency="immediate"``
(a chain whose layers see each other in the same step). The spike function must be Heaviside in the forward
pass (every ``spyx.axn`` surrogate is). ``nnx.Conv`` and ``spyx.nn.SumPool`` (channels-last in Spyx) are
exported channels-first (:mod:`nirverse_spyx._to_nir_conv`); ``input_shape`` is then the channels-first
(C, H, W).

A :class:`~nirverse_spyx.SpyxModel` (built by this plugin's ``from_nir``) is exported as the graph it was
built from, with the parameters held by its modules read back: weights, biases and thresholds as stored;
a time constant is recomputed from the module's β / α only where that differs from what it was built with,
so NIR → Spyx → NIR returns the same numbers bit for bit.
"""

from __future__ import annotations

import copy
from typing import Any

import nir
import numpy as np
from nirverse import Semantics, UnsupportedNodeError, UnsupportedSemanticsError

from ._to_nir_conv import channels_first, conv_node, flatten_permutation, pool_node

__all__ = ["to_nir"]


def _np(a: Any) -> np.ndarray:
    from flax import nnx

    return np.asarray(a[...] if isinstance(a, nnx.Variable) else a, dtype=np.float64)


def _tau(where: str, field: str, kappa: np.ndarray, s: Semantics) -> np.ndarray:
    """The time constant whose leak factor under ``s`` is ``kappa``."""
    if np.any(kappa <= 0) or (s.method == "exp" and np.any(kappa >= 1)):
        raise UnsupportedNodeError(
            f"decay 1 - kappa = {1 - kappa.max()!r}..{1 - kappa.min()!r} has no NIR time constant under "
            f"method={s.method!r}", node=where, field=field, expected="0 <= beta < 1" + (" and beta > 0" if s.method == "exp" else ""),
        )
    return s.dt / kappa if s.method == "euler" else -s.dt / np.log1p(-kappa)


class _Chain:
    """A NIR chain under construction: ``add`` appends a node after the current end."""

    def __init__(self, shape: tuple[int, ...]):
        self.nodes: dict[str, Any] = {"input": nir.Input(np.array(shape))}
        self.edges: list[tuple[str, str]] = []
        self.end, self.shape = "input", shape
        self.perm: np.ndarray | None = None  # Spyx's (H, W, C) flattening still to undo in the next Linear

    def add(self, name: str, node: Any, shape: tuple[int, ...] | None = None) -> str:
        self.nodes[name] = node
        self.edges.append((self.end, name))
        self.end, self.shape = name, shape if shape is not None else self.shape
        return name

    def loop(self, neuron: str, name: str, node: Any) -> None:
        self.nodes[name] = node
        self.edges += [(neuron, name), (name, neuron)]


def _param(module: Any, field: str, shape: tuple[int, ...]) -> np.ndarray:
    return channels_first(np.clip(_np(getattr(module, field)), 0.0, 1.0), shape)


def _neuron(chain: _Chain, key: str, layer: Any, s: Semantics) -> None:
    import spyx.nn as sn

    shape = chain.shape
    ones = np.ones(shape)
    if isinstance(layer, sn.LI):
        kappa = 1.0 - _param(layer, "beta", shape)
        if np.all(kappa == 0):
            chain.add(key, nir.I(r=ones / s.dt))
        else:
            chain.add(key, nir.LI(tau=_tau(key, "beta", kappa, s), r=1.0 / kappa, v_leak=np.zeros(shape)))
        return
    theta = channels_first(_np(layer.threshold), shape)
    zeros = np.zeros(shape)
    if isinstance(layer, (sn.IF, sn.RIF)):
        node = nir.IF(r=ones / s.dt, v_threshold=theta, v_reset=zeros)
    elif isinstance(layer, (sn.LIF, sn.RLIF)):
        kappa = 1.0 - _param(layer, "beta", shape)
        node = nir.LIF(tau=_tau(key, "beta", kappa, s), r=1.0 / kappa, v_leak=zeros, v_threshold=theta, v_reset=zeros)
    else:
        kappa, kappa_s = 1.0 - _param(layer, "beta", shape), 1.0 - _param(layer, "alpha", shape)
        node = nir.CubaLIF(tau_syn=_tau(key, "alpha", kappa_s, s), tau_mem=_tau(key, "beta", kappa, s), r=1.0 / kappa,
                           w_in=1.0 / kappa_s, v_leak=zeros, v_threshold=theta, v_reset=zeros)
    chain.add(key, node)
    if isinstance(layer, (sn.LIF, sn.RLIF)):
        chain.loop(key, f"{key}.reset", nir.Scale(-kappa * theta))
    if isinstance(layer, (sn.RIF, sn.RLIF, sn.RCuBaLIF)):
        chain.loop(key, f"{key}.w_rec", nir.Linear(np.ascontiguousarray(_np(layer.recurrent_w).T)))
    chain.add(f"{key}.late", nir.Delay(np.full(shape, s.dt)))


def _layer(chain: _Chain, key: str, layer: Any, s: Semantics) -> None:
    import spyx.nn as sn
    from flax import nnx

    if chain.perm is not None and not isinstance(layer, nnx.Linear):
        raise UnsupportedNodeError("a Flatten of a conv layer must be followed by an nnx.Linear", node=key,
                                   field="type", expected="nnx.Linear (its columns take NIR's flatten order)")
    if isinstance(layer, nnx.Linear):
        weight = np.ascontiguousarray(_np(layer.kernel).T)
        if chain.perm is not None:
            weight, chain.perm = np.ascontiguousarray(weight[:, chain.perm]), None
        node = nir.Affine(weight, _np(layer.bias)) if layer.bias is not None else nir.Linear(weight)
        chain.add(key, node, (weight.shape[0],))
    elif isinstance(layer, (sn.LI, sn.IF, sn.LIF, sn.CuBaLIF, sn.RIF, sn.RLIF, sn.RCuBaLIF)):
        if not isinstance(layer, sn.LI) and s.reset != "subtract":
            raise UnsupportedSemanticsError(
                "Spyx's neurons reset by subtraction only", node=key, field="reset", expected="'subtract'")
        _neuron(chain, key, layer, s)
    elif isinstance(layer, nnx.Conv):
        chain.add(key, *conv_node(key, layer, chain.shape))
    elif isinstance(layer, sn.SumPool):
        chain.add(key, *pool_node(key, layer, chain.shape))
    elif isinstance(layer, sn.Flatten):
        n = int(np.prod(chain.shape))
        chain.perm = flatten_permutation(chain.shape) if len(chain.shape) >= 2 else None
        chain.add(key, nir.Flatten(input_type={"input": np.array(chain.shape)}, start_dim=0, end_dim=-1), (n,))
    else:
        raise UnsupportedNodeError(
            f"no NIR export for a Spyx {type(layer).__name__} layer", node=key, field="type",
            expected="nnx.Linear/Conv, spyx.nn.LI/IF/LIF/CuBaLIF/RIF/RLIF/RCuBaLIF, SumPool or Flatten",
        )


def _input_shape(layers: list, input_shape: Any) -> tuple[int, ...]:
    from flax import nnx

    if input_shape is not None:
        return tuple(int(d) for d in np.atleast_1d(input_shape))
    first = layers[0]
    if isinstance(first, nnx.Linear):
        return (int(first.in_features),)
    shape = getattr(first, "hidden_shape", getattr(first, "layer_shape", None))
    if shape is not None:  # channels-last in Spyx
        shape = tuple(int(d) for d in shape)
        return (shape[-1], *shape[:-1]) if len(shape) >= 2 else shape
    raise UnsupportedNodeError("the input shape cannot be read from the model", field="input_shape",
                               expected="input_shape=(per-sample dims)")


def _spyx_to_nir(model: Any, s: Semantics, input_shape: Any) -> nir.NIRGraph:
    from flax import nnx

    if s.latency != "immediate":
        raise UnsupportedSemanticsError(
            "a Spyx chain delivers each layer's output in the same step", field="latency", expected="'immediate'")
    layers = list(model.layers) if isinstance(model, nnx.Sequential) else [model]
    chain = _Chain(_input_shape(layers, input_shape))
    for i, layer in enumerate(layers):
        _layer(chain, str(i), layer, s)
    chain.add("output", nir.Output(np.array(chain.shape)))
    return nir.NIRGraph(nodes=chain.nodes, edges=chain.edges, metadata=s.to_metadata(), type_check=False)


def to_nir(model: Any, semantics: Semantics, input_shape: Any = None) -> nir.NIRGraph:
    """Export a Spyx model (see the module docstring) or a :class:`~nirverse_spyx.SpyxModel` to NIR."""
    from ._model import SpyxModel

    if isinstance(model, SpyxModel):
        return _model_to_nir(model, semantics)
    return _spyx_to_nir(model, semantics, input_shape)


# -- a SpyxModel built by this plugin: the graph it came from, parameters read back -------------------------

def _locate(graph: nir.NIRGraph, name: str) -> tuple[nir.NIRGraph, str]:
    """The (sub)graph holding flat node ``name`` and its key there."""
    if name in graph.nodes:
        return graph, name
    head, _, rest = name.partition(".")
    while head not in graph.nodes or not isinstance(graph.nodes[head], nir.NIRGraph):
        more, _, rest = rest.partition(".")
        head = f"{head}.{more}"
    return _locate(graph.nodes[head], rest)


def _held(node: Any, built: Any, kind: str, s: Semantics, dtype: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per field a Spyx module holds: (its value now as NIR, the value it was built with)."""
    module, cast = built.module, lambda a: np.asarray(a, np.float64).astype(dtype)  # noqa: E731
    if kind in ("Affine", "Linear", "Conv1d", "Conv2d"):
        kernel = _np(module.kernel)
        weight = kernel.T if kind in ("Affine", "Linear") else np.moveaxis(kernel, (-1, -2), (0, 1))
        out = {"weight": (np.ascontiguousarray(weight), cast(node.weight))}
        if kind != "Linear":
            out["bias"] = (_np(module.bias), cast(node.bias))
        return out
    out = {}
    if getattr(built, "threshold", None) is not None:
        out["v_threshold"] = (_np(module.threshold), _np(built.threshold))
    for field, attr, was in (("tau", "beta", built.beta), ("tau_mem", "beta", built.beta),
                             ("tau_syn", "alpha", built.alpha)):
        if hasattr(node, field) and was is not None:
            now = _np(getattr(module, attr))
            out[field] = (now, _np(was))  # compared as beta / alpha, converted below
    return out


def _read_back(node: Any, built: Any, kind: str, s: Semantics, dtype: str) -> dict[str, np.ndarray]:
    """The fields whose module value changed since the build, as NIR values."""
    changed = {}
    for field, (now, was) in _held(node, built, kind, s, dtype).items():
        if np.array_equal(now, was):
            continue
        changed[field] = _tau(field, field, 1.0 - now, s) if field.startswith("tau") else now
    return changed


def _model_to_nir(model: Any, s: Semantics) -> nir.NIRGraph:
    if s != model.plan.semantics:
        raise UnsupportedSemanticsError(
            "the model was built under another semantics", field="semantics", expected=repr(model.plan.semantics))
    graph = copy.deepcopy(model.plan.graph)
    for name, built in model.nodes.items():
        kind = model.plan.types[name]
        if built.module is None or kind in ("SumPool2d", "AvgPool2d", "Flatten"):
            continue
        owner, key = _locate(graph, name)
        node = owner.nodes[key]
        for field, value in _read_back(node, built, kind, s, model.dtype).items():
            old = getattr(node, field)
            setattr(node, field, value.astype(np.asarray(old).dtype).reshape(np.shape(old)))
    graph.metadata = {**(graph.metadata or {}), **s.to_metadata()}
    return graph
