"""nirverse plugin for Nengo: run NIR graphs as Nengo networks, export Nengo networks to NIR.

``from_nir(graph, semantics)`` returns a :class:`NIRNetwork` (a ``nengo.Network``);
``to_nir(network, semantics)`` exports a Nengo network. Nengo is imported lazily, on first use of
these attributes, so registering the backend never imports it.
"""

from __future__ import annotations

from typing import Any

from ._backend import NengoBackend

__all__ = ["NengoBackend", "NIRNetwork", "from_nir", "to_nir"]

_LAZY = {"from_nir": "_from_nir", "NIRNetwork": "_from_nir", "to_nir": "_to_nir"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
