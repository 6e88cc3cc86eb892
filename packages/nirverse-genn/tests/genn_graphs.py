"""Small NIR graphs shared by the plugin's tests (deterministic, seeded)."""

from __future__ import annotations

import nir
import numpy as np


def lif_params(n, rng, tau=0.01):
    return dict(
        tau=rng.uniform(0.5, 2.0, n) * tau, r=rng.uniform(0.5, 2.0, n), v_leak=rng.normal(0, 0.1, n),
        v_threshold=rng.uniform(0.5, 1.0, n), v_reset=rng.normal(0, 0.1, n),
    )


def recurrent(seed=0, names=("in", "fc1", "lif1", "rec", "fc2", "li", "out")):
    """Input -> Affine -> LIF (recurrent Affine) -> Linear -> LI -> Output; the LIF spikes -> a second Output."""
    rng = np.random.default_rng(seed)
    i, fc1, lif1, rec, fc2, li, out = names
    return nir.NIRGraph(
        nodes={
            i: nir.Input(input_type={"input": np.array([3])}),
            fc1: nir.Affine(weight=rng.normal(0, 1.5, (4, 3)), bias=rng.normal(0, 0.2, 4)),
            lif1: nir.LIF(**lif_params(4, rng)),
            rec: nir.Affine(weight=rng.normal(0, 0.5, (4, 4)), bias=rng.normal(0, 0.1, 4)),
            fc2: nir.Linear(weight=rng.normal(0, 1.0, (2, 4))),
            li: nir.LI(tau=np.array([0.02, 0.03]), r=np.array([1.0, 2.0]), v_leak=np.array([0.1, -0.1])),
            out: nir.Output(output_type={"output": np.array([2])}),
            out + "_spikes": nir.Output(output_type={"output": np.array([4])}),
        },
        edges=[(i, fc1), (fc1, lif1), (lif1, rec), (rec, lif1), (lif1, fc2), (fc2, li), (li, out), (lif1, out + "_spikes")],
    )


def mixed(seed=1):
    """Every neuron kind, Scale, Delay (per element), Threshold, Conv1d, Flatten, a probe Output."""
    rng = np.random.default_rng(seed)
    return nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([2, 5])}),
            "conv": nir.Conv1d(input_shape=5, weight=rng.normal(0, 1, (3, 2, 2)), stride=1, padding=1, dilation=1,
                               groups=1, bias=rng.normal(0, 0.1, 3)),
            "flat": nir.Flatten(input_type={"input": np.array([3, 6])}, start_dim=0, end_dim=-1),
            "cuba": nir.CubaLIF(tau_syn=np.full(18, 0.005), tau_mem=np.full(18, 0.01), r=np.full(18, 1.5),
                                v_leak=np.zeros(18), v_threshold=np.full(18, 0.3), v_reset=np.zeros(18),
                                w_in=np.full(18, 2.0)),
            "sc": nir.Scale(scale=rng.normal(0, 1, 18)),
            "dl": nir.Delay(delay=rng.integers(0, 3, 18) * 1e-3),
            "iff": nir.IF(r=np.full(18, 40.0), v_threshold=np.full(18, 0.6), v_reset=np.zeros(18)),
            "fc": nir.Affine(weight=rng.normal(0, 1, (3, 18)), bias=np.array([0.1, -0.2, 0.3])),
            "thr": nir.Threshold(threshold=np.array([0.2, 0.0, 0.5])),
            "ci": nir.CubaLI(tau_syn=np.full(3, 0.004), tau_mem=np.full(3, 0.02), r=np.ones(3), v_leak=np.zeros(3),
                             w_in=np.ones(3)),
            "ii": nir.I(r=np.array([3.0, 2.0, 1.0])),
            "out_s": nir.Output(output_type={"output": np.array([18])}),
            "out_v": nir.Output(output_type={"output": np.array([3])}),
            "out_p": nir.Output(output_type={"output": np.array([3])}),
        },
        edges=[("in", "conv"), ("conv", "flat"), ("flat", "cuba"), ("cuba", "sc"), ("sc", "dl"), ("dl", "iff"),
               ("iff", "out_s"), ("iff", "fc"), ("fc", "thr"), ("thr", "ci"), ("ci", "out_v"), ("fc", "ii"),
               ("ii", "out_p"), ("fc", "out_p")],
    )


def inputs(graph_input_shape, batch=2, steps=30, seed=5, scale=1.0):
    rng = np.random.default_rng(seed)
    return rng.normal(0.3, 1.0, (batch, steps, *graph_input_shape)) * scale
