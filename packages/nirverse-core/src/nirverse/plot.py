"""Figures for ``nirverse compare``: spike rasters and membrane traces of every backend, side by side,
with the entries that differ from the reference marked."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .api import Result

__all__ = ["comparison_figure"]


def comparison_figure(
    results: Mapping[str, Result], reference: Result, path: str | Path, output: str | None = None, neurons: int = 40
) -> Path:
    """Write a figure with one column per backend: the raster of ``output`` (first sample; red crosses
    where it differs from the reference) over the membrane traces of the first recorded neuron node."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    output = output or next(iter(reference.outputs))
    names = ["reference"] + [n for n in results if n != "reference"]
    state_node = next((n for n, s in reference.states.items() if "v" in s), None)
    rows = 2 if state_node else 1
    fig, axes = plt.subplots(rows, len(names), figsize=(3.2 * len(names), 2.6 * rows), squeeze=False, sharex=True)
    ref_out = reference.outputs[output][0].reshape(reference.outputs[output].shape[1], -1)[:, :neurons]
    spiking = reference.spiking.get(output, False)
    for col, name in enumerate(names):
        res = reference if name == "reference" else results[name]
        ax = axes[0, col]
        out = res.outputs[output][0].reshape(res.outputs[output].shape[1], -1)[:, :neurons]
        if spiking:
            t, n = np.nonzero(out)
            ax.scatter(t, n, s=4, c="k", marker="|")
            bad_t, bad_n = np.nonzero((out != 0) != (ref_out != 0))
            if bad_t.size:
                ax.scatter(bad_t, bad_n, s=14, c="red", marker="x", label=f"{bad_t.size} differ")
                ax.legend(loc="upper right", fontsize=7)
        else:
            ax.plot(out, lw=0.7)
        ax.set_title(name, fontsize=9)
        ax.set_ylabel(f"{output} ({'spikes' if spiking else 'value'})", fontsize=8)
        if state_node:
            ax = axes[1, col]
            v = res.states.get(state_node, {}).get("v")
            if v is not None:
                v = v[0].reshape(v.shape[1], -1)[:, :5]
                ax.plot(v, lw=0.7)
                ref_v = reference.states[state_node]["v"][0].reshape(v.shape[0], -1)[:, :5]
                diff = np.max(np.abs(v - ref_v))
                ax.set_title(f"{state_node}.v, max|Δ|={diff:.2g}", fontsize=8)
            else:
                ax.text(0.5, 0.5, "no state recorded", ha="center", transform=ax.transAxes, fontsize=8)
            ax.set_xlabel("step", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
