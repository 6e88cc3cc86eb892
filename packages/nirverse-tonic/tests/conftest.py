from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"

#: N-MNIST's sensor and event dtype (``tonic.datasets.NMNIST.sensor_size`` / ``.dtype``)
NMNIST_SIZE = (34, 34, 2)
NMNIST_DTYPE = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])


def synthetic_events(rng, n, sensor_size=NMNIST_SIZE, t_end=300_000, dtype=NMNIST_DTYPE, sort=True):
    """``n`` random events on ``sensor_size`` with integer µs times in [0, t_end)."""
    W, H, P = sensor_size
    ev = np.zeros(n, dtype=dtype)
    ev["x"] = rng.integers(0, W, n)
    if "y" in ev.dtype.names:
        ev["y"] = rng.integers(0, H, n)
    ev["p"] = rng.integers(0, P, n)
    t = rng.integers(0, t_end, n)
    ev["t"] = np.sort(t) if sort else t
    return ev


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(2024)


@pytest.fixture
def cnn_path() -> Path:
    return DATA / "cnn_sinabs.nir"


@pytest.fixture
def make_events(rng):
    """``make_events(n, sensor_size=(34, 34, 2), t_end=300_000, dtype=N-MNIST's, sort=True)``."""
    return lambda n, **kw: synthetic_events(rng, n, **kw)
