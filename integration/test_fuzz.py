"""Differential fuzzing in CI: a fixed seed, 30 random graphs per backend, each backend in an isolated child.

Every graph must be identical to the reference or refused with a typed reason; a failure prints its
shrunk reproducer's replay command. The scheduled workflow (.github/workflows/fuzz.yml) runs thousands.
"""

import os

import nirverse
import pytest
from nirverse.testing import simulator_backends

pytest.importorskip("hypothesis")
from nirverse.testing.fuzz import FAILURES, Fuzzer  # noqa: E402

GRAPHS = int(os.environ.get("NIRVERSE_FUZZ_GRAPHS", 30))
SEED = int(os.environ.get("NIRVERSE_FUZZ_SEED", 20))


@pytest.mark.parametrize("backend", simulator_backends())
def test_random_graphs_are_identical_or_refused(backend, tmp_path):
    try:
        info = nirverse.backend_info(backend)
    except nirverse.BackendUnavailableError as exc:
        pytest.skip(str(exc))
    if not info.available:
        pytest.skip(info.reason)
    result = Fuzzer([backend], seed=SEED, graphs=GRAPHS, out=tmp_path, time_limit=120).run()
    summary = result["backends"][backend]
    assert summary["graphs"] == GRAPHS
    bad = {v: summary["counts"][v] for v in FAILURES if summary["counts"][v]}
    lines = [f"{f['verdict']} ({f.get('reason')}): {f.get('replay')}" for f in summary["findings"]]
    assert not bad, f"{bad}; refusals {summary['refusals']}\n" + "\n".join(lines)
