"""The scoreboard: every verdict of a conformance run, as JSON, for the docs and the compatibility matrix."""

from __future__ import annotations

import json
import platform
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from .verdict import Verdict

__all__ = ["write_scoreboard", "read_scoreboard", "summarize"]


def _clean(value):
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def write_scoreboard(verdicts: Iterable[Verdict], path: str | Path) -> Path:
    """Write (or merge into) the scoreboard at ``path``; later verdicts replace earlier ones of the same pair."""
    import nir

    from .. import __version__

    path = Path(path)
    entries: dict[tuple[str, str], dict] = {}
    if path.exists():
        for entry in json.loads(path.read_text()).get("results", []):
            entries[(entry["backend"], entry["case"])] = entry
    for v in verdicts:
        entries[(v.backend, v.case)] = _clean(v.to_dict())
    payload = {
        "nirverse": __version__, "nir": nir.version if hasattr(nir, "version") else None,
        "python": platform.python_version(), "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "results": sorted(entries.values(), key=lambda e: (e["backend"], e["case"])),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path


def read_scoreboard(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def summarize(results: Iterable[dict]) -> dict[str, Counter]:
    """{backend: Counter(status)} over scoreboard entries."""
    out: dict[str, Counter] = {}
    for entry in results:
        out.setdefault(entry["backend"], Counter())[entry["status"]] += 1
    return out
