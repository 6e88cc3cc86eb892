"""The reference against hand-computed steps: literal numbers for a few steps, then a scalar
pure-Python transcription of the semantics note for every neuron node and every semantics combination."""

import itertools
import math

import nir
import nirverse
import numpy as np
import pytest
from nirverse import Semantics

METHODS, RESETS, LATENCIES = ("euler", "exp"), ("value", "subtract"), ("immediate", "one-step")


def one_neuron_graph(node):
    return nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "n": node, "output": nir.Output(np.array([1]))},
        edges=[("input", "n"), ("n", "output")],
        type_check=False,
    )


def test_lif_literal_steps():
    # tau = 10 ms, dt = 1 ms, euler: kappa = 0.1; r = 2, v_leak = 0.5, thr = 1, v_reset = -0.25, x = 3
    node = nir.LIF(tau=np.array([0.01]), r=np.array([2.0]), v_leak=np.array([0.5]),
                   v_threshold=np.array([1.0]), v_reset=np.array([-0.25]))
    res = nirverse.run(one_neuron_graph(node), np.full((1, 3, 1), 3.0), Semantics(1e-3), record=True)
    v = res.states["n"]["v"][0, :, 0]
    # v0 = 0.5; u1 = 0.5 + 0.1*(0.5 - 0.5 + 6) = 1.1 > 1 -> spike, v1 = -0.25
    # u2 = -0.25 + 0.1*(0.5 + 0.25 + 6) = 0.425; u3 = 0.425 + 0.1*(0.5 - 0.425 + 6) = 1.0325 -> spike
    assert np.allclose(v, [-0.25, 0.425, -0.25], atol=1e-15)
    assert res.outputs["output"][0, :, 0].tolist() == [1.0, 0.0, 1.0]


def test_cubalif_uses_same_step_current():
    # tau_syn = tau_mem = 1 ms, euler -> kappa = 1: i_1 = w_in x = 2, v_1 = v_leak + r i_1 = 2 (no spike)
    node = nir.CubaLIF(tau_syn=np.array([1e-3]), tau_mem=np.array([1e-3]), r=np.array([1.0]),
                       v_leak=np.array([0.0]), v_threshold=np.array([5.0]), w_in=np.array([2.0]))
    res = nirverse.run(one_neuron_graph(node), np.ones((1, 1, 1)), Semantics(1e-3), record=True)
    assert res.states["n"]["i"][0, 0, 0] == 2.0 and res.states["n"]["v"][0, 0, 0] == 2.0


def scalar_run(kind, p, xs, sem):
    """The semantics note, line by line, one neuron, Python floats."""
    def kappa(tau):
        return sem.dt / tau if sem.method == "euler" else 1.0 - math.exp(-sem.dt / tau)

    v = p.get("v_leak", 0.0) if kind in ("LI", "LIF", "CubaLI", "CubaLIF") else 0.0
    i = 0.0
    out, vs, is_ = [], [], []
    for x in xs:
        if kind in ("I", "IF"):
            u = v + sem.dt * p["r"] * x
        elif kind in ("LI", "LIF"):
            u = v + kappa(p["tau"]) * (p["v_leak"] - v + p["r"] * x)
        else:
            i = i + kappa(p["tau_syn"]) * (p["w_in"] * x - i)
            u = v + kappa(p["tau_mem"]) * (p["v_leak"] - v + p["r"] * i)
        if kind in ("IF", "LIF", "CubaLIF"):
            z = 1.0 if u > p["v_threshold"] else 0.0
            if sem.reset == "value":
                v = p["v_reset"] if z else u
            else:
                v = u - z * p["v_threshold"]
            out.append(z)
        else:
            v = u
            out.append(v)
        vs.append(v)
        is_.append(i)
    return np.array(out), np.array(vs), np.array(is_)


PARAMS = {
    "I": dict(r=30.0),
    "IF": dict(r=40.0, v_threshold=1.0, v_reset=-0.2),
    "LI": dict(tau=0.02, r=1.5, v_leak=0.1),
    "LIF": dict(tau=0.015, r=1.7, v_leak=0.1, v_threshold=0.9, v_reset=-0.1),
    "CubaLI": dict(tau_syn=0.005, tau_mem=0.02, r=1.3, v_leak=-0.1, w_in=1.2),
    "CubaLIF": dict(tau_syn=0.005, tau_mem=0.02, r=1.6, v_leak=-0.1, v_threshold=0.8, v_reset=0.05, w_in=1.1),
}


@pytest.mark.parametrize(
    "kind, method, reset, latency", list(itertools.product(PARAMS, METHODS, RESETS, LATENCIES))
)
def test_every_neuron_every_semantics(kind, method, reset, latency):
    sem = Semantics(1e-3, method=method, reset=reset, latency=latency)
    p = PARAMS[kind]
    node = getattr(nir, kind)(**{k: np.array([v]) for k, v in p.items()})
    xs = np.random.default_rng(7).uniform(0, 2.0, 200)
    res = nirverse.run(one_neuron_graph(node), xs.reshape(1, -1, 1), sem, record=True)
    out, vs, is_ = scalar_run(kind, p, xs, sem)
    got = res.outputs["output"][0, :, 0]
    if kind in ("IF", "LIF", "CubaLIF"):
        assert out.sum() >= 3, "the case must spike to test the reset"
        assert np.array_equal(got, out)
    assert np.allclose(got, out, rtol=1e-12, atol=1e-12)
    assert np.allclose(res.states["n"]["v"][0, :, 0], vs, rtol=1e-12, atol=1e-12)
    if kind.startswith("Cuba"):
        assert np.allclose(res.states["n"]["i"][0, :, 0], is_, rtol=1e-12, atol=1e-12)


def test_threshold_is_strict():
    node = nir.IF(r=np.array([1.0]), v_threshold=np.array([1.0]))
    res = nirverse.run(one_neuron_graph(node), np.array([[[1.0], [0.5]]]), Semantics(1.0))
    # v reaches exactly 1.0 at step 0: no spike (strict >); 1.5 at step 1: spike
    assert res.outputs["output"][0, :, 0].tolist() == [0.0, 1.0]


def test_per_neuron_parameters_and_batch():
    node = nir.LIF(tau=np.array([0.01, 0.02, 0.04]), r=np.array([1.0, 2.0, 3.0]), v_leak=np.zeros(3),
                   v_threshold=np.array([1.0, 1.5, 2.0]), v_reset=np.zeros(3))
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([3])), "n": node, "output": nir.Output(np.array([3]))},
        edges=[("input", "n"), ("n", "output")], type_check=False,
    )
    x = np.random.default_rng(0).uniform(0, 3, (4, 50, 3))
    res = nirverse.run(graph, x, Semantics(1e-3), record=True)
    for b in range(4):
        for j in range(3):
            p = dict(tau=node.tau[j], r=node.r[j], v_leak=0.0, v_threshold=node.v_threshold[j], v_reset=0.0)
            out, vs, _ = scalar_run("LIF", p, x[b, :, j], Semantics(1e-3))
            assert np.array_equal(res.outputs["output"][b, :, j], out)
            assert np.allclose(res.states["n"]["v"][b, :, j], vs, atol=1e-12)
