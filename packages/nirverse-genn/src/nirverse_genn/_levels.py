"""How each NIR node runs in GeNN (see :mod:`nirverse.levels`); pygenn is not imported.

Every neuron node (and Threshold) is a population of a plugin-written custom neuron model
(``pygenn.create_neuron_model``, code in :mod:`._nodes`): emulated. GeNN's built-in ``LIF`` integrates with
``exp(-dt/τ)`` and a capacitance, spikes on ``V >= θ`` and has a refractory clock, which is neither
discretisation of the semantics. A chain of linear nodes is one synapse population: GeNN's built-in
``StaticPulse`` with ``DeltaCurr`` when every source of the chain spikes (native), the plugin's graded
weight-update model (``addToPost(g * x)`` every step) when some source is continuous (emulated).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from nirverse import Plan
from nirverse.levels import EMULATED, NATIVE, NodeLevel
from nirverse.lowering import LINEAR_TYPES
from nirverse.validation import NEURON_TYPES

from ._from_nir import SPIKING_SOURCES

__all__ = ["node_level", "perturbed_builtin", "BUILTIN_LIF"]

CUSTOM_NEURON, CUSTOM_SYNAPSE = "pygenn.create_neuron_model", "pygenn.create_weight_update_model"
STATIC_PULSE = "pygenn.weight_update_models.StaticPulse"


def _sources(plan: Plan, name: str) -> set[str]:
    """The node types of the populations feeding the linear chain through ``name``."""
    found, stack, seen = set(), [name], set()
    while stack:
        node = stack.pop()
        for edge in plan.incoming[node]:
            if edge.source in seen:
                continue
            seen.add(edge.source)
            kind = plan.types[edge.source]
            if kind in LINEAR_TYPES:
                stack.append(edge.source)
            else:
                found.add(kind)
    return found


def node_level(plan: Plan, name: str, dtype: str) -> NodeLevel:
    kind = plan.types[name]
    if kind in NEURON_TYPES:
        return NodeLevel(name, kind, EMULATED, CUSTOM_NEURON,
                         "plugin-written custom neuron model (GeNN's LIF uses exp(-dt/tau), V >= theta and a "
                         "refractory clock)")
    if kind == "Threshold":
        return NodeLevel(name, kind, EMULATED, CUSTOM_NEURON, "plugin-written custom neuron model x > theta")
    if _sources(plan, name) <= SPIKING_SOURCES:
        return NodeLevel(name, kind, NATIVE, STATIC_PULSE,
                         "folded into a synapse population: GeNN's StaticPulse and DeltaCurr, weights the chain's matrix")
    return NodeLevel(name, kind, EMULATED, CUSTOM_SYNAPSE,
                     "folded into a synapse population with the plugin's graded model addToPost(g * x)")


#: GeNN's own LIF, which the kit perturbs around the (emulated) neuron nodes
BUILTIN_LIF = "pygenn.neuron_models.LIF"


@contextlib.contextmanager
def perturbed_builtin(construct: str, amount: float = 1e-3) -> Iterator[None]:
    """Within the block, every population of GeNN's built-in neuron model ``construct`` (e.g.
    ``pygenn.neuron_models.LIF``) gets a ``DC`` current source of ``amount``: GeNN's models are C++ code
    snippets, so the perturbation is an extra input to every population that uses the model."""
    import pygenn

    builtin = construct.rsplit(".", 1)[1]
    original = pygenn.GeNNModel.add_neuron_population

    def add_neuron_population(self, pop_name, num_neurons, neuron, *args, **kwargs):
        pop = original(self, pop_name, num_neurons, neuron, *args, **kwargs)
        if neuron == builtin:
            self.add_current_source(f"{pop_name}_perturbed", "DC", pop, {"amp": amount})
        return pop

    pygenn.GeNNModel.add_neuron_population = add_neuron_population
    try:
        yield
    finally:
        pygenn.GeNNModel.add_neuron_population = original
