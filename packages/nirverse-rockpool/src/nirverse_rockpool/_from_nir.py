r"""NIR node -> Rockpool torch modules, one mapper per NIR node type.

Derived from Rockpool 3.1's code (``rockpool/nn/modules/torch/``):

* ``LIFNeuronTorch.forward`` (``lif_neuron_torch.py``): per step :math:`v \leftarrow \alpha v + x + b`
  with :math:`\alpha = e^{-\Delta t/\tau_{mem}}`, then spikes, then :math:`v \leftarrow v - z\vartheta`;
* ``LIFTorch.forward`` (``lif_torch.py``): :math:`I \leftarrow I + x + W_{rec}^\top z_{t-1}`, then
  :math:`I \leftarrow \beta I`, :math:`v \leftarrow \alpha v + I + b` (:math:`\beta = e^{-\Delta t/\tau_{syn}}`),
  spikes, :math:`v \leftarrow v - z\vartheta`;
* ``ExpSynTorch.forward`` (``exp_syn_torch.py``): :math:`I \leftarrow \beta (I + x)`, output :math:`I`;
* ``LinearTorch.forward`` (``linear_torch.py``): :math:`y = x A + b` with ``A`` of shape (in, out).

With :math:`\kappa(\tau)` the semantics' leak factor and the Rockpool decay :math:`d(\tau) = 1 - \kappa(\tau)`,
Rockpool's time constant is :math:`\tau_R = \tau` for ``"exp"`` (:math:`e^{-\Delta t/\tau} = 1-\kappa`
exactly) and :math:`\tau_R = -\Delta t/\log(1 - \Delta t/\tau)` for ``"euler"`` (whose exponential decay
is :math:`1 - \Delta t/\tau`; refused where :math:`\Delta t/\tau \ge 1`, which no :math:`\tau_R` reaches).
Rockpool's ``dt`` is the semantics' ``dt``. Spikes use :class:`~._nodes.StrictStep`
(:math:`z = 1[v > \vartheta]`, one spike per step, ``max_spikes_per_dt = 1``); reset ``"subtract"`` is
Rockpool's own, reset ``"value"`` uses the ``*ValueResetTorch`` subclasses. Gains are
:class:`~._nodes.ScaleTorch` modules in front of the neuron (omitted where they are 1).

============  ==============================================================================================
NIR node      Rockpool modules (field -> parameter)
============  ==============================================================================================
Affine        ``LinearTorch((in, out), weight=W.T, bias=b, has_bias=True)``
Linear        ``LinearTorch((in, out), weight=W.T, has_bias=False)``
Scale         ``ScaleTorch(scale=s)``
Threshold     ``InstantTorch(x -> 1[x > theta])``
Flatten       none: Rockpool's (batch, time, N) layout already is the row-major flattening
Conv1d/2d     ``InstantTorch`` around ``torch.nn.functional.conv1d/conv2d`` (weight, bias, stride, dilation,
              groups, explicit zero pads)
SumPool2d     ``InstantTorch`` around ``avg_pool2d(..., divisor_override=1)`` (an exact sum)
AvgPool2d     ``InstantTorch`` around ``avg_pool2d(..., count_include_pad=True)``
Delay         a per-element shift by ``round(delay/dt)`` steps in the graph module (Rockpool has none)
I             ``ScaleTorch(dt*r)`` -> ``ExpSynTorch(tau=inf)``: :math:`I \leftarrow 1\cdot(I + \Delta t\, r x)`
LI            ``ScaleTorch(kappa*r/d, kappa*v_leak/d)`` -> ``ExpSynTorch(tau=tau_R)``; state starts at v_leak
CubaLI        ``ScaleTorch(kappa_s*w_in/d_s)`` -> ``ExpSynTorch(tau_R(tau_syn))`` (state = i) ->
              ``ScaleTorch(kappa_m*r/d_m, kappa_m*v_leak/d_m)`` -> ``ExpSynTorch(tau_R(tau_mem))`` (state = v)
IF            ``ScaleTorch(dt*r)`` -> ``LIFNeuronTorch(tau_mem=inf, threshold=v_threshold, bias=0)``
LIF           ``ScaleTorch(kappa*r)`` -> ``LIFNeuronTorch(tau_mem=tau_R, threshold=v_threshold,
              bias=kappa*v_leak)``; state starts at v_leak
CubaLIF       ``ScaleTorch(c*kappa_s*w_in/d_s)`` -> ``LIFTorch(tau_mem=tau_R(tau_mem), tau_syn=tau_R(tau_syn),
              threshold=v_threshold, bias=kappa_m*v_leak)`` with :math:`c = \kappa_m r`, so that
              Rockpool's current is :math:`I = c\, i`; a cycle CubaLIF -> Affine/Linear -> CubaLIF becomes
              ``has_rec=True, w_rec[j, k] = g_k W[k, j]`` (the Affine bias joins the input from the step
              the delayed edge first delivers it)
============  ==============================================================================================

``v_reset`` (reset ``"value"``) is the ``v_reset`` parameter of the value-reset subclasses.
Refused (:class:`~nirverse.UnsupportedNodeError`): ``v_threshold <= 0`` (Rockpool's spike functions divide
by the threshold and its reset subtracts it), ``r == 0`` on CubaLIF (Rockpool's unweighted current would
hide ``i``), a decay :math:`d \le 0` where the mapping divides by it (LI, CubaLI, CubaLIF synapse) or
:math:`\Delta t/\tau \ge 1` under ``"euler"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from nirverse import Semantics, UnsupportedNodeError
from nirverse.graph import Plan

from ._folding import folded_into, folded_target, input_terms
from ._nodes import (
    LIFNeuronValueResetTorch,
    LIFValueResetTorch,
    ScaleTorch,
    StrictStep,
    set_tensor,
)

__all__ = ["NodeImpl", "map_node", "check_node", "rockpool_tau", "recurrent_pattern"]

INF = math.inf


def rockpool_tau(semantics: Semantics, tau: np.ndarray, node: str, field: str) -> np.ndarray:
    """Rockpool time constant whose decay :math:`e^{-\\Delta t/\\tau_R}` equals :math:`1-\\kappa(\\tau)`."""
    tau = np.asarray(tau, dtype=np.float64)
    if semantics.method == "exp":
        return tau.copy()
    ratio = semantics.dt / tau
    if np.any(ratio >= 1.0):
        raise UnsupportedNodeError(
            f"dt/tau = {ratio.max():.6g} >= 1: the euler decay 1 - dt/tau <= 0 is no exponential decay "
            "exp(-dt/tau_R) Rockpool can express",
            node=node, field=field, expected="tau > dt under method='euler'",
        )
    return -semantics.dt / np.log1p(-ratio)


def _decay(semantics: Semantics, tau: np.ndarray, node: str, field: str) -> np.ndarray:
    """:math:`d = 1 - \\kappa(\\tau)`, refused where it is not > 0 (the mapping divides by it)."""
    rockpool_tau(semantics, tau, node, field)
    d = 1.0 - semantics.kappa(tau) if semantics.method == "euler" else np.exp(-semantics.dt / np.asarray(tau))
    if np.any(d <= 0.0):
        raise UnsupportedNodeError(
            f"decay exp(-dt/tau) underflows to 0 (dt/tau = {(semantics.dt / np.asarray(tau)).max():.6g})",
            node=node, field=field, expected="dt/tau < 700",
        )
    return d


def check_node(plan: Plan, name: str, dtype: str = "float64") -> None:
    """Refuse parameter values no Rockpool module reproduces (see the module docstring)."""
    kind, p, sem = plan.types[name], plan.params[name], plan.semantics
    if kind in ("IF", "LIF", "CubaLIF") and np.any(p["v_threshold"] <= 0):
        raise UnsupportedNodeError(
            f"v_threshold has non-positive entries (min {p['v_threshold'].min()!r}); Rockpool's spike "
            "functions divide by the threshold and its reset subtracts it",
            node=name, field="v_threshold", expected="v_threshold > 0",
        )
    info = np.finfo(dtype)  # kappa*r subnormal in the run's dtype (fuzz: NaN currents in float32) is as bad as 0
    if kind == "CubaLIF" and np.any(np.abs(sem.kappa(p["tau_mem"]) * p["r"]) < info.tiny * 2.0**info.nmant):
        raise UnsupportedNodeError(
            f"r*kappa(tau_mem) has zero or subnormal ({dtype}) entries: LIFTorch feeds its synaptic current "
            "unweighted into the membrane, so the current i = I/(kappa*r) cannot be recovered",
            node=name, field="r", expected=f"|r*kappa(tau_mem)| >= {info.tiny * 2.0**info.nmant:.3g}",
        )
    if kind == "LIF":
        rockpool_tau(sem, p["tau"], name, "tau")
    if kind == "LI":
        _decay(sem, p["tau"], name, "tau")
    if kind in ("CubaLI", "CubaLIF"):
        _decay(sem, p["tau_syn"], name, "tau_syn")
        if kind == "CubaLI":
            _decay(sem, p["tau_mem"], name, "tau_mem")
        else:
            rockpool_tau(sem, p["tau_mem"], name, "tau_mem")


class NodeImpl:
    """The Rockpool modules of one NIR node and how to read its output and states.

    ``stages`` run in sequence on the node's summed input (batch, time, N); ``rest`` maps
    (stage index, state name) to the state a run starts from; ``readout`` turns the stage outputs and
    records into the node's recorded states ``{"v": ..., "i": ...}`` (flat layout).
    """

    def __init__(self, kind: str, stages: list[Any], rest: dict | None = None,
                 readout: Callable[[list, list], dict] | None = None, delay_steps: np.ndarray | None = None,
                 source: dict | None = None) -> None:
        self.kind = kind
        self.stages = stages
        self.rest = rest or {}
        self.readout = readout
        self.delay_steps = delay_steps
        #: Affine/Linear: the (scale, offset) of the next node folded into its LinearTorch; I/LI: the
        #: ScaleTorch folded away (kept for the export)
        self.fold: tuple[np.ndarray, np.ndarray] | None = None
        self.folded_gain: Any = None
        #: the NIR parameters the modules were derived from (for an exact export), with the semantics
        self.source = source

    def reset(self) -> None:
        """Set the states to rest: v = v_leak, i = 0. Where the modules' parameters were changed after
        the build, v_leak is that of the node :func:`~._to_nir.to_nir` exports for them (bias/kappa)."""
        rest = self.rest
        if self.source is not None and "v_leak" in self.source["params"]:
            from ._to_nir import derived_v_leak

            v_leak = derived_v_leak(self)
            if v_leak is not None:
                rest = dict(rest)
                key = next(k for k in rest if k[1] in ("vmem", "isyn") and k[0] == len(self.stages) - 1)
                rest[key] = torch.as_tensor(v_leak, dtype=rest[key].dtype)
        for (index, state), value in rest.items():
            setattr(self.stages[index], state, value.clone())

    def sequence(self, x: torch.Tensor, record: bool) -> tuple[torch.Tensor, dict]:
        outputs, records = [], []
        for stage in self.stages:
            x, _, rec = stage(x, record=record and self.readout is not None)
            outputs.append(x)
            records.append(rec)
        states = self.readout(outputs, records) if (record and self.readout is not None) else {}
        return x, states


# -- helpers ------------------------------------------------------------------------------------

def _t(value: Any, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(np.array(value, dtype=np.float64), dtype=dtype)


def _gain(n: int, scale: np.ndarray, offset: np.ndarray | None, dtype: torch.dtype) -> ScaleTorch | None:
    """A ScaleTorch, or None where it would multiply by 1 and add nothing."""
    if offset is not None and not np.any(offset):
        offset = None
    if offset is None and np.all(scale == 1.0):
        return None
    mod = ScaleTorch(n, _t(scale, torch.float32), None if offset is None else _t(offset, torch.float32))
    mod = mod.to(dtype)
    set_tensor(mod, "scale", scale, dtype)
    if offset is not None:
        set_tensor(mod, "offset", offset, dtype)
    return mod


def _spiking(cls, n: int, dt: float, dtype, **params) -> Any:
    """A Rockpool LIF module with strict unit spikes, parameters set exactly in ``dtype``."""
    exact = {k: v for k, v in params.items() if k in ("tau_mem", "tau_syn", "threshold", "bias", "v_reset", "w_rec")}
    kwargs = {k: _t(v, torch.float32) for k, v in exact.items()}
    if "tau_syn" in kwargs:
        kwargs["tau_syn"] = kwargs["tau_syn"].reshape(-1, 1)
    extra = {k: v for k, v in params.items() if k not in exact}
    mod = cls(dt=dt, spike_generation_fn=StrictStep, max_spikes_per_dt=torch.tensor(1.0), noise_std=0.0,
              **extra, **kwargs)
    mod = mod.to(dtype)
    for k, v in exact.items():
        set_tensor(mod, k, v if k != "tau_syn" else np.asarray(v).reshape(-1, 1), dtype)
    return mod


def _expsyn(n: int, tau: np.ndarray, dt: float, dtype) -> Any:
    from rockpool.nn.modules import ExpSynTorch

    mod = ExpSynTorch((n,), tau=_t(tau, torch.float32), dt=dt, spiking_input=False).to(dtype)
    set_tensor(mod, "tau", tau, dtype)
    return mod


def _flat(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).reshape(-1)


# -- mappers ------------------------------------------------------------------------------------

def _linear(plan: Plan, name: str, dtype) -> NodeImpl:
    from rockpool.nn.modules import LinearTorch

    p = plan.params[name]
    w = p["weight"]
    bias = p.get("bias")
    target = folded_target(plan, name)
    if target is not None:  # the I/LI node after takes its input straight from here (``_levels.folded_into``)
        scale, offset = input_terms(plan, target)
        w, bias = scale[:, None] * w, (None if bias is None else scale * bias + offset)
    mod = LinearTorch((w.shape[1], w.shape[0]), weight=_t(w.T, torch.float32),
                      bias=None if bias is None else _t(bias, torch.float32), has_bias=bias is not None).to(dtype)
    set_tensor(mod, "weight", w.T, dtype)
    if bias is not None:
        set_tensor(mod, "bias", bias, dtype)
    impl = NodeImpl(plan.types[name], [mod])
    impl.fold = None if target is None else input_terms(plan, target)
    return impl


def _scale(plan: Plan, name: str, dtype) -> NodeImpl:
    n = math.prod(plan.out_shapes[name])
    scale = np.broadcast_to(plan.params[name]["scale"], plan.out_shapes[name]).reshape(-1)
    mod = ScaleTorch(n, _t(scale, torch.float32)).to(dtype)
    set_tensor(mod, "scale", scale, dtype)
    return NodeImpl("Scale", [mod])


def _instant(plan: Plan, name: str, function: Callable) -> NodeImpl:
    from rockpool.nn.modules import InstantTorch

    n_in, n_out = math.prod(plan.in_shapes[name]), math.prod(plan.out_shapes[name])
    return NodeImpl(plan.types[name], [InstantTorch((n_in, n_out), function=function)])


def _threshold(plan: Plan, name: str, dtype) -> NodeImpl:
    theta = _t(np.broadcast_to(plan.params[name]["threshold"], plan.in_shapes[name]).reshape(-1), dtype)
    return _instant(plan, name, lambda x: (x > theta).to(x.dtype))


def _conv(plan: Plan, name: str, dtype) -> NodeImpl:
    p = plan.params[name]
    in_shape = plan.in_shapes[name]
    weight, bias = _t(p["weight"], dtype), _t(p["bias"], dtype)
    dims = weight.dim() - 2
    conv = F.conv1d if dims == 1 else F.conv2d
    pad = [v for lo_hi in reversed(p["pads"]) for v in lo_hi]  # F.pad order: last dim first
    symmetric = all(lo == hi for lo, hi in p["pads"])
    padding = tuple(lo for lo, _ in p["pads"]) if symmetric else 0

    def function(x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        y = x.reshape(b * t, *in_shape)
        if not symmetric:
            y = F.pad(y, pad)
        y = conv(y, weight, bias, stride=p["stride"], padding=padding, dilation=p["dilation"], groups=p["groups"])
        return y.reshape(b, t, -1)

    return _instant(plan, name, function)


def _pool(plan: Plan, name: str, dtype) -> NodeImpl:
    p = plan.params[name]
    in_shape = plan.in_shapes[name]
    divisor = 1 if plan.types[name] == "SumPool2d" else None

    def function(x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        y = F.avg_pool2d(x.reshape(b * t, *in_shape), p["kernel_size"], p["stride"], p["padding"],
                         count_include_pad=True, divisor_override=divisor)
        return y.reshape(b, t, -1)

    return _instant(plan, name, function)


def _delay(plan: Plan, name: str, dtype) -> NodeImpl:
    steps = np.broadcast_to(plan.params[name]["steps"], plan.in_shapes[name]).reshape(-1).astype(np.int64)
    return NodeImpl("Delay", [], delay_steps=steps)


def _pass(plan: Plan, name: str, dtype) -> NodeImpl:
    return NodeImpl(plan.types[name], [])


def _neuron(plan: Plan, name: str, dtype, w_rec: np.ndarray | None = None) -> NodeImpl:
    from rockpool.nn.modules import LIFNeuronTorch

    check_node(plan, name)
    kind, sem = plan.types[name], plan.semantics
    p = {k: _flat(v) for k, v in plan.params[name].items()}
    n, dt = p["r"].size, sem.dt
    value = sem.reset == "value"
    source = {"kind": kind, "params": {k: v.copy() for k, v in plan.params[name].items()}, "semantics": sem}
    rest_v = _t(p["v_leak"], dtype) if "v_leak" in p else torch.zeros(n, dtype=dtype)

    if kind in ("I", "LI"):
        return _exp_syn_node(plan, name, dtype, source, rest_v)

    if kind == "CubaLI":
        ks, km = sem.kappa(p["tau_syn"]), sem.kappa(p["tau_mem"])
        ds, dm = _decay(sem, p["tau_syn"], name, "tau_syn"), _decay(sem, p["tau_mem"], name, "tau_mem")
        syn = _expsyn(n, rockpool_tau(sem, p["tau_syn"], name, "tau_syn"), dt, dtype)
        mem = _expsyn(n, rockpool_tau(sem, p["tau_mem"], name, "tau_mem"), dt, dtype)
        stages = [_gain(n, ks * p["w_in"] / ds, None, dtype), syn, _gain(n, km * p["r"] / dm, km * p["v_leak"] / dm, dtype), mem]
        stages = [m for m in stages if m is not None]
        i_stage = stages.index(syn)
        return NodeImpl(kind, stages,
                        rest={(stages.index(syn), "isyn"): torch.zeros(n, dtype=dtype), (len(stages) - 1, "isyn"): rest_v},
                        readout=lambda o, r: {"v": o[-1], "i": o[i_stage]}, source=source)

    if kind in ("IF", "LIF"):
        if kind == "IF":
            gain, tau, bias = dt * p["r"], np.full(n, INF), np.zeros(n)
        else:
            kappa = sem.kappa(p["tau"])
            gain, tau, bias = kappa * p["r"], rockpool_tau(sem, p["tau"], name, "tau"), kappa * p["v_leak"]
        cls = LIFNeuronValueResetTorch if value else LIFNeuronTorch
        extra = {"v_reset": p["v_reset"]} if value else {}
        mod = _spiking(cls, n, dt, dtype, shape=(n,), tau_mem=tau, threshold=p["v_threshold"], bias=bias, **extra)
        stages = [m for m in (_gain(n, gain, None, dtype), mod) if m is not None]
        return NodeImpl(kind, stages, rest={(len(stages) - 1, "vmem"): rest_v},
                        readout=lambda o, r: {"v": r[-1]["vmem"]}, source=source)

    return _cuba_lif_node(plan, name, dtype, source, rest_v, w_rec)


def _cuba_lif_node(plan: Plan, name: str, dtype, source: dict, rest_v: torch.Tensor,
                   w_rec: np.ndarray | None) -> NodeImpl:
    """A CubaLIF node: Rockpool's ``LIFTorch`` (``has_rec`` with the loop's weights ``w_rec``) after an input gain."""
    from rockpool.nn.modules import LIFTorch

    sem = plan.semantics
    p = {k: _flat(v) for k, v in plan.params[name].items()}
    n, dt, value = p["r"].size, sem.dt, sem.reset == "value"
    ks, km = sem.kappa(p["tau_syn"]), sem.kappa(p["tau_mem"])
    ds = _decay(sem, p["tau_syn"], name, "tau_syn")
    c = km * p["r"]
    gain = c * ks * p["w_in"] / ds
    cls = LIFValueResetTorch if value else LIFTorch
    extra = {"v_reset": p["v_reset"]} if value else {}
    if w_rec is not None:  # NIR W (out x in) of the loop's weights; Rockpool adds z @ w_rec before the gain
        extra.update(has_rec=True, w_rec=(gain[:, None] * w_rec).T)
    mod = _spiking(cls, n, dt, dtype, shape=(n, n), tau_mem=rockpool_tau(sem, p["tau_mem"], name, "tau_mem"),
                   tau_syn=rockpool_tau(sem, p["tau_syn"], name, "tau_syn"), threshold=p["v_threshold"],
                   bias=km * p["v_leak"], **extra)
    stages = [m for m in (_gain(n, gain, None, dtype), mod) if m is not None]
    scale = _t(c, dtype)
    last = len(stages) - 1
    return NodeImpl(
        "CubaLIF", stages,
        rest={(last, "vmem"): rest_v, (last, "isyn"): torch.zeros(n, 1, dtype=dtype),
              (last, "spikes"): torch.zeros(n, dtype=dtype)},
        readout=lambda o, r: {"v": r[-1]["vmem"], "i": r[-1]["isyn"][..., 0] / scale},
        source=dict(source, gain=gain),
    )


def _exp_syn_node(plan: Plan, name: str, dtype, source: dict, rest_v: torch.Tensor) -> NodeImpl:
    """I / LI: ``ScaleTorch(scale, offset)`` -> ``ExpSynTorch``, or the ExpSynTorch alone where the input terms
    are folded into the Affine/Linear before (the ScaleTorch is then kept for the export only)."""
    sem, n = plan.semantics, math.prod(plan.out_shapes[name])
    if plan.types[name] == "I":
        tau = np.full(n, INF)
    else:
        _decay(sem, plan.params[name]["tau"], name, "tau")
        tau = rockpool_tau(sem, _flat(plan.params[name]["tau"]), name, "tau")
    scale, offset = input_terms(plan, name)
    gain = _gain(n, scale, offset, dtype)
    folded = folded_into(plan, name) is not None
    stages = [m for m in (None if folded else gain, _expsyn(n, tau, sem.dt, dtype)) if m is not None]
    # a rest state for I too (v = 0): without it a loop stepped sample by sample started each sample where the
    # last one ended (issue 20, fuzz)
    rest = rest_v if plan.types[name] == "LI" else torch.zeros(n, dtype=dtype)
    impl = NodeImpl(plan.types[name], stages, rest={(len(stages) - 1, "isyn"): rest},
                    readout=lambda o, r: {"v": o[-1]}, source=source)
    impl.folded_gain = gain if folded else None
    return impl


MAPPERS: dict[str, Callable] = {
    "Affine": _linear, "Linear": _linear, "Scale": _scale, "Threshold": _threshold,
    "Conv1d": _conv, "Conv2d": _conv, "SumPool2d": _pool, "AvgPool2d": _pool, "Delay": _delay,
    "Flatten": _pass, "Input": _pass, "Output": _pass, "Pass": _pass,
    "I": _neuron, "LI": _neuron, "CubaLI": _neuron, "IF": _neuron, "LIF": _neuron, "CubaLIF": _neuron,
}


def map_node(plan: Plan, name: str, dtype: torch.dtype, w_rec: np.ndarray | None = None) -> NodeImpl:
    """The Rockpool modules of node ``name`` of ``plan`` (``w_rec``: weights of a native recurrent loop)."""
    if w_rec is not None:
        return _neuron(plan, name, dtype, w_rec=w_rec)
    return MAPPERS[plan.types[name]](plan, name, dtype)


def recurrent_pattern(plan: Plan, group: tuple[str, ...]) -> tuple[str, str] | None:
    """``(lif, weights)`` where ``group`` is a CubaLIF and an Affine/Linear in a two-edge loop that
    ``LIFTorch(has_rec=True)`` executes natively; else None."""
    if len(group) != 2:
        return None
    kinds = {plan.types[n]: n for n in group}
    lif = kinds.get("CubaLIF")
    weights = kinds.get("Affine") or kinds.get("Linear")
    if lif is None or weights is None:
        return None
    into_w = plan.incoming[weights]
    back = [e for e in plan.incoming[lif] if e.source == weights]
    if len(into_w) != 1 or into_w[0].source != lif or len(back) != 1:
        return None
    if into_w[0].delayed == back[0].delayed:  # exactly one step of delay around the loop
        return None
    return lif, weights
