r"""The torch modules one NIR node becomes: SpikingJelly neurons and layers in multi-step mode
(``step_mode="m"``), fed ``(time, batch, *shape)`` chunks.

Every node is driven the same way: :meth:`Node.start` puts its SpikingJelly modules at rest for a batch,
then :meth:`Node.chunk` advances them over a chunk of steps, continuing from where the previous chunk
stopped (SpikingJelly keeps the state in its modules' memories). A node outside a cycle gets its whole
sequence as one chunk; the nodes of a cycle get one step at a time. Each node keeps the validated NIR
parameters it was built from (``source``) and a snapshot of its native tensors, so that
:func:`nirverse_spikingjelly.to_nir` can return the very same numbers while nothing was changed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from spikingjelly.activation_based import surrogate

__all__ = ["Node", "Stateless", "Population", "Cuba", "DelayLine", "Scale", "Threshold"]


class Node(torch.nn.Module):
    """One node of a :class:`~nirverse_spikingjelly.SpikingJellyGraph`."""

    kind: str = "Pass"
    state_names: tuple[str, ...] = ()

    def __init__(self, kind: str, source: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.source = dict(source or {})
        self._snapshot: dict[str, torch.Tensor] = {}

    def native_tensors(self) -> dict[str, torch.Tensor]:
        """The tensors (weights, per-neuron scalars) the NIR parameters were mapped to."""
        return {k: v for k, v in self.state_dict(keep_vars=True).items() if isinstance(v, torch.Tensor)}

    def take_snapshot(self) -> None:
        self._snapshot = {k: v.detach().clone() for k, v in self.native_tensors().items()}

    def unchanged(self) -> bool:
        """Whether every native tensor still holds the numbers it was built with."""
        now = self.native_tensors()
        return set(now) == set(self._snapshot) and all(
            now[k].dtype == self._snapshot[k].dtype and torch.equal(now[k].detach(), self._snapshot[k]) for k in now
        )

    def start(self, batch: int, dtype: torch.dtype, record: bool) -> None:
        """Put the node's state at rest for ``batch`` samples."""

    def chunk(self, x: torch.Tensor, record: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Advance over ``x`` (steps, batch, *shape); the output and, if ``record``, the states."""
        raise NotImplementedError


class Stateless(Node):
    """A SpikingJelly (or torch) layer applied to every step: ``fn`` on (steps, batch, *shape)."""

    def __init__(self, kind: str, fn: torch.nn.Module, out_shape: tuple[int, ...], source=None) -> None:
        super().__init__(kind, source)
        self.fn = fn
        self.out_shape = tuple(out_shape)

    def chunk(self, x, record):
        steps, batch = x.shape[:2]
        return self.fn(x).reshape(steps, batch, *self.out_shape), {}


class Scale(torch.nn.Module):
    """NIR Scale: :math:`y = s \\odot x` (SpikingJelly has no such layer)."""

    def __init__(self, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("scale", scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class Threshold(torch.nn.Module):
    """NIR Threshold with SpikingJelly's spike function: ``surrogate.heaviside(x − θ_sj)`` = 1[x ≥ θ_sj]
    = 1[x > θ] (θ_sj is the next float above θ)."""

    def __init__(self, threshold: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("threshold", threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return surrogate.heaviside(x - self.threshold)


def _flat(t: torch.Tensor | None, idx: torch.Tensor | None) -> torch.Tensor | None:
    if t is None or idx is None:
        return t
    return t.reshape(-1)[idx]


class _Populations(Node):
    """Shared machinery: SpikingJelly populations over groups of a node's neurons (flat indices)."""

    def __init__(self, kind, modules, indices, gain, bias, shape, source) -> None:
        super().__init__(kind, source)
        self.pops = torch.nn.ModuleList(modules)
        self.indices = [None if i is None else torch.as_tensor(i, dtype=torch.long) for i in indices]
        self.register_buffer("gain", gain)
        self.register_buffer("bias", bias)
        self.shape = tuple(shape)

    _SCALARS = ("tau", "decay_input", "v_threshold", "v_reset", "c_decay", "v_decay", "delay_steps")

    def native_tensors(self) -> dict[str, torch.Tensor]:
        """Buffers plus the populations' scalar parameters (SpikingJelly keeps those as Python floats)."""
        out = super().native_tensors()
        for i, pop in enumerate(self.pops):
            for attr in self._SCALARS:
                if hasattr(pop, attr):
                    value = getattr(pop, attr)
                    # None (soft reset) as an empty tensor: NaN would never compare equal to itself
                    out[f"pops.{i}.{attr}"] = torch.tensor([] if value is None else float(value), dtype=torch.float64)
        return out

    def drive(self, x: torch.Tensor) -> torch.Tensor:
        if self.gain is not None:
            x = x * self.gain
        return x if self.bias is None else x + self.bias

    def split(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Per population: its neurons' slice of ``x`` (steps or batch first, then the neurons)."""
        if self.indices[0] is None:
            return [x]
        flat = x.reshape(*x.shape[: x.dim() - len(self.shape)], -1)
        return [flat[..., i] for i in self.indices]

    def merge(self, parts: list[torch.Tensor], like: torch.Tensor) -> torch.Tensor:
        if self.indices[0] is None:
            return parts[0]
        out = like.new_empty(*like.shape[: like.dim() - len(self.shape)], math.prod(self.shape))
        for i, part in zip(self.indices, parts):
            out[..., i] = part
        return out.reshape(like.shape)


class Population(_Populations):
    """IF / LIF / I / LI: ``IFNode`` or ``LIFNode`` populations fed ``gain ⊙ x + bias``; I and LI emit the
    membrane (``v_seq``), IF and LIF the spikes."""

    state_names = ("v",)

    def __init__(self, kind, modules, indices, gain, bias, v0, emit_v, source) -> None:
        super().__init__(kind, modules, indices, gain, bias, v0.shape, source)
        self.register_buffer("v0", v0)
        self.emit_v = emit_v

    def start(self, batch, dtype, record):
        v0 = self.v0.to(dtype).expand(batch, *self.shape)
        for pop, v in zip(self.pops, self.split(v0)):
            pop.store_v_seq = record or self.emit_v
            pop.v = v.clone()

    def chunk(self, x, record):
        parts = [pop(part) for pop, part in zip(self.pops, self.split(self.drive(x)))]
        spikes = self.merge(parts, x)
        if not (record or self.emit_v):
            return spikes, {}
        v = self.merge([pop.v_seq for pop in self.pops], x)
        return (v if self.emit_v else spikes), ({"v": v} if record else {})


class Cuba(_Populations):
    """CubaLI / CubaLIF: ``CUBALIFNode`` populations, the current stored as :math:`c = a i + b`
    (``c_scale`` = a, ``c0`` = b; a = 1, b = 0 when ``c_scale`` is None)."""

    state_names = ("v", "i")

    def __init__(self, kind, modules, indices, gain, bias, v0, c0, c_scale, emit_v, source) -> None:
        super().__init__(kind, modules, indices, gain, bias, v0.shape, source)
        self.register_buffer("v0", v0)
        self.register_buffer("c0", c0)
        self.register_buffer("c_scale", c_scale)
        self.emit_v = emit_v

    def start(self, batch, dtype, record):
        v0, c0 = (t.to(dtype).expand(batch, *self.shape) for t in (self.v0, self.c0))
        for pop, v, c in zip(self.pops, self.split(v0), self.split(c0)):
            pop.v, pop.c = v.clone(), c.clone()

    def _current(self, c: torch.Tensor) -> torch.Tensor:
        return c if self.c_scale is None else (c - self.c0) / self.c_scale

    def chunk(self, x, record):
        x = self.drive(x)
        if not (record or self.emit_v):
            return self.merge([pop(part) for pop, part in zip(self.pops, self.split(x))], x), {}
        ys, vs, cs = [], [], []
        for t in range(x.shape[0]):  # CUBALIFNode records no sequence: step and read v, c
            parts = self.split(x[t : t + 1])
            ys.append(self.merge([pop(part) for pop, part in zip(self.pops, parts)], x[t : t + 1]))
            vs.append(self.merge([pop.v.unsqueeze(0) for pop in self.pops], x[t : t + 1]))
            cs.append(self.merge([pop.c.unsqueeze(0) for pop in self.pops], x[t : t + 1]))
        v = torch.cat(vs)
        out = v if self.emit_v else torch.cat(ys)
        return out, ({"v": v, "i": self._current(torch.cat(cs))} if record else {})


class DelayLine(_Populations):
    r"""Delay: ``layer.Delay(k)`` per distinct k, :math:`y_t = x_{t-k}` (zeros before)."""

    def __init__(self, modules, indices, shape, source) -> None:
        super().__init__("Delay", modules, indices, None, None, shape, source)

    def start(self, batch, dtype, record):
        for pop in self.pops:
            pop.reset()

    def chunk(self, x, record):
        return self.merge([pop(part) for pop, part in zip(self.pops, self.split(x))], x), {}
