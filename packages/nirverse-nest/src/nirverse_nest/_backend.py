"""The ``"nest"`` backend: NIR graphs as networks of NEST built-in neuron models.

NEST (``nest-simulator`` on PyPI) runs every graph in float64 with resolution 1 ms standing for one step
of the semantics. ``NIRVERSE_NEST_THREADS`` sets ``local_num_threads`` (default 1).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from nirverse.backends import Backend, RunOutput
from nirverse.errors import UnsupportedNodeError
from nirverse.graph import Plan
from nirverse.levels import NodeLevel
from nirverse.semantics import Semantics

__all__ = ["NESTBackend", "INSTALL_HINT"]

INSTALL_HINT = "pip install 'nirverse[nest]' (installs nest-simulator from PyPI; Linux and macOS wheels)"


class NESTBackend(Backend):
    """NEST 3: iaf_psc_delta / iaf_psc_exp populations, spike_generator inputs, static_synapse connections.

    Both methods, both resets (``"subtract"`` through the plugin's NESTML model), both latencies
    (``"immediate"`` by lagged populations, where the graph allows it), float64.
    """

    name = "nest"
    framework = "nest-simulator"
    module = "nest"
    install_hint = INSTALL_HINT
    dtypes = frozenset({"float64"})
    exports = True

    def check(self) -> str | None:
        from importlib.util import find_spec

        if find_spec("nest") is None:
            return f"nest is not installed; {INSTALL_HINT}"
        try:
            from ._model import import_nest

            import_nest()
        except Exception as exc:
            return f"importing nest failed: {type(exc).__name__}: {exc}"
        return None

    def _lower(self, plan: Plan) -> Any:
        from ._lowering import choose
        from ._nestml import nestml_installed

        return choose(plan, nestml_installed())

    def check_support(self, plan: Plan, semantics: Semantics, dtype: str) -> None:
        super().check_support(plan, semantics, dtype)
        from nirverse.errors import UnsupportedSemanticsError

        from ._lowering import lower
        from ._nestml import nestml_reason

        if self._lower(plan).mode == "nestml" and (reason := nestml_reason()) is not None:
            try:
                lower(plan, "builtin")
            except (UnsupportedNodeError, UnsupportedSemanticsError) as builtin:
                raise type(builtin)(f"NEST's built-in models cannot run this graph and the plugin's NESTML model "
                                    f"is unavailable: {reason}", node=builtin.node, field=builtin.field,
                                    expected=builtin.expected) from None

    def build(self, plan: Plan, dtype: str) -> Any:
        from ._model import NESTNetwork

        return NESTNetwork(self._lower(plan), threads=int(os.environ.get("NIRVERSE_NEST_THREADS", "1")))

    def run(self, model: Any, inputs: Mapping[str, np.ndarray], record: bool) -> RunOutput:
        outputs, states = model.run(inputs, record)
        return RunOutput(outputs, states)

    def to_nir(self, model: Any, semantics: Semantics) -> Any:
        """``model`` = (populations {name: NodeCollection}, steps); see :func:`nirverse_nest.to_nir`.

        A :class:`NESTNetwork` (what :meth:`build` returns) is refused with a typed error: it is a lowered
        plan that creates its NEST nodes only inside a run (one kernel per sample), and NEST's export
        describes live populations under NEST's own semantics (exp, one-step, dt = the resolution), which
        is not the semantics the plan was built for."""
        from ._model import NESTNetwork
        from ._to_nir import to_nir

        if isinstance(model, NESTNetwork):
            raise UnsupportedNodeError(
                "NEST exports live NEST populations (nirverse_nest.to_nir(populations, steps)) under "
                "Semantics(resolution, 'exp', 'value', 'one-step'); a built NESTNetwork holds no NEST nodes "
                f"(they exist only during a run) and was built for {semantics}", field="to_nir",
                expected="(populations {name: NodeCollection}, steps) of the current NEST kernel")
        populations, steps = model
        return to_nir(populations, steps)

    def node_level(self, plan: Plan, name: str, dtype: str) -> NodeLevel:
        from nirverse.errors import UnsupportedSemanticsError

        from ._mapping import level_of

        try:
            network = self._lower(plan)
        except (UnsupportedNodeError, UnsupportedSemanticsError) as exc:
            if getattr(exc, "node", None) == name or exc.field == "reset":
                raise UnsupportedNodeError(str(exc), node=name, field=getattr(exc, "field", None)) from exc
            return level_of(plan.types[name], name, plan.semantics, "builtin")
        if name in network.fused:
            from nirverse.levels import EMULATED

            from ._nestml import CONSTRUCT

            return NodeLevel(name, plan.types[name], EMULATED, CONSTRUCT,
                             f"computed inside the NESTML neuron of {network.fused[name]!r}, whose value it thresholds "
                             "(NEST neurons send spikes only, so the value cannot travel to a separate node)")
        return level_of(plan.types[name], name, plan.semantics, network.mode)

    @contextlib.contextmanager
    def perturb(self, construct: str) -> Iterator[None]:
        """NEST's models are C++: ``nest.<neuron model>`` is perturbed by building it with E_L and V_m off by
        1e-3, so its membrane runs 1e-3 above the unperturbed one (E_L alone would leave I/IF unchanged: NEST
        integrates y = V_m - E_L, which a shifted E_L with the same V_m starts at -1e-3, and without leak
        (P33 = 1) y never relaxes, so V_m = y + E_L stays as before; I_e cannot help there, NEST's P30
        rounds to 0 at tau_m = 1e300),
        ``nest.static_synapse`` by adding 1e-3 to every connection's weight."""
        from ._model import PERTURBED

        model = construct.removeprefix("nest.")
        PERTURBED[model] = 1e-3
        try:
            yield
        finally:
            PERTURBED.pop(model, None)
