"""pytest plugin (entry point ``pytest11``): parametrises :class:`BackendConformance` over the catalogue
and, with ``--nirverse-scoreboard PATH``, writes every verdict of the session to a scoreboard JSON."""

from __future__ import annotations


def pytest_addoption(parser) -> None:
    group = parser.getgroup("nirverse")
    group.addoption("--nirverse-scoreboard", default=None, help="write the conformance verdicts to this JSON file")


def pytest_generate_tests(metafunc) -> None:
    cls = metafunc.cls
    for fixture, selector in (("nirverse_case", "selected_cases"), ("nirverse_mutation_case", "mutation_cases")):
        if fixture in metafunc.fixturenames:
            cases = getattr(cls, selector)() if cls is not None and hasattr(cls, selector) else []
            metafunc.parametrize(fixture, cases, ids=[c.id for c in cases])


def pytest_sessionfinish(session, exitstatus) -> None:
    path = session.config.getoption("--nirverse-scoreboard", default=None)
    if not path:
        return
    from .kit import VERDICTS
    from .scoreboard import write_scoreboard

    if VERDICTS:
        write_scoreboard(VERDICTS, path)
