"""nirverse plugin for Sinabs: run NIR graphs as Sinabs modules, export Sinabs models to NIR.

``from_nir(graph, semantics)`` returns a :class:`SinabsGraph` (a ``torch.nn.Module`` made of Sinabs'
``IAF`` / ``LIF`` / ``ExpLeak`` layers and torch layers); ``to_nir(module, semantics)`` exports a Sinabs
model (or a ``SinabsGraph``) as a NIR graph. Importing this package does not import Sinabs or torch.
"""

from __future__ import annotations

from typing import Any

from nirverse.backends import lazy_attributes

from ._backend import SinabsBackend, from_nir

__all__ = ["SinabsBackend", "SinabsGraph", "from_nir", "to_nir"]


def to_nir(module: Any, semantics: Any, input_shape: Any = None):
    """Export a Sinabs model (``IAF``/``LIF``/``ExpLeak`` layers, their ``Squeeze`` and ``Recurrent`` twins,
    ``torch.nn.Linear``/``Conv1d``/``Conv2d``/``AvgPool2d``, ``sinabs.layers.SumPool2d``, ``Flatten``,
    ``Sequential``) or a :class:`SinabsGraph` as a ``nir.NIRGraph`` executing identically under
    ``semantics``. ``input_shape`` (per sample) is needed where the first layer does not fix it."""
    from ._to_nir import to_nir as _to_nir

    return _to_nir(module, semantics, input_shape=input_shape)


__getattr__, __dir__ = lazy_attributes(__name__, {"SinabsGraph": "._model"})
