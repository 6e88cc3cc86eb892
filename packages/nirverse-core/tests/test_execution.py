"""The core executor: layout independence, a group run by a framework construct, namespaces."""

import numpy as np
import pytest
from nirverse import Semantics, prepare
from nirverse.execution import execute, namespace_of
from nirverse.reference import make_operator, simulate
from nirverse.testing import graphs, load_cases


def _ops(plan, dtype):
    return {n: make_operator(plan, n, np.dtype(dtype)) for n in plan.order}


@pytest.mark.parametrize("case", [c for c in load_cases() if "rec" in c.id or "rnn" in c.id][:4], ids=lambda c: c.id)
def test_time_major_equals_batch_major(case):
    """The same plan and operators, time axis first: the very same numbers, transposed."""
    plan = prepare(case.graph(), case.semantics)
    batch_major = {n: np.asarray(case.inputs[n], case.dtype) for n in plan.inputs}
    time_major = {n: np.swapaxes(x, 0, 1) for n, x in batch_major.items()}
    ref, ref_states = execute(plan, _ops(plan, case.dtype), batch_major, dtype=case.dtype, record=True)
    ours, states = execute(plan, _ops(plan, case.dtype), time_major, dtype=case.dtype, time_axis=0, record=True)
    for n in plan.outputs:
        np.testing.assert_array_equal(np.swapaxes(ours[n], 0, 1), ref[n])
    assert states.keys() == ref_states.keys()
    for n, traces in states.items():
        for k, v in traces.items():
            np.testing.assert_array_equal(np.swapaxes(v, 0, 1), ref_states[n][k])


def test_a_construct_runs_its_group_and_nothing_else_steps_it():
    """A cyclic group given to ``constructs`` is filled in by it, not stepped by the executor."""
    plan = prepare(graphs.recurrent("LIF"), Semantics(1e-3))
    (group,) = [g for g in plan.groups if plan.is_cyclic(g)]
    x = np.random.default_rng(0).normal(size=(2, 7, *plan.out_shapes[plan.inputs[0]]))
    expected, _ = simulate(plan, {plan.inputs[0]: x})
    full, _ = execute(plan, _ops(plan, "float64"), {plan.inputs[0]: x}, dtype=np.float64)
    called = []

    def construct(values, states):
        called.append(group)
        for n in group:
            values[n] = full[n]

    ops = {n: op for n, op in _ops(plan, "float64").items() if n not in group}
    out, _ = execute(plan, ops, {plan.inputs[0]: x}, dtype=np.float64, constructs={group: construct})
    assert called == [group]
    for n in plan.outputs:
        np.testing.assert_array_equal(out[n], expected[n])


def test_namespace_of_refuses_an_unknown_array():
    with pytest.raises(TypeError, match="no array namespace"):
        namespace_of([1.0, 2.0])
    assert namespace_of(np.zeros(1)).concat is np.concatenate
