r"""The model: Spyx / NNX modules stepped by one jitted ``jax.lax.scan`` in the plan's order.

This is what ``spyx.nn.run`` does for a ``spyx.nn.Sequential`` (a scan over time-major input of
``(x_t, state) -> (out, state)``), generalised to any graph: the nodes are stepped in the order of the
core's :class:`~nirverse.graph.Plan`, values on several incoming edges are summed in the plan's edge
order, and an edge marked ``delayed`` reads its source's output of step ``t - 1`` (zeros at ``t = 0``).
Spyx's ``Sequential`` cannot be used as the scheduler: it is a chain, and Spyx's own importer orders a
graph by following the first edge out of the node named ``"input"``.

The modules are split with ``nnx.split`` into a graph definition and a state (a pytree); the jitted
function merges them back (``nnx.merge``), so the parameters are arguments of the compiled scan, not
constants. float64 runs inside ``jax.enable_x64(True)`` used as a context manager (:func:`precision`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._from_nir import make_node

__all__ = ["SpyxModel", "build_model", "precision"]


def precision(dtype: str):
    """The JAX context of a run: x64 on (float64) or off (float32), and the highest matmul precision.

    ``jax.enable_x64`` is used as a context manager: the caller's global JAX configuration is unchanged.
    """
    import jax

    stack = contextlib.ExitStack()
    stack.enter_context(jax.enable_x64(dtype == "float64"))
    stack.enter_context(jax.default_matmul_precision("highest"))
    return stack


@dataclass
class SpyxModel:
    """A NIR graph as Spyx modules: ``modules[name]`` (Spyx neurons, ``spyx.nn.SumPool``/``Flatten``,
    ``nnx.Linear``/``Conv``; ``None`` for plugin-only nodes) and ``nodes[name]`` (the step around it).

    ``model({Input: (batch, time, *shape)}, record)`` -> ``(states or None, outputs)``, JAX arrays shaped
    ``(batch, time, *shape)``.
    """

    plan: Any
    dtype: str
    nodes: dict[str, Any]
    _jitted: dict[bool, Any] = field(default_factory=dict, repr=False)

    @property
    def modules(self) -> dict[str, Any]:
        return {n: node.module for n, node in self.nodes.items()}

    def _split(self):
        from flax import nnx

        graphdefs, states = {}, {}
        for n, node in self.nodes.items():
            if node.module is not None:
                graphdefs[n], states[n] = nnx.split(node.module)
        return graphdefs, states

    def _scan(self, graphdefs: dict, params: dict, inputs: Mapping[str, Any], record: bool):
        """Time-major ``inputs`` {Input: (T, B, *shape)} -> (recorded states, outputs), both time-major."""
        import jax
        import jax.numpy as jnp
        from flax import nnx

        plan, nodes = self.plan, self.nodes
        modules = {n: nnx.merge(graphdefs[n], params[n]) for n in graphdefs}
        batch = next(iter(inputs.values())).shape[1]
        delayed = sorted({e.source for e in plan.edges if e.delayed})
        carry0 = ({n: nodes[n].init(batch, modules.get(n)) for n in plan.order},
                  {s: jnp.zeros((batch, *plan.out_shapes[s]), self.dtype) for s in delayed})

        def step(carry, xs):
            states, prev = carry
            values, new_states = {}, dict(states)
            for n in plan.order:
                if n in xs:
                    values[n] = xs[n]
                    continue
                x = None
                for edge in plan.incoming[n]:
                    src = prev[edge.source] if edge.delayed else values[edge.source]
                    x = src if x is None else x + src
                values[n], new_states[n] = nodes[n].step(modules.get(n), x, states[n])
            recorded = ({n: nodes[n].recorded(new_states[n], modules[n]) for n in plan.order if plan.is_neuron(n)}
                        if record else None)
            return (new_states, {s: values[s] for s in delayed}), (recorded, {o: values[o] for o in plan.outputs})

        _, (recorded, outputs) = jax.lax.scan(step, carry0, dict(inputs))
        return recorded, outputs

    def compiled(self, record: bool = False):
        """The jitted run ``(params, inputs {Input: (batch, T, *shape)}) -> (states, outputs)``."""
        if record not in self._jitted:
            import jax
            import jax.numpy as jnp

            graphdefs, _ = self._split()
            batch_major = lambda tree: jax.tree_util.tree_map(lambda a: jnp.swapaxes(a, 0, 1), tree)  # noqa: E731

            def run(params, inputs):
                recorded, outputs = self._scan(graphdefs, params, batch_major(inputs), record)
                return batch_major(recorded), batch_major(outputs)

            self._jitted[record] = jax.jit(run)
        return self._jitted[record]

    def __call__(self, inputs: Mapping[str, Any], record: bool = False):
        import jax.numpy as jnp

        with precision(self.dtype):
            data = {n: jnp.asarray(np.asarray(v), dtype=self.dtype) for n, v in inputs.items()}
            return self.compiled(record)(self._split()[1], data)


def build_model(plan: Any, dtype: str) -> SpyxModel:
    """Map every node of ``plan`` to its Spyx module (parameters created in ``dtype``)."""
    with precision(dtype):
        return SpyxModel(plan=plan, dtype=dtype, nodes={n: make_node(plan, n, dtype) for n in plan.order})
