"""The float64 numpy reference simulator: the executable form of the semantics note."""

from .simulator import make_operator, simulate

__all__ = ["simulate", "make_operator"]
