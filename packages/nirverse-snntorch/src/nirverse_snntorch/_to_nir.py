r"""snnTorch module → NIR graph whose reference run (under the given semantics) equals the module's own run.

The module's own run is snnTorch's: every step, each layer in order (``init_hidden=True`` neurons keep
their state, starting at zero), so the export needs ``latency="immediate"``. With
:math:`\beta, \alpha` clamped to [0, 1] as snnTorch does, :math:`\kappa = 1-\beta`,
:math:`\kappa_s = 1-\alpha`, and τ solving κ(τ) = κ under the semantics' method
(euler :math:`\tau = \Delta t/\kappa`, exp :math:`\tau = -\Delta t/\ln\beta`):

=======================================  ==========================================================
snnTorch                                 NIR
=======================================  ==========================================================
``Leaky`` (β < 1), reset_delay=False     ``LIF(tau, r = 1/κ, v_leak = 0, v_threshold, v_reset = 0)``;
                                         "subtract" needs ``reset="subtract"``, "zero" ``reset="value"``
``Leaky`` (β = 1), reset_delay=False     ``IF(r = 1/dt, v_threshold, v_reset = 0)``
``Leaky`` reset "none"                   ``LI`` (or ``I``) → ``Threshold``
``Leaky`` "subtract", reset_delay=True   ``LI → Threshold``, ``Threshold → Scale(−θ) → LI`` (the delayed
                                         subtraction :math:`m_t = \beta m_{t-1} + x_t - \theta z_{t-1}`)
``Synaptic``, reset_delay=False          ``CubaLIF(tau_syn, tau_mem, r = 1/κ, w_in = 1/κ_s, v_leak = 0, ...)``
``Synaptic`` "none"                      ``CubaLI → Threshold``
``Synaptic`` "subtract", delayed         ``CubaLI → Threshold`` plus ``Threshold → Scale(−θ) → LI →
                                         Threshold`` (the membrane is linear: m = v_CubaLI + v_LI)
``RLeaky`` (Linear or one-to-one V)      the neuron above with ``Threshold/LIF → Linear(W) → neuron`` and,
                                         for a recurrent bias b, ``Affine(I, b)`` on the input (snnTorch
                                         adds b from the first step; a delayed NIR edge delivers 0 there)
``RSynaptic``                            as RLeaky with ``Synaptic``; snnTorch 1.0.0's RSynaptic resets
                                         one step late whatever ``reset_delay`` says, so it is exported as
                                         the delayed subtraction ("zero" is refused)
``nn.Linear``                            ``Affine`` / ``Linear``
``nn.Conv2d``                            ``Conv2d`` (zero padding only)
``nn.AvgPool2d``                         ``AvgPool2d`` (count_include_pad; divisor_override=1 → ``SumPool2d``)
``nn.Flatten``                           ``Flatten(start_dim − 1, end_dim − 1)``
``nn.Sequential``                        a chain of the above
=======================================  ==========================================================

A delayed "zero" reset (:math:`m \leftarrow (1-z_{t-1})\,\beta m`) has no NIR form and is refused, as
are inhibition, state quantisation and graded spikes ≠ 1.
"""

from __future__ import annotations

from typing import Any

import nir
import numpy as np
from nirverse.errors import UnsupportedNodeError, UnsupportedSemanticsError
from nirverse.semantics import Semantics

__all__ = ["to_nir"]


def _np(t: Any) -> np.ndarray:
    import torch

    if isinstance(t, torch.Tensor):
        return t.detach().cpu().to(torch.float64).numpy().copy()
    return np.asarray(t, dtype=np.float64)


class _Chain:
    """Accumulates nodes and edges; ``tail`` is the node whose output the next layer reads."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(shape)})}
        self.edges: list[tuple[str, str]] = []
        self.tail = "input"
        self.shape = shape

    def add(self, name: str, node: Any, source: str | None = None) -> str:
        self.nodes[name] = node
        self.edges.append((self.tail if source is None else source, name))
        return name


def _tau(kappa: np.ndarray, semantics: Semantics, label: str, field: str) -> np.ndarray:
    if np.any(kappa <= 0):
        raise UnsupportedNodeError(
            "a decay factor of 1 (no leak) in a leaky population has no finite time constant",
            node=label,
            field=field,
            expected="values < 1 (or all equal to 1 for a Leaky, exported as IF)",
        )
    if semantics.method == "euler":
        return semantics.dt / kappa
    if np.any(kappa >= 1):
        raise UnsupportedNodeError(
            "a decay factor of 0 needs tau = 0 under method='exp'",
            node=label,
            field=field,
            expected="values > 0, or method='euler'",
        )
    return semantics.dt / -np.log1p(-kappa)


def _check_plain(module: Any, label: str) -> None:
    if getattr(module, "inhibition", False):
        raise UnsupportedNodeError("inhibition has no NIR form", node=label, field="inhibition", expected="False")
    if getattr(module, "state_quant", False):
        raise UnsupportedNodeError(
            "state quantisation has no NIR form", node=label, field="state_quant", expected="False"
        )
    if not np.all(_np(module.graded_spikes_factor) == 1):
        raise UnsupportedNodeError(
            "graded spikes have no NIR form", node=label, field="graded_spikes_factor", expected="1"
        )


def _membrane(module: Any, cuba: bool, beta: np.ndarray, semantics: Semantics, label: str) -> tuple:
    """The membrane's NIR parameters (without a threshold), the integrator and spiking node classes, and
    for Synaptic the plain membrane a delayed subtract reset enters (else None); κ = 1 − β."""
    shape = beta.shape
    kappa = 1.0 - beta
    zeros = np.zeros(shape)
    reset_integrator = None
    if cuba:
        kappa_s = 1.0 - np.broadcast_to(np.clip(_np(module.alpha), 0, 1), shape)
        tau_mem = _tau(kappa, semantics, label, "beta")
        membrane_params = dict(
            tau_syn=_tau(kappa_s, semantics, label, "alpha"),
            tau_mem=tau_mem,
            r=1.0 / kappa,
            v_leak=zeros,
            w_in=1.0 / kappa_s,
        )
        integrator, spiking = nir.CubaLI, nir.CubaLIF
        reset_integrator = nir.LI(tau=tau_mem.copy(), r=1.0 / kappa, v_leak=zeros.copy())
    elif np.all(beta == 1):
        membrane_params = dict(r=np.full(shape, 1.0 / semantics.dt))
        integrator, spiking = nir.I, nir.IF
    else:
        membrane_params = dict(tau=_tau(kappa, semantics, label, "beta"), r=1.0 / kappa, v_leak=zeros)
        integrator, spiking = nir.LI, nir.LIF
    params = {k: np.array(v, dtype=np.float64) for k, v in membrane_params.items()}
    return params, integrator, spiking, reset_integrator


def _neuron(
    chain: _Chain, label: str, module: Any, semantics: Semantics, recurrent: Any = None, delayed_anyway: bool = False
) -> None:
    """Append an snnTorch neuron (with an optional recurrent weight node) to ``chain``."""
    import snntorch as snn

    _check_plain(module, label)
    shape = chain.shape
    cuba = isinstance(module, (snn.Synaptic, snn.RSynaptic))
    beta = np.broadcast_to(np.clip(_np(module.beta), 0, 1), shape).copy()
    thr = np.broadcast_to(_np(module.threshold), shape).copy()
    mechanism = module.reset_mechanism
    delayed = bool(module.reset_delay) or delayed_anyway
    if mechanism == "zero" and delayed:
        raise UnsupportedNodeError(
            "a delayed reset to zero (m <- (1 - z[t-1]) * beta * m) has no NIR form",
            node=label,
            field="reset_delay",
            expected="reset_delay=False, or reset_mechanism='subtract'",
        )
    zeros = np.zeros(shape)
    if recurrent is not None and recurrent[1] is not None and np.any(recurrent[1] != 0):
        eye = np.eye(int(np.prod(shape)))
        chain.tail = chain.add(f"{label}_bias", nir.Affine(weight=eye, bias=recurrent[1]))
    params, integrator, spiking, reset_integrator = _membrane(module, cuba, beta, semantics, label)

    if mechanism != "none" and not delayed:
        wanted = "subtract" if mechanism == "subtract" else "value"
        if semantics.reset != wanted:
            raise UnsupportedSemanticsError(
                f"{label} resets by {mechanism!r} in the same step, which is reset={wanted!r} (v_reset = 0)",
                field="reset",
                expected=f"semantics with reset={wanted!r}",
            )
        out = chain.add(label, spiking(**params, v_threshold=thr.copy(), v_reset=zeros.copy()))
        membrane = out
    else:
        membrane = chain.add(f"{label}_membrane", integrator(**params))
        out = chain.add(label, nir.Threshold(threshold=thr.copy()), source=membrane)
        if mechanism == "subtract":  # delayed: the spike of step t-1 subtracts theta from the membrane at t
            scale = chain.add(f"{label}_reset", nir.Scale(scale=-thr), source=out)
            if reset_integrator is None:
                chain.edges.append((scale, membrane))
            else:  # Synaptic's input enters the current: the reset enters a second, plain membrane
                chain.add(f"{label}_reset_membrane", reset_integrator, source=scale)
                chain.edges.append((f"{label}_reset_membrane", out))
    if recurrent is not None:  # the spikes of step t-1 reach the membrane's input through W (a back-edge)
        rec = chain.add(f"{label}_recurrent", nir.Linear(weight=recurrent[0]), source=out)
        chain.edges.append((rec, membrane))
    chain.tail = out


def _recurrent(module: Any, label: str, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    from torch import nn

    if module.all_to_all:
        rec = module.recurrent
        if not isinstance(rec, nn.Linear):
            raise UnsupportedNodeError(
                f"a {type(rec).__name__} recurrence is not exported",
                node=label,
                field="recurrent",
                expected="an nn.Linear (linear_features) or one-to-one V",
            )
        return _np(rec.weight), (None if rec.bias is None else _np(rec.bias))
    return np.diag(np.broadcast_to(_np(module.recurrent.V), (n,)).copy()), None


def _torch_node(chain: _Chain, label: str, module: Any) -> nir.NIRNode | None:
    """The NIR node of a torch layer (None for ``nn.Identity``)."""
    from torch import nn

    if isinstance(module, nn.Linear):
        w = _np(module.weight)
        node = nir.Linear(weight=w) if module.bias is None else nir.Affine(weight=w, bias=_np(module.bias))
    elif isinstance(module, nn.Conv2d):
        node = _conv2d(chain, label, module)
    elif isinstance(module, nn.AvgPool2d):
        node = _avg_pool2d(label, module)
    elif isinstance(module, nn.Flatten):
        start = module.start_dim - 1 if module.start_dim > 0 else module.start_dim
        end = module.end_dim - 1 if module.end_dim > 0 else module.end_dim
        node = nir.Flatten(input_type={"input": np.array(chain.shape)}, start_dim=start, end_dim=end)
    elif isinstance(module, nn.Identity):
        return None
    else:
        raise UnsupportedNodeError(
            f"{type(module).__name__} is not exported",
            node=label or "<module>",
            field="type",
            expected="Leaky, Synaptic, RLeaky, RSynaptic, Linear, Conv2d, AvgPool2d, Flatten or Sequential",
        )
    return node


def _conv2d(chain: _Chain, label: str, module: Any) -> nir.Conv2d:
    if module.padding_mode != "zeros":
        raise UnsupportedNodeError(
            f"padding_mode={module.padding_mode!r}", node=label, field="padding_mode", expected="'zeros'"
        )
    bias = np.zeros(module.out_channels) if module.bias is None else _np(module.bias)
    padding = module.padding if isinstance(module.padding, str) else tuple(module.padding)
    return nir.Conv2d(
        input_shape=tuple(chain.shape[1:]),
        weight=_np(module.weight),
        stride=tuple(module.stride),
        padding=padding,
        dilation=tuple(module.dilation),
        groups=module.groups,
        bias=bias,
    )


def _avg_pool2d(label: str, module: Any) -> nir.NIRNode:
    """``AvgPool2d`` as NIR's AvgPool2d, or SumPool2d for ``divisor_override=1``."""
    if module.ceil_mode or (not module.count_include_pad and np.any(np.asarray(module.padding) != 0)):
        raise UnsupportedNodeError(
            "ceil_mode or count_include_pad=False", node=label, field="ceil_mode", expected="PyTorch's defaults"
        )
    if module.divisor_override not in (None, 1):
        raise UnsupportedNodeError(
            f"divisor_override={module.divisor_override}",
            node=label,
            field="divisor_override",
            expected="None (average) or 1 (sum)",
        )
    stride = module.kernel_size if module.stride is None else module.stride
    cls = nir.SumPool2d if module.divisor_override == 1 else nir.AvgPool2d
    return cls(kernel_size=_pair(module.kernel_size), stride=_pair(stride), padding=_pair(module.padding))


def _pair(v: Any) -> np.ndarray:
    return np.array(v if isinstance(v, (tuple, list)) else (v, v))


def _layer(chain: _Chain, label: str, module: Any, semantics: Semantics) -> None:
    import snntorch as snn
    import torch
    from torch import nn

    if isinstance(module, nn.Sequential):
        for i, sub in enumerate(module):
            _layer(chain, f"{label}_{i}" if label else str(i), sub, semantics)
        return
    if isinstance(module, (snn.RLeaky, snn.RSynaptic)):
        if len(chain.shape) != 1:
            raise UnsupportedNodeError(
                "recurrent layers are exported for 1-d populations",
                node=label,
                field="recurrent",
                expected="a (features,) input",
            )
        rec = _recurrent(module, label, chain.shape[0])
        _neuron(chain, label, module, semantics, recurrent=rec, delayed_anyway=isinstance(module, snn.RSynaptic))
        return
    if isinstance(module, (snn.Leaky, snn.Synaptic)):
        _neuron(chain, label, module, semantics)
        return
    node = _torch_node(chain, label, module)
    if node is None:
        return
    with torch.no_grad():
        probe = torch.zeros((1, *chain.shape), dtype=next(iter(module.parameters()), torch.zeros(())).dtype)
        chain.shape = tuple(module(probe).shape[1:])
    chain.tail = chain.add(label, node)


def _input_shape(module: Any) -> tuple[int, ...] | None:
    import snntorch as snn
    from torch import nn

    first = module
    while isinstance(first, nn.Sequential) and len(first):
        first = first[0]
    if isinstance(first, nn.Linear):
        return (first.in_features,)
    if isinstance(first, (snn.RLeaky, snn.RSynaptic)) and first.all_to_all and isinstance(first.recurrent, nn.Linear):
        return (first.recurrent.in_features,)
    if isinstance(first, snn.SpikingNeuron):
        for attr in ("beta", "threshold", "alpha"):
            value = getattr(first, attr, None)
            if value is not None and value.ndim > 0:
                return tuple(value.shape)
    return None


def to_nir(module: Any, semantics: Semantics, input_shape: tuple[int, ...] | None = None) -> nir.NIRGraph:
    """A NIR graph of ``module`` whose reference run under ``semantics`` equals the module's run.

    ``input_shape`` (per sample) is needed only where the first layer does not fix it (a convolution,
    a pool, a scalar-parameter neuron). The semantics is stored in the graph's metadata.
    """
    from ._model import SnnTorchNetwork

    if not isinstance(semantics, Semantics):
        raise UnsupportedSemanticsError(
            f"got {type(semantics).__name__}", field="semantics", expected="a nirverse.Semantics"
        )
    if isinstance(module, SnnTorchNetwork):  # built from a graph: that graph, under the semantics it was built for
        if module.semantics != semantics:
            raise UnsupportedSemanticsError(
                f"the network was built for {module.semantics}",
                field="semantics",
                expected="the semantics given to from_nir",
            )
        return module.plan.graph
    if semantics.latency != "immediate":
        raise UnsupportedSemanticsError(
            "snnTorch layers deliver their output in the same step", field="latency", expected="'immediate'"
        )
    shape = tuple(int(s) for s in input_shape) if input_shape is not None else _input_shape(module)
    if shape is None:
        raise UnsupportedNodeError(
            "the first layer does not fix the input shape",
            node="<module>",
            field="input_shape",
            expected="to_nir(module, semantics, input_shape=(...))",
        )
    chain = _Chain(shape)
    from torch import nn

    _layer(chain, "" if isinstance(module, nn.Sequential) else "layer", module, semantics)
    chain.add("output", nir.Output(output_type={"output": np.array(chain.shape)}))
    return nir.NIRGraph(nodes=chain.nodes, edges=chain.edges, metadata=semantics.to_metadata())
