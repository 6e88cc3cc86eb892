"""nirverse plugin for NEST: run NIR graphs as NEST networks with the semantics' exact dynamics.

``from_nir(graph, semantics)`` returns a :class:`NESTNetwork` (``run(inputs, record)`` builds and
simulates it in NEST's kernel); ``to_nir(...)`` exports a NEST network of ``iaf_psc_delta`` /
``iaf_psc_exp`` neurons, static synapses and spike generators. NEST is imported only when a network runs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NESTBackend", "NESTNetwork", "from_nir", "to_nir"]


def from_nir(graph: Any, semantics: Any, dtype: str = "float64", threads: int = 1) -> Any:
    """The NEST network of ``graph`` executed under ``semantics`` (a :class:`NESTNetwork`)."""
    from nirverse.backends import get_backend
    from nirverse.errors import BackendUnavailableError
    from nirverse.graph import prepare

    backend = get_backend("nest")
    reason = backend.check()
    if reason is not None:
        raise BackendUnavailableError(reason, field="backend", expected=backend.install_hint)
    plan = prepare(graph, semantics)
    backend.check_support(plan, semantics, dtype)
    network = backend.build(plan, dtype)
    network.threads = threads
    return network


def to_nir(*args: Any, **kwargs: Any) -> Any:
    """See :func:`nirverse_nest._to_nir.to_nir`."""
    from ._to_nir import to_nir as export

    return export(*args, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "NESTBackend":
        from ._backend import NESTBackend

        return NESTBackend
    if name == "NESTNetwork":
        from ._model import NESTNetwork

        return NESTNetwork
    raise AttributeError(name)
