"""Read the ``node`` tree of a ``.nir`` file without trusting it.

``nir.read`` opens whatever path it is given and follows every link in the file: an external link to a FIFO
blocks forever, an external or soft link pulls in another file's (or another place's) graph, a chunked
dataset may declare 10^10 elements and be decompressed in full. This reader, used instead:

* opens only a regular file (``os.stat`` first, then ``O_NONBLOCK`` and ``fstat`` on the open descriptor),
  at most ``MAX_ELEMENTS x 8`` bytes long;
* walks the groups by link, never resolving one: a soft, external or user-defined link, a named datatype,
  a virtual dataset or one stored in external raw files is refused, as is nesting deeper than allowed;
* bounds every dataset's declared size (elements x itemsize) and the file's total before reading it;
* returns the same ``{name: dict | value}`` tree as ``nir.serialization.hdf2dict``.

Every refusal is an :class:`~nirverse.errors.InvalidGraphError` or :class:`~nirverse.errors.TooLargeError`
naming the HDF5 path.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from . import limits
from .errors import InvalidGraphError

__all__ = ["read_tree"]

#: HDF5 group levels: each nested NIR graph takes two ("nodes/<name>"), a node's fields one or two more
MAX_GROUP_DEPTH = 2 * limits.MAX_DEPTH + 6
#: links in one file; real NIR files have hundreds
MAX_LINKS = 200_000
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def read_tree(path: Path) -> dict[str, Any]:
    """The decoded ``node`` group of the file at ``path`` (see the module docstring)."""
    import h5py

    with _open_regular(path) as handle:
        if not _has_signature(handle):
            raise InvalidGraphError(
                f"{str(path)!r} is not an HDF5 file (empty, truncated or another format)", field="path",
                expected="a NIR file written by nir.write",
            )
        handle.seek(0)
        try:
            h5 = h5py.File(handle, "r")
        except OSError as exc:
            raise InvalidGraphError(f"cannot open {str(path)!r} as HDF5: {exc}", field="path") from exc
        with h5:
            if _link_class(h5, "node") is not h5py.Group:
                raise InvalidGraphError(
                    f"{str(path)!r} has no 'node' group", field="path", expected="a NIR file written by nir.write"
                )
            walk = _Walk()
            return walk.group(h5["node"], "/node", 1)


def _open_regular(path: Path):
    """A binary file object of ``path`` if it is a regular file; never blocks on a FIFO or device."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InvalidGraphError(f"no such file: {str(path)!r} ({exc.strerror})", field="path",
                                expected="an existing .nir file") from exc
    _require_regular(path, info)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InvalidGraphError(f"cannot open {str(path)!r}: {exc.strerror}", field="path") from exc
    handle = os.fdopen(fd, "rb")
    try:
        _require_regular(path, os.fstat(fd))  # the path may have been replaced in between
    except BaseException:
        handle.close()
        raise
    return handle


def _require_regular(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise InvalidGraphError(
            f"{str(path)!r} is not a regular file (a directory, FIFO, socket or device)", field="path",
            expected="a regular .nir file",
        )
    limits.check_elements(info.st_size / 8, f"file {str(path)!r} of {info.st_size} bytes / 8", field="path")


def _has_signature(handle) -> bool:
    """HDF5's signature sits at byte 0, 512, 1024, 2048, ... (after an optional user block)."""
    offset = 0
    while True:
        handle.seek(offset)
        head = handle.read(8)
        if len(head) < 8:
            return False
        if head == _HDF5_SIGNATURE:
            return True
        offset = 512 if offset == 0 else offset * 2


def _link_class(group, name: str):
    """The class of the object a *hard* link points at; any other link is refused (never resolved)."""
    import h5py

    where = f"{group.name.rstrip('/')}/{name}"
    try:
        link = group.get(name, getlink=True)
    except (KeyError, OSError, TypeError, ValueError) as exc:
        raise InvalidGraphError(f"unreadable link {where!r}: {exc}", field="path", expected="plain HDF5 groups") from exc
    if link is None:
        return None
    if isinstance(link, h5py.ExternalLink):
        raise InvalidGraphError(
            f"{where!r} is an external link to {link.filename!r}:{link.path!r}", field="path",
            expected="a self-contained NIR file (no external links)",
        )
    if isinstance(link, h5py.SoftLink):
        raise InvalidGraphError(
            f"{where!r} is a soft link to {link.path!r}", field="path", expected="a NIR file without soft links"
        )
    if not isinstance(link, h5py.HardLink):
        raise InvalidGraphError(f"{where!r} is a {type(link).__name__}", field="path", expected="plain HDF5 links")
    return group.get(name, getclass=True)


class _Walk:
    """One walk over a file: counts links and declared values against the limits."""

    def __init__(self) -> None:
        self.links = 0
        self.values = 0.0

    def group(self, group, where: str, depth: int) -> dict[str, Any]:
        import h5py

        if depth > MAX_GROUP_DEPTH:
            raise InvalidGraphError(
                f"HDF5 groups nested more than {MAX_GROUP_DEPTH} deep at {where!r}", field="path",
                expected=f"subgraphs nested at most {limits.MAX_DEPTH} deep",
            )
        out: dict[str, Any] = {}
        for name in list(group.keys()):
            self.links += 1
            if self.links > MAX_LINKS:
                raise InvalidGraphError(f"more than {MAX_LINKS} HDF5 links", field="path",
                                        expected="a NIR file of a sensible size")
            kind = _link_class(group, name)
            key = f"{where}/{name}"
            if kind is h5py.Group:
                out[name] = self.group(group[name], key, depth + 1)
            elif kind is h5py.Dataset:
                out[name] = self.dataset(group[name], key)
            else:
                raise InvalidGraphError(
                    f"{key!r} is a {getattr(kind, '__name__', kind)} (e.g. a named datatype)", field="path",
                    expected="only groups and datasets, as nir.write writes them",
                )
        return out

    def dataset(self, ds, where: str) -> Any:
        """The dataset's value after checking its layout, type and declared size."""
        import h5py

        if ds.is_virtual or ds.external:
            raise InvalidGraphError(
                f"{where!r} is a virtual dataset or stores its data in other files", field="path",
                expected="data stored inside the NIR file",
            )
        dtype = ds.dtype
        is_text = dtype.kind == "O" and h5py.check_string_dtype(dtype) is not None
        if dtype.kind not in "biufS" and not is_text:
            raise InvalidGraphError(
                f"{where!r} has HDF5 type {dtype}", field="path",
                expected="numbers or strings (no compound, reference or variable-length data)",
            )
        count = 0 if ds.shape is None else int(np.prod(ds.shape, dtype=object))
        declared = count * dtype.itemsize / 8
        limits.check_elements(declared, f"dataset {where!r} of shape {ds.shape} x {dtype.itemsize} bytes / 8",
                              field="path")
        self.values += declared
        limits.check_elements(self.values, "the datasets of the file in all (bytes / 8)", field="path")
        try:
            value = ds[()]
        except (OSError, ValueError, TypeError) as exc:
            raise InvalidGraphError(f"cannot read {where!r}: {exc}", field="path") from exc
        return value.decode() if isinstance(value, bytes) else value
