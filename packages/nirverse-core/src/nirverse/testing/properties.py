"""Properties of one backend on a :class:`~nirverse.testing.strategies.FuzzCase`, beyond "equals the reference".

* :func:`flat_twin_agrees` -- a nested graph runs exactly as its flat twin (the semantics note, step 1);
* :func:`round_trip_agrees` -- build the native model, export it (``Backend.to_nir``), ``nir.write``,
  ``nir.read``, import and run it again: the same numbers as the reference on the original graph;
* :func:`float32_agrees` -- on margin-checked inputs, the backend's float32 run equals its own float64
  run under the float32 tolerance.

Each returns the :class:`~nirverse.compare.Comparison`; a typed refusal propagates (the caller skips).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nir

from ..api import Result, run
from ..compare import Comparison, compare
from .strategies import FuzzCase, flat_twin

__all__ = ["flat_twin_agrees", "round_trip_agrees", "float32_agrees", "exported"]


def _run(backend: str, graph, case: FuzzCase, dtype: str | None = None) -> Result:
    return run(graph, case.inputs, case.semantics, backend=backend, dtype=dtype or case.dtype, record=False)


def flat_twin_agrees(backend: str, case: FuzzCase) -> Comparison:
    """Outputs of ``case.graph`` and of its flat twin on ``backend`` (the verdict's tolerance of ``case.dtype``)."""
    nested = _run(backend, case.graph, case)
    flat = _run(backend, flat_twin(case.graph), case)
    return compare(flat, nested, dtype=case.dtype)


def exported(backend: str, case: FuzzCase) -> nir.NIRGraph:
    """The backend's native model of ``case`` exported to NIR, written to a file and read back."""
    from ..backends import get_backend
    from ..graph import prepare

    impl = get_backend(backend)
    plan = prepare(case.graph, case.semantics)
    impl.check_support(plan, case.semantics, case.dtype)
    graph = impl.to_nir(impl.build(plan, case.dtype), case.semantics)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "exported.nir"
        nir.write(path, graph)
        return nir.read(path)


def round_trip_agrees(backend: str, case: FuzzCase) -> Comparison:
    """export -> write -> read -> import on ``backend``, against the reference on the original graph."""
    graph = exported(backend, case)
    expected = run(case.graph, case.inputs, case.semantics)
    return compare(_run(backend, graph, case), expected, dtype=case.dtype)


def float32_agrees(backend: str, case: FuzzCase) -> Comparison:
    """The backend in float32 against itself in float64 (``case`` must be margin-checked for float32)."""
    single = _run(backend, case.graph, case, "float32")
    double = _run(backend, case.graph, case, "float64")
    return compare(single, double, dtype="float32")
