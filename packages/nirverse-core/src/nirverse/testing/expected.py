"""Per-backend expected failures: a plain file, one ``case-id  # reason`` per line."""

from __future__ import annotations

import importlib
from importlib import resources
from pathlib import Path

from ..errors import NirverseError

__all__ = ["read_expected_failures", "expected_failures_of"]


def read_expected_failures(text: str, source: str = "expected_failures.txt") -> dict[str, str]:
    """Parse ``case-id  # reason`` lines (blank lines and lines starting with '#' are ignored)."""
    entries: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        case, _, reason = line.partition("#")
        case, reason = case.strip(), reason.strip()
        if not case or " " in case or not reason:
            raise NirverseError(
                f"line {number} is {raw!r}", node=source, field="line", expected="'<case-id>  # <reason>'"
            )
        if case in entries:
            raise NirverseError(f"line {number} repeats {case!r}", node=source, field="line", expected="unique case ids")
        entries[case] = reason
    return entries


def expected_failures_of(module: str, path: str | Path | None = None) -> dict[str, str]:
    """The expected failures shipped as ``expected_failures.txt`` in the package of ``module``."""
    if path is not None:
        return read_expected_failures(Path(path).read_text(), str(path))
    package = importlib.import_module(module).__name__.split(".")[0]
    resource = resources.files(package) / "expected_failures.txt"
    if not resource.is_file():
        return {}
    return read_expected_failures(resource.read_text(), f"{package}/expected_failures.txt")
