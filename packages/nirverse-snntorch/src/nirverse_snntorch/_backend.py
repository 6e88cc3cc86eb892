"""The ``snntorch`` backend: NIR graphs as snnTorch neurons (``Leaky``, ``Synaptic``) and torch layers.

Every NIR node type, both methods, resets and latencies, float64 and float32. snnTorch and torch are
imported only inside :meth:`SnnTorchBackend.build` / :meth:`SnnTorchBackend.run` /
:meth:`SnnTorchBackend.to_nir`. What snnTorch cannot execute identically is refused in
:meth:`SnnTorchBackend.check_support` (see :func:`nirverse_snntorch._from_nir.check_node`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from nirverse.backends import Backend, RunOutput
from nirverse.graph import Plan
from nirverse.semantics import Semantics
from nirverse.validation import NEURON_TYPES

__all__ = ["SnnTorchBackend"]


class SnnTorchBackend(Backend):
    """Runs a plan with :class:`nirverse_snntorch.SnnTorchNetwork`; exports snnTorch modules to NIR."""

    name = "snntorch"
    framework = "snntorch"
    module = "snntorch"
    install_hint = "pip install 'nirverse[snntorch]'  (snntorch>=1.0 with torch and numpy)"
    exports = True

    def check_support(self, plan: Plan, semantics: Semantics, dtype: str) -> None:
        super().check_support(plan, semantics, dtype)
        from ._from_nir import check_node  # imports torch, not snntorch's neurons

        for name in plan.order:
            if plan.types[name] in NEURON_TYPES:
                check_node(name, plan.types[name], plan.params[name], semantics, dtype)

    def build(self, plan: Plan, dtype: str) -> Any:
        from ._model import SnnTorchNetwork

        return SnnTorchNetwork(plan, dtype)

    def run(self, model: Any, inputs: Mapping[str, np.ndarray], record: bool) -> RunOutput:
        import torch

        tensors = {n: torch.from_numpy(np.ascontiguousarray(v)) for n, v in inputs.items()}
        with torch.no_grad():
            outputs, states = model.run(tensors, record=record)
        return RunOutput(
            outputs={n: v.numpy() for n, v in outputs.items()},
            states={n: {k: v.numpy() for k, v in s.items()} for n, s in states.items()},
        )

    def node_level(self, plan: Plan, name: str, dtype: str) -> Any:
        from ._levels import node_level

        return node_level(plan, name, dtype)

    def to_nir(self, model: Any, semantics: Semantics) -> Any:
        from ._to_nir import to_nir

        return to_nir(model, semantics)
