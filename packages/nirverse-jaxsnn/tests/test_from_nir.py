"""Plugin-specific behaviour of the time-stepped jaxsnn backend (the conformance kit covers the cases)."""

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="jax is not installed: pip install 'nirverse[jaxsnn]'")
pytest.importorskip("jaxsnn", reason="jaxsnn is not installed: pip install 'nirverse[jaxsnn]'")

import nir  # noqa: E402
import nirverse  # noqa: E402
import nirverse_jaxsnn  # noqa: E402
from nirverse import Semantics  # noqa: E402

N = 4


def _graph(rng, v_threshold=1.0):
    return nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array([3])),
            "fc": nir.Affine(rng.normal(size=(N, 3)), rng.normal(size=N)),
            "lif": nir.CubaLIF(
                tau_syn=rng.uniform(2e-3, 1e-2, N), tau_mem=rng.uniform(5e-3, 2e-2, N), r=rng.uniform(0.5, 2, N),
                v_leak=rng.normal(size=N) * 0.1, v_threshold=np.full(N, v_threshold), v_reset=rng.normal(size=N) * 0.1,
                w_in=rng.uniform(0.5, 2, N),
            ),
            "rec": nir.Linear(rng.normal(size=(N, N))),
            "out": nir.Output(np.array([N])),
        },
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")],
    )


def test_from_nir_returns_jaxsnn_modules_and_matches_run():
    from jaxsnn.discrete.types import Population

    rng = np.random.default_rng(0)
    graph, sem = _graph(rng), Semantics(1e-3, "exp", "subtract", "one-step")
    x = rng.normal(size=(2, 40, 3)) * 20
    model = nirverse_jaxsnn.from_nir(graph, sem)
    assert all(isinstance(m, Population) for m in model.modules.values())
    assert set(model.params) == set(model.plan.order)
    states, outputs = model({"in": x}, record=True)
    ref = nirverse.run(graph, x, sem, record=True)
    assert np.array_equal(np.asarray(outputs["out"]), ref.outputs["out"])
    assert ref.outputs["out"].sum() > 0
    np.testing.assert_allclose(np.asarray(states["lif"]["v"]), ref.states["lif"]["v"], rtol=1e-12, atol=1e-12)
    # the parameters are a pytree the user can replace: zero input weights silence the input drive
    with nirverse_jaxsnn.precision("float64"):
        params = dict(model.params)
        params["fc"] = {"weight": params["fc"]["weight"] * 0, "bias": params["fc"]["bias"] * 0}
        _, silent = model.compiled()({"in": jax.numpy.asarray(x)}, params)
    assert np.asarray(silent["out"]).sum() < ref.outputs["out"].sum()


def test_float64_leaves_global_jax_config_alone():
    before = bool(jax.config.jax_enable_x64)
    rng = np.random.default_rng(1)
    res = nirverse.run(_graph(rng), rng.normal(size=(1, 5, 3)), Semantics(1e-3), backend="jaxsnn", record=True)
    assert res.states["lif"]["v"].dtype == np.float64
    assert bool(jax.config.jax_enable_x64) == before
    assert jax.numpy.zeros(1).dtype == (np.float64 if before else np.float32)


def test_float32_runs_in_float32():
    rng = np.random.default_rng(2)
    res = nirverse.run(_graph(rng), rng.normal(size=(1, 5, 3)), Semantics(1e-3), backend="jaxsnn", dtype="float32",
                       record=True)
    assert res.outputs["out"].dtype == np.float32 and res.states["lif"]["v"].dtype == np.float32


def test_threshold_is_strict_where_jaxsnn_superspike_is_one_half():
    """u == v_threshold must not spike; jaxsnn's default spike function gives 0.5 there."""
    from jaxsnn.discrete.functional.threshold import superspike

    assert float(superspike(jax.numpy.asarray(0.0))) == 0.5
    # IF with dt * r * x = 1 = v_threshold exactly in step 0, then 2 > 1 in step 1
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([1])), "if": nir.IF(r=np.array([1000.0]), v_threshold=np.array([1.0]),
                                                             v_reset=np.array([0.0])),
               "out": nir.Output(np.array([1]))},
        edges=[("in", "if"), ("if", "out")],
    )
    res = nirverse.run(graph, np.ones((1, 2, 1)), Semantics(1e-3), backend="jaxsnn")
    assert res.outputs["out"][0, :, 0].tolist() == [0.0, 1.0]


def test_zero_steps_and_delay_ring_buffer():
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([3])), "d": nir.Delay(np.array([0.0, 1e-3, 3e-3])),
               "out": nir.Output(np.array([3]))},
        edges=[("in", "d"), ("d", "out")],
    )
    x = np.arange(15, dtype=float).reshape(1, 5, 3) + 1
    res = nirverse.run(graph, x, Semantics(1e-3), backend="jaxsnn")
    np.testing.assert_array_equal(res.outputs["out"], nirverse.run(graph, x, Semantics(1e-3)).outputs["out"])
    assert res.outputs["out"][0, :, 2].tolist() == [0, 0, 0, 3, 6]
    empty = nirverse.run(graph, np.zeros((2, 0, 3)), Semantics(1e-3), backend="jaxsnn")
    assert empty.outputs["out"].shape == (2, 0, 3)


def test_import_does_not_import_jax_framework():
    import subprocess
    import sys

    code = "import nirverse_jaxsnn, sys; print('jaxsnn' in sys.modules, 'jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_li_gain_folded_into_the_affine_makes_li_step_native():
    """Affine -> LI: r is in the jaxsnn Linear's weights (and the bias), li_step does the whole update."""
    from nirverse.testing import graphs

    graph, sem = graphs.single_neuron("LI"), nirverse.Semantics(1e-3, "euler", "value")
    labels = {label.type: label for label in nirverse.explain(graph, sem, backend="jaxsnn")}
    assert labels["LI"].level == "native" and "folded" in labels["LI"].reason
    x = np.random.default_rng(0).normal(size=(2, 30, *nirverse.prepare(graph, sem).out_shapes["input"]))
    cmp = nirverse.compare(nirverse.run(graph, x, sem, backend="jaxsnn", record=True), nirverse.run(graph, x, sem, record=True))
    assert cmp.identical, cmp
