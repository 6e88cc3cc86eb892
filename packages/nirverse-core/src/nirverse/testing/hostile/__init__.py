"""A corpus of hostile inputs, generated (never stored) and run against a backend in a child process.

Files (links, FIFOs, devices, named types, external storage, undeclared sizes, missing Input/Output, '/'
in names, deep nesting), graph objects (edges=None, 3,000-deep nesting, delays of 1e300 s, huge weights
and intermediate shapes), inputs (NaN, object, complex, broadcast views of 10^9 values, empty batch or
time), semantics and options. Each case says what a correct nirverse does: raise a given typed error, or
run to the reference's result. ``python -m nirverse.testing.hostile [backend ...]`` prints the counts.
"""

from ._cases import CASES, RUNS, Case, Trial
from ._runner import VERDICTS, Tally, attempt, run_corpus

__all__ = ["CASES", "RUNS", "VERDICTS", "Case", "Tally", "Trial", "attempt", "run_corpus"]
