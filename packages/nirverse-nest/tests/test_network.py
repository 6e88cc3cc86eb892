"""The NEST backend against the reference: threads, batches, the NIR paper's neuron, refusals, levels,
and the NEST facts the mapping rests on (measured in NEST, not assumed)."""

from __future__ import annotations

from importlib.resources import files

import nir
import nirverse
import nirverse_nest
import numpy as np
import pytest
from nirverse.errors import UnsupportedNodeError, UnsupportedSemanticsError
from nirverse.testing.catalogue import load_cases
from nirverse.testing.graphs import around
from nirverse_nest._model import import_nest

PAPER = files("nirverse.testing") / "data" / "nir-paper"


def _case(case_id):
    (case,) = load_cases([case_id])
    return case


@pytest.mark.parametrize("case_id", ["recurrent-lif-exp-value-1step", "feedforward-euler-value-imm"])
def test_one_and_two_threads_are_identical(case_id):
    case = _case(case_id)
    runs = []
    for threads in (1, 2):
        net = nirverse_nest.from_nir(case.graph(), case.semantics, threads=threads)
        outputs, _ = net.run(case.inputs)
        assert net.last["kernel"]["local_num_threads"] == threads
        runs.append(outputs)
    for name, expected in case.outputs.items():
        assert expected.any()
        np.testing.assert_array_equal(runs[1][name], runs[0][name])  # bit for bit
        np.testing.assert_allclose(runs[0][name], expected, rtol=1e-9, atol=1e-9)


def test_batch_as_copies_equals_repeated_runs():
    case = _case("recurrent-lif-euler-value-1step")
    assert next(iter(case.inputs.values())).shape[0] > 1
    net = nirverse_nest.from_nir(case.graph(), case.semantics)
    repeated, repeated_states = net.run(case.inputs, record=True)
    net.batch = "copies"
    copies, copies_states = net.run(case.inputs, record=True)
    for out, expected in case.outputs.items():
        np.testing.assert_array_equal(copies[out], repeated[out])
        np.testing.assert_array_equal(repeated[out], expected)
    for node, states in repeated_states.items():
        np.testing.assert_array_equal(copies_states[node]["v"], states["v"])


def test_paper_lif_spikes_at_the_exact_solution():
    """The paper's neuron (v_reset = 0) under reset='value': NEST spikes at 460, 510, 710, 760 as the exact
    solution; its catalogue case uses 'subtract', which NEST's models cannot do (refused)."""
    stimulus = np.loadtxt(str(PAPER / "lif_exact.csv"), delimiter=",")
    sem = nirverse.Semantics(1e-4, method="exp", reset="value")
    res = nirverse.run(str(PAPER / "lif_norse.nir"), stimulus[:, 0].reshape(1, -1, 1), sem, backend="nest", record=True)
    ref = nirverse.run(str(PAPER / "lif_norse.nir"), stimulus[:, 0].reshape(1, -1, 1), sem, record=True)
    assert np.nonzero(res.outputs["output"][0, :, 0])[0].tolist() == [460, 510, 710, 760]
    (name,) = ref.states
    np.testing.assert_allclose(res.states[name]["v"], ref.states[name]["v"], rtol=1e-9, atol=1e-9)


def test_float32_is_refused():
    g = around(nir.LIF(tau=np.array([0.01]), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1),
                   v_reset=np.zeros(1)), (1,))
    x = np.ones((1, 5, 1))
    with pytest.raises(UnsupportedSemanticsError, match="float32"):
        nirverse.run(g, x, nirverse.Semantics(1e-3), backend="nest", dtype="float32")


def test_continuous_neuron_output_feeding_a_node_is_refused():
    """LI -> Linear -> LIF needs the LI's value at the LIF: NEST neurons send spikes only."""
    g = nir.NIRGraph(nodes={
        "in": nir.Input(input_type={"input": np.array([2])}),
        "li": nir.LI(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2)),
        "w": nir.Linear(weight=np.ones((1, 2))),
        "lif": nir.LIF(tau=np.full(1, 0.01), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1),
                       v_reset=np.zeros(1)),
        "out": nir.Output(output_type={"output": np.array([1])}),
    }, edges=[("in", "li"), ("li", "w"), ("w", "lif"), ("lif", "out")])
    with pytest.raises(UnsupportedNodeError, match="spikes only"):
        nirverse.run(g, np.ones((1, 5, 2)), nirverse.Semantics(1e-3), backend="nest")
    (li,) = [lv for lv in nirverse.explain(g, nirverse.Semantics(1e-3), backend="nest") if lv.node == "li"]
    assert li.level == "refused"


def test_builtin_levels_and_mutation():
    case = _case("recurrent-lif-exp-value-1step")
    labels = {lv.type: lv for lv in nirverse.explain(case.graph(), case.semantics, backend="nest")}
    assert labels["LIF"].level == "native" and labels["LIF"].construct == "nest.iaf_psc_delta"
    backend = nirverse.backends.get_backend("nest")
    with backend.perturb("nest.iaf_psc_delta"):
        bad = nirverse.run(case.graph(), case.inputs, case.semantics, backend="nest", record=True)
    good = nirverse.run(case.graph(), case.inputs, case.semantics, backend="nest", record=True)
    name = next(n for n, s in good.states.items() if "v" in s)
    assert not np.allclose(bad.states[name]["v"], good.states[name]["v"], rtol=1e-9, atol=1e-9)
    euler = _case("single-cubalif-euler-value-imm")
    labels = {lv.type: lv for lv in nirverse.explain(euler.graph(), euler.semantics, backend="nest")}
    assert labels["CubaLIF"].level == "adapted" and labels["CubaLIF"].construct == "nest.iaf_psc_exp"
    good = nirverse.run(euler.graph(), euler.inputs, euler.semantics, backend="nest", record=True)
    for construct in ("nest.iaf_psc_exp", labels["Affine"].construct):
        with backend.perturb(construct):
            bad = nirverse.run(euler.graph(), euler.inputs, euler.semantics, backend="nest", record=True)
        (name,) = good.states
        assert not np.allclose(bad.states[name]["v"], good.states[name]["v"], rtol=1e-9, atol=1e-9), construct


def test_nest_compares_with_greater_or_equal_and_delivers_one_step_later():
    """The two NEST facts behind V_th = nextafter(θ) and the lag schedule."""
    nest = import_nest()
    nest.ResetKernel()
    nest.resolution = 1.0
    neuron = nest.Create("iaf_psc_delta", params={"E_L": 0.0, "V_m": 0.0, "V_reset": 0.0, "t_ref": 0.0,
                                                   "tau_m": 1e300, "C_m": 1.0, "V_th": 1.0})
    gen = nest.Create("spike_generator", params={"spike_times": [1.0], "spike_weights": [1.0]})
    nest.Connect(gen, neuron, syn_spec={"weight": 1.0, "delay": 1.0})
    rec = nest.Create("spike_recorder")
    nest.Connect(neuron, rec)
    nest.Simulate(5.0)
    # sent in step 0 (stamp 1), added in step 1, V == V_th fires (>=), stamp 2
    assert rec.get("events")["times"].tolist() == [2.0]


def test_threshold_equal_to_input_does_not_fire():
    """The semantics compares strictly: an IF reaching exactly v_threshold stays silent, in NEST too."""
    g = around(nir.IF(r=np.ones(1), v_threshold=np.array([1.0]), v_reset=np.zeros(1)), (1,))
    x = np.zeros((1, 6, 1))
    x[0, [0, 1, 2], 0] = [0.5, 0.5, 0.25]
    res = nirverse.run(g, x, nirverse.Semantics(1.0), backend="nest")
    assert res.outputs[next(iter(res.outputs))][0, :, 0].tolist() == [0, 0, 1, 0, 0, 0]


def test_import_and_run_print_nothing(capfd):
    case = _case("single-lif-exp-value-imm")
    capfd.readouterr()
    nirverse.run(case.graph(), case.inputs, case.semantics, backend="nest")
    out, err = capfd.readouterr()
    assert out == "" and "NEST" not in err


nestml = pytest.mark.skipif(
    not __import__("nirverse_nest._nestml", fromlist=["x"]).nestml_installed(), reason="NESTML is not installed"
)


def _need_module():
    from nirverse_nest._nestml import nestml_reason

    reason = nestml_reason()
    if reason is not None:
        pytest.skip(reason)


@nestml
@pytest.mark.parametrize("case_id", ["paper-braille-bias-zero-euler-value-1step", "paper-braille-subtract-euler-subtract-imm"])
def test_braille_rnns_emulated_with_zero_mismatches(case_id):
    """Both Braille RNNs: recurrent CubaLIF (no exact iaf_psc_exp schedule) and subtractive reset run as the
    plugin's NESTML model, with every spike in the reference's step; the built-in models stay unperturbed."""
    _need_module()
    case = _case(case_id)
    labels = {lv.type: lv.level for lv in nirverse.explain(case.graph(), case.semantics, backend="nest")}
    assert labels["CubaLIF"] == "emulated"
    result = nirverse.run(case.graph(), case.inputs, case.semantics, backend="nest", record=True)
    backend = nirverse.backends.get_backend("nest")
    with backend.perturb("nest.iaf_psc_delta"), backend.perturb("nest.iaf_psc_exp"):
        again = nirverse.run(case.graph(), case.inputs, case.semantics, backend="nest", record=True)
    for name, expected in case.outputs.items():
        assert int(np.count_nonzero(result.outputs[name] != expected)) == 0
        np.testing.assert_array_equal(again.outputs[name], result.outputs[name])
    for node, states in case.states.items():
        for key, value in states.items():
            np.testing.assert_allclose(result.states[node][key], value, rtol=1e-9, atol=1e-9)


@nestml
def test_emulated_one_and_two_threads_are_identical():
    _need_module()
    case = _case("recurrent-cubalif-exp-subtract-1step")
    runs = [nirverse_nest.from_nir(case.graph(), case.semantics, threads=t).run(case.inputs)[0] for t in (1, 2)]
    for name, expected in case.outputs.items():
        np.testing.assert_array_equal(runs[1][name], runs[0][name])
        np.testing.assert_array_equal(runs[0][name], expected)


def test_without_nestml_subtract_is_refused(monkeypatch):
    import nirverse_nest._nestml as nestml_module

    monkeypatch.setattr(nestml_module, "nestml_installed", lambda: False)
    g = around(nir.LIF(tau=np.array([0.01]), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1),
                   v_reset=np.zeros(1)), (1,))
    with pytest.raises(UnsupportedSemanticsError, match="subtract"):
        nirverse.run(g, np.ones((1, 5, 1)), nirverse.Semantics(1e-3, reset="subtract"), backend="nest")


def test_unbuildable_nestml_module_is_a_refusal_with_the_reason(monkeypatch):
    import nirverse_nest._nestml as nestml_module

    monkeypatch.setattr(nestml_module, "nestml_installed", lambda: True)
    monkeypatch.setattr(nestml_module, "_module", lambda: "cmake is not on PATH (simulated)")
    g = around(nir.LIF(tau=np.array([0.01]), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1),
                   v_reset=np.zeros(1)), (1,))
    with pytest.raises(UnsupportedSemanticsError, match="NESTML model is unavailable: cmake is not on PATH"):
        nirverse.run(g, np.ones((1, 5, 1)), nirverse.Semantics(1e-3, reset="subtract"), backend="nest")


@pytest.mark.parametrize("latency", ["immediate", "one-step"])
def test_lagged_populations_start_at_rest(latency):
    """Populations with lag L > 0 are frozen until NEST step L: a LIF resting above its threshold and a
    Threshold below 0 fire on their own, and must not do so before their semantic step 0."""
    n = 3
    g = nir.NIRGraph(nodes={
        "in": nir.Input(input_type={"input": np.array([n])}),
        "fc": nir.Affine(weight=np.eye(n) * 0.5, bias=np.zeros(n)),
        "lif": nir.LIF(tau=np.full(n, 0.005), r=np.ones(n), v_leak=np.array([2.0, 0.0, 1.5]),
                       v_threshold=np.ones(n), v_reset=np.zeros(n)),
        "w": nir.Linear(weight=np.ones((2, n))),
        "thr": nir.Threshold(threshold=np.array([-0.5, 0.5])),
        "out": nir.Output(output_type={"output": np.array([2])}),
        "spikes": nir.Output(output_type={"output": np.array([n])}),
    }, edges=[("in", "fc"), ("fc", "lif"), ("lif", "w"), ("w", "thr"), ("thr", "out"), ("lif", "spikes")])
    x = np.random.default_rng(0).uniform(0, 3, (1, 20, n))
    sem = nirverse.Semantics(1e-3, latency=latency)
    ref = nirverse.run(g, x, sem, record=True)
    res = nirverse.run(g, x, sem, backend="nest", record=True)
    assert ref.outputs["out"][0, 0, 0] == 1.0  # the Threshold below 0 fires at step 0
    assert nirverse.compare(res, ref).identical


@nestml
def test_paper_lif_with_the_papers_subtractive_reset_and_nestml_run_quietly(capfd):
    """The paper ran its neuron with subtractive reset: through the NESTML model NEST spikes at the exact
    solution's 460, 510, 710, 760 too, and loading the module prints nothing."""
    _need_module()
    stimulus = np.loadtxt(str(PAPER / "lif_exact.csv"), delimiter=",")
    sem = nirverse.Semantics(1e-4, method="exp", reset="subtract")
    capfd.readouterr()
    res = nirverse.run(str(PAPER / "lif_norse.nir"), stimulus[:, 0].reshape(1, -1, 1), sem, backend="nest")
    out, err = capfd.readouterr()
    assert out == "" and "NEST" not in err
    assert np.nonzero(res.outputs["output"][0, :, 0])[0].tolist() == [460, 510, 710, 760]


def test_explain_imports_neither_nest_nor_nestml():
    import subprocess
    import sys

    code = (
        "import sys, nirverse\n"
        "from nirverse.testing.catalogue import load_cases\n"
        "for c in load_cases(['paper-braille-subtract-euler-subtract-imm', 'recurrent-lif-exp-value-1step']):\n"
        "    nirverse.explain(c.graph(), c.semantics, backend='nest')\n"
        "print([m for m in ('nest', 'pynestml') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]"), out


@pytest.mark.parametrize("method,reset,latency", [
    (m, r, lat) for m in ("euler", "exp") for r in ("value", "subtract") for lat in ("immediate", "one-step")])
def test_generated_graphs_with_continuous_inputs_are_identical(method, reset, latency):
    """Graphs of the core's generators with another seed than the catalogue's and continuous, partly
    negative inputs, under every semantics: identical to the reference (subtract needs the NESTML model)."""
    from nirverse.testing import graphs as builders
    from nirverse_nest._nestml import nestml_reason

    emulation = nestml_reason() is None  # a recurrent CubaLIF and 'subtract' need the NESTML model
    if reset == "subtract" and not emulation:
        pytest.skip(nestml_reason())
    rng = np.random.default_rng(11)
    sem = nirverse.Semantics(1e-3, method=method, reset=reset, latency=latency)
    cases = [builders.feedforward(11), builders.nested(11), builders.delay_chain(1e-3, 11)]
    for g in cases + ([builders.recurrent("CubaLIF", 11)] if emulation else []):
        (inp,) = [k for k, v in g.nodes.items() if isinstance(v, nir.Input)]
        x = rng.uniform(-0.5, 2.0, (2, 30, int(np.prod(g.nodes[inp].input_type["input"]))))
        ref = nirverse.run(g, x, sem, record=True)
        assert nirverse.compare(nirverse.run(g, x, sem, backend="nest", record=True), ref).identical


@nestml
@pytest.mark.parametrize("latency", ["immediate", "one-step"])
def test_threshold_of_a_continuous_neuron_runs_inside_its_nestml_neuron(latency):
    """LI (resting at v_leak != 0) -> Threshold (one θ below 0): the Threshold is computed inside the LI's
    NESTML neuron; across the delayed edge ('one-step') it sees 0 at step 0, as the semantics says."""
    _need_module()
    n = 4
    g = nir.NIRGraph(nodes={
        "in": nir.Input(input_type={"input": np.array([n])}),
        "fc": nir.Affine(weight=np.random.default_rng(2).normal(0, 1, (n, n)), bias=np.zeros(n)),
        "li": nir.LI(tau=np.full(n, 0.004), r=np.ones(n), v_leak=np.array([0.3, -0.2, 0.0, 0.1])),
        "thr": nir.Threshold(threshold=np.array([-0.1, 0.2, 0.05, 0.4])),
        "w": nir.Linear(weight=np.ones((2, n))),
        "lif": nir.LIF(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2),
                       v_reset=np.zeros(2)),
        "out": nir.Output(output_type={"output": np.array([2])}),
        "trace": nir.Output(output_type={"output": np.array([n])}),
    }, edges=[("in", "fc"), ("fc", "li"), ("li", "thr"), ("thr", "w"), ("w", "lif"), ("lif", "out"),
              ("li", "trace")])
    x = np.random.default_rng(3).uniform(-1, 2, (2, 40, n))
    sem = nirverse.Semantics(1e-3, latency=latency)
    ref = nirverse.run(g, x, sem, record=True)
    res = nirverse.run(g, x, sem, backend="nest", record=True)
    assert ref.outputs["out"].any()
    assert nirverse.compare(res, ref).identical
    labels = {lv.node: lv.level for lv in nirverse.explain(g, sem, backend="nest")}
    assert labels["thr"] == labels["li"] == "emulated"
