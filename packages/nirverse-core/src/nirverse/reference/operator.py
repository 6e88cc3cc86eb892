"""The operator interface of the reference simulator.

An operator advances one node by one step (:meth:`Operator.step`) or runs a whole input sequence at
once (:meth:`Operator.sequence`) when the node is not part of a cycle. Both paths compute the same
numbers; the sequence path only removes per-step Python overhead where the node's input is already
known for every step.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Operator:
    """One node. ``state`` is whatever :meth:`init` returns; arrays carry a leading batch axis."""

    #: names of the recorded state variables ("v", "i") of neuron nodes
    state_names: tuple[str, ...] = ()

    def init(self, batch: int) -> Any:
        return None

    def init_state(self, batch: int) -> Any:
        """The executor's name for :meth:`init` (:class:`nirverse.execution.NodeOperator`)."""
        return self.init(batch)

    def step(self, x: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def recorded(self, state: Any) -> dict[str, np.ndarray]:
        return {}

    def sequence(self, x: np.ndarray, record: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Run over ``x`` of shape (batch, time, *shape); returns the outputs and the recorded states."""
        batch, steps = x.shape[:2]
        state = self.init(batch)
        ys = None
        traces: dict[str, np.ndarray] = {}
        for t in range(steps):
            y, state = self.step(x[:, t], state)
            if ys is None:
                ys = np.empty((batch, steps, *y.shape[1:]), dtype=y.dtype)
                if record:
                    traces = {k: np.empty((batch, steps, *v.shape[1:]), dtype=v.dtype) for k, v in self.recorded(state).items()}
            ys[:, t] = y
            if record:
                for k, v in self.recorded(state).items():
                    traces[k][:, t] = v
        if ys is None:  # zero time steps
            ys = np.empty((batch, 0) + x.shape[2:], dtype=x.dtype)
            if record:
                traces = {k: np.empty((batch, 0, *v.shape[1:]), x.dtype) for k, v in self.recorded(state).items()}
        return ys, traces


class StatelessOperator(Operator):
    """A node whose output depends on its input of the same step only: vectorised over time."""

    def apply(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def step(self, x: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        return self.apply(x), state

    def sequence(self, x: np.ndarray, record: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        batch, steps = x.shape[:2]
        y = self.apply(x.reshape(batch * steps, *x.shape[2:]))
        return y.reshape(batch, steps, *y.shape[1:]), {}
