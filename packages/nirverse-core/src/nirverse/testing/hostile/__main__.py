"""``python -m nirverse.testing.hostile [backend ...]``: run the corpus and print the counts per backend."""

import sys

from ...backends import available_backends
from . import run_corpus

if __name__ == "__main__":
    backends = sys.argv[1:] or available_backends()
    failed = False
    for backend in backends:
        tally = run_corpus(backend)
        print(tally.line(), flush=True)
        for case_id, why in tally.failures.items():
            print(f"  {case_id}: {why}", flush=True)
        failed |= not tally.clean
    sys.exit(1 if failed else 0)
