"""ToGraphInput against Tonic's own ToFrame(time_window=...), and the graph Input shape check."""

import nir
import nirverse_tonic as nt
import numpy as np
import pytest
from nirverse import InvalidInputError, Semantics

tonic_transforms = pytest.importorskip("tonic.transforms", reason="pip install tonic")
ToFrame = tonic_transforms.ToFrame


def _graph(shape):
    """Input(shape) -> Output: enough for the transform, which reads only the Input's shape."""
    shape = np.array(shape)
    return nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": shape}), "output": nir.Output(output_type={"output": shape})},
        edges=[("input", "output")],
    )


CASES = [
    # (sensor_size, dt [s], start_time [µs] or None, t_end [µs])
    ((34, 34, 2), 1e-3, 0, 300_000),
    ((34, 34, 2), 1e-3, None, 300_000),
    ((34, 34, 2), 2.5e-4, 1234, 40_000),
    ((34, 34, 2), 3.3e-4, 0, 30_000),  # 330.00000000000006 µs in float: a whole number here
    ((34, 34, 2), 1 / 3 * 1e-3, 0, 20_000),  # 333.33... µs: float windows, Tonic's float arithmetic
    ((128, 128, 2), 5e-3, 0, 100_000),  # DVS Gesture's sensor
    ((40, 30, 2), 7.77e-4, None, 50_000),
    ((16, 12, 1), 1e-3, 0, 20_000),  # single polarity
]


@pytest.mark.parametrize("sensor_size, dt, start, t_end", CASES)
def test_frames_equal_tonics_to_frame(make_events, sensor_size, dt, start, t_end):
    W, H, P = sensor_size
    ev = make_events(4000, sensor_size=sensor_size, t_end=t_end)
    transform = nt.ToGraphInput(_graph((P, H, W)), Semantics(dt), sensor_size, start_time=start)
    ours = transform(ev)
    window = dt * 1e6
    n = ours.shape[0]
    s = ev["t"][0] if start is None else start
    theirs = ToFrame(sensor_size, time_window=window, start_time=s, end_time=s + n * window + window / 2)(ev.copy())
    assert theirs.shape == ours.shape
    np.testing.assert_array_equal(ours, theirs)
    # every event at or after the start is counted; Tonic's ToFrame default (start at the first event,
    # last incomplete window dropped) is ours with start_time=None and that many steps
    assert ours.sum() == np.sum(ev["t"] >= s)
    default = ToFrame(sensor_size, time_window=window)(ev.copy())
    ours_default = nt.ToGraphInput(_graph((P, H, W)), Semantics(dt), sensor_size, start_time=None, n_steps=len(default))
    np.testing.assert_array_equal(ours_default(ev), default)


def test_unsorted_events_give_the_frames_of_the_sorted_stream(make_events):
    ev = make_events(2000, sort=False)
    transform = nt.ToGraphInput(_graph((2, 34, 34)), Semantics(1e-3), (34, 34, 2), n_steps=300)
    theirs = ToFrame((34, 34, 2), time_window=1000, start_time=0, end_time=300_500)(np.sort(ev, order="t"))
    np.testing.assert_array_equal(transform(ev), theirs)


def test_audio_sensor_without_y_matches_tonic_and_fills_flat_input(make_events):
    shd = np.dtype([("t", int), ("x", int), ("p", int)])
    ev = make_events(3000, sensor_size=(700, 1, 1), dtype=shd, t_end=100_000)
    transform = nt.ToGraphInput(_graph((700,)), Semantics(4e-3), (700, 1, 1))
    ours = transform(ev)
    assert ours.shape == (25, 700)
    theirs = ToFrame((700, 1, 1), time_window=4000, start_time=0, end_time=25 * 4000 + 2000)(ev.copy())
    assert theirs.shape == (25, 1, 700)
    np.testing.assert_array_equal(ours, theirs[:, 0, :])
    np.testing.assert_array_equal(transform.frames(ev), theirs)


@pytest.mark.parametrize("shape", [(2, 34, 34), (2312,)])
def test_batch_is_ready_for_nirverse_run_in_the_graph_input_shape(make_events, shape):
    a, b = make_events(500, t_end=30_000), make_events(100, t_end=9_000)
    transform = nt.ToGraphInput(_graph(shape), Semantics(1e-3), (34, 34, 2))
    x = transform.batch([a, b])
    assert x.shape == (2, 30, *shape) and x.dtype == np.float64
    frames = ToFrame((34, 34, 2), time_window=1000, start_time=0, end_time=30_500)
    np.testing.assert_array_equal(x[0].reshape(30, 2, 34, 34), frames(a.copy()))
    np.testing.assert_array_equal(x[1].reshape(30, 2, 34, 34), frames(b.copy()))  # zero padded to 30 steps
    fixed = nt.ToGraphInput(_graph(shape), Semantics(1e-3), (34, 34, 2), n_steps=12).batch([a, b])
    np.testing.assert_array_equal(fixed, x[:, :12])


def test_time_window_override_for_graphs_in_step_units(make_events):
    ev = make_events(1000, t_end=20_000)
    ours = nt.ToGraphInput(_graph((2, 34, 34)), Semantics(1.0), (34, 34, 2), time_window=1000)(ev)
    theirs = ToFrame((34, 34, 2), time_window=1000, start_time=0, end_time=20_500)(ev.copy())
    np.testing.assert_array_equal(ours, theirs)


def test_the_input_shape_is_checked():
    with pytest.raises(InvalidInputError, match="node 'input', field 'shape'.*\\(2, 34, 34\\) or \\(2312,\\)"):
        nt.ToGraphInput(_graph((2, 32, 32)), Semantics(1e-3), (34, 34, 2))
    with pytest.raises(InvalidInputError, match="node 'input'.*\\(1, 34, 34\\) or \\(34, 34\\) or \\(1156,\\)"):
        nt.ToGraphInput(_graph((34, 1, 34)), Semantics(1e-3), (34, 34, 1))
    assert nt.ToGraphInput(_graph((34, 34)), Semantics(1e-3), (34, 34, 1)).input_shape == (34, 34)


def test_a_graph_with_two_inputs_needs_the_input_named():
    s = np.array([4])
    g = nir.NIRGraph(
        nodes={"a": nir.Input({"input": s}), "b": nir.Input({"input": s}), "out": nir.Output({"output": s})},
        edges=[("a", "out"), ("b", "out")],
    )
    with pytest.raises(InvalidInputError, match="field 'input'.*2 Input nodes"):
        nt.ToGraphInput(g, Semantics(1e-3), (4, 1, 1))
    assert nt.ToGraphInput(g, Semantics(1e-3), (4, 1, 1), input="b").input == "b"


def test_single_polarity_rule_is_tonics_and_the_callers_array_is_left_alone(make_events):
    ev = make_events(200, sensor_size=(8, 8, 1))
    ev["p"] = 1
    transform = nt.ToGraphInput(_graph((1, 8, 8)), Semantics(1e-3), (8, 8, 1))
    ours = transform(ev)
    assert np.all(ev["p"] == 1)
    theirs = ToFrame((8, 8, 1), time_window=1000, start_time=0, end_time=len(ours) * 1000 + 500)(ev)
    np.testing.assert_array_equal(ours, theirs)
    assert np.all(ev["p"] == 0)  # Tonic's ToFrame writes p = 0 into the caller's events
    ev["p"][:5] = 1
    with pytest.raises(InvalidInputError, match="'events\\[0\\].p'.*several polarity values"):
        transform(ev)


def test_tonic_drops_an_event_on_the_end_of_its_last_incomplete_window():
    # ToFrame(include_incomplete=True) makes ceil((t_last - t_first - w)/w) + 1 windows: when the
    # duration is a multiple of w the last event lies on the end of the last window and is lost.
    ev = np.zeros(3, dtype=[("x", int), ("y", int), ("t", int), ("p", int)])
    ev["t"] = [0, 1500, 3000]
    theirs = ToFrame((34, 34, 2), time_window=1000, include_incomplete=True)(ev.copy())
    assert theirs.sum() == 2
    ours = nt.ToGraphInput(_graph((2, 34, 34)), Semantics(1e-3), (34, 34, 2))(ev)
    assert ours.shape[0] == 4 and ours.sum() == 3


def test_tonic_returns_empty_streams_with_w_and_h_swapped():
    empty = np.zeros(0, dtype=[("x", int), ("y", int), ("t", int), ("p", int)])
    assert ToFrame((40, 30, 2), time_window=1000)(empty).shape == (1, 2, 40, 30)  # (T, P, W, H)
    ours = nt.ToGraphInput(_graph((2, 30, 40)), Semantics(1e-3), (40, 30, 2))(empty)
    assert ours.shape == (1, 2, 30, 40) and not ours.any()


def test_semantics_must_be_a_semantics():
    with pytest.raises(InvalidInputError, match="field 'semantics'"):
        nt.ToGraphInput(_graph((2, 34, 34)), 1e-3, (34, 34, 2))


def test_a_grid_beyond_the_cores_size_limit_is_refused_before_allocating(make_events, monkeypatch):
    import nirverse_tonic._events as events_module
    from nirverse import TooLargeError

    monkeypatch.setattr(events_module, "MAX_ELEMENTS", 10 * 2312)
    ev = make_events(100, t_end=20_000)
    with pytest.raises(TooLargeError, match="field 'n_steps'.*20 steps x 2312"):
        nt.ToGraphInput(_graph((2, 34, 34)), Semantics(1e-3), (34, 34, 2))(ev)
    with pytest.raises(TooLargeError, match="field 'n_steps'"):
        nt.to_time_gridded(ev, (34, 34, 2), dt=1e-3)
    assert nt.ToGraphInput(_graph((2, 34, 34)), Semantics(1e-3), (34, 34, 2), n_steps=10)(ev).shape[0] == 10
