"""nirverse: run any NIR graph in every neuromorphic framework under one explicit execution semantics.

``import nirverse`` imports the core, ``nir`` and numpy only; frameworks are imported by their plugins
when a backend is asked to run.
"""

from .api import Result, explain, run
from .backends import Backend, BackendInfo, RunOutput, available_backends, backend_info
from .compare import Comparison, compare
from .errors import (
    BackendError,
    BackendUnavailableError,
    InvalidGraphError,
    InvalidInputError,
    InvalidSemanticsError,
    NirverseError,
    TooLargeError,
    UnsupportedNodeError,
    UnsupportedSemanticsError,
)
from .graph import Plan, prepare
from .levels import NodeLevel
from .loading import load
from .semantics import Semantics

__all__ = [
    "Backend",
    "BackendError",
    "BackendInfo",
    "BackendUnavailableError",
    "Comparison",
    "InvalidGraphError",
    "InvalidInputError",
    "InvalidSemanticsError",
    "NirverseError",
    "NodeLevel",
    "Plan",
    "Result",
    "RunOutput",
    "Semantics",
    "TooLargeError",
    "UnsupportedNodeError",
    "UnsupportedSemanticsError",
    "available_backends",
    "backend_info",
    "compare",
    "explain",
    "load",
    "prepare",
    "run",
]

try:
    from importlib.metadata import version as _version

    __version__ = _version("nirverse-core")
except Exception:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
