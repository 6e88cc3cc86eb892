import nirverse
import numpy as np
import pytest
from nirverse import Backend, Semantics, UnsupportedNodeError, UnsupportedSemanticsError
from nirverse.backends import backend_names, get_backend
from nirverse.testing import graphs


def test_reference_always_available():
    assert nirverse.available_backends()[0] == "reference"
    info = nirverse.backend_info("reference")
    assert info.available and info.reason is None and "CubaLIF" in info.node_types
    assert backend_names()[0] == "reference"


def test_available_backends_are_registered_and_import():
    for name in nirverse.available_backends():
        info = nirverse.backend_info(name)
        assert info.available and info.version


class _Limited(Backend):
    name = "limited"
    framework = "numpy"
    module = "numpy"
    install_hint = "nothing to install"
    node_types = frozenset({"Affine", "LIF"})
    methods = frozenset({"euler"})


def test_check_support_names_node_and_knob():
    backend = _Limited()
    plan = nirverse.prepare(graphs.single_neuron("CubaLIF"), Semantics(1e-3))
    with pytest.raises(UnsupportedNodeError, match="'neuron'.*CubaLIF"):
        backend.check_support(plan, plan.semantics, "float64")
    plan = nirverse.prepare(graphs.single_neuron("LIF"), Semantics(1e-3, method="exp"))
    with pytest.raises(UnsupportedSemanticsError, match="'method'.*'exp'"):
        backend.check_support(plan, plan.semantics, "float64")
    backend.check_support(nirverse.prepare(graphs.single_neuron("LIF"), Semantics(1e-3)), Semantics(1e-3), "float64")


def test_backend_failures_are_wrapped(monkeypatch):
    from nirverse.backends import ReferenceBackend

    def boom(self, model, inputs, record):
        raise ZeroDivisionError("inside a framework")

    monkeypatch.setattr(ReferenceBackend, "run", boom)
    with pytest.raises(nirverse.BackendError, match="ZeroDivisionError: inside a framework"):
        nirverse.run(graphs.single_neuron("LIF"), np.zeros((1, 3, 3)), Semantics(1e-3))


def test_get_backend_is_cached():
    assert get_backend("reference") is get_backend("reference")
