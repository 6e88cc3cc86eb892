"""Benchmark: the plugin-built jaxsnn model against hand-written models of the same network, one process.

Network: Input(n_in) -> Affine -> LIF(n_hidden) -> Linear -> LI(n_out), euler, value reset, dt = 1 ms.

* ``plugin``: ``nirverse_jaxsnn.from_nir(graph, semantics)`` (jaxsnn modules, one jitted scan);
* ``hand-jax``: the same equations written directly as one ``jax.lax.scan`` over batch-major arrays
  (identical numbers, checked below);
* ``hand-jaxsnn``: jaxsnn's own discrete ``Topology`` with ``Input``/``Linear``/``LIF``/``LI`` modules
  (jaxsnn's discretisation, not NIR's: same work per step, different numbers; no bias);
* ``jaxsnn-event``: jaxsnn's own NIR importer (``jaxsnn.event.from_nir``, event-based) on the part it
  supports, Input -> Linear -> CubaLIF, with ``--events`` input spikes per sample (a different paradigm:
  its cost scales with events, not steps; listed for scale, not as a ratio target).

jit compile time (``lower().compile()``) is reported separately from the run time (median of repeats,
``block_until_ready``, the models interleaved). Usage: ``python bench_jaxsnn.py [--steps 1000 --batch 32
--dtype float32]``; on a shared machine pin it for stable ratios: ``XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1" taskset -c 1 python bench_jaxsnn.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import nir
import numpy as np


def graph(n_in: int, n_hidden: int, n_out: int, seed: int = 0) -> nir.NIRGraph:
    rng = np.random.default_rng(seed)
    return nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n_in])),
            "fc1": nir.Affine(rng.normal(0, 1 / np.sqrt(n_in), (n_hidden, n_in)), rng.normal(0, 0.1, n_hidden)),
            "lif": nir.LIF(tau=rng.uniform(5e-3, 2e-2, n_hidden), r=np.full(n_hidden, 20.0), v_leak=np.zeros(n_hidden),
                           v_threshold=np.ones(n_hidden), v_reset=np.zeros(n_hidden)),
            "fc2": nir.Linear(rng.normal(0, 1 / np.sqrt(n_hidden), (n_out, n_hidden))),
            "li": nir.LI(tau=np.full(n_out, 1e-2), r=np.ones(n_out), v_leak=np.zeros(n_out)),
            "output": nir.Output(np.array([n_out])),
        },
        edges=[("input", "fc1"), ("fc1", "lif"), ("lif", "fc2"), ("fc2", "li"), ("li", "output")],
    )


def compile_timed(fn, args):
    """(compile seconds, compiled function) of ``jax.jit(fn)`` for ``args``."""
    import jax

    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return time.perf_counter() - start, compiled


def run_interleaved(models, repeats: int):
    """Median run seconds of each (compiled, args), the models alternating so load drifts hit all alike."""
    import jax

    outs = [jax.block_until_ready(c(*a)) for c, a in models]  # warm-up
    runs: list[list[float]] = [[] for _ in models]
    for _ in range(repeats):
        for k, (compiled, args) in enumerate(models):
            start = time.perf_counter()
            jax.block_until_ready(compiled(*args))
            runs[k].append(time.perf_counter() - start)
    return [statistics.median(r) for r in runs], outs


def hand_jax(g: nir.NIRGraph, dtype: str, dt: float):
    """The network written by hand in JAX (NIR euler semantics): returns (fn(x, params), params)."""
    import jax
    import jax.numpy as jnp

    n = g.nodes
    c = lambda a: jnp.asarray(np.asarray(a, np.float64).astype(dtype))  # noqa: E731
    p = {"w1": c(n["fc1"].weight.T), "b1": c(n["fc1"].bias), "k1": c(dt / n["lif"].tau), "r1": c(n["lif"].r),
         "vl1": c(n["lif"].v_leak), "th": c(n["lif"].v_threshold), "vr": c(n["lif"].v_reset),
         "w2": c(n["fc2"].weight.T), "k2": c(dt / n["li"].tau), "r2": c(n["li"].r), "vl2": c(n["li"].v_leak)}

    def fn(x, p):  # x: (batch, T, n_in)
        def step(carry, xt):
            v1, v2 = carry
            u = v1 + p["k1"] * (p["vl1"] - v1 + p["r1"] * (xt @ p["w1"] + p["b1"]))
            z = (u > p["th"]).astype(u.dtype)
            v1 = jnp.where(z > 0, p["vr"], u)
            v2 = v2 + p["k2"] * (p["vl2"] - v2 + p["r2"] * (z @ p["w2"]))
            return (v1, v2), v2

        batch = x.shape[0]
        init = (jnp.broadcast_to(p["vl1"], (batch, p["vl1"].shape[0])), jnp.broadcast_to(p["vl2"], (batch, p["vl2"].shape[0])))
        _, ys = jax.lax.scan(step, init, jnp.swapaxes(x, 0, 1))
        return jnp.swapaxes(ys, 0, 1)

    return fn, p


def hand_jaxsnn(g: nir.NIRGraph, dt: float, steps: int):
    """The network as a user writes it with jaxsnn's discrete Topology (jaxsnn's own neuron kernels)."""
    import jax
    from jaxsnn.discrete.functional import LIFParameters, LIParameters
    from jaxsnn.discrete.modules import LI, LIF, Input, Linear
    from jaxsnn.discrete.topology import Topology

    n = g.nodes
    topo = Topology(time_steps=steps, dt=dt)
    topo.add({
        "input": Input(n["fc1"].weight.shape[1]), "fc1": Linear(pre_weights=n["fc1"].weight.T),
        "lif": LIF(n["fc1"].weight.shape[0], LIFParameters(tau_syn=5e-3, tau_mem=1e-2, v_th=1.0)),
        "fc2": Linear(pre_weights=n["fc2"].weight.T), "li": LI(n["fc2"].weight.shape[0], LIParameters()),
    })
    topo.connect([("input", "fc1"), ("fc1", "lif"), ("lif", "fc2"), ("fc2", "li")])
    init, apply = topo.done()
    params = init(jax.random.PRNGKey(0))
    fn = jax.vmap(lambda x, p: apply({"input": x}, p)[1]["li"], in_axes=(0, None))
    return fn, params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--inputs", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--outputs", type=int, default=10)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp
    import nirverse_jaxsnn
    from nirverse import Semantics

    dt = 1e-3
    g = graph(args.inputs, args.hidden, args.outputs)
    sem = Semantics(dt)
    rng = np.random.default_rng(1)
    x_np = (rng.random((args.batch, args.steps, args.inputs)) < 0.05).astype(np.float64)
    rows = []
    with nirverse_jaxsnn.precision(args.dtype):
        x = jnp.asarray(x_np, dtype=args.dtype)
        model = nirverse_jaxsnn.from_nir(g, sem, dtype=args.dtype)
        apply = jax.vmap(lambda xi, p: model.apply({"input": xi}, p)[1]["output"], in_axes=(0, None))
        hand_fn, hand_p = hand_jax(g, args.dtype, dt)
        snn_fn, snn_p = hand_jaxsnn(g, dt, args.steps)
        candidates = [("plugin", apply, (x, model.params)), ("hand-jax", hand_fn, (x, hand_p)),
                      ("hand-jaxsnn", snn_fn, (x, snn_p))]
        compiled = [(name, *compile_timed(fn, a), a) for name, fn, a in candidates]
        medians, outs = run_interleaved([(c, a) for _, _, c, a in compiled], args.repeats)
        rows = [(name, comp, run, out) for (name, comp, _, _), run, out in zip(compiled, medians, outs)]
    same = np.allclose(np.asarray(rows[0][3]), np.asarray(rows[1][3]), rtol=1e-5 if args.dtype == "float32" else 1e-12,
                       atol=1e-5 if args.dtype == "float32" else 1e-12)

    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; batch {args.batch} x {args.steps} steps, "
          f"{args.inputs}-{args.hidden}-{args.outputs}, {args.dtype}; plugin == hand-jax: {same}")
    base = rows[1][2]
    print(f"{'model':<14}{'compile [s]':>12}{'run [s]':>10}{'steps/s':>12}{'run / hand-jax':>16}")
    for name, comp, run, _ in rows:
        print(f"{name:<14}{comp:>12.3f}{run:>10.4f}{args.steps / run:>12.0f}{run / base:>16.3f}")
    event_row(args)


def native(network: str, graph: nir.NIRGraph, semantics, x: np.ndarray):
    """Hand-written float64 JAX scans of the suite's networks (``nirverse.testing.bench``): jitted and
    compiled here (build), then a zero-argument run; None for a network without one here."""
    import jax
    import jax.numpy as jnp
    from nirverse_jaxsnn import precision

    n, dt = graph.nodes, semantics.dt
    with precision("float64"):
        c = lambda a: jnp.asarray(np.asarray(a, np.float64))  # noqa: E731
        lif = lambda name: (c(dt / n[name].tau), c(n[name].r), c(n[name].v_leak), c(n[name].v_threshold), c(n[name].v_reset))  # noqa: E731

        def lif_step(v, drive, p):
            k, r, vl, th, vr = p
            u = v + k * (vl - v + r * drive)
            z = (u > th).astype(u.dtype)
            return jnp.where(z > 0, vr, u), z

        if network == "recurrent-lif":
            p = {"w": c(n["fc"].weight.T), "b": c(n["fc"].bias), "rec": c(n["rec"].weight.T), "out": c(n["out"].weight.T),
                 "lif": lif("lif"), "k2": c(dt / n["li"].tau), "r2": c(n["li"].r), "vl2": c(n["li"].v_leak)}

            def step(carry, xt):
                v, z, v2 = carry
                v, z = lif_step(v, xt @ p["w"] + p["b"] + z @ p["rec"], p["lif"])  # z of the previous step
                v2 = v2 + p["k2"] * (p["vl2"] - v2 + p["r2"] * (z @ p["out"]))
                return (v, z, v2), v2

            hidden = p["rec"].shape[0]
            init = lambda b: (jnp.broadcast_to(p["lif"][2], (b, hidden)), jnp.zeros((b, hidden)), jnp.broadcast_to(p["vl2"], (b, 10)))  # noqa: E731
        elif network == "feedforward":
            layers = [(c(n[f"fc{k}"].weight.T), c(n[f"fc{k}"].bias), lif(f"lif{k}")) for k in range(3)]

            def step(carry, xt):
                vs = []
                for v, (w, b, pl) in zip(carry, layers):
                    v, xt = lif_step(v, xt @ w + b, pl)
                    vs.append(v)
                return tuple(vs), xt

            init = lambda b: tuple(jnp.broadcast_to(pl[2], (b, w.shape[1])) for w, _, pl in layers)  # noqa: E731
        else:
            return None
        xs = c(np.swapaxes(x, 0, 1))
        fn = jax.jit(lambda xs: jax.lax.scan(step, init(xs.shape[1]), xs)[1]).lower(xs).compile()
    return lambda: jax.block_until_ready(fn(xs))


def event_row(args) -> None:
    """jaxsnn's own NIR importer on Input -> Linear -> CubaLIF (its supported subset), event-based."""
    import jax
    import jax.numpy as jnp
    from jaxsnn.event import ConversionConfig, from_nir
    from jaxsnn.event.types import Spike

    rng = np.random.default_rng(2)
    n_in, n_h = args.inputs, args.hidden
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([n_in])),
               "lin": nir.Linear(rng.normal(0.5, 0.5, (n_in, n_h))),  # jaxsnn's (in, out) layout
               "lif": nir.CubaLIF(tau_syn=np.full(n_h, 5.0), tau_mem=np.full(n_h, 10.0), r=np.ones(n_h),
                                  v_leak=np.zeros(n_h), v_threshold=np.full(n_h, 0.5), v_reset=np.zeros(n_h)),
               "output": nir.Output(np.array([n_h]))},
        edges=[("input", "lin"), ("lin", "lif"), ("lif", "output")], type_check=False,
    )
    t_max = args.steps * 1e-3
    topo = from_nir(g, ConversionConfig(t_max=t_max, n_steps={"lif": 2 * args.events}))
    init, apply = topo.done()
    params = init(jax.random.PRNGKey(0))
    times = jnp.sort(jnp.asarray(rng.uniform(0, t_max, (args.batch, args.events)), jnp.float32), axis=1)
    idx = jnp.asarray(rng.integers(0, n_in, (args.batch, args.events)))
    spikes = Spike(times, idx, jnp.zeros_like(times), jnp.zeros(idx.shape, int), jnp.ones(idx.shape, bool))
    comp, compiled = compile_timed(lambda s, p: apply({"input": s}, p)["lif"].time, (spikes, params))
    (run,), _ = run_interleaved([(compiled, (spikes, params))], max(1, args.repeats // 2))
    print(f"{'jaxsnn-event':<14}{comp:>12.3f}{run:>10.4f}   ({args.events} input events/sample, "
          f"{2 * args.events} event steps, {n_in}-{n_h}; not a ratio target)")


if __name__ == "__main__":
    main()
