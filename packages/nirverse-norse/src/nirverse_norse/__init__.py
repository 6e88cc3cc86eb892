"""nirverse plugin for Norse: run NIR graphs as Norse modules, export Norse models to NIR.

``from_nir(graph, semantics)`` returns a :class:`NorseGraph` (a ``torch.nn.Module`` made of Norse's
cells); ``to_nir(module, semantics)`` exports a Norse model (or a ``NorseGraph``) as a NIR graph.
Importing this package does not import Norse or torch; they load on first use.
"""

from __future__ import annotations

from typing import Any

from nirverse.backends import lazy_attributes

from ._backend import NorseBackend, from_nir

__all__ = ["NorseBackend", "NorseGraph", "from_nir", "to_nir"]


def to_nir(module: Any, semantics: Any, input_shape: Any = None):
    """Export a Norse model (cells, ``torch.nn.Linear``/``Conv``, ``Sequential``/``SequentialState``,
    ``LIFRecurrentCell``) or a :class:`NorseGraph` as a ``nir.NIRGraph`` executing identically under
    ``semantics``. ``input_shape`` (per sample) is needed where the model's first layer does not fix it."""
    from ._to_nir import to_nir as _to_nir

    return _to_nir(module, semantics, input_shape=input_shape)


__getattr__, __dir__ = lazy_attributes(__name__, {"NorseGraph": "._model"})
