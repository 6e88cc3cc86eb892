r"""Conv1d/Conv2d and Sum/AvgPool2d as Nengo transforms.

``nengo.Convolution`` (``nengo/transforms.py``, computed by ``nengo/builder/transforms.py::conv2d``
and ``conv2d_groups``) is a cross-correlation with TensorFlow padding: ``"valid"``, or ``"same"``
with output size ``ceil(n/s)`` and ``calc_pad`` total ``max((out-1) s + k - n, 0)``, of which
``floor(total/2)`` goes before. PyTorch's explicit padding ``(lo, hi)`` reads the same windows when
the output sizes agree and ``lo`` equals Nengo's leading pad (padding after the last window is never
read). Kernel layout: NIR ``(C_out, C_in/groups, *K)`` -> Nengo ``(*K, C_in/groups, C_out)``.

Where the windows differ (asymmetric/odd pads, dilation != 1), the same linear map is a
``nengo.Sparse`` matrix: ``y[o, p] = sum_{c, k} W[o, c, k] x[c, s p + d k - lo]`` over in-range taps.
Pools are depthwise convolutions (``groups = C``) with a kernel of ones (SumPool2d) or
``1/(kh kw)`` (AvgPool2d, padding counted as in PyTorch).
"""

from __future__ import annotations

import math

import nengo
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["conv_transform", "pool_transform", "nengo_padding"]


def nengo_padding(n_in, kernel, stride, dilation, pads, out) -> str | None:
    """``"valid"``/``"same"`` when Nengo's padding reads exactly PyTorch's windows, else None."""
    if any(d != 1 for d in dilation):
        return None
    if all(lo == 0 for lo, _ in pads) and all(
        o == (n - k) // s + 1 for n, k, s, o in zip(n_in, kernel, stride, out, strict=True)
    ):
        return "valid"
    for n, k, s, (lo, _), o in zip(n_in, kernel, stride, pads, out, strict=True):
        same_out = -(-n // s)
        total = max((same_out - 1) * s + k - n, 0)
        if same_out != o or total // 2 != lo:
            return None
    return "same"


def _sparse(weight, groups, stride, dilation, pads, in_shape, out_shape) -> nengo.Sparse:
    """The cross-correlation as a sparse (out x in) matrix; taps on padding are dropped."""
    dims = weight.ndim - 2
    c_in = in_shape[0]
    index = np.arange(math.prod(in_shape)).reshape(in_shape)
    index = np.pad(index, [(0, 0)] + list(pads), constant_values=-1)
    kernel = weight.shape[2:]
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    win = sliding_window_view(index, span, axis=tuple(range(1, 1 + dims)))
    win = win[
        (slice(None),) + tuple(slice(None, None, s) for s in stride) + tuple(slice(None, None, d) for d in dilation)
    ]
    win = win[(slice(None),) + tuple(slice(0, o) for o in out_shape[1:])]  # (C_in, *out, *K)
    c_out = weight.shape[0]
    per_group_in, per_group_out = c_in // groups, c_out // groups
    out_size = math.prod(out_shape[1:])
    rows, cols, vals = [], [], []
    for o in range(c_out):
        g = o // per_group_out
        taps = win[g * per_group_in : (g + 1) * per_group_in]  # (C_g, *out, *K)
        w = weight[o][(slice(None),) + (None,) * dims]  # (C_g, 1.., *K)
        w = np.broadcast_to(w, taps.shape)
        row = np.broadcast_to(
            (o * out_size + np.arange(out_size).reshape(out_shape[1:]))[(None,) + (Ellipsis,) + (None,) * dims],
            taps.shape,
        )
        keep = taps >= 0
        rows.append(row[keep])
        cols.append(taps[keep])
        vals.append(w[keep])
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    order = np.lexsort((cols, rows))
    return nengo.Sparse(
        (c_out * out_size, math.prod(in_shape)), indices=np.stack([rows[order], cols[order]], axis=1), init=vals[order]
    )


def _transform(weight, groups, stride, dilation, pads, in_shape, out_shape):
    dims = weight.ndim - 2
    padding = nengo_padding(in_shape[1:], weight.shape[2:], stride, dilation, pads, out_shape[1:])
    if padding is None:
        return _sparse(weight, groups, stride, dilation, pads, in_shape, out_shape)
    init = np.transpose(weight, tuple(range(2, 2 + dims)) + (1, 0))
    return nengo.Convolution(
        weight.shape[0],
        tuple(in_shape),
        kernel_size=tuple(weight.shape[2:]),
        strides=tuple(stride),
        padding=padding,
        channels_last=False,
        init=init,
        groups=groups,
    )


def conv_transform(p: dict, in_shape: tuple, out_shape: tuple):
    """Conv1d/Conv2d weight, stride, dilation, groups, pads -> Convolution or Sparse."""
    return _transform(p["weight"], p["groups"], p["stride"], p["dilation"], p["pads"], in_shape, out_shape)


def pool_transform(kind: str, p: dict, in_shape: tuple, out_shape: tuple):
    """SumPool2d/AvgPool2d -> depthwise Convolution (or Sparse) with a constant kernel."""
    kh, kw = p["kernel_size"]
    value = 1.0 / (kh * kw) if kind == "AvgPool2d" else 1.0
    channels = in_shape[0]
    weight = np.full((channels, 1, kh, kw), value)
    pads = tuple((q, q) for q in p["padding"])
    return _transform(weight, channels, p["stride"], (1, 1), pads, in_shape, out_shape)
