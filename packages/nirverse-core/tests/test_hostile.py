"""Issue 17, item by item: hostile files, graphs and inputs get typed errors that name node/field/limit,
before anything large is allocated; nothing nir would invent is accepted; empty runs are empty."""

import os

import nir
import nirverse
import nirverse.limits
import numpy as np
import pytest
from nirverse import InvalidGraphError, InvalidInputError, Semantics, TooLargeError
from nirverse.isolation import Isolated
from nirverse.testing.hostile import CASES, attempt
from nirverse.testing.hostile._graphs import chain, delay_loop, linear_lif, nested

SEM = Semantics(1e-3)


@pytest.fixture(scope="module")
def child():
    """One isolated child for the file cases: a regression that blocks or allocates fails, never hangs."""
    with Isolated(time_limit=60, memory_limit=3 * 2**30) as isolated:
        yield isolated


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_case_on_the_reference(case_id, child, tmp_path):
    outcome = child.call(attempt, case_id, "reference", str(tmp_path))
    assert outcome.ok, outcome.describe()
    assert outcome.value["verdict"] in ("typed", "ran"), outcome.value["detail"]


def _load_error(tmp_path, case_id):
    trial = CASES[case_id].make(tmp_path)
    with pytest.raises(nirverse.NirverseError) as err:
        nirverse.load(trial.graph)
    return err.value


@pytest.mark.parametrize("case_id, words", [
    ("external_link_to_other_graph", "external link"), ("soft_link", "soft link"),
    ("named_datatype", "named datatype"), ("compound_weight", "HDF5 type"), ("path_is_device", "not a regular file"),
    ("external_storage_weight", "other files"), ("virtual_weight", "virtual dataset"),
    ("hard_link_cycle", "nested more than"),
])
def test_file_refusals_name_the_hdf5_path(tmp_path, case_id, words):
    err = _load_error(tmp_path, case_id)
    assert isinstance(err, InvalidGraphError) and err.field == "path" and words in str(err)


def _typed_detail(child, case_id, tmp_path) -> str:
    """The error message of a case run in the isolated child (cases that once hung or allocated GiB)."""
    outcome = child.call(attempt, case_id, "reference", str(tmp_path))
    assert outcome.ok, outcome.describe()
    assert outcome.value["verdict"] == "typed", outcome.value["detail"]
    return outcome.value["detail"]


def test_external_link_to_fifo_is_refused_without_opening_it(child, tmp_path):
    detail = _typed_detail(child, "external_link_to_fifo", tmp_path)
    assert "InvalidGraphError" in detail and "external link" in detail and "fifo" in detail


def test_declared_dataset_size_is_bounded_before_reading(tmp_path):
    err = _load_error(tmp_path, "unwritten_chunked_weight_1e10")
    assert isinstance(err, TooLargeError) and "(100000, 100000)" in str(err) and "NIRVERSE_MAX_ELEMENTS" in str(err)


@pytest.mark.parametrize("case_id, node, kind", [("file_without_input", "<root>", "Input"),
                                                 ("file_without_output", "<root>", "Output")])
def test_file_without_input_or_output(tmp_path, case_id, node, kind):
    err = _load_error(tmp_path, case_id)
    assert err.node == node and f"no {kind} node" in str(err) and "invent" in str(err)


def test_orphan_in_a_file_names_the_file_node_not_an_invented_one(tmp_path):
    err = _load_error(tmp_path, "file_with_orphan_node")
    assert err.node == "stray" and err.field == "edges"


def test_node_name_with_slash(tmp_path):
    err = _load_error(tmp_path, "node_name_with_slash")
    assert err.node == "a" and err.field == "type" and "'/'" in str(err)


def test_paper_files_still_load(paper_dir):
    for path in sorted(paper_dir.glob("*.nir")):
        assert isinstance(nirverse.load(path), nir.NIRGraph)


def test_edges_none():
    graph = linear_lif()
    graph.edges = None
    with pytest.raises(InvalidGraphError, match="'edges'") as err:
        nirverse.prepare(graph, SEM)
    assert err.value.node == "<root>"


def test_nested_3000_deep():
    with pytest.raises(InvalidGraphError, match="nested more than 64") as err:
        nirverse.prepare(nested(3000), SEM)
    assert err.value.field == "nodes"
    nirverse.prepare(nested(10), SEM)  # ordinary nesting still fine


@pytest.mark.parametrize("delay", [1e300, 1e30, 1e6])
def test_delay_step_count_bounded_before_int_conversion(delay):
    for graph in (chain(("d", nir.Delay(delay=np.full(3, delay)))), delay_loop(delay)):
        with pytest.raises(TooLargeError) as err:
            nirverse.prepare(graph, SEM)
        assert err.value.node in ("d", "delay") and err.value.field == "delay"


def test_delay_steps_never_wrap_round():
    from nirverse.validation import delay_steps

    with pytest.raises(TooLargeError):
        delay_steps("d", np.array([1e300]), 1e-3)
    assert delay_steps("d", np.array([0.0, 3e-3]), 1e-3).tolist() == [0, 3]


def test_delay_buffer_bounded_with_the_batch(monkeypatch):
    monkeypatch.setattr(nirverse.limits, "MAX_ELEMENTS", 10_000)
    graph = delay_loop(0.5)  # 500 steps x 3 values per sample: fine alone
    nirverse.prepare(graph, SEM)
    with pytest.raises(TooLargeError, match="delay-buffer"):
        nirverse.run(graph, np.zeros((10, 1, 3)), SEM)  # x 10 samples: 15,030 buffered values


def test_broadcast_input_bounded_before_copy(child, tmp_path):
    detail = _typed_detail(child, "input_broadcast_view_huge", tmp_path)
    assert "TooLargeError: field 'inputs': batch 100000 x time 10000" in detail


def test_intermediate_shape_counts(child, tmp_path):
    detail = _typed_detail(child, "linear_1_to_1e5", tmp_path)
    assert "TooLargeError" in detail and "200001 values per step" in detail


def test_weight_view_bounded_before_conversion(child, tmp_path):
    detail = _typed_detail(child, "weight_broadcast_view_1e10", tmp_path)
    assert "TooLargeError: node 'lin', field 'weight'" in detail


def test_limit_opt_out(monkeypatch):
    assert nirverse.limits.parse_limit("0") == float("inf") and nirverse.limits.parse_limit("none") == float("inf")
    assert nirverse.limits.parse_limit("1000") == 1000 and nirverse.limits.parse_limit("junk") == 2**27
    monkeypatch.setattr(nirverse.limits, "MAX_ELEMENTS", float("inf"))
    nirverse.limits.check_elements(10**15, "anything")  # switched off
    with pytest.raises(TooLargeError):  # a step count beyond 2**53 stays refused
        nirverse.prepare(chain(("d", nir.Delay(delay=np.full(3, 1e300)))), SEM)


def test_default_limit_refuses_gibibytes():
    assert nirverse.limits.DEFAULT_MAX_ELEMENTS * 8 <= 2**30


@pytest.mark.parametrize("shape", [(0, 5, 2), (2, 0, 2), (0, 0, 2)])
def test_empty_runs_are_empty(shape):
    result = nirverse.run(linear_lif(), np.zeros(shape), SEM, record=True)
    assert result.outputs["output"].shape == (*shape[:2], 3)
    assert result.states["lif"]["v"].shape == (*shape[:2], 3)


def test_inputs_still_typed():
    with pytest.raises(InvalidInputError, match="NaN"):
        nirverse.run(linear_lif(), np.full((1, 2, 2), np.nan), SEM)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_path_refused_without_blocking(tmp_path, child):
    outcome = child.call("nirverse:load", str(CASES["path_is_fifo"].make(tmp_path).graph), time_limit=30)
    assert outcome.status == "raised" and "not a regular file" in outcome.message
