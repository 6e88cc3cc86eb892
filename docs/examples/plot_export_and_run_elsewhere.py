"""
Export from Norse, run everywhere
=================================

A model written by hand in Norse, exported to NIR with ``nirverse_norse.to_nir``, and run in every other
framework. The exported graph's reference run equals Norse's own run, and every backend equals the
reference.
"""

# %%
# A Norse model
# -------------
# Two layers of Norse's ``LIFBoxCell`` behind ``torch.nn.Linear``, in a ``SequentialState``, at dt = 1 ms.
# The weights are seeded and scaled up, so that both layers spike.
import logging

import matplotlib.pyplot as plt
import nirverse
import nirverse_norse
import numpy as np
import torch
from norse.torch import LIFBoxCell, LIFBoxParameters, SequentialState

# sphinx_gallery_start_ignore
logging.getLogger("jaxsnn").addFilter(lambda record: "hxtorch" not in record.getMessage())  # optional hardware
# sphinx_gallery_end_ignore

torch.manual_seed(0)
dt = 1e-3
params = LIFBoxParameters(tau_mem_inv=torch.tensor(200.0), v_th=torch.tensor(0.5))
model = SequentialState(
    torch.nn.Linear(8, 16), LIFBoxCell(params, dt=dt), torch.nn.Linear(16, 4), LIFBoxCell(params, dt=dt)
).double()
with torch.no_grad():
    model[0].weight.mul_(4.0)
    model[2].weight.abs_().mul_(2.0)

# %%
# Norse's own run
# ---------------
# Norse is time-major: (time, batch, features).
rng = np.random.default_rng(0)
x = (rng.random((1, 150, 8)) < 0.3).astype(np.float64) * 3.0       # (batch, time, features)
state, spikes = None, []
with torch.no_grad():
    for step in torch.from_numpy(x).transpose(0, 1):
        out, state = model(step, state)
        spikes.append(out.numpy())
native = np.stack(spikes, axis=1)                                    # back to (batch, time, features)
print("Norse output spikes:", int(native.sum()))

# %%
# Export to NIR
# -------------
# Norse's ``LIFBoxCell`` integrates with forward Euler and, by default, resets to ``v_reset = 0``, so the
# semantics is ``euler`` / ``value``. The exporter reads τ from Norse's ``dt * tau_mem_inv``.
sem = nirverse.Semantics(dt, method="euler", reset="value")
graph = nirverse_norse.to_nir(model, sem)
print("exported nodes:", {name: type(node).__name__ for name, node in graph.nodes.items()})

reference = nirverse.run(graph, x, sem, record=True)
output = next(iter(reference.outputs))
mismatches = int(np.count_nonzero((reference.outputs[output] != 0) != (native != 0)))
print(f"reference run of the exported graph vs Norse's own run: {mismatches} raster mismatches")

# %%
# Run the exported graph everywhere
# ---------------------------------
rasters = {"norse (native model)": native, "reference": reference.outputs[output]}
for name in nirverse.available_backends():
    if name == "reference":
        continue
    try:
        result = nirverse.run(graph, x, sem, backend=name, record=True)
    except (nirverse.UnsupportedNodeError, nirverse.UnsupportedSemanticsError) as exc:
        print(f"{name:<10} unsupported: {exc}")
        continue
    cmp = nirverse.compare(result, reference)
    rasters[name] = result.outputs[output]
    print(f"{name:<10} {'identical' if cmp.identical else 'DEVIATING':<10} {cmp.mismatches} raster mismatches, "
          f"max |dv| {cmp.max_abs:.2g}")

fig, axes = plt.subplots(1, len(rasters), figsize=(2.0 * len(rasters), 2.2), sharey=True)
for ax, (name, r) in zip(np.atleast_1d(axes), rasters.items()):
    t, neuron = np.nonzero(r[0])
    ax.scatter(t, neuron, s=6, marker="|", c="k")
    ax.set_title(name, fontsize=8)
    ax.set_xlabel("step", fontsize=8)
np.atleast_1d(axes)[0].set_ylabel("output neuron")
fig.tight_layout()
