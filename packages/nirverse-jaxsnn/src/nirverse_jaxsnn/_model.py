r"""The native model: jaxsnn modules stepped by one ``jax.lax.scan`` in the plan's order.

This mirrors jaxsnn's discrete ``Topology`` (``jaxsnn/discrete/topology.py``): ``init(rng) -> params``,
``apply(inputs, params) -> (states, outputs)`` with time-major, per-sample inputs ``{Input: (T, *shape)}``,
scanned over time, batched with ``jax.vmap``. jaxsnn's own ``Topology`` is not used to schedule because it
orders nodes by ``networkx`` strongly connected components (unordered inside a component) and merges
parallel edges; here the order, the summation order of incoming edges and the delayed edges are the
core's :class:`~nirverse.graph.Plan` (an edge marked ``delayed`` reads the source's output of step
``t - 1``, zeros at ``t = 0``), exactly as the semantics note defines them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._from_nir import make_module

__all__ = ["JaxsnnModel", "build_model", "precision"]


def precision(dtype: str):
    """The JAX context of a run: x64 on (float64) or off (float32) and the highest matmul precision.

    ``jax.enable_x64`` is used as a *context manager*, so the user's global JAX configuration is left
    unchanged; arrays created outside the context keep their dtype.
    """
    import jax

    stack = contextlib.ExitStack()
    stack.enter_context(jax.enable_x64(dtype == "float64"))
    stack.enter_context(jax.default_matmul_precision("highest"))
    return stack


@dataclass
class JaxsnnModel:
    """A NIR graph as jaxsnn modules.

    ``modules`` maps each flat node name to its jaxsnn ``Population``/``Projection``; ``params`` holds
    their parameters (a pytree); ``apply(inputs, params, record)`` runs one sample (time-major), and
    ``__call__(inputs)`` a batch ``{Input: (batch, time, *shape)}`` with the jitted, vmapped ``apply``.
    """

    plan: Any
    dtype: str
    modules: dict[str, Any]
    params: dict[str, Any]
    _fns: dict[str, Any] = field(repr=False)
    _jitted: dict[bool, Any] = field(default_factory=dict, repr=False)

    def init(self, rng: Any = None) -> dict[str, Any]:
        """The parameters (jaxsnn's ``init`` convention; the values come from the graph, not ``rng``)."""
        return {n: fns.init(rng) for n, fns in self._fns.items()}

    def apply(self, inputs: Mapping[str, Any], params: Mapping[str, Any], record: bool = False):
        """One sample: ``inputs`` {Input: (T, *shape)} -> (states {neuron: {"v", "i"}} or None, outputs)."""
        import jax

        plan = self.plan
        order = [n for n in plan.order]
        neurons = [n for n in order if plan.is_neuron(n)]
        delayed_sources = sorted({e.source for e in plan.edges if e.delayed})
        fns = self._fns

        init_states = {n: fns[n].state()[0] for n in order}
        prev0 = {s: np.zeros(plan.out_shapes[s], self.dtype) for s in delayed_sources}

        def step(carry, xs):
            states, prev = carry
            values: dict[str, Any] = {}
            new_states = dict(states)
            for n in order:
                if n in xs:
                    values[n] = xs[n]
                    continue
                x = None
                for edge in plan.incoming[n]:
                    src = prev[edge.source] if edge.delayed else values[edge.source]
                    x = src if x is None else x + src
                new_states[n], values[n] = fns[n].step({"x": x}, states[n], params[n])
            outputs = {o: values[o] for o in plan.outputs}
            recorded = None
            if record:
                recorded = {
                    n: ({"v": new_states[n].V, "i": new_states[n].I} if plan.types[n].startswith("Cuba")
                        else {"v": new_states[n].V})
                    for n in neurons
                }
            return (new_states, {s: values[s] for s in delayed_sources}), (recorded, outputs)

        _, (recorded, outputs) = jax.lax.scan(step, (init_states, prev0), dict(inputs))
        return recorded, outputs

    def compiled(self, record: bool = False):
        """The jitted, batch-vmapped ``apply``: ``(inputs {Input: (batch, T, *shape)}, params)``."""
        if record not in self._jitted:
            import jax

            batched = jax.vmap(lambda x, p: self.apply(x, p, record), in_axes=(0, None))
            self._jitted[record] = jax.jit(batched)
        return self._jitted[record]

    def __call__(self, inputs: Mapping[str, Any], record: bool = False):
        """Run a batch; returns (states or None, outputs) as JAX arrays shaped (batch, time, *shape)."""
        import jax.numpy as jnp

        with precision(self.dtype):
            data = {n: jnp.asarray(np.asarray(v), dtype=self.dtype) for n, v in inputs.items()}
            return self.compiled(record)(data, self.params)


def build_model(plan: Any, dtype: str) -> JaxsnnModel:
    """Map every node of ``plan`` to a jaxsnn module (parameters created in ``dtype``)."""
    with precision(dtype):
        modules = {n: make_module(plan, n, np.dtype(dtype)) for n in plan.order}
        fns = {}
        for n, module in modules.items():
            fns[n] = module.fns = module.generator(plan.semantics.dt)
        model = JaxsnnModel(plan=plan, dtype=dtype, modules=modules, params={}, _fns=fns)
        model.params = model.init()
    return model
