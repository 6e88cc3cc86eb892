r"""NIR node -> jaxsnn discrete-time module, one mapper per node type.

Every node becomes a module of jaxsnn's discrete paradigm (``jaxsnn/discrete/types.py``): a
``Population(generator, parameters, size)`` or ``Projection(generator, parameters)`` whose
``generator`` returns ``Functions(init, state, step)`` -- the same shape as jaxsnn's own ``LI``/``LIF``
modules (``jaxsnn/discrete/modules/li.py``, ``lif.py``). ``init(rng)`` returns the node's parameters
(a pytree, so a user can differentiate through them), ``state()`` the per-sample initial state and
``step(inputs, state, parameters) -> (state, output)`` one time step, with ``inputs = {"x": summed input}``.

The neuron steps call jaxsnn's own kernels, with arguments chosen so that the arithmetic is, operation
for operation, the reference's (``nirverse.reference.neurons``):

* ``li_step`` (``jaxsnn/discrete/functional/li.py``) computes
  ``V + dt/tau_mem * ((v_leak - V) + (I + sum(inputs)))``. Called with ``dt = kappa``, ``tau_mem = 1``,
  ``I = 0`` and input ``r * x`` it is the NIR membrane ``v + kappa (v_leak - v + r x)`` exactly
  (``kappa / 1 == kappa``, ``0 + y == y``). Its synaptic output is discarded: jaxsnn's synapse adds
  the input as a jump and decays it *after* the membrane update, which is not NIR's ``i_t``.
* ``lif_step`` (``jaxsnn/discrete/functional/lif.py``) integrates with its *state* current ``I`` (the
  previous step's in jaxsnn) and resets ``(1 - z) u + z v_reset``. Called with ``I = r x_t`` (the current
  of this step), zero new input, ``dt = kappa``, ``tau_mem = 1`` and a strict threshold ``method`` (jaxsnn's
  default ``superspike`` is ``0.5 + 0.5 sign(u - v_th)``, i.e. 0.5 at equality; NIR needs ``u > v_th``)
  it is the NIR LIF with ``"value"`` reset exactly. ``"subtract"`` (``u - z v_th``) has no jaxsnn kernel:
  ``li_step`` gives ``u`` and the subtraction follows.
* I / IF have no leak: ``v_leak = V`` (so ``v_leak - V == 0`` exactly) and ``dt = dt * r``, input ``x``.
* The CubaLI/CubaLIF synapse ``i_t = i + kappa_syn (w_in x - i)`` is one JAX line (see above).

=========  =========================  ====================================================================
NIR node   field                      jaxsnn
=========  =========================  ====================================================================
Input      shape                      ``jaxsnn.discrete.modules.Input(size)`` (1-D) / identity
Linear     weight W (out, in)         ``jaxsnn.discrete.modules.Linear(pre_weights=W.T)``; step
                                      ``functional.linear``: ``x @ W.T``
Affine     weight W, bias b           as Linear, then ``+ b``
Scale      scale s                    ``s * x``
Threshold  threshold th               ``1[x > th]``
Flatten    start_dim, end_dim         row-major reshape to the plan's output shape
Conv1d/2d  weight, bias, stride,      ``jax.lax.conv_general_dilated(x, W, stride, pads, rhs_dilation,
           padding, dilation, groups  feature_group_count=groups) + b`` (PyTorch cross-correlation)
SumPool2d  kernel, stride, padding    ``jax.lax.reduce_window(x, 0, add, kernel, stride, pads)``
AvgPool2d  kernel, stride, padding    the same ``/ (k_0 k_1)`` (padding counted)
Delay      delay                      ring buffer of ``max(k) + 1`` steps, ``k = round(delay/dt)``
I          r                          ``li_step(dt = dt*r, tau_mem = 1, v_leak = V)``
LI         tau, r, v_leak             ``li_step(dt = kappa(tau), tau_mem = 1, v_leak)``, input ``r x``
IF         r, v_threshold, v_reset    ``lif_step(dt = dt*r, tau_mem = 1, v_leak = V, v_th, v_reset)``
LIF        tau, r, v_leak, v_th,      ``lif_step(dt = kappa(tau), tau_mem = 1, v_leak, v_th, v_reset)``,
           v_reset                    state current ``r x``
CubaLI     tau_syn, tau_mem, r,       synapse ``i += kappa(tau_syn) (w_in x - i)``; LI with input ``r i``
           v_leak, w_in
CubaLIF    + v_threshold, v_reset     synapse as CubaLI; LIF with state current ``r i``
=========  =========================  ====================================================================

``kappa`` is ``Semantics.kappa`` (``dt/tau`` or ``1 - exp(-dt/tau)``), computed in float64 and cast to the
run's dtype, exactly as the reference does. Neurons start at rest (``v = v_leak``, 0 for I/IF; ``i = 0``);
jaxsnn's own ``state_fn`` starts every neuron at ``V = 0``, so the initial state is set here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._levels import folded_into, folded_target

__all__ = ["MAPPERS", "make_module", "strict_threshold"]


def strict_threshold(x: Any) -> Any:
    """The spike function for ``lif_step``'s ``method``: ``1[x > 0]`` (NIR compares strictly)."""
    return (x > 0).astype(x.dtype)


def _population(step: Callable, init_state: Callable, params: Any, size: int, name: str):
    from jaxsnn.discrete.types import Population

    def generator(dt: float):  # noqa: ARG001 - the time step is already folded into the parameters
        return Population.Functions(lambda rng: params, init_state, step)

    return Population(generator, {"size": size, "nirverse_node": name}, size)


def _stateless(fn: Callable, params: Any, size: int, name: str):
    """A population without state whose step is ``fn(x, params)``."""

    def step(inputs, state, parameters):
        return None, fn(inputs["x"], parameters)

    return _population(step, lambda: (None, None), params, size, name)


# -- stateless nodes ---------------------------------------------------------------------------

def _input(plan, name, dt_type):
    from jaxsnn.discrete.modules import Input

    shape = plan.out_shapes[name]
    if len(shape) == 1:
        return Input(shape[0])
    return _stateless(lambda x, p: x, None, math.prod(shape), name)


def _pass(plan, name, dt_type):
    return _stateless(lambda x, p: x, None, math.prod(plan.out_shapes[name]), name)


def _linear(plan, name, dt_type):
    import jax.numpy as jnp
    from jaxsnn.discrete.modules import Linear

    p = plan.params[name]
    target = folded_target(plan, name)  # an LI whose input gain r these weights absorb
    gain = np.ones(p["weight"].shape[0]) if target is None else plan.params[target]["r"]
    module = Linear(pre_weights=np.ascontiguousarray((gain[:, None] * p["weight"]).T, dtype=dt_type))
    fns = module.generator(p["weight"].shape[1], p["weight"].shape[0])
    weight = fns.init(None)
    if plan.types[name] == "Affine":
        params = {"weight": weight, "bias": jnp.asarray((gain * p["bias"]).astype(dt_type))}
        fn = lambda x, q: fns.step({"x": x}, None, q["weight"])[1] + q["bias"]  # noqa: E731
    else:
        params = {"weight": weight}
        fn = lambda x, q: fns.step({"x": x}, None, q["weight"])[1]  # noqa: E731
    return _stateless(fn, params, p["weight"].shape[0], name)


def _scale(plan, name, dt_type):
    import jax.numpy as jnp

    params = {"scale": jnp.asarray(plan.params[name]["scale"].astype(dt_type))}
    return _stateless(lambda x, q: x * q["scale"], params, math.prod(plan.out_shapes[name]), name)


def _threshold(plan, name, dt_type):
    import jax.numpy as jnp

    params = {"threshold": jnp.asarray(plan.params[name]["threshold"].astype(dt_type))}
    return _stateless(
        lambda x, q: (x > q["threshold"]).astype(x.dtype), params, math.prod(plan.out_shapes[name]), name
    )


def _flatten(plan, name, dt_type):
    shape = plan.out_shapes[name]
    return _stateless(lambda x, q: x.reshape(shape), None, math.prod(shape), name)


def _conv(plan, name, dt_type):
    import jax
    import jax.numpy as jnp

    p = plan.params[name]
    dims = p["weight"].ndim - 2
    params = {"weight": jnp.asarray(p["weight"].astype(dt_type)), "bias": jnp.asarray(p["bias"].astype(dt_type))}
    stride, dilation, pads, groups = p["stride"], p["dilation"], [tuple(x) for x in p["pads"]], p["groups"]

    def fn(x, q):
        y = jax.lax.conv_general_dilated(
            x[None], q["weight"], window_strides=stride, padding=pads, rhs_dilation=dilation,
            feature_group_count=groups, precision=jax.lax.Precision.HIGHEST,
        )[0]
        return y + q["bias"].reshape((-1,) + (1,) * dims)

    return _stateless(fn, params, math.prod(plan.out_shapes[name]), name)


def _pool(plan, name, dt_type):
    import jax

    p = plan.params[name]
    k, s, pad = p["kernel_size"], p["stride"], p["padding"]
    average = plan.types[name] == "AvgPool2d"

    def fn(x, q):
        y = jax.lax.reduce_window(
            x, np.asarray(0, x.dtype), jax.lax.add, (1, *k), (1, *s), ((0, 0), (pad[0], pad[0]), (pad[1], pad[1]))
        )
        return y / (k[0] * k[1]) if average else y

    return _stateless(fn, None, math.prod(plan.out_shapes[name]), name)


def _delay(plan, name, dt_type):
    import jax.numpy as jnp

    steps = plan.params[name]["steps"].astype(np.int64)
    depth = int(steps.max(initial=0))
    shape = plan.out_shapes[name]
    index = jnp.asarray(steps.reshape((1, *shape)).astype(np.int32))

    def init_state():
        return {"history": jnp.zeros((depth + 1, *shape), dt_type)}, None

    def step(inputs, state, parameters):
        history = jnp.roll(state["history"], 1, axis=0).at[0].set(inputs["x"])
        return {"history": history}, jnp.take_along_axis(history, index, axis=0)[0]

    return _population(step, init_state, None, math.prod(shape), name)


# -- neurons -----------------------------------------------------------------------------------

def _neuron(plan, name, dt_type):
    import jax.numpy as jnp
    from jaxsnn.discrete.functional import LIFState, LIState, li_step, lif_step

    kind, p, sem = plan.types[name], plan.params[name], plan.semantics
    shape = plan.out_shapes[name]
    cast = lambda a: jnp.asarray(np.asarray(a, np.float64).astype(dt_type))  # noqa: E731
    leaky = kind in ("LI", "LIF", "CubaLI", "CubaLIF")
    spiking = kind in ("IF", "LIF", "CubaLIF")
    cuba = kind.startswith("Cuba")
    params: dict[str, Any] = {"r": cast(p["r"])}
    if leaky:
        params["kappa"] = cast(sem.kappa(p["tau_mem"] if cuba else p["tau"]))
        params["v_leak"] = cast(p["v_leak"])
    else:  # the reference's dt * r, in the run's dtype
        params["dt_r"] = jnp.asarray(dt_type.type(sem.dt) * p["r"].astype(dt_type))
    if cuba:
        params["kappa_syn"] = cast(sem.kappa(p["tau_syn"]))
        params["w_in"] = cast(p["w_in"])
    if spiking:
        params["v_threshold"] = cast(p["v_threshold"])
        params["v_reset"] = cast(p["v_reset"])
    subtract = sem.reset == "subtract"
    folded = folded_into(plan, name) is not None  # r is in the weights of the Linear before
    rest = p["v_leak"] if leaky else np.zeros(shape)
    zeros = np.zeros(shape, dt_type)

    def init_state():
        return LIState(jnp.asarray(rest.astype(dt_type)), jnp.asarray(zeros)), jnp.asarray(zeros)

    def step(inputs, state, q):
        x = inputs["x"]
        if cuba:
            i = state.I + q["kappa_syn"] * (q["w_in"] * x - state.I)
            drive = q["r"] * i
        else:
            i = state.I
            drive = x if folded or not leaky else q["r"] * x
        # leaky: (dt, v_leak) = (kappa, v_leak); I/IF: (dt * r, V) -- see the module docstring
        dt_arg, v_leak = (q["kappa"], q["v_leak"]) if leaky else (q["dt_r"], state.V)
        if spiking and not subtract:
            new, z = lif_step(
                {"x": jnp.zeros_like(x)}, LIFState(state.V, drive), None, method=strict_threshold,
                v_leak=v_leak, v_th=q["v_threshold"], v_reset=q["v_reset"], tau_mem=1.0, tau_syn=1.0, dt=dt_arg,
            )
            return LIState(new.V, i), z
        new, u = li_step({"x": drive}, LIState(state.V, jnp.zeros_like(x)), None, v_leak, 1.0, 1.0, dt_arg)
        if not spiking:
            return LIState(u, i), u
        z = strict_threshold(u - q["v_threshold"])
        return LIState(u - z * q["v_threshold"], i), z

    return _population(step, init_state, params, math.prod(shape), name)


MAPPERS: dict[str, Callable] = {
    "Input": _input, "Output": _pass, "Pass": _pass, "Linear": _linear, "Affine": _linear, "Scale": _scale,
    "Threshold": _threshold, "Flatten": _flatten, "Conv1d": _conv, "Conv2d": _conv, "SumPool2d": _pool,
    "AvgPool2d": _pool, "Delay": _delay, "I": _neuron, "LI": _neuron, "IF": _neuron, "LIF": _neuron,
    "CubaLI": _neuron, "CubaLIF": _neuron,
}


def make_module(plan, name: str, dtype: np.dtype):
    """The jaxsnn module of node ``name`` of ``plan`` (parameters already in ``dtype``)."""
    return MAPPERS[plan.types[name]](plan, name, np.dtype(dtype))
