r"""Sparse connectivity (pre index, post index, weight) of the linear NIR nodes, per sample.

Every linear node maps a flattened input (row-major, ``in_shape``) to a flattened output
(``out_shape``); its Brian2 ``Synapses`` carry one synapse per non-zero coefficient of that map
(dropping a zero coefficient only removes a ``+0`` from the sum):

* Affine / Linear: :math:`y_o = \sum_i W_{oi} x_i` -- synapse ``i -> o`` with weight :math:`W_{oi}`;
* Conv1d / Conv2d (PyTorch cross-correlation): for output channel :math:`o` of group :math:`g`,
  output position :math:`\mathbf p`, input channel :math:`c` of group :math:`g` and kernel offset
  :math:`\mathbf k`, the input position is :math:`\mathbf q = s\mathbf p + d\mathbf k - \text{pad}_{lo}`;
  a synapse exists where :math:`\mathbf q` lies inside the input (outside it reads the zero padding),
  with weight :math:`W_{o, c - g C_{in}/G, \mathbf k}`;
* SumPool2d / AvgPool2d: the same with one channel per group, unit weights (AvgPool's division by the
  window size, padding counted, is applied to the sum by the target group);
* Scale / Flatten / pass-throughs: one-to-one (weight ``s`` or 1).

:func:`replicate` tiles a per-sample connectivity over the batch (block-diagonal).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["dense", "one_to_one", "conv", "pool", "replicate"]


def dense(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synapses of ``y = W x`` (``W`` is out x in), zero coefficients left out."""
    post, pre = np.nonzero(weight)
    return pre.astype(np.int64), post.astype(np.int64), weight[post, pre]


def one_to_one(size: int, weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.arange(size, dtype=np.int64)
    w = np.ones(size) if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1)
    return idx, idx, w


def conv(weight, groups, stride, dilation, pads, in_shape, out_shape):
    """Synapses of a Conv1d/Conv2d with PyTorch's definition (cross-correlation)."""
    c_out = weight.shape[0]
    c_in_g = weight.shape[1]
    kernel = weight.shape[2:]
    dims = len(kernel)
    out_per_g = c_out // groups
    # all combinations (o, c, p..., k...) via broadcasting
    o = np.arange(c_out).reshape((-1, 1) + (1,) * (2 * dims))
    c = np.arange(c_in_g).reshape((1, -1) + (1,) * (2 * dims))
    pre_flat = np.zeros((c_out, c_in_g) + tuple(out_shape[1:]) + tuple(kernel), dtype=np.int64)
    valid = np.ones(pre_flat.shape, dtype=bool)
    channel = (o // out_per_g) * c_in_g + c
    pre_flat += channel * math.prod(in_shape[1:])
    stride_in = [math.prod(in_shape[2 + a:]) for a in range(dims)]
    for a in range(dims):
        shape_p = [1] * (2 + 2 * dims)
        shape_p[2 + a] = out_shape[1 + a]
        shape_k = [1] * (2 + 2 * dims)
        shape_k[2 + dims + a] = kernel[a]
        p = np.arange(out_shape[1 + a]).reshape(shape_p)
        k = np.arange(kernel[a]).reshape(shape_k)
        q = p * stride[a] + k * dilation[a] - pads[a][0]
        valid &= (q >= 0) & (q < in_shape[1 + a])
        pre_flat += np.clip(q, 0, in_shape[1 + a] - 1) * stride_in[a]
    post = np.arange(math.prod(out_shape)).reshape((c_out, 1) + tuple(out_shape[1:]) + (1,) * dims)
    post = np.broadcast_to(post, pre_flat.shape)
    w = np.broadcast_to(weight.reshape((c_out, c_in_g) + (1,) * dims + tuple(kernel)), pre_flat.shape)
    keep = valid & (w != 0)
    return pre_flat[keep], post[keep], w[keep]


def pool(kernel_size, stride, padding, in_shape, out_shape):
    """Synapses of a SumPool2d window sum (unit weights); a depthwise conv with a ones kernel."""
    channels = in_shape[0]
    weight = np.ones((channels, 1) + tuple(kernel_size))
    pads = tuple((p, p) for p in padding)
    return conv(weight, channels, stride, (1, 1), pads, in_shape, out_shape)


def replicate(pre, post, w, n_pre: int, n_post: int, batch: int):
    """Block-diagonal copies of one sample's synapses for ``batch`` samples."""
    offsets = np.arange(batch, dtype=np.int64)[:, None]
    return (
        (pre[None] + offsets * n_pre).reshape(-1),
        (post[None] + offsets * n_post).reshape(-1),
        np.tile(w, batch),
    )
