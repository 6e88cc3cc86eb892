"""Event files read through faery (optional dependency)."""

import nirverse_tonic as nt
import numpy as np
import pytest

faery = pytest.importorskip("faery", reason="pip install faery")


@pytest.mark.parametrize("suffix", [".es", ".aedat4", ".dat", ".raw", ".csv"])
def test_event_files_read_into_tonic_events(tmp_path, make_events, suffix):
    ev = make_events(300, t_end=50_000)
    raw = np.zeros(len(ev), dtype=faery.EVENTS_DTYPE)
    raw["t"], raw["x"], raw["y"], raw["p"] = ev["t"], ev["x"], ev["y"], ev["p"].astype(bool)
    path = tmp_path / f"sample{suffix}"
    faery.events_stream_from_array(raw, dimensions=(34, 34)).to_file(path, zero_t0=False)
    options = {"dimensions_fallback": (34, 34)} if suffix == ".csv" else {}
    events, sensor_size = nt.read_events(path, **options)
    assert sensor_size == (34, 34, 2)
    assert events.dtype.names == ("x", "y", "t", "p")
    for name in ("x", "y", "t", "p"):
        np.testing.assert_array_equal(events[name], ev[name])
    np.testing.assert_array_equal(nt.from_event_data(nt.to_event_data(events, sensor_size), sensor_size)[0], ev)


def test_errors_name_the_path(tmp_path):
    from nirverse import InvalidInputError

    with pytest.raises(InvalidInputError, match="field 'path'.*no such file"):
        nt.read_events(tmp_path / "missing.es")
    bad = tmp_path / "bad.es"
    bad.write_bytes(b"not an event file")
    with pytest.raises(InvalidInputError, match="field 'path'.*faery could not read"):
        nt.read_events(bad)
