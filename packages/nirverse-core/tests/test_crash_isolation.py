"""A backend that kills its own process (the SIGSEGV test double) is reported as ``crashed`` with its
signal by ``run_case``, the conformance kit, ``nirverse compare`` and ``nirverse conformance``, while
every other backend's results are kept."""

import json

import pytest
from nirverse.backends import EXTRA_BACKENDS_ENV, get_backend
from nirverse.cli import main
from nirverse.errors import BackendUnavailableError
from nirverse.isolation import ISOLATE_ENV, isolates
from nirverse.testing import BackendConformance, load_cases
from nirverse.testing.verdict import CRASHED, IDENTICAL, run_case

#: the double, and the reference registered a second time (a backend without native code)
DOUBLES = "segfault=nirverse.testing.doubles:SegfaultBackend,judge2=nirverse.testing.doubles:ReferenceTwin"
CASE = "single-lif-euler-value-imm"


@pytest.fixture
def doubles(monkeypatch):
    monkeypatch.setenv(EXTRA_BACKENDS_ENV, DOUBLES)
    monkeypatch.setenv("COLUMNS", "250")  # rich: one line per table row


def test_extra_backends_come_from_the_environment(doubles, monkeypatch):
    backend = get_backend("segfault")
    assert backend.native_code and isolates("segfault")
    assert not get_backend("judge2").native_code and not isolates("judge2")
    monkeypatch.setenv(ISOLATE_ENV, "0")
    assert not isolates("segfault")
    monkeypatch.setenv(EXTRA_BACKENDS_ENV, "no-class-given")
    with pytest.raises(BackendUnavailableError, match=EXTRA_BACKENDS_ENV):
        get_backend("anything")


def test_run_case_reports_the_crash_with_its_signal(doubles):
    (case,) = load_cases([CASE])
    crashed = run_case("segfault", case)
    assert crashed.status == CRASHED and crashed.signal == "SIGSEGV"
    assert "SIGSEGV" in crashed.summary()
    assert run_case("segfault", case).status == CRASHED  # a fresh child serves the next case
    assert run_case("judge2", case).status == IDENTICAL


def test_the_kit_fails_a_crashed_case_with_the_signal_and_goes_on(doubles):
    class Crashing(BackendConformance):
        backend = "segfault"
        expected_failures = None

    (case,) = load_cases([CASE])
    with pytest.raises(pytest.fail.Exception, match="crashed.*SIGSEGV"):
        Crashing().test_case(case)
    (other,) = load_cases(["single-if-euler-value-imm"])
    with pytest.raises(pytest.fail.Exception, match="SIGSEGV"):
        Crashing().test_case(other)


def test_compare_shows_the_crash_and_keeps_the_other_backends(doubles, capsys):
    code = main(["compare", "--backends", "segfault,judge2", "--steps", "40", "--no-plot"])
    out = capsys.readouterr().out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 3}
    assert "crashed" in rows["segfault"] and "SIGSEGV" in rows["segfault"]
    assert "identical" in rows["judge2"] and "0/" in rows["judge2"]
    assert code == 1  # a crash is a failure by default
    assert main(["compare", "--backends", "segfault,judge2", "--steps", "10", "--no-plot", "--exit-zero"]) == 0


def test_conformance_keeps_every_verdict_around_a_crash(doubles, tmp_path):
    out = tmp_path / "scoreboard.json"
    assert main(["conformance", "--backends", "segfault,judge2", "--cases", CASE, "--output", str(out)]) == 1
    results = {r["backend"]: r for r in json.loads(out.read_text())["results"]}
    assert results["segfault"]["status"] == "crashed" and results["segfault"]["signal"] == "SIGSEGV"
    assert results["judge2"]["status"] == "identical"


def test_conformance_exits_zero_when_every_verdict_is_identical_or_asked_to(doubles, tmp_path):
    out = tmp_path / "scoreboard.json"
    assert main(["conformance", "--backends", "judge2", "--cases", CASE, "--output", str(out)]) == 0
    assert main(["conformance", "--backends", "segfault", "--cases", CASE, "--output", str(out), "--exit-zero"]) == 0
