"""NIR -> Brian2: the per-step update, scheduling, hostile names, codegen targets, dtypes, refusals."""

from __future__ import annotations

import importlib.util
import os

import nir
import numpy as np
import pytest

brian2 = pytest.importorskip("brian2", reason="brian2 is not installed: pip install 'nirverse[brian2]'")

import nirverse  # noqa: E402
import nirverse_brian2 as nb  # noqa: E402
from nirverse import Semantics  # noqa: E402
from nirverse.errors import UnsupportedNodeError, UnsupportedSemanticsError  # noqa: E402

DT = 1e-3
RNG = np.random.default_rng(7)


def cuba_graph(n: int = 4) -> nir.NIRGraph:
    return nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array([3])),
            "fc": nir.Affine(RNG.normal(size=(n, 3)), 0.1 * RNG.normal(size=n)),
            "cuba": nir.CubaLIF(
                tau_syn=np.full(n, 0.004), tau_mem=np.array([0.01, 0.02, 0.005, 0.03])[:n], r=np.full(n, 2.0),
                v_leak=np.full(n, 0.1), v_threshold=np.full(n, 0.6), v_reset=np.full(n, -0.1), w_in=np.full(n, 1.5),
            ),
            "out": nir.Output(np.array([n])),
        },
        edges=[("in", "fc"), ("fc", "cuba"), ("cuba", "out")],
    )


def identical(graph, x, semantics, **kwargs):
    res = nirverse.run(graph, x, semantics, backend="brian2", record=True, **kwargs)
    ref = nirverse.run(graph, x, semantics, record=True, dtype=kwargs.get("dtype", "float64"))
    return nirverse.compare(res, ref, dtype=kwargs.get("dtype", "float64")), res


@pytest.mark.parametrize("method", ["euler", "exp"])
def test_cuba_step_uses_the_same_steps_current(method):
    """Brian2's own state after each step equals the semantics' formula applied to its state before."""
    sem = Semantics(DT, method=method, reset="value")
    x = RNG.uniform(0, 2, size=(1, 40, 3))
    model = nb.from_nir(cuba_graph(), sem, x, record=True)
    model.run()
    st = model.states()["cuba"]
    v, i = st["v"][0], st["i"][0]
    spikes = model.outputs()["out"][0]
    p = model.plan.params["cuba"]
    drive = x[0] @ model.plan.params["fc"]["weight"].T + model.plan.params["fc"]["bias"]
    k_syn, k_mem = sem.kappa(p["tau_syn"]), sem.kappa(p["tau_mem"])
    v_prev, i_prev = p["v_leak"].copy(), np.zeros(4)
    stale = 0.0
    for t in range(x.shape[1]):
        i_t = i_prev + k_syn * (p["w_in"] * drive[t] - i_prev)
        u = v_prev + k_mem * (p["v_leak"] - v_prev + p["r"] * i_t)
        old = v_prev + k_mem * (p["v_leak"] - v_prev + p["r"] * i_prev)  # the i_{t-1} order
        z = u > p["v_threshold"]
        np.testing.assert_allclose(i[t], i_t, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(spikes[t], z.astype(float))
        np.testing.assert_allclose(v[t], np.where(z, p["v_reset"], u), rtol=1e-12, atol=1e-12)
        stale = max(stale, float(np.max(np.abs(old - u))))
        v_prev, i_prev = v[t], i[t]
    assert stale > 1e-3  # the other order would be visibly different: the check can fail


@pytest.mark.parametrize("method, integrator", [("euler", "euler"), ("exp", "exact")])
def test_leaky_groups_use_brians_integrator(method, integrator):
    model = nb.from_nir(cuba_graph(), Semantics(DT, method=method), steps=2)
    assert model.groups["cuba"].method_choice == integrator
    assert model.currents["cuba"].method_choice == integrator


@pytest.mark.parametrize("latency", ["immediate", "one-step"])
def test_latency_in_a_chain(latency):
    """Two LIF layers: under one-step the second sees the first's spikes a step later."""
    g = nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array([2])),
            "a": nir.LIF(tau=np.full(2, 0.01), r=np.full(2, 5.0), v_leak=np.zeros(2), v_threshold=np.full(2, 0.5),
                         v_reset=np.zeros(2)),
            "w": nir.Linear(np.array([[2.0, 0.0], [0.0, 2.0]])),
            "b": nir.IF(r=np.full(2, 400.0), v_threshold=np.full(2, 0.5), v_reset=np.zeros(2)),
            "out": nir.Output(np.array([2])),
        },
        edges=[("in", "a"), ("a", "w"), ("w", "b"), ("b", "out")],
    )
    x = RNG.uniform(0, 3, size=(2, 60, 2))
    cmp, res = identical(g, x, Semantics(DT, latency=latency))
    assert cmp.identical, cmp
    assert res.outputs["out"].sum() > 0


HOSTILE = [
    "x'; import os; os.system('echo pwned') #",
    "v = 0\nz = 1",
    "in0",
    "__import__('os').getcwd()",
    "stim(t, i)",
    "a.b c",
]


def test_hostile_names_and_metadata_never_reach_brian2():
    n_in, n_aff, n_lif, n_out = HOSTILE[0], HOSTILE[1], HOSTILE[2], HOSTILE[3]
    g = nir.NIRGraph(
        nodes={
            n_in: nir.Input(np.array([3])),
            n_aff: nir.Affine(RNG.normal(size=(2, 3)), np.zeros(2), metadata={"code": "v = v_reset; 1/0"}),
            n_lif: nir.LIF(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.full(2, 0.3),
                           v_reset=np.zeros(2)),
            HOSTILE[4]: nir.Scale(np.array([2.0, -1.0])),
            n_out: nir.Output(np.array([2])),
        },
        edges=[(n_in, n_aff), (n_aff, n_lif), (n_lif, HOSTILE[4]), (HOSTILE[4], n_out)],
        metadata={"__import__('os')": "exec('1/0')"},
    )
    x = RNG.uniform(0, 2, size=(1, 30, 3))
    cmp, _ = identical(g, x, Semantics(DT))
    assert cmp.identical, cmp
    model = nb.from_nir(g, Semantics(DT), x)
    texts = []
    for obj in model.network.objects:
        texts.append(obj.name)
        texts.append(str(getattr(obj, "equations", "")))
        texts += [str(getattr(c, "abstract_code", "")) for c in getattr(obj, "contained_objects", [])]
    blob = "\n".join(texts)
    # "in0" and "stim(t, i)" are also the plugin's own code; the others must appear nowhere
    for text in [HOSTILE[0], HOSTILE[1], HOSTILE[3], HOSTILE[5], "1/0", "pwned", "exec("]:
        assert text not in blob
    assert all(obj.name.replace("_", "").isalnum() for obj in model.network.objects)


@pytest.mark.parametrize(
    "node, shape, out",
    [
        (nir.Conv2d(None, RNG.normal(size=(4, 1, 3, 3)), 2, 1, 1, 2, RNG.normal(size=4)), (2, 7, 6), (4, 4, 3)),
        (nir.Conv1d(None, RNG.normal(size=(3, 2, 2)), 1, (1,), 2, 1, np.zeros(3)), (2, 9), (3, 9)),
        (nir.AvgPool2d(np.array([2, 3]), np.array([2, 1]), np.array([1, 0])), (2, 5, 6), (2, 3, 4)),
        (nir.SumPool2d(np.array([3, 3]), np.array([1, 2]), np.array([1, 1])), (2, 5, 6), (2, 5, 3)),
    ],
)
def test_sparse_connectivity_matches_pytorch_definitions(node, shape, out):
    g = nir.NIRGraph(
        nodes={"in": nir.Input(np.array(shape)), "op": node, "out": nir.Output(np.array(out))},
        edges=[("in", "op"), ("op", "out")], type_check=False,
    )
    x = RNG.normal(size=(2, 3, *shape))
    cmp, res = identical(g, x, Semantics(DT))
    assert cmp.identical and cmp.max_abs < 1e-12, cmp


def test_delay_per_element_and_from_spikes():
    g = nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array([3])),
            "lif": nir.LIF(tau=np.full(3, 0.005), r=np.full(3, 3.0), v_leak=np.zeros(3), v_threshold=np.full(3, 0.4),
                           v_reset=np.zeros(3)),
            "d": nir.Delay(np.array([0.0, 0.002, 0.005])),
            "d2": nir.Delay(np.array([0.003, 0.003, 0.003])),
            "out": nir.Output(np.array([3])),
            "out2": nir.Output(np.array([3])),
        },
        edges=[("in", "lif"), ("lif", "d"), ("d", "out"), ("in", "d2"), ("d2", "out2")],
    )
    x = RNG.uniform(0, 2, size=(2, 25, 3))
    for latency in ("immediate", "one-step"):
        cmp, res = identical(g, x, Semantics(DT, latency=latency))
        assert cmp.identical, cmp
    np.testing.assert_array_equal(res.outputs["out2"][:, 3:], x[:, :-3])


def test_float32_runs_in_float32():
    x = RNG.uniform(0, 2, size=(2, 30, 3))
    graph = cuba_graph()
    model = nb.from_nir(graph, Semantics(DT, method="exp"), x, dtype="float32")
    assert model.groups["cuba"].v[:].dtype == np.float32
    cmp, res = identical(graph, x, Semantics(DT, method="exp"), dtype="float32")
    assert res.outputs["out"].dtype == np.float32
    assert cmp.max_abs < 1e-5


def test_from_nir_returns_a_runnable_brian2_network():
    x = RNG.uniform(0, 2, size=(3, 20, 3))
    graph = cuba_graph()
    model = nb.from_nir(graph, Semantics(DT), x)
    assert isinstance(model.network, brian2.Network)
    assert isinstance(model.groups["cuba"], brian2.NeuronGroup)
    assert len(model.groups["cuba"]) == 3 * 4  # the batch is replicated as neurons
    model.run()
    ref = nirverse.run(graph, x, Semantics(DT))
    assert ref.outputs["out"].sum() > 0
    np.testing.assert_array_equal(model.outputs()["out"], ref.outputs["out"])


def test_unknown_codegen_target_is_refused():
    with pytest.raises(UnsupportedSemanticsError, match="codegen target"):
        nb.from_nir(cuba_graph(), Semantics(DT), steps=2, target="cpp_standalone")


def test_compiled_targets_declare_native_code(monkeypatch):
    """compare/conformance run a backend with native code in a child process (nirverse.isolation)."""
    from nirverse_brian2._backend import TARGET_ENV, Brian2Backend

    monkeypatch.delenv(TARGET_ENV, raising=False)
    assert not Brian2Backend().native_code and not Brian2Backend("numpy").native_code
    assert Brian2Backend("cython").native_code
    monkeypatch.setenv(TARGET_ENV, "cython")
    assert Brian2Backend().native_code


@pytest.mark.skipif(importlib.util.find_spec("Cython") is None, reason="Cython is not installed")
@pytest.mark.skipif(
    not os.environ.get("NIRVERSE_BRIAN2_TEST_CYTHON"),
    reason="compiling the Cython code objects takes minutes on a cold cache: set NIRVERSE_BRIAN2_TEST_CYTHON=1",
)
def test_cython_target_is_identical():
    """A recurrent CubaLIF under one-step latency: linked, summed and event-driven (on_pre) edges."""
    from nirverse.testing.catalogue import load_cases

    (case,) = load_cases(["recurrent-cubalif-exp-subtract-1step"])
    model = nb.from_nir(case.graph(), case.semantics, case.inputs, target="cython", record=True)
    assert model.target == "cython"
    model.run()
    res = nirverse.Result(outputs=model.outputs(), states=model.states())
    ref = nirverse.Result(outputs=case.outputs, states=case.states)
    cmp = nirverse.compare(res, ref, spiking_outputs=case.spiking)
    assert cmp.identical, cmp


@pytest.mark.parametrize("batch, steps", [(0, 5), (2, 0)])
def test_empty_runs_return_empty_arrays(batch, steps):
    res = nirverse.run(cuba_graph(), np.zeros((batch, steps, 3)), Semantics(DT), backend="brian2", record=True)
    assert res.outputs["out"].shape == (batch, steps, 4)
    assert res.states["cuba"]["i"].shape == (batch, steps, 4)


def test_all_zero_weights_make_no_synapses():
    g = nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array([3])),
            "a": nir.Affine(np.zeros((2, 3)), np.array([0.5, -1.0])),
            "li": nir.LI(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2)),
            "out": nir.Output(np.array([2])),
        },
        edges=[("in", "a"), ("a", "li"), ("li", "out")],
    )
    cmp, res = identical(g, np.ones((2, 10, 3)), Semantics(DT))
    assert cmp.identical and np.all(res.outputs["out"][:, -1] != 0), cmp


def test_very_long_delay_is_refused_naming_the_node():
    g = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([1])), "long": nir.Delay(np.array([5.0])), "out": nir.Output(np.array([1]))},
        edges=[("in", "long"), ("long", "out")],
    )
    with pytest.raises(UnsupportedNodeError, match="'long'.*'delay'"):
        nirverse.run(g, np.ones((1, 3, 1)), Semantics(DT), backend="brian2")


def test_threshold_in_a_loop_sees_the_spike_of_its_step():
    """Issue 20 (fuzz): IF -> Threshold -> back-edge into the IF under immediate latency. The IF's ``z = 0``
    ran before the Threshold copied its output for the back-edge, so the loop lost the spike (v off by 0.88)."""
    from nirverse.testing import load_cases, run_case

    (case,) = load_cases(["fuzz-brian2-if-threshold-loop-euler-subtract-imm"])
    verdict = run_case("brian2", case)
    assert verdict.status == "identical", verdict.summary()
