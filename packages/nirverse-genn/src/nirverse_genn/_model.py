"""Building and running the GeNN model of a :class:`~._lowering.Network`.

Populations are named ``p0, p1, …`` and synapse populations ``s0, s1, …``: no graph name reaches
GeNN. All numbers are variable values loaded at ``load()`` time, so the generated C++ depends only on
the *structure* (population kinds, sizes, connectivity, delays, precision); its hash names the
model, and GeNN recompiles only when that code changes (it keeps ``model.sha`` next to the code). The
compiled models live in ``$NIRVERSE_GENN_CACHE`` (default ``~/.cache/nirverse-genn``), and one
``GeNNModel`` per structure is kept per process.

Each sample of a batch is run by ``load()`` (which initialises every variable), ``s_total = T + max lag``
calls of ``step_time()`` and ``unload()``; semantic step t of a population with lag L is GeNN step t + L.
Before ``build()`` and each ``load()``, :mod:`._guard` checks every index the generated code will compute.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._guard import check_model, check_sequence
from ._lowering import Network

__all__ = ["GeNNNetwork", "build_network", "run_network", "cache_dir"]

#: a projection is stored DENSE when at least this fraction of its matrix is non-zero
DENSE_FRACTION = 0.5

_MODELS: dict[str, Any] = {}


def cache_dir() -> Path:
    env = os.environ.get("NIRVERSE_GENN_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nirverse-genn"
    base.mkdir(parents=True, exist_ok=True)
    return base


@dataclass
class GeNNNetwork:
    """The native model: ``model`` is the built ``pygenn.GeNNModel``; ``network`` what it computes."""

    model: Any
    network: Network
    dtype: str
    #: per population / synapse population: variable values loaded before each run
    neuron_values: list[dict[str, np.ndarray]] = field(repr=False, default_factory=list)
    weights: list[np.ndarray] = field(repr=False, default_factory=list)

    def population(self, node: str):
        """The GeNN neuron population that executes NIR node ``node``."""
        net = self.network
        for i, pop in enumerate(net.populations):
            if pop.node == node:
                return self.model.neuron_populations[f"p{i}"]
        raise KeyError(node)


def _layout(net: Network) -> list[tuple[str, np.ndarray | None, np.ndarray | None]]:
    """Per projection: ("dense", None, None) or ("sparse", pre indices, post indices)."""
    out = []
    for pr in net.projections:
        m = pr.matrix
        if m.nnz >= DENSE_FRACTION * m.shape[0] * m.shape[1]:
            out.append(("dense", None, None))
        else:
            coo = m.tocoo()
            out.append(("sparse", coo.col.astype(np.int64), coo.row.astype(np.int64)))
    return out


def _weights(net: Network, layout) -> list[np.ndarray]:
    ws = []
    for pr, (kind, pre, post) in zip(net.projections, layout):
        if kind == "dense":
            ws.append(np.ascontiguousarray(pr.matrix.toarray().T).reshape(-1))  # pre-major
        else:
            ws.append(np.asarray(pr.matrix[post, pre]).reshape(-1))
    return ws


def _structure_key(net: Network, dtype: str, layout) -> str:
    import pygenn

    h = hashlib.sha256()
    desc = {
        "v": 3, "genn": getattr(pygenn, "__version__", "?"), "dtype": dtype,
        "pops": [(p.role, p.kind, p.size) for p in net.populations],
        "proj": [(pr.src, pr.dst, pr.delay, kind) for pr, (kind, _, _) in zip(net.projections, layout)],
    }
    h.update(json.dumps(desc, sort_keys=True).encode())
    for kind, pre, post in layout:
        if kind == "sparse":
            h.update(pre.tobytes())
            h.update(post.tobytes())
    return h.hexdigest()[:20]


@contextlib.contextmanager
def _lock(path: Path):
    import fcntl

    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def _quiet(log: Path):
    """Send the compiler's output (``make`` writes to the process's stdout/stderr) to ``log``; on failure
    raise :class:`BackendError` with its tail."""
    import sys

    from nirverse.errors import BackendError

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "w") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield
        except Exception as exc:
            failure = exc
        else:
            failure = None
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
    if failure is not None:
        tail = log.read_text(errors="replace")[-2000:]
        raise BackendError(f"GeNN failed to build the model: {failure}\n{tail}", field="build") from failure


def build_network(net: Network, dtype: str) -> GeNNNetwork:
    """Build (or reuse) the GeNN model of ``net`` in ``dtype`` ("float64" → double, "float32" → float)."""
    layout = _layout(net)
    key = _structure_key(net, dtype, layout)
    values = [_population_values(p, net.reset) for p in net.populations]
    weights = _weights(net, layout)
    model = _MODELS.get(key)
    if model is None:
        model = _make_model(net, dtype, layout, weights, values, f"nv_{key}")
        pops = [model.neuron_populations[f"p{i}"] for i in range(len(net.populations))]
        syns = [model.synapse_populations[f"s{j}"] for j in range(len(net.projections))]
        check_model(net, pops, syns, [_device_initialised(p) for p in net.populations])
        path = cache_dir()
        with _lock(path / f"nv_{key}.lock"), _quiet(path / f"nv_{key}.log"):
            model.build(str(path))
        _MODELS[key] = model
    return GeNNNetwork(model, net, dtype, values, weights)


def _population_values(pop, reset: str) -> dict[str, np.ndarray]:
    """The population's variables plus its lag and (spiking neurons) reset mode as int variables."""
    values = dict(pop.vars)
    values["lag"] = np.full(pop.size, pop.lag, dtype=np.int32)
    if pop.role == "neuron" and pop.spiking:
        values["sub"] = np.full(pop.size, int(reset == "subtract"), dtype=np.int32)
    return values


def _device_initialised(pop) -> set[str]:
    """The variables GeNN's init code sets (to 0): ``out`` of every non-spiking population.

    GeNN 5.4.0 zeroes a population's delay-queue pointer only in the init code of a population that it
    initialises on the device; an Input or the constant population (no spikes, no incoming synapses,
    every variable pushed from the host) read through a delayed graded synapse would keep an
    uninitialised pointer and read outside its queue (issue 16). Initialising ``out`` by code (to its
    initial value 0, which the host push repeats) gives every such population that init code.
    """
    return set() if pop.spiking else {"out"}


def _initial_values(pop, values: dict[str, np.ndarray]) -> dict[str, Any]:
    """Per variable: an array pushed from the host, or 0.0 for a variable GeNN's init code sets."""
    init: dict[str, Any] = {k: np.array(v) for k, v in values.items()}
    for var in _device_initialised(pop):
        assert not np.any(values[var]), (pop.node, var)  # the code sets 0: only correct if that is the value
        init[var] = 0.0
    return init


def _make_model(net: Network, dtype: str, layout, weights, values, name: str):
    import pygenn

    from . import _nodes

    model = pygenn.GeNNModel("double" if dtype == "float64" else "float", name, backend=_backend_name())
    model.dt = 1.0  # the GeNN clock counts steps; the semantics' dt lives in the variables
    pops = []
    for i, p in enumerate(net.populations):
        if p.role == "neuron":
            nm = _nodes.neuron_model(p.kind)
        elif p.role == "threshold":
            nm = _nodes.threshold_model()
        elif p.role == "probe":
            nm = _nodes.probe_model()
        elif p.role == "input":
            nm = _nodes.input_model()
        else:
            nm = _nodes.const_model()
        pop = model.add_neuron_population(f"p{i}", p.size, nm, {}, _initial_values(p, values[i]))
        if p.spiking:
            pop.spike_recording_enabled = True
        pops.append(pop)
    for j, (pr, (kind, pre, post)) in enumerate(zip(net.projections, layout)):
        src = net.populations[pr.src]
        if src.spiking:
            wu = pygenn.init_weight_update("StaticPulse", {}, {"g": weights[j]})
        else:
            wu = pygenn.init_weight_update(
                _nodes.graded_model(), {}, {"g": weights[j]}, pre_var_refs={"x": pygenn.create_var_ref(pops[pr.src], "out")}
            )
        ps = pygenn.init_postsynaptic("DeltaCurr")
        sg = model.add_synapse_population(f"s{j}", "DENSE" if kind == "dense" else "SPARSE", pops[pr.src], pops[pr.dst], wu, ps)
        if kind == "sparse":
            sg.set_sparse_connections(pre, post)
        sg.axonal_delay_steps = pr.delay
    return model


def _backend_name() -> str:
    """``NIRVERSE_GENN_BACKEND`` (e.g. "cuda") or GeNN's CPU backend."""
    return os.environ.get("NIRVERSE_GENN_BACKEND", "single_threaded_cpu")


def run_network(native: GeNNNetwork, inputs: Mapping[str, np.ndarray], record: bool):
    """Run every sample; returns ({Output: (batch, time, *shape)}, {neuron: {"v", "i"}})."""
    net, model = native.network, native.model
    first = next(iter(inputs.values()))
    batch, steps = first.shape[:2]
    total = steps + net.max_lag
    dtype = np.float64 if native.dtype == "float64" else np.float32
    pops = [model.neuron_populations[f"p{i}"] for i in range(len(net.populations))]
    syns = [model.synapse_populations[f"s{j}"] for j in range(len(net.projections))]
    # what to read after each step: (population index, variable) -> buffer (total, n)
    reads: set[tuple[int, str]] = set()
    for i, _ in net.outputs.values():
        if not net.populations[i].spiking:
            reads.add((i, "out"))
    if record:
        for i in net.neurons.values():
            reads.add((i, "v"))
            if net.populations[i].kind.startswith("Cuba"):
                reads.add((i, "i"))
    reads_list = sorted(reads)
    outputs = {o: np.zeros((batch, steps, *shape), dtype) for o, (_, shape) in net.outputs.items()}
    states: dict[str, dict[str, np.ndarray]] = {}
    if record:
        for node, i in net.neurons.items():
            shape = net.shapes[node]
            states[node] = {v: np.zeros((batch, steps, *shape), dtype) for (j, v) in reads_list if j == i}
    recording = any(p.spiking for p in net.populations)
    if steps == 0:
        return outputs, states
    for b in range(batch):
        for i, pop in enumerate(pops):
            for var, value in native.neuron_values[i].items():
                pop.vars[var].set_init_values(value if value.dtype.kind == "i" else value.astype(dtype))
        for j, sg in enumerate(syns):
            sg.vars["g"].set_init_values(native.weights[j].astype(dtype))
        for name, i in net.inputs.items():
            lag = net.populations[i].lag
            seq = np.zeros((total - lag, net.populations[i].size), dtype)
            seq[:steps] = inputs[name][b].reshape(steps, -1)
            check_sequence(net, {i: seq.size}, total)
            pops[i].extra_global_params["seq"].set_init_values(seq.reshape(-1))
        model.load(num_recording_timesteps=total if recording else None)
        try:
            views = [(i, v, pops[i].vars[v]) for i, v in reads_list]
            bufs = {(i, v): np.zeros((total, net.populations[i].size), dtype) for i, v in reads_list}
            for s in range(total):
                model.step_time()
                for i, v, var in views:
                    var.pull_from_device()
                    bufs[(i, v)][s] = var.current_view
            spikes: dict[int, np.ndarray] = {}
            if recording:
                model.pull_recording_buffers_from_device()
                for i, p in enumerate(net.populations):
                    if p.spiking:
                        times, ids = pops[i].spike_recording_data[0]
                        raster = np.zeros((total, p.size), dtype)
                        raster[np.rint(times).astype(np.int64), ids] = 1
                        spikes[i] = raster
        finally:
            model.unload()
        for out, (i, shape) in net.outputs.items():
            lag = net.populations[i].lag
            series = spikes[i] if i in spikes else bufs[(i, "out")]
            outputs[out][b] = series[lag : lag + steps].reshape(steps, *shape)
        for node, i in net.neurons.items() if record else ():
            lag = net.populations[i].lag
            for v in states[node]:
                states[node][v][b] = bufs[(i, v)][lag : lag + steps].reshape(steps, *net.shapes[node])
    return outputs, states
