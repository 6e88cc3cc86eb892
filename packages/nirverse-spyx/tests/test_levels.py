"""The node levels the spyx backend states, checked by mutation (``nirverse.testing.mutation``).

A node labelled native or adapted must deviate from the reference when the construct it names computes
slightly wrong results; an emulated node must stay identical while every construct the backend names is
perturbed; refusals are typed and agree with ``check_support``.
"""

import numpy as np
import pytest

pytest.importorskip("spyx", reason="spyx is not installed: pip install 'nirverse[spyx]'")

import nir  # noqa: E402
import nirverse  # noqa: E402
from nirverse import Semantics  # noqa: E402
from nirverse.backends import get_backend  # noqa: E402
from nirverse.compare import compare  # noqa: E402
from nirverse.levels import ADAPTED, EMULATED, NATIVE, REFUSED  # noqa: E402
from nirverse.testing import graphs  # noqa: E402
from nirverse.testing.catalogue import load_cases  # noqa: E402

BACKEND = get_backend("spyx")
#: one case per construct the backend names
MUTATED = [
    "single-i-euler-value-imm", "single-li-exp-value-imm", "single-if-euler-subtract-imm", "single-if-euler-value-imm",
    "single-lif-exp-subtract-imm", "single-lif-euler-value-imm", "single-cubali-exp-value-imm",
    "single-cubalif-euler-subtract-imm", "stateless-affine", "stateless-linear", "stateless-conv1d",
    "stateless-conv2d", "stateless-sumpool2d", "stateless-avgpool2d", "stateless-threshold",
    "paper-cnn-euler-subtract-imm",
]
ALL_CONSTRUCTS = ["flax.nnx.Linear", "flax.nnx.Conv", "spyx.nn.LI", "spyx.nn.IF", "spyx.nn.LIF", "spyx.nn.CuBaLIF",
                  "spyx.nn.SumPool", "spyx.nn.Flatten", "spyx.axn.heaviside"]


def _identical(graph, x, semantics, expected):
    result = nirverse.run(graph, x, semantics, backend="spyx", record=bool(expected.states))
    return compare(result, expected).identical


def _expected(graph, x, semantics):
    return nirverse.run(graph, x, semantics, record=True)


#: catalogue cases with a node Spyx refuses (measured on the 91 stored cases): node -> the field named. All
#: four are Cuba nodes whose r * kappa(tau_mem) is 0 or too small for i = (I - K) / k to be read back.
REFUSED_CASES = {
    "fuzz-snntorch-cubalif-tiny-r-exp-value-imm": {"cubalif3": "r"},
    "fuzz-snntorch-cubali-subnormal-r-euler-subtract-1step": {"block3_cubali2": "r"},
    "fuzz-snntorch-cubali-tiny-r-exp-value-imm-f32": {"cubali3": "r"},
    "fuzz-rockpool-cubalif-zero-r-exp-value-imm-f32": {"cubalif2": "r"},
}


def test_every_catalogue_node_is_labelled():
    for case in load_cases():
        labels = nirverse.explain(case.graph(), case.semantics, "spyx", case.dtype)
        refused = {label.node: label.reason for label in labels if label.level == REFUSED}
        assert {node: f"field {field!r}" in refused.get(node, "") for node, field in
                REFUSED_CASES.get(case.id, {}).items()} == dict.fromkeys(refused, True), case.id
        assert labels and all(label.level in (NATIVE, ADAPTED, EMULATED, REFUSED) for label in labels), case.id
        assert all(label.construct == "spyx.nn.StatefulLayer" for label in labels if label.level == EMULATED)


@pytest.mark.parametrize("case_id", MUTATED)
def test_native_and_adapted_labels_are_load_bearing(case_id):
    case = load_cases([case_id])[0]
    labels = nirverse.explain(case.graph(), case.semantics, "spyx")
    constructs = sorted({label.construct for label in labels if label.level in (NATIVE, ADAPTED)})
    assert constructs, case_id
    expected = _expected(case.graph(), case.inputs, case.semantics)
    assert _identical(case.graph(), case.inputs, case.semantics, expected)
    for construct in constructs:
        with BACKEND.perturb(construct):
            assert not _identical(case.graph(), case.inputs, case.semantics, expected), (case_id, construct)


@pytest.mark.parametrize("node, shape", [
    (nir.Scale(np.array([0.5, -2.0, 3.0])), (3,)),
    (nir.Delay(np.array([0.0, 2e-3, 5e-3])), (3,)),
    (nir.Flatten(input_type={"input": np.array([2, 3, 4])}, start_dim=1, end_dim=2), (2, 3, 4)),
])
def test_emulated_nodes_do_not_depend_on_any_construct(node, shape):
    graph, s = graphs.around(node, shape), Semantics(1e-3)
    x = np.random.default_rng(0).normal(size=(2, 12, *shape))
    (label,) = nirverse.explain(graph, s, "spyx")
    assert label.level == EMULATED
    expected = _expected(graph, x, s)
    with_all = [BACKEND.perturb(c) for c in ALL_CONSTRUCTS]
    for ctx in with_all:
        ctx.__enter__()
    try:
        assert _identical(graph, x, s, expected)
    finally:
        for ctx in reversed(with_all):
            ctx.__exit__(None, None, None)


def _lif(**kw):
    p = dict(tau=np.full(2, 2e-3), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2), v_reset=np.zeros(2))
    p.update(kw)
    return graphs.around(nir.LIF(**p), (2,))


def _cubalif(**kw):
    p = dict(tau_syn=np.full(2, 2e-3), tau_mem=np.full(2, 4e-3), r=np.ones(2), v_leak=np.zeros(2),
             v_threshold=np.ones(2), v_reset=np.zeros(2), w_in=np.ones(2))
    p.update(kw)
    return graphs.around(nir.CubaLIF(**p), (2,))


@pytest.mark.parametrize("graph, semantics, field", [
    (_lif(tau=np.array([2e-3, 5e-4])), Semantics(1e-3), "tau"),  # kappa = 2: Spyx clips beta = -1 to 0
    (_cubalif(r=np.array([1.0, 0.0])), Semantics(1e-3), "r"),
    (_cubalif(v_reset=np.array([0.0, 1.5])), Semantics(1e-3, reset="value"), "v_reset"),
    (_cubalif(v_leak=np.array([0.0, 1.5])), Semantics(1e-3, reset="subtract"), "v_leak"),
])
def test_refusals_are_typed_and_labelled(graph, semantics, field):
    with pytest.raises(nirverse.UnsupportedNodeError) as info:
        nirverse.run(graph, np.zeros((1, 3, 2)), semantics, backend="spyx")
    assert info.value.field == field and info.value.node == "node"
    (label,) = nirverse.explain(graph, semantics, "spyx")
    assert label.level == REFUSED and field in label.reason


@pytest.mark.parametrize("semantics", [Semantics(1e-3, reset="value"), Semantics(1e-3, reset="subtract")])
def test_lif_reset_and_rest_above_threshold_are_corrected(semantics):
    """IF/LIF take a correction for Spyx's subtraction from the given state: a v_reset or v_leak above the
    threshold (which a CubaLIF refuses) runs identically."""
    graph = _lif(v_leak=np.array([1.2, 0.0]), v_reset=np.array([1.5, -0.2]), v_threshold=np.array([1.0, 0.3]))
    x = np.random.default_rng(1).uniform(0, 2, (2, 40, 2))
    expected = _expected(graph, x, semantics)
    assert expected.outputs["output"].sum() > 5
    assert _identical(graph, x, semantics, expected)
