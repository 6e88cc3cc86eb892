"""``nirverse_spyx.from_nir``: the model is made of Spyx's modules, runs in the requested dtype without
changing the caller's JAX configuration, and is differentiable through Spyx's surrogate spike functions."""

import numpy as np
import pytest

pytest.importorskip("spyx", reason="spyx is not installed: pip install 'nirverse[spyx]'")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import nirverse  # noqa: E402
import nirverse_spyx  # noqa: E402
import spyx.nn as sn  # noqa: E402
from flax import nnx  # noqa: E402
from nirverse import Semantics  # noqa: E402
from nirverse.testing import graphs  # noqa: E402

S = Semantics(1e-3, "exp", "subtract")


def _input(model, steps=30, seed=0):
    shape = model.plan.out_shapes[model.plan.inputs[0]]
    return {model.plan.inputs[0]: np.random.default_rng(seed).uniform(0, 1, (2, steps, *shape))}


def test_modules_are_spyx_and_nnx():
    model = nirverse_spyx.from_nir(graphs.feedforward(), S)
    kinds = {model.plan.types[n]: type(m) for n, m in model.modules.items() if m is not None}
    assert kinds["LIF"] is sn.LIF and kinds["LI"] is sn.LI
    assert issubclass(kinds.get("Affine", kinds.get("Linear")), nnx.Linear)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_dtype_is_scoped(dtype):
    before = jax.config.jax_enable_x64
    model = nirverse_spyx.from_nir(graphs.recurrent("CubaLIF"), S, dtype=dtype)
    x = _input(model)
    states, outputs = model(x, record=True)
    assert all(np.asarray(v).dtype == np.dtype(dtype) for v in outputs.values())
    assert jax.config.jax_enable_x64 == before and jnp.zeros(1).dtype == jnp.float32
    ref = nirverse.run(graphs.recurrent("CubaLIF"), x, S, record=True)
    tol = 1e-9 if dtype == "float64" else 1e-4
    for name, v in ref.outputs.items():
        np.testing.assert_allclose(np.asarray(outputs[name]), v, rtol=tol, atol=tol)
    assert set(states) == set(ref.states) and all("i" in s for n, s in states.items() if "i" in ref.states[n])


def test_gradients_flow_through_spyx_surrogates():
    model = nirverse_spyx.from_nir(graphs.feedforward(), S)
    graphdefs, params = model._split()
    x = {k: jnp.asarray(v) for k, v in _input(model, 40).items()}
    out = model.plan.outputs[0]

    def loss(p):
        _, outputs = model._scan(graphdefs, p, {k: jnp.swapaxes(v, 0, 1) for k, v in x.items()}, False)
        return jnp.sum(outputs[out] ** 2)

    with nirverse_spyx.precision("float64"):
        grads = jax.grad(loss)(params)
    leaves = [np.asarray(g) for g in jax.tree_util.tree_leaves(grads) if np.asarray(g).dtype.kind == "f"]
    assert leaves and all(np.all(np.isfinite(g)) for g in leaves) and any(np.any(g != 0) for g in leaves)
