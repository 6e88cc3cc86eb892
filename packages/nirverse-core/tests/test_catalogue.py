"""The stored conformance catalogue equals what the generator produces now (ONNX-style drift check)."""

import numpy as np
from nirverse.testing import load_cases
from nirverse.testing.catalogue import MARGIN, SPECS, drift


def test_catalogue_has_no_drift():
    assert drift() == []


def test_catalogue_covers_every_node_type():
    from nirverse.validation import NODE_TYPES

    covered = set().union(*(c.tags for c in load_cases()))
    assert NODE_TYPES - {"Input", "Output"} <= covered | {"Delay"}
    assert "Delay" in covered
    ids = [s.id for s in SPECS]
    assert len(ids) == len(set(ids))


def test_paper_lif_case_spikes_where_the_paper_says():
    (case,) = load_cases(["paper-lif-exp-subtract-imm"])
    assert np.nonzero(case.outputs["output"][0, :, 0])[0].tolist() == [460, 510, 710, 760]


def test_float32_cases_pass_the_margin_check():
    from nirverse import prepare
    from nirverse.reference import simulate

    for case in load_cases():
        if case.dtype != "float32":
            continue
        plan = prepare(case.graph(), case.semantics)
        _, states = simulate(plan, case.inputs, "float64", record=True, pre_reset=True)
        for name, rec in states.items():
            if "u" in rec:
                assert np.min(np.abs(rec["u"] - plan.params[name]["v_threshold"])) >= MARGIN, (case.id, name)


def test_every_stored_case_spikes_or_moves():
    for case in load_cases():
        if case.family == "fuzz":  # a shrunk reproducer: what it catches may be in the recorded states only
            values = [*case.outputs.values(), *(v for s in case.states.values() for v in s.values())]
            assert any(np.any(v != 0) for v in values), case.id
            continue
        for name, out in case.outputs.items():
            assert np.any(out != 0), (case.id, name)
