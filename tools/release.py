"""One version for the whole workspace: check it, bump it, derive the meta package's pins from it.

The single source is ``[project] version`` of the root ``pyproject.toml`` (the meta-distribution
``nirverse``). Everything else is derived from it and from the list of ``packages/*``:

* every distribution's ``version``;
* every pin on a ``nirverse-*`` distribution (``nirverse-core==V`` in each plugin, the meta package's
  dependency, extras and ``all``), written by ``sync``, never by hand;
* ``compat_matrix.yaml``'s ``nirverse:`` and a ``## [V]`` section in ``CHANGELOG.md``;
* each package's ``LICENSE``, a copy of the root one (an sdist carries its own licence file).

    python tools/release.py check          # exit 1 naming every disagreement
    python tools/release.py sync           # rewrite the derived pins, extras and sources
    python tools/release.py bump 0.3.0     # set the source, then sync
    python tools/release.py artefacts DIR  # DIR has one complete sdist and wheel per distribution
    python tools/release.py installed DIR  # (in the fresh venv) every distribution installed from DIR
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"(?P<name>nirverse-[a-z0-9-]+(?:\[[^\]]*\])?)==(?P<version>[^\"',;\]\s]+)")
VERSION_LINE = re.compile(r'(?m)^version = "(?P<version>[^"]+)"$')
#: packages that are libraries of the core itself, not extras of the meta package
NOT_EXTRAS = {"nirverse-core"}


@dataclass(frozen=True)
class Distribution:
    name: str
    path: Path  # its pyproject.toml

    @property
    def extra(self) -> str:
        return self.name.removeprefix("nirverse-")


def distributions(root: Path = ROOT) -> list[Distribution]:
    """The workspace's packages (not the meta package), sorted by name."""
    found = []
    for path in sorted((root / "packages").glob("*/pyproject.toml")):
        found.append(Distribution(tomllib.loads(path.read_text())["project"]["name"], path))
    return found


def source_version(root: Path = ROOT) -> str:
    return tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]


def _extras_of(meta: dict, dist: Distribution) -> str:
    """The extras the meta package asks of a plugin (``nirverse-nest[nestml]``): kept across a sync."""
    for requirement in meta.get("project", {}).get("optional-dependencies", {}).get(dist.extra, []):
        m = re.match(rf"{re.escape(dist.name)}(\[[^\]]*\])", requirement)
        if m:
            return m[1]
    return ""


def _meta_block(dists: list[Distribution], version: str, meta: dict) -> str:
    plugins = [d for d in dists if d.name not in NOT_EXTRAS]
    lines = ["[project.optional-dependencies]"]
    lines += [f'{d.extra} = ["{d.name}{_extras_of(meta, d)}=={version}"]' for d in plugins]
    lines.append(f'all = ["nirverse[{",".join(d.extra for d in plugins)}]"]')
    return "\n".join(lines) + "\n"


def _sources_block(dists: list[Distribution]) -> str:
    return "[tool.uv.sources]\n" + "".join(f"{d.name} = {{ workspace = true }}\n" for d in dists)


def _replace_table(text: str, header: str, block: str) -> str:
    """Replace the TOML table starting at ``header`` (up to the next table or the end) by ``block``."""
    pattern = re.compile(rf"(?ms)^{re.escape(header)}\n.*?(?=^\[|\Z)")
    if not pattern.search(text):
        raise SystemExit(f"pyproject.toml has no {header} table")
    return pattern.sub(lambda _: block + "\n", text, count=1)


def expected_meta(root: Path = ROOT) -> str:
    """The root pyproject.toml as ``sync`` writes it."""
    version, dists = source_version(root), distributions(root)
    text = (root / "pyproject.toml").read_text()
    text = re.sub(r'(?m)^dependencies = \["nirverse-core==[^"]*"\]', f'dependencies = ["nirverse-core=={version}"]', text)
    text = _replace_table(text, "[project.optional-dependencies]", _meta_block(dists, version, tomllib.loads(text)))
    return _replace_table(text, "[tool.uv.sources]", _sources_block(dists))


def _set_package(text: str, version: str) -> str:
    text = VERSION_LINE.sub(f'version = "{version}"', text, count=1)
    return PIN.sub(lambda m: f"{m['name']}=={version}", text)


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def problems(root: Path = ROOT) -> list[str]:
    """Every place that disagrees with the source version (empty when all agree)."""
    version = source_version(root)
    found = []
    if (root / "pyproject.toml").read_text() != expected_meta(root):
        found.append("pyproject.toml: the meta package's pins, extras or uv sources are not derived from the "
                     "version and packages/ (run: python tools/release.py sync)")
    for dist in distributions(root):
        text = dist.path.read_text()
        rel = dist.path.relative_to(root)
        have = tomllib.loads(text)["project"]["version"]
        if have != version:
            found.append(f"{rel}: version {have!r}, expected {version!r}")
        found += [f"{rel}: pin {m[0]}, expected =={version}" for m in PIN.finditer(text) if m["version"] != version]
    matrix = root / "compat_matrix.yaml"
    if matrix.exists():
        m = re.search(r'(?m)^nirverse: "([^"]+)"', matrix.read_text())
        if not m or m[1] != version:
            found.append(f"compat_matrix.yaml: nirverse {m[1] if m else None!r}, expected {version!r}")
    licence = (root / "LICENSE").read_text()
    found += [f"{d.path.parent.relative_to(root)}/LICENSE: missing or not the root LICENSE"
              for d in distributions(root) if _read(d.path.parent / "LICENSE") != licence]
    changelog = root / "CHANGELOG.md"
    if not changelog.exists() or f"## [{version}]" not in changelog.read_text():
        found.append(f"CHANGELOG.md: no section '## [{version}]'")
    return found


def sync(root: Path = ROOT) -> None:
    version = source_version(root)
    (root / "pyproject.toml").write_text(expected_meta(root))
    for dist in distributions(root):
        dist.path.write_text(_set_package(dist.path.read_text(), version))
        (dist.path.parent / "LICENSE").write_text((root / "LICENSE").read_text())
    matrix = root / "compat_matrix.yaml"
    if matrix.exists():
        matrix.write_text(re.sub(r'(?m)^nirverse: "[^"]+"', f'nirverse: "{version}"', matrix.read_text(), count=1))


def bump(version: str, root: Path = ROOT) -> None:
    if not re.fullmatch(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?", version):
        raise SystemExit(f"{version!r} is not a release version (X.Y.Z, optionally aN/bN/rcN)")
    path = root / "pyproject.toml"
    path.write_text(VERSION_LINE.sub(f'version = "{version}"', path.read_text(), count=1))
    sync(root)


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _all_names(root: Path) -> list[tuple[str, Path]]:
    """(distribution name, its folder) for the meta package and every package."""
    return [("nirverse", root)] + [(d.name, d.path.parent) for d in distributions(root)]


def artefact_problems(dist_dir: Path, root: Path = ROOT) -> list[str]:
    """One sdist and one wheel per distribution at the source version; each sdist carries its licence,
    README, pyproject and (where the package has them) its tests; each wheel its licence."""
    version, found = source_version(root), []
    for name, folder in _all_names(root):
        stem = f"{_normalized(name)}-{version}"
        sdist, wheels = dist_dir / f"{stem}.tar.gz", list(dist_dir.glob(f"{stem}-*.whl"))
        if not sdist.exists() or len(wheels) != 1:
            found.append(f"{name}: expected {sdist.name} and one {stem}-*.whl in {dist_dir}")
            continue
        with tarfile.open(sdist) as tar:
            members = {m.split("/", 1)[1] for m in tar.getnames() if "/" in m}
        needed = {"LICENSE", "README.md", "pyproject.toml"} | ({"tests"} if (folder / "tests").is_dir() else set())
        found += [f"{sdist.name}: {item} missing" for item in sorted(needed)
                  if not any(m == item or m.startswith(item + "/") for m in members)]
        with zipfile.ZipFile(wheels[0]) as whl:
            if not any(n.endswith(".dist-info/licenses/LICENSE") for n in whl.namelist()):
                found.append(f"{wheels[0].name}: no licence file")
    return found


def installed_problems(dist_dir: Path, root: Path = ROOT) -> list[str]:
    """Run in the fresh environment: every distribution is installed, at the version, from a wheel (not
    an editable or source-tree install)."""
    from importlib import metadata

    version, found = source_version(root), []
    for name, _ in _all_names(root):
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            found.append(f"{name}: not installed")
            continue
        if dist.version != version:
            found.append(f"{name}: installed {dist.version}, expected {version}")
        direct = dist.read_text("direct_url.json")
        if direct and json.loads(direct).get("dir_info", {}).get("editable"):
            found.append(f"{name}: an editable install, not the artefact")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("check", "sync", "bump", "artefacts", "installed"))
    parser.add_argument("version", nargs="?", help="bump: the new version; artefacts/installed: the dist folder")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    if args.command in ("artefacts", "installed"):
        if not args.version:
            parser.error(f"{args.command} needs the dist folder")
        check = artefact_problems if args.command == "artefacts" else installed_problems
        bad = check(Path(args.version), args.root)
        for line in bad:
            print(f"{args.command}: {line}", file=sys.stderr)
        print(f"{args.command}: {len(_all_names(args.root)) - len(bad)} of {len(_all_names(args.root))} distributions in order")
        return 1 if bad else 0
    if args.command == "bump":
        if not args.version:
            parser.error("bump needs a version")
        bump(args.version, args.root)
    elif args.command == "sync":
        sync(args.root)
    found = problems(args.root)
    for line in found:
        print(f"version mismatch: {line}", file=sys.stderr)
    if not found:
        print(f"nirverse {source_version(args.root)}: {len(distributions(args.root)) + 1} distributions agree")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
