r"""The torch modules one NIR node becomes: each wraps Norse cells (or a torch layer) and knows how to
advance one step (:meth:`Node.step`) or a whole sequence (:meth:`Node.sequence`, time first).

Tensors are laid out ``(time, batch, *shape)`` for sequences and ``(batch, *shape)`` for one step,
Norse's own convention. Every node keeps the validated NIR parameters it was built from
(``source``) and a copy of the native tensors it derived from them, so that
:func:`nirverse_norse.to_nir` can return the very same numbers while the native ones are untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from nirverse.execution import delay_sequence

__all__ = ["Node", "Stateless", "Cell", "Cuba", "DelayLine"]


class Node(torch.nn.Module):
    """One node of a :class:`~nirverse_norse.NorseGraph`."""

    #: NIR class name of the node this module was built from
    kind: str = "Pass"
    #: recorded state variables ("v", and "i" for the Cuba nodes)
    state_names: tuple[str, ...] = ()

    def __init__(self, kind: str, source: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.source = dict(source or {})
        self._snapshot: dict[str, torch.Tensor] = {}

    # -- bookkeeping for the exact export ---------------------------------------------------
    def native_tensors(self) -> dict[str, torch.Tensor]:
        """The native tensors the NIR parameters were mapped to (what export reads back)."""
        return {}

    def take_snapshot(self) -> None:
        self._snapshot = {k: v.detach().clone() for k, v in self.native_tensors().items()}

    def unchanged(self) -> bool:
        """Whether every native tensor still holds the numbers it was built with."""
        now = self.native_tensors()
        return set(now) == set(self._snapshot) and all(
            now[k].dtype == self._snapshot[k].dtype and torch.equal(now[k].detach(), self._snapshot[k])
            for k in now
        )

    # -- execution --------------------------------------------------------------------------
    def init_state(self, batch: int) -> Any:
        return None

    def step(self, x: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        raise NotImplementedError

    def recorded(self, state: Any) -> dict[str, torch.Tensor]:
        return {}

    def sequence(self, x: torch.Tensor, record: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Run over ``x`` (time, batch, *shape); return the outputs and, if ``record``, the states."""
        steps, batch = x.shape[:2]
        state = self.init_state(batch)
        ys: list[torch.Tensor] = []
        traces: dict[str, list[torch.Tensor]] = {}
        for t in range(steps):
            y, state = self.step(x[t], state)
            ys.append(y)
            if record:
                for k, v in self.recorded(state).items():
                    traces.setdefault(k, []).append(v)
        if not ys:
            return x, {}
        return torch.stack(ys), {k: torch.stack(v) for k, v in traces.items()}


class Stateless(Node):
    """A node whose output depends on the same step's input only: ``fn`` applied to (N, *shape)."""

    def __init__(self, kind: str, fn: torch.nn.Module, out_shape: tuple[int, ...], source=None) -> None:
        super().__init__(kind, source)
        self.fn = fn
        self.out_shape = tuple(out_shape)
        #: Affine/Linear: the next neuron's input gain its rows were multiplied by (None: not folded)
        self.fold: torch.Tensor | None = None

    def native_tensors(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.fn.state_dict(keep_vars=True).items()}

    def step(self, x: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        return self.fn(x).reshape(x.shape[0], *self.out_shape), state

    def sequence(self, x: torch.Tensor, record: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        steps, batch = x.shape[:2]
        y = self.fn(x.reshape(steps * batch, *x.shape[2:]))
        return y.reshape(steps, batch, *self.out_shape), {}


def _gain(x: torch.Tensor, gain: torch.Tensor | None) -> torch.Tensor:
    return x if gain is None else gain * x


class Cell(Node):
    r"""One Norse cell fed with ``gain ⊙ x``: LIF, LI, IF, I.

    ``emit_v``: the node's output is the membrane (LI, I) instead of the cell's spikes. ``v0`` is the
    membrane at rest; the state class is the cell's own feed-forward state.
    """

    state_names = ("v",)
    #: the gain is folded into the weights of the Affine/Linear before (kept here for the export only)
    folded = False

    def __init__(self, kind, cell, gain, v0, state_cls, emit_v, source) -> None:
        super().__init__(kind, source)
        self.cell = cell
        self.register_buffer("gain", gain)
        self.register_buffer("v0", v0)
        self.state_cls = state_cls
        self.emit_v = emit_v

    def native_tensors(self) -> dict[str, torch.Tensor]:
        out = {"p." + k: v for k, v in self.cell.p._asdict().items() if isinstance(v, torch.Tensor)}
        if self.gain is not None:
            out["gain"] = self.gain
        return out

    def init_state(self, batch: int) -> Any:
        return self.state_cls(v=self.v0.expand(batch, *self.v0.shape).clone())

    def step(self, x, state):
        z, state = self.cell(x if self.folded else _gain(x, self.gain), state)
        return (state.v if self.emit_v else z), state

    def recorded(self, state):
        return {"v": state.v}

    def sequence(self, x, record=False):
        # the input gain is applied to the whole sequence at once; the cell steps through time
        x = x if self.folded else _gain(x, self.gain)
        steps, batch = x.shape[:2]
        state = self.init_state(batch)
        cell, emit_v = self.cell, self.emit_v
        ys, vs = [], []
        for t in range(steps):
            z, state = cell(x[t], state)
            ys.append(state.v if emit_v else z)
            if record:
                vs.append(state.v)
        if not ys:
            return x, {}
        return torch.stack(ys), ({"v": torch.stack(vs)} if record else {})


class Cuba(Node):
    r"""CubaLI / CubaLIF: a Norse ``LIBoxCell`` synapse fed with ``w_in ⊙ x``, whose state is the current
    :math:`i_t`, then the membrane cell (``LIBoxCell`` / ``LIFBoxCell``) fed with ``r ⊙ i_t``."""

    state_names = ("v", "i")

    def __init__(self, kind, synapse, w_in, membrane, r, v0, syn_state_cls, mem_state_cls, emit_v, source) -> None:
        super().__init__(kind, source)
        self.synapse = synapse
        self.membrane = membrane
        self.register_buffer("w_in", w_in)
        self.register_buffer("r", r)
        self.register_buffer("v0", v0)
        self.syn_state_cls = syn_state_cls
        self.mem_state_cls = mem_state_cls
        self.emit_v = emit_v

    def native_tensors(self) -> dict[str, torch.Tensor]:
        out = {"syn." + k: v for k, v in self.synapse.p._asdict().items() if isinstance(v, torch.Tensor)}
        out.update({"mem." + k: v for k, v in self.membrane.p._asdict().items() if isinstance(v, torch.Tensor)})
        for name in ("w_in", "r"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out

    def init_state(self, batch: int) -> Any:
        shape = (batch, *self.v0.shape)
        return (
            self.syn_state_cls(v=torch.zeros(shape, dtype=self.v0.dtype, device=self.v0.device)),
            self.mem_state_cls(v=self.v0.expand(shape).clone()),
        )

    def step(self, x, state):
        syn_state, mem_state = state
        i, syn_state = self.synapse(_gain(x, self.w_in), syn_state)
        z, mem_state = self.membrane(_gain(i, self.r), mem_state)
        return (mem_state.v if self.emit_v else z), (syn_state, mem_state)

    def recorded(self, state):
        return {"v": state[1].v, "i": state[0].v}

    def sequence(self, x, record=False):
        x = _gain(x, self.w_in)
        steps, batch = x.shape[:2]
        syn_state, mem_state = self.init_state(batch)
        synapse, membrane, r, emit_v = self.synapse, self.membrane, self.r, self.emit_v
        ys, vs, cs = [], [], []
        for t in range(steps):
            i, syn_state = synapse(x[t], syn_state)
            z, mem_state = membrane(_gain(i, r), mem_state)
            ys.append(mem_state.v if emit_v else z)
            if record:
                vs.append(mem_state.v)
                cs.append(syn_state.v)
        if not ys:
            return x, {}
        return torch.stack(ys), ({"v": torch.stack(vs), "i": torch.stack(cs)} if record else {})


class DelayLine(Node):
    r"""Delay: :math:`y_t = x_{t-k}` per element, :math:`k` = ``steps`` (zero before)."""

    def __init__(self, steps: np.ndarray, source) -> None:
        super().__init__("Delay", source)
        self.register_buffer("steps", torch.as_tensor(np.asarray(steps, dtype=np.int64)))
        self.depth = int(self.steps.max()) if self.steps.numel() else 0

    def init_state(self, batch: int) -> Any:
        return None

    def step(self, x, state):
        # history[j] = x_{t-j}
        history = x.unsqueeze(0) if state is None else torch.cat([x.unsqueeze(0), state[: self.depth]], 0)
        if history.shape[0] < self.depth + 1:
            pad = torch.zeros((self.depth + 1 - history.shape[0], *x.shape), dtype=x.dtype, device=x.device)
            history = torch.cat([history, pad], 0)
        index = self.steps.expand(1, *x.shape)
        return torch.gather(history, 0, index)[0], history

    def sequence(self, x, record=False):
        return delay_sequence(x, self.steps.cpu(), time_axis=0), {}
