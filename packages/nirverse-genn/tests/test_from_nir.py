"""GeNN models built from NIR graphs against the reference simulator (skip without pygenn)."""

from __future__ import annotations

import nir
import nirverse
import numpy as np
import pytest
from genn_graphs import inputs, mixed, recurrent
from nirverse import Semantics

pygenn = pytest.importorskip("pygenn", reason="pygenn (GeNN) is not installed; " + __import__(
    "nirverse_genn._backend", fromlist=["INSTALL_HINT"]).INSTALL_HINT, exc_type=ImportError)


def _check(graph, x, semantics, dtype="float64"):
    ref = nirverse.run(graph, x, semantics, backend="reference", dtype="float64" if dtype == "float64" else dtype,
                       record=True)
    got = nirverse.run(graph, x, semantics, backend="genn", dtype=dtype, record=True)
    cmp = nirverse.compare(got, ref, dtype=dtype)
    assert cmp.identical, cmp.details
    return got, ref


@pytest.mark.parametrize(
    "semantics",
    [Semantics(1e-3, "exp", "value", "immediate"), Semantics(1e-3, "euler", "subtract", "one-step")],
    ids=["exp-value-immediate", "euler-subtract-one-step"],
)
def test_recurrent_network(semantics):
    got, ref = _check(recurrent(), inputs((3,), scale=3.0), semantics)
    assert ref.states["lif1"]["v"].shape == (2, 30, 4)
    spikes = ref.outputs["out_spikes"]  # the case exercises spikes, resets and the recurrent weights
    assert 0 < spikes.sum() < spikes.size / 2


@pytest.mark.parametrize("latency", ["immediate", "one-step"])
def test_every_neuron_kind_conv_delay_threshold(latency):
    semantics = Semantics(1e-3, "euler", "value", latency)
    got, ref = _check(mixed(), inputs((2, 5), steps=25, scale=4.0), semantics)
    assert ref.outputs["out_s"].any() and ref.outputs["out_v"].any()


def test_float32_continuous():
    rng = np.random.default_rng(7)
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([4])}),
            "fc": nir.Affine(weight=rng.normal(size=(3, 4)), bias=rng.normal(size=3)),
            "cuba": nir.CubaLI(tau_syn=np.full(3, 2e-3), tau_mem=np.array([5e-3, 1e-2, 2e-2]), r=np.ones(3) * 2,
                               v_leak=np.array([0.1, 0.0, -0.1]), w_in=np.array([1.0, 0.5, 2.0])),
            "fc2": nir.Linear(weight=rng.normal(size=(2, 3))),
            "i": nir.I(r=np.array([10.0, 5.0])),
            "out": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("in", "fc"), ("fc", "cuba"), ("cuba", "fc2"), ("fc2", "i"), ("i", "out")],
    )
    got, _ = _check(graph, inputs((4,), steps=40), Semantics(1e-3, "exp"), dtype="float32")
    assert got.outputs["out"].dtype == np.float32


HOSTILE = ('in"; system("rm -rf /"); //', "fc 1\n#include <x>", "lif1/*", "rec{}", "fc2\\", "li$(id)", "out✓")


def test_hostile_names_never_reach_generated_code():
    graph = recurrent(names=HOSTILE)
    native = __import__("nirverse_genn").from_nir(graph, Semantics(1e-3, "exp", "value", "immediate"))
    code_dir = native.model._path_to_model + "/" + native.model.name + "_CODE"
    import pathlib

    text = "".join(p.read_text(errors="replace") for p in pathlib.Path(code_dir).glob("*.cc"))
    assert text and not any(part in text for name in HOSTILE for part in (name, "rm -rf", "system("))
    # same structure as the plain recurrent graph: the compiled model is shared, results identical
    _check(graph, inputs((3,), scale=3.0), Semantics(1e-3, "exp", "value", "immediate"))


def test_models_of_one_structure_are_compiled_once():
    from nirverse_genn import _model

    sem = Semantics(1e-3, "exp", "value", "immediate")
    a = nirverse_genn_from(recurrent(seed=0), sem)
    b = nirverse_genn_from(recurrent(seed=9), sem)  # other numbers, same structure
    assert a.model is b.model and len(_model._MODELS) >= 1
    assert not np.array_equal(a.weights[0], b.weights[0])


def nirverse_genn_from(graph, sem):
    import nirverse_genn

    return nirverse_genn.from_nir(graph, sem)
