"""Steps per second: the nirverse-built GeNN model vs a hand-written GeNN model of the same network.

Network: Input(n_in) -> Affine -> LIF(n_hid) -> Linear -> LIF(n_out) -> Output, latency "one-step"
(GeNN's native timing), Euler, reset to value, float64, GeNN's single-threaded CPU backend.
The hand-written model is what a GeNN user would write: an input population reading the sequence
from an extra global parameter one step ahead (so that the first layer sees x_t in step t), a graded
dense synapse with the bias as a parameter, Euler LIF
models with scalar parameters, StaticPulse/DeltaCurr between the LIF layers, spike recording.
GeNN has no NIR importer of its own, so there is no third column.

    python benchmarks/bench_genn.py [--steps 2000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import nir
import nirverse
import numpy as np
from nirverse.graph import prepare


def make_graph(n_in, n_hid, n_out, seed=0):
    rng = np.random.default_rng(seed)
    lif = lambda n: nir.LIF(tau=np.full(n, 0.02), r=np.ones(n), v_leak=np.zeros(n),  # noqa: E731
                            v_threshold=np.ones(n), v_reset=np.zeros(n))
    return nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([n_in])}),
            "fc1": nir.Affine(weight=rng.normal(0, 3.0 / np.sqrt(n_in), (n_hid, n_in)), bias=np.full(n_hid, 0.2)),
            "lif1": lif(n_hid),
            "fc2": nir.Linear(weight=rng.normal(3.0, 1.0, (n_out, n_hid)) / np.sqrt(n_hid)),
            "lif2": lif(n_out),
            "out": nir.Output(output_type={"output": np.array([n_out])}),
        },
        edges=[("in", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "out")],
    )


def hand_written(graph, semantics, path):
    import pygenn

    w1, b1 = graph.nodes["fc1"].weight, graph.nodes["fc1"].bias
    w2 = graph.nodes["fc2"].weight
    kappa = float(semantics.kappa(0.02))
    model = pygenn.GeNNModel("double", "bench_hand", backend="single_threaded_cpu")
    model.dt = 1.0
    inp = pygenn.create_neuron_model(
        "inp", vars=[("x", "scalar")], extra_global_params=[("seq", "scalar*")],
        sim_code="x = seq[((int)t + 1) * num_neurons + id];")  # one step ahead: synapses deliver one late
    lif = pygenn.create_neuron_model(
        "lif", params=["k", "b"], vars=[("v", "scalar")], sim_code="v = v + k * (0.0 - v + (Isyn + b));",
        threshold_condition_code="v > 1.0", reset_code="v = 0.0;")
    graded = pygenn.create_weight_update_model(
        "graded", vars=[("g", "scalar", pygenn.VarAccess.READ_ONLY)],
        pre_neuron_var_refs=[("x", "scalar", pygenn.VarAccessMode.READ_ONLY)], synapse_dynamics_code="addToPost(g * x);")
    p_in = model.add_neuron_population("input", w1.shape[1], inp, {}, {"x": np.zeros(w1.shape[1])})
    # a per-layer bias: the benchmark graph uses one bias value for all hidden neurons
    p1 = model.add_neuron_population("lif1", w1.shape[0], lif, {"k": kappa, "b": float(b1[0])}, {"v": 0.0})
    p2 = model.add_neuron_population("lif2", w2.shape[0], lif, {"k": kappa, "b": 0.0}, {"v": 0.0})
    p2.spike_recording_enabled = True
    p1.spike_recording_enabled = True
    model.add_synapse_population(
        "fc1", "DENSE", p_in, p1,
        pygenn.init_weight_update(graded, {}, {"g": w1.T.reshape(-1)}, pre_var_refs={"x": pygenn.create_var_ref(p_in, "x")}),
        pygenn.init_postsynaptic("DeltaCurr"))
    model.add_synapse_population(
        "fc2", "DENSE", p1, p2, pygenn.init_weight_update("StaticPulse", {}, {"g": w2.T.reshape(-1)}),
        pygenn.init_postsynaptic("DeltaCurr"))
    model.build(path)
    return model, p_in, p2


def run_hand(model, p_in, p_out, x):
    steps = x.shape[0]
    seq = np.zeros((steps + 1, x.shape[1]))
    seq[:steps] = x
    p_in.extra_global_params["seq"].set_init_values(seq.reshape(-1))
    p_in.vars["x"].set_init_values(x[0])
    model.load(num_recording_timesteps=steps)
    for _ in range(steps):
        model.step_time()
    model.pull_recording_buffers_from_device()
    times, ids = p_out.spike_recording_data[0]
    model.unload()
    raster = np.zeros((steps, p_out.num_neurons))
    raster[np.rint(times).astype(int), ids] = 1
    return raster


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs=3, default=(100, 400, 10))
    args = ap.parse_args()
    from nirverse_genn._backend import GeNNBackend
    from nirverse_genn._model import run_network

    semantics = nirverse.Semantics(1e-3, "euler", "value", "one-step")
    graph = make_graph(*args.sizes)
    x = np.random.default_rng(1).uniform(0, 1, (1, args.steps, args.sizes[0]))
    backend = GeNNBackend()
    plugin = backend.build(prepare(graph, semantics), "float64")
    with tempfile.TemporaryDirectory() as tmp:
        hand, p_in, p_out = hand_written(graph, semantics, tmp)
        ref = nirverse.run(graph, x, semantics, backend="reference").outputs["out"][0]
        t_plugin, t_hand = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            out, _ = run_network(plugin, {"in": x}, record=False)
            t1 = time.perf_counter()
            raster = run_hand(hand, p_in, p_out, x[0])
            t2 = time.perf_counter()
            t_plugin.append(t1 - t0)
            t_hand.append(t2 - t1)
    sp, sh = args.steps / min(t_plugin), args.steps / min(t_hand)
    print(f"GeNN single_threaded_cpu, float64, sizes {tuple(args.sizes)}, {args.steps} steps, best of {args.repeats}")
    print(f"spikes: plugin==reference {np.array_equal(out['out'][0], ref)}, hand==reference {np.array_equal(raster, ref)}, "
          f"output spikes {int(ref.sum())}")
    print(f"nirverse plugin model : {sp:12.0f} steps/s")
    print(f"hand-written GeNN     : {sh:12.0f} steps/s")
    print(f"time ratio plugin/hand: {min(t_plugin) / min(t_hand):.3f}")


if __name__ == "__main__":
    main()
