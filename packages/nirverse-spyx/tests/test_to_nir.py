"""Spyx -> NIR: a model built in Spyx, exported, runs identically under the semantics (reference, float64);
NIR -> Spyx -> NIR returns the same parameters bit for bit, and changed module parameters are read back."""

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
from nirverse.compare import raster_mismatches  # noqa: E402
from nirverse.testing import graphs  # noqa: E402
from nirverse.testing.catalogue import load_cases  # noqa: E402

DT = 1e-3
RNG = np.random.default_rng(3)
X = RNG.uniform(0.0, 1.0, (2, 120, 3))


def _flat_params(graph, semantics):
    plan = nirverse.prepare(graph, semantics)
    return plan, {n: {k: np.asarray(v) for k, v in p.items()} for n, p in plan.params.items()}


ROUND_TRIP = {
    "feedforward": graphs.feedforward, "nested": graphs.nested, "conv": graphs.conv_stack,
    "recurrent": lambda: graphs.recurrent("CubaLIF"), "delay": lambda: graphs.delay_chain(DT),
    "IF": lambda: graphs.single_neuron("IF"), "I": lambda: graphs.single_neuron("I"),
    "CubaLI": lambda: graphs.single_neuron("CubaLI"),
    "braille": lambda: load_cases(["paper-braille-subtract-euler-subtract-imm"])[0].graph(),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("key", sorted(ROUND_TRIP))
def test_round_trip_is_bit_exact(key, dtype):
    graph = ROUND_TRIP[key]()
    s = Semantics(1e-4 if key == "braille" else DT, "exp", "subtract")
    back = nirverse_spyx.to_nir(nirverse_spyx.from_nir(graph, s, dtype=dtype), s)
    plan1, p1 = _flat_params(graph, s)
    plan2, p2 = _flat_params(back, s)
    assert plan1.edges == plan2.edges and plan1.types == plan2.types
    for name, fields in p1.items():
        for field, value in fields.items():
            assert np.array_equal(value, p2[name][field]), (name, field)
    assert Semantics.from_metadata(back.metadata) == s


def test_changed_module_parameters_are_read_back():
    s = Semantics(DT, "euler", "subtract")
    model = nirverse_spyx.from_nir(graphs.feedforward(), s)
    plan = model.plan
    linear = next(n for n in plan.order if plan.types[n] in ("Affine", "Linear"))
    lif = next(n for n in plan.order if plan.types[n] == "LIF")
    with nirverse_spyx.precision("float64"):
        model.nodes[linear].module.kernel[...] = model.nodes[linear].module.kernel[...] * 1.5
        beta = model.nodes[lif].module.beta[...]
        model.nodes[lif].module.beta = nnx.Param(beta * 0.9)
    model._jitted.clear()
    x = np.random.default_rng(0).uniform(0, 1, (2, 60, *plan.out_shapes[plan.inputs[0]]))
    states, own = model({plan.inputs[0]: x})
    back = nirverse_spyx.to_nir(model, s)
    _, p = _flat_params(back, s)
    assert np.array_equal(p[linear]["weight"], plan.params[linear]["weight"] * 1.5)
    assert not np.allclose(p[lif]["tau"], plan.params[lif]["tau"])
    ref = nirverse.run(back, x, s).outputs
    for name, values in ref.items():
        np.testing.assert_allclose(np.asarray(own[name]), values, rtol=1e-9, atol=1e-9)


# -- models written in Spyx -------------------------------------------------------------------------------

def _linear(n_in, n_out, seed, bias=True):
    layer = nnx.Linear(n_in, n_out, use_bias=bias, param_dtype=jnp.float64, dtype=jnp.float64,
                       precision=jax.lax.Precision.HIGHEST, rngs=nnx.Rngs(seed))
    layer.kernel[...] = layer.kernel[...] * 2.0
    return layer


def _per_neuron(module, **params):
    for field, value in params.items():
        setattr(module, field, nnx.Param(jnp.asarray(value, jnp.float64)))
    return module


def _models():
    r = nnx.Rngs(0)
    return {
        "lif": lambda: sn.Sequential(_linear(3, 4, 1), _per_neuron(
            sn.LIF((4,), threshold=np.array([0.5, 1.0, 0.8, 0.3]), rngs=r), beta=[0.9, 0.95, 0.8, 0.5])),
        "if-cubalif": lambda: sn.Sequential(_linear(3, 5, 2), sn.IF((5,), threshold=0.7), _linear(5, 2, 3, bias=False),
                                            _per_neuron(sn.CuBaLIF((2,), threshold=0.6, rngs=r), alpha=[0.7, 0.8],
                                                        beta=[0.9, 0.6])),
        "rlif-li": lambda: sn.Sequential(_linear(3, 4, 4), _per_neuron(sn.RLIF((4,), threshold=0.8, rngs=r),
                                                                         beta=[0.9, 0.7, 0.85, 0.6]),
                                         _linear(4, 2, 5), _per_neuron(sn.LI((2,), rngs=r), beta=[0.9, 0.8])),
        "rif-rcubalif": lambda: sn.Sequential(_linear(3, 4, 6), sn.RIF((4,), threshold=1.0, rngs=r), _linear(4, 3, 7),
                                              _per_neuron(sn.RCuBaLIF((3,), threshold=0.5, rngs=r),
                                                          alpha=[0.5, 0.6, 0.7], beta=[0.8, 0.9, 0.7])),
    }


def _spyx_run(model, x):
    out, _ = sn.run(model, jnp.asarray(np.swapaxes(x, 0, 1)))
    return np.swapaxes(np.asarray(out), 0, 1)


@pytest.mark.parametrize("method", ["euler", "exp"])
@pytest.mark.parametrize("key", ["lif", "if-cubalif", "rlif-li", "rif-rcubalif"])
def test_spyx_model_exports_identically(key, method):
    s = Semantics(DT, method, "subtract")
    with jax.enable_x64(True):
        model = _models()[key]()
        own = _spyx_run(model, X)
    graph = nirverse_spyx.to_nir(model, s)
    ref = nirverse.run(graph, X, s).outputs["output"]
    if key == "rlif-li":  # a membrane output
        assert np.abs(own).max() > 0.1
        np.testing.assert_allclose(ref, own, rtol=1e-9, atol=1e-9)
    else:
        assert 5 < own.sum() < 0.8 * own.size
        assert raster_mismatches(ref, own) == 0
    back = nirverse.run(graph, X, s, backend="spyx").outputs["output"]
    np.testing.assert_allclose(back, ref, rtol=1e-9, atol=1e-9)


def test_export_refusals_are_typed():
    with jax.enable_x64(True):
        model = _models()["lif"]()
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="subtract"):
        nirverse_spyx.to_nir(model, Semantics(DT, reset="value"))
    with pytest.raises(nirverse.UnsupportedSemanticsError, match="latency"):
        nirverse_spyx.to_nir(model, Semantics(DT, reset="subtract", latency="one-step"))
    conv = sn.Sequential(nnx.Conv(2, 3, (3, 3), strides=2, padding="SAME", rngs=nnx.Rngs(0)), sn.IF((4, 4, 3)))
    with pytest.raises(nirverse.UnsupportedNodeError, match="asymmetric"):  # NNX pads (0, 1) here
        nirverse_spyx.to_nir(conv, Semantics(DT, reset="subtract"), input_shape=(2, 8, 8))
    flat = sn.Sequential(nnx.Conv(2, 3, (3, 3), rngs=nnx.Rngs(0)), sn.Flatten(), sn.IF((192,)))
    with pytest.raises(nirverse.UnsupportedNodeError, match="followed by an nnx.Linear"):
        nirverse_spyx.to_nir(flat, Semantics(DT, reset="subtract"), input_shape=(2, 8, 8))


def _conv(n_in, n_out, seed, **kw):
    layer = nnx.Conv(n_in, n_out, (3, 3), param_dtype=jnp.float64, dtype=jnp.float64,
                     precision=jax.lax.Precision.HIGHEST, rngs=nnx.Rngs(seed), **kw)
    layer.kernel[...] = layer.kernel[...] * 3.0
    return layer


@pytest.mark.parametrize("method", ["euler", "exp"])
def test_spyx_conv_model_exports_identically(method):
    """A channels-last Spyx CNN: Conv('SAME') -> IF -> SumPool -> Conv(dilated, 'VALID') -> LIF (per-neuron
    beta on (H, W, C)) -> Flatten -> Linear -> CuBaLIF; the export takes channels-first input."""
    s = Semantics(DT, method, "subtract")
    r = nnx.Rngs(0)
    x = (np.random.default_rng(5).random((2, 60, 2, 8, 8)) < 0.3).astype(np.float64)  # (B, T, C, H, W)
    with jax.enable_x64(True):
        beta = np.random.default_rng(6).uniform(0.5, 0.95, (2, 2, 3))  # (H, W, C)
        model = sn.Sequential(
            _conv(2, 4, 1, padding="SAME"), sn.IF((8, 8, 4), threshold=1.0), sn.SumPool((2, 2), (2, 2), "VALID"),
            _conv(4, 3, 2, padding="VALID", kernel_dilation=1), _per_neuron(sn.LIF((2, 2, 3), threshold=0.5, rngs=r),
                                                                          beta=beta),
            sn.Flatten(), _linear(12, 5, 3), _per_neuron(sn.CuBaLIF((5,), threshold=0.4, rngs=r), alpha=[0.6] * 5,
                                                         beta=[0.8] * 5))
        out, _ = sn.run(model, jnp.asarray(np.moveaxis(np.swapaxes(x, 0, 1), 2, -1)))
        own = np.swapaxes(np.asarray(out), 0, 1)
    graph = nirverse_spyx.to_nir(model, s, input_shape=(2, 8, 8))
    ref = nirverse.run(graph, x, s).outputs["output"]
    assert 5 < own.sum() < 0.8 * own.size
    assert raster_mismatches(ref, own) == 0
