"""nirverse plugin for Nengo: run NIR graphs as Nengo networks, export Nengo networks to NIR.

``from_nir(graph, semantics)`` returns a :class:`NIRNetwork` (a ``nengo.Network``);
``to_nir(network, semantics)`` exports a Nengo network. Nengo is imported lazily, on first use of
these attributes, so registering the backend never imports it.
"""

from __future__ import annotations

from typing import Any

from nirverse.backends import lazy_attributes, make_from_nir

from ._backend import NengoBackend

__all__ = ["NengoBackend", "NIRNetwork", "from_nir", "to_nir"]


def _network(backend: NengoBackend, plan: Any, dtype: str) -> Any:
    from ._from_nir import NIRNetwork

    return NIRNetwork(plan, native_lif=dtype == "float64")


from_nir = make_from_nir(NengoBackend, build=_network, doc="""A Nengo network executing ``graph`` (a ``nir.NIRGraph`` or file) under ``semantics``.

    Refuses (``UnsupportedNodeError`` / ``UnsupportedSemanticsError``) what Nengo cannot execute
    identically. Run it with ``nengo.Simulator(net, dt=semantics.dt)`` after ``net.set_input``; in
    float32 every LIF node runs on the plugin's own neuron type (as :meth:`NengoBackend.build` does).
    """)

__getattr__, __dir__ = lazy_attributes(__name__, {"NIRNetwork": "._from_nir", "to_nir": "._to_nir"})
