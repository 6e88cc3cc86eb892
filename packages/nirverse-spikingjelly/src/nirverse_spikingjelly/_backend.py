"""The ``"spikingjelly"`` backend: NIR graphs run as SpikingJelly neurons and layers (see ``_mapping`` and
``_from_nir`` for the mapping). SpikingJelly and torch are imported only in ``build`` / ``run`` / ``to_nir``;
``check_support`` and ``node_level`` use numpy only."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
from nirverse import Backend, Plan, RunOutput, Semantics
from nirverse.backends import make_from_nir
from nirverse.levels import NodeLevel
from nirverse.validation import NEURON_TYPES, NODE_TYPES

from ._mapping import neuron_spec, node_level

__all__ = ["SpikingJellyBackend", "from_nir"]


class SpikingJellyBackend(Backend):
    """Every NIR node type, both methods, resets and latencies, float64 and float32 (torch backend of
    SpikingJelly: no cupy, no triton)."""

    name = "spikingjelly"
    framework = "spikingjelly"
    module = "spikingjelly"
    install_hint = "pip install 'nirverse[spikingjelly]' (Python >= 3.11; pin torch, e.g. -c 'torch==2.13.0')"
    node_types = NODE_TYPES
    exports = True

    def check(self) -> str | None:
        """``import spikingjelly`` alone loads nothing: also import the modules the plugin builds from, so that a
        broken install reports itself here (and the import's cost is paid here, as for other frameworks)."""
        reason = super().check()
        if reason is not None:
            return reason
        try:
            for name in ("spikingjelly.activation_based.neuron", "spikingjelly.activation_based.layer"):
                importlib.import_module(name)
        except Exception as exc:  # an installed but broken SpikingJelly
            return f"importing {name} failed: {type(exc).__name__}: {exc}"
        return None

    def check_support(self, plan: Plan, semantics: Semantics, dtype: str) -> None:
        super().check_support(plan, semantics, dtype)
        for name in plan.order:
            if plan.types[name] in NEURON_TYPES:
                neuron_spec(name, plan.types[name], plan.params[name], semantics, dtype)

    def node_level(self, plan: Plan, name: str, dtype: str) -> NodeLevel:
        return node_level(plan, name, dtype)

    def perturb(self, construct: str) -> AbstractContextManager[None]:
        """SpikingJelly neurons keep their state in module memories (``v``, ``c``, ``v_seq``), which the
        core's perturbation of the returned spikes does not reach: shift those too."""
        from nirverse.testing.mutation import resolve

        _, _, obj = resolve(construct)
        if isinstance(obj, type) and any(k.__name__ == "MemoryModule" for k in obj.__mro__):
            return _perturbed_memories(obj)
        return super().perturb(construct)

    def build(self, plan: Plan, dtype: str) -> Any:
        from ._from_nir import TORCH_DTYPES, build_node
        from ._model import SpikingJellyGraph

        nodes = {name: build_node(plan, name, dtype) for name in plan.order}
        return SpikingJellyGraph(plan, nodes, TORCH_DTYPES[dtype])

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

    def to_nir(self, model: Any, semantics: Semantics) -> Any:
        from ._to_nir import to_nir

        return to_nir(model, semantics)


@contextlib.contextmanager
def _perturbed_memories(cls: type, amount: float = 1e-3) -> Iterator[None]:
    """Within the block, every call of ``cls.forward`` also leaves its memories and ``v_seq`` off by ``amount``."""
    from nirverse.testing.mutation import shift

    original = cls.__dict__.get("forward")
    inherited = cls.forward

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        out = shift(inherited(self, *args, **kwargs), amount)
        for name, value in list(self._memories.items()):
            self._memories[name] = shift(value, amount)
        if getattr(self, "v_seq", None) is not None:
            self.v_seq = shift(self.v_seq, amount)
        return out

    cls.forward = forward
    try:
        yield
    finally:
        if original is None:
            del cls.forward
        else:
            cls.forward = original


from_nir = make_from_nir(SpikingJellyBackend, doc="""The :class:`~nirverse_spikingjelly.SpikingJellyGraph` (a ``torch.nn.Module`` of SpikingJelly
    neurons and layers in multi-step mode) for ``graph`` under ``semantics``; raises ``Unsupported*Error``
    for what SpikingJelly cannot execute identically.""")
