"""The ``rockpool`` backend: NIR graphs as Rockpool torch modules (see ``_from_nir`` for the mapping)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from nirverse import RunOutput, Semantics
from nirverse.backends import Backend
from nirverse.graph import Plan

__all__ = ["RockpoolBackend"]


class RockpoolBackend(Backend):
    """Runs a plan as a :class:`~nirverse_rockpool._model.GraphTorch` of Rockpool torch modules."""

    name = "rockpool"
    framework = "rockpool"
    module = "rockpool"
    install_hint = "pip install 'nirverse[rockpool]'  (rockpool and torch; not rockpool[nir], which pins nir<=1.0.4)"
    exports = True

    def check_support(self, plan: Plan, semantics: Semantics, dtype: str) -> None:
        super().check_support(plan, semantics, dtype)
        from ._from_nir import check_node

        for name in plan.order:
            check_node(plan, name, dtype)

    def build(self, plan: Plan, dtype: str) -> Any:
        from ._model import build_model

        return build_model(plan, dtype)

    def run(self, model: Any, inputs: Mapping[str, np.ndarray], record: bool) -> RunOutput:
        import torch

        from ._nodes import default_dtype

        plan = model.plan
        torch_dtype = model._torch_dtype
        data = {}
        for name in plan.inputs:
            arr = np.asarray(inputs[name])
            data[name] = torch.as_tensor(arr.reshape(arr.shape[0], arr.shape[1], -1), dtype=torch_dtype)
        with default_dtype(torch_dtype), torch.no_grad():
            out, _, rec = model(data, record=record)
        if not isinstance(out, dict):
            out = {plan.outputs[0]: out}
        outputs = {}
        for name in plan.outputs:
            y = out[name].detach().cpu().numpy()
            outputs[name] = y.reshape(y.shape[0], y.shape[1], *plan.out_shapes[name])
        states = {}
        if record:
            for node, st in rec.items():
                shape = plan.out_shapes[node]
                states[node] = {k: v.detach().cpu().numpy().reshape(v.shape[0], v.shape[1], *shape) for k, v in st.items()}
        return RunOutput(outputs, states)

    def to_nir(self, model: Any, semantics: Semantics) -> Any:
        from ._to_nir import to_nir

        return to_nir(model, semantics)
