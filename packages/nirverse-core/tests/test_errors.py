"""Bad input is rejected before any simulation, with a typed error that names the node and field."""

import nir
import nirverse
import numpy as np
import pytest
from nirverse import (
    BackendUnavailableError,
    InvalidGraphError,
    InvalidInputError,
    InvalidSemanticsError,
    Semantics,
    TooLargeError,
)

SEM = Semantics(1e-3)


def lif(n=2, **over):
    p = dict(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))
    p.update(over)
    return nir.LIF(**p)


def graph(node, n_in=2, n_out=2, extra_edges=(), drop=()):
    nodes = {"input": nir.Input(np.array([n_in])), "lif": node, "output": nir.Output(np.array([n_out]))}
    edges = [("input", "lif"), ("lif", "output"), *extra_edges]
    edges = [e for e in edges if e not in drop]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


@pytest.mark.parametrize("field, value", [
    ("tau", np.array([0.01, np.nan])), ("tau", np.array([0.01, np.inf])), ("tau", np.array([0.01, 0.0])),
    ("tau", np.array([0.01, -1.0])), ("v_threshold", np.array([1.0, np.nan])), ("r", np.array([np.inf, 1.0])),
])
def test_bad_parameters(field, value):
    with pytest.raises(InvalidGraphError) as err:
        nirverse.prepare(graph(lif(**{field: value})), SEM)
    assert err.value.node == "lif" and err.value.field == field
    assert "'lif'" in str(err.value) and field in str(err.value)


def test_shape_mismatch_names_node():
    g = graph(lif(3), n_in=2, n_out=3)
    with pytest.raises(InvalidGraphError, match="'lif'") as err:
        nirverse.prepare(g, SEM)
    assert "(3,)" in str(err.value) and "(2,)" in str(err.value)


def test_dangling_edge():
    with pytest.raises(InvalidGraphError, match="'ghost'") as err:
        nirverse.prepare(graph(lif(), extra_edges=[("lif", "ghost")]), SEM)
    assert err.value.field == "edges"


def test_node_without_input():
    with pytest.raises(InvalidGraphError, match="'output'.*no incoming edge"):
        nirverse.prepare(graph(lif(), drop=[("lif", "output")]), SEM)


def test_unknown_node_type():
    g = graph(lif())
    g.nodes["lif"] = object()
    with pytest.raises(InvalidGraphError, match="'lif'.*unknown node type object"):
        nirverse.prepare(g, SEM)


def test_delay_not_whole_steps():
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1])), "d": nir.Delay(delay=np.array([1.5e-3])), "output": nir.Output(np.array([1]))},
        edges=[("input", "d"), ("d", "output")], type_check=False,
    )
    with pytest.raises(InvalidGraphError, match="'d'.*'delay'.*not a whole number of steps"):
        nirverse.prepare(g, SEM)
    nirverse.prepare(g, Semantics(5e-4))  # 3 steps: fine


@pytest.mark.parametrize("missing", ["input", "output"])
def test_graph_without_input_or_output(missing):
    nodes = {"input": nir.Input(np.array([2])), "lif": lif(), "output": nir.Output(np.array([2]))}
    nodes.pop(missing)
    edges = [e for e in [("input", "lif"), ("lif", "output")] if missing not in e]
    g = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    with pytest.raises(InvalidGraphError, match=f"no {missing.capitalize()} node"):
        nirverse.prepare(g, SEM)


@pytest.mark.parametrize("x, match", [
    (np.zeros((1, 5, 3)), r"shape \(1, 5, 3\)"), (np.zeros((5, 2)), r"shape \(5, 2\)"),
    (np.full((1, 5, 2), np.nan), "NaN"), (np.full((1, 5, 2), np.inf), "NaN or inf"),
    (np.array([["a", "b"]]), "dtype"), (np.zeros((1, 5, 2), complex), "complex"),
])
def test_bad_inputs(x, match):
    with pytest.raises(InvalidInputError, match=match) as err:
        nirverse.run(graph(lif()), x, SEM)
    assert err.value.node == "input"


def test_inputs_for_unknown_node():
    with pytest.raises(InvalidInputError, match="'nope'"):
        nirverse.run(graph(lif()), {"nope": np.zeros((1, 2, 2))}, SEM)


def test_too_large(monkeypatch):
    import nirverse.limits

    monkeypatch.setattr(nirverse.limits, "MAX_ELEMENTS", 100)
    with pytest.raises(TooLargeError, match="node '(input|lif)'"):
        nirverse.prepare(graph(lif(200), n_in=200, n_out=200), SEM)
    with pytest.raises(TooLargeError, match="batch 10"):
        nirverse.run(graph(lif()), np.zeros((10, 10, 2)), SEM)


def test_semantics_errors():
    with pytest.raises(InvalidSemanticsError, match="'dt'"):
        nirverse.run(graph(lif()), np.zeros((1, 2, 2)), Semantics(float("nan")))
    with pytest.raises(InvalidSemanticsError, match="'semantics'"):
        nirverse.run(graph(lif()), np.zeros((1, 2, 2)), {"dt": 1e-3})


def test_unknown_backend_and_dtype():
    with pytest.raises(BackendUnavailableError, match="no backend 'nonexistent'"):
        nirverse.run(graph(lif()), np.zeros((1, 2, 2)), SEM, backend="nonexistent")
    with pytest.raises(InvalidInputError, match="'dtype'"):
        nirverse.run(graph(lif()), np.zeros((1, 2, 2)), SEM, dtype="float16")


@pytest.mark.parametrize("content", [b"", b"not a nir file at all\n", b"\x89HDF\r\n\x1a\n" + b"\x00" * 20])
def test_not_a_nir_file(tmp_path, content):
    path = tmp_path / "bad.nir"
    path.write_bytes(content)
    with pytest.raises(InvalidGraphError, match="bad.nir") as err:
        nirverse.load(path)
    assert err.value.field == "path"


def test_truncated_nir_file(tmp_path, paper_dir):
    data = (paper_dir / "lif_norse.nir").read_bytes()
    path = tmp_path / "truncated.nir"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidGraphError, match="truncated.nir"):
        nirverse.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(InvalidGraphError, match="no such file"):
        nirverse.load(tmp_path / "absent.nir")


def test_hdf5_that_is_not_nir(tmp_path):
    import h5py

    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(InvalidGraphError, match="other.h5"):
        nirverse.load(path)
