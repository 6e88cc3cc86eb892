"""nirverse plugin for Rockpool: run NIR graphs as Rockpool torch modules, export Rockpool modules to NIR.

Importing this package does not import Rockpool or torch; ``from_nir``, ``to_nir`` and the module
classes are loaded on first use.

* :func:`from_nir` ``(graph, semantics, dtype="float64")`` -> :class:`GraphTorch`, a Rockpool
  ``TorchModule`` whose submodules are Rockpool's ``LinearTorch``, ``LIFTorch``, ``LIFNeuronTorch``,
  ``ExpSynTorch`` ... with parameters mapped so that the dynamics equal the semantics.
* :func:`to_nir` ``(module, semantics)`` -> ``nir.NIRGraph`` for ``LinearTorch``, ``LIFTorch``
  (also ``has_rec``), ``LIFNeuronTorch``, ``ExpSynTorch``, ``Sequential`` and :class:`GraphTorch`.
"""

from __future__ import annotations

from typing import Any

from ._backend import RockpoolBackend

__all__ = ["GraphTorch", "RockpoolBackend", "ScaleTorch", "StrictStep", "from_nir", "to_nir"]


def from_nir(graph: Any, semantics: Any, dtype: str = "float64") -> Any:
    """The Rockpool model (a :class:`GraphTorch`) of ``graph`` under ``semantics``.

    Raises the same errors as ``nirverse.run(..., backend="rockpool")`` for graphs or parameters the
    mapping cannot reproduce exactly.
    """
    from nirverse import prepare

    from ._model import build_model

    plan = prepare(graph, semantics)
    RockpoolBackend().check_support(plan, semantics, dtype)
    return build_model(plan, dtype)


def to_nir(module: Any, semantics: Any) -> Any:
    """A ``nir.NIRGraph`` whose reference run under ``semantics`` equals ``module``'s Rockpool run."""
    from ._to_nir import to_nir as _to_nir

    return _to_nir(module, semantics)


def __getattr__(name: str) -> Any:
    if name == "GraphTorch":
        from ._model import GraphTorch

        return GraphTorch
    if name in ("ScaleTorch", "StrictStep"):
        from . import _nodes

        return getattr(_nodes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
