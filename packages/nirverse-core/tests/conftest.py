from pathlib import Path

import numpy as np
import pytest
from nirverse.testing.catalogue import PAPER, data_dir


@pytest.fixture
def paper_dir() -> Path:
    return data_dir() / PAPER


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
