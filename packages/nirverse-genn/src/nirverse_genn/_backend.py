"""The ``"genn"`` backend: NIR graphs as GeNN (pygenn) models, run on GeNN's CPU backend by default.

pygenn is not on PyPI (the PyPI package named ``genn`` is an unrelated project): GeNN is installed
from source, and without it the backend reports :class:`~nirverse.errors.BackendUnavailableError` with
the instructions in :attr:`GeNNBackend.install_hint`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from nirverse.backends import Backend, RunOutput
from nirverse.graph import Plan
from nirverse.semantics import Semantics

__all__ = ["GeNNBackend"]

INSTALL_HINT = (
    "GeNN is installed from source (pygenn is not on PyPI; never 'pip install genn', an unrelated project): "
    "install a C++17 compiler, make, pkg-config and libffi-dev, then "
    "'pip install https://github.com/genn-team/genn/archive/refs/tags/5.4.0.zip' "
    "(see https://genn-team.github.io/genn/documentation/5/installation.html)"
)


class GeNNBackend(Backend):
    """GeNN 5: neuron nodes as custom neuron models, linear chains as synapse populations.

    Both latencies (``"immediate"`` by lagging populations, where the graph allows it), both methods,
    both resets, float64 (``precision="double"``) and float32.
    """

    name = "genn"
    framework = "pygenn"
    module = "pygenn"
    install_hint = INSTALL_HINT
    #: GeNN runs generated C++ in this process: compare/conformance run it in a child (nirverse.isolation)
    native_code = True
    framework_models = ("pygenn.neuron_models.LIF",)

    def check(self) -> str | None:
        reason = super().check()
        if reason is not None:
            return f"{reason}; {INSTALL_HINT}"
        return None

    def version(self) -> str | None:
        version = super().version()
        if version is None and self.check() is None:
            import pygenn

            version = getattr(pygenn, "__version__", None)
        return version

    def check_support(self, plan: Plan, semantics: Semantics, dtype: str) -> None:
        super().check_support(plan, semantics, dtype)
        from ._lowering import lower

        lower(plan)  # raises Unsupported*Error for graphs GeNN cannot schedule exactly

    def node_level(self, plan: Plan, name: str, dtype: str) -> Any:
        from ._levels import node_level

        return node_level(plan, name, dtype)

    def perturb(self, construct: str) -> Any:
        """GeNN's built-in models are C++ snippets: their populations get an extra DC input (see ``_levels``)."""
        from ._levels import BUILTIN_LIF, perturbed_builtin

        return perturbed_builtin(construct) if construct == BUILTIN_LIF else super().perturb(construct)

    def build(self, plan: Plan, dtype: str) -> Any:
        from ._lowering import lower
        from ._model import build_network

        return build_network(lower(plan), dtype)

    def run(self, model: Any, inputs: Mapping[str, np.ndarray], record: bool) -> RunOutput:
        from ._model import run_network

        outputs, states = run_network(model, inputs, record)
        return RunOutput(outputs, states)
