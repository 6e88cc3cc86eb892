r"""Building and running the NEST network of a lowered plan.

NEST keeps one global kernel: :meth:`NESTNetwork.run` resets it, sets the resolution (1 ms = one step of
the semantics) and the threads, creates every population (once per sample when a batch runs as copies),
connects them, simulates :math:`T + \max L + 1` steps and reads the recorders; a batch runs one sample
after the other by default.

* Input and constant populations are ``spike_generator`` devices, one per element: the value
  :math:`x_t \ne 0` is sent as a spike with ``spike_weights`` :math:`x_t` at time :math:`t + L + 1`
  (the end of NEST step :math:`t + L`).
* Spiking outputs are read from a ``spike_recorder`` (a spike in NEST step :math:`s` has time
  :math:`s + 1`, semantic step :math:`s - L - e`); membranes and currents from a ``multimeter`` with
  interval 1 (the value after NEST step :math:`s` at time :math:`s + 1`).
* Connections are ``static_synapse`` with weight :math:`M_{ij} \cdot gain_i` and the scheduled delay:
  ``all_to_all`` with the weight matrix where :math:`M` is dense, ``one_to_one`` over explicit pairs
  (conv, pool, sparse) otherwise.
* A population with lag :math:`L > 0` that would fire at rest is ``frozen`` (not updated) until NEST step
  :math:`L`, its semantic step 0, so that nothing fires before the semantics starts.

Under MPI (an MPI-built NEST, ``mpirun -n R python ...``) every rank creates the same network (NEST
places each neuron on one rank) and records its local neurons; :func:`_gather` combines the ranks'
events with mpi4py. This path has not been run here (the PyPI wheel has no MPI).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._lowering import Network, Population

__all__ = ["NESTNetwork", "import_nest", "PERTURBED"]

#: NEST model -> amount added to its E_L and V_m (neuron models) or to every weight (``static_synapse``)
#: while a mutation check perturbs it (see NESTBackend.perturb)
PERTURBED: dict[str, float] = {}


def import_nest() -> Any:
    """``import nest`` without its banner, with NEST's own messages limited to errors."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        import nest
    nest.verbosity = nest.VerbosityLevel.ERROR
    return nest


@dataclass
class NESTNetwork:
    """A lowered plan ready to run in NEST; ``threads`` = NEST's ``local_num_threads``; ``batch`` =
    ``"repeat"`` (one simulation per sample, the default: faster in every measurement here, e.g. 8 samples
    of the benchmark network, 500 steps: 2.0 s against 3.2 s) or ``"copies"`` (independent copies of the
    network in one simulation)."""

    network: Network
    threads: int = 1
    batch: str = "repeat"
    last: dict[str, Any] = field(default_factory=dict)

    def run(self, inputs: Mapping[str, np.ndarray], record: bool = False) -> tuple[dict, dict]:
        """{Output: (batch, T, *shape)}, {neuron: {"v": ..., "i": ...}} for {Input: (batch, T, *shape)}."""
        size = int(next(iter(inputs.values())).shape[0])
        if self.batch == "copies" or size == 1:
            return self._simulate(inputs, record)
        parts = [self._simulate({k: v[b:b + 1] for k, v in inputs.items()}, record) for b in range(size)]
        outputs = {k: np.concatenate([p[0][k] for p in parts]) for k in parts[0][0]}
        states = {n: {k: np.concatenate([p[1][n][k] for p in parts]) for k in s} for n, s in parts[0][1].items()}
        return outputs, states

    def _simulate(self, inputs: Mapping[str, np.ndarray], record: bool) -> tuple[dict, dict]:
        nest = import_nest()
        first = next(iter(inputs.values()))
        batch, steps = int(first.shape[0]), int(first.shape[1])
        nest.ResetKernel()
        nest.set(resolution=1.0, local_num_threads=int(self.threads), print_time=False)
        if self.network.mode == "nestml":
            from ._nestml import install_module

            install_module(nest)
        ids = [_create(nest, pop, batch) for pop in self.network.populations]
        self._feed(nest, ids, inputs, batch, steps)
        for pr in self.network.projections:
            _connect(nest, self.network.populations, ids, pr, batch)
        spiking, continuous = self._recorded_populations(record)
        recorders = _recorders(nest, ids, spiking, continuous, self.network.populations)
        _simulate_from_lags(nest, ids, self.network.populations, steps + self.network.max_lag + 1)
        return self._collect(nest, ids, recorders, batch, steps, record)

    def _feed(self, nest: Any, ids: list, inputs: Mapping[str, np.ndarray], batch: int, steps: int) -> None:
        for i, pop in enumerate(self.network.populations):
            if pop.role == "const":
                _send(nest, ids[i], np.ones((batch, steps, 1)), pop.lag)
        for name, i in self.network.inputs.items():
            x = np.asarray(inputs[name], dtype=np.float64).reshape(batch, steps, -1)
            _send(nest, ids[i], x, self.network.populations[i].lag)

    def _recorded_populations(self, record: bool) -> tuple[set[int], set[int]]:
        spiking = {i for i, _, kind in self.network.outputs.values() if kind == "spikes"}
        continuous = {i for i, _, kind in self.network.outputs.values() if kind == "v"}
        if record:
            continuous |= set(self.network.neurons.values())
        return spiking, continuous

    def _collect(self, nest: Any, ids: list, recorders: dict, batch: int, steps: int, record: bool) -> tuple[dict, dict]:
        pops = self.network.populations
        spikes = _spike_raster(nest, recorders.get("spikes"), ids, recorders, pops, batch, steps)
        trace = _traces(nest, recorders.get("multimeter"), ids, recorders, pops, batch, steps)
        outputs = {}
        for name, (i, shape, kind) in self.network.outputs.items():
            value = spikes[i] if kind == "spikes" else trace[i]["v"]
            outputs[name] = value.reshape(batch, steps, *shape)
        states = {}
        if record:
            for name, i in self.network.neurons.items():
                shape = self.network.shapes[name]
                states[name] = {k: a.reshape(batch, steps, *shape) for k, a in trace[i].items()}
        keys = ("local_num_threads", "num_processes", "biological_time")
        self.last = {"kernel": dict(zip(keys, nest.GetKernelStatus(list(keys))))}
        return outputs, states


def _simulate_from_lags(nest: Any, ids: list, pops: list[Population], total: int) -> None:
    """Simulate ``total`` steps, each neuron population that would fire at rest frozen (not updated) until
    NEST step L, where its semantic step 0 begins: the semantics starts every state at rest at t = 0. The
    others stay exactly at rest until then (no input reaches them before their start), unfrozen: freezing
    costs a second ``Simulate`` call."""
    starts: dict[int, list[int]] = {}
    for i, pop in enumerate(pops):
        if ids[i] is not None and not pop.generator and pop.lag > 0 and pop.spec.fires_at_rest():
            ids[i].set(frozen=True)
            starts.setdefault(pop.lag, []).append(i)
    done = 0
    for lag in sorted(starts):
        nest.Simulate(float(lag - done))
        for i in starts[lag]:
            ids[i].set(frozen=False)
        done = lag
    nest.Simulate(float(total - done))


def _create(nest: Any, pop: Population, batch: int) -> Any:
    if pop.role == "fused":  # computed inside the NESTML neuron of its input
        return None
    if pop.generator:
        return nest.Create("spike_generator", pop.size * batch)
    params = {k: np.asarray(v, dtype=np.float64) for k, v in pop.spec.params.items()}
    if pop.spec.model in PERTURBED:  # the whole membrane (rest and start) shifted against V_th and V_reset
        params["E_L"] = params["E_L"] + PERTURBED[pop.spec.model]
        params["V_m"] = params["V_m"] + PERTURBED[pop.spec.model]
    uniform = {k: float(v[0]) for k, v in params.items() if np.all(v == v[0])}
    nodes = nest.Create(pop.spec.model, pop.size * batch, params=uniform)
    varying = {k: np.tile(v, batch).tolist() for k, v in params.items() if k not in uniform}
    if varying:
        nodes.set(varying)
    return nodes


def _send(nest: Any, gens: Any, x: np.ndarray, lag: int) -> None:
    """One generator per (sample, element): a spike of weight x_t at time t + lag + 1 where x_t != 0."""
    batch, steps, n = x.shape
    times = np.arange(steps, dtype=np.float64) + lag + 1
    status = []
    for b in range(batch):
        for j in range(n):
            col = x[b, :, j]
            nz = col != 0
            status.append({"spike_times": times[nz].tolist(), "spike_weights": col[nz].tolist()})
    gens.set(status)


def _connect(nest: Any, pops: list[Population], ids: list, pr: Any, batch: int) -> None:
    gain = pops[pr.dst].spec.gain
    n_src, n_dst = pops[pr.src].size, pops[pr.dst].size
    bump = PERTURBED.get("static_synapse", 0.0)
    if pr.matrix.nnz == n_src * n_dst:  # dense: one all_to_all per sample with the weight matrix
        w = pr.matrix.toarray() * gain[:, None] + bump
        for b in range(batch):
            src, dst = ids[pr.src][b * n_src:(b + 1) * n_src], ids[pr.dst][b * n_dst:(b + 1) * n_dst]
            nest.Connect(src, dst, "all_to_all", {"synapse_model": "static_synapse", "weight": w, "delay": float(pr.delay)})
        return
    m = pr.matrix.tocoo()
    weights = m.data * gain[m.row] + bump
    src0, dst0 = ids[pr.src][0].global_id, ids[pr.dst][0].global_id
    offsets = np.arange(batch)[:, None]
    sources = (src0 + offsets * n_src + m.col[None, :]).reshape(-1)
    targets = (dst0 + offsets * n_dst + m.row[None, :]).reshape(-1)
    w = np.tile(weights, batch)
    nest.Connect(sources.astype(np.int64), targets.astype(np.int64), "one_to_one",
                 {"synapse_model": "static_synapse", "weight": w, "delay": np.full(w.size, float(pr.delay))})


def _recorders(nest: Any, ids: list, spiking: set[int], continuous: set[int], pops: list[Population]) -> dict:
    out: dict[str, Any] = {"_spiking": spiking}
    if spiking:
        out["spikes"] = nest.Create("spike_recorder")
        for i in sorted(spiking):
            nest.Connect(ids[i], out["spikes"])
    if continuous:
        out["multimeter"] = {}
        for i in sorted(continuous):
            spec = pops[i].spec
            own = [spec.v_name] + (list(spec.i_names) if spec.i_scale is not None else [])
            mm = nest.Create("multimeter", params={"record_from": own, "interval": 1.0})
            nest.Connect(mm, ids[i])
            out["multimeter"][i] = mm
    return out


def _gather(events: dict[str, np.ndarray], nest: Any) -> dict[str, np.ndarray]:
    """The events of every MPI rank (identity in a single process)."""
    if nest.NumProcesses() == 1:
        return events
    from mpi4py import MPI  # an MPI-built NEST runs under mpirun with mpi4py

    parts = MPI.COMM_WORLD.allgather(events)
    return {k: np.concatenate([p[k] for p in parts]) for k in events}


def _spike_raster(nest, rec, ids, recorders, pops, batch, steps) -> dict[int, np.ndarray]:
    if rec is None:
        return {}
    ev = _gather({k: np.asarray(v) for k, v in rec.get("events").items() if k in ("senders", "times")}, nest)
    senders, times = ev["senders"].astype(np.int64), np.rint(ev["times"]).astype(np.int64)
    out = {}
    for i in sorted(recorders["_spiking"]):
        n = pops[i].size
        first = ids[i][0].global_id
        sel = (senders >= first) & (senders < first + n * batch)
        t = times[sel] - pops[i].out_lag - 1
        keep = (t >= 0) & (t < steps)
        raster = np.zeros((batch, steps, n))
        local = senders[sel][keep] - first
        raster[local // n, t[keep], local % n] = 1.0
        out[i] = raster
    return out


def _traces(nest, meters, ids, recorders, pops, batch, steps) -> dict[int, dict[str, np.ndarray]]:
    out: dict[int, dict[str, np.ndarray]] = {}
    for i, mm in (meters or {}).items():
        ev = _gather({k: np.asarray(v) for k, v in mm.get("events").items()}, nest)
        pop, n = pops[i], pops[i].size
        local = ev["senders"].astype(np.int64) - ids[i][0].global_id
        times = np.rint(ev["times"]).astype(np.int64)
        spec = pop.spec
        out[i] = {"v": _grid(ev[spec.v_name], local, times - pop.out_lag - 1, batch, steps, n) + spec.shift[None, None, :]}
        if spec.i_scale is not None:
            current = sum(ev[name] for name in spec.i_names)
            out[i]["i"] = _grid(current, local, times - pop.lag - 1, batch, steps, n) * spec.i_scale[None, None, :]
    return out


def _grid(values, local, t, batch, steps, n) -> np.ndarray:
    grid = np.zeros((batch, steps, n))
    keep = (t >= 0) & (t < steps)
    grid[local[keep] // n, t[keep], local[keep] % n] = values[keep]
    return grid
