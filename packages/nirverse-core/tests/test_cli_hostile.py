"""Issue 17, CLI: every bad argument or file is one line on stderr and exit status 2, never a traceback;
nothing is written where the user did not ask."""

import os
import zipfile

import numpy as np
import pytest
from nirverse.cli import main
from nirverse.isolation import call_isolated


@pytest.fixture
def files(tmp_path, paper_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("in.npy", np.zeros((1, 10, 1)))
    np.save("obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "text.npy").write_text("hello\n")
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1, 1)))
    with open("huge.npy", "wb") as f:  # a header claiming 21.8 TiB
        np.lib.format.write_array_header_1_0(f, {**header, "shape": (1_000_000, 1_000_000, 3)})
    with zipfile.ZipFile("bomb.npz", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("input.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, {**header, "shape": (1_000_000, 1_000, 1)})
            member.write(bytes(8 * 10**6))  # compresses to almost nothing
    (tmp_path / "scores.json").write_text("not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    return {"graph": str(paper_dir / "lif_norse.nir"), "dir": tmp_path}


def _run(files, *args):
    return ["run", files["graph"], "--dt", "1e-4", *args]


def _compare(files, *args):
    return ["compare", files["graph"], "--backends", "reference", *args]


CASES = {
    "input missing": lambda f: _run(f, "--input", "missing.npy"),
    "input a directory": lambda f: _run(f, "--input", str(f["dir"])),
    "input an object .npy": lambda f: _run(f, "--input", "obj.npy"),
    "input a text file": lambda f: _run(f, "--input", "text.npy"),
    "input a .nir file": lambda f: _run(f, "--input", f["graph"]),
    "input header of 21.8 TiB": lambda f: _run(f, "--input", "huge.npy"),
    "input an .npz bomb": lambda f: _run(f, "--input", "bomb.npz"),
    "output below a file": lambda f: _run(f, "--input", "in.npy", "--output", "in.npy/x.npz"),
    "compare --steps -5": lambda f: _compare(f, "--steps", "-5", "--no-plot"),
    "compare --steps 1e9": lambda f: _compare(f, "--steps", "1e9", "--no-plot"),
    "compare --figure f.txt": lambda f: _compare(f, "--figure", "f.txt"),
    "compare --input missing": lambda f: _compare(f, "--input", "missing", "--no-plot"),
    "conformance --output not JSON": lambda f: ["conformance", "--backends", "reference", "--output", "scores.json"],
    "conformance --output a JSON list": lambda f: ["conformance", "--backends", "reference", "--output", "list.json"],
    "output /dev/null": lambda f: _run(f, "--input", "in.npy", "--output", os.devnull),
}

#: cases that once blocked or allocated GiB: run in an isolated child (exit status only)
ISOLATED = {
    "input a FIFO": lambda f: (os.mkfifo("fifo.npy"), _run(f, "--input", str(f["dir"] / "fifo.npy")))[1],
    "compare --steps 10**9": lambda f: _compare(f, "--steps", "1000000000", "--no-plot"),
}


@pytest.mark.parametrize("name", ISOLATED)
def test_exit_2_without_blocking_or_allocating(files, name):
    outcome = call_isolated("nirverse.cli:main", ISOLATED[name](files), time_limit=60, memory_limit=3 * 2**30)
    code = outcome.value if outcome.ok else getattr(outcome.error, "code", None)
    assert code == 2, outcome.describe()


@pytest.mark.parametrize("name", CASES)
def test_one_line_and_exit_2(files, capsys, name):
    devnull_npz = os.path.exists(os.devnull + ".npz")
    with pytest.raises(SystemExit) if "steps" in name else _no_exit() as raised:
        code = main(CASES[name](files))
    code = raised.value.code if raised is not None else code
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out + err
    assert "error" in (out + err).strip().splitlines()[-1]
    if "steps" not in name:  # argparse prints its usage first; ours is one line
        assert len((out + err).strip().splitlines()) == 1, out + err
    assert os.path.exists(os.devnull + ".npz") == devnull_npz and not (files["dir"] / "outputs.npz").exists()


class _no_exit:
    value = None

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_never_overwrites_without_force(files, capsys):
    args = _run(files, "--input", "in.npy", "--output", "mine.npz")
    assert main(args) == 0
    written = (files["dir"] / "mine.npz").read_bytes()
    assert "'mine.npz'" in capsys.readouterr().out
    assert main(args) == 2
    assert "exists" in capsys.readouterr().out
    assert (files["dir"] / "mine.npz").read_bytes() == written
    assert main([*args, "--force"]) == 0


def test_default_outputs_never_clash(files, capsys):
    args = _run(files, "--input", "in.npy")
    assert main(args) == 0 and main(args) == 0
    out = capsys.readouterr().out
    assert "'outputs.npz'" in out and "'outputs-1.npz'" in out
    assert (files["dir"] / "outputs-1.npz").is_file()


def test_missing_output_folders_are_created(files):
    assert main(_run(files, "--input", "in.npy", "--output", "new/dir/x.npz")) == 0
    assert (files["dir"] / "new" / "dir" / "x.npz").is_file()


def test_writes_exactly_the_given_path(files, capsys):
    assert main(_run(files, "--input", "in.npy", "--output", "report")) == 0
    assert (files["dir"] / "report").is_file() and not (files["dir"] / "report.npz").exists()
    assert "'report'" in capsys.readouterr().out
    with np.load(files["dir"] / "report") as data:
        assert data["out:output"].shape[:2] == (1, 10)


def test_symlink_output_refused_even_with_force(files):
    target = files["dir"] / "target.txt"
    target.write_text("keep me")
    os.symlink(target, files["dir"] / "link.npz")
    for extra in ((), ("--force",)):
        assert main(_run(files, "--input", "in.npy", "--output", "link.npz", *extra)) == 2
    assert target.read_text() == "keep me"


def test_figure_not_overwritten(files, capsys):
    (files["dir"] / "fig.png").write_bytes(b"mine")
    assert main(_compare(files, "--figure", "fig.png", "--steps", "20")) == 2
    assert (files["dir"] / "fig.png").read_bytes() == b"mine"
    assert "--force" in capsys.readouterr().out
