r"""NIR node -> Spyx / Flax NNX module, one mapper per node type.

Spyx builds its networks from its own neuron and pooling modules (``spyx.nn``) and Flax NNX layers
(``nnx.Linear``, ``nnx.Conv``), as its own ``spyx.nir.from_nir`` does. Each node here becomes one such
module and a step ``(module, x, state) -> (output, state)`` on batched, channels-first arrays
(``(batch, *shape)``, NIR's layout); :mod:`nirverse_spyx._model` steps them all in one jitted scan.
Neurons: :mod:`nirverse_spyx._neurons`.

=========  =============================  ======================================================================
NIR node   Spyx / NNX construct           how
=========  =============================  ======================================================================
Affine     ``flax.nnx.Linear``            kernel = W.T, bias = b (``precision=HIGHEST``, params in the run dtype)
Linear     ``flax.nnx.Linear``            kernel = W.T, ``use_bias=False``
Conv1d/2d  ``flax.nnx.Conv``              kernel = W moved to (*k, in/groups, out); strides, explicit pads,
                                          ``kernel_dilation``, ``feature_group_count``; NNX convolves
                                          channels-last, so x is moved (B, C, ...) -> (B, ..., C) and back
SumPool2d  ``spyx.nn.SumPool``            window/strides on the spatial axes (``channel_axis=1``), 'VALID'; a
                                          NIR padding is applied first with ``jnp.pad`` (Spyx's SumPool knows
                                          only 'SAME' / 'VALID')
AvgPool2d  ``spyx.nn.SumPool``            as SumPool2d, divided by k_0 k_1 (padding counted)
Flatten    ``spyx.nn.Flatten``            when it flattens the whole sample (Spyx's Flatten keeps only the batch
                                          axis); any other start/end dim is a plugin reshape
Threshold  ``spyx.axn.heaviside``         Spyx's spike function on x - threshold
Scale      plugin (``StatefulLayer``)     s * x: Spyx has no elementwise scaling module
Delay      plugin (``StatefulLayer``)     ring buffer of max(k) + 1 steps, k = round(delay / dt)
=========  =============================  ======================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._neurons import NEURONS, neuron_node

__all__ = ["MAPPERS", "StatelessNode", "DelayNode", "make_node", "is_full_flatten"]


@dataclass
class StatelessNode:
    """A node without state: ``fn(module, x)``."""

    module: Any
    fn: Callable[[Any, Any], Any]

    def init(self, batch: int, module: Any) -> dict[str, Any]:
        return {}

    def step(self, module: Any, x: Any, state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return self.fn(module, x), state


@dataclass
class DelayNode:
    """y_t = x_{t-k} per element (zeros before): a ring buffer in the scan's carry."""

    steps: np.ndarray
    shape: tuple[int, ...]
    dtype: np.dtype
    module: Any = None
    _index: Any = field(default=None, repr=False)

    def init(self, batch: int, module: Any) -> dict[str, Any]:
        import jax.numpy as jnp

        depth = int(self.steps.max(initial=0))
        return {"history": jnp.zeros((depth + 1, batch, *self.shape), self.dtype)}

    def step(self, module: Any, x: Any, state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        import jax.numpy as jnp

        history = jnp.roll(state["history"], 1, axis=0).at[0].set(x)
        index = jnp.asarray(self.steps.reshape((1, 1, *self.shape)).astype(np.int32))
        y = jnp.take_along_axis(history, jnp.broadcast_to(index, (1, *x.shape)), axis=0)[0]
        return y, {"history": history}


def _linear(plan, name, dtype):
    import jax
    from flax import nnx

    p = plan.params[name]
    out_f, in_f = p["weight"].shape
    affine = plan.types[name] == "Affine"
    module = nnx.Linear(in_f, out_f, use_bias=affine, dtype=dtype, param_dtype=dtype,
                        precision=jax.lax.Precision.HIGHEST, rngs=nnx.Rngs(0))
    module.kernel = nnx.Param(np.ascontiguousarray(p["weight"].T).astype(dtype))
    if affine:
        module.bias = nnx.Param(p["bias"].astype(dtype))
    return StatelessNode(module, lambda m, x: m(x))


def _conv(plan, name, dtype):
    import jax
    import jax.numpy as jnp
    from flax import nnx

    p = plan.params[name]
    w = p["weight"]
    module = nnx.Conv(
        w.shape[1] * p["groups"], w.shape[0], kernel_size=tuple(w.shape[2:]), strides=tuple(p["stride"]),
        padding=[tuple(int(v) for v in pad) for pad in p["pads"]], kernel_dilation=tuple(p["dilation"]),
        feature_group_count=p["groups"], use_bias=True, dtype=dtype, param_dtype=dtype,
        precision=jax.lax.Precision.HIGHEST, rngs=nnx.Rngs(0),
    )
    module.kernel = nnx.Param(np.ascontiguousarray(np.moveaxis(w, (0, 1), (-1, -2))).astype(dtype))
    module.bias = nnx.Param(p["bias"].astype(dtype))

    def fn(m, x):  # (B, C, *S) -> (B, *S, C) -> conv -> back
        return jnp.moveaxis(m(jnp.moveaxis(x, 1, -1)), -1, 1)

    return StatelessNode(module, fn)


def _pool(plan, name, dtype):
    import jax.numpy as jnp
    import spyx.nn

    p = plan.params[name]
    k, s, pad = tuple(p["kernel_size"]), tuple(p["stride"]), tuple(p["padding"])
    module = spyx.nn.SumPool(k, s, "VALID", channel_axis=1)
    divisor = k[0] * k[1] if plan.types[name] == "AvgPool2d" else None

    def fn(m, x):
        if any(pad):
            x = jnp.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
        y = m(x)
        return y / divisor if divisor else y

    return StatelessNode(module, fn)


def is_full_flatten(plan, name) -> bool:
    """Whether a Flatten node flattens the whole sample (what ``spyx.nn.Flatten`` does)."""
    return len(plan.out_shapes[name]) == 1


def _flatten(plan, name, dtype):
    import spyx.nn

    shape = tuple(plan.out_shapes[name])
    if is_full_flatten(plan, name):
        return StatelessNode(spyx.nn.Flatten(), lambda m, x: m(x))
    return StatelessNode(None, lambda m, x: x.reshape((x.shape[0], *shape)))


def _threshold(plan, name, dtype):
    import jax.numpy as jnp
    import spyx.axn

    theta = jnp.asarray(plan.params[name]["threshold"].astype(dtype))
    return StatelessNode(None, lambda m, x: spyx.axn.heaviside(x - theta))


def _scale(plan, name, dtype):
    import jax.numpy as jnp

    scale = jnp.asarray(plan.params[name]["scale"].astype(dtype))
    return StatelessNode(None, lambda m, x: x * scale)


def _pass(plan, name, dtype):
    return StatelessNode(None, lambda m, x: x)


def _delay(plan, name, dtype):
    return DelayNode(plan.params[name]["steps"].astype(np.int64), tuple(plan.out_shapes[name]), dtype)


MAPPERS: dict[str, Callable] = {
    "Input": _pass, "Output": _pass, "Pass": _pass, "Linear": _linear, "Affine": _linear, "Conv1d": _conv,
    "Conv2d": _conv, "SumPool2d": _pool, "AvgPool2d": _pool, "Flatten": _flatten, "Threshold": _threshold,
    "Scale": _scale, "Delay": _delay, **{kind: (lambda plan, name, dtype: neuron_node(plan, name, dtype))
                                          for kind in NEURONS},
}


def make_node(plan, name: str, dtype: str):
    """The Spyx node of ``name`` (module + step), parameters in ``dtype``."""
    return MAPPERS[plan.types[name]](plan, name, np.dtype(dtype))

