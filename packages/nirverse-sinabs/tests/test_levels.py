"""The node levels the Sinabs backend states, checked by mutation: perturbing the named construct changes a
native/adapted node's result; perturbing every Sinabs construct leaves an emulated node identical."""

import numpy as np
import pytest

pytest.importorskip("sinabs", reason="sinabs is not installed: pip install 'nirverse[sinabs]'")
import nir  # noqa: E402
import nirverse  # noqa: E402
from nirverse import Semantics  # noqa: E402
from nirverse.backends import get_backend  # noqa: E402
from nirverse.testing import graphs  # noqa: E402

DT = 1e-3
SINABS_CONSTRUCTS = ("sinabs.layers.LIF", "sinabs.layers.IAF", "sinabs.layers.ExpLeak", "sinabs.activation.SingleSpike",
                     "sinabs.layers.SumPool2d")


def _graph(kind):
    if kind in ("I", "IF", "LI", "LIF", "CubaLI", "CubaLIF"):
        return graphs.single_neuron(kind)
    if kind == "Delay":
        return graphs.around(nir.Delay(delay=np.array([1.0, 2.0, 3.0]) * DT), (3,))
    return graphs.stateless(kind)


def _label(graph, s, kind):
    (label,) = [lab for lab in nirverse.explain(graph, s, backend="sinabs") if lab.type == kind]
    return label


def _run(graph, s):
    plan = nirverse.prepare(graph, s)
    x = np.random.default_rng(0).uniform(-1.0, 2.0, (2, 30, *plan.out_shapes[plan.inputs[0]]))
    return nirverse.compare(nirverse.run(graph, x, s, backend="sinabs"), nirverse.run(graph, x, s))


KINDS = ["I", "IF", "LI", "LIF", "CubaLI", "CubaLIF", "Affine", "Linear", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d",
         "Flatten", "Threshold", "Scale", "Delay"]


@pytest.mark.parametrize("kind", KINDS)
def test_labels_hold_under_mutation(kind):
    s = Semantics(DT, "exp", "subtract")
    graph = _graph(kind)
    label = _label(graph, s, kind)
    assert _run(graph, s).identical
    backend = get_backend("sinabs")
    if label.level == "emulated":
        for construct in SINABS_CONSTRUCTS:
            with backend.perturb(construct):
                assert _run(graph, s).identical, construct
    else:
        with backend.perturb(label.construct):
            assert not _run(graph, s).identical, label


def _lif(r=1.0, v_leak=0.0, v_reset=0.0):
    return nir.LIF(tau=np.full(3, 0.01), r=np.full(3, r), v_leak=np.full(3, v_leak), v_threshold=np.ones(3),
                   v_reset=np.full(3, v_reset))


def test_native_only_where_sinabs_does_everything():
    """LIF with r = 1, v_leak = 0 (and v_reset = 0 or a subtractive reset) is Sinabs' LIF alone; anything the
    plugin adds around it (input scale, bias, shifted membrane) makes the node adapted, with the reason."""
    sub, val = Semantics(DT, reset="subtract"), Semantics(DT)
    assert _label(graphs.around(_lif(), (3,)), sub, "LIF").level == "native"
    assert _label(graphs.around(_lif(v_reset=0.5), (3,)), sub, "LIF").level == "native"
    shifted = _label(graphs.around(_lif(v_reset=0.5), (3,)), val, "LIF")
    assert shifted.level == "adapted" and "shifted" in shifted.reason
    scaled = _label(graphs.around(_lif(r=2.0), (3,)), val, "LIF")
    assert scaled.level == "adapted" and "scaled" in scaled.reason and scaled.construct == "sinabs.layers.LIF"
    assert _label(graphs.around(_lif(v_leak=0.1), (3,)), val, "LIF").level == "adapted"
    integrator = nir.IF(r=np.ones(3), v_threshold=np.ones(3), v_reset=np.zeros(3))
    assert _label(graphs.around(integrator, (3,)), Semantics(1.0), "IF").level == "native"
    assert _label(graphs.around(integrator, (3,)), Semantics(DT), "IF").level == "adapted"


def test_refused_nodes_are_labelled_with_the_reason():
    cuba = graphs.single_neuron("CubaLIF")
    cuba.nodes["neuron"].r[1] = 0.0
    label = _label(cuba, Semantics(DT), "CubaLIF")
    assert label.level == "refused" and "r = 0" in label.reason
