"""The one size limit: how many values (8-byte float64 each) a run may hold in one quantity.

Everything nirverse or a backend would allocate from graph data or inputs is bounded by
:data:`MAX_ELEMENTS` *before* it is allocated: the values a run holds over (batch, time) summed over every
node, one node's output, a delay buffer (steps x shape x batch), a declared weight or HDF5 dataset
(elements x itemsize / 8), an input array (also a broadcast view, before it is copied). Above the limit
a :class:`~nirverse.errors.TooLargeError` names the node, field and the limit.

Default: 2**27 values (1 GiB of float64 per quantity; a run holds a few such quantities, so a refused
run would have needed several GiB). Set the environment variable ``NIRVERSE_MAX_ELEMENTS`` to another
count, or to ``0`` / ``none`` to switch the limit off (opt-out for users who really want a huge run).
Hard facts stay checked even then: a step count must fit a 64-bit integer, a graph nests at most
:data:`MAX_DEPTH` deep.
"""

from __future__ import annotations

import math
import os

from .errors import TooLargeError

__all__ = ["MAX_ELEMENTS", "MAX_DEPTH", "MAX_STEPS", "parse_limit", "check_elements"]

DEFAULT_MAX_ELEMENTS = 2**27


def parse_limit(text: str | None) -> float:
    """``NIRVERSE_MAX_ELEMENTS`` as a number: a count, or ``inf`` for ``0``/``none``/``off``/``inf``."""
    if text is None or not text.strip():
        return DEFAULT_MAX_ELEMENTS
    text = text.strip().lower()
    if text in ("0", "none", "off", "inf", "unlimited"):
        return math.inf
    try:
        value = int(float(text))
    except (ValueError, OverflowError):
        return DEFAULT_MAX_ELEMENTS  # an unreadable setting must not switch the limit off
    return value if value > 0 else math.inf


#: largest number of values one quantity of a run may hold (``NIRVERSE_MAX_ELEMENTS``; ``inf`` = off)
MAX_ELEMENTS: float = parse_limit(os.environ.get("NIRVERSE_MAX_ELEMENTS"))
#: deepest nesting of subgraphs (in a graph object or in a file's HDF5 groups)
MAX_DEPTH = 64
#: largest delay in steps whatever the limit (float64 represents every integer up to here exactly)
MAX_STEPS = 2**53


def describe_limit() -> str:
    if math.isinf(MAX_ELEMENTS):
        return "no limit (NIRVERSE_MAX_ELEMENTS=0)"
    return f"at most {int(MAX_ELEMENTS)} values (NIRVERSE_MAX_ELEMENTS; 0 switches the limit off)"


def check_elements(count: float, what: str, *, node: str | None = None, field: str | None = None) -> None:
    """Raise :class:`TooLargeError` when ``count`` values exceed :data:`MAX_ELEMENTS`."""
    if count > MAX_ELEMENTS:
        shown = f"{int(count)}" if math.isfinite(count) else "inf"
        raise TooLargeError(f"{what} = {shown} values", node=node, field=field, expected=describe_limit())
