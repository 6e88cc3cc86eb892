r"""Spyx conv layers -> NIR: Spyx (NNX) runs channels-last (B, H, W, C), NIR is channels-first (C, H, W).

================  =========================================================================================
Spyx layer        NIR
================  =========================================================================================
``nnx.Conv``      Conv1d / Conv2d: weight = kernel ``(*k, in/groups, out)`` moved to ``(out, in/groups, *k)``,
                  bias, strides, ``kernel_dilation``, ``feature_group_count``; padding 'VALID', explicit symmetric
                  pairs, or 'SAME' where NNX's padding (total // 2 low, the rest high) is symmetric
``SumPool``       SumPool2d (``channel_axis=-1``; 'VALID', or a symmetric 'SAME')
neuron params     a per-neuron (H, W, C) array is moved to (C, H, W)
``Flatten``       Flatten of (C, H, W); Spyx flattens (H, W, C), so the next ``nnx.Linear``'s input columns
                  are permuted to NIR's order (a Flatten must be followed by an ``nnx.Linear``)
================  =========================================================================================

The exported graph takes channels-first input: the Spyx model's (T, B, H, W, C) data is (B, T, C, H, W) there.
"""

from __future__ import annotations

from typing import Any

import nir
import numpy as np
from nirverse import UnsupportedNodeError

__all__ = ["channels_first", "conv_node", "flatten_permutation", "pool_node"]


def channels_first(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A Spyx per-neuron parameter (scalar, or channels-last for a conv layer) as an array of NIR ``shape``."""
    a = np.asarray(value, np.float64)
    if a.ndim == len(shape) >= 2:
        a = np.moveaxis(a, -1, 0)
    return np.broadcast_to(a, shape).copy()


def flatten_permutation(shape: tuple[int, ...]) -> np.ndarray:
    """``perm[i]``: the position in Spyx's (H, W, C) flattening of the element NIR's (C, H, W) puts at i."""
    c, rest = shape[0], shape[1:]
    return np.arange(int(np.prod(shape))).reshape(*rest, c).transpose(len(rest), *range(len(rest))).ravel()


def _pads(key: str, padding: Any, size: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...], d: tuple[int, ...]):
    """Symmetric per-dimension pads of an NNX / Spyx padding, or a refusal."""
    if isinstance(padding, str) and padding.upper() == "VALID":
        return tuple(0 for _ in size)
    if isinstance(padding, str) and padding.upper() == "SAME":
        totals = [max((-(-n // st) - 1) * st + (kk - 1) * dd + 1 - n, 0) for n, kk, st, dd in zip(size, k, s, d)]
        pairs = [(t // 2, t - t // 2) for t in totals]
    elif isinstance(padding, int):
        pairs = [(padding, padding)] * len(size)
    else:
        pairs = [tuple(int(v) for v in p) for p in padding]
    if any(lo != hi for lo, hi in pairs):
        raise UnsupportedNodeError(f"asymmetric padding {pairs}: NIR pads both sides alike", node=key, field="padding",
                                   expected="'VALID', symmetric pairs, or a 'SAME' that pads symmetrically")
    return tuple(lo for lo, _ in pairs)


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    return tuple(int(v) for v in np.broadcast_to(np.atleast_1d(np.asarray(value)), (n,)))


def conv_node(key: str, layer: Any, shape: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
    """The NIR Conv1d/Conv2d of an ``nnx.Conv`` applied to channels-first ``shape``; and its output shape."""
    kernel = np.asarray(layer.kernel[...], np.float64)
    dims = kernel.ndim - 2
    if _tuple(layer.input_dilation or 1, dims) != (1,) * dims:
        raise UnsupportedNodeError("input dilation has no NIR field", node=key, field="input_dilation", expected="1")
    weight = np.ascontiguousarray(np.moveaxis(kernel, (-1, -2), (0, 1)))
    stride, dilation = _tuple(layer.strides or 1, dims), _tuple(layer.kernel_dilation or 1, dims)
    pads = _pads(key, layer.padding, shape[1:], weight.shape[2:], stride, dilation)
    bias = np.asarray(layer.bias[...], np.float64) if layer.bias is not None else np.zeros(weight.shape[0])
    cls = nir.Conv1d if dims == 1 else nir.Conv2d
    node = cls(input_shape=shape[1] if dims == 1 else shape[1:], weight=weight, stride=stride, padding=pads,
               dilation=dilation, groups=int(layer.feature_group_count), bias=bias)
    return node, tuple(int(v) for v in np.asarray(node.output_type["output"]))


def pool_node(key: str, layer: Any, shape: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
    """The NIR SumPool2d of a channels-last ``spyx.nn.SumPool`` applied to channels-first ``shape``."""
    if layer.channel_axis not in (-1, 3) or len(shape) != 3:
        raise UnsupportedNodeError("only a channels-last 2-D SumPool is exported", node=key, field="channel_axis",
                                   expected="channel_axis=-1 after a 2-D conv")
    k, s = _tuple(layer.window_shape, 2), _tuple(layer.strides, 2)
    pads = _pads(key, layer.padding, shape[1:], k, s, (1, 1))
    out = tuple((n + 2 * p - kk) // st + 1 for n, kk, st, p in zip(shape[1:], k, s, pads))
    return nir.SumPool2d(kernel_size=np.array(k), stride=np.array(s), padding=np.array(pads)), (shape[0], *out)
