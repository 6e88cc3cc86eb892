"""The NIR paper's graphs on every available backend: the single neuron's spike times, and agreement of every
pair of backends on the recurrent Braille RNN (the paper's closest pair differed on 23 of 9,728 entries)."""

import itertools

import nirverse
import numpy as np
import pytest
from nirverse import Semantics, UnsupportedNodeError, UnsupportedSemanticsError
from nirverse.compare import raster_mismatches
from nirverse.testing import simulator_backends
from nirverse.testing.catalogue import PAPER, data_dir

PAPER_DIR = data_dir() / PAPER


def _run_or_skip(*args, **kwargs):
    try:
        return nirverse.run(*args, **kwargs)
    except (UnsupportedNodeError, UnsupportedSemanticsError, nirverse.BackendUnavailableError) as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("backend", simulator_backends())
@pytest.mark.parametrize("latency", ["immediate", "one-step"])
def test_paper_single_lif(backend, latency):
    stimulus = np.loadtxt(PAPER_DIR / "lif_exact.csv", delimiter=",")[:, 0].reshape(1, -1, 1)
    sem = Semantics(1e-4, method="exp", reset="subtract", latency=latency)
    res = _run_or_skip(PAPER_DIR / "lif_norse.nir", stimulus, sem, backend=backend)
    assert np.nonzero(res.outputs["output"][0, :, 0])[0].tolist() == [460, 510, 710, 760]


@pytest.fixture(scope="module")
def braille_runs():
    rng = np.random.default_rng(2024)
    x = (rng.random((4, 150, 12)) < 0.15).astype(float)
    runs = {}
    for name, reset in (("braille_noDelay_bias_zero.nir", "value"), ("braille_noDelay_noBias_subtract.nir", "subtract")):
        sem = Semantics(1e-4, reset=reset)
        for backend in ["reference"] + simulator_backends():
            try:
                runs[name, backend] = nirverse.run(PAPER_DIR / name, x, sem, backend=backend).outputs["output"]
            except (UnsupportedNodeError, UnsupportedSemanticsError, nirverse.BackendUnavailableError):
                continue
    return runs


@pytest.mark.parametrize("graph", ["braille_noDelay_bias_zero.nir", "braille_noDelay_noBias_subtract.nir"])
def test_braille_every_pair_of_backends_agrees(braille_runs, graph):
    backends = [b for (g, b) in braille_runs if g == graph]
    if len(backends) < 2:
        pytest.skip("fewer than two backends can run the Braille RNN here")
    assert braille_runs[graph, "reference"].sum() > 0
    disagreements = {
        (a, b): raster_mismatches(braille_runs[graph, a], braille_runs[graph, b])
        for a, b in itertools.combinations(backends, 2)
    }
    assert all(v == 0 for v in disagreements.values()), disagreements
