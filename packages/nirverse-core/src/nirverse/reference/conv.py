r"""Convolution and pooling, with PyTorch's definitions.

Conv (cross-correlation), for output channel :math:`o` in group :math:`g`:

.. math:: y_{o,\mathbf{p}} = b_o + \sum_{c \in g} \sum_{\mathbf{k}} W_{o,c,\mathbf{k}}\,
          \tilde x_{c,\, s\mathbf{p} + d\mathbf{k}}

with :math:`\tilde x` the zero-padded input, stride :math:`s`, dilation :math:`d`. SumPool2d sums each
``kernel_size`` window of the zero-padded input; AvgPool2d divides that sum by the window size
(padding counted, PyTorch's ``count_include_pad=True``).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .operator import StatelessOperator


def _windows(x: np.ndarray, kernel, stride, dilation, pads) -> np.ndarray:
    """Zero-pad the trailing ``len(kernel)`` axes of ``x`` and return the strided, dilated windows:
    shape ``x.shape[:-d] + out_spatial + kernel``."""
    dims = len(kernel)
    if any(lo or hi for lo, hi in pads):
        x = np.pad(x, [(0, 0)] * (x.ndim - dims) + list(pads))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    win = sliding_window_view(x, span, axis=tuple(range(x.ndim - dims, x.ndim)))
    # windows axes: (..., out_1..out_d, span_1..span_d); stride the outs, dilate the spans
    lead = win.ndim - 2 * dims
    index = (slice(None),) * lead + tuple(slice(None, None, s) for s in stride) + tuple(
        slice(None, None, d) for d in dilation
    )
    return win[index]


class Conv(StatelessOperator):
    """Conv1d / Conv2d on ``(N, C_in, *spatial)``."""

    def __init__(self, weight, bias, stride, dilation, groups, pads, dtype) -> None:
        self.dims = weight.ndim - 2
        self.groups = groups
        c_out = weight.shape[0]
        self.weight = weight.astype(dtype).reshape(groups, c_out // groups, *weight.shape[1:])
        self.bias = bias.astype(dtype)
        self.stride, self.dilation, self.pads = stride, dilation, pads
        self.kernel = weight.shape[2:]

    def apply(self, x: np.ndarray) -> np.ndarray:
        n, c_in = x.shape[:2]
        win = _windows(x, self.kernel, self.stride, self.dilation, self.pads)
        spatial = win.shape[2 : 2 + self.dims]
        win = win.reshape(n, self.groups, c_in // self.groups, *spatial, *self.kernel)
        d = self.dims
        # contract (channel-in-group, kernel axes) of the windows with the group's weights
        win_axes = [2] + list(range(3 + d, 3 + 2 * d))
        w_axes = [2] + list(range(3, 3 + d))
        outs = [
            np.tensordot(win[:, g], self.weight[g], axes=([a - 1 for a in win_axes], [a - 1 for a in w_axes]))
            for g in range(self.groups)
        ]
        # each: (n, *spatial, c_out_per_group) -> (n, c_out, *spatial)
        y = np.concatenate(outs, axis=-1)
        y = np.moveaxis(y, -1, 1)
        bias_shape = (1, -1) + (1,) * d
        return np.ascontiguousarray(y + self.bias.reshape(bias_shape))


class Pool2d(StatelessOperator):
    """SumPool2d (``average=False``) or AvgPool2d (``average=True``) on ``(N, C, H, W)``."""

    def __init__(self, kernel_size, stride, padding, average: bool) -> None:
        self.kernel = tuple(kernel_size)
        self.stride = tuple(stride)
        self.pads = tuple((p, p) for p in padding)
        self.average = average

    def apply(self, x: np.ndarray) -> np.ndarray:
        win = _windows(x, self.kernel, self.stride, (1, 1), self.pads)
        y = win.sum(axis=(-2, -1))
        if self.average:
            y = y / (self.kernel[0] * self.kernel[1])
        return np.ascontiguousarray(y)
