r"""Export a NEST network (``iaf_psc_delta`` / ``iaf_psc_exp`` neurons, ``static_synapse`` connections,
``spike_generator`` inputs) to NIR, under the semantics that reproduces NEST's own simulation.

The semantics is ``Semantics(dt = h / 1000, method="exp", reset="value", latency="one-step")`` with
:math:`h` NEST's resolution (ms). Per population (names are the keys the caller gives):

* ``iaf_psc_delta`` → ``LIF(tau = tau_m, r = 1, v_leak = E_L, v_threshold, v_reset = V_reset)`` with
  ``v_threshold`` the float just below ``V_th`` (NEST fires when :math:`V \ge V_{th}`, the semantics when
  :math:`v > v_{th}`). A spike of weight :math:`w` (mV) makes NEST jump by :math:`w`; the semantics adds
  :math:`\kappa r x`, so the NIR weight is :math:`w / \kappa(\tau_m)` of the target.
* ``iaf_psc_exp`` → ``CubaLIF(tau_mem = tau_m, tau_syn, r = P_{21}/\kappa_m, w_in = 1)``: NEST adds
  :math:`w` to :math:`I`, the semantics :math:`\kappa_{syn} x`, so the NIR weight is :math:`w/\kappa_{syn}`.
  NEST's membrane uses the previous step's current, one step later than the semantics: every edge into
  an ``iaf_psc_exp`` population carries one more step of Delay.
* ``spike_generator`` → ``Input``: a spike stamped :math:`t h` (sent in NEST step :math:`t-1`, added in step :math:`t-1+d`) is the
  input value of step :math:`t` (its ``spike_weights`` entry, or 1).
* Connections with delay :math:`d` steps (grouped by source, target and delay) →
  ``Linear`` (+ ``Delay`` of :math:`d - 1` steps): the semantics' one-step latency supplies one step.

Refused (typed errors): other models, ``t_ref > 0``, ``I_e != 0``, a membrane not at rest, a lower bound
``V_min``, ``tau_syn_ex != tau_syn_in``, plastic synapses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import nir
import numpy as np
from nirverse.errors import UnsupportedNodeError
from nirverse.semantics import Semantics

from ._mapping import propagator_21

__all__ = ["to_nir", "NESTExport"]

_NEURONS = ("iaf_psc_delta", "iaf_psc_exp")


@dataclass
class NESTExport:
    """``graph`` (NIR), ``inputs`` {Input name: (1, steps, n)}, and the ``semantics`` that reproduces NEST."""

    graph: nir.NIRGraph
    inputs: dict[str, np.ndarray]
    semantics: Semantics


def _status(pop: Any, key: str) -> np.ndarray:
    return np.asarray(pop.get(key), dtype=np.float64).reshape(-1)


def _model(pop: Any, name: str) -> str:
    models = set(np.atleast_1d(pop.get("model")).tolist())
    if len(models) != 1:
        raise UnsupportedNodeError("a population mixes NEST models", node=name, field="model", expected="one model")
    return models.pop()


def _require(cond: bool, name: str, field: str, expected: str) -> None:
    if not cond:
        raise UnsupportedNodeError(f"NEST parameter {field} cannot be expressed in NIR exactly", node=name,
                                   field=field, expected=expected)


def _neuron_node(pop: Any, name: str, model: str, h: float) -> tuple[Any, np.ndarray]:
    """The NIR node of a neuron population and its input gain (NIR weight = NEST weight / gain)."""
    get = lambda k: _status(pop, k)  # noqa: E731
    _require(np.all(get("t_ref") == 0), name, "t_ref", "0 (no refractory period)")
    _require(np.all(get("I_e") == 0), name, "I_e", "0")
    _require(np.all(get("V_m") == get("E_L")), name, "V_m", "V_m == E_L (at rest)")
    if model == "iaf_psc_delta":
        _require(np.all(get("V_min") <= -np.finfo(float).max), name, "V_min", "no lower bound (the default)")
    tau_m = get("tau_m")
    kappa_m = -np.expm1(-h / tau_m)
    v_th = np.nextafter(get("V_th"), -np.inf)
    if model == "iaf_psc_delta":
        node = nir.LIF(tau=tau_m * 1e-3, r=np.ones_like(tau_m), v_leak=get("E_L"), v_threshold=v_th,
                       v_reset=get("V_reset"))
        return node, kappa_m
    tau_s = get("tau_syn_ex")
    _require(np.all(tau_s == get("tau_syn_in")), name, "tau_syn_in", "tau_syn_in == tau_syn_ex")
    p21 = h * propagator_21(tau_s / h, tau_m / h) / get("C_m")
    node = nir.CubaLIF(tau_syn=tau_s * 1e-3, tau_mem=tau_m * 1e-3, r=p21 / kappa_m, v_leak=get("E_L"),
                       v_threshold=v_th, v_reset=get("V_reset"), w_in=np.ones_like(tau_m))
    return node, -np.expm1(-h / tau_s)


def _generator_input(pop: Any, steps: int, h: float) -> np.ndarray:
    x = np.zeros((1, steps, len(pop)))
    for j in range(len(pop)):
        status = pop[j].get(["spike_times", "spike_weights"])
        times = np.asarray(status["spike_times"], dtype=np.float64).reshape(-1)
        weights = np.asarray(status["spike_weights"], dtype=np.float64).reshape(-1)
        if weights.size == 0:
            weights = np.ones_like(times)
        t = np.rint(times / h).astype(int)  # sent in NEST step t - 1, so it counts in step t + d - 1
        keep = (t >= 0) & (t < steps)
        np.add.at(x[0, :, j], t[keep], weights[keep])
    return x


def to_nir(populations: Mapping[str, Any], steps: int) -> NESTExport:
    """Export the NEST network made of ``populations`` (name → NodeCollection) for ``steps`` steps."""
    import nest

    h = float(nest.resolution)
    nodes: dict[str, Any] = {}
    gains: dict[str, np.ndarray] = {}
    exp_pops: set[str] = set()
    inputs: dict[str, np.ndarray] = {}
    for name, pop in populations.items():
        model = _model(pop, name)
        if model == "spike_generator":
            nodes[name] = nir.Input(input_type=np.array([len(pop)]))
            inputs[name] = _generator_input(pop, steps, h)
        elif model in _NEURONS:
            nodes[name], gains[name] = _neuron_node(pop, name, model, h)
            if model == "iaf_psc_exp":
                exp_pops.add(name)
            nodes[f"{name}.out"] = nir.Output(output_type=np.array([len(pop)]))
        else:
            raise UnsupportedNodeError(f"NEST model {model!r} has no NIR export", node=name, field="model",
                                       expected="iaf_psc_delta, iaf_psc_exp or spike_generator")
    edges = [(n, f"{n}.out") for n in gains]
    for (src, dst, delay), w in _connections(populations, h).items():
        extra = delay - 1 + int(dst in exp_pops)
        name = f"{src}->{dst}@{delay}"
        nodes[name] = nir.Linear(weight=w / gains[dst][:, None])
        if extra:
            nodes[f"{name}.delay"] = nir.Delay(delay=np.full(w.shape[0], extra * h * 1e-3))
            edges += [(src, name), (name, f"{name}.delay"), (f"{name}.delay", dst)]
        else:
            edges += [(src, name), (name, dst)]
    semantics = Semantics(h * 1e-3, method="exp", reset="value", latency="one-step")
    return NESTExport(nir.NIRGraph(nodes=nodes, edges=edges), inputs, semantics)


def _connections(populations: Mapping[str, Any], h: float) -> dict[tuple[str, str, int], np.ndarray]:
    """{(source, target, delay steps): dense weights (n_target × n_source)} over static synapses."""
    import nest

    out: dict[tuple[str, str, int], np.ndarray] = {}
    for src, spop in populations.items():
        for dst, dpop in populations.items():
            conns = nest.GetConnections(spop, dpop)
            if len(conns) == 0:
                continue
            st = {k: np.atleast_1d(v) for k, v in conns.get(["source", "target", "weight", "delay", "synapse_model"]).items()}
            bad = set(st["synapse_model"].tolist()) - {"static_synapse"}
            if bad:
                raise UnsupportedNodeError(f"synapse model(s) {sorted(bad)} have no NIR export", node=dst,
                                           field="synapse_model", expected="static_synapse")
            s0, d0 = spop[0].global_id, dpop[0].global_id
            steps = np.rint(st["delay"].astype(np.float64) / h).astype(int)
            for delay in np.unique(steps):
                sel = steps == delay
                w = np.zeros((len(dpop), len(spop)))
                rows, cols = st["target"][sel].astype(int) - d0, st["source"][sel].astype(int) - s0
                np.add.at(w, (rows, cols), st["weight"][sel].astype(np.float64))
                out[(src, dst, int(delay))] = w
    return out
