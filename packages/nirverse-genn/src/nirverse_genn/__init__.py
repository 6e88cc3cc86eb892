"""nirverse plugin for GeNN: run NIR graphs as GeNN (pygenn) models with the semantics' exact dynamics.

``from_nir(graph, semantics)`` returns a :class:`GeNNNetwork` whose ``model`` is the built
``pygenn.GeNNModel``. pygenn is imported only when a model is built or run.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GeNNBackend", "GeNNNetwork", "from_nir"]


def from_nir(graph: Any, semantics: Any, dtype: str = "float64") -> Any:
    """Build the GeNN model of ``graph`` executed under ``semantics`` (a :class:`GeNNNetwork`)."""
    from nirverse.backends import get_backend
    from nirverse.errors import BackendUnavailableError
    from nirverse.graph import prepare

    backend = get_backend("genn")
    reason = backend.check()
    if reason is not None:
        raise BackendUnavailableError(reason, field="backend", expected=backend.install_hint)
    plan = prepare(graph, semantics)
    backend.check_support(plan, semantics, dtype)
    return backend.build(plan, dtype)


def __getattr__(name: str) -> Any:
    if name == "GeNNBackend":
        from ._backend import GeNNBackend

        return GeNNBackend
    if name == "GeNNNetwork":
        from ._model import GeNNNetwork

        return GeNNNetwork
    raise AttributeError(name)
