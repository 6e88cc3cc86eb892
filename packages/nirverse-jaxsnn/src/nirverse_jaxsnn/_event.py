r"""Event-based mode: a NIR graph on jaxsnn's exact (analytical spike time) simulator, ``jaxsnn.event``.

This is *not* a time-stepped backend: there is no ``dt``. It realises the graph's continuous-time ODEs
with every spike a Dirac impulse of area ``spike_area`` (the discrete semantics' unit spike carries the
area ``dt``; pass ``spike_area=dt`` to match a graph trained at that step). The discrete reference
converges to it as ``dt -> 0`` when spikes carry ``spike_area / dt``; ``tests/test_event.py`` measures
the spike-time error at a small ``dt``.

Built from jaxsnn's own modules (``jaxsnn/event/modules``): ``Source``, ``Linear(pre_weights=...)`` and
``LIF(size, n_steps, LIFParameters)``, assembled by ``jaxsnn.event.topology.Topology``. jaxsnn's event
neuron (``functional/lif/dynamics.py``) is :math:`\dot V = (-V + I)/\tau_m`, :math:`\dot I = -I/\tau_s`,
a presynaptic spike adds the weight to ``I`` (``functional/lif/transition.py``), ``V`` starts at 0 and
resets to ``v_reset``; the spike time is solved analytically for :math:`\tau_m/\tau_s \in \{1, 2\}`
only (``solver/lif_analytical.py``, which *rounds* the ratio). The NIR CubaLIF
:math:`\tau_s \dot i = -i + w_{in} x`, :math:`\tau_m \dot v = v_{leak} - v + r i` maps exactly, with
:math:`V = v - v_{leak}` and :math:`I = r i`:

==============================  ===============================================================
NIR                             jaxsnn.event
==============================  ===============================================================
Linear W (out, in)              ``Linear(pre_weights=(W * (r w_in A / tau_syn)[:, None]).T)``
Affine W, b (b must be 0)       as Linear
CubaLIF tau_syn, tau_mem        ``LIFParameters(tau_syn, tau_mem)`` (seconds; one value per layer)
v_threshold, v_leak             ``v_th = v_threshold - v_leak``, ``v_leak = 0``
v_reset                         ``v_reset - v_leak`` (``reset="value"``); ``0`` (``"subtract"``: in
                                continuous time the membrane is exactly at threshold when it spikes)
==============================  ===============================================================

with ``A = spike_area``. Supported graphs: ``Input -> Linear/Affine -> CubaLIF (-> Linear/Affine ->
CubaLIF)* -> Output``, parameters homogeneous within a layer (``r`` and ``w_in`` may vary per neuron:
they are folded into the weights). Anything else raises ``UnsupportedNodeError`` naming node and field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from nirverse.errors import InvalidInputError, UnsupportedNodeError
from nirverse.graph import prepare
from nirverse.semantics import Semantics

__all__ = ["EventModel", "event_from_nir", "events_to_raster"]

_HOMOGENEOUS = ("tau_syn", "tau_mem", "v_threshold", "v_leak", "v_reset")


@dataclass
class EventModel:
    """``init``/``apply`` of a jaxsnn event ``Topology`` plus the chain it was built from."""

    topology: Any
    init: Any
    apply: Any
    params: Any
    input: str
    layers: tuple[str, ...]
    sizes: Mapping[str, int]
    t_max: float

    def __call__(self, times: np.ndarray, idx: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Input spikes (batch, n) times [s] and neuron indices (-1 = none) -> per CubaLIF layer
        ``(times, idx)`` of shape (batch, max_spikes); empty slots have ``idx = -1``."""
        import jax.numpy as jnp
        from jaxsnn.event.types import Spike

        times = np.asarray(times, dtype=np.float64)
        idx = np.asarray(idx)
        if times.ndim != 2 or times.shape != idx.shape:
            raise InvalidInputError(
                f"times {times.shape}, idx {idx.shape}", node=self.input, field="inputs",
                expected="two arrays of one shape (batch, n_spikes)",
            )
        if np.any(idx >= self.sizes[self.input]):
            raise InvalidInputError("a neuron index is out of range", node=self.input, field="idx",
                                    expected=f"-1 or 0..{self.sizes[self.input] - 1}")
        order = np.argsort(np.where(idx < 0, np.inf, times), axis=1, kind="stable")
        times = np.take_along_axis(np.where(idx < 0, 2 * self.t_max, times), order, 1)
        idx = np.take_along_axis(idx, order, 1)
        t = jnp.asarray(times, dtype=jnp.float32)
        spikes = Spike(t, jnp.asarray(idx, jnp.int32), jnp.zeros_like(t), jnp.zeros(idx.shape, jnp.int32),
                       jnp.ones(idx.shape, bool))  # as jaxsnn's own from_nir_data marks input events
        out = self.apply({self.input: spikes}, self.params)
        result = {}
        for name in self.layers:
            ev = out[name]
            t_out, i_out = np.asarray(ev.time, np.float64), np.asarray(ev.idx)
            # a layer's event list also holds the events it received: keep its own spikes only
            own = np.asarray(ev.layer_idx) == self.topology.node_index_mapping[name]
            valid = own & (i_out >= 0) & (t_out < self.t_max)
            result[name] = (np.where(valid, t_out, np.inf), np.where(valid, i_out, -1))
        return result


def events_to_raster(times: np.ndarray, idx: np.ndarray, dt: float, steps: int, size: int) -> np.ndarray:
    """(batch, n) events -> (batch, steps, size) counts in bins ``[k dt, (k+1) dt)``."""
    batch = times.shape[0]
    raster = np.zeros((batch, steps, size))
    for b in range(batch):
        ok = (idx[b] >= 0) & np.isfinite(times[b])
        k = np.floor(times[b][ok] / dt).astype(int)
        keep = k < steps
        np.add.at(raster[b], (k[keep], idx[b][ok][keep]), 1.0)
    return raster


def _chain(plan) -> tuple[str, list[tuple[str, str]]]:
    """The Input and the (projection, CubaLIF) pairs of a feed-forward chain, or an UnsupportedNodeError."""
    succ: dict[str, list[str]] = {n: [] for n in plan.order}
    for e in plan.edges:
        succ[e.source].append(e.target)
    if len(plan.inputs) != 1:
        raise UnsupportedNodeError(f"{len(plan.inputs)} Input nodes", node=plan.inputs[-1], field="type",
                                   expected="one Input (jaxsnn.event runs feed-forward chains)")
    node = plan.inputs[0]
    layers = []
    while True:
        targets = [t for t in succ[node] if plan.types[t] != "Output"]
        if not targets:
            break
        if len(targets) > 1 or len(plan.incoming[targets[0]]) != 1:
            raise UnsupportedNodeError("the graph branches or merges here", node=targets[0], field="edges",
                                       expected="a feed-forward chain Input -> (Linear -> CubaLIF)+ -> Output")
        proj = targets[0]
        if plan.types[proj] not in ("Linear", "Affine"):
            raise UnsupportedNodeError(f"jaxsnn.event has no {plan.types[proj]} here", node=proj, field="type",
                                       expected="Linear or Affine (bias 0) before every CubaLIF")
        if plan.types[proj] == "Affine" and np.any(plan.params[proj]["bias"] != 0):
            raise UnsupportedNodeError("nonzero bias", node=proj, field="bias",
                                       expected="bias 0 (jaxsnn.event has no constant input current)")
        nxt = [t for t in succ[proj] if plan.types[t] != "Output"]
        if len(nxt) != 1 or plan.types[nxt[0]] != "CubaLIF" or len(plan.incoming[nxt[0]]) != 1:
            bad = nxt[0] if nxt else proj
            raise UnsupportedNodeError(f"{plan.types[bad]} follows {proj!r}", node=bad, field="type",
                                       expected="exactly one CubaLIF after each projection, fed by it alone")
        layers.append((proj, nxt[0]))
        node = nxt[0]
    if not layers:
        raise UnsupportedNodeError("no CubaLIF layer", node=plan.inputs[0], field="edges",
                                   expected="Input -> Linear -> CubaLIF")
    return plan.inputs[0], layers


def _scalar(plan, name: str, field: str) -> float:
    values = plan.params[name][field]
    if np.ptp(values) != 0:
        raise UnsupportedNodeError(f"varies across neurons ({values.min()!r} .. {values.max()!r})", node=name,
                                   field=field, expected="one value per layer (jaxsnn.event's LIFParameters)")
    return float(values.flat[0])


def event_from_nir(graph: Any, t_max: float, max_spikes: int | Mapping[str, int], spike_area: float = 1.0,
                   reset: str = "value") -> EventModel:
    """Map ``graph`` onto jaxsnn's event simulator (see the module docstring for the mapping).

    ``t_max`` [s] ends the simulation; ``max_spikes`` is jaxsnn's ``n_steps`` of each CubaLIF layer (an
    int or {layer: int}): the events it processes, i.e. the spikes it *receives plus* those it emits;
    ``spike_area`` is the area of every spike's Dirac impulse.
    """
    import jax
    from jaxsnn.event.modules import LIF, LIFParameters, Linear, Source
    from jaxsnn.event.topology import Topology

    if reset not in ("value", "subtract"):
        raise InvalidInputError(f"unknown reset {reset!r}", field="reset", expected="'value' or 'subtract'")
    plan = prepare(graph, Semantics(1.0))
    source, layers = _chain(plan)
    topology = Topology(t_max=float(t_max))
    sizes = {source: int(np.prod(plan.out_shapes[source]))}
    if len(plan.out_shapes[source]) != 1:
        raise UnsupportedNodeError(f"shape {plan.out_shapes[source]}", node=source, field="shape",
                                   expected="a 1-D Input")
    topology.add({source: Source(sizes[source])})
    edges, prev = [], source
    for proj, lif in layers:
        p = {f: _scalar(plan, lif, f) for f in _HOMOGENEOUS}
        ratio = p["tau_mem"] / p["tau_syn"]
        if not any(abs(ratio - k) <= 1e-9 * k for k in (1.0, 2.0)):
            raise UnsupportedNodeError(
                f"tau_mem/tau_syn = {ratio!r}", node=lif, field="tau_mem",
                expected="tau_mem equal to tau_syn or 2 tau_syn (jaxsnn's analytical spike-time solver)",
            )
        q = plan.params[lif]
        gain = q["r"] * q["w_in"] * spike_area / p["tau_syn"]
        weight = (plan.params[proj]["weight"] * gain[:, None]).T
        n = max_spikes[lif] if isinstance(max_spikes, Mapping) else max_spikes
        params = LIFParameters(
            tau_syn=p["tau_syn"], tau_mem=p["tau_mem"], v_th=p["v_threshold"] - p["v_leak"], v_leak=0.0,
            v_reset=(p["v_reset"] - p["v_leak"]) if reset == "value" else 0.0,
        )
        sizes[lif] = int(weight.shape[1])
        topology.add({proj: Linear(pre_weights=np.asarray(weight, np.float32)), lif: LIF(sizes[lif], int(n), params)})
        edges += [(prev, proj), (proj, lif)]
        prev = lif
    topology.connect(edges)
    init, apply = topology.done()
    apply = jax.jit(apply)
    return EventModel(topology, init, apply, init(jax.random.PRNGKey(0)), source,
                      tuple(lif for _, lif in layers), sizes, float(t_max))
