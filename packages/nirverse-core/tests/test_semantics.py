import math

import numpy as np
import pytest
from nirverse import InvalidSemanticsError, Semantics


def test_defaults_repr_and_hash():
    sem = Semantics(1e-3)
    assert (sem.method, sem.reset, sem.latency) == ("euler", "value", "immediate")
    assert repr(sem) == "Semantics(dt=0.001, method='euler', reset='value', latency='immediate')"
    assert hash(sem) == hash(Semantics(0.001)) and sem == Semantics(0.001)
    assert len({sem, Semantics(1e-3, method="exp")}) == 2
    with pytest.raises(AttributeError):
        sem.dt = 2.0  # frozen


@pytest.mark.parametrize("dt", [0.0, -1e-3, math.inf, math.nan, "1e-3", None, True])
def test_bad_dt(dt):
    with pytest.raises(InvalidSemanticsError, match="'dt'"):
        Semantics(dt)


@pytest.mark.parametrize("knob", ["method", "reset", "latency"])
def test_unknown_knob_lists_allowed_values(knob):
    with pytest.raises(InvalidSemanticsError) as err:
        Semantics(1e-3, **{knob: "nonsense"})
    assert knob in str(err.value) and "one of" in str(err.value)


def test_metadata_round_trip():
    sem = Semantics(2.5e-4, method="exp", reset="subtract", latency="one-step")
    meta = sem.to_metadata()
    assert all(isinstance(k, str) for k in meta)
    assert Semantics.from_metadata(meta) == sem
    assert Semantics.from_metadata({k: np.asarray(v) if k.endswith("dt") else v.encode() for k, v in meta.items()}) == sem
    with pytest.raises(InvalidSemanticsError):
        Semantics.from_metadata({})


def test_kappa():
    tau = np.array([1e-2, 2e-2])
    assert np.allclose(Semantics(1e-3).kappa(tau), [0.1, 0.05])
    assert np.allclose(Semantics(1e-3, method="exp").kappa(tau), 1 - np.exp(-1e-3 / tau))
