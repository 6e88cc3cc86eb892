"""Turn run results into the docs' compatibility matrix and conformance scoreboard (never typed by hand).

Reads every scoreboard JSON under --results (written by `pytest --nirverse-scoreboard`: the nox sessions
`plugin`, `compat`, `integration`) and, optionally, nox's `--report` JSON. Writes Markdown tables under
--out, among them the native / adapted / emulated level of every node type under every semantics
(`levels.md`, `levels-<backend>.md`), from `nirverse.explain` over the catalogue where nirverse and the
plugins are installed. With --check, exits 1 when compat_matrix.yaml claims support that a run contradicts: a case within
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
STATUSES = ("identical", "unsupported", "deviating", "error", "unavailable", "crashed", "timed_out")
#: the verdicts that are failures of the backend
FAILURES = ("deviating", "error", "crashed", "timed_out")


def load_results(folder: Path) -> dict[str, dict]:
    out = {}
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("nox-"):
            continue
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


#: the family of the fuzzer's reproducers: parameter extremes (a subnormal r, a current read back past 1e-139)
#: where a typed refusal is a correct answer, so a refusal there does not contradict a node-type claim (a
#: deviation or an error still does)
PARAMETER_EXTREMES = "fuzz"


def claimed(case: dict, claims: dict) -> bool:
    sem = {k.rsplit(".", 1)[1]: v for k, v in case["semantics"].items()}
    return (set(case["node_types"]) <= set(claims["node_types"]) and sem["method"] in claims["methods"]
            and sem["reset"] in claims["resets"] and sem["latency"] in claims["latencies"]
            and case.get("dtype", "float64") in claims.get("dtypes", ("float64", "float32")))


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
            if entry["status"] == "unsupported" and case.get("family") != PARAMETER_EXTREMES:
                found.append(f"{name}: {fw} claims {entry['case']} but refused it: {entry['reason']}")
            elif entry["status"] in FAILURES and entry["case"] not in expected_failures(fw):
                found.append(f"{name}: {fw} claims {entry['case']} but it is {entry['status']}")
    return found


def _note(compat: dict, framework: str, version: str) -> str:
    for entry in compat["frameworks"].get(framework, {}).get("versions", []):
        if isinstance(entry, dict) and entry.get("version") == version:
            return entry.get("note", "")
    return ""


def matrix_table(results: dict[str, dict], compat: dict, reports: list[dict]) -> str:
    """One row per compat/plugin session: framework version, Python, nox result, conformance counts."""
    rows: dict[str, dict] = {}
    for report in reports:
        for s in report.get("sessions", []):
            if s.get("name") not in ("compat", "plugin"):
                continue
            args = s.get("args") or {}
            signature = s.get("signatures", [s.get("name")])[0]
            python = re.search(r"-(3\.\d+)", signature)
            key = (f"compat-{args.get('framework')}-{args.get('version')}" if s["name"] == "compat"
                   else f"plugin-{args.get('framework')}-{python.group(1) if python else '-'}")
            rows[key] = {"session": signature, "result": s.get("result"), "duration": s.get("duration")}
    for name in results:
        if re.match(r"(compat|plugin)-", name):
            rows.setdefault(name, {"session": name, "result": "ran", "duration": None})
    lines = ["| framework | version | Python | nir | run | ✔ | – | ✘ | ! | notes |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    notes: list[str] = []
    for key in sorted(rows):
        kind, fw, tail = re.match(r"(compat|plugin)-([a-z0-9]+)-(.+)$", key).groups()
        board = results.get(key)
        counts = Counter(e["status"] for e in board["results"] if e["backend"] == fw) if board else Counter()
        versions = {e.get("version") for e in board["results"] if e["backend"] == fw} - {None} if board else set()
        version = ", ".join(sorted(versions)) or (tail if kind == "compat" else "-")
        python = board.get("python", "-") if board else (tail if kind == "plugin" else "-")
        python = ".".join(str(python).split(".")[:2])
        nir_version = (board or {}).get("nir") or "-"
        row = rows[key]
        took = f" {row['duration']:.0f} s" if row.get("duration") else ""
        cells = [str(counts.get(s, 0)) for s in STATUSES[:4]] if board else ["-"] * 4
        broken = sum(counts.get(s, 0) for s in ("crashed", "timed_out"))
        if broken:
            cells[3] = f"{int(cells[3]) + broken}"
        note = _note(compat, fw, tail) if kind == "compat" else ""
        if note:
            notes.append(note)
        lines.append(f"| {fw} | {version} | {python} | {nir_version} | {kind}: {row['result']}{took} | "
                     + " | ".join(cells) + f" | {f'[{len(notes)}]' if note else ''} |")
    if len(lines) == 2:
        lines.append("| (no results yet: run `nox -s plugin compat --report results/nox-report.json`) |" + " |" * 9)
    lines += ["", "run: the nox session (`compat(<framework>-<version>)` or `plugin`), its result and duration; "
              "✔ identical · – unsupported (refused at build time) · ✘ deviating · ! error, crashed or timed out"]
    lines += ["", "Notes:", ""] if notes else []
    lines += [f"{i}. {text}" for i, text in enumerate(notes, 1)]
    return "\n".join(lines) + "\n"


def scoreboard_table(results: dict[str, dict]) -> str:
    merged: dict[tuple[str, str], dict] = {}
    for board in results.values():
        for entry in board["results"]:
            merged[entry["backend"], entry["case"]] = entry
    backends = sorted({b for b, _ in merged})
    cases = sorted({c for _, c in merged})
    symbol = {"identical": "✔", "unsupported": "–", "deviating": "✘", "error": "!", "unavailable": "·", "crashed": "☠", "timed_out": "⧗"}
    summary = defaultdict(Counter)
    for (b, _), e in merged.items():
        summary[b][e["status"]] += 1
    heads = {"identical": "✔", "unsupported": "–", "deviating": "✘", "error": "!", "unavailable": "·", "crashed": "☠",
             "timed_out": "⧗"}
    lines = ["| backend | " + " | ".join(heads[s] for s in STATUSES) + " |", "|---" * (len(STATUSES) + 1) + "|"]
    for b in backends:
        lines.append(f"| {b} | " + " | ".join(str(summary[b].get(s, 0)) for s in STATUSES) + " |")
    lines += ["", "✔ identical · – unsupported (refused at build time) · ✘ deviating · ! error · ☠ crashed · ⧗ timed out · (blank) not run", "",
              "{.nirverse-scoreboard}", "| case | " + " | ".join(backends) + " |", "|---" * (len(backends) + 1) + "|"]
    for c in cases:
        lines.append(f"| {c} | " + " | ".join(symbol.get(merged.get((b, c), {}).get("status"), "") for b in backends) + " |")
    worst = [e for e in merged.values() if e["status"] in FAILURES]
    if worst:
        lines += ["", "Deviations and errors, with their measures:", ""]
        for e in sorted(worst, key=lambda e: (e["backend"], e["case"])):
            m = e.get("measures") or {}
            lines.append(f"- {e['backend']} on `{e['case']}`: {e['status']} — {m.get('mismatches', '-')} raster mismatches, "
                         f"first differing step {m.get('first_step', '-')}, max |Δ| {m.get('max_abs', '-')}"
                         + (f"; {e['reason']}" if e.get("reason") else ""))
    return "\n".join(lines) + "\n"


def _labelling_backends() -> dict[str, str | None]:
    """Every registered simulator backend -> None where ``nirverse.explain`` labels its nodes here (most plugins
    need no framework for that), else the reason."""
    from nirverse.api import explain
    from nirverse.backends import backend_names
    from nirverse.testing.catalogue import load_cases

    case = load_cases(["single-lif-euler-value-imm"])[0]
    found: dict[str, str | None] = {}
    for name in backend_names():
        if name == "reference":
            continue
        try:
            explain(case.graph(), case.semantics, name)
            found[name] = None
        except Exception as exc:  # a plugin without labels, or whose labelling needs its framework
            found[name] = f"{type(exc).__name__}: {exc}"
    return found


def write_levels(out: Path) -> str:
    """``levels.md`` (every backend: level per node type and semantics, and the catalogue's neuron nodes per
    level) and ``levels-<backend>.md`` (constructs and reasons, or why they could not be generated here); a
    note where nirverse is not installed."""
    try:
        from nirverse.testing.coverage import grid_markdown, matrix_markdown, shares_markdown
        from nirverse.testing.kit import FRAMEWORKS
    except ImportError:
        note = "(the levels are generated where nirverse and its plugins are installed: `nox -s docs`)\n"
        for name in ("", "-norse", "-snntorch", "-rockpool", "-brian2", "-genn", "-nengo", "-jaxsnn"):
            (out / f"levels{name}.md").write_text(note)
        return "levels: nirverse not installed here"
    found = _labelling_backends()
    names = [n for n, why in found.items() if why is None]
    (out / "levels.md").write_text(
        "Neuron nodes of the catalogue's cases (each under its own semantics and dtype), per level:\n\n"
        + shares_markdown(names) + "\nLevel of every node type (the catalogue's single-node graphs) under every "
        "method × reset × latency, float64 (float32 noted where it differs):\n\n" + matrix_markdown(names))
    for name in sorted(set(found) | set(FRAMEWORKS)):
        why = found.get(name, "the plugin is not installed where this page was built")
        (out / f"levels-{name}.md").write_text(grid_markdown(name) if why is None else f"(not generated here: {why})\n")
    return f"levels of {', '.join(names) or 'no backend'}"
FUZZ_VERDICTS = ("identical", "refused", "deviating", "error", "crashed", "timed_out")


def load_fuzz(folders: list[Path]) -> dict[str, dict]:
    """The newest fuzz summary per backend (`nirverse fuzz --json`, any *.json with a "fuzz" key)."""
    latest: dict[str, dict] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            data = json.loads(path.read_text())
            if not isinstance(data, dict) or "fuzz" not in data:
                continue
            for name, entry in data["backends"].items():
                if name not in latest or str(data.get("written")) >= str(latest[name]["written"]):
                    latest[name] = entry | {"written": data.get("written"), "seed": data.get("seed")}
    return latest


def fuzz_table(latest: dict[str, dict]) -> str:
    """Per backend: random graphs run, the count of every verdict, and the refusal rates by reason."""
    if not latest:
        return "(no fuzz summary yet: run `nirverse fuzz --json results/fuzz.json`)\n"
    heads = {"identical": "✔", "refused": "–", "deviating": "✘", "error": "!", "crashed": "☠", "timed_out": "⧗"}
    lines = ["| backend | version | graphs | " + " | ".join(heads[v] for v in FUZZ_VERDICTS) + " | seed |",
             "|---" * (len(FUZZ_VERDICTS) + 4) + "|"]
    for name in sorted(latest):
        e = latest[name]
        lines.append(f"| {name} | {e.get('version') or '-'} | {e['graphs']} | "
                     + " | ".join(str(e["counts"].get(v, 0)) for v in FUZZ_VERDICTS) + f" | {e.get('seed')} |")
    runs = sorted({str(e.get("written")) for e in latest.values() if e.get("written")})
    lines += ["", "✔ identical · – refused (typed reason) · ✘ deviating · ! error · ☠ crashed · ⧗ timed out"
              + (f"; run {', '.join(runs)}" if runs else ""), "",
              "Refusals by reason (share of that backend's graphs):", ""]
    for name in sorted(latest):
        e = latest[name]
        for reason, count in e["refusals"].items():
            share = 100.0 * count / max(e["graphs"], 1)
            lines.append(f"- {name}: {count} ({share:.1f} %) — {_cell(reason)}")
    findings = [f for e in latest.values() for f in e.get("findings", [])]
    if findings:
        lines += ["", "Failures, shrunk to reproducers:", ""]
        lines += [f"- {f['backend']}: {f['verdict']} ({_cell(str(f.get('reason') or ''))}) `{f.get('replay', '')}`"
                  for f in findings]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, action="append", default=[],
                        help="folder of result JSONs (repeatable, later ones win; default: compat/results/ then results/)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/generated")
    parser.add_argument("--report", type=Path, action="append", default=[],
                        help="nox --report JSON (repeatable; default: every results/nox-*.json)")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    compat = yaml.safe_load((ROOT / "compat_matrix.yaml").read_text())
    # later folders win: fresh results/ over the kept compat/results/
    folders = [f for f in (args.results or [ROOT / "compat" / "results", ROOT / "results"]) if f.exists()]
    results = {name: board for f in folders for name, board in load_results(f).items()}
    report_paths = args.report or [p for f in folders for p in sorted(f.glob("nox-*.json"))]
    reports = [json.loads(p.read_text()) for p in report_paths if p.exists()]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "matrix.md").write_text(matrix_table(results, compat, reports))
    (args.out / "scoreboard.md").write_text(scoreboard_table(results))
    levels = write_levels(args.out)
    (args.out / "fuzz.md").write_text(fuzz_table(load_fuzz(folders)))
    print(f"wrote {args.out / 'matrix.md'}, {args.out / 'scoreboard.md'} and {args.out / 'fuzz.md'} from "
          f"{len(results)} result file(s); {levels}")
    if args.check:
        problems = contradictions(results, compat)
        for p in problems:
            print("contradiction:", p)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
