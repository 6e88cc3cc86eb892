"""How much of a node's dynamics the framework computes itself: native, adapted, emulated or refused.

Every backend labels every node it builds (see :meth:`nirverse.Backend.node_level`):

* **native** — the framework's own model class or template does the whole update; the plugin only maps
  parameters (e.g. ``norse.torch.LIFBoxCell`` with τ⁻¹ = κ/dt);
* **adapted** — the framework's own model does the update, with plugin-written transformations around it:
  input scaling, correction terms, a replaced spike function, rescaled state;
* **emulated** — the update is plugin-written code run inside the framework's extension mechanism (a custom
  Nengo ``NeuronType``, a replaced ``forward``, custom GeNN model code, plain torch/jax functions);
* **refused** — the backend cannot execute the node identically and says why.

``construct`` is an importable dotted name (``package.module.Class`` or ``package.module.Class.method``):
for native and adapted nodes the framework construct that does the update; for emulated nodes the
extension mechanism that hosts the plugin's code. The conformance kit checks the labels by mutation
(:mod:`nirverse.testing.mutation`): perturbing a native/adapted construct must change the result,
perturbing the framework's own models must not change an emulated one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["NATIVE", "ADAPTED", "EMULATED", "REFUSED", "LEVELS", "NodeLevel", "at_least"]

NATIVE = "native"
ADAPTED = "adapted"
EMULATED = "emulated"
REFUSED = "refused"
#: the levels a node can run at, best first (``refused`` is below all of them)
LEVELS = (NATIVE, ADAPTED, EMULATED)


@dataclass(frozen=True)
class NodeLevel:
    """One node of a plan on one backend: its level, the framework construct and why."""

    node: str
    type: str
    level: str
    construct: str
    reason: str

    def __post_init__(self) -> None:
        if self.level not in LEVELS + (REFUSED,):
            raise ValueError(f"unknown level {self.level!r}; expected one of {LEVELS + (REFUSED,)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def at_least(level: str, required: str) -> bool:
    """Whether ``level`` is ``required`` or better (native > adapted > emulated > refused)."""
    if required not in LEVELS:
        raise ValueError(f"unknown level {required!r}; expected one of {LEVELS}")
    return level in LEVELS and LEVELS.index(level) <= LEVELS.index(required)
