r"""A compiled fast path for stepped groups (cycles, and single neuron nodes), with numba when installed.

The group is described by arrays only -- no names, no file content and no generated source ever reach
the compiled code: one flat float64 ``pool`` holds every sequence the group reads or writes (external
sources copied in, members' outputs written in place; each a contiguous ``(batch, time, size)`` block),
an int64 ``nodes`` table says what each member is and where its data lie, ``edges`` lists each member's
sources, ``params`` the per-element parameters, ``weights`` the dense matrices (the group's only matrix
is passed as it is, not copied). The kernel performs the literal per-step definition of the semantics
note with the very same floating-point operations as :class:`~nirverse.reference.neurons.Neuron.step`
(no fast-math, no contraction), so neuron arithmetic is bit-identical to the numpy path; only the order
of the sums in a dense product differs (numpy's BLAS vs. a row loop that skips zero inputs -- a spike raster's products
become event-driven), a difference of a few ulp.

Eligible: float64, members of the kinds in :data:`KINDS` (Delay, Conv and pooling fall back to numpy)
and finite weights (skipping a zero input is exact only then). ``numba`` is optional
(``nirverse-core[fast]``) and imported on the first eligible group, never by ``import nirverse``.
"""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np

from ..graph import Plan
from ._layout import (  # noqa: F401 - the layout names are part of this module's vocabulary
    AFFINE,
    BIAS,
    CUBA,
    EDGE_HI,
    EDGE_LO,
    FLAGS,
    IDENTITY,
    KEEP_U,
    KIND,
    KINDS,
    LEAKY,
    NEURON,
    NEURON_PARAMS,
    OUT,
    PARAM,
    SCALE,
    SIZE_IN,
    SIZE_OUT,
    SPIKING,
    STATE,
    SUBTRACT,
    THRESHOLD,
    TRACE_I,
    TRACE_U,
    TRACE_V,
)

__all__ = ["available", "eligible", "run_group"]


def available() -> bool:
    """Whether the compiled path can be used (numba installed, not switched off by NIRVERSE_REFERENCE=numpy)."""
    return os.environ.get("NIRVERSE_REFERENCE", "") != "numpy" and importlib.util.find_spec("numba") is not None


def eligible(plan: Plan, group: tuple[str, ...], ops: dict, dtype: np.dtype) -> bool:
    """Whether ``group`` can run on the kernel: float64, handled kinds only, finite weights, and no Threshold
    asked to keep its input for a margin check (the kernel keeps the pre-reset membrane of neurons only)."""
    if dtype != np.float64 or not available():
        return False
    for name in group:
        if plan.types[name] not in KINDS:
            return False
        if KINDS[plan.types[name]] == THRESHOLD and getattr(ops[name], "keep_pre_reset", False):
            return False
        if KINDS[plan.types[name]] == AFFINE and not np.isfinite(ops[name].weight_t).all():
            return False
    return True


class _Layout:
    """Offsets of every block in the flat arrays, filled while the group is described."""

    def __init__(self) -> None:
        self.pool = 0
        self.params: list[np.ndarray] = []
        self.n_params = 0
        self.matrices: list[np.ndarray] = []
        self.n_weights = 0
        self.state = 0
        self.trace = 0

    def take_pool(self, n: int) -> int:
        self.pool += n
        return self.pool - n

    def add_matrix(self, weight_t: np.ndarray) -> int:
        self.matrices.append(weight_t.reshape(-1))  # C-contiguous (in, out): a view
        self.n_weights += weight_t.size
        return self.n_weights - weight_t.size

    def weights(self) -> np.ndarray:
        """The matrices as one flat array: the only one itself (no copy), else concatenated."""
        if len(self.matrices) == 1:
            return self.matrices[0]
        return np.concatenate(self.matrices) if self.matrices else np.zeros(0)

    def add_params(self, *blocks: np.ndarray) -> int:
        start = self.n_params
        for b in blocks:
            flat = np.ascontiguousarray(b, dtype=np.float64).reshape(-1)
            self.params.append(flat)
            self.n_params += flat.size
        return start


def _neuron_row(op, row: np.ndarray, lay: _Layout, batch: int, steps: int, record: bool) -> None:
    """Parameters, flags, state and trace offsets of one neuron member."""
    size = int(np.prod(op.shape))
    zeros = np.zeros(size)
    block = lambda a: np.broadcast_to(a, op.shape).reshape(-1) if a is not None else zeros  # noqa: E731
    # I, IF: u = v + (dt r) x, exactly as numpy evaluates dt * r * x
    values = {"r": op.r if op.leaky else op.dt * op.r, "kappa": getattr(op, "kappa", None),
              "v_leak": getattr(op, "v_leak", None), "kappa_syn": getattr(op, "kappa_syn", None),
              "w_in": getattr(op, "w_in", None), "v_threshold": getattr(op, "v_threshold", None),
              "v_reset": getattr(op, "v_reset", None)}
    row[PARAM] = lay.add_params(*(block(values[k]) for k in NEURON_PARAMS))
    row[FLAGS] = (LEAKY * op.leaky | SPIKING * op.spiking | CUBA * op.cuba
                  | SUBTRACT * (op.spiking and op.subtract) | KEEP_U * (op.spiking and op.keep_pre_reset))
    row[STATE] = lay.state
    lay.state += 2 * batch * size  # v, then i
    span = batch * steps * size
    if record:
        row[TRACE_V] = lay.trace
        row[TRACE_I] = lay.trace + span if op.cuba else -1
        row[TRACE_U] = lay.trace + 2 * span if row[FLAGS] & KEEP_U else -1
        lay.trace += 3 * span


def describe(plan: Plan, group, ops, values, batch: int, steps: int, record: bool):
    """(nodes, edges, params, weights, pool layout, slots, members, externals) describing ``group``."""
    members = [n for n in group if n not in plan.inputs]
    lay, slot = _Layout(), {}
    for n in members:
        slot[n] = lay.take_pool(batch * steps * int(np.prod(plan.out_shapes[n])))
    externals = []
    for n in members:
        for e in plan.incoming[n]:
            if e.source not in slot:
                slot[e.source] = lay.take_pool(values[e.source].size)
                externals.append(e.source)
    nodes = np.full((len(members), 12), -1, np.int64)
    edges = []
    for k, n in enumerate(members):
        row, op = nodes[k], ops[n]
        row[KIND], row[OUT], row[FLAGS] = KINDS[plan.types[n]], slot[n], 0
        row[SIZE_IN], row[SIZE_OUT] = int(np.prod(plan.in_shapes[n])), int(np.prod(plan.out_shapes[n]))
        row[EDGE_LO] = len(edges)
        edges += [(slot[e.source], int(e.delayed)) for e in plan.incoming[n]]
        row[EDGE_HI] = len(edges)
        if row[KIND] == AFFINE:
            row[PARAM] = lay.add_matrix(op.weight_t)
            if op.bias is not None:  # bias offset in params, in the STATE column (an Affine has no state)
                row[STATE], row[FLAGS] = lay.add_params(op.bias), BIAS
        elif row[KIND] == SCALE:
            row[PARAM] = lay.add_params(np.broadcast_to(op.scale, plan.out_shapes[n]))
        elif row[KIND] == THRESHOLD:
            row[PARAM] = lay.add_params(np.broadcast_to(op.threshold, plan.out_shapes[n]))
        elif row[KIND] == NEURON:
            _neuron_row(op, row, lay, batch, steps, record)
    params = np.concatenate(lay.params) if lay.params else np.zeros(0)
    edge_arr = np.asarray(edges, np.int64).reshape(-1, 2)
    return nodes, edge_arr, params, lay.weights(), lay, slot, members, externals


def run_group(plan: Plan, group, ops, values, states, batch: int, steps: int, record: bool) -> None:
    """Step ``group`` on the compiled kernel; fills ``values`` (and ``states`` when ``record``)."""
    nodes, edges, params, weights, lay, slot, members, externals = describe(plan, group, ops, values, batch, steps, record)
    pool = np.empty(lay.pool)
    for n in externals:
        pool[slot[n]:slot[n] + values[n].size] = np.ravel(values[n])
    state = np.zeros(lay.state)
    trace = np.zeros(lay.trace if record else 0)
    _kernel()(nodes, edges, params, weights, pool, state, trace, batch, steps)
    for k, n in enumerate(members):
        span = batch * steps * int(nodes[k, SIZE_OUT])
        shape = (batch, steps, *plan.out_shapes[n])
        values[n] = pool[slot[n]:slot[n] + span].reshape(shape)
        if record and nodes[k, KIND] == NEURON:
            named = {"v": nodes[k, TRACE_V], "u": nodes[k, TRACE_U], "i": nodes[k, TRACE_I]}
            states[n] = {key: trace[at:at + span].reshape(shape) for key, at in named.items() if at >= 0}


@functools.cache
def _kernel():
    """The compiled group stepper (numba imported here, on first use; compiled once, cached on disk)."""
    from . import _kernel as kernel_module

    return kernel_module.compiled()
