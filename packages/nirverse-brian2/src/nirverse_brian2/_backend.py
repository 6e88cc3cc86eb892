"""The ``"brian2"`` backend: NIR graphs as Brian2 networks (see :mod:`nirverse_brian2._from_nir`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from nirverse import Backend, Plan, RunOutput, Semantics
from nirverse.errors import UnsupportedNodeError, UnsupportedSemanticsError

__all__ = ["Brian2Backend", "Brian2Program"]

#: environment variable choosing Brian2's code generation target ("numpy" or "cython")
TARGET_ENV = "NIRVERSE_BRIAN2_TARGET"


@dataclass(frozen=True)
class Brian2Program:
    """What :meth:`Brian2Backend.build` returns: the Brian2 network depends on the batch (replicated as
    neurons) and the steps, so it is made on the first run of each and reused after (``_reuse``)."""

    plan: Plan
    dtype: str
    target: str


class Brian2Backend(Backend):
    name = "brian2"
    framework = "brian2"
    module = "brian2"
    install_hint = "pip install 'nirverse[brian2]'  (brian2 with numpy<2.4 on Python 3.11)"
    exports = True

    def __init__(self, target: str | None = None) -> None:
        self.target = target

    @property
    def native_code(self) -> bool:  # type: ignore[override]
        """Brian2's compiled targets (cython) run native code that can crash the process; numpy does not."""
        return (self.target or os.environ.get(TARGET_ENV) or "numpy") != "numpy"

    def codegen_target(self) -> str:
        from ._from_nir import DEFAULT_TARGET, TARGETS

        target = self.target or os.environ.get(TARGET_ENV) or DEFAULT_TARGET
        if target not in TARGETS:
            raise UnsupportedSemanticsError(
                f"unknown Brian2 codegen target {target!r}", field=TARGET_ENV, expected=" or ".join(TARGETS)
            )
        return target

    def check_support(self, plan: Plan, semantics: Semantics, dtype: str) -> None:
        from ._from_nir import MAX_DELAY_STEPS

        super().check_support(plan, semantics, dtype)
        self.codegen_target()
        for name in plan.order:
            if plan.types[name] == "Delay" and int(plan.params[name]["steps"].max(initial=0)) > MAX_DELAY_STEPS:
                raise UnsupportedNodeError(
                    f"a delay of {int(plan.params[name]['steps'].max())} steps", node=name, field="delay",
                    expected=f"at most {MAX_DELAY_STEPS} steps (a shift register of that many variables)",
                )

    def build(self, plan: Plan, dtype: str) -> Brian2Program:
        return Brian2Program(plan, dtype, self.codegen_target())

    def run(self, model: Brian2Program, inputs: Mapping[str, np.ndarray], record: bool) -> RunOutput:
        from ._reuse import forget, network_for

        batch, steps = next(iter(inputs.values())).shape[:2]
        if batch == 0 or steps == 0:  # nothing to simulate: Brian2 cannot hold an empty TimedArray
            return _empty(model, batch, steps, record)
        # a network built for the same structure, batch and steps is reused (restored to rest, new inputs)
        net = network_for(model.plan, inputs, model.dtype, model.target, record)
        try:
            net.run()
        except Exception:
            forget(net)
            raise
        return RunOutput(outputs=net.outputs(), states=net.states() if record else {})

    def node_level(self, plan: Plan, name: str, dtype: str) -> Any:
        from ._levels import node_level

        if plan.types[name] == "Delay":
            self.check_support(plan, plan.semantics, dtype)  # refuses too long a delay, naming the node
        return node_level(plan, name, dtype)

    def perturb(self, construct: str) -> Any:
        """Brian2 generates code from its state updaters' output: perturb that output (see ``_levels``)."""
        from ._levels import UPDATERS, perturbed_updater

        return perturbed_updater(construct) if construct in UPDATERS else super().perturb(construct)

    def to_nir(self, model: Any, semantics: Semantics) -> Any:
        from ._from_nir import build_network
        from ._to_nir import to_nir

        if isinstance(model, Brian2Program):  # what build() returns: export the network it runs (one sample)
            plan = model.plan
            probe = {n: np.zeros((1, 1, *plan.out_shapes[n])) for n in plan.inputs}
            model = build_network(plan, probe, dtype=model.dtype, target=model.target, record=False)
        return to_nir(model, semantics)


def _empty(model: Brian2Program, batch: int, steps: int, record: bool) -> RunOutput:
    plan = model.plan

    def zeros(name: str) -> np.ndarray:
        return np.zeros((batch, steps, *plan.out_shapes[name]), model.dtype)

    outputs = {n: zeros(n) for n in plan.outputs}
    states = {}
    if record:
        for n in plan.order:
            if plan.is_neuron(n):
                states[n] = {"v": zeros(n), **({"i": zeros(n)} if plan.types[n].startswith("Cuba") else {})}
    return RunOutput(outputs=outputs, states=states)
