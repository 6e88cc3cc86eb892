"""Isolated calls: a crash, a hang or a runaway allocation in the child becomes an Outcome, never lost results."""

from __future__ import annotations

import pytest
from nirverse.errors import BackendUnavailableError
from nirverse.isolation import CRASHED, OK, OUT_OF_MEMORY, RAISED, TIMED_OUT, Isolated, IsolationError, call_isolated


def test_value_comes_back():
    outcome = call_isolated("math:hypot", 3.0, 4.0)
    assert outcome.status == OK and outcome.value == 5.0


def test_typed_error_comes_back_as_itself():
    outcome = call_isolated("nirverse.backends:get_backend", "no-such-backend")
    assert outcome.status == RAISED
    assert outcome.error_type.endswith("BackendUnavailableError")
    with pytest.raises(BackendUnavailableError, match="no-such-backend"):
        outcome.unwrap()


def test_crash_is_reported_with_its_signal_and_the_child_is_replaced():
    with Isolated(time_limit=60) as child:
        crashed = child.call("os:abort")
        assert crashed.status == CRASHED and crashed.signal == "SIGABRT"
        with pytest.raises(IsolationError, match="SIGABRT"):
            crashed.unwrap()
        assert child.call("math:sqrt", 4.0).value == 2.0  # a fresh child serves the next call


def test_hang_is_killed_at_the_time_limit():
    outcome = call_isolated("time:sleep", 30, time_limit=1.0)
    assert outcome.status == TIMED_OUT and outcome.wall_time < 10


def test_runaway_allocation_is_killed_at_the_memory_limit():
    outcome = call_isolated("numpy:ones", 2**29, memory_limit=256 * 2**20, time_limit=60)  # 4 GiB of float64
    assert outcome.status == OUT_OF_MEMORY
