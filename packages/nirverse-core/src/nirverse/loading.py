"""Reading ``.nir`` files robustly: old nir versions, files that fail nir's type check, single-node roots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Union

import nir

from ._safe_hdf5 import read_tree
from .errors import InvalidGraphError

__all__ = ["load", "GraphSource"]

GraphSource = Union[nir.NIRGraph, nir.NIRNode, str, os.PathLike]


def load(source: GraphSource) -> nir.NIRGraph:
    """Return a :class:`nir.NIRGraph` from a graph, a single node, or the path of a ``.nir`` file.

    A file is read by :func:`nirverse._safe_hdf5.read_tree` (a regular file only; no soft or external
    link, named type or external storage; declared sizes bounded), then decoded as ``nir.read`` would;
    ``nir.read(type_check=False)`` (files whose declared types are inconsistent, e.g. Rockpool's exports);
    node by node (files whose root is a single node). A single node is wrapped as ``input -> node ->
    output``. A graph without an Input or Output, or one where nir would invent nodes, is refused. Anything
    else -- a missing, empty, truncated or non-HDF5 file, an unknown node type -- raises
    :class:`InvalidGraphError`.
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
    tree = read_tree(path)  # regular file only, no links followed, sizes bounded
    _check_file_graph(tree, "<root>")
    errors: list[str] = []
    for decode in (_decode_checked, _decode_unchecked, _decode_tree):
        try:
            node = decode(_copy_tree(tree))
        except Exception as exc:  # nir raises assorted errors on bad files
            errors.append(f"{decode.__doc__}: {type(exc).__name__}: {exc}")
            continue
        _check_nothing_invented(tree, node, "<root>")
        return node if isinstance(node, nir.NIRGraph) else _wrap_single_node(path.stem, node)
    raise InvalidGraphError(
        f"cannot read {str(path)!r} as NIR: " + "; ".join(errors), field="path", expected="a NIR file"
    )


def _decode_checked(tree: dict) -> nir.NIRNode:
    """nir.read(type_check=True)"""
    return _decode_like_nir_read(tree, True)


def _decode_unchecked(tree: dict) -> nir.NIRNode:
    """nir.read(type_check=False)"""
    return _decode_like_nir_read(tree, False)


def _decode_like_nir_read(tree: dict, type_check: bool) -> nir.NIRNode:
    if "type_check" in tree:
        raise ValueError("the file has a 'type_check' entry, which clashes with nir's type-check flag")
    return nir.dict2NIRNode({**tree, "type_check": type_check})


def _decode_tree(tree: dict) -> nir.NIRNode:
    """node-by-node decoding"""
    if tree.get("type") == "NIRGraph":  # a graph nir refused: build it without nir's type check
        return nir.NIRGraph.from_dict({**tree, "type_check": False})
    return nir.dict2NIRNode(tree)  # nir.read fails on files whose root is a single node


def _copy_tree(tree: dict) -> dict:
    """A copy of the dicts (arrays shared): nir's decoders may change the dicts they are given."""
    return {k: _copy_tree(v) if isinstance(v, dict) else v for k, v in tree.items()}


def _check_file_graph(tree: dict, where: str, root: bool = True) -> None:
    """Refuse, from the file's own groups, what nir would otherwise patch up silently: a graph without an
    Input or an Output, a root node other than an Input without incoming edge (nir invents an Input
    ``input_<node>`` for both), node groups without a type (HDF5 splits a node name containing '/' into
    nested groups)."""
    if tree.get("type") != "NIRGraph":
        return
    nodes = tree.get("nodes")
    if not isinstance(nodes, dict):
        raise InvalidGraphError("the graph group has no 'nodes' group", node=where, field="nodes",
                                expected="a NIR file written by nir.write")
    for name, sub in nodes.items():
        if not isinstance(sub, dict) or "type" not in sub:
            raise InvalidGraphError(
                "the node's group has no 'type'", node=name, field="type",
                expected="a node written by nir.write (a node name containing '/' is split into HDF5 groups)",
            )
        _check_file_graph(sub, name, root=False)
    if not root:
        return
    kinds = {name: str(sub["type"]) for name, sub in nodes.items()}
    for kind in ("Input", "Output"):
        if kind not in kinds.values():
            raise InvalidGraphError(
                f"the file's graph has no {kind} node (nir.read would invent one)", node=where, field="nodes",
                expected=f"an {kind} node in the file",
            )
    targets = _edge_targets(tree.get("edges"))
    orphans = [n for n, kind in kinds.items() if kind != "Input" and targets is not None and n not in targets]
    if orphans:
        raise InvalidGraphError(
            f"has no incoming edge in the file (nir.read would invent an Input 'input_{orphans[0]}' for it)",
            node=orphans[0], field="edges", expected="an edge from an Input or another node",
        )


def _edge_targets(edges: Any) -> set[str] | None:
    """Target names of the file's edges (None when the edges are malformed: nir's decoder reports that)."""
    try:
        return {b.decode() if isinstance(b, bytes) else str(b) for _, b in edges}
    except (TypeError, ValueError):
        return None


def _check_nothing_invented(tree: dict, node: Any, where: str) -> None:
    """Every node nir returns must be in the file: nir adds ``input_<x>`` for a root node that is no Input."""
    if not isinstance(node, nir.NIRGraph) or not isinstance(tree.get("nodes"), dict):
        return
    invented = sorted(set(node.nodes) - set(tree["nodes"]))
    if invented:
        raise InvalidGraphError(
            f"nir.read added node(s) {invented} that are not in the file: a node other than an Input has no "
            "incoming edge", node=where, field="edges", expected="an edge into every node except the Inputs",
        )
    for name, sub in node.nodes.items():
        _check_nothing_invented(tree["nodes"].get(name, {}), sub, name)


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
