"""nirverse plugin for NEST: run NIR graphs as NEST networks with the semantics' exact dynamics.

``from_nir(graph, semantics)`` returns a :class:`NESTNetwork` (``run(inputs, record)`` builds and
simulates it in NEST's kernel); ``to_nir(...)`` exports a NEST network of ``iaf_psc_delta`` /
``iaf_psc_exp`` neurons, static synapses and spike generators. NEST is imported only when a network runs.
"""

from __future__ import annotations

import inspect
from typing import Any

from nirverse.backends import lazy_attributes, make_from_nir

from ._backend import NESTBackend

__all__ = ["NESTBackend", "NESTNetwork", "from_nir", "to_nir"]


def _network(backend: NESTBackend, plan: Any, dtype: str, threads: int) -> Any:
    network = backend.build(plan, dtype)
    network.threads = threads
    return network


from_nir = make_from_nir(
    NESTBackend, build=_network,
    options=[inspect.Parameter("threads", inspect.Parameter.KEYWORD_ONLY, default=1, annotation=int)],
    doc="The NEST network of ``graph`` executed under ``semantics`` (a :class:`NESTNetwork`); ``threads``: "
        "NEST's local threads.",
)


__getattr__, __dir__ = lazy_attributes(__name__, {"NESTNetwork": "._model", "to_nir": "._to_nir"})
