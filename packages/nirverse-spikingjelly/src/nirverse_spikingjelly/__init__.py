"""nirverse plugin for SpikingJelly: run NIR graphs with SpikingJelly's neurons, export SpikingJelly models to NIR.

``from_nir(graph, semantics, dtype)`` returns a :class:`SpikingJellyGraph` (a ``torch.nn.Module`` of
SpikingJelly's ``IFNode`` / ``LIFNode`` / ``CUBALIFNode`` and ``layer`` modules in multi-step mode);
``to_nir(module, semantics)`` exports a SpikingJelly model (or a ``SpikingJellyGraph``) as a NIR graph.
Importing this package does not import SpikingJelly or torch; they load on first use.
"""

from __future__ import annotations

from typing import Any

from nirverse.backends import lazy_attributes

from ._backend import SpikingJellyBackend, from_nir

__all__ = ["SpikingJellyBackend", "SpikingJellyGraph", "from_nir", "to_nir"]


def to_nir(module: Any, semantics: Any, input_shape: Any = None):
    """Export a SpikingJelly model (``layer``/``torch.nn`` Linear, Conv1d/2d, AvgPool2d, Flatten,
    ``IFNode``, ``LIFNode``, ``ParametricLIFNode``, in ``Sequential`` or SpikingJelly containers, single-
    or multi-step) or a :class:`SpikingJellyGraph` as a ``nir.NIRGraph`` executing identically under
    ``semantics``. ``input_shape`` (per sample) is needed where the first layer does not fix it."""
    from ._to_nir import to_nir as _to_nir

    return _to_nir(module, semantics, input_shape=input_shape)


__getattr__, __dir__ = lazy_attributes(__name__, {"SpikingJellyGraph": "._model"})
