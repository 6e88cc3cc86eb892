r"""The torch modules one NIR node becomes: a Sinabs neuron layer (with the input transformation of
:mod:`nirverse_sinabs._mapping`), a torch layer, or a small torch module.

Tensors are laid out ``(batch, time, *shape)``, Sinabs' own convention. Sinabs layers keep their state
in buffers (``v_mem``, ``i_syn``) across calls, so a node is either run over a whole sequence
(:meth:`Node.sequence`) or started (:meth:`Node.begin`) and then stepped (:meth:`Node.step`, one
time step of shape ``(batch, *shape)``). Every node keeps the validated NIR parameters it was built from
(``source``) and a copy of the native tensors derived from them, so that :func:`nirverse_sinabs.to_nir`
can return the very same numbers while the native ones are untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from nirverse.execution import delay_sequence

__all__ = ["Node", "Stateless", "Neuron", "DelayLine"]


class Node(torch.nn.Module):
    """One node of a :class:`~nirverse_sinabs.SinabsGraph`."""

    kind: str = "Pass"

    def __init__(self, kind: str, source: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.source = dict(source or {})
        self._snapshot: dict[str, torch.Tensor] = {}

    def native_tensors(self) -> dict[str, torch.Tensor]:
        """The native tensors the NIR parameters were mapped to (what export reads back)."""
        return {k: v for k, v in self.state_dict(keep_vars=True).items() if k not in ("layer.v_mem", "layer.i_syn")}

    def take_snapshot(self) -> None:
        self._snapshot = {k: v.detach().clone() for k, v in self.native_tensors().items()}

    def unchanged(self) -> bool:
        """Whether every native tensor still holds the numbers it was built with."""
        now = self.native_tensors()
        return set(now) == set(self._snapshot) and all(
            now[k].dtype == self._snapshot[k].dtype and torch.equal(now[k].detach(), self._snapshot[k]) for k in now
        )

    def begin(self, batch: int) -> None:
        """Reset the state before a run of ``batch`` samples."""

    def step(self, x: torch.Tensor) -> torch.Tensor:
        return self.sequence(x.unsqueeze(1))[0][:, 0]

    def recorded(self) -> dict[str, torch.Tensor]:
        return {}

    def sequence(self, x: torch.Tensor, record: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        raise NotImplementedError


class Stateless(Node):
    """A node whose output depends on the same step's input only: ``fn`` applied to (N, *shape)."""

    def __init__(self, kind: str, fn: torch.nn.Module, out_shape: tuple[int, ...], source=None) -> None:
        super().__init__(kind, source)
        self.fn = fn
        self.out_shape = tuple(out_shape)

    def step(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x).reshape(x.shape[0], *self.out_shape)

    def sequence(self, x, record=False):
        batch, steps = x.shape[:2]
        y = self.fn(x.reshape(batch * steps, *x.shape[2:]))
        return y.reshape(batch, steps, *self.out_shape), {}


def _maybe(value: np.ndarray | None, dtype: torch.dtype) -> torch.Tensor | None:
    return None if value is None else torch.as_tensor(np.asarray(value)).to(dtype)


class Neuron(Node):
    r"""One Sinabs neuron layer (``IAF``, ``LIF`` or ``ExpLeak``) fed with :math:`x' = g\,x + b_x`.

    The layer's membrane holds :math:`v - c` (``offset`` c), its current (Cuba nodes) :math:`r i + b`;
    the node emits the layer's spikes, or :math:`v` for the non-spiking nodes.
    """

    def __init__(self, kind: str, layer: torch.nn.Module, m, dtype: torch.dtype, source) -> None:
        super().__init__(kind, source)
        self.layer = layer
        for key in ("gain", "bias", "offset", "v0", "i0", "r", "b"):
            self.register_buffer(key if key != "bias" else "bias_", _maybe(getattr(m, key), dtype))
        self.dtype = dtype
        self.emit_v = not m.spiking
        self.state_names = ("v", "i") if m.alpha_syn is not None else ("v",)

    def native_tensors(self) -> dict[str, torch.Tensor]:
        out = super().native_tensors()
        subtract = getattr(self.layer.reset_fn, "subtract_value", None)
        if isinstance(subtract, torch.Tensor):  # MembraneSubtract keeps it outside the state dict
            out["layer.reset_fn.subtract_value"] = subtract
        return out

    def drive(self, x: torch.Tensor) -> torch.Tensor:
        if self.gain is not None:
            x = self.gain * x
        if self.bias_ is not None:
            x = x + self.bias_
        return x

    def begin(self, batch: int) -> None:
        layer = self.layer
        layer.v_mem = self.v0.expand(batch, *self.v0.shape).clone()
        if self.i0 is not None:
            layer.i_syn = self.i0.expand(batch, *self.i0.shape).clone()

    def _v(self, v_mem: torch.Tensor) -> torch.Tensor:
        return v_mem if self.offset is None else v_mem + self.offset

    def _i(self, i_syn: torch.Tensor) -> torch.Tensor:
        i = i_syn if self.b is None else i_syn - self.b
        return i if self.r is None else i / self.r

    def _out(self, y: torch.Tensor) -> torch.Tensor:
        # Sinabs' spike functions return float32 (`.float()`); the membrane output is v_s
        return self._v(y) if self.emit_v else y.to(self.dtype)

    def step(self, x: torch.Tensor) -> torch.Tensor:
        self.layer.record_states = False
        return self._out(self.layer(self.drive(x).unsqueeze(1))[:, 0])

    def recorded(self) -> dict[str, torch.Tensor]:
        out = {"v": self._v(self.layer.v_mem)}
        if "i" in self.state_names:
            out["i"] = self._i(self.layer.i_syn)
        return out

    def sequence(self, x, record=False):
        self.begin(x.shape[0])
        self.layer.record_states = record
        y = self._out(self.layer(self.drive(x)))
        if not record:
            return y, {}
        rec = self.layer.recordings
        traces = {"v": self._v(rec["v_mem"])}
        if "i" in self.state_names:
            traces["i"] = self._i(rec["i_syn"])
        return y, traces


class DelayLine(Node):
    r"""Delay: :math:`y_t = x_{t-k}` per element, :math:`k` = ``steps`` (zero before)."""

    def __init__(self, steps: np.ndarray, source) -> None:
        super().__init__("Delay", source)
        self.register_buffer("steps", torch.as_tensor(np.asarray(steps, dtype=np.int64)))
        self.depth = int(self.steps.max()) if self.steps.numel() else 0
        self._history: torch.Tensor | None = None

    def begin(self, batch: int) -> None:
        self._history = None

    def step(self, x: torch.Tensor) -> torch.Tensor:
        # history[j] = x_{t-j}
        past = self._history
        history = x.unsqueeze(0) if past is None else torch.cat([x.unsqueeze(0), past[: self.depth]], 0)
        if history.shape[0] < self.depth + 1:
            pad = torch.zeros((self.depth + 1 - history.shape[0], *x.shape), dtype=x.dtype, device=x.device)
            history = torch.cat([history, pad], 0)
        self._history = history
        return torch.gather(history, 0, self.steps.expand(1, *x.shape))[0]

    def sequence(self, x, record=False):
        return delay_sequence(x, self.steps.cpu(), time_axis=1), {}
