"""Reading ``.nir`` files robustly: old nir versions, files that fail nir's type check, single-node roots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import nir

from .errors import InvalidGraphError

__all__ = ["load", "GraphSource"]

GraphSource = Union[nir.NIRGraph, nir.NIRNode, str, os.PathLike]


def load(source: GraphSource) -> nir.NIRGraph:
    """Return a :class:`nir.NIRGraph` from a graph, a single node, or the path of a ``.nir`` file.

    Tries, in order: ``nir.read``; ``nir.read(type_check=False)`` (files whose declared types are
    inconsistent, e.g. Rockpool's exports); decoding the HDF5 tree node by node (files whose root is a
    single node). A single node is wrapped as ``input -> node -> output``. Anything else -- a missing,
    empty, truncated or non-HDF5 file, an unknown node type -- raises :class:`InvalidGraphError`.
    """
    if isinstance(source, nir.NIRGraph):
        return source
    if isinstance(source, nir.NIRNode):
        return _wrap_single_node("node", source)
    if not isinstance(source, (str, os.PathLike)):
        raise InvalidGraphError(
            f"got an object of type {type(source).__name__}",
            field="graph",
            expected="a nir.NIRGraph, a nir.NIRNode or the path of a .nir file",
        )
    path = Path(source)
    if not path.is_file():
        raise InvalidGraphError(f"no such file: {str(path)!r}", field="path", expected="an existing .nir file")
    import h5py

    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as exc:  # unreadable file
        raise InvalidGraphError(f"cannot open {str(path)!r}: {exc}", field="path") from exc
    if not is_hdf5:
        raise InvalidGraphError(
            f"{str(path)!r} is not an HDF5 file (empty, truncated or another format)",
            field="path",
            expected="a NIR file written by nir.write",
        )
    errors: list[str] = []
    for type_check in (True, False):
        try:
            node = nir.read(path, type_check=type_check)
        except Exception as exc:  # nir raises assorted errors on bad files
            errors.append(f"nir.read(type_check={type_check}): {type(exc).__name__}: {exc}")
            continue
        return node if isinstance(node, nir.NIRGraph) else _wrap_single_node(path.stem, node)
    try:
        node = _read_tree(path)
    except Exception as exc:
        errors.append(f"node-by-node decoding: {type(exc).__name__}: {exc}")
        raise InvalidGraphError(
            f"cannot read {str(path)!r} as NIR: " + "; ".join(errors), field="path", expected="a NIR file"
        ) from exc
    return node if isinstance(node, nir.NIRGraph) else _wrap_single_node(path.stem, node)


def _read_tree(path: Path) -> nir.NIRNode:
    import h5py
    from nir.serialization import hdf2dict

    with h5py.File(path, "r") as handle:
        if "node" not in handle:
            raise KeyError("the file has no 'node' group")
        tree = hdf2dict(handle["node"])
    if tree.get("type") == "NIRGraph":  # a graph nir.read refused: build it without nir's type check
        return nir.NIRGraph.from_dict({**tree, "type_check": False})
    return nir.dict2NIRNode(tree)  # nir.read fails on files whose root is a single node


def _wrap_single_node(name: str, node: nir.NIRNode) -> nir.NIRGraph:
    """``input -> node -> output``, with the node's own declared input and output shapes."""
    try:
        in_shape = node.input_type["input"]
        out_shape = node.output_type["output"]
    except (AttributeError, KeyError, TypeError) as exc:
        raise InvalidGraphError(
            "a single-node file whose node declares no input/output shape",
            node=name,
            field="input_type",
            expected="a node with known shapes (Conv and pooling nodes need an input_shape)",
        ) from exc
    if in_shape is None or out_shape is None:
        raise InvalidGraphError(
            "a single-node file whose node declares no input/output shape",
            node=name,
            field="input_type",
            expected="a node with known shapes",
        )
    name = name if name not in ("input", "output") else name + "_node"
    return nir.NIRGraph(
        nodes={"input": nir.Input(input_type=in_shape), name: node, "output": nir.Output(output_type=out_shape)},
        edges=[("input", name), (name, "output")],
        type_check=False,
    )
