"""Shared fixtures of the snnTorch plugin tests (helpers are fixtures: tests run with --import-mode=importlib)."""

from __future__ import annotations

import nir
import numpy as np
import pytest


def _chain(*layers, n_in: int = 3, n_out: int | None = None) -> nir.NIRGraph:
    """input(n_in) -> layers... -> output(n_out, default n_in), named l0, l1, ..."""
    nodes = {"input": nir.Input(np.array([n_in]))}
    edges, prev = [], "input"
    for i, layer in enumerate(layers):
        nodes[f"l{i}"] = layer
        edges.append((prev, f"l{i}"))
        prev = f"l{i}"
    nodes["output"] = nir.Output(np.array([n_in if n_out is None else n_out]))
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _assert_identical(graph, inputs, semantics, dtype="float64"):
    """Run on snntorch and the reference; assert the semantics' "identical"; return both results."""
    import nirverse

    ours = nirverse.run(graph, inputs, semantics, backend="snntorch", dtype=dtype, record=True)
    ref = nirverse.run(graph, inputs, semantics, backend="reference", dtype="float64", record=True)
    cmp = nirverse.compare(ours, ref, dtype=dtype)
    assert cmp.identical, cmp
    return ours, ref


@pytest.fixture
def chain():
    return _chain


@pytest.fixture
def assert_identical():
    return _assert_identical
