"""Tonic events <-> nir.EventData / nir.TimeGriddedData: round trips, layout, refusals."""

import nir
import nirverse_tonic as nt
import numpy as np
import pytest
from nirverse import InvalidInputError

SIZE = (34, 34, 2)


def _canonical(ev):
    return np.sort(ev, order=["t", "p", "y", "x"])


def test_event_data_layout_is_the_frame_c_order(make_events):
    ev = make_events(50)
    data = nt.to_event_data(ev, SIZE)
    frame = np.zeros((2, 34, 34))
    np.add.at(frame, (ev["p"], ev["y"], ev["x"]), 1)
    flat = np.bincount(data.idx[0], minlength=data.n_neurons)
    np.testing.assert_array_equal(flat, frame.ravel())
    assert data.n_neurons == 2 * 34 * 34
    np.testing.assert_array_equal(data.time[0], ev["t"] / 1e6)
    assert data.t_max == ev["t"].max() / 1e6


@pytest.mark.parametrize("dtype", [
    np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]),  # N-MNIST
    np.dtype([("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)]),  # DVS Gesture
])
def test_events_event_data_events_is_loss_free(make_events, dtype):
    # several samples of different lengths, unsorted times and duplicate events: all kept in order
    a = make_events(400, dtype=dtype, sort=False)
    a = np.concatenate([a, a[:7]])
    b = make_events(300, dtype=dtype, t_end=10**15)  # up to 31 years: still exact through float64 seconds
    data = nt.to_event_data([a, b], SIZE)
    assert data.idx.shape == (2, 407)
    assert np.all(data.idx[1, 300:] == -1) and np.all(np.isinf(data.time[1, 300:]))
    back = nt.from_event_data(data, SIZE, dtype=dtype)
    assert back[0].dtype == dtype
    np.testing.assert_array_equal(back[0], a)
    np.testing.assert_array_equal(back[1], b)


def test_event_data_events_event_data_is_loss_free(rng):
    n_neurons = 2 * 34 * 34
    idx = rng.integers(0, n_neurons, (3, 20))
    time = rng.integers(0, 10**6, (3, 20)) / 1e6
    idx[2, 12:] = -1
    time[2, 12:] = np.inf
    data = nir.EventData(idx=idx, time=time, n_neurons=n_neurons, t_max=1.0)
    again = nt.to_event_data(nt.from_event_data(data, SIZE), SIZE, t_max=1.0)
    np.testing.assert_array_equal(again.idx, data.idx)
    np.testing.assert_array_equal(again.time, data.time)
    assert (again.n_neurons, again.t_max) == (data.n_neurons, data.t_max)


def test_times_that_are_not_whole_microseconds_are_refused_not_rounded():
    data = nir.EventData(idx=np.array([[0]]), time=np.array([[1.5e-6]]), n_neurons=2312, t_max=1.0)
    with pytest.raises(InvalidInputError, match="'time'.*whole microseconds"):
        nt.from_event_data(data, SIZE)
    floats = np.dtype([("x", int), ("y", int), ("t", float), ("p", int)])
    assert nt.from_event_data(data, SIZE, dtype=floats)[0]["t"][0] == pytest.approx(1.5, rel=1e-15)


def test_time_gridded_counts_events_per_step(make_events):
    ev = make_events(3000, t_end=50_000)
    grid = nt.to_time_gridded(ev, SIZE, dt=1e-3)
    assert isinstance(grid, nir.TimeGriddedData) and grid.dt == 1e-3
    assert grid.data.shape == (1, 50, 2312) and grid.data.dtype == np.int64
    expected = np.zeros((50, 2, 34, 34), dtype=np.int64)
    np.add.at(expected, (ev["t"] // 1000, ev["p"], ev["y"], ev["x"]), 1)
    np.testing.assert_array_equal(grid.data[0], expected.reshape(50, -1))
    binary = nt.to_time_gridded(ev, SIZE, dt=1e-3, binary=True)
    assert binary.data.dtype == bool
    np.testing.assert_array_equal(binary.data, grid.data > 0)


def test_events_on_the_grid_round_trip_through_time_gridded(make_events):
    ev = make_events(2000)
    ev["t"] = 500 + (ev["t"] // 250) * 250  # on the grid of dt = 250 µs starting at 500 µs
    ev = np.concatenate([ev, ev[:5]])  # duplicates survive as counts
    grid = nt.to_time_gridded(ev, SIZE, dt=250e-6, start_time=500)
    assert grid.data.max() >= 2
    back = nt.from_time_gridded(grid, SIZE, start_time=500, dtype=ev.dtype)[0]
    np.testing.assert_array_equal(back, _canonical(ev))


def test_time_gridded_events_time_gridded_is_loss_free(rng):
    counts = rng.poisson(0.05, (2, 40, 2 * 8 * 6)).astype(np.int64)
    grid = nir.TimeGriddedData(counts, 1e-4)
    again = nt.to_time_gridded(nt.from_time_gridded(grid, (8, 6, 2)), (8, 6, 2), dt=1e-4, n_steps=40)
    np.testing.assert_array_equal(again.data, counts)
    boolean = nir.TimeGriddedData(counts > 0, 1e-4)
    again = nt.to_time_gridded(nt.from_time_gridded(boolean, (8, 6, 2)), (8, 6, 2), dt=1e-4, n_steps=40, binary=True)
    np.testing.assert_array_equal(again.data, boolean.data)


def test_sub_step_timing_is_what_time_gridded_loses(make_events):
    ev = make_events(500, t_end=20_000)
    back = nt.from_time_gridded(nt.to_time_gridded(ev, SIZE, dt=1e-3), SIZE)[0]
    assert len(back) == len(ev)
    np.testing.assert_array_equal(np.sort(back["t"]), np.sort(ev["t"] // 1000 * 1000))
    assert not np.array_equal(np.sort(back["t"]), np.sort(ev["t"]))


def test_sensors_without_y_use_h_equal_1(make_events):
    # SHD-shaped: fields (t, x, p), sensor_size (700, 1, 1)
    shd = np.dtype([("t", int), ("x", int), ("p", int)])
    ev = make_events(300, sensor_size=(700, 1, 1), dtype=shd)
    data = nt.to_event_data(ev, (700, 1, 1))
    np.testing.assert_array_equal(data.idx[0], ev["x"])
    np.testing.assert_array_equal(nt.from_event_data(data, (700, 1, 1), dtype=shd)[0], ev)


def test_nirs_own_event_to_grid_conversion_misplaces_events_on_step_edges():
    # nir.EventData.to_time_gridded bins floor(time / dt) in float seconds, so an event exactly on a
    # step edge can land one step early: 43 ms / 1 ms = 42.99999999999999 -> step 42. Measured on one
    # event per whole millisecond in [0, 1 s) at dt = 1 ms (126 of 1000 misplaced with nir 1.0.8);
    # binning in whole microseconds places every one in its own step.
    n = 1000
    ev = np.zeros(n, dtype=[("x", int), ("y", int), ("t", int), ("p", int)])
    ev["x"] = np.arange(n) % 34
    ev["t"] = np.arange(n) * 1000
    data = nt.to_event_data(ev, SIZE, t_max=1.001)
    theirs = data.to_time_gridded(1e-3).data[0]
    ours = nt.to_time_gridded(ev, SIZE, dt=1e-3).data[0]
    expected = np.zeros_like(theirs)
    expected[np.arange(n), ev["x"]] = True
    np.testing.assert_array_equal(ours > 0, expected)
    misplaced = int(np.sum(theirs[np.arange(n), ev["x"]] == 0))
    assert misplaced > 0
    assert not theirs[43, 43 % 34] and theirs[42, 43 % 34]


@pytest.mark.parametrize("field, value, match", [
    ("x", 34, "'events\\[0\\].x'.*0 <= value < 34"),
    ("y", -1, "'events\\[0\\].y'"),
    ("p", 2, "'events\\[0\\].p'.*< 2"),
])
def test_events_outside_the_sensor_are_refused(make_events, field, value, match):
    ev = make_events(10)
    ev[field][3] = value
    with pytest.raises(InvalidInputError, match=match):
        nt.to_event_data(ev, SIZE)


@pytest.mark.parametrize("call", [
    lambda ev: nt.to_event_data(ev, (34, 34)),
    lambda ev: nt.to_event_data(ev[["x", "y", "p"]], SIZE),
    lambda ev: nt.to_event_data(ev, SIZE, t_max=1e-6),
    lambda ev: nt.to_time_gridded(ev, SIZE, dt=0.0),
    lambda ev: nt.to_time_gridded(ev, SIZE, dt=1e-3, n_steps=0),
    lambda ev: nt.from_time_gridded(nir.TimeGriddedData(np.full((1, 2, 2312), 0.5), 1e-3), SIZE),
    lambda ev: nt.from_time_gridded(nir.TimeGriddedData(np.zeros((1, 2, 99)), 1e-3), SIZE),
    lambda ev: nt.from_event_data(nir.EventData(np.array([[2312]]), np.array([[0.0]]), 2312, 1.0), SIZE),
    lambda ev: nt.from_event_data(nir.EventData(np.array([[0]]), np.array([[0.0]]), 10, 1.0), SIZE),
])
def test_bad_arguments_raise_typed_errors_naming_the_field(make_events, call):
    with pytest.raises(InvalidInputError, match="field '"):
        call(make_events(10))
