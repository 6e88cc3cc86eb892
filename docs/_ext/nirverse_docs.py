"""Directives that put facts from the sources into the pages, so that nothing is typed twice.

* ``.. nirverse-docstring:: packages/<pkg>/src/<mod>/<file>.py`` -- a module's docstring (read with
  ``ast``, nothing imported), e.g. the mapping tables a plugin keeps in ``_from_nir.py``;
  option ``:tests:`` renders instead the docstrings of the ``test_*`` functions (the measured
  deviations a plugin asserts in ``tests/test_bridge.py``); ``:cite:`` names the file. A path that does
  not exist fails the build (a page never cites a renamed or deleted file). A docstring that is not valid
  reStructuredText is rendered block by block, the failing blocks verbatim with a note naming the problem.
* ``.. nirverse-compat-table::`` -- the frameworks, versions (with their notes) and Python versions of
  ``compat_matrix.yaml``.
* ``.. nirverse-capabilities:: <backend>`` -- what the backend declares (node types, semantics, dtypes,
  export), what ``compat_matrix.yaml`` claims and tests, the installed version, its
  ``expected_failures.txt`` and its conformance verdicts from the result files (``results/*.json``,
  or ``$NIRVERSE_RESULTS``).

All paths are relative to the repository root. Use them inside ``{eval-rst}`` blocks of MyST pages.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
from collections import Counter
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from docutils.statemachine import StringList

ROOT = Path(__file__).resolve().parents[2]
STATUSES = ("identical", "unsupported", "deviating", "error", "unavailable")


def _results_dir() -> Path:
    return Path(os.environ.get("NIRVERSE_RESULTS", ROOT / "results"))


def _parse(directive: Directive, text: str, source: str) -> list[nodes.Node]:
    container = nodes.container()
    directive.state.nested_parse(StringList(text.splitlines(), source=source), directive.content_offset, container)
    return container.children


_PIPE = re.compile(r"(?<!\\)\|(?=\S)([^|\n]*?\S)\|")


def _sanitize(text: str) -> str:
    """Plain-text habits that reStructuredText misreads, outside literals: ``|dv|`` (an absolute value, not
    a substitution) and ``*shape`` (an argument unpacking, not an emphasis)."""
    lines = text.splitlines()
    escape_stray_asterisks(None, None, None, None, None, lines)
    out = []
    for line in lines:
        if line.lstrip().startswith(("|", "+")):  # line blocks and grid tables keep their bars
            out.append(line)
            continue
        parts = _LITERAL.split(line)
        out.append("".join(part if i % 2 else _PIPE.sub(r"\\|\1\\|", part) for i, part in enumerate(parts)))
    return "\n".join(out)


def _trial(directive: Directive, text: str, source: str) -> tuple[list[nodes.Node], list[nodes.system_message]]:
    """Parse without reporting anything; return the nodes and the problems (warnings and worse)."""
    reporter = directive.state.document.reporter
    problems: list[nodes.system_message] = []

    def observe(message: nodes.system_message) -> None:
        if message["level"] >= 2:
            problems.append(message)

    saved = reporter.report_level, reporter.halt_level
    reporter.report_level = reporter.halt_level = 5
    reporter.attach_observer(observe)
    try:
        parsed = _parse(directive, text, source)
    finally:
        reporter.detach_observer(observe)
        reporter.report_level, reporter.halt_level = saved
    for node in parsed:  # substitutions are resolved later, by a transform: a docstring never defines one
        problems += [nodes.system_message(f"|{ref.astext()}| reads as a substitution", level=3, type="ERROR")
                     for ref in node.findall(nodes.substitution_reference)]
    return parsed, problems


def _blocks(text: str) -> list[str]:
    """Top-level blocks: split at blank lines that are followed by an unindented line."""
    blocks, current = [], []
    lines = text.splitlines()
    for k, line in enumerate(lines):
        if not line.strip() and current and k + 1 < len(lines) and lines[k + 1][:1] not in (" ", "\t", ""):
            blocks.append("\n".join(current))
            current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _parse_or_literal(directive: Directive, text: str, source: str) -> list[nodes.Node]:
    """Parse a docstring as reStructuredText. Where it does not parse cleanly (a table whose text runs past
    its column, an unmatched inline markup), parse it block by block and show only the blocks that fail
    verbatim, each after a note naming the problem (so the plugin's author can fix the docstring), instead
    of failing the build."""
    text = _sanitize(text)
    parsed, problems = _trial(directive, text, source)
    if not problems:
        return parsed
    out: list[nodes.Node] = []
    for block in _blocks(text):
        parsed, problems = _trial(directive, block, source)
        if not problems:
            out += parsed
            continue
        first = problems[0]
        reason = first.children[0].astext() if first.children else first.get("type", "a parse error")
        note = nodes.paragraph("", f"Shown verbatim: this block of {source} is not valid reStructuredText: "
                               f"{reason.splitlines()[0]}")
        note["classes"].append("nirverse-verbatim-note")
        literal = nodes.literal_block(block, block)
        literal["language"] = "text"
        out += [note, literal]
    return out


def _compat() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "compat_matrix.yaml").read_text())


class DocstringDirective(Directive):
    """Argument: one path, which must exist (the build fails otherwise). ``:cite:`` puts
    "From ``<package>/<file>``:" before it."""

    required_arguments = 1
    option_spec = {"tests": directives.flag, "cite": directives.flag}

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        rel = self.arguments[0]
        if not (ROOT / rel).is_file():
            raise self.error(f"nirverse-docstring: {rel} does not exist")
        path = ROOT / rel
        env.note_dependency(str(path))
        tree = ast.parse(path.read_text(), filename=str(path))
        if "cite" in self.options:
            short = "/".join(Path(rel).parts[-2:])
            cite = _parse(self, f"From ``{short}``:", rel)
            return cite + self._render(tree, rel)
        return self._render(tree, rel)

    def _render(self, tree: ast.Module, rel: str) -> list[nodes.Node]:
        if "tests" not in self.options:
            text = ast.get_docstring(tree) or ""
            return _parse_or_literal(self, text, rel)
        lines = []
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                doc = ast.get_docstring(node)
                title = node.name.removeprefix("test_").replace("_", " ")
                lines.append(f"* ``{node.name}`` -- *{title}*" + (":" if doc else ""))
                if doc:
                    lines.append("")
                    lines += ["  " + ln if ln else "" for ln in doc.splitlines()]
                    lines.append("")
        return _parse_or_literal(self, "\n".join(lines) or "(no tests)", rel)


def _backend_class(name: str):
    from nirverse.backends import get_backend  # loads the plugin's backend module, not the framework

    return type(get_backend(name))


def _verdicts(name: str) -> tuple[dict[str, dict], list[str]]:
    merged: dict[str, dict] = {}
    files = []
    folder = _results_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            board = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        hits = [e for e in board.get("results", []) if e.get("backend") == name]
        if hits:
            files.append(path.name)
        for entry in hits:
            merged[entry["case"]] = entry
    return merged, files


def _expected(name: str) -> dict[str, str]:
    for path in ROOT.glob(f"packages/nirverse-{name}/src/*/expected_failures.txt"):
        from nirverse.testing.expected import read_expected_failures

        return read_expected_failures(path.read_text(), str(path.relative_to(ROOT)))
    return {}


def _versions(meta: dict) -> str:
    """``versions`` of compat_matrix.yaml: plain strings, or ``{version, with, note}`` mappings."""
    out = []
    for entry in meta.get("versions", []):
        if isinstance(entry, dict):
            extra = [f"with {', '.join(entry['with'])}" if entry.get("with") else "", entry.get("note", "")]
            extra = [e for e in extra if e]
            out.append(f"{entry.get('version', '?')}" + (f" ({_cell('; '.join(extra))})" if extra else ""))
        else:
            out.append(str(entry))
    return "; ".join(out) or "-"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class CapabilitiesDirective(Directive):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        compat = _compat()["frameworks"].get(name)
        if compat is None:
            raise self.error(f"nirverse-capabilities: {name!r} is not in compat_matrix.yaml")
        try:
            installed = importlib.metadata.version(compat["distribution"])
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed where these docs were built"
        rows = [
            ("framework distribution", f"``{compat['distribution']}`` ({compat.get('license', '-')})"),
            ("plugin", f"``{compat['plugin']}``"),
            ("versions tested (``nox -s compat``)", _versions(compat)),
            ("Python versions", ", ".join(compat["python"])),
            ("version in this build", installed),
            ("install note", _cell(compat.get("install_notes", "-"))),
        ]
        if compat.get("tested_here"):
            rows.append(("tested", _cell(str(compat["tested_here"]))))
        if compat.get("data_plugin"):
            rows.append(("kind", "data plugin: no backend, no dynamics to hold against the reference"))
        else:
            cls = _backend_class(name)
            rows += [
                ("node types the backend executes", ", ".join(sorted(set(cls.node_types) - {"Input", "Output"}))),
                ("methods", ", ".join(sorted(cls.methods))),
                ("resets", ", ".join(sorted(cls.resets))),
                ("latencies", ", ".join(sorted(cls.latencies))),
                ("dtypes", ", ".join(sorted(cls.dtypes))),
                ("exports native models to NIR", "yes (``to_nir``)" if cls.exports else "no"),
                ("claimed in compat_matrix.yaml", "; ".join(
                    f"{k}: {', '.join(v)}" for k, v in compat.get("claims", {}).items())),
            ]
        text = [".. list-table::", "   :widths: 30 70", "   :class: nirverse-capabilities", ""]
        for key, value in rows:
            text += [f"   * - {key}", f"     - {value}"]
        out = _parse(self, "\n".join(text), f"capabilities of {name}")
        if compat.get("data_plugin"):
            return out
        expected = _expected(name)
        lines = ["", "**Expected failures** (``expected_failures.txt``, checked by the kit): "
                 + ("none." if not expected else "")]
        lines += [f"* ``{case}`` -- {_cell(reason)}" for case, reason in expected.items()]
        verdicts, files = _verdicts(name)
        if verdicts:
            counts = Counter(e["status"] for e in verdicts.values())
            lines += ["", "**Conformance verdicts** (from " + ", ".join(f"``{f}``" for f in files) + "): "
                      + ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES if counts.get(s)) + "."]
            odd = [e for e in verdicts.values() if e["status"] in ("deviating", "error", "unsupported")]
            for e in sorted(odd, key=lambda e: (e["status"], e["case"])):
                m = e.get("measures") or {}
                measure = (f" -- {m.get('mismatches', '-')} raster mismatches, max \\|Δ\\| {m.get('max_abs', '-')}"
                           if e["status"] == "deviating" else "")
                reason = f": {_cell(e['reason'])}" if e.get("reason") else ""
                lines.append(f"* ``{e['case']}`` {e['status']}{measure}{reason}")
        else:
            lines += ["", "**Conformance verdicts**: no result file holds this backend in this build "
                      "(run ``nirverse conformance --output results/conformance.json``)."]
        return out + _parse(self, "\n".join(lines), f"verdicts of {name}")


class CompatTableDirective(Directive):
    """The frameworks, versions and Python versions of ``compat_matrix.yaml``: short cells in the table, the
    per-version notes and install notes as numbered notes below it."""

    def run(self) -> list[nodes.Node]:
        compat = _compat()
        self.state.document.settings.env.note_dependency(str(ROOT / "compat_matrix.yaml"))
        text = [".. list-table::", "   :header-rows: 1", "",
                "   * - framework", "     - distribution", "     - versions tested", "     - Python",
                "     - license", "     - notes"]
        notes: list[str] = []
        for name, meta in compat["frameworks"].items():
            refs = []
            for entry in meta.get("versions", []):
                if isinstance(entry, dict) and (entry.get("note") or entry.get("with")):
                    extra = f"with {', '.join(entry['with'])}; " if entry.get("with") else ""
                    notes.append(f"{name} {entry['version']}: {extra}{entry.get('note', '')}")
                    refs.append(len(notes))
            if meta.get("install_notes"):
                notes.append(f"{name}: {meta['install_notes']}")
                refs.append(len(notes))
            versions = ", ".join(str(e.get("version", "?") if isinstance(e, dict) else e) for e in meta.get("versions", []))
            text += [f"   * - :doc:`{name} </frameworks/{name}>`", f"     - ``{meta['distribution']}``",
                     f"     - {versions or '-'}", f"     - {', '.join(meta['python'])}",
                     f"     - {meta.get('license', '-')}", f"     - {' '.join(f'[{r}]' for r in refs) or '-'}"]
        note = (f"nir: {', '.join(compat.get('nir', []))}; Python: {', '.join(compat.get('python', []))}. "
                + " ".join(f"{k}: {_cell(v)}." for k, v in compat.get("install", {}).items()))
        listing = "\n".join(f"{i}. {_cell(n)}" for i, n in enumerate(notes, 1))
        return _parse(self, "\n".join(text) + "\n\n" + note + "\n\n" + listing, "compat_matrix.yaml")


_LITERAL = re.compile(r"(``.*?``)")
_STRAY_STAR = re.compile(r"(?<=[\s(\[{,])(\*\*?)(?=\w)(?![^*]*\*)")


def escape_stray_asterisks(app, what, name, obj, options, lines) -> None:
    """``(batch, time, *shape)`` in a plain docstring starts an emphasis that never ends (a docutils
    warning); escape a ``*``/``**`` before a name when no ``*`` follows on that line, outside literals."""
    for k, line in enumerate(lines):
        parts = _LITERAL.split(line)
        lines[k] = "".join(part if i % 2 else _STRAY_STAR.sub(lambda m: "\\" + "\\".join(m.group(1)), part)
                           for i, part in enumerate(parts))


def skip_shadowing_reexports(app, what, name, obj, skip, options):
    """``nirverse.compare`` is both a module and the function the package re-exports from it: document the
    function once, as ``nirverse.compare.compare``, so that the two objects do not share one name."""
    if what == "function" and name == "nirverse.compare":
        return True
    return None


def setup(app):
    app.connect("autoapi-skip-member", skip_shadowing_reexports)
    if "autodoc-process-docstring" not in app.events.events:
        app.add_event("autodoc-process-docstring")
    app.connect("autodoc-process-docstring", escape_stray_asterisks)
    app.add_directive("nirverse-compat-table", CompatTableDirective)
    app.add_directive("nirverse-docstring", DocstringDirective)
    app.add_directive("nirverse-capabilities", CapabilitiesDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
