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

from nirverse.backends import lazy_attributes, make_from_nir

from ._backend import RockpoolBackend

__all__ = ["GraphTorch", "RockpoolBackend", "ScaleTorch", "StrictStep", "from_nir", "to_nir"]


from_nir = make_from_nir(RockpoolBackend, doc="""The Rockpool model (a :class:`GraphTorch`) of ``graph`` under ``semantics``.

    Raises the same errors as ``nirverse.run(..., backend="rockpool")`` for graphs or parameters the
    mapping cannot reproduce exactly.
    """)

def to_nir(module: Any, semantics: Any) -> Any:
    """A ``nir.NIRGraph`` whose reference run under ``semantics`` equals ``module``'s Rockpool run."""
    from ._to_nir import to_nir as _to_nir

    return _to_nir(module, semantics)


__getattr__, __dir__ = lazy_attributes(__name__, {"GraphTorch": "._model", "ScaleTorch": "._nodes", "StrictStep": "._nodes"})
