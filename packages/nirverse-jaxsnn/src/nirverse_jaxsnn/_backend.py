"""The ``jaxsnn`` backend: every NIR node type, both methods, resets and latencies, float64 and float32.

jaxsnn is imported only inside :meth:`JaxsnnBackend.build` / :meth:`JaxsnnBackend.run`. float64 runs
inside ``jax.enable_x64(True)`` used as a context manager, so the caller's JAX configuration is not
changed (see :func:`nirverse_jaxsnn._model.precision`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from nirverse.backends import Backend, RunOutput
from nirverse.graph import Plan

__all__ = ["JaxsnnBackend"]


class JaxsnnBackend(Backend):
    """NIR graphs as jaxsnn discrete-time modules, stepped by one jitted ``jax.lax.scan``."""

    name = "jaxsnn"
    framework = "jaxsnn"
    module = "jaxsnn"
    install_hint = "pip install 'nirverse[jaxsnn]'  (jaxsnn>=0.3 with jax)"
    exports = False

    def build(self, plan: Plan, dtype: str) -> Any:
        from ._model import build_model

        return build_model(plan, dtype)

    def node_level(self, plan: Plan, name: str, dtype: str) -> Any:
        from ._levels import node_level

        return node_level(plan, name, dtype)

    def run(self, model: Any, inputs: Mapping[str, np.ndarray], record: bool) -> RunOutput:
        states, outputs = model(inputs, record=record)
        out = {n: np.asarray(v) for n, v in outputs.items()}
        rec = {n: {k: np.asarray(v) for k, v in s.items()} for n, s in (states or {}).items()}
        return RunOutput(outputs=out, states=rec)
