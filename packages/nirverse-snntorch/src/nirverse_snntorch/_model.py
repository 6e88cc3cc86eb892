r"""The native model: a ``torch.nn.Module`` that executes a :class:`nirverse.Plan` with snnTorch neurons.

Scheduling and stepping are the core executor's (:func:`nirverse.execution.execute`: groups in plan
order, delayed edges, cycles stepped jointly); this module supplies one operator per node: torch layers
run over time × batch in one call, an snnTorch neuron steps through time. Tensors are time-major
inside, ``(time, batch, *shape)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from nirverse.execution import execute
from torch import nn

from ._from_nir import DelayOp, SnnNeuron, build_module

__all__ = ["SnnTorchNetwork"]

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


class SnnTorchNetwork(nn.Module):
    """A NIR graph as snnTorch neurons and torch layers, executed under the plan's semantics.

    ``forward(inputs)`` takes ``{input name: (batch, time, *shape)}`` (or one tensor for a graph with
    one Input) and returns ``{output name: (batch, time, *shape)}``; :meth:`run` also returns the
    neurons' states. ``layers[i]`` is the module of node ``node_names[i]``.
    """

    def __init__(self, plan, dtype: str = "float64") -> None:
        super().__init__()
        self.plan = plan
        self.semantics = plan.semantics
        self.dtype = _DTYPES[dtype]
        self.node_names = tuple(plan.order)
        self.layers = nn.ModuleList(build_module(plan, n, self.dtype) for n in self.node_names)
        self.inputs = tuple(plan.inputs)
        self.outputs = tuple(plan.outputs)
        self._operators = {
            n: _operator(layer, plan.in_shapes[n], self.dtype) for n, layer in zip(self.node_names, self.layers)
        }

    # -- execution -------------------------------------------------------------------------------
    def forward(self, inputs) -> dict[str, torch.Tensor]:
        return self.run(inputs, record=False)[0]

    def run(self, inputs, record: bool = False):
        """Outputs and (if ``record``) states ``{node: {"v", "i"}}``, all ``(batch, time, *shape)``.

        Differentiable (snnTorch's surrogate gradients apply); wrap in ``torch.no_grad()`` for inference.
        """
        if not isinstance(inputs, Mapping):
            if len(self.inputs) != 1:
                raise ValueError(f"this network has {len(self.inputs)} inputs {list(self.inputs)}: pass a dict")
            inputs = {self.inputs[0]: inputs}
        values = {n: torch.as_tensor(inputs[n]).to(self.dtype).transpose(0, 1) for n in self.inputs}
        values, states = execute(self.plan, self._operators, values, dtype=self.dtype, time_axis=0, record=record)
        outputs = {n: values[n].transpose(0, 1) for n in self.outputs}
        recorded = {n: {k: v.transpose(0, 1) for k, v in s.items()} for n, s in states.items()}
        return outputs, recorded


class _NeuronOperator:
    """The executor's operator for an snnTorch neuron; the state also keeps the last two spikes,
    so ``recorded`` gives ``v`` (and ``i``) per step exactly as :meth:`SnnNeuron.traces` does."""

    def __init__(self, layer: SnnNeuron) -> None:
        self.layer = layer

    def init_state(self, batch: int) -> tuple:
        inner = self.layer.init_state(batch)
        zero = torch.zeros_like(self.layer.mem_of(inner))
        return inner, zero, zero

    def step(self, x: torch.Tensor, state: tuple) -> tuple[torch.Tensor, tuple]:
        inner, spk, _ = state
        y, inner = self.layer.step(self.layer.drive(x), inner)
        return y, (inner, y if self.layer.spiking else torch.zeros_like(y), spk)

    def recorded(self, state: tuple) -> dict[str, torch.Tensor]:
        inner, spk, prev = state
        out = {"v": self.layer.v(self.layer.mem_of(inner), spk)}
        if self.layer.cuba:
            out["i"] = self.layer.i(inner[0], prev)
        return out

    def sequence(self, x: torch.Tensor, record: bool = False):
        return self.layer.sequence(x, record)


class _DelayOperator:
    """The executor's operator for a :class:`DelayOp` (per-element delay line)."""

    def __init__(self, layer: DelayOp, in_shape: tuple[int, ...], dtype: torch.dtype) -> None:
        self.layer, self.in_shape, self.dtype = layer, in_shape, dtype

    def init_state(self, batch: int) -> torch.Tensor:
        return self.layer.init_state(torch.zeros((batch, *self.in_shape), dtype=self.dtype))

    def step(self, x: torch.Tensor, state: torch.Tensor):
        return self.layer.step(x, state)

    def recorded(self, state) -> dict:
        return {}

    def sequence(self, x: torch.Tensor, record: bool = False):
        return self.layer.sequence(x), {}


class _LayerOperator:
    """The executor's operator for a stateless torch layer, run over time × batch in one call."""

    def __init__(self, layer: nn.Module) -> None:
        self.layer = layer
        self.identity = isinstance(layer, nn.Identity)

    def init_state(self, batch: int) -> None:
        return None

    def step(self, x: torch.Tensor, state: None):
        return (x if self.identity else self.layer(x)), state

    def recorded(self, state) -> dict:
        return {}

    def sequence(self, x: torch.Tensor, record: bool = False):
        if self.identity:
            return x, {}
        T, B = x.shape[:2]
        y = self.layer(x.reshape(T * B, *x.shape[2:]))
        return y.reshape(T, B, *y.shape[1:]), {}


def _operator(layer: nn.Module, in_shape: tuple[int, ...], dtype: torch.dtype):
    if isinstance(layer, SnnNeuron):
        return _NeuronOperator(layer)
    if isinstance(layer, DelayOp):
        return _DelayOperator(layer, in_shape, dtype)
    return _LayerOperator(layer)
