"""GeNN's labels: the perturbation of GeNN's own LIF (which the kit applies around the emulated neuron
nodes) really changes a population that uses it."""

import numpy as np
import pytest

pygenn = pytest.importorskip("pygenn", reason="GeNN is not installed (see the plugin's README)")

from nirverse.backends import get_backend  # noqa: E402


def _lif_voltage(tmp_path, name: str) -> np.ndarray:
    model = pygenn.GeNNModel("double", name, backend="single_threaded_cpu")
    model.dt = 1.0
    params = {"C": 1.0, "TauM": 20.0, "Vrest": 0.0, "Vreset": 0.0, "Vthresh": 10.0, "Ioffset": 0.5, "TauRefrac": 2.0}
    pop = model.add_neuron_population("lif", 3, "LIF", params, {"V": 0.0, "RefracTime": 0.0})
    tmp_path.mkdir(parents=True, exist_ok=True)
    model.build(path_to_model=str(tmp_path))
    model.load()
    for _ in range(20):
        model.step_time()
    pop.vars["V"].pull_from_device()
    return pop.vars["V"].values.copy()


def test_perturbing_genns_lif_changes_its_populations(tmp_path):
    plain = _lif_voltage(tmp_path / "a", "plain")
    with get_backend("genn").perturb("pygenn.neuron_models.LIF"):
        perturbed = _lif_voltage(tmp_path / "b", "perturbed")
    assert np.all(np.abs(perturbed - plain) > 1e-4)
    assert np.array_equal(_lif_voltage(tmp_path / "c", "again"), plain)  # restored
