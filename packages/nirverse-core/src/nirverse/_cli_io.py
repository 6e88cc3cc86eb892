"""Files for the ``nirverse`` command: reading ``--input`` arrays and writing outputs, safely.

Inputs: a regular file only (never blocks on a FIFO or device), ``.npy`` or ``.npz`` recognised by content,
no pickles, every array's declared size (header shape x itemsize) checked against the size limit *before*
it is read -- a 21 TiB header or a decompression bomb is refused, not allocated.

Outputs: written to exactly the path given (no suffix added; missing folders created), never over an
existing file unless ``force``, never through a symlink or into a special file; written to a temporary
file beside the target and then published atomically (a hard link, which fails if the target appeared
meanwhile, or a rename with ``force``). A default name the user did not choose becomes the first free one
of ``name``, ``name-1``, ``name-2``, ... so that two runs never write over each other.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from . import limits
from .errors import InvalidInputError, NirverseError

__all__ = ["CliError", "load_array_file", "check_output", "write_output", "check_scoreboard", "fresh_path"]

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


class CliError(NirverseError, ValueError):
    """A command-line argument that cannot be used (the message names the option)."""


def load_array_file(path: str, option: str = "--input") -> np.ndarray | dict[str, np.ndarray]:
    """The array of a ``.npy`` file, or ``{name: array}`` of a ``.npz`` file, read with bounded sizes."""
    with _open_regular(path, option) as handle:
        head = handle.read(8)
        handle.seek(0)
        try:
            if head.startswith(_NPY_MAGIC):
                return _read_npy(handle, option, path)
            if head.startswith(_ZIP_MAGIC):
                return _read_npz(handle, option, path)
        except NirverseError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
            raise InvalidInputError(f"cannot read {path!r}: {type(exc).__name__}: {exc}", field=option,
                                    expected="a .npy or .npz file written by numpy") from exc
    raise InvalidInputError(f"{path!r} is neither a .npy nor a .npz file", field=option,
                            expected="a .npy array (batch, time, *shape) or a .npz {input name: array}")


def _open_regular(path: str, option: str) -> BinaryIO:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise InvalidInputError(f"{path!r} is not a regular file", field=option, expected="a .npy or .npz file")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InvalidInputError(f"cannot open {path!r}: {exc.strerror}", field=option,
                                expected="an existing .npy or .npz file") from exc
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        raise InvalidInputError(f"{path!r} is not a regular file", field=option, expected="a .npy or .npz file")
    return handle


def _read_npy(handle: BinaryIO, option: str, where: str) -> np.ndarray:
    """One ``.npy`` stream: the header checked (dtype, declared size) before the data are read."""
    fmt = np.lib.format
    start = handle.tell()
    version = fmt.read_magic(handle)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ValueError(f"unknown .npy version {version}")
    reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, _, dtype = reader(handle)
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "biuf":
        raise InvalidInputError(f"{where!r} holds an array of dtype {dtype}", field=option,
                                expected="an array of real numbers (no objects, no pickles)")
    count = int(np.prod(shape, dtype=object))
    limits.check_elements(count * dtype.itemsize / 8, f"{where!r}: array of shape {shape} x {dtype.itemsize} bytes / 8",
                          field=option)
    handle.seek(start)
    return fmt.read_array(handle, allow_pickle=False)


def _read_npz(handle: BinaryIO, option: str, where: str) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(handle) as archive:
        for info in archive.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            with archive.open(info) as member:
                arrays[name] = _read_npy(member, option, f"{where}:{info.filename}")
    return arrays


def check_output(path: str, force: bool, option: str = "--output", suffixes: tuple[str, ...] = ()) -> Path:
    """Refuse, before anything runs, an output path that would be written where the user did not ask."""
    target = Path(path)
    if suffixes and target.suffix.lower() not in suffixes:
        raise CliError(f"{path!r} has the suffix {target.suffix!r}", field=option, expected=" or ".join(suffixes))
    if target.is_symlink():
        raise CliError(f"{path!r} is a symbolic link", field=option, expected="a plain file path (not a symlink)")
    if target.exists() or _is_special(target):
        if not target.is_file():
            raise CliError(f"{path!r} is not a regular file (a directory, device or FIFO)", field=option,
                           expected="a path for a new regular file")
        if not force:
            raise CliError(f"{path!r} exists", field=option, expected="a new file, or --force to overwrite it")
    _check_folder(target, option)
    return target


def _check_folder(target: Path, option: str) -> None:
    """The nearest existing ancestor must be a folder (missing ones are created when writing)."""
    parent = target.parent
    while not os.path.lexists(parent) and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise CliError(f"{str(parent)!r} is not a folder", field=option, expected=f"a folder for {str(target)!r}")


def fresh_path(default: str) -> str:
    """``default``, or ``stem-1.suffix``, ``stem-2.suffix``, ...: the first name nothing is at."""
    path = Path(default)
    for i in range(1000):
        candidate = path if i == 0 else path.with_name(f"{path.stem}-{i}{path.suffix}")
        if not os.path.lexists(candidate):
            return str(candidate)
    raise CliError(f"{default!r} and 999 numbered variants exist", expected="a path given explicitly")


def _is_special(target: Path) -> bool:
    try:
        return not stat.S_ISREG(os.lstat(target).st_mode)
    except OSError:
        return False


def write_output(target: Path, force: bool, write: Callable[[str], Any], option: str = "--output") -> Path:
    """Call ``write(temporary path)`` beside ``target``, then publish it as exactly ``target``."""
    check_output(str(target), force, option)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix or ".tmp")
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # the permissions a plain open() would have given
        write(tmp)
        if force:
            os.replace(tmp, target)
        else:
            _publish_new(tmp, target, option)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return target


def _publish_new(tmp: str, target: Path, option: str) -> None:
    """Make ``tmp`` appear as ``target`` only if no file is there (a hard link is atomic on that)."""
    try:
        os.link(tmp, target)
    except FileExistsError as exc:
        raise CliError(f"{str(target)!r} appeared while running", field=option,
                       expected="a new file, or --force to overwrite it") from exc
    except OSError:  # a file system without hard links
        if os.path.lexists(target):
            raise CliError(f"{str(target)!r} exists", field=option, expected="--force to overwrite it") from None
        os.replace(tmp, target)


def check_scoreboard(path: str, option: str = "--output") -> Path:
    """A scoreboard path: new, or an existing scoreboard (a JSON object with a "results" list) to merge into."""
    target = Path(path)
    if target.is_symlink() or (os.path.lexists(target) and not target.is_file()):
        raise CliError(f"{path!r} is a symlink or not a regular file", field=option, expected="a .json file path")
    _check_folder(target, option)
    if target.exists():
        try:
            payload = json.loads(target.read_text())
        except (OSError, ValueError) as exc:
            raise CliError(f"{path!r} exists and is not JSON ({exc})", field=option,
                           expected="a new path or an existing nirverse scoreboard") from exc
        results = payload.get("results", []) if isinstance(payload, dict) else None
        if not isinstance(results, list) or not all(isinstance(e, dict) and {"backend", "case"} <= set(e) for e in results):
            raise CliError(f"{path!r} exists and is not a nirverse scoreboard", field=option,
                           expected="a JSON object with a 'results' list, or a new path")
    return target
