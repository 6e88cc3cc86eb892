"""
Tonic events through the paper's CNN
====================================

A synthetic N-MNIST-shaped event stream, binned with ``nirverse_tonic.ToGraphInput``, through the NIR
paper's spiking CNN (exported by Sinabs), on every installed framework.

Real datasets download on first use. This example needs no network, so it makes its own events in Tonic's
event layout: fields ``x, y, t`` (µs) and ``p``, on a (34, 34, 2) sensor. They show a bar that moves
across the sensor.
"""

# %%
# Events in Tonic's layout
# ------------------------
import logging

import matplotlib.pyplot as plt
import nirverse
import nirverse_tonic as nt
import numpy as np
from nirverse.testing.catalogue import PAPER, data_dir

# sphinx_gallery_start_ignore
logging.getLogger("jaxsnn").addFilter(lambda record: "hxtorch" not in record.getMessage())  # optional hardware
# sphinx_gallery_end_ignore

sensor_size = (34, 34, 2)
rng = np.random.default_rng(1)
n = 600
t = np.sort(rng.integers(0, 8_000, n))                     # 8 ms of events
x = np.clip((t / 8_000 * 30).astype(int) + rng.integers(0, 4, n), 0, 33)   # a bar moving right
y = rng.integers(4, 30, n)
p = (rng.random(n) < 0.5).astype(int)
events = np.zeros(n, dtype=nt.EVENTS_DTYPE)
events["x"], events["y"], events["t"], events["p"] = x, y, t, p
print(f"{len(events)} events, dtype {events.dtype}")

# %%
# Binned on the semantics' grid
# -----------------------------
# Sinabs counts time in steps: its IF neurons compute ``v += x``, which is NIR's IF with r = 1 only at
# dt = 1. So the graph runs at ``Semantics(1.0, reset="subtract")``, with each step a window of 1 ms of
# events (``time_window=1000`` µs, stated explicitly). ``ToGraphInput`` bins exactly as Tonic's
# ``ToFrame(time_window=...)``, and checks the graph's Input shape.
cnn = data_dir() / PAPER / "cnn_sinabs.nir"
sem = nirverse.Semantics(1.0, reset="subtract")
transform = nt.ToGraphInput(cnn, sem, sensor_size, time_window=1000)
inputs = transform.batch([events])
print("graph input:", inputs.shape, "(batch, time, polarity, height, width)")

fig, axes = plt.subplots(1, inputs.shape[1], figsize=(1.4 * inputs.shape[1], 1.8))
for step, ax in enumerate(axes):
    ax.imshow(inputs[0, step, 1] - inputs[0, step, 0], cmap="coolwarm", vmin=-2, vmax=2)
    ax.set_title(f"step {step}", fontsize=8)
    ax.set_axis_off()
_ = fig.suptitle("input frames (ON − OFF events per 1 ms step)", fontsize=9)

# %%
# Every installed backend
# -----------------------
reference = nirverse.run(cnn, inputs, sem, record=True)
counts = {"reference": reference.outputs["output"][0].sum(axis=0)}
print(f"reference: {int(counts['reference'].sum())} output spikes in {inputs.shape[1]} steps")
for name in nirverse.available_backends():
    if name == "reference":
        continue
    try:
        result = nirverse.run(cnn, inputs, sem, backend=name, record=True)
    except (nirverse.UnsupportedNodeError, nirverse.UnsupportedSemanticsError) as exc:
        print(f"{name:<10} unsupported: {exc}")
        continue
    cmp = nirverse.compare(result, reference)
    counts[name] = result.outputs["output"][0].sum(axis=0)
    print(f"{name:<10} {'identical' if cmp.identical else 'DEVIATING':<10} "
          f"{cmp.mismatches} raster mismatches, max |dv| {cmp.max_abs:.2g}")

# %%
# Output spike counts per class
# -----------------------------
# The counts of the ten output neurons, per backend. Identical runs give identical bars.
fig, ax = plt.subplots(figsize=(7, 2.6))
width = 0.8 / len(counts)
for k, (name, c) in enumerate(counts.items()):
    ax.bar(np.arange(10) + k * width, c, width, label=name)
ax.set_xticks(np.arange(10) + 0.4 - width / 2, [str(i) for i in range(10)])
ax.set_xlabel("output neuron (class)")
ax.set_ylabel("spikes in 8 steps")
ax.legend(fontsize=7, ncol=4)
fig.tight_layout()
