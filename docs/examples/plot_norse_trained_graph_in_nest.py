"""
A Norse-trained network in NEST
===============================

A small spiking network is trained in Norse (surrogate gradients, a few dozen Adam steps), exported to
NIR with ``nirverse_norse.to_nir``, and run in NEST, the simulator computational neuroscience uses from
laptops to supercomputers. NEST's run has the same spikes as Norse's and as the reference.
"""

# %%
# Train in Norse
# --------------
# Two LIF layers (``LIFBoxCell``, forward Euler, reset to 0) learn to make output neuron 0 fire more
# often for the first input pattern and output neuron 1 for the second.
import matplotlib.pyplot as plt
import nirverse
import nirverse_norse
import numpy as np
import torch
from norse.torch import LIFBoxCell, LIFBoxParameters, SequentialState

torch.manual_seed(0)
dt, steps = 1e-3, 100
params = LIFBoxParameters(tau_mem_inv=torch.tensor(100.0), v_th=torch.tensor(0.5))
model = SequentialState(
    torch.nn.Linear(10, 20), LIFBoxCell(params, dt=dt), torch.nn.Linear(20, 2), LIFBoxCell(params, dt=dt)
).double()
with torch.no_grad():
    model[0].weight.mul_(3.0)  # start with an active hidden layer
    model[2].weight.abs_().mul_(2.0)
rng = np.random.default_rng(0)
rates = np.stack([np.r_[np.full(5, 0.4), np.full(5, 0.05)], np.r_[np.full(5, 0.05), np.full(5, 0.4)]])
x = (rng.random((2, steps, 10)) < rates[:, None, :]).astype(np.float64) * 2.0  # (batch, time, features)
target = torch.tensor([0, 1])


def norse_run(inputs):
    state, out = None, []
    for step in torch.from_numpy(inputs).transpose(0, 1):
        z, state = model(step, state)
        out.append(z)
    return torch.stack(out, 1)


optimiser = torch.optim.Adam(model.parameters(), lr=0.02)
for _ in range(40):
    loss = torch.nn.functional.cross_entropy(norse_run(x).sum(1) / 5.0, target)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
with torch.no_grad():
    native = norse_run(x).numpy()
print("spike counts per output neuron (pattern 0, pattern 1):", native.sum(1).tolist())

# %%
# Export and run in NEST
# ----------------------
# Norse's ``LIFBoxCell`` is forward Euler with reset to a value, so the semantics is ``euler`` / ``value``.
# NEST runs the two layers as ``iaf_psc_delta`` populations (time constant chosen so that NEST's exact
# propagator equals Euler's decay factor) behind ``spike_generator`` inputs.
sem = nirverse.Semantics(dt, method="euler", reset="value")
graph = nirverse_norse.to_nir(model, sem)
nest_run = nirverse.run(graph, x, sem, backend="nest", record=True)
reference = nirverse.run(graph, x, sem, record=True)
output = next(iter(nest_run.outputs))
print("NEST vs Norse:", int(np.count_nonzero(nest_run.outputs[output] != native)), "raster mismatches")
cmp = nirverse.compare(nest_run, reference)
print(f"NEST vs reference: identical={cmp.identical}, {cmp.mismatches} mismatches, max |dv| {cmp.max_abs:.1e}")
for level in nirverse.explain(graph, sem, backend="nest"):
    print(f"{level.node:<8} {level.type:<8} {level.level:<8} {level.construct}")

# %%
# The same spikes
# ---------------
fig, axes = plt.subplots(1, 2, figsize=(6, 2.2), sharey=True)
for ax, (name, r) in zip(axes, {"Norse": native, "NEST": nest_run.outputs[output]}.items()):
    for b, colour in ((0, "C0"), (1, "C1")):
        t, neuron = np.nonzero(r[b])
        ax.scatter(t, neuron + 0.15 * b, s=8, marker="|", c=colour)
    ax.set_title(name, fontsize=9)
    ax.set_xlabel("step", fontsize=8)
axes[0].set_ylabel("output neuron")
fig.tight_layout()
