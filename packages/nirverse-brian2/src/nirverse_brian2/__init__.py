"""nirverse plugin for Brian2: NIR graphs as Brian2 networks, Brian2 networks as NIR graphs.

``import nirverse_brian2`` does not import Brian2; :func:`from_nir` and :func:`to_nir` do.
"""

from __future__ import annotations

from typing import Any

from ._backend import Brian2Backend

__all__ = ["Brian2Backend", "from_nir", "to_nir"]


def from_nir(graph: Any, semantics: Any, inputs: Any = None, *, steps: int = 1, batch: int = 1,
             dtype: str = "float64", target: str | None = None, record: bool = False):
    """The Brian2 network of ``graph`` under ``semantics``, fed with ``inputs``.

    ``inputs``: an array (batch, time, *shape) for a one-Input graph or {Input name: array}; without
    it the inputs are zero for ``steps`` steps and ``batch`` samples. Returns a
    :class:`~nirverse_brian2._from_nir.Brian2Model`: ``.network`` is the ``brian2.Network``,
    ``.groups[node]`` its groups; ``.run()`` runs it for the inputs' length, ``.outputs()`` reads the
    Output monitors.
    """
    import numpy as np
    from nirverse import prepare
    from nirverse.api import normalize_inputs

    from ._from_nir import build_network

    plan = prepare(graph, semantics)
    if inputs is None:
        inputs = {n: np.zeros((batch, steps, *plan.out_shapes[n])) for n in plan.inputs}
    data = normalize_inputs(plan, inputs)
    backend = Brian2Backend(target)
    backend.check_support(plan, semantics, dtype)
    return build_network(plan, data, dtype=dtype, target=backend.codegen_target(), record=record)


def to_nir(network_or_groups: Any, semantics: Any):
    """Export a Brian2 network (or model from :func:`from_nir`, or a list of groups) to a ``nir.NIRGraph``."""
    from ._to_nir import to_nir as _to_nir

    return _to_nir(network_or_groups, semantics)
