r"""Per-node parameter validation and normalisation, and shape inference.

Every parameter a simulator needs is returned as a float64 array (neuron parameters broadcast to the
node's shape) so that the reference and every plugin read the same, checked numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import nir
import numpy as np

from .errors import InvalidGraphError, TooLargeError
from .limits import MAX_STEPS, check_elements
from .semantics import Semantics

__all__ = [
    "NODE_TYPES",
    "NEURON_TYPES",
    "SPIKING_TYPES",
    "node_type",
    "node_parameters",
    "output_shape",
    "declared_input_shape",
    "delay_steps",
    "broadcast_parameters",
]

NEURON_TYPES = frozenset({"I", "IF", "LI", "LIF", "CubaLI", "CubaLIF"})
SPIKING_TYPES = frozenset({"IF", "LIF", "CubaLIF", "Threshold"})
NODE_TYPES = frozenset(
    {"Input", "Output", "Affine", "Linear", "Scale", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten",
     "Delay", "Threshold"}
) | NEURON_TYPES

#: neuron parameters, in NIR's field names; time constants must be > 0.
NEURON_FIELDS: dict[str, tuple[str, ...]] = {
    "I": ("r",),
    "IF": ("r", "v_threshold", "v_reset"),
    "LI": ("tau", "r", "v_leak"),
    "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak", "w_in"),
    "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
}
TIME_CONSTANTS = frozenset({"tau", "tau_syn", "tau_mem"})
#: element-wise nodes: the parameter whose shape is the node's shape
ELEMENTWISE_FIELD = {**dict.fromkeys(NEURON_FIELDS, "r"), "Scale": "scale", "Threshold": "threshold", "Delay": "delay"}


def node_type(name: str, node: Any) -> str:
    """The NIR class name of ``node``; anything outside NIR's catalogue is an :class:`InvalidGraphError`."""
    kind = type(node).__name__
    if kind == "NIRGraph" or (isinstance(node, nir.NIRNode) and kind in NODE_TYPES):
        return kind
    raise InvalidGraphError(
        f"unknown node type {kind}",
        node=name,
        field="type",
        expected="one of " + ", ".join(sorted(NODE_TYPES | {"NIRGraph"})),
    )


def _array(name: str, field: str, value: Any, *, positive: bool = False) -> np.ndarray:
    if value is None:
        raise InvalidGraphError("is missing", node=name, field=field, expected="a numeric array")
    size = getattr(value, "size", None)  # an array (or a broadcast view): bound it before any copy
    if isinstance(size, (int, np.integer)):
        check_elements(int(size), "declared size", node=name, field=field)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidGraphError(f"is not numeric ({value!r})", node=name, field=field, expected="numbers") from exc
    if not np.all(np.isfinite(arr)):
        raise InvalidGraphError("contains NaN or inf", node=name, field=field, expected="finite values")
    if positive and np.any(arr <= 0):
        raise InvalidGraphError(
            f"contains non-positive values (min {arr.min()!r})", node=name, field=field, expected="values > 0"
        )
    return arr


def _int_tuple(name: str, field: str, value: Any, dims: int, *, minimum: int) -> tuple[int, ...]:
    arr = np.atleast_1d(np.asarray(value))
    if arr.size == 1:
        arr = np.repeat(arr, dims)
    if arr.shape != (dims,) or not np.issubdtype(arr.dtype, np.number) or np.any(arr != np.round(arr)):
        raise InvalidGraphError(f"got {value!r}", node=name, field=field, expected=f"{dims} integer(s)")
    out = tuple(int(v) for v in arr)
    if any(v < minimum for v in out):
        raise InvalidGraphError(f"got {out}", node=name, field=field, expected=f"integers >= {minimum}")
    return out


def _neuron_parameters(name: str, kind: str, node: Any) -> dict[str, np.ndarray]:
    raw = {}
    for field in NEURON_FIELDS[kind]:
        value = getattr(node, field, None)
        if field == "v_reset" and value is None:
            value = np.zeros_like(np.asarray(node.v_threshold, dtype=np.float64))
        if field == "w_in" and value is None:
            value = 1.0
        raw[field] = _array(name, field, value, positive=field in TIME_CONSTANTS)
    try:
        shape = np.broadcast_shapes(*(a.shape for a in raw.values()))
    except ValueError as exc:
        shapes = ", ".join(f"{k}{a.shape}" for k, a in raw.items())
        raise InvalidGraphError(
            f"parameter shapes do not broadcast: {shapes}", node=name, field=NEURON_FIELDS[kind][0],
            expected="parameters of one common shape",
        ) from exc
    return {k: np.broadcast_to(a, shape).copy() for k, a in raw.items()}


def _conv_parameters(name: str, node: Any, dims: int) -> dict[str, Any]:
    weight = _array(name, "weight", node.weight)
    if weight.ndim != dims + 2:
        raise InvalidGraphError(
            f"has shape {weight.shape}", node=name, field="weight",
            expected=f"(C_out, C_in/groups{', K' * dims}) with {dims + 2} dimensions",
        )
    c_out = weight.shape[0]
    bias_value = getattr(node, "bias", None)
    bias = np.zeros(c_out) if bias_value is None else _array(name, "bias", bias_value)
    if bias.size == 1 and c_out != 1:
        bias = np.full(c_out, float(bias.reshape(())))
    bias = bias.reshape(-1)
    if bias.shape != (c_out,):
        raise InvalidGraphError(f"has shape {bias.shape}", node=name, field="bias", expected=f"({c_out},)")
    groups = _int_tuple(name, "groups", node.groups, 1, minimum=1)[0]
    if c_out % groups:
        raise InvalidGraphError(
            f"groups={groups} does not divide C_out={c_out}", node=name, field="groups", expected="a divisor"
        )
    stride = _int_tuple(name, "stride", node.stride, dims, minimum=1)
    dilation = _int_tuple(name, "dilation", node.dilation, dims, minimum=1)
    padding = node.padding
    if isinstance(padding, bytes):
        padding = padding.decode()
    if isinstance(padding, np.ndarray) and padding.dtype.kind in "SUO" and padding.size == 1:
        padding = str(padding.reshape(()).item())
        padding = padding.decode() if isinstance(padding, bytes) else padding
    kernel = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = tuple((0, 0) for _ in range(dims))
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise InvalidGraphError(
                    f"padding='same' with stride {stride}", node=name, field="padding",
                    expected="stride 1 with 'same' (as in PyTorch)",
                )
            totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
            pads = tuple((t // 2, t - t // 2) for t in totals)
        else:
            raise InvalidGraphError(
                f"unknown padding {padding!r}", node=name, field="padding", expected="an int, a tuple, 'same' or 'valid'"
            )
    else:
        pads = tuple((p, p) for p in _int_tuple(name, "padding", padding, dims, minimum=0))
    return {"weight": weight, "bias": bias, "stride": stride, "dilation": dilation, "groups": groups,
            "pads": pads, "padding": padding if isinstance(padding, str) else tuple(p for p, _ in pads)}


def node_parameters(name: str, node: Any, semantics: Semantics | None = None) -> dict[str, Any]:
    """Validated parameters of a (non-graph) node, as float64 arrays and int tuples."""
    kind = node_type(name, node)
    if kind in NEURON_TYPES:
        return _neuron_parameters(name, kind, node)
    if kind in ("Affine", "Linear"):
        weight = _array(name, "weight", node.weight)
        if weight.ndim != 2:
            raise InvalidGraphError(f"has shape {weight.shape}", node=name, field="weight", expected="(out, in)")
        params: dict[str, Any] = {"weight": weight}
        if kind == "Affine":
            bias = _array(name, "bias", node.bias)
            if bias.size == 1 and weight.shape[0] != 1:
                bias = np.full(weight.shape[0], float(bias.reshape(())))
            bias = bias.reshape(-1)
            if bias.shape != (weight.shape[0],):
                raise InvalidGraphError(
                    f"has shape {bias.shape}", node=name, field="bias", expected=f"({weight.shape[0]},)"
                )
            params["bias"] = bias
        return params
    if kind == "Scale":
        return {"scale": _array(name, "scale", node.scale)}
    if kind == "Threshold":
        return {"threshold": _array(name, "threshold", node.threshold)}
    if kind == "Conv1d":
        return _conv_parameters(name, node, 1)
    if kind == "Conv2d":
        return _conv_parameters(name, node, 2)
    if kind in ("SumPool2d", "AvgPool2d"):
        return {
            "kernel_size": _int_tuple(name, "kernel_size", node.kernel_size, 2, minimum=1),
            "stride": _int_tuple(name, "stride", node.stride, 2, minimum=1),
            "padding": _int_tuple(name, "padding", node.padding, 2, minimum=0),
        }
    if kind == "Flatten":
        return {"start_dim": int(node.start_dim), "end_dim": int(node.end_dim)}
    if kind == "Delay":
        delay = _array(name, "delay", node.delay)
        if np.any(delay < 0):
            raise InvalidGraphError("contains negative delays", node=name, field="delay", expected="delays >= 0")
        params = {"delay": delay}
        if semantics is not None:
            params["steps"] = delay_steps(name, delay, semantics.dt)
        return params
    return {}


def delay_steps(name: str, delay: np.ndarray, dt: float) -> np.ndarray:
    """k = round(delay/dt) per element; a delay more than 1e-6 (relative) off a whole step is an error.

    The step count is bounded (finite, at most ``MAX_STEPS``, and a delay buffer of k + 1 values within the
    size limit) before it becomes an integer: 1e300 s would otherwise wrap round to -2**63.
    """
    with np.errstate(over="ignore"):
        ratio = np.asarray(delay, dtype=np.float64) / dt
    largest = float(np.max(ratio, initial=0.0))
    if not math.isfinite(largest) or largest > MAX_STEPS:
        raise TooLargeError(
            f"delay {float(np.max(delay))!r} s is {largest:.4g} steps of dt={dt!r} s", node=name, field="delay",
            expected=f"at most {MAX_STEPS} steps",
        )
    check_elements(round(largest) + 1, "delay buffer (steps + 1) per element", node=name, field="delay")
    steps = np.round(ratio)
    off = np.abs(delay - steps * dt) > 1e-6 * np.maximum(np.abs(delay), dt)
    if np.any(off):
        bad = float(delay[off].flat[0])
        raise InvalidGraphError(
            f"delay {bad!r} s is not a whole number of steps of dt={dt!r} s", node=name, field="delay",
            expected="a multiple of dt (relative error <= 1e-6)",
        )
    return steps.astype(np.int64)


def broadcast_parameters(params: Mapping[str, Any], shape: tuple[int, ...]) -> dict[str, Any]:
    """0-d parameters of an element-wise node broadcast to the shape it receives (files of old nir versions)."""
    return {k: (np.broadcast_to(v, shape).copy() if isinstance(v, np.ndarray) and v.ndim == 0 else v)
            for k, v in params.items()}


def _shape(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    arr = np.atleast_1d(np.asarray(value))
    if arr.dtype.kind not in "iuf" or np.any(arr != np.round(arr)) or np.any(arr < 0):
        return None
    return tuple(int(v) for v in arr)


def declared_input_shape(name: str, kind: str, node: Any, params: Mapping[str, Any]) -> tuple[int, ...] | None:
    """The input shape the node itself fixes (None where it follows its source)."""
    if kind == "Input":
        shape = _shape(node.input_type.get("input"))
        if shape is None:
            raise InvalidGraphError("has no valid shape", node=name, field="shape", expected="a tuple of ints")
        return shape
    elementwise = ELEMENTWISE_FIELD.get(kind)
    if elementwise is not None:
        shape = tuple(params[elementwise].shape)
        return shape or None  # 0-d parameters (old files) apply to any shape: follow the source
    if kind in ("Affine", "Linear"):
        return (params["weight"].shape[1],)
    if kind == "Flatten":
        return _shape(getattr(node, "input_type", {}).get("input"))
    if kind in ("Conv1d", "Conv2d"):
        spatial = _shape(getattr(node, "input_shape", None))
        if spatial is None:
            return None
        c_in = params["weight"].shape[1] * params["groups"]
        return (c_in, *spatial)
    return None


def output_shape(name: str, kind: str, node: Any, params: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The node's output shape for input ``shape`` (PyTorch formulas for conv/pool/flatten)."""
    if kind in ("Affine", "Linear"):
        return (params["weight"].shape[0],)
    if kind in ("Conv1d", "Conv2d"):
        dims = 1 if kind == "Conv1d" else 2
        weight = params["weight"]
        if len(shape) != dims + 1 or shape[0] != weight.shape[1] * params["groups"]:
            raise InvalidGraphError(
                f"receives input of shape {shape}", node=name, field="input_type",
                expected=f"(C_in={weight.shape[1] * params['groups']}{', N' * dims})",
            )
        spatial = []
        for n, k, s, d, (lo, hi) in zip(shape[1:], weight.shape[2:], params["stride"], params["dilation"], params["pads"]):
            size = (n + lo + hi - d * (k - 1) - 1) // s + 1
            if size < 1:
                raise InvalidGraphError(
                    f"input of shape {shape} is smaller than the kernel", node=name, field="weight",
                    expected="a kernel that fits the padded input",
                )
            spatial.append(size)
        return (weight.shape[0], *spatial)
    if kind in ("SumPool2d", "AvgPool2d"):
        if len(shape) != 3:
            raise InvalidGraphError(
                f"receives input of shape {shape}", node=name, field="input_type", expected="(C, H, W)"
            )
        spatial = []
        for n, k, s, p in zip(shape[1:], params["kernel_size"], params["stride"], params["padding"]):
            size = (n + 2 * p - k) // s + 1
            if size < 1:
                raise InvalidGraphError(
                    f"input of shape {shape} is smaller than the kernel", node=name, field="kernel_size",
                    expected="a kernel that fits the padded input",
                )
            spatial.append(size)
        return (shape[0], *spatial)
    if kind == "Flatten":
        ndim = len(shape)
        start = params["start_dim"] % ndim if ndim else 0
        end = params["end_dim"] % ndim if ndim else 0
        if start > end:
            raise InvalidGraphError(
                f"start_dim={params['start_dim']} after end_dim={params['end_dim']} for shape {shape}",
                node=name, field="start_dim", expected="start_dim <= end_dim",
            )
        return (*shape[:start], int(math.prod(shape[start : end + 1])), *shape[end + 1 :])
    return shape
