"""nirverse plugin for snnTorch: run NIR graphs with snnTorch's neurons under a nirverse semantics.

``from_nir(graph, semantics, dtype)`` returns the native :class:`SnnTorchNetwork` (a ``torch.nn.Module``
of snnTorch ``Leaky``/``Synaptic`` neurons and torch layers); ``to_nir(module, semantics)`` exports
snnTorch modules (``Leaky``, ``Synaptic``, ``RLeaky``, ``RSynaptic``, ``Linear``, ``Conv2d``,
``AvgPool2d``, ``Flatten``, ``Sequential``) to a NIR graph whose reference run equals the module's own.
snnTorch and torch are imported lazily, on first use.
"""

from __future__ import annotations

from typing import Any

from ._backend import SnnTorchBackend

__all__ = ["SnnTorchBackend", "SnnTorchNetwork", "from_nir", "to_nir"]

_LAZY = {"SnnTorchNetwork": "._model"}


def from_nir(graph: Any, semantics: Any, dtype: str = "float64"):
    """The snnTorch network of ``graph`` (a ``nir.NIRGraph`` or a path) under ``semantics``.

    Refuses (``Unsupported*Error``) what cannot be executed identically, like ``nirverse.run``.
    """
    from nirverse.graph import prepare

    from ._model import SnnTorchNetwork

    plan = prepare(graph, semantics)
    SnnTorchBackend().check_support(plan, semantics, dtype)
    return SnnTorchNetwork(plan, dtype)


def to_nir(module: Any, semantics: Any, input_shape: tuple[int, ...] | None = None):
    """A ``nir.NIRGraph`` of an snnTorch module whose reference run under ``semantics`` equals the
    module's own run (see :mod:`nirverse_snntorch._to_nir`). ``input_shape`` (per sample) is needed
    only where the first layer does not fix it."""
    from ._to_nir import to_nir as _to_nir

    return _to_nir(module, semantics, input_shape)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
