"""The ``"sinabs"`` backend: NIR graphs run as Sinabs modules (see ``_from_nir`` for the mapping)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
from nirverse import Backend, Plan, RunOutput, Semantics
from nirverse.backends import make_from_nir
from nirverse.levels import ADAPTED, EMULATED, NATIVE, NodeLevel
from nirverse.validation import NODE_TYPES

from ._mapping import LAYERS, neuron_map

__all__ = ["SinabsBackend", "from_nir"]

NEURONS = frozenset(LAYERS)
#: stateless nodes done by a torch layer of a Sinabs network (as sinabs.nir.from_nir maps them)
_TORCH = {"Affine": "torch.nn.Linear", "Linear": "torch.nn.Linear", "Conv1d": "torch.nn.Conv1d",
          "Conv2d": "torch.nn.Conv2d", "AvgPool2d": "torch.nn.AvgPool2d", "Flatten": "torch.nn.Flatten",
          "SumPool2d": "sinabs.layers.SumPool2d"}


class SinabsBackend(Backend):
    """Every NIR node type, both methods, resets and latencies, float64 and float32."""

    name = "sinabs"
    framework = "sinabs"
    module = "sinabs"
    install_hint = "pip install 'nirverse[sinabs]' (sinabs>=3 pins nir<=1.0.4: the resolver picks sinabs 2.0.3)"
    node_types = NODE_TYPES
    exports = True

    def check_support(self, plan: Plan, semantics: Semantics, dtype: str) -> None:
        super().check_support(plan, semantics, dtype)
        for name in plan.order:
            if plan.types[name] in NEURONS:
                neuron_map(plan, name, dtype)  # its refusals (Cuba nodes with r = 0 or α_syn = 0)

    def build(self, plan: Plan, dtype: str) -> Any:
        from ._from_nir import TORCH_DTYPES, build_node
        from ._model import SinabsGraph

        nodes = {name: build_node(plan, name, dtype) for name in plan.order}
        return SinabsGraph(plan, nodes, TORCH_DTYPES[dtype])

    def run(self, model: Any, inputs: Mapping[str, np.ndarray], record: bool) -> RunOutput:
        import torch

        data = {n: torch.as_tensor(np.ascontiguousarray(x)) for n, x in inputs.items()}
        with torch.no_grad():
            outputs, states = model(data, record=record)

        def back(t: torch.Tensor) -> np.ndarray:
            return t.detach().cpu().numpy()

        return RunOutput(
            outputs={n: back(v) for n, v in outputs.items()},
            states={n: {k: back(v) for k, v in s.items()} for n, s in states.items()},
        )

    def perturb(self, construct: str) -> AbstractContextManager[None]:
        """Sinabs layers keep their state in buffers (``v_mem``, ``i_syn``) that ``forward`` sets in place and
        the core's perturbation of the returned spikes does not reach (inside a cycle the membrane is read
        from ``v_mem``, and the spikes may pass a Threshold that absorbs the shift): shift those too."""
        from nirverse.testing.mutation import resolve

        _, _, obj = resolve(construct)
        if isinstance(obj, type) and any(k.__name__ == "StatefulLayer" for k in obj.__mro__):
            return _perturbed_layer(obj)
        return super().perturb(construct)

    def to_nir(self, model: Any, semantics: Semantics) -> Any:
        from ._to_nir import to_nir

        return to_nir(model, semantics)

    def node_level(self, plan: Plan, name: str, dtype: str) -> NodeLevel:
        kind = plan.types[name]
        if kind in NEURONS:
            m = neuron_map(plan, name, dtype)
            construct = f"sinabs.layers.{m.layer}"
            extra = m.transformations()
            if not extra:
                return NodeLevel(name, kind, NATIVE, construct,
                                 "Sinabs' layer does the whole update (train_alphas: α = 1 − κ(τ); SingleSpike with "
                                 "θ' = nextafter(θ): strict v > θ)")
            return NodeLevel(name, kind, ADAPTED, construct, "Sinabs' layer does the update; the plugin adds: " + "; ".join(extra))
        if kind == "Threshold":
            return NodeLevel(name, kind, NATIVE, "sinabs.activation.SingleSpike",
                             "Sinabs' SingleSpike with θ' = nextafter(θ, +∞): 1[x > θ]")
        if kind in _TORCH:
            p = plan.params[name]
            padded = (kind in ("SumPool2d", "AvgPool2d") and any(p["padding"])) or (
                kind.startswith("Conv") and any(lo != hi for lo, hi in p["pads"]))
            return NodeLevel(name, kind, ADAPTED if padded else NATIVE, _TORCH[kind],
                             "Sinabs networks use torch layers for weights, pooling and reshaping"
                             + ("; the padding is a torch.nn.ZeroPad before it" if padded else ""))
        what = {"Scale": "s ⊙ x", "Delay": "a shift by round(delay/Δt) steps"}[kind]
        return NodeLevel(name, kind, EMULATED, "torch.nn.Module", f"Sinabs has no {kind} layer: a plugin-written module computes {what}")


@contextlib.contextmanager
def _perturbed_layer(cls: type, amount: float = 1e-3) -> Iterator[None]:
    """Within the block, every call of ``cls.forward`` returns, and leaves its state buffers (``v_mem``,
    ``i_syn``) and ``recordings``, off by ``amount``."""
    from nirverse.testing.mutation import shift

    original = cls.__dict__.get("forward")
    inherited = cls.forward

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        out = shift(inherited(self, *args, **kwargs), amount)
        for name in ("v_mem", "i_syn"):
            if getattr(self, name, None) is not None:
                setattr(self, name, shift(getattr(self, name), amount))
        self.recordings = shift(getattr(self, "recordings", {}), amount)
        return out

    cls.forward = forward
    try:
        yield
    finally:
        if original is None:
            del cls.forward
        else:
            cls.forward = original


from_nir = make_from_nir(SinabsBackend, doc="""The :class:`~nirverse_sinabs.SinabsGraph` (a ``torch.nn.Module`` of Sinabs layers) for ``graph`` under
    ``semantics``; raises ``Unsupported*Error`` for what Sinabs cannot execute identically.""")
