"""
Train in SpikingJelly, run in Brian2 and Norse
==============================================

A tiny SpikingJelly network is trained with surrogate gradients, exported to NIR with
``nirverse_spikingjelly.to_nir``, and run in Brian2 and Norse through nirverse. SpikingJelly steps a model
layer by layer, so the semantics is ``latency="immediate"``; its ``LIFNode`` resets to ``v_reset = 0`` and
charges with forward Euler (τ in steps), so ``method="euler"``, ``reset="value"``. Every run equals the
SpikingJelly model's own run, spike for spike.
"""

# %%
# Data and model
# --------------
# Two classes of rate-coded spike trains on 8 channels: class 0 drives channels 0-3, class 1 channels 4-7.
# The model is what a SpikingJelly user writes: ``layer.Linear`` and ``LIFNode`` in multi-step mode.
import logging

import matplotlib.pyplot as plt
import nirverse
import nirverse_spikingjelly
import numpy as np
import torch
from spikingjelly.activation_based import functional, layer, neuron

# sphinx_gallery_start_ignore
logging.getLogger("jaxsnn").addFilter(lambda record: "hxtorch" not in record.getMessage())  # optional hardware
logging.getLogger("spikingjelly").setLevel(logging.WARNING)
# sphinx_gallery_end_ignore

torch.manual_seed(0)
rng = np.random.default_rng(0)
T, N_IN = 25, 8


def batch(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    labels = rng.integers(0, 2, n)
    rates = np.where((np.arange(N_IN) < N_IN // 2) == (labels[:, None] == 0), 0.5, 0.05)
    spikes = (rng.random((T, n, N_IN)) < rates).astype(np.float32)  # (time, batch, channels)
    return torch.from_numpy(spikes), torch.from_numpy(labels)


model = torch.nn.Sequential(
    layer.Linear(N_IN, 16, step_mode="m"), neuron.LIFNode(tau=2.0, step_mode="m"),
    layer.Linear(16, 2, step_mode="m"), neuron.LIFNode(tau=2.0, step_mode="m"),
)

# %%
# Training
# --------
# The loss is SpikingJelly's usual one: mean squared error between the output firing rates and the one-hot
# label; the spike function's surrogate gradient (``Sigmoid``) makes it differentiable.
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
for _ in range(60):
    x, y = batch(32)
    rate = model(x).mean(0)
    loss = torch.nn.functional.mse_loss(rate, torch.nn.functional.one_hot(y, 2).float())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    functional.reset_net(model)
x_test, y_test = batch(64)
with torch.no_grad():
    accuracy = float((model(x_test).sum(0).argmax(1) == y_test).float().mean())
functional.reset_net(model)
print(f"loss {loss.item():.3f}, test accuracy {accuracy:.2f}")

# %%
# Export and SpikingJelly's own run
# ---------------------------------
# In float64, so that the comparison is exact. ``to_nir`` maps ``LIFNode(tau=2)`` to a NIR LIF with
# τ = 2·dt, the threshold just below 1 (SpikingJelly fires on ``v >= 1``, NIR on ``v > threshold``).
dt = 1e-3
sem = nirverse.Semantics(dt, method="euler", reset="value", latency="immediate")
model = model.double()
graph = nirverse_spikingjelly.to_nir(model, sem)
print("exported nodes:", {name: type(node).__name__ for name, node in graph.nodes.items()})

x = x_test[:, :4].double()
with torch.no_grad():
    native = np.swapaxes(model(x).numpy(), 0, 1)  # (batch, time, classes), nirverse's layout
functional.reset_net(model)
x = np.swapaxes(x.numpy(), 0, 1)
print("SpikingJelly output spikes:", int(native.sum()))

# %%
# Brian2 and Norse
# ----------------
reference = nirverse.run(graph, x, sem, record=True)
rasters = {"spikingjelly (own run)": native}
for backend in ("reference", "brian2", "norse"):
    result = reference if backend == "reference" else nirverse.run(graph, x, sem, backend=backend, record=True)
    out = result.outputs["output"]
    mismatches = int(np.count_nonzero((out != 0) != (native != 0)))
    cmp = nirverse.compare(result, reference)
    rasters[backend] = out
    print(f"{backend:<10} {mismatches} raster mismatches with SpikingJelly; vs reference: "
          f"{'identical' if cmp.identical else 'DEVIATING'} (max |dv| {cmp.max_abs:.2g})")

fig, axes = plt.subplots(1, len(rasters), figsize=(2.2 * len(rasters), 2.2), sharey=True)
for ax, (name, r) in zip(axes, rasters.items()):
    t, unit = np.nonzero(r[0])
    ax.scatter(t, unit, s=14, marker="|", c="k")
    ax.set_title(name, fontsize=8)
    ax.set_xlabel("step", fontsize=8)
axes[0].set_ylabel("output neuron")
axes[0].set_yticks([0, 1])
fig.tight_layout()
