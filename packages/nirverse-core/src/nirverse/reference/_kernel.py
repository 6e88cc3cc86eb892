r"""The numba kernel behind :mod:`nirverse.reference.compiled` (imported only when a group runs on it).

All arrays are flat; a sequence block at offset ``o`` of size ``n`` holds element ``j`` of sample ``b``
at step ``t`` in ``pool[o + (b T + t) n + j]``. Each function mirrors one numpy operator's step:

* gather: :math:`x_t = \sum_{e} y^{src(e)}_{t - d(e)}` over the member's incoming edges (first edge
  copied, the others added in the plan's order, delayed edges skipped at t = 0, zeros without edges);
* affine: :math:`y = x W^\top (+ b)`, accumulated over the inputs that are not zero (event-driven);
* neuron: the update of :mod:`nirverse.reference.neurons`, operation for operation.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._layout import (
    AFFINE,
    BIAS,
    CUBA,
    EDGE_HI,
    EDGE_LO,
    FLAGS,
    IDENTITY,
    KEEP_U,
    KIND,
    LEAKY,
    NEURON,
    OUT,
    PARAM,
    SCALE,
    SIZE_IN,
    SIZE_OUT,
    SPIKING,
    STATE,
    SUBTRACT,
    TRACE_I,
    TRACE_U,
    TRACE_V,
)


@njit(cache=True)
def _gather(nodes, edges, pool, k, t, batch, steps, x):
    size = nodes[k, SIZE_IN]
    first = True
    for e in range(nodes[k, EDGE_LO], nodes[k, EDGE_HI]):
        if edges[e, 1] and t == 0:
            continue
        tt = t - 1 if edges[e, 1] else t
        for b in range(batch):
            base = edges[e, 0] + (b * steps + tt) * size
            for j in range(size):
                if first:
                    x[b * size + j] = pool[base + j]
                else:
                    x[b * size + j] = x[b * size + j] + pool[base + j]
        first = False
    if first:
        x[: batch * size] = 0.0


@njit(cache=True)
def _affine(nodes, params, weights, pool, k, t, batch, steps, x, acc):
    """Row i of W^T is read once per step and added for every sample whose input i is not zero."""
    n_in, n_out, p = nodes[k, SIZE_IN], nodes[k, SIZE_OUT], nodes[k, PARAM]
    acc[: batch * n_out] = 0.0
    for i in range(n_in):
        w = p + i * n_out
        for b in range(batch):
            xi = x[b * n_in + i]
            if xi != 0.0:
                a = b * n_out
                for o in range(n_out):
                    acc[a + o] += xi * weights[w + o]
    for b in range(batch):
        a, base = b * n_out, nodes[k, OUT] + (b * steps + t) * n_out
        if nodes[k, FLAGS] & BIAS:
            for o in range(n_out):
                acc[a + o] = acc[a + o] + params[nodes[k, STATE] + o]
        pool[base: base + n_out] = acc[a: a + n_out]


@njit(cache=True)
def _elementwise(nodes, params, pool, k, t, batch, steps, x):
    n, kind, p = nodes[k, SIZE_OUT], nodes[k, KIND], nodes[k, PARAM]
    for b in range(batch):
        base = nodes[k, OUT] + (b * steps + t) * n
        for j in range(n):
            xj = x[b * n + j]
            if kind == IDENTITY:
                pool[base + j] = xj
            elif kind == SCALE:
                pool[base + j] = xj * params[p + j]
            else:  # THRESHOLD
                pool[base + j] = 1.0 if xj > params[p + j] else 0.0


@njit(cache=True)
def _init_state(nodes, params, state, batch):
    """v_0 = v_leak (0 for I and IF), i_0 = 0."""
    for k in range(nodes.shape[0]):
        if nodes[k, KIND] != NEURON:
            continue
        n, p, s = nodes[k, SIZE_OUT], nodes[k, PARAM], nodes[k, STATE]
        leaky = nodes[k, FLAGS] & LEAKY
        for b in range(batch):
            for j in range(n):
                state[s + b * n + j] = params[p + 2 * n + j] if leaky else 0.0
                state[s + (batch + b) * n + j] = 0.0


@njit(cache=True)
def _neuron(nodes, params, pool, state, trace, k, t, batch, steps, x):
    n, p, s, f = nodes[k, SIZE_OUT], nodes[k, PARAM], nodes[k, STATE], nodes[k, FLAGS]
    for b in range(batch):
        out = nodes[k, OUT] + (b * steps + t) * n
        at = (b * steps + t) * n
        for j in range(n):
            vi, ii = s + b * n + j, s + (batch + b) * n + j
            v, drive = state[vi], x[b * n + j]
            if f & CUBA:
                cur = state[ii] + params[p + 3 * n + j] * (params[p + 4 * n + j] * drive - state[ii])
                state[ii] = cur
                drive = cur
            if f & LEAKY:
                u = v + params[p + n + j] * (params[p + 2 * n + j] - v + params[p + j] * drive)
            else:
                u = v + params[p + j] * drive
            y, v_new = u, u
            if f & SPIKING:
                th = params[p + 5 * n + j]
                spike = 1.0 if u > th else 0.0
                if f & SUBTRACT:
                    v_new = u - spike * th
                elif spike > 0.0:
                    v_new = params[p + 6 * n + j]
                y = spike
            state[vi] = v_new
            pool[out + j] = y
            if nodes[k, TRACE_V] >= 0:
                trace[nodes[k, TRACE_V] + at + j] = v_new
                if f & CUBA:
                    trace[nodes[k, TRACE_I] + at + j] = state[ii]
                if f & KEEP_U:
                    trace[nodes[k, TRACE_U] + at + j] = u


@njit(cache=True)
def step_group(nodes, edges, params, weights, pool, state, trace, batch, steps):
    """Advance every member of the group through ``steps`` steps, members in order within a step."""
    _init_state(nodes, params, state, batch)
    width = 1
    for k in range(nodes.shape[0]):
        width = max(width, nodes[k, SIZE_IN], nodes[k, SIZE_OUT])
    x = np.empty(batch * width)
    acc = np.empty(batch * width)
    for t in range(steps):
        for k in range(nodes.shape[0]):
            _gather(nodes, edges, pool, k, t, batch, steps, x)
            kind = nodes[k, KIND]
            if kind == AFFINE:
                _affine(nodes, params, weights, pool, k, t, batch, steps, x, acc)
            elif kind == NEURON:
                _neuron(nodes, params, pool, state, trace, k, t, batch, steps, x)
            else:
                _elementwise(nodes, params, pool, k, t, batch, steps, x)


def compiled():
    return step_group
