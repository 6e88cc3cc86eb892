"""tools/release.py: the workspace version is single-sourced, and any disagreement fails the check."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import release  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the files the release tool reads."""
    for name in ("pyproject.toml", "compat_matrix.yaml", "CHANGELOG.md", "LICENSE"):
        shutil.copy(ROOT / name, tmp_path / name)
    for pyproject in (ROOT / "packages").glob("*/pyproject.toml"):
        target = tmp_path / "packages" / pyproject.parent.name
        target.mkdir(parents=True)
        shutil.copy(pyproject, target / "pyproject.toml")
        shutil.copy(pyproject.parent / "LICENSE", target / "LICENSE")
    return tmp_path


def test_the_checkout_agrees():
    assert release.problems(ROOT) == []


def test_a_mismatched_pin_fails_the_check(tree: Path):
    path = tree / "packages" / "nirverse-norse" / "pyproject.toml"
    version = release.source_version(tree)
    path.write_text(path.read_text().replace(f"nirverse-core=={version}", "nirverse-core==9.9.9"))
    found = release.problems(tree)
    assert len(found) == 1 and "nirverse-norse" in found[0] and "9.9.9" in found[0]
    assert release.main(["check", "--root", str(tree)]) == 1


def test_a_hand_edited_meta_extra_fails_the_check(tree: Path):
    path = tree / "pyproject.toml"
    path.write_text(path.read_text().replace('all = ["nirverse[', 'all = ["nirverse[extra,', 1))
    assert any("meta package" in p for p in release.problems(tree))


def test_a_new_package_is_added_to_the_extras_by_sync(tree: Path):
    new = tree / "packages" / "nirverse-newsim"
    new.mkdir()
    (new / "pyproject.toml").write_text(
        '[project]\nname = "nirverse-newsim"\nversion = "0.0.1"\ndependencies = ["nirverse-core==0.0.1"]\n'
    )
    assert len(release.problems(tree)) >= 3  # meta extras, version, pin (and its licence)
    release.sync(tree)
    assert release.problems(tree) == []
    meta = (tree / "pyproject.toml").read_text()
    assert f'newsim = ["nirverse-newsim=={release.source_version(tree)}"]' in meta and ",newsim," in meta


def test_bump_moves_every_distribution(tree: Path):
    (tree / "CHANGELOG.md").write_text("## [7.1.0]\n")
    release.bump("7.1.0", tree)
    assert release.problems(tree) == []
    assert all('version = "7.1.0"' in d.path.read_text() for d in release.distributions(tree))
    with pytest.raises(SystemExit):
        release.bump("seven", tree)
