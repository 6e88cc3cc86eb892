"""Core benchmarks, reported as ratios measured in one run (not a test).

1. ``import nirverse`` against ``import nir`` (fresh interpreters, best of N): target <= 1.3x.
2. The reference simulator against every available backend on the same networks (the paper's Braille RNN
   and CNN): the reference's time over the fastest framework's; target <= 2x. Build time is excluded.

    python packages/nirverse-core/benchmarks/bench_core.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import nirverse
import numpy as np
from nirverse import Semantics
from nirverse.backends import get_backend
from nirverse.testing.bench import time_calls
from nirverse.testing.catalogue import PAPER, data_dir


def import_time(module: str, repeats: int) -> float:
    """Cumulative import time of ``module`` (python -X importtime, fresh interpreter), best of ``repeats``:
    the interpreter's own start-up, common to both, is left out."""
    best = float("inf")
    for _ in range(repeats):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], check=True,
                             capture_output=True, text=True).stderr
        for line in err.splitlines():
            fields = [f.strip() for f in line.split("|")]
            if len(fields) == 3 and fields[2] == module:
                best = min(best, int(fields[1]) * 1e-6)
    return best


def run_time(backend: str, graph, x, sem, repeats: int) -> float | None:
    plan = nirverse.prepare(graph, sem)
    impl = get_backend(backend)
    try:
        impl.check_support(plan, sem, "float64")
        model = impl.build(plan, "float64")
        data = nirverse.api.normalize_inputs(plan, x)
    except nirverse.NirverseError:
        return None
    return time_calls(lambda: impl.run(model, data, False), repeats)[1]  # first call: warm-up (jit, codegen)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    t_nir, t_nirverse = import_time("nir", 3 * args.repeats), import_time("nirverse", 3 * args.repeats)
    print(f"import nir {t_nir * 1e3:.0f} ms, import nirverse {t_nirverse * 1e3:.0f} ms: ratio {t_nirverse / t_nir:.2f} (target <= 1.3)")
    rng = np.random.default_rng(0)
    networks = {
        "braille RNN (4 x 300 steps)": (data_dir() / PAPER / "braille_noDelay_bias_zero.nir",
                                        (rng.random((4, 300, 12)) < 0.15).astype(float), Semantics(1e-4)),
        "paper CNN (1 x 50 steps)": (data_dir() / PAPER / "cnn_sinabs.nir",
                                     (rng.random((1, 50, 2, 34, 34)) < 0.05).astype(float), Semantics(1.0, reset="subtract")),
    }
    for label, (graph, x, sem) in networks.items():
        times = {b: run_time(b, graph, x, sem, args.repeats) for b in nirverse.available_backends()}
        ran = {b: t for b, t in times.items() if t is not None}
        fastest = min((b for b in ran if b != "reference"), key=ran.get, default=None)
        print(f"\n{label}")
        for b, t in sorted(ran.items(), key=lambda kv: kv[1]):
            print(f"  {b:10s} {t * 1e3:9.1f} ms   {t / ran['reference']:6.2f}x the reference")
        if fastest:
            print(f"  reference / fastest framework ({fastest}): {ran['reference'] / ran[fastest]:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
