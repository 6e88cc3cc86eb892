"""The conformance kit: stored cases, verdicts against the reference, a pytest plugin, the scoreboard."""

from .catalogue import Case, load_cases, write_catalogue
from .kit import FRAMEWORKS, BackendConformance, simulator_backends
from .scoreboard import read_scoreboard, write_scoreboard
from .verdict import Verdict, run_case

__all__ = [
    "BackendConformance",
    "FRAMEWORKS",
    "Case",
    "Verdict",
    "load_cases",
    "read_scoreboard",
    "run_case",
    "simulator_backends",
    "write_catalogue",
    "write_scoreboard",
]
