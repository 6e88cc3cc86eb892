import nirverse
import numpy as np
from nirverse import Result, compare
from nirverse.compare import (
    cosine_similarity,
    first_difference_step,
    max_abs_difference,
    raster_mismatches,
    spike_counts,
)


def test_metrics_by_hand():
    a = np.zeros((1, 5, 3))
    b = np.zeros((1, 5, 3))
    a[0, 1, 0] = a[0, 3, 2] = 1
    b[0, 1, 0] = b[0, 2, 2] = 1
    assert raster_mismatches(a, b) == 2
    assert first_difference_step(a, b) == 2
    assert spike_counts(a).tolist() == [1, 0, 1]
    assert max_abs_difference(a, b) == 1.0
    assert np.isclose(cosine_similarity(a, b), 1.0)  # same time-averaged activity per neuron
    assert cosine_similarity(a, np.zeros_like(a)) == 0.0
    assert first_difference_step(a, a + 1e-12, tol=1e-9) is None


def test_compare_verdicts():
    out = np.zeros((1, 4, 2))
    out[0, 1, 1] = 1
    ref = Result(outputs={"o": out, "c": np.ones((1, 4, 2))}, states={"n": {"v": np.ones((1, 4, 2))}}, spiking={"o": True})
    same = Result(outputs={"o": out.copy(), "c": np.ones((1, 4, 2)) + 5e-10}, states={"n": {"v": np.ones((1, 4, 2))}})
    assert compare(same, ref).identical
    off = Result(outputs={"o": out.copy(), "c": np.ones((1, 4, 2))}, states={"n": {"v": np.ones((1, 4, 2))}})
    off.states["n"]["v"][0, 2, 0] += 1e-6
    cmp = compare(off, ref)
    assert not cmp.identical and cmp.first_step == 2 and np.isclose(cmp.max_abs, 1e-6)
    assert compare(off, ref, dtype="float32").identical  # within 1e-5
    flipped = Result(outputs={"o": 1 - out, "c": np.ones((1, 4, 2))})
    cmp = compare(flipped, ref)
    assert cmp.mismatches == 8 and cmp.raster_entries == 8 and cmp.first_step == 0


def test_result_spiking_map(paper_dir):
    stimulus = np.loadtxt(paper_dir / "lif_exact.csv", delimiter=",")[:, 0].reshape(1, -1, 1)
    res = nirverse.run(paper_dir / "lif_norse.nir", stimulus, nirverse.Semantics(1e-4))
    assert res.spiking == {"output": True}
