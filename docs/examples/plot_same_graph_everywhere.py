"""
One NIR graph in every framework
================================

The NIR paper's Braille RNN, run on every installed framework under one semantics.

The graph comes from the paper's fixtures. It is a recurrent CubaLIF network, 12 → 40 (recurrent) → 7,
trained in snnTorch with subtractive reset. The input is 120 steps of seeded random events. Every
installed backend runs it. Each result is compared with the float64 reference simulator, spike by spike
and value by value. The figure shows the output rasters side by side (red crosses would mark spikes that
differ from the reference), over the membrane traces of the first recorded neuron node.
"""

# %%
# The graph, the semantics and an input
# -------------------------------------
# The file does not say which reset it was trained with. The semantics says it: subtractive reset. The
# graph's parameters encode dt = 1e-4 s.
import logging
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import nirverse
import numpy as np
from nirverse.plot import comparison_figure
from nirverse.testing import FRAMEWORKS
from nirverse.testing.catalogue import PAPER, data_dir

# sphinx_gallery_start_ignore
logging.getLogger("jaxsnn").addFilter(lambda record: "hxtorch" not in record.getMessage())  # optional hardware
# sphinx_gallery_end_ignore

graph = nirverse.load(data_dir() / PAPER / "braille_noDelay_noBias_subtract.nir")
sem = nirverse.Semantics(dt=1e-4, method="euler", reset="subtract", latency="immediate")
plan = nirverse.prepare(graph, sem)
print("evaluation order:", ", ".join(plan.order))
print("delayed edges (the back-edge rule):", [f"{e.source} -> {e.target}" for e in plan.delayed_edges])

rng = np.random.default_rng(0)
x = (rng.random((1, 120, *plan.out_shapes[plan.inputs[0]])) < 0.1).astype(np.float64)

# %%
# Every installed backend against the reference
# ---------------------------------------------
reference = nirverse.run(graph, x, sem, record=True)
results = {}
print(f"{'backend':<10} {'version':<8} {'verdict':<12} {'raster mismatches':>18} {'max |dv|':>10}")
for name in nirverse.available_backends():
    if name == "reference":
        continue
    info = nirverse.backend_info(name)
    try:
        res = nirverse.run(graph, x, sem, backend=name, record=True)
    except (nirverse.UnsupportedNodeError, nirverse.UnsupportedSemanticsError) as exc:
        print(f"{name:<10} {info.version or '-':<8} {'unsupported':<12} {exc}")
        continue
    cmp = nirverse.compare(res, reference)
    results[name] = res
    verdict = "identical" if cmp.identical else "DEVIATING"
    print(f"{name:<10} {info.version or '-':<8} {verdict:<12} {cmp.mismatches:>10}/{cmp.raster_entries:<7} {cmp.max_abs:>10.2g}")
missing = sorted(set(FRAMEWORKS) - set(nirverse.available_backends()))
if missing:
    print("not installed where this page was built:", ", ".join(missing))

# %%
# The rasters side by side
# ------------------------
# :func:`nirverse.plot.comparison_figure` is the figure that ``nirverse compare`` writes. Here it is shown
# inline.
with tempfile.TemporaryDirectory() as tmp:
    path = comparison_figure(results, reference, Path(tmp) / "compare.png", output="output")
    image = plt.imread(path)
fig, ax = plt.subplots(figsize=(image.shape[1] / 110, image.shape[0] / 110), dpi=110)
ax.imshow(image)
ax.set_axis_off()
fig.subplots_adjust(0, 0, 1, 1)

# %%
# A different semantics is a different network
# --------------------------------------------
# The same file, with value reset instead of subtractive reset, on the reference. This is the kind of
# difference that stays invisible when each framework silently picks its own reset.
value = nirverse.run(graph, x, nirverse.Semantics(1e-4, reset="value"))
changed = nirverse.compare(value, reference)
print(f"reset='value' vs reset='subtract': {changed.mismatches} of {changed.raster_entries} raster entries differ")
