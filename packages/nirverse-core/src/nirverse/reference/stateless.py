r"""Stateless nodes: Affine, Linear, Scale, Threshold, Flatten, pass-throughs (Input, Output, inner ports).

Each operator maps an array ``x`` of shape ``(N, *in_shape)`` (N = any number of samples × steps) to
``(N, *out_shape)``:

* Affine :math:`y = W x + b`, Linear :math:`y = W x` (``W`` is out × in);
* Scale :math:`y = s \odot x`;
* Threshold :math:`y = 1[x > \theta]`;
* Flatten: a row-major reshape to the inferred output shape.
"""

from __future__ import annotations

import numpy as np

from .operator import StatelessOperator


class Identity(StatelessOperator):
    def apply(self, x: np.ndarray) -> np.ndarray:
        return x


class Affine(StatelessOperator):
    def __init__(self, weight: np.ndarray, bias: np.ndarray | None, dtype: np.dtype) -> None:
        self.weight_t = np.ascontiguousarray(weight.T, dtype=dtype)
        self.bias = None if bias is None else bias.astype(dtype)

    def apply(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.weight_t
        return y if self.bias is None else y + self.bias


class Scale(StatelessOperator):
    def __init__(self, scale: np.ndarray, dtype: np.dtype) -> None:
        self.scale = scale.astype(dtype)

    def apply(self, x: np.ndarray) -> np.ndarray:
        return x * self.scale


class Threshold(StatelessOperator):
    def __init__(self, threshold: np.ndarray, dtype: np.dtype) -> None:
        self.threshold = threshold.astype(dtype)
        self.dtype = dtype

    #: also record ``u``, the input compared with the threshold (for margin checks)
    keep_pre_reset = False

    def apply(self, x: np.ndarray) -> np.ndarray:
        return (x > self.threshold).astype(self.dtype)

    def step(self, x: np.ndarray, state):
        return self.apply(x), ({"u": x} if self.keep_pre_reset else state)

    def recorded(self, state) -> dict[str, np.ndarray]:
        return state or {}

    def sequence(self, x: np.ndarray, record: bool = False):
        y, _ = super().sequence(x, record)
        return y, ({"u": x} if record and self.keep_pre_reset else {})


class Reshape(StatelessOperator):
    """Flatten: row-major reshape of each sample to ``out_shape``."""

    def __init__(self, out_shape: tuple[int, ...]) -> None:
        self.out_shape = out_shape

    def apply(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(x.shape[0], *self.out_shape)
