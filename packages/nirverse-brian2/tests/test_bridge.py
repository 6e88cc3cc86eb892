"""Brian2 has no NIR bridge of its own. What a Brian2 user gets without choosing ``method``: Brian2 picks
``exact`` for a linear LIF, i.e. the semantics' ``exp`` discretisation, not NIR tools' usual forward Euler.
These tests measure that choice against the reference (raster mismatches, max |dv|)."""

from __future__ import annotations

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2", reason="brian2 is not installed: pip install 'nirverse[brian2]'")

import nirverse  # noqa: E402
import nirverse_brian2 as nb  # noqa: E402
from nirverse import Semantics  # noqa: E402
from nirverse.errors import UnsupportedSemanticsError  # noqa: E402
from nirverse_brian2._from_nir import TEMPLATES, codegen  # noqa: E402

DT, STEPS = 1e-3, 200


def default_method_network():
    """Input -> Synapses (identity) -> LIF with tau = [10, 20, 5, 50] ms, no ``method`` given."""
    b = brian2
    rng = np.random.default_rng(0)
    clock = b.Clock(dt=DT * b.second)
    stim = b.TimedArray(2 * rng.uniform(size=(STEPS, 4)), dt=DT * b.second)
    inp = b.NeuronGroup(4, "y : 1", clock=clock, namespace={"stim": stim}, name="inp")
    inp.run_regularly("y = stim(t, i)", when="start")
    lif = b.NeuronGroup(
        4, TEMPLATES["leak"] + "\nx = in0 : 1\nin0 : 1\ntau : second\nr : 1\nv_leak : 1\nv_threshold : 1\nv_reset : 1",
        threshold="v > v_threshold", reset="v = v_reset", clock=clock, name="lif",
    )  # no method: Brian2 chooses
    lif.tau = np.array([10, 20, 5, 50]) * b.ms
    lif.r, lif.v_leak, lif.v_threshold, lif.v_reset = 1.0, 0.0, 1.0, 0.0
    syn = b.Synapses(inp, lif, "w : 1\nin0_post = w*y_pre : 1 (summed)", clock=clock, name="syn")
    syn.connect(j="i")
    syn.w = 1.0
    spikes = b.SpikeMonitor(lif, name="spikes")
    volts = b.StateMonitor(lif, "v", record=True, when="end", name="volts")
    net = b.Network(inp, lif, syn, spikes, volts)
    with codegen("numpy", "float64"):
        net.run(STEPS * DT * b.second, namespace={})
    raster = np.zeros((STEPS, 4))
    raster[np.round(np.asarray(spikes.t_) / DT).astype(int), np.asarray(spikes.i)] = 1
    return net, np.asarray(stim.values), raster, np.asarray(volts.v).T


@pytest.fixture(scope="module")
def brian_run():
    return default_method_network()


def _measure(net, x, raster, v, semantics):
    graph = nb.to_nir(net, Semantics(DT, method="exp", latency="one-step"))  # what Brian2 ran
    ref = nirverse.run(graph, {"inp": x[None]}, semantics, record=True)
    mismatches = int(np.count_nonzero(ref.outputs["lif_output"][0] != raster))
    return mismatches, float(np.max(np.abs(ref.states["lif"]["v"][0] - v)))


def test_brian2_default_method_is_exact(brian_run):
    from brian2.stateupdaters.base import StateUpdateMethod

    net = brian_run[0]
    group = net["lif"]
    def code(method):
        return StateUpdateMethod.apply_stateupdater(group.equations, group.variables, method, group_name="lif")

    assert not isinstance(group.method_choice, str)  # the user gave none
    assert code(group.method_choice) == code("exact") != code("euler")


def test_default_method_equals_the_exp_semantics(brian_run):
    net, x, raster, v = brian_run
    mismatches, dv = _measure(net, x, raster, v, Semantics(DT, method="exp", latency="one-step"))
    assert raster.sum() > 0
    assert mismatches == 0 and dv < 1e-12


def test_default_method_deviates_from_forward_euler(brian_run):
    """Measured (Brian2 2.9.0): 33 of 800 raster entries differ, max |dv| = 0.997 against forward Euler."""
    net, x, raster, v = brian_run
    mismatches, dv = _measure(net, x, raster, v, Semantics(DT, method="euler", latency="one-step"))
    assert mismatches >= 10
    assert dv > 0.1


def test_exporting_the_default_method_as_euler_is_refused(brian_run):
    with pytest.raises(UnsupportedSemanticsError, match="method"):
        nb.to_nir(brian_run[0], Semantics(DT, method="euler", latency="one-step"))
