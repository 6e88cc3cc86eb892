r"""Comparison metrics between two runs, and the verdict of the semantics note.

* raster mismatches: the number of (batch, step, neuron) entries where one run spikes and the other not;
* first differing step: the smallest time index with any difference beyond tolerance (``None`` if none);
* max :math:`|\Delta|` of continuous values (outputs of non-spiking nodes, recorded v and i);
* spike counts per neuron;
* the NIR paper's cosine similarity of time-averaged activity,
  :math:`\cos(\bar a, \bar b) = \bar a\cdot\bar b / (\|\bar a\|\|\bar b\|)` with :math:`\bar a` the
  mean over time, flattened over batch and neurons.

"Identical" (the semantics note): zero raster mismatches and every continuous value within
``|a - b| <= atol + rtol |b|``, with atol = rtol = 1e-9 in float64 and 1e-5 in float32.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "TOLERANCES",
    "Comparison",
    "compare",
    "raster_mismatches",
    "first_difference_step",
    "max_abs_difference",
    "spike_counts",
    "cosine_similarity",
]

TOLERANCES = {"float64": 1e-9, "float32": 1e-5}


def raster_mismatches(a: np.ndarray, b: np.ndarray) -> int:
    """Entries where exactly one of two spike rasters (any nonzero = spike) has a spike."""
    return int(np.count_nonzero((np.asarray(a) != 0) != (np.asarray(b) != 0)))


def _differs(a: np.ndarray, b: np.ndarray, tol: float | None) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if tol is None:
        return a != b
    return ~(np.abs(a - b) <= tol + tol * np.abs(b))


def first_difference_step(a: np.ndarray, b: np.ndarray, tol: float | None = None) -> int | None:
    """First time index (axis 1 of (batch, time, ...)) where the arrays differ beyond ``tol``."""
    bad = _differs(a, b, tol)
    if not bad.any():
        return None
    per_step = bad.reshape(bad.shape[0], bad.shape[1], -1).any(axis=(0, 2))
    return int(np.argmax(per_step))


def max_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    if np.size(a) == 0:
        return 0.0
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def spike_counts(raster: np.ndarray) -> np.ndarray:
    """Spikes per neuron, summed over batch and time: shape of one sample."""
    return np.count_nonzero(np.asarray(raster), axis=(0, 1))


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of time-averaged activity (1.0 when both are all zero or empty)."""
    if np.shape(a)[1] == 0:
        return 1.0
    ma = np.asarray(a, dtype=np.float64).mean(axis=1).ravel()
    mb = np.asarray(b, dtype=np.float64).mean(axis=1).ravel()
    na, nb = np.linalg.norm(ma), np.linalg.norm(mb)
    if na == 0 and nb == 0:
        return 1.0
    if na == 0 or nb == 0:
        return 0.0
    return float(ma @ mb / (na * nb))


@dataclass
class Comparison:
    """Measures of a run against the reference, and the verdict."""

    identical: bool
    mismatches: int = 0
    raster_entries: int = 0
    first_step: int | None = None
    max_abs: float = 0.0
    cosine: float = 1.0
    tolerance: float = 1e-9
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: reference states ("node.var") the result did not record: each makes the result not identical
    missing_states: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(
    result: Any,
    reference: Any,
    spiking_outputs: Mapping[str, bool] | None = None,
    dtype: str | None = None,
    states: bool = True,
) -> Comparison:
    """Compare two :class:`~nirverse.Result` objects: outputs, and (``states=True``) every state the
    reference recorded.

    ``spiking_outputs[name]`` says which outputs are rasters (default: the reference's ``spiking``
    map). Rasters are compared entry by entry; everything else with the tolerance of ``dtype``
    (default: the dtype the result was computed in). A reference state the result did not record is
    listed in ``missing_states`` and makes the result not identical; ``states=False`` compares outputs only.
    """
    dtype = dtype or getattr(result, "dtype", "float64")
    tol = TOLERANCES[dtype]
    spiking = dict(spiking_outputs if spiking_outputs is not None else getattr(reference, "spiking", {}))
    total = Comparison(identical=True, tolerance=tol)
    firsts: list[int] = []
    cosines: list[float] = []

    for name, ref in reference.outputs.items():
        if name not in result.outputs:
            total.identical = False
            total.details[name] = {"error": "output missing"}
            continue
        _account(total, firsts, cosines, name, result.outputs[name], ref, bool(spiking.get(name, False)))
    for node, ref_states in (reference.states or {}).items() if states else ():
        for var, ref in ref_states.items():
            got = (result.states or {}).get(node, {}).get(var)
            if got is None:
                total.missing_states.append(f"{node}.{var}")
                total.identical = False
                total.details[f"{node}.{var}"] = {"error": "state not recorded by the backend"}
                continue
            _account(total, firsts, cosines, f"{node}.{var}", got, ref, False)
    total.first_step = min(firsts) if firsts else None
    total.cosine = min(cosines) if cosines else 1.0
    return total


def _account(total: Comparison, firsts: list[int], cosines: list[float], key: str, a: np.ndarray, b: np.ndarray,
             raster: bool) -> None:
    """Add the comparison of ``a`` with the reference ``b`` under ``key`` to ``total`` (rasters entry by entry,
    the rest within ``total.tolerance``); collect its first differing step and its cosine."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        total.identical = False
        total.details[key] = {"error": f"shape {a.shape} != reference {b.shape}"}
        return
    entry: dict[str, Any] = {"max_abs": max_abs_difference(a, b)}
    total.max_abs = max(total.max_abs, entry["max_abs"])
    if raster:
        entry["mismatches"] = raster_mismatches(a, b)
        entry["cosine"] = cosine_similarity(a, b)
        entry["first_step"] = first_difference_step(a != 0, b != 0)
        total.mismatches += entry["mismatches"]
        total.raster_entries += int(b.size)
        cosines.append(entry["cosine"])
        ok = entry["mismatches"] == 0
    else:
        entry["first_step"] = first_difference_step(a, b, total.tolerance)
        ok = entry["first_step"] is None
    if entry["first_step"] is not None:
        firsts.append(entry["first_step"])
    total.identical &= ok
    total.details[key] = entry
