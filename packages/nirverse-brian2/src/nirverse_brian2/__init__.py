"""nirverse plugin for Brian2: NIR graphs as Brian2 networks, Brian2 networks as NIR graphs.

``import nirverse_brian2`` does not import Brian2; :func:`from_nir` and :func:`to_nir` do.
"""

from __future__ import annotations

import inspect
from typing import Any

from nirverse.backends import make_from_nir

from ._backend import Brian2Backend

__all__ = ["Brian2Backend", "from_nir", "to_nir"]

_KEYWORD = inspect.Parameter.KEYWORD_ONLY
#: Brian2's extra ``from_nir`` options: its network holds the inputs (``TimedArray``) and the batch
_OPTIONS = (
    inspect.Parameter("inputs", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=Any),
    inspect.Parameter("steps", _KEYWORD, default=1, annotation=int),
    inspect.Parameter("batch", _KEYWORD, default=1, annotation=int),
    inspect.Parameter("target", _KEYWORD, default=None, annotation="str | None"),
    inspect.Parameter("record", _KEYWORD, default=False, annotation=bool),
)


def _backend(inputs: Any, steps: int, batch: int, target: str | None, record: bool) -> Brian2Backend:
    return Brian2Backend(target)


def _network(backend: Brian2Backend, plan: Any, dtype: str, inputs: Any, steps: int, batch: int,
             target: str | None, record: bool) -> Any:
    import numpy as np
    from nirverse.api import normalize_inputs

    from ._from_nir import build_network

    if inputs is None:
        inputs = {n: np.zeros((batch, steps, *plan.out_shapes[n])) for n in plan.inputs}
    data = normalize_inputs(plan, inputs)
    return build_network(plan, data, dtype=dtype, target=backend.codegen_target(), record=record)


from_nir = make_from_nir(Brian2Backend, options=_OPTIONS, backend=_backend, build=_network, doc="""The Brian2
    network of ``graph`` under ``semantics``, fed with ``inputs``.

    ``inputs``: an array (batch, time, *shape) for a one-Input graph or {Input name: array}; without
    it the inputs are zero for ``steps`` steps and ``batch`` samples. Returns a
    :class:`~nirverse_brian2._from_nir.Brian2Model`: ``.network`` is the ``brian2.Network``,
    ``.groups[node]`` its groups; ``.run()`` runs it for the inputs' length, ``.outputs()`` reads the
    Output monitors.
    """)


def to_nir(network_or_groups: Any, semantics: Any):
    """Export a Brian2 network (or model from :func:`from_nir`, or a list of groups) to a ``nir.NIRGraph``."""
    from ._to_nir import to_nir as _to_nir

    return _to_nir(network_or_groups, semantics)
