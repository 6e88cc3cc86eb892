"""nirverse plugin for GeNN: run NIR graphs as GeNN (pygenn) models with the semantics' exact dynamics.

``from_nir(graph, semantics)`` returns a :class:`GeNNNetwork` whose ``model`` is the built
``pygenn.GeNNModel``. pygenn is imported only when a model is built or run.
"""

from __future__ import annotations

from nirverse.backends import lazy_attributes, make_from_nir

from ._backend import GeNNBackend

__all__ = ["GeNNBackend", "GeNNNetwork", "from_nir"]

from_nir = make_from_nir(
    GeNNBackend, doc="Build the GeNN model of ``graph`` executed under ``semantics`` (a :class:`GeNNNetwork`)."
)

__getattr__, __dir__ = lazy_attributes(__name__, {"GeNNNetwork": "._model"})
