"""The hostile-input corpus against every installed backend, one isolated child per backend (3 GiB, 120 s
per case): every case gets its typed error or runs to the reference's result; a crash, hang or memory
blow-up shows as a failure of that backend's test, not a dead suite."""

import pytest
from nirverse.backends import available_backends
from nirverse.testing.hostile import CASES, run_corpus


@pytest.mark.parametrize("backend", available_backends())
def test_corpus(backend):
    tally = run_corpus(backend)
    print(tally.line())
    assert tally.tried == len(CASES)
    assert tally.clean, "\n".join(f"{case}: {why}" for case, why in tally.failures.items())
    assert tally.counts["typed"] + tally.counts["ran"] == len(CASES)
