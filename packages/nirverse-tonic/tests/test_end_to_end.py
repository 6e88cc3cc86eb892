"""Synthetic N-MNIST-shaped events -> the NIR paper's CNN (cnn_sinabs.nir) -> every available backend."""

import nir
import nirverse
import nirverse_tonic as nt
import numpy as np
import pytest
from nirverse import Semantics, UnsupportedNodeError, UnsupportedSemanticsError

# Sinabs counts time in steps (IF with r = 1: v += dt * x), so the paper's network runs at dt = 1 with
# subtractive reset; the events are binned at 1 ms, the usual N-MNIST frame rate.
SEMANTICS = Semantics(1.0, reset="subtract")
WINDOW_US = 1000


@pytest.fixture
def cnn_inputs(cnn_path, make_events):
    # 2 samples of 8 ms: every IF layer spikes, and no membrane passes 2 * v_threshold (which
    # snnTorch's subtractive reset cannot follow, so that every backend can take part)
    samples = [make_events(n, t_end=8_000) for n in (300, 200)]
    transform = nt.ToGraphInput(cnn_path, SEMANTICS, (34, 34, 2), time_window=WINDOW_US)
    return transform.batch(samples), samples


def test_cnn_reference_run_from_events(cnn_path, cnn_inputs):
    x, samples = cnn_inputs
    assert x.shape == (2, 8, 2, 34, 34)
    assert x.sum() == sum(len(s) for s in samples)
    result = nirverse.run(cnn_path, x, SEMANTICS, backend="reference", record=True)
    out = result.outputs["output"]
    assert out.shape == (2, 8, 10) and result.spiking["output"]
    assert set(np.unique(out)) <= {0.0, 1.0}
    for layer in ("1", "3", "6", "10", "12"):
        assert result.states[layer]["v"].shape[:2] == (2, 8)
    # activity reaches the output, and differs between samples (the input matters)
    assert out.sum() > 0
    assert not np.array_equal(out[0], out[1])


def test_cnn_input_as_time_gridded_data(cnn_path, cnn_inputs):
    # the same events as nir.TimeGriddedData (flattened neurons, nirverse.run reshapes them)
    x, samples = cnn_inputs
    grid = nt.to_time_gridded(samples, (34, 34, 2), dt=SEMANTICS.dt * WINDOW_US / 1e6, n_steps=8)
    np.testing.assert_array_equal(grid.data.reshape(x.shape), x)
    as_grid = nir.TimeGriddedData(grid.data, SEMANTICS.dt)  # same steps, counted in the graph's time unit
    a = nirverse.run(cnn_path, as_grid, SEMANTICS).outputs["output"]
    b = nirverse.run(cnn_path, x, SEMANTICS).outputs["output"]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", [b for b in nirverse.available_backends() if b != "reference"] or [None])
def test_cnn_identical_on_every_available_backend(cnn_path, cnn_inputs, backend):
    if backend is None:
        pytest.skip("no simulator backend besides the reference is installed")
    x, _ = cnn_inputs
    reference = nirverse.run(cnn_path, x, SEMANTICS, backend="reference", record=True)
    try:
        result = nirverse.run(cnn_path, x, SEMANTICS, backend=backend, record=True)
    except (UnsupportedNodeError, UnsupportedSemanticsError) as exc:
        pytest.skip(f"{backend} refuses the CNN: {exc}")
    verdict = nirverse.compare(result, reference)
    assert verdict.identical, verdict.to_dict()
