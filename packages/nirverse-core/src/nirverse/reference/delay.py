r"""Delay: :math:`y_t = x_{t-k}` per element with :math:`k = \mathrm{round}(\text{delay}/\Delta t)`, zero before."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..execution import delay_sequence
from .operator import Operator


class Delay(Operator):
    def __init__(self, steps: np.ndarray, dtype: np.dtype) -> None:
        self.steps = steps.astype(np.int64)
        self.depth = int(self.steps.max(initial=0))
        self.dtype = dtype

    def init(self, batch: int) -> dict[str, Any]:
        # ring buffer: history[j] holds x_{t-j} once step t has been written
        return {"history": np.zeros((self.depth + 1, batch, *self.steps.shape), self.dtype), "t": 0}

    def step(self, x: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, Any]:
        history = np.roll(state["history"], 1, axis=0)
        history[0] = x
        y = np.take_along_axis(history, self.steps[None, None].repeat(x.shape[0], axis=1), axis=0)[0]
        return y, {"history": history, "t": state["t"] + 1}

    def sequence(self, x: np.ndarray, record: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return delay_sequence(x, self.steps, time_axis=1), {}
