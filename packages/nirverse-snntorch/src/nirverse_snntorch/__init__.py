"""nirverse plugin for snnTorch: run NIR graphs with snnTorch's neurons under a nirverse semantics.

``from_nir(graph, semantics, dtype)`` returns the native :class:`SnnTorchNetwork` (a ``torch.nn.Module``
of snnTorch ``Leaky``/``Synaptic`` neurons and torch layers); ``to_nir(module, semantics)`` exports
snnTorch modules (``Leaky``, ``Synaptic``, ``RLeaky``, ``RSynaptic``, ``Linear``, ``Conv2d``,
``AvgPool2d``, ``Flatten``, ``Sequential``) to a NIR graph whose reference run equals the module's own.
snnTorch and torch are imported lazily, on first use.
"""

from __future__ import annotations

from typing import Any

from nirverse.backends import lazy_attributes, make_from_nir

from ._backend import SnnTorchBackend

__all__ = ["SnnTorchBackend", "SnnTorchNetwork", "from_nir", "to_nir"]


from_nir = make_from_nir(SnnTorchBackend, doc="""The snnTorch network of ``graph`` (a ``nir.NIRGraph`` or a path) under ``semantics``.

    Refuses (``Unsupported*Error``) what cannot be executed identically, like ``nirverse.run``.
    """)

def to_nir(module: Any, semantics: Any, input_shape: tuple[int, ...] | None = None):
    """A ``nir.NIRGraph`` of an snnTorch module whose reference run under ``semantics`` equals the
    module's own run (see :mod:`nirverse_snntorch._to_nir`). ``input_shape`` (per sample) is needed
    only where the first layer does not fix it."""
    from ._to_nir import to_nir as _to_nir

    return _to_nir(module, semantics, input_shape)


__getattr__, __dir__ = lazy_attributes(__name__, {"SnnTorchNetwork": "._model"})
