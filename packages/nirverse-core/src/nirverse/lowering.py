r"""Lowering helpers shared by the plugins that hand a whole network to their framework (GeNN, NEST):
the linear stateless nodes as sparse matrices (out × in, row-major flattening of per-sample shapes), so that a
chain of them between two populations becomes one weight matrix.

=============  =====================================================================
Affine         ``W`` (+ bias ``b``)
Linear         ``W``
Scale          ``diag(s)``
Conv1d/2d      the cross-correlation's Toeplitz matrix (stride, dilation, groups, zero padding)
               + bias repeated over positions
SumPool2d      one-per-window matrix; AvgPool2d: ``1/(kh·kw)`` per window (padding counted)
Flatten, Pass  identity
Delay          split by step count ``k``: ``diag(steps == k)``, the connection delayed ``k`` more steps
=============  =====================================================================

scipy is imported with this module, which ``import nirverse`` does not import.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import scipy.sparse as sp

from .graph import Plan

__all__ = ["LINEAR_TYPES", "linear_map", "node_bias", "delay_split"]

#: stateless nodes that are folded into synapse populations
LINEAR_TYPES = frozenset(
    {"Affine", "Linear", "Scale", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten", "Pass", "Delay", "Output"}
)


def _size(shape) -> int:
    return int(math.prod(shape))


def linear_map(plan: Plan, name: str) -> sp.csr_matrix:
    """The node's linear operator as a sparse (out × in) float64 matrix (Delay: identity, see split)."""
    kind, p = plan.types[name], plan.params[name]
    n_in, n_out = _size(plan.in_shapes[name]), _size(plan.out_shapes[name])
    if kind in ("Affine", "Linear"):
        return sp.csr_matrix(p["weight"])
    if kind == "Scale":
        return sp.diags(p["scale"].reshape(-1), format="csr")
    if kind in ("Conv1d", "Conv2d"):
        return _conv_matrix(
            p["weight"], p["stride"], p["dilation"], p["groups"], p["pads"], plan.in_shapes[name], plan.out_shapes[name]
        )
    if kind in ("SumPool2d", "AvgPool2d"):
        channels = plan.in_shapes[name][0]
        kh, kw = p["kernel_size"]
        value = 1.0 / (kh * kw) if kind == "AvgPool2d" else 1.0
        weight = np.zeros((channels, 1, kh, kw))
        weight[:] = value
        pads = tuple((q, q) for q in p["padding"])
        return _conv_matrix(weight, p["stride"], (1, 1), channels, pads, plan.in_shapes[name], plan.out_shapes[name])
    if kind in ("Flatten", "Pass", "Delay", "Output"):
        assert n_in == n_out
        return sp.identity(n_in, format="csr")
    raise AssertionError(f"{kind} is not a linear node")


def node_bias(plan: Plan, name: str) -> np.ndarray | None:
    """The constant term of a linear node (flattened), or None."""
    kind, p = plan.types[name], plan.params[name]
    if kind == "Affine":
        return p["bias"].reshape(-1)
    if kind in ("Conv1d", "Conv2d"):
        spatial = _size(plan.out_shapes[name][1:])
        return np.repeat(p["bias"], spatial)
    return None


def delay_split(plan: Plan, name: str) -> list[tuple[int, np.ndarray]]:
    """A Delay node as [(steps k, 0/1 mask of the elements delayed by k)]."""
    steps = np.asarray(plan.params[name]["steps"]).reshape(-1)
    return [(int(k), (steps == k).astype(np.float64)) for k in np.unique(steps)]


def _conv_matrix(weight, stride, dilation, groups, pads, in_shape, out_shape) -> sp.csr_matrix:
    """Toeplitz matrix of PyTorch's cross-correlation: y[o, p] = Σ_{c∈g(o), k} W[o, c, k] x̃[c, s·p + d·k]."""
    c_out, c_in_g = weight.shape[:2]
    kernel = weight.shape[2:]
    in_sp, out_sp = tuple(in_shape[1:]), tuple(out_shape[1:])
    dims = len(kernel)
    out_pos = np.stack(np.meshgrid(*[np.arange(n) for n in out_sp], indexing="ij"), 0).reshape(dims, -1)
    out_flat = np.ravel_multi_index(tuple(out_pos), out_sp) if dims else np.zeros(1, int)
    per_group = c_out // groups
    co = np.arange(c_out)
    ci = (co // per_group)[:, None] * c_in_g + np.arange(c_in_g)[None, :]  # (c_out, c_in_g) absolute channels
    rows, cols, vals = [], [], []
    n_out_sp, n_in_sp = _size(out_sp), _size(in_sp)
    for kk in itertools.product(*[range(k) for k in kernel]):
        pos = np.stack([out_pos[d] * stride[d] + dilation[d] * kk[d] - pads[d][0] for d in range(dims)], 0)
        valid = np.all((pos >= 0) & (pos < np.array(in_sp)[:, None]), axis=0)
        if not valid.any():
            continue
        in_flat = np.ravel_multi_index(tuple(pos[:, valid]), in_sp)
        o_flat = out_flat[valid]
        w = weight[(slice(None), slice(None)) + kk]  # (c_out, c_in_g)
        r = (co[:, None, None] * n_out_sp + o_flat[None, None, :])
        c = (ci[:, :, None] * n_in_sp + in_flat[None, None, :])
        v = np.broadcast_to(w[:, :, None], (c_out, c_in_g, o_flat.size))
        r = np.broadcast_to(r, v.shape)
        rows.append(r.reshape(-1))
        cols.append(c.reshape(-1))
        vals.append(v.reshape(-1))
    shape = (c_out * n_out_sp, c_in_g * groups * n_in_sp)
    if not rows:
        return sp.csr_matrix(shape)
    m = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape).tocsr()
    m.sum_duplicates()
    return m
