"""The level labels: explain() per node, run(require=...) refusing below the level, the mutation helper."""

from __future__ import annotations

import nirverse
import numpy as np
import pytest
from nirverse.levels import ADAPTED, EMULATED, NATIVE, REFUSED, NodeLevel, at_least
from nirverse.testing.catalogue import load_cases
from nirverse.testing.mutation import perturbed, shift


def test_order_of_levels():
    assert at_least(NATIVE, ADAPTED) and at_least(ADAPTED, EMULATED) and not at_least(EMULATED, NATIVE)
    assert not at_least(REFUSED, EMULATED)
    with pytest.raises(ValueError):
        NodeLevel("n", "LIF", "magic", "x", "y")


def test_reference_explains_every_node_native():
    case = load_cases(["recurrent-lif-euler-value-imm"])[0]
    labels = nirverse.explain(case.graph(), case.semantics)
    assert labels and all(label.level == NATIVE for label in labels)
    assert {label.type for label in labels} >= {"LIF"}


def test_require_refuses_nodes_below_the_level(monkeypatch):
    from nirverse.backends import ReferenceBackend

    def emulated(self, plan, name, dtype):
        return NodeLevel(name, plan.types[name], EMULATED, "nirverse.reference.simulate", "test double")

    monkeypatch.setattr(ReferenceBackend, "node_level", emulated)
    case = load_cases(["single-lif-euler-value-imm"])[0]
    nirverse.run(case.graph(), case.inputs, case.semantics)  # the default accepts anything identical
    with pytest.raises(nirverse.UnsupportedNodeError, match="require='native'") as info:
        nirverse.run(case.graph(), case.inputs, case.semantics, require="native")
    assert info.value.field == "level" and info.value.node
    with pytest.raises(nirverse.InvalidInputError, match="require"):
        nirverse.run(case.graph(), case.inputs, case.semantics, require="best")


class _Model:
    def forward(self, x):
        return x * 2, {"v": x}


def test_perturbed_shifts_floating_results_and_restores():
    construct = f"{__name__}._Model"
    x = np.ones(3)
    with perturbed(construct, amount=0.5):
        out, state = _Model().forward(x)
        assert np.allclose(out, 2.5) and np.allclose(state["v"], 1.5)
    out, _ = _Model().forward(x)
    assert np.allclose(out, 2.0)
    assert shift(np.arange(3), 1.0).tolist() == [0, 1, 2]  # integer arrays are left alone


def test_single_neuron_cases_and_labelled_constructs():
    from nirverse.testing.mutation import labelled_constructs, single_neuron_cases

    chosen = {c.id for c in single_neuron_cases(load_cases())}
    assert "single-lif-euler-value-imm" in chosen and "recurrent-lif-euler-value-imm" in chosen
    assert "feedforward-euler-value-imm" not in chosen and "stateless-affine" not in chosen
    assert labelled_constructs("reference") == {"nirverse.reference.simulate"}


def test_perturbing_the_reference_makes_a_case_deviate():
    """The mechanism the kit's mutation check relies on, on the reference's own construct."""
    from nirverse.backends import get_backend
    from nirverse.testing.verdict import run_case

    case = load_cases(["single-lif-euler-value-imm"])[0]
    assert run_case("reference", case).status == "identical"
    with get_backend("reference").perturb("nirverse.reference.simulate"):
        assert run_case("reference", case).status == "deviating"
    assert run_case("reference", case).status == "identical"


def test_coverage_tables_come_from_explain():
    from nirverse.testing.coverage import catalogue_levels, grid_markdown, matrix_markdown, share_text

    counts = catalogue_levels("reference")
    assert set(counts) == {NATIVE} and counts[NATIVE] >= 80
    assert share_text(counts).startswith(f"{counts[NATIVE]}/{counts[NATIVE]} native (100%)")
    grid = grid_markdown("reference")
    assert "| LIF | all | **native** | `nirverse.reference.simulate` |" in grid
    assert "| CubaLIF | all | N |" in matrix_markdown(["reference"])
