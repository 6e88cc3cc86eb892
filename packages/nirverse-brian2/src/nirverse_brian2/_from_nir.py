r"""NIR -> Brian2: every node of a :class:`nirverse.Plan` becomes Brian2 objects of one ``Network``.

Derived from Brian2 2.9's code (``brian2/stateupdaters/explicit.py`` ``euler``: ``x_new = x + dt*f(x,t)``;
``brian2/stateupdaters/exact.py`` ``LinearStateUpdater``: the exact solution of a linear ODE whose
non-integrated variables are held constant over the step; ``brian2/groups/neurongroup.py``
``Thresholder`` / ``Resetter``; ``brian2/synapses/synapses.py`` ``SummedVariableUpdater``: a
``bincount`` of the per-synapse values into the target variable, scheduled ``when="groups"``).

Per node (``x`` = the node's summed input :math:`x_t = \sum_e \mathrm{in}_e`, one input variable
``in<e>`` per incoming edge -- a summed-variable target, or a linked variable for one-to-one edges;
``B`` = batch, groups hold ``B`` copies of the node's neurons):

+------------------+-----------------------------------------------------------------+--------------------------------+
| NIR node / field | Brian2 construct                                                | formula (Brian2 -> NIR)        |
+==================+=================================================================+================================+
| Input            | ``NeuronGroup``, ``run_regularly("y = stim(t, i)")``,           | :math:`y_t` = input[t]         |
|                  | ``stim`` a ``TimedArray`` (dt = semantics dt)                   |                                |
+------------------+-----------------------------------------------------------------+--------------------------------+
| Affine W, b      | ``Synapses`` ``in_post = w*y_pre (summed)``, ``w = W[o, i]``;   | :math:`y = Wx + b`             |
|                  | target ``y = in0 + ... + b``                                    |                                |
+------------------+-----------------------------------------------------------------+--------------------------------+
| Linear W         | same without ``b``                                              | :math:`y = Wx`                 |
+------------------+-----------------------------------------------------------------+--------------------------------+
| Scale s          | one-to-one ``Synapses``, ``w = s``                              | :math:`y = s\odot x`           |
+------------------+-----------------------------------------------------------------+--------------------------------+
| Conv1d/2d        | sparse ``Synapses`` (``_connectivity.conv``), ``b`` per channel | PyTorch cross-correlation      |
+------------------+-----------------------------------------------------------------+--------------------------------+
| SumPool2d        | sparse ``Synapses``, unit weights                               | window sum                     |
+------------------+-----------------------------------------------------------------+--------------------------------+
| AvgPool2d        | as SumPool2d, target ``y = (in0 + ...)/kk``, ``kk = k_h k_w``   | window mean (padding counted)  |
+------------------+-----------------------------------------------------------------+--------------------------------+
| Flatten, Output  | the source's variable itself (one edge), else ``y = in0 + ...`` | :math:`y = x`                  |
+------------------+-----------------------------------------------------------------+--------------------------------+
| one-to-one edges | ``in<e> : 1 (linked)``, ``linked_var(source, var)`` (no code)   | (row-major index kept)         |
+------------------+-----------------------------------------------------------------+--------------------------------+
| Threshold θ      | ``y = int(x > theta)``, ``theta = θ``                           | :math:`y = 1[x > θ]`           |
+------------------+-----------------------------------------------------------------+--------------------------------+
| Delay (k steps)  | shift register ``h0..hK`` in ``run_regularly``;                 | :math:`y_t = x_{t-k}`          |
|                  | ``y = sum_j h_j*(k == j)``                                      |                                |
+------------------+-----------------------------------------------------------------+--------------------------------+
| I r              | ``dv/dt = r*x``, ``method="euler"``                             | :math:`v + \Delta t\,r x`      |
+------------------+-----------------------------------------------------------------+--------------------------------+
| LI               | ``dv/dt = (v_leak - v + r*x)/tau``; ``method="euler"`` (euler)  | :math:`\kappa = \Delta t/\tau` |
| tau, r, v_leak   | or ``"exact"`` (exp):                                           | or                             |
|                  | :math:`v_\infty + (v - v_\infty)e^{-\Delta t/\tau}`             | :math:`1 - e^{-\Delta t/\tau}` |
+------------------+-----------------------------------------------------------------+--------------------------------+
| IF, LIF          | as I, LI, plus ``threshold="v > v_threshold"``,                 | :math:`z = 1[u > v_{thr}]`     |
| v_threshold,     | ``reset="v = v_reset; z = 1"`` (value) or                       |                                |
| v_reset          | ``"v = v - v_threshold; z = 1"`` (subtract);                    |                                |
|                  | ``z = 0`` at the end                                            |                                |
+------------------+-----------------------------------------------------------------+--------------------------------+
| CubaLI/CubaLIF   | current group ``disyn/dt = (w_in*x - isyn)/tau_syn`` updated    | :math:`i_t` first, then v      |
| tau_syn, w_in    | first, then the membrane group                                  | with the *same step's*         |
|                  | ``dv/dt = (v_leak - v + r*I)/tau_mem`` with ``I`` a             | :math:`i_t`                    |
|                  | ``linked_var`` of ``isyn``                                      |                                |
+------------------+-----------------------------------------------------------------+--------------------------------+

Both integrators hold ``x`` (``I``) constant over the step, which is the semantics' definition, so
``euler`` gives :math:`v + \frac{\Delta t}{\tau}(v_{leak} - v + r x)` and ``exact`` the ``exp``
update; for I/IF (no leak) Euler is exact and serves both methods.

Scheduling: every object runs in the ``"groups"`` slot with ``order = 10 k + stage`` for the k-th node
of ``plan.order`` (stages: summed inputs 0, input 1, current / shift register 2, membrane 3, threshold
4, reset 5), so a step evaluates the nodes in the plan's order and ``"immediate"`` needs no special
case. Monitors record in the ``"end"`` slot (order 0; spiking outputs with a ``SpikeMonitor``), then
the copies for delayed edges run (order 1), then ``z = 0`` (order 2). A
*delayed* edge reads ``<var>_prev``, copied from ``<var>`` in the ``"end"`` slot (zero at t = 0); with
``"one-step"`` latency every edge that leaves a neuron is delayed, which is Brian2's own
event-driven latency (a spike of step t acts on its targets in step t + 1). A delayed edge from a
spiking neuron into a linear node is exactly that: ``Synapses(on_pre="next<e>_post += w")``, its
pathway scheduled right after the source's reset, and ``in<e> = next<e>; next<e> = 0`` in the target's
``"end"`` code; only spikes cost work. A spiking node keeps a ``z`` variable only where some edge reads
it as a value.

Nothing from the graph reaches Brian2's code: group names are ``<token>_n<k>``, variable names are
fixed by this module, and parameters are numeric arrays assigned to the groups.
"""

from __future__ import annotations

import gc
import itertools
import math
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from nirverse import Plan

from . import _connectivity as conn

__all__ = ["Brian2Model", "build_network", "TEMPLATES", "DEFAULT_TARGET", "codegen"]

#: codegen target used unless one is asked for: numpy needs no compiler
DEFAULT_TARGET = "numpy"
TARGETS = ("numpy", "cython")
#: the largest Delay (in steps) expressed as a shift register
MAX_DELAY_STEPS = 4096

#: the differential equations of the neuron templates (``to_nir`` recognises these)
TEMPLATES = {
    "integrate": "dv/dt = r*x : 1",
    "leak": "dv/dt = (v_leak - v + r*x)/tau : 1",
    "current": "disyn/dt = (w_in*x - isyn)/tau_syn : 1",
    "membrane": "dv/dt = (v_leak - v + r*I)/tau_mem : 1",
}
_PARAMS = {
    "I": ("r",),
    "IF": ("r", "v_threshold", "v_reset"),
    "LI": ("tau", "r", "v_leak"),
    "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    "CubaLI": ("tau_mem", "r", "v_leak"),
    "CubaLIF": ("tau_mem", "r", "v_leak", "v_threshold", "v_reset"),
}
_SPIKING = {"IF", "LIF", "CubaLIF"}
_CUBA = {"CubaLI", "CubaLIF"}
_LINEAR = {"Affine", "Linear", "Scale", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d"}
_TOKENS = itertools.count()


@dataclass
class Brian2Model:
    """A Brian2 ``Network`` built from a NIR graph, with its groups and monitors by node name.

    ``network.run(duration, namespace={})`` runs it (``run`` does this for ``steps`` steps);
    ``groups[node]`` is the group holding the node's output (``output_vars[node]``: ``y``, ``z`` or
    ``v``), ``currents[node]`` the synaptic-current group of a Cuba node.
    """

    network: Any
    plan: Plan
    dtype: str
    target: str
    batch: int
    steps: int
    groups: dict[str, Any]
    output_vars: dict[str, str]
    currents: dict[str, Any] = field(default_factory=dict)
    synapses: dict[str, list[Any]] = field(default_factory=dict)
    monitors: dict[str, Any] = field(default_factory=dict)
    state_monitors: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the ``TimedArray`` of each Input node (values: (steps, batch * size)), refilled by :meth:`set_inputs`
    stims: dict[str, Any] = field(default_factory=dict)

    def set_inputs(self, inputs: Mapping[str, np.ndarray]) -> None:
        """New input values for a network of the same batch and steps (written into its ``TimedArray``s)."""
        for name, stim in self.stims.items():
            values = np.asarray(inputs[name], dtype=np.float64).reshape(self.batch, self.steps, -1)
            stim.values[...] = values.transpose(1, 0, 2).reshape(self.steps, -1)

    def run(self) -> None:
        import brian2

        # Network.run calls gc.collect() (only to warn about objects left out of a network); freezing
        # the objects that exist already keeps that collection from walking the whole process.
        gc.freeze()
        try:
            with codegen(self.target, self.dtype):
                self.network.run(self.steps * self.plan.semantics.dt * brian2.second, namespace={})
        except Exception:
            _mark_used(self.network)
            raise
        finally:
            gc.unfreeze()

    def outputs(self) -> dict[str, np.ndarray]:
        """Recorded Output values as (batch, time, *shape)."""
        return {n: self._trace(n, *self.monitors[n]) for n in self.plan.outputs}

    def states(self) -> dict[str, dict[str, np.ndarray]]:
        return {n: {k: self._trace(n, mon, var) for k, (mon, var) in d.items()} for n, d in self.state_monitors.items()}

    def _trace(self, name: str, monitor: Any, var: str) -> np.ndarray:
        shape = self.plan.out_shapes[name]
        if var == "z":  # SpikeMonitor: (neuron, step) of every spike
            data = np.zeros((len(monitor.source), self.steps))
            steps = np.round(np.asarray(monitor.t_) / self.plan.semantics.dt).astype(np.int64)
            data[np.asarray(monitor.i, dtype=np.int64), steps] = 1.0
        else:
            data = np.asarray(getattr(monitor, var), dtype=np.float64)[:, : self.steps]
        data = data.reshape(self.batch, math.prod(shape), self.steps).transpose(0, 2, 1)
        return np.ascontiguousarray(data.reshape(self.batch, self.steps, *shape)).astype(self.dtype)


def _mark_used(network: Any) -> None:
    """Silence Brian2's "never included in a network" warnings for a network whose run failed."""
    for obj in network.objects:
        for o in [obj, *getattr(obj, "contained_objects", [])]:
            if getattr(o, "_network", None) is None:
                o._network = network.id


@contextmanager
def codegen(target: str, dtype: str) -> Iterator[None]:
    """Brian2's global preferences for code generation target and float type, restored afterwards."""
    from brian2 import prefs

    old = (prefs.codegen.target, prefs.core.default_float_dtype)
    prefs.codegen.target = target
    prefs.core.default_float_dtype = np.dtype(dtype).type
    try:
        with warnings.catch_warnings():
            # Brian2 checks assigned values with `abs(v) > 1e50`, which overflows a float32 cast
            warnings.filterwarnings("ignore", "overflow encountered in cast", RuntimeWarning)
            yield
    finally:
        prefs.codegen.target, prefs.core.default_float_dtype = old


def _unit(kind: str, param: str) -> str:
    """Brian2 unit of a neuron parameter: time constants in seconds, I/IF's ``r`` in hertz (dv/dt = r x)."""
    if param.startswith("tau"):
        return "second"
    return "hertz" if kind in ("I", "IF") and param == "r" else "1"


def _sum(n_edges: int) -> str:
    return " + ".join(f"in{j}" for j in range(n_edges)) or "0"


def _inputs_eqs(n_edges: int, linked: bool = True) -> str:
    """Edge inputs ``in<j>`` (linked variables for one-to-one edges, else summed targets) and ``x``."""
    flag = " (linked)" if linked else ""
    return "".join(f"in{j} : 1{flag}\n" for j in range(n_edges)) + f"x = {_sum(n_edges)} : 1\n"


class _Builder:
    def __init__(self, plan: Plan, dtype: str, target: str, inputs: Mapping[str, np.ndarray], record: bool):
        import brian2

        self.b2 = brian2
        self.plan = plan
        self.dtype = dtype
        self.target = target
        self.record = record
        first = next(iter(inputs.values()))
        self.batch, self.steps = int(first.shape[0]), int(first.shape[1])
        self.inputs = inputs
        self.token = f"nirverse{next(_TOKENS)}"
        self.clock = brian2.Clock(dt=plan.semantics.dt * brian2.second, name=self.token + "_clock")
        self.objects: list[Any] = []
        self.groups: dict[str, Any] = {}
        self.in_groups: dict[str, Any] = {}
        self.currents: dict[str, Any] = {}
        self.synapses: dict[str, list[Any]] = {}
        self.stims: dict[str, Any] = {}
        self.vars: dict[str, str] = {}
        self.index = {n: k for k, n in enumerate(plan.order)}
        edges = [(n, j, e) for n in plan.order for j, e in enumerate(plan.incoming[n])]
        # a delayed edge from a spiking neuron into a linear node: Brian2's event-driven synapses
        self.events = {
            (n, j) for n, j, e in edges if e.delayed and plan.types[e.source] in _SPIKING and plan.types[n] in _LINEAR
        }
        self.delayed_sources = {e.source for n, j, e in edges if e.delayed and (n, j) not in self.events}
        # spiking nodes whose spikes some edge reads as a variable ``z`` (else spike events suffice)
        self.needs_z = self.delayed_sources | {
            self.resolve(e.source) for n, j, e in edges if (n, j) not in self.events and not self.aliased(n)
        }

    # -- helpers -------------------------------------------------------------------------------
    def size(self, name: str, out: bool = True) -> int:
        return math.prod(self.plan.out_shapes[name] if out else self.plan.in_shapes[name])

    def tile(self, values: np.ndarray) -> np.ndarray:
        return np.tile(np.asarray(values, dtype=np.float64).reshape(-1), self.batch)

    def group(self, k: int, suffix: str, n: int, eqs: str, **kwargs) -> Any:
        g = self.b2.NeuronGroup(
            n * self.batch, eqs, clock=self.clock, name=f"{self.token}_n{k}{suffix}", order=10 * k, **kwargs
        )
        self.objects.append(g)
        return g

    def prev_eqs(self, name: str, var: str) -> str:
        return f"{var}_prev : 1\n" if name in self.delayed_sources else ""

    # -- nodes ---------------------------------------------------------------------------------
    def aliased(self, name: str) -> bool:
        """Output / Flatten / pass-through nodes with one same-step edge read their source's variable."""
        incoming = self.plan.incoming[name]
        if self.plan.types[name] not in ("Output", "Flatten", "Pass") or name in self.delayed_sources:
            return False
        return len(incoming) == 1 and not incoming[0].delayed

    def resolve(self, name: str) -> str:
        while self.aliased(name):
            name = self.plan.incoming[name][0].source
        return name

    def alias(self, name: str) -> bool:
        if not self.aliased(name):
            return False
        incoming = self.plan.incoming[name]
        self.groups[name] = self.groups[incoming[0].source]
        self.vars[name] = self.vars[incoming[0].source]
        return True

    def node(self, k: int, name: str) -> None:
        kind = self.plan.types[name]
        p = self.plan.params[name]
        n_in = len(self.plan.incoming[name])
        if self.alias(name):
            return
        if kind == "Input":
            values = np.asarray(self.inputs[name], dtype=np.float64).reshape(self.batch, self.steps, -1)
            stim = self.b2.TimedArray(
                values.transpose(1, 0, 2).reshape(self.steps, -1), dt=self.clock.dt, name=f"{self.token}_stim{k}"
            )
            g = self.group(k, "", self.size(name), "y : 1\n" + self.prev_eqs(name, "y"), namespace={"stim": stim})
            g.run_regularly("y = stim(t, i)", when="groups", order=10 * k + 1, name=f"{self.token}_n{k}_input")
            self.groups[name] = self.in_groups[name] = g
            self.stims[name] = stim
            self.vars[name] = "y"
        elif kind in _PARAMS:
            self.neuron(k, name, kind, p, n_in)
        elif kind == "Delay":
            self.delay(k, name, p, n_in)
        else:
            self.stateless(k, name, kind, p, n_in)
        var = self.vars[name]
        code = [f"{var}_prev = {var}"] if name in self.delayed_sources else []
        for j in range(n_in):
            if (name, j) in self.events:  # the spikes of this step act in the next one
                code += [f"in{j} = next{j}", f"next{j} = 0"]
        if code:  # after the monitors (order 0) of the "end" slot
            self.groups[name].run_regularly("\n".join(code), when="end", order=1, name=f"{self.token}_n{k}_end")
        if var == "z" and name in self.needs_z:  # spikes are 1 in their step only; cleared after every copy
            # (order 2): a Threshold's y_prev reads this z through a linked variable (fuzz finding, issue 20)
            self.groups[name].run_regularly("z = 0", when="end", order=2, name=f"{self.token}_n{k}_zero")

    def stateless(self, k: int, name: str, kind: str, p: Mapping[str, Any], n_in: int) -> None:
        flag = "" if kind in _LINEAR else " (linked)"
        ins = "".join(f"in{j} : 1{flag}\n" for j in range(n_in))
        ins += "".join(f"next{j} : 1\n" for j in range(n_in) if (name, j) in self.events)
        total = _sum(n_in)
        extra = ""
        if kind in ("Affine", "Conv1d", "Conv2d"):
            y, extra = f"y = {total} + b : 1\n", "b : 1 (constant)\n"
        elif kind == "AvgPool2d":
            y, extra = f"y = ({total})/kk : 1\n", "kk : 1 (constant)\n"
        elif kind == "Threshold":
            y, extra = f"y = int({total} > theta) : 1\n", "theta : 1 (constant)\n"
        else:  # Linear, Scale, SumPool2d, Flatten, Output, Pass
            y = f"y = {total} : 1\n"
        g = self.group(k, "", self.size(name), ins + y + extra + self.prev_eqs(name, "y"))
        if kind == "Affine":
            g.b = self.tile(p["bias"])
        elif kind in ("Conv1d", "Conv2d"):
            spatial = math.prod(self.plan.out_shapes[name][1:])
            g.b = self.tile(np.repeat(p["bias"], spatial))
        elif kind == "AvgPool2d":
            g.kk = float(p["kernel_size"][0] * p["kernel_size"][1])
        elif kind == "Threshold":
            g.theta = self.tile(p["threshold"])
        self.groups[name] = self.in_groups[name] = g
        self.vars[name] = "y"

    def delay(self, k: int, name: str, p: Mapping[str, Any], n_in: int) -> None:
        steps = np.asarray(p["steps"], dtype=np.int64)
        depth = int(steps.max(initial=0))  # at most MAX_DELAY_STEPS (Brian2Backend.check_support)
        hist = "".join(f"h{j} : 1\n" for j in range(depth + 1))
        eqs = _inputs_eqs(n_in) + hist + "y : 1\nk : integer (constant)\n" + self.prev_eqs(name, "y")
        g = self.group(k, "", self.size(name), eqs)
        g.k = np.tile(steps.reshape(-1), self.batch)
        shift = [f"h{j} = h{j - 1}" for j in range(depth, 0, -1)] + ["h0 = x"]
        uniform = np.unique(steps)
        if uniform.size == 1:
            select = f"y = h{int(uniform[0])}"
        else:
            select = "y = " + " + ".join(f"h{j}*int(k == {j})" for j in range(depth + 1))
        g.run_regularly("\n".join(shift + [select]), when="groups", order=10 * k + 2, name=f"{self.token}_n{k}_shift")
        self.groups[name] = self.in_groups[name] = g
        self.vars[name] = "y"

    def neuron(self, k: int, name: str, kind: str, p: Mapping[str, Any], n_in: int) -> None:
        method = "euler" if kind in ("I", "IF") or self.plan.semantics.method == "euler" else "exact"
        spiking = kind in _SPIKING
        out = "z" if spiking else "v"
        params = _PARAMS[kind]
        decl = "".join(f"{q} : {_unit(kind, q)} (constant)\n" for q in params)
        if kind in _CUBA:
            cur = self.group(
                k, "_current", self.size(name),
                TEMPLATES["current"] + "\n" + _inputs_eqs(n_in) + "w_in : 1 (constant)\ntau_syn : second (constant)\n",
                method=method,
            )
            cur.w_in = self.tile(p["w_in"])
            cur.tau_syn = self.tile(p["tau_syn"]) * self.b2.second
            cur.state_updater.order = 10 * k + 2
            body = TEMPLATES["membrane"] + "\nI : 1 (linked)\n"
            self.currents[name] = self.in_groups[name] = cur
        else:
            body = TEMPLATES["integrate" if kind in ("I", "IF") else "leak"] + "\n" + _inputs_eqs(n_in)
        spike_var = spiking and name in self.needs_z
        eqs = body + decl + ("z : 1\n" if spike_var else "") + self.prev_eqs(name, out)
        kwargs: dict[str, Any] = {"method": method}
        if spiking:
            reset = "v = v - v_threshold" if self.plan.semantics.reset == "subtract" else "v = v_reset"
            kwargs.update(threshold="v > v_threshold", reset=reset + ("\nz = 1" if spike_var else ""))
        g = self.group(k, "", self.size(name), eqs, **kwargs)
        if kind in _CUBA:
            g.I = self.b2.linked_var(self.currents[name], "isyn")
        else:
            self.in_groups[name] = g
        for q in params:
            unit = _unit(kind, q)
            setattr(g, q, self.tile(p[q]) * (1 if unit == "1" else getattr(self.b2, unit)))
        if "v_leak" in params:
            g.v = self.tile(p["v_leak"])
        g.state_updater.order = 10 * k + 3
        if spiking:
            g.thresholder["spike"].when = "groups"
            g.thresholder["spike"].order = 10 * k + 4
            g.resetter["spike"].when = "groups"
            g.resetter["spike"].order = 10 * k + 5
        self.groups[name] = g
        self.vars[name] = out

    # -- edges ---------------------------------------------------------------------------------
    def connectivity(self, name: str):
        kind, p = self.plan.types[name], self.plan.params[name]
        if kind in ("Affine", "Linear"):
            return conn.dense(p["weight"])
        if kind == "Scale":
            return conn.one_to_one(self.size(name), p["scale"])
        if kind in ("Conv1d", "Conv2d"):
            return conn.conv(
                p["weight"], p["groups"], p["stride"], p["dilation"], p["pads"],
                self.plan.in_shapes[name], self.plan.out_shapes[name],
            )
        if kind in ("SumPool2d", "AvgPool2d"):
            return conn.pool(p["kernel_size"], p["stride"], p["padding"], self.plan.in_shapes[name], self.plan.out_shapes[name])
        return None  # one-to-one, unit weight

    def edges(self, k: int, name: str) -> None:
        target = self.in_groups[name]
        synapses = self.connectivity(name)
        for j, edge in enumerate(self.plan.incoming[name]):
            source = self.groups[edge.source]
            var = self.vars[edge.source] + ("_prev" if edge.delayed else "")
            if synapses is None:  # one-to-one, unit weight: a linked variable, no code at all
                setattr(target, f"in{j}", self.b2.linked_var(source, var))
                continue
            pre, post, w = synapses
            if pre.size == 0:  # an all-zero weight: in<j> stays 0
                continue
            pre, post, w = conn.replicate(pre, post, w, self.size(edge.source), self.size(name), self.batch)
            event = (name, j) in self.events
            syn = self.b2.Synapses(
                source, target, "w : 1 (constant)" if event else f"w : 1 (constant)\nin{j}_post = w * {var}_pre : 1 (summed)",
                on_pre=f"next{j}_post += w" if event else None, clock=self.clock, name=f"{self.token}_n{k}_e{j}",
            )
            syn.connect(i=pre, j=post)
            syn.w = w
            if event:  # right after the source's reset, in the step of the spikes
                syn.pre.when, syn.pre.order = "groups", 10 * self.index[edge.source] + 6
            else:
                syn.summed_updaters[f"in{j}_post"].order = 10 * k
            self.objects.append(syn)
            self.synapses.setdefault(name, []).append(syn)

    def monitors(self, model: Brian2Model) -> None:
        for k, name in enumerate(self.plan.outputs):
            if self.vars[name] == "z":  # a spiking node's output: Brian2's own spike record
                mon = self.b2.SpikeMonitor(self.groups[name], record=True, name=f"{self.token}_out{k}")
            else:
                mon = self.b2.StateMonitor(
                    self.groups[name], self.vars[name], record=True, when="end", order=0, clock=self.clock,
                    name=f"{self.token}_out{k}",
                )
            self.objects.append(mon)
            model.monitors[name] = (mon, self.vars[name])
        if not self.record:
            return
        for k, name in enumerate(self.plan.order):
            if self.plan.types[name] not in _PARAMS:
                continue
            mon = self.b2.StateMonitor(
                self.groups[name], "v", record=True, when="end", order=0, clock=self.clock, name=f"{self.token}_v{k}"
            )
            self.objects.append(mon)
            model.state_monitors[name] = {"v": (mon, "v")}
            if name in self.currents:
                mon_i = self.b2.StateMonitor(
                    self.currents[name], "isyn", record=True, when="end", order=0, clock=self.clock,
                    name=f"{self.token}_i{k}",
                )
                self.objects.append(mon_i)
                model.state_monitors[name]["i"] = (mon_i, "isyn")

    def build(self) -> Brian2Model:
        with codegen(self.target, self.dtype):
            for k, name in enumerate(self.plan.order):
                self.node(k, name)
            for k, name in enumerate(self.plan.order):
                if name in self.in_groups and self.plan.types[name] != "Input":
                    self.edges(k, name)
            model = Brian2Model(
                network=None, plan=self.plan, dtype=self.dtype, target=self.target, batch=self.batch,
                steps=self.steps, groups=self.groups, output_vars=self.vars, currents=self.currents,
                synapses=self.synapses, stims=self.stims,
            )
            self.monitors(model)
            model.network = self.b2.Network(*self.objects, name=self.token + "_network")
        _mark_used(model.network)  # every object is in the network, run or not
        return model


def build_network(
    plan: Plan, inputs: Mapping[str, np.ndarray], *, dtype: str = "float64", target: str = DEFAULT_TARGET,
    record: bool = False,
) -> Brian2Model:
    """The Brian2 network of ``plan`` fed with ``inputs`` ({Input: (batch, time, *shape)})."""
    return _Builder(plan, dtype, target, inputs, record).build()
