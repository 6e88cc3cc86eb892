"""Typed errors. Every message names the node (or input / knob), the field and what was expected."""

from __future__ import annotations

__all__ = [
    "NirverseError",
    "InvalidGraphError",
    "InvalidInputError",
    "InvalidSemanticsError",
    "UnsupportedNodeError",
    "UnsupportedSemanticsError",
    "BackendUnavailableError",
    "BackendError",
    "TooLargeError",
]


class NirverseError(Exception):
    """Base class of every error nirverse raises on purpose.

    ``node``, ``field`` and ``expected`` (any may be ``None``) say where the problem is and what
    would have been accepted; the message always spells them out.
    """

    def __init__(
        self,
        message: str,
        *,
        node: str | None = None,
        field: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.node = node
        self.field = field
        self.expected = expected
        parts = []
        if node is not None:
            parts.append(f"node {node!r}")
        if field is not None:
            parts.append(f"field {field!r}")
        prefix = ", ".join(parts)
        text = f"{prefix}: {message}" if prefix else message
        if expected is not None:
            text += f" (expected {expected})"
        super().__init__(text)


class InvalidGraphError(NirverseError, ValueError):
    """The graph (or the file holding it) is not a valid NIR graph."""


class InvalidInputError(NirverseError, ValueError):
    """Input data do not match the graph's Input nodes or are not finite numbers."""


class InvalidSemanticsError(NirverseError, ValueError):
    """A semantics knob has an unknown or non-finite value."""


class UnsupportedNodeError(NirverseError, NotImplementedError):
    """A backend cannot express this node (type or parameters) with identical dynamics."""


class UnsupportedSemanticsError(NirverseError, NotImplementedError):
    """A backend cannot execute this semantics (method, reset, latency, dtype) identically."""


class BackendUnavailableError(NirverseError, ImportError):
    """The backend's framework is not installed or does not import; the message says how to install it."""


class BackendError(NirverseError, RuntimeError):
    """A backend failed while building or running a model (the framework's own error is chained)."""


class TooLargeError(NirverseError, MemoryError):
    """A run would need more memory than nirverse allows itself to allocate."""
