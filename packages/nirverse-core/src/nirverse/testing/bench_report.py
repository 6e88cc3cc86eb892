"""The docs page of the benchmark suite, generated from ``results/bench.json``.

Writes ``benchmarks.md`` (ratio tables, memory, the in-process check) and ``bench-scaling.png`` (log-log
warm time vs N per backend, recurrent LIF) into the output folder; without a results file the page says
how to make one.

    python -m nirverse.testing.bench_report --results results/bench.json --out docs/generated
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .bench import ratio_table

PLOT = "bench-scaling.png"


def scaling_plot(result: dict, path: Path, network: str = "recurrent-lif") -> bool:
    """Log-log warm time vs size of ``network``, one line per backend; False when there is nothing to draw."""
    rows = [r for r in result["rows"] if r["network"] == network and "warm_s" in r]
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for b in sorted({r["backend"] for r in rows}):
        pts = sorted((r["size"], r["warm_s"]) for r in rows if r["backend"] == b)
        ax.plot(*zip(*pts), marker="o", label=b, lw=2.5 if b == "reference" else 1.2)
    ax.set(xscale="log", yscale="log", xlabel="N (recurrent LIF neurons)", ylabel="warm run (s)",
           title=f"{network}: time vs N")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def memory_table(result: dict) -> str:
    rows = [r for r in result["rows"] if "warm_s" in r]
    lines = ["| backend | network | size | build (s) | first run (s) | steps/s | peak RSS (MB) |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['backend']} | {r['network']} | {r['size']} | {r['build_s']:.3f} | {r['first_s']:.3f} | "
              f"{r['steps_per_s']:.0f} | {r['peak_rss_mb']:.0f} |" for r in rows]
    return "\n".join(lines)


def page(result: dict | None, plotted: bool) -> str:
    if result is None:
        return "No benchmark results in this build: run `nox -s bench` (or `nox -s bench -- --quick`).\n"
    m = result["meta"]
    parts = [f"Measured {m['date']} on {m['cpus']} CPUs ({m['machine']}, Python {m['python']}), load average "
             f"{', '.join(f'{x:.1f}' for x in m['load_average'])} at the end; {'quick mode, ' if m['quick'] else ''}"
             f"best of {m['repeats']} warm runs, each (backend, network, size) in a fresh process.",
             "## Warm run, with ratios to the reference (warm / end to end incl. build and first run)",
             ratio_table(result)]
    if plotted:
        parts.append(f"![warm time vs N per backend]({PLOT})")
    ref = [r for r in result["rows"] if r["backend"] == "reference" and "dense_products_s" in r]
    if ref:
        lines = ["| network | size | reference (ms) | dense products alone, numpy BLAS (ms) | ratio |", "|---|---|---|---|---|"]
        lines += [f"| {r['network']} | {r['size']} | {r['warm_s'] * 1e3:.1f} | {r['dense_products_s'] * 1e3:.1f} | "
                  f"{r['warm_s'] / r['dense_products_s']:.2f} |" for r in ref]
        parts += ["## The reference against its dense products done by numpy's BLAS", "\n".join(lines)]
    native = [r for r in result["rows"] if "warm_vs_native" in r]
    if native:
        lines = ["| backend | network | size | plugin (ms) | hand-written (ms) | plugin / hand-written |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['backend']} | {r['network']} | {r['size']} | {r['warm_s'] * 1e3:.1f} | {r['native_warm_s'] * 1e3:.1f} | "
                  f"{r['warm_vs_native']:.2f} |" for r in native]
        parts += ["## Each plugin against a hand-written model in its own framework (warm)", "\n".join(lines)]
    parts += ["## Build, first run, throughput and peak memory", memory_table(result)]
    if result.get("in_process"):
        lines = ["| backend | network | alone (ms) | after the others (ms) | ratio |", "|---|---|---|---|---|"]
        lines += [f"| {c['backend']} | {c['network']} | {c['alone_s'] * 1e3:.2f} | {c['after_others_s'] * 1e3:.2f} | "
                  f"{c['ratio']:.2f} |" for c in result["in_process"]]
        parts += ["## Each backend after all others ran in the same process, vs alone", "\n".join(lines)]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results/bench.json")
    parser.add_argument("--out", default="docs/generated")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    src = Path(args.results)
    result = json.loads(src.read_text()) if src.exists() else None
    plotted = result is not None and scaling_plot(result, out / PLOT)
    (out / "benchmarks.md").write_text(page(result, plotted))


if __name__ == "__main__":
    main()
