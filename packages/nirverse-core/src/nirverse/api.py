"""``nirverse.run``: one graph, one semantics, any backend."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import nir
import numpy as np

from .backends import Backend, get_backend
from .errors import (
    BackendError,
    BackendUnavailableError,
    InvalidInputError,
    NirverseError,
    UnsupportedNodeError,
    UnsupportedSemanticsError,
)
from .graph import Plan, delay_buffer, prepare
from .levels import EMULATED, LEVELS, REFUSED, NodeLevel, at_least
from .limits import check_elements
from .loading import GraphSource
from .semantics import Semantics

__all__ = ["Result", "run", "explain", "normalize_inputs"]

DTYPES = ("float64", "float32")


@dataclass
class Result:
    """Outputs ``{Output name: (batch, time, *shape)}`` and, if recorded, ``states`` ``{node: {"v", "i"}}``."""

    outputs: dict[str, np.ndarray]
    states: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    backend: str = "reference"
    semantics: Semantics | None = None
    dtype: str = "float64"
    #: Output name -> whether it carries a spike raster
    spiking: dict[str, bool] = field(default_factory=dict)
    wall_time: float = 0.0
    build_time: float = 0.0


def normalize_inputs(plan: Plan, inputs: Any) -> dict[str, np.ndarray]:
    """Inputs as {Input name: float64 (batch, time, *shape)}, checked against the Input nodes."""
    inputs = _as_mapping(plan, inputs)
    unknown = set(inputs) - set(plan.inputs)
    if unknown:
        raise InvalidInputError(
            f"data for unknown Input node(s) {sorted(unknown)}", node=sorted(unknown)[0], field="inputs",
            expected="one of " + ", ".join(plan.inputs),
        )
    out: dict[str, np.ndarray] = {}
    lead: tuple[int, int] | None = None
    for name in plan.inputs:
        if name not in inputs:
            raise InvalidInputError("no data given", node=name, field="inputs", expected="an array for every Input")
        arr = _real_array(plan, name, inputs[name])
        if lead is None:
            lead = arr.shape[:2]
            _check_run_size(plan, *lead)  # before the float64 copy: arr may be a tiny broadcast view
        elif arr.shape[:2] != lead:
            raise InvalidInputError(
                f"has (batch, time) {arr.shape[:2]}", node=name, field="inputs",
                expected=f"the same (batch, time) as the other inputs {lead}",
            )
        arr = arr.astype(np.float64)
        if not np.all(np.isfinite(arr)):
            raise InvalidInputError("contains NaN or inf", node=name, field="inputs", expected="finite values")
        out[name] = arr
    assert lead is not None
    return out


def _as_mapping(plan: Plan, inputs: Any) -> Mapping[str, Any]:
    """``inputs`` as {Input name: data}: a ``nir.TimeGriddedData`` or one array for a one-Input graph."""
    if isinstance(inputs, nir.TimeGriddedData):
        data = np.asarray(inputs.data)
        if not math.isclose(float(inputs.dt), plan.semantics.dt, rel_tol=1e-9):
            raise InvalidInputError(
                f"TimeGriddedData has dt={inputs.dt!r}", node=plan.inputs[0], field="dt",
                expected=f"the semantics' dt={plan.semantics.dt!r}",
            )
        if len(plan.inputs) != 1:
            raise InvalidInputError(
                f"one TimeGriddedData for {len(plan.inputs)} Input nodes", field="inputs",
                expected="a dict {input name: array}",
            )
        shape = plan.out_shapes[plan.inputs[0]]
        if data.ndim == 3 and data.shape[2] == math.prod(shape):
            data = data.reshape(data.shape[0], data.shape[1], *shape)
        inputs = {plan.inputs[0]: data}
    elif not isinstance(inputs, Mapping):
        if len(plan.inputs) != 1:
            raise InvalidInputError(
                f"one array for {len(plan.inputs)} Input nodes {list(plan.inputs)}", field="inputs",
                expected="a dict {input name: array}",
            )
        inputs = {plan.inputs[0]: inputs}
    return inputs


def _real_array(plan: Plan, name: str, value: Any) -> np.ndarray:
    """``value`` as an array of real numbers shaped (batch, time, *shape of Input ``name``)."""
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise InvalidInputError(f"cannot be read as an array: {exc}", node=name, field="inputs") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InvalidInputError(f"has dtype {arr.dtype}", node=name, field="inputs", expected="real numbers")
    if np.iscomplexobj(arr):
        raise InvalidInputError("is complex", node=name, field="inputs", expected="real numbers")
    shape = plan.out_shapes[name]
    if arr.ndim != 2 + len(shape) or tuple(arr.shape[2:]) != shape:
        raise InvalidInputError(
            f"has shape {arr.shape}", node=name, field="inputs", expected=f"(batch, time, {', '.join(map(str, shape))})"
        )
    return arr


def _check_run_size(plan: Plan, batch: int, steps: int) -> None:
    r"""The values a run holds, bounded before anything is allocated: every node's output over
    (batch, time), :math:`B T \sum_n |n|`, plus every delay buffer, :math:`B \sum_d (k_d + 1) |d|`."""
    per_step = sum(math.prod(s) for s in plan.out_shapes.values())
    buffers = sum(delay_buffer(plan.params[n], plan.out_shapes[n]) for n in plan.order if plan.types[n] == "Delay")
    check_elements(
        batch * steps * per_step + batch * buffers,
        f"batch {batch} x time {steps} x {per_step} values per step + batch x {buffers} delay-buffer values",
        field="inputs",
    )


def run(
    graph: GraphSource,
    inputs: Any,
    semantics: Semantics,
    backend: str = "reference",
    dtype: str = "float64",
    record: bool = False,
    require: str = EMULATED,
) -> Result:
    """Execute ``graph`` under ``semantics`` on ``backend``.

    ``inputs``: an array (batch, time, *input_shape) for a single-Input graph, a dict
    {Input name: array}, or a ``nir.TimeGriddedData``. Everything is validated before any simulation;
    a framework's own failure surfaces as :class:`BackendError` with the framework's error chained.
    ``require`` (``"native"``, ``"adapted"`` or ``"emulated"``, the default) refuses, before anything is
    built, every node the backend would run below that level (see :func:`explain`).
    """
    _check_dtype(dtype)
    if require not in LEVELS:
        raise InvalidInputError(f"unknown level {require!r}", field="require", expected="one of " + ", ".join(LEVELS))
    plan = prepare(graph, semantics)
    data = normalize_inputs(plan, inputs)
    impl = get_backend(backend)
    info = impl.info()
    if not info.available:
        hint = None if info.install_hint in (info.reason or "") else info.install_hint
        raise BackendUnavailableError(f"backend {backend!r} is unavailable: {info.reason}", field="backend", expected=hint)
    impl.check_support(plan, semantics, dtype)
    if require != EMULATED:
        _require(impl, plan, dtype, require)
    try:
        start = time.perf_counter()
        if _is_empty(data):  # batch 0 or no steps: nothing to compute, on any backend (after its refusals)
            built, out = start, _empty_run(plan, data, dtype, record)
        else:
            model = impl.build(plan, dtype)
            built = time.perf_counter()
            out = impl.run(model, data, record)
        done = time.perf_counter()
    except NirverseError:
        raise
    except Exception as exc:
        raise BackendError(f"backend {backend!r} failed: {type(exc).__name__}: {exc}", field="backend") from exc
    outputs = {n: np.asarray(out.outputs[n]) for n in plan.outputs}
    return Result(
        outputs=outputs,
        states={n: {k: np.asarray(v) for k, v in s.items()} for n, s in out.states.items()} if record else {},
        backend=backend,
        semantics=semantics,
        dtype=dtype,
        spiking={n: plan.output_is_spikes(n) for n in plan.outputs},
        wall_time=done - built,
        build_time=built - start,
    )


def _is_empty(data: Mapping[str, np.ndarray]) -> bool:
    return 0 in next(iter(data.values())).shape[:2]


def _empty_run(plan: Plan, data: Mapping[str, np.ndarray], dtype: str, record: bool):
    """The result of a run with batch 0 or zero steps: empty arrays shaped (batch, time, *shape) for every
    output and recorded state. No backend is asked to simulate nothing (several frameworks cannot hold an
    empty input), so every backend answers alike: the shapes come from the plan, there are no values."""
    from .backends import RunOutput
    from .reference import simulate

    outputs, states = simulate(plan, data, dtype=dtype, record=record)
    return RunOutput(outputs, states)


def _check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise InvalidInputError(f"unknown dtype {dtype!r}", field="dtype", expected="'float64' or 'float32'")


def _require(impl: Backend, plan: Plan, dtype: str, required: str) -> None:
    for label in _levels(impl, plan, dtype):
        if not at_least(label.level, required):
            raise UnsupportedNodeError(
                f"backend {impl.name!r} would run this {label.type} {label.level} ({label.construct}: {label.reason})",
                node=label.node, field="level", expected=f"{required} or better (require={required!r})",
            )


def _levels(impl: Backend, plan: Plan, dtype: str) -> list[NodeLevel]:
    try:
        impl.check_support(plan, plan.semantics, dtype)
        refused_all = None
    except UnsupportedSemanticsError as exc:
        refused_all = str(exc)
    except UnsupportedNodeError:
        refused_all = None  # per node, below
    labels = []
    for name in plan.order:
        kind = plan.types[name]
        if kind in ("Input", "Output", "Pass"):
            continue
        if refused_all is not None:
            labels.append(NodeLevel(name, kind, REFUSED, "-", refused_all))
        elif kind not in impl.node_types:
            labels.append(NodeLevel(name, kind, REFUSED, "-", f"backend {impl.name!r} has no {kind} node"))
        else:
            try:
                labels.append(impl.node_level(plan, name, dtype))
            except UnsupportedNodeError as exc:
                labels.append(NodeLevel(name, kind, REFUSED, "-", str(exc)))
    return labels


def explain(graph: GraphSource, semantics: Semantics, backend: str = "reference", dtype: str = "float64") -> list[NodeLevel]:
    """Per node (evaluation order; Input/Output left out): the level the backend runs it at, the framework
    construct and why. Needs the plugin, not its framework."""
    _check_dtype(dtype)
    plan = prepare(graph, semantics)
    impl = get_backend(backend)
    try:
        return _levels(impl, plan, dtype)
    except NotImplementedError as exc:
        raise UnsupportedNodeError(str(exc), field="node_level", expected="a backend that labels its nodes") from exc
