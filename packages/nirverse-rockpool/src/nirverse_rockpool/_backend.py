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

        if next(iter(inputs.values())).shape[0] == 0:
            return self._run_empty_batch(model, inputs, record)
        plan = model.plan
        torch_dtype = model._torch_dtype
        data = {}
        for name in plan.inputs:
            arr = np.asarray(inputs[name])
            flat = arr.reshape(arr.shape[0], arr.shape[1], int(np.prod(arr.shape[2:])))  # -1 fails on size 0
            data[name] = torch.as_tensor(flat, dtype=torch_dtype)
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

    def node_level(self, plan: Plan, name: str, dtype: str) -> Any:
        from ._levels import node_level

        return node_level(plan, name, dtype)

    def _run_empty_batch(self, model: Any, inputs: Mapping[str, np.ndarray], record: bool) -> RunOutput:
        """Batch 0: Rockpool keeps the last sample's state (``vmem[0]``), so run one zero sample, keep none."""
        one = {name: np.zeros((1, *np.shape(arr)[1:])) for name, arr in inputs.items()}
        out = self.run(model, one, record)
        return RunOutput({k: v[:0] for k, v in out.outputs.items()},
                         {n: {k: v[:0] for k, v in s.items()} for n, s in out.states.items()})

    def to_nir(self, model: Any, semantics: Semantics) -> Any:
        from ._to_nir import to_nir

        return to_nir(model, semantics)
