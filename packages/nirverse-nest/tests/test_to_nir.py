"""NEST network → NIR → (reference, NEST): the same spikes as NEST's own simulation of the network."""

from __future__ import annotations

import nirverse
import nirverse_nest
import numpy as np
import pytest
from nirverse.errors import UnsupportedNodeError
from nirverse_nest._model import import_nest

STEPS = 200
H = 0.1  # ms


def _hand_network(rng):
    nest = import_nest()
    nest.ResetKernel()
    nest.resolution = H
    gen = nest.Create("spike_generator", 5)
    for j in range(5):
        t = np.sort(rng.choice(np.arange(1, STEPS), 40, replace=False)) * H
        gen[j].set(spike_times=np.round(t, 1).tolist())
    a = nest.Create("iaf_psc_delta", 8, params={"t_ref": 0.0, "E_L": -65.0, "V_m": -65.0, "V_reset": -70.0,
                                                 "V_th": -55.0, "tau_m": 12.0})
    b = nest.Create("iaf_psc_exp", 4, params={"t_ref": 0.0, "E_L": -65.0, "V_m": -65.0, "V_reset": -65.0,
                                               "V_th": -60.0, "tau_m": 8.0, "tau_syn_ex": 2.0, "tau_syn_in": 2.0})
    nest.Connect(gen, a, syn_spec={"weight": rng.uniform(2, 8, (8, 5)), "delay": H})
    nest.Connect(a, a, syn_spec={"weight": rng.uniform(-3, 3, (8, 8)), "delay": 2 * H})
    nest.Connect(a, b, syn_spec={"weight": rng.uniform(0, 300, (4, 8)), "delay": H})
    return nest, {"gen": gen, "a": a, "b": b}


def _raster(events, pop):
    first = pop[0].global_id
    sel = (events["senders"] >= first) & (events["senders"] < first + len(pop))
    t = np.rint(events["times"][sel] / H).astype(int) - 1
    raster = np.zeros((STEPS, len(pop)))
    raster[t, events["senders"][sel] - first] = 1
    return raster


@pytest.mark.parametrize("backend", ["reference", "nest"])
def test_round_trip_reproduces_nest_spikes(backend):
    nest, pops = _hand_network(np.random.default_rng(1))
    export = nirverse_nest.to_nir(pops, STEPS)
    recorder = nest.Create("spike_recorder")
    nest.Connect(pops["a"] + pops["b"], recorder)
    nest.Simulate(STEPS * H)
    events = recorder.get("events")
    original = {n: _raster(events, pops[n]) for n in ("a", "b")}
    assert original["a"].sum() > 100 and original["b"].sum() > 50
    assert export.semantics == nirverse.Semantics(H * 1e-3, method="exp", reset="value", latency="one-step")
    result = nirverse.run(export.graph, export.inputs, export.semantics, backend=backend)
    for name in ("a", "b"):
        np.testing.assert_array_equal(result.outputs[f"{name}.out"][0], original[name])


def test_refractory_neurons_are_refused():
    nest = import_nest()
    nest.ResetKernel()
    pop = nest.Create("iaf_psc_delta", 2)  # NEST's default t_ref = 2 ms
    with pytest.raises(UnsupportedNodeError, match="t_ref"):
        nirverse_nest.to_nir({"p": pop}, 10)


def test_other_models_are_refused():
    nest = import_nest()
    nest.ResetKernel()
    with pytest.raises(UnsupportedNodeError, match="aeif_cond_alpha"):
        nirverse_nest.to_nir({"p": nest.Create("aeif_cond_alpha", 1)}, 10)


def test_a_built_network_is_refused_with_a_typed_error():
    """``Backend.to_nir`` of what ``build`` returns: no NEST nodes exist outside a run, so a typed refusal."""
    import nir
    from nirverse.backends import get_backend
    from nirverse.graph import prepare

    graph = nir.NIRGraph.from_list(nir.Input(input_type=np.array([2])), nir.I(r=np.ones(2)),
                                   nir.Output(output_type=np.array([2])))
    semantics = nirverse.Semantics(1e-3, "euler", "value", "immediate")
    backend = get_backend("nest")
    model = backend.build(prepare(graph, semantics), "float64")
    with pytest.raises(UnsupportedNodeError, match="NESTNetwork holds no NEST nodes"):
        backend.to_nir(model, semantics)
