"""Throughput of the event -> graph-input binning against Tonic's own ToFrame, in one process.

Run: ``python packages/nirverse-tonic/benchmarks/bench_tonic.py``. Prints events/s for
``ToGraphInput`` (ours, float64 frames, as ``nirverse.run`` takes them), Tonic's
``tonic.transforms.ToFrame(time_window=...)`` followed by ``.astype(float64)`` (the conversion
``nirverse.run`` would make of its int16 frames) and the NIR data conversions, on synthetic streams shaped like N-MNIST and DVS Gesture samples, and checks that
both binnings give the same frames before timing them.
"""

from __future__ import annotations

import time

import nir
import nirverse_tonic as nt
import numpy as np
from nirverse import Semantics
from tonic.transforms import ToFrame


def _events(rng, n, sensor_size, t_end):
    W, H, P = sensor_size
    ev = np.zeros(n, dtype=[("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])
    ev["x"], ev["y"] = rng.integers(0, W, n), rng.integers(0, H, n)
    ev["p"] = rng.integers(0, P, n).astype(bool)
    ev["t"] = np.sort(rng.integers(0, t_end, n))
    return ev


def _graph(shape):
    s = np.array(shape)
    return nir.NIRGraph(nodes={"input": nir.Input({"input": s}), "output": nir.Output({"output": s})}, edges=[("input", "output")])


def _rate(fn, n_events, repeat):
    fn()  # warm up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n_events / best


def main() -> None:
    rng = np.random.default_rng(0)
    cases = [
        ("N-MNIST sample (4k events, 300 x 1 ms)", (34, 34, 2), 4_000, 300_000, 1e-3, 20),
        ("DVS Gesture sample (300k events, 1200 x 5 ms)", (128, 128, 2), 300_000, 6_000_000, 5e-3, 3),
    ]
    print(f"{'case':48s} {'ours ev/s':>12s} {'ToFrame ev/s':>13s} {'ratio':>6s} {'EventData':>11s} {'TimeGridded':>12s}")
    for label, size, n, t_end, dt, repeat in cases:
        W, H, P = size
        ev = _events(rng, n, size, t_end)
        transform = nt.ToGraphInput(_graph((P, H, W)), Semantics(dt), size)
        steps = transform(ev).shape[0]
        window = dt * 1e6
        tonic = ToFrame(size, time_window=window, start_time=0, end_time=steps * window + window / 2)
        assert np.array_equal(transform(ev), tonic(ev)), "binning differs from Tonic's"
        ours = _rate(lambda tr=transform, e=ev: tr(e), n, repeat)
        theirs = _rate(lambda tf=tonic, e=ev: tf(e).astype(np.float64), n, repeat)
        ed = _rate(lambda e=ev, s=size: nt.to_event_data(e, s), n, repeat)
        tg = _rate(lambda e=ev, s=size, d=dt: nt.to_time_gridded(e, s, d), n, repeat)
        print(f"{label:48s} {ours:12.3g} {theirs:13.3g} {ours / theirs:6.2f} {ed:11.3g} {tg:12.3g}")


if __name__ == "__main__":
    main()
