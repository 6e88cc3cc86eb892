"""Property-based: random valid graphs (node types, shapes, parameters, semantics) through every available
backend against the reference. Bounded: small graphs, few steps, a fixed number of examples per backend."""

import nir
import nirverse
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nirverse import Semantics, UnsupportedNodeError, UnsupportedSemanticsError
from nirverse.testing import simulator_backends
from nirverse.testing.graphs import neuron_node

NEURONS = ["I", "IF", "LI", "LIF", "CubaLI", "CubaLIF"]


@st.composite
def graphs_and_semantics(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n_in = draw(st.integers(1, 4))
    layers = draw(st.lists(st.tuples(st.sampled_from(["Affine", "Linear"]), st.sampled_from(NEURONS),
                                     st.integers(1, 5)), min_size=1, max_size=3))
    nodes = {"input": nir.Input(np.array([n_in]))}
    edges, prev, width = [], "input", n_in
    neuron_names = []
    for i, (syn, kind, n) in enumerate(layers):
        w = rng.normal(0.8, 0.6, (n, width)) * 2
        nodes[f"w{i}"] = nir.Affine(weight=w, bias=rng.uniform(0, 0.5, n)) if syn == "Affine" else nir.Linear(weight=w)
        nodes[f"n{i}"] = neuron_node(kind, n, rng, scale=1.5)
        edges += [(prev, f"w{i}"), (f"w{i}", f"n{i}")]
        prev, width = f"n{i}", n
        neuron_names.append((f"n{i}", n))
    if draw(st.booleans()):  # a recurrent loop through a Linear
        name, n = neuron_names[draw(st.integers(0, len(neuron_names) - 1))]
        nodes["rec"] = nir.Linear(weight=rng.normal(0, 0.5, (n, n)))
        edges += [(name, "rec"), ("rec", name)]
    if draw(st.booleans()):  # a Scale and a Delay before the output
        nodes["scale"] = nir.Scale(scale=rng.uniform(0.5, 2, width))
        edges.append((prev, "scale"))
        prev = "scale"
    nodes["output"] = nir.Output(np.array([width]))
    edges.append((prev, "output"))
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    sem = Semantics(1e-3, method=draw(st.sampled_from(["euler", "exp"])), reset=draw(st.sampled_from(["value", "subtract"])),
                    latency=draw(st.sampled_from(["immediate", "one-step"])))
    x = rng.uniform(0, 2, (2, draw(st.integers(5, 25)), n_in))
    return graph, sem, x


@pytest.mark.parametrize("backend", simulator_backends())
def test_random_graphs_match_reference(backend):
    try:
        if not nirverse.backend_info(backend).available:
            pytest.skip(nirverse.backend_info(backend).reason)
    except nirverse.BackendUnavailableError as exc:
        pytest.skip(str(exc))

    @settings(max_examples=12, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(graphs_and_semantics())
    def check(case):
        graph, sem, x = case
        reference = nirverse.run(graph, x, sem, record=True)
        try:
            result = nirverse.run(graph, x, sem, backend=backend, record=True)
        except (UnsupportedNodeError, UnsupportedSemanticsError):
            return  # refusing is allowed; running differently is not
        cmp = nirverse.compare(result, reference)
        assert cmp.identical, cmp.to_dict()

    check()
