"""The ``"norse"`` backend: NIR graphs run as Norse modules (see ``_from_nir`` for the mapping)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from nirverse import Backend, Plan, RunOutput, Semantics
from nirverse.backends import make_from_nir
from nirverse.validation import NODE_TYPES

__all__ = ["NorseBackend", "from_nir"]


class NorseBackend(Backend):
    """Every NIR node type, both methods, resets and latencies, float64 and float32."""

    name = "norse"
    framework = "norse"
    module = "norse"
    install_hint = "pip install 'nirverse[norse]' (pin torch, e.g. -c 'torch==2.13.0', or torchvision pulls a CUDA torch)"
    node_types = NODE_TYPES
    exports = True

    def build(self, plan: Plan, dtype: str) -> Any:
        from ._from_nir import TORCH_DTYPES, build_node
        from ._model import NorseGraph

        nodes = {name: build_node(plan, name, dtype) for name in plan.order}
        return NorseGraph(plan, nodes, TORCH_DTYPES[dtype])

    def run(self, model: Any, inputs: Mapping[str, np.ndarray], record: bool) -> RunOutput:
        import torch

        data = {n: torch.as_tensor(np.ascontiguousarray(np.swapaxes(x, 0, 1))) for n, x in inputs.items()}
        with torch.no_grad():
            outputs, states = model(data, record=record)

        def back(t: torch.Tensor) -> np.ndarray:
            return np.swapaxes(t.detach().cpu().numpy(), 0, 1)

        return RunOutput(
            outputs={n: back(v) for n, v in outputs.items()},
            states={n: {k: back(v) for k, v in s.items()} for n, s in states.items()},
        )

    def node_level(self, plan: Plan, name: str, dtype: str) -> Any:
        from ._levels import node_level

        return node_level(plan, name, dtype)

    def to_nir(self, model: Any, semantics: Semantics) -> Any:
        from ._to_nir import to_nir

        return to_nir(model, semantics)


from_nir = make_from_nir(NorseBackend, doc="""The :class:`~nirverse_norse.NorseGraph` (a ``torch.nn.Module`` of Norse cells) for ``graph`` under
    ``semantics``; raises ``Unsupported*Error`` for what Norse cannot execute identically.""")
