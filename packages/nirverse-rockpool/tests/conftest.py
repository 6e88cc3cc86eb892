"""Shared fixtures of the rockpool plugin tests."""

import numpy as np
import pytest


def _chain(*nodes, n_in: int, n_out: int | None = None):
    """input -> nodes... -> output (node names n0, n1, ...)."""
    import nir

    names = [f"n{i}" for i in range(len(nodes))]
    graph_nodes = {"input": nir.Input(np.array([n_in]))}
    graph_nodes.update(dict(zip(names, nodes)))
    graph_nodes["output"] = nir.Output(np.array([n_out or n_in]))
    edges = list(zip(["input"] + names, names + ["output"]))
    return nir.NIRGraph(nodes=graph_nodes, edges=edges, type_check=False)


@pytest.fixture
def chain():
    """Builds a chain graph: ``chain(node, ..., n_in=3, n_out=3)``."""
    return _chain
