"""The ``"nengo"`` backend: NIR graph -> :class:`~nirverse_nengo._from_nir.NIRNetwork` -> ``nengo.Simulator``.

Nengo has no batch axis: each sample of a batch runs after ``Simulator.reset()`` (which restores
every signal, neuron state included, to its initial value). float32 runs build the simulator under
Nengo's own switch ``nengo.rc["precision"]["bits"] = 32`` (every signal is then float32).
Nengo imports only inside methods, so the registry can load this module without it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from nirverse.backends import Backend, RunOutput
from nirverse.graph import Plan
from nirverse.semantics import Semantics

__all__ = ["NengoBackend", "NengoModel"]

#: Nengo state name -> nirverse state name
_STATE_KEYS = {"voltage": "v", "current": "i"}


@dataclass
class NengoModel:
    """What :meth:`NengoBackend.build` returns: the network and its simulators (one per record flag)."""

    network: Any
    dtype: str
    simulators: dict[bool, Any] = field(default_factory=dict)

    def simulator(self, record: bool) -> Any:
        if record not in self.simulators:
            if record:
                self.network.probe_states()
            self.simulators[record] = _simulator(self.network, self.dtype)
        return self.simulators[record]


def _simulator(network: Any, dtype: str) -> Any:
    import nengo

    bits = nengo.rc.get("precision", "bits")
    nengo.rc.set("precision", "bits", "32" if dtype == "float32" else "64")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Nengo's notes on gain/bias-given ensembles
            return nengo.Simulator(network, dt=network.plan.semantics.dt, progress_bar=False, seed=0)
    finally:
        nengo.rc.set("precision", "bits", str(bits))


class NengoBackend(Backend):
    """Nengo (PyPI ``nengo``): every NIR node type, both methods, resets and latencies, float64/32."""

    name = "nengo"
    framework = "nengo"
    module = "nengo"
    install_hint = "pip install 'nirverse[nengo]'  (or: pip install nirverse-nengo nengo)"
    exports = True
    framework_models = ("nengo.LIF",)

    def build(self, plan: Plan, dtype: str) -> NengoModel:
        from ._from_nir import NIRNetwork

        model = NengoModel(NIRNetwork(plan, native_lif=dtype == "float64"), dtype)
        model.simulator(False)
        return model

    def run(self, model: NengoModel, inputs: Mapping[str, np.ndarray], record: bool) -> RunOutput:
        net = model.network
        plan = net.plan
        sim = model.simulator(record)
        batch, steps = next(iter(inputs.values())).shape[:2]
        outputs = {n: np.zeros((batch, steps, *plan.out_shapes[n])) for n in plan.outputs}
        states: dict[str, dict[str, np.ndarray]] = {}
        if record:
            for n, probes in net.state_probes.items():
                states[n] = {_STATE_KEYS[k]: np.zeros((batch, steps, *plan.out_shapes[n])) for k in probes}
        for b in range(batch if steps else 0):  # zero steps: nothing to simulate (nengo's probes cannot reshape)
            sim.reset()
            for name, data in inputs.items():
                net.set_input(name, data[b])
            sim.run_steps(steps)
            for n, probe in net.output_probes.items():
                outputs[n][b] = np.asarray(sim.data[probe]).reshape(steps, *plan.out_shapes[n])
            if record:
                for n, probes in net.state_probes.items():
                    for key, probe in probes.items():
                        states[n][_STATE_KEYS[key]][b] = np.asarray(sim.data[probe]).reshape(steps, *plan.out_shapes[n])
        return RunOutput(outputs, states)

    def node_level(self, plan: Plan, name: str, dtype: str) -> Any:
        from ._levels import node_level

        return node_level(plan, name, dtype)

    def perturb(self, construct: str) -> Any:
        """Nengo neuron types write their step's results in place: perturb those arrays (see ``_levels``)."""
        from ._levels import HOST, NATIVE_LIF, perturbed_step

        return perturbed_step(construct) if construct in (NATIVE_LIF, HOST) else super().perturb(construct)

    def to_nir(self, model: Any, semantics: Semantics) -> Any:
        from ._to_nir import to_nir

        network = model.network if isinstance(model, NengoModel) else model
        return to_nir(network, semantics)
