"""Turn run results into the docs' compatibility matrix and conformance scoreboard (never typed by hand).

Reads every scoreboard JSON under --results (written by `pytest --nirverse-scoreboard`: the nox sessions
`plugin`, `compat`, `integration`) and, optionally, nox's `--report` JSON. Writes Markdown tables under
--out. With --check, exits 1 when compat_matrix.yaml claims support that a run contradicts: a case within
a framework's claimed node types and semantics that its backend refused, or that deviated without being
listed in the plugin's expected_failures.txt.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "packages/nirverse-core/src/nirverse/testing/data/cases/catalogue.json"
STATUSES = ("identical", "unsupported", "deviating", "error", "unavailable")


def load_results(folder: Path) -> dict[str, dict]:
    out = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        if "results" in data:
            out[path.stem] = data
    return out


def expected_failures(framework: str) -> set[str]:
    path = ROOT / f"packages/nirverse-{framework}/src/nirverse_{framework}/expected_failures.txt"
    if not path.exists():
        return set()
    return {line.split("#")[0].strip() for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")}


def claimed(case: dict, claims: dict) -> bool:
    sem = {k.rsplit(".", 1)[1]: v for k, v in case["semantics"].items()}
    return (set(case["node_types"]) <= set(claims["node_types"]) and sem["method"] in claims["methods"]
            and sem["reset"] in claims["resets"] and sem["latency"] in claims["latencies"])


def contradictions(results: dict[str, dict], compat: dict) -> list[str]:
    cases = {c["id"]: c for c in json.loads(CATALOGUE.read_text())["cases"]}
    found = []
    for name, board in results.items():
        for entry in board["results"]:
            fw = entry["backend"]
            claims = compat["frameworks"].get(fw, {}).get("claims")
            case = cases.get(entry["case"])
            if not claims or case is None or not claimed(case, claims):
                continue
            if entry["status"] == "unsupported":
                found.append(f"{name}: {fw} claims {entry['case']} but refused it: {entry['reason']}")
            elif entry["status"] in ("deviating", "error") and entry["case"] not in expected_failures(fw):
                found.append(f"{name}: {fw} claims {entry['case']} but it is {entry['status']}")
    return found


def matrix_table(results: dict[str, dict], compat: dict, report: dict | None) -> str:
    sessions = {}
    if report:
        for s in report.get("sessions", []):
            sessions[s.get("signatures", [s.get("name")])[0]] = s.get("result")
    rows = ["| framework | version | Python | nir | session | identical | unsupported | deviating | error |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name, board in sorted(results.items()):
        match = re.match(r"(compat|plugin)-([a-z0-9]+)-(.+)$", name)
        if not match:
            continue
        kind, fw, tail = match.groups()
        counts = Counter(e["status"] for e in board["results"] if e["backend"] == fw)
        versions = {e.get("version") for e in board["results"] if e["backend"] == fw} - {None}
        version = ", ".join(sorted(versions)) or (tail if kind == "compat" else "-")
        python = board.get("python", "-")
        rows.append(f"| {fw} | {version} | {python} | {board.get('nir') or '-'} | {kind} | "
                    + " | ".join(str(counts.get(s, 0)) for s in STATUSES[:4]) + " |")
    if len(rows) == 2:
        rows.append("| (no results yet: run `nox -s plugin compat`) | | | | | | | | |")
    text = "\n".join(rows)
    if sessions:
        text += "\n\nnox sessions:\n\n| session | result |\n|---|---|\n" + "\n".join(
            f"| `{k}` | {v} |" for k, v in sorted(sessions.items()))
    return text + "\n"


def scoreboard_table(results: dict[str, dict]) -> str:
    merged: dict[tuple[str, str], dict] = {}
    for board in results.values():
        for entry in board["results"]:
            merged[entry["backend"], entry["case"]] = entry
    backends = sorted({b for b, _ in merged})
    cases = sorted({c for _, c in merged})
    symbol = {"identical": "✔", "unsupported": "–", "deviating": "✘", "error": "!", "unavailable": "·"}
    summary = defaultdict(Counter)
    for (b, _), e in merged.items():
        summary[b][e["status"]] += 1
    lines = ["| backend | " + " | ".join(STATUSES) + " |", "|---" * (len(STATUSES) + 1) + "|"]
    for b in backends:
        lines.append(f"| {b} | " + " | ".join(str(summary[b].get(s, 0)) for s in STATUSES) + " |")
    lines += ["", "✔ identical · – unsupported (refused at build time) · ✘ deviating · ! error · (blank) not run", "",
              "| case | " + " | ".join(backends) + " |", "|---" * (len(backends) + 1) + "|"]
    for c in cases:
        lines.append(f"| `{c}` | " + " | ".join(symbol.get(merged.get((b, c), {}).get("status"), "") for b in backends) + " |")
    worst = [e for e in merged.values() if e["status"] in ("deviating", "error")]
    if worst:
        lines += ["", "Deviations and errors, with their measures:", ""]
        for e in sorted(worst, key=lambda e: (e["backend"], e["case"])):
            m = e.get("measures") or {}
            lines.append(f"- {e['backend']} on `{e['case']}`: {e['status']} — {m.get('mismatches', '-')} raster mismatches, "
                         f"first differing step {m.get('first_step', '-')}, max |Δ| {m.get('max_abs', '-')}"
                         + (f"; {e['reason']}" if e.get("reason") else ""))
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/generated")
    parser.add_argument("--report", type=Path)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    compat = yaml.safe_load((ROOT / "compat_matrix.yaml").read_text())
    results = load_results(args.results) if args.results.exists() else {}
    report = json.loads(args.report.read_text()) if args.report and args.report.exists() else None
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "matrix.md").write_text(matrix_table(results, compat, report))
    (args.out / "scoreboard.md").write_text(scoreboard_table(results))
    print(f"wrote {args.out / 'matrix.md'} and {args.out / 'scoreboard.md'} from {len(results)} result file(s)")
    if args.check:
        problems = contradictions(results, compat)
        for p in problems:
            print("contradiction:", p)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
