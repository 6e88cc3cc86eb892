"""Benchmark: the plugin-built Spyx model against the same network written by hand in Spyx, one process.

Network: Input(n_in) -> Affine -> LIF(n_hidden) -> Linear -> LI(n_out), euler, subtractive reset, dt = 1 ms.

* ``plugin``: ``nirverse_spyx.from_nir(graph, semantics)`` (Spyx neurons and NNX layers, one jitted scan);
* ``hand-spyx``: ``spyx.nn.Sequential(nnx.Linear, spyx.nn.LIF, nnx.Linear, spyx.nn.LI)`` run by ``spyx.nn.run``,
  as a Spyx user writes it (Spyx's own dynamics: the same work per step, spikes one step late);
* ``plugin(export)``: the hand-written model exported with ``nirverse_spyx.to_nir`` and run by the plugin --
  the same numbers as ``hand-spyx`` (checked below), with the export's reset loop and one-step delay.

jit compile time (``lower().compile()``) is reported separately from the run time (median of repeats,
``block_until_ready``, the models interleaved). Usage: ``python bench_spyx.py [--steps 1000 --batch 32
--dtype float32]``; on a shared machine pin it for stable ratios: ``XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1" taskset -c 1 python bench_spyx.py``.
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


def hand_spyx(g: nir.NIRGraph, dtype: str, dt: float):
    """The network written by hand in Spyx: ``(fn(x, state), nnx state)`` with ``fn`` running ``spyx.nn.run``."""
    import jax
    import spyx.nn as sn
    from flax import nnx

    n, rngs = g.nodes, nnx.Rngs(0)
    linear = lambda w, b: nnx.Linear(w.shape[1], w.shape[0], use_bias=b is not None, dtype=dtype,  # noqa: E731
                                     param_dtype=dtype, precision=jax.lax.Precision.HIGHEST, rngs=rngs)
    fc1, fc2 = linear(n["fc1"].weight, n["fc1"].bias), linear(n["fc2"].weight, None)
    fc1.kernel[...], fc1.bias[...] = n["fc1"].weight.T * (dt / n["lif"].tau * 20.0), n["fc1"].bias
    fc2.kernel[...] = n["fc2"].weight.T * (dt / n["li"].tau)
    lif = sn.LIF((n["lif"].tau.size,), threshold=1.0, rngs=rngs)
    lif.beta = nnx.Param(np.asarray(1 - dt / n["lif"].tau, dtype))
    li = sn.LI((n["li"].tau.size,), rngs=rngs)
    li.beta = nnx.Param(np.asarray(1 - dt / n["li"].tau, dtype))
    model = sn.Sequential(fc1, lif, fc2, li)
    graphdef, state = nnx.split(model)

    def fn(x, state):  # x: (batch, T, n_in)
        return sn.run(nnx.merge(graphdef, state), x, batch_major=True)[0]

    return fn, state, model


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


def plugin_fn(model):
    """``(fn(x, params), params)`` of a :class:`~nirverse_spyx.SpyxModel` (its own jitted scan, unjitted)."""
    graphdefs, params = model._split()
    name = model.plan.inputs[0]
    out = model.plan.outputs[0]

    def fn(x, params):
        import jax.numpy as jnp

        _, outputs = model._scan(graphdefs, params, {name: jnp.swapaxes(x, 0, 1)}, False)
        return jnp.swapaxes(outputs[out], 0, 1)

    return fn, params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--inputs", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--outputs", type=int, default=10)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp
    import nirverse_spyx
    from nirverse import Semantics

    dt, sem = 1e-3, Semantics(1e-3, "euler", "subtract")
    g = graph(args.inputs, args.hidden, args.outputs)
    x_np = (np.random.default_rng(1).random((args.batch, args.steps, args.inputs)) < 0.05).astype(np.float64)
    with nirverse_spyx.precision(args.dtype):
        x = jnp.asarray(x_np, dtype=args.dtype)
        hand, hand_state, hand_model = hand_spyx(g, args.dtype, dt)
        exported = nirverse_spyx.from_nir(nirverse_spyx.to_nir(hand_model, sem), sem, dtype=args.dtype)
        candidates = [("plugin", *plugin_fn(nirverse_spyx.from_nir(g, sem, dtype=args.dtype))),
                      ("hand-spyx", hand, hand_state), ("plugin(export)", *plugin_fn(exported))]
        compiled = [(name, *compile_timed(fn, (x, p)), (x, p)) for name, fn, p in candidates]
        medians, outs = run_interleaved([(c, a) for _, _, c, a in compiled], args.repeats)
    tol = 1e-4 if args.dtype == "float32" else 1e-9
    same = np.allclose(np.asarray(outs[2]), np.asarray(outs[1]), rtol=tol, atol=tol)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; batch {args.batch} x {args.steps} steps, "
          f"{args.inputs}-{args.hidden}-{args.outputs}, {args.dtype}; plugin(export) == hand-spyx: {same}")
    base = medians[1]
    print(f"{'model':<16}{'compile [s]':>12}{'run [s]':>10}{'steps/s':>12}{'run / hand-spyx':>17}")
    for (name, comp, _, _), run in zip(compiled, medians):
        print(f"{name:<16}{comp:>12.3f}{run:>10.4f}{args.steps / run:>12.0f}{run / base:>17.3f}")


if __name__ == "__main__":
    main()
