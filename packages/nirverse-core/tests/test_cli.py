import json

import numpy as np
from nirverse.cli import main


def test_info(capsys):
    assert main(["info"]) == 0
    assert "reference" in capsys.readouterr().out


def test_run_writes_outputs(tmp_path, paper_dir):
    stimulus = np.loadtxt(paper_dir / "lif_exact.csv", delimiter=",")[:, 0].reshape(1, -1, 1)
    np.save(tmp_path / "x.npy", stimulus)
    out = tmp_path / "out.npz"
    code = main(["run", str(paper_dir / "lif_norse.nir"), "--input", str(tmp_path / "x.npy"), "--dt", "1e-4",
                 "--method", "exp", "--reset", "subtract", "--record", "--output", str(out)])
    assert code == 0
    with np.load(out) as data:
        assert np.nonzero(data["out:output"][0, :, 0])[0].tolist() == [460, 510, 710, 760]
        assert "state:1:v" in data.files


def test_run_reports_typed_errors(tmp_path, capsys, paper_dir):
    np.save(tmp_path / "x.npy", np.zeros((1, 5, 3)))
    code = main(["run", str(paper_dir / "lif_norse.nir"), "--input", str(tmp_path / "x.npy"), "--dt", "1e-4"])
    assert code == 2
    assert "InvalidInputError" in capsys.readouterr().out


def test_compare_demo_reference_only(tmp_path, capsys):
    figure = tmp_path / "cmp.png"
    assert main(["compare", "--backends", "reference", "--steps", "50", "--figure", str(figure)]) == 0
    assert figure.stat().st_size > 1000
    assert "braille_noDelay_bias_zero.nir" in capsys.readouterr().out


def test_conformance_reference(tmp_path):
    out = tmp_path / "scoreboard.json"
    assert main(["conformance", "--backends", "reference", "--cases", "single-lif,paper-lif", "--output", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    assert results and all(r["status"] == "identical" for r in results)


def test_explain_prints_the_level_of_every_node(capsys, paper_dir):
    assert main(["explain", str(paper_dir / "lif_norse.nir"), "--dt", "1e-4", "--method", "exp"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("2 native") and "│ LIF " in out and "│ Affine " in out


def test_explain_reports_an_unknown_backend(capsys, paper_dir):
    assert main(["explain", str(paper_dir / "lif_norse.nir"), "--backend", "no-such-backend"]) == 2
    assert "BackendUnavailableError" in capsys.readouterr().out
