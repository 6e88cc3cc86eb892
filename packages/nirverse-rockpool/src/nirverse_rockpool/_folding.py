"""Folding an I/LI node's input terms into the ``LinearTorch`` before it (torch-free).

Shared by the mapping (:mod:`._from_nir`) and the labels (:mod:`._levels`), which therefore do not import
each other both ways.
"""

from __future__ import annotations

import numpy as np
from nirverse import Plan

__all__ = ["folded_into", "folded_target", "input_terms"]


def input_terms(plan: Plan, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(scale, offset)`` of the input ``scale ⊙ x + offset`` of an I (Δt r, 0) or LI (κ r / d, κ v_leak / d)
    node's ``ExpSynTorch`` (d = 1 − κ: Rockpool decays the input with the state), float64, flat."""
    p, sem = plan.params[name], plan.semantics
    if plan.types[name] == "I":
        return (sem.dt * p["r"]).reshape(-1), np.zeros(p["r"].size)
    kappa = sem.kappa(p["tau"])
    d = 1.0 - kappa if sem.method == "euler" else np.exp(-sem.dt / p["tau"])
    return (kappa * p["r"] / d).reshape(-1), (kappa * p["v_leak"] / d).reshape(-1)


def folded_into(plan: Plan, name: str) -> str | None:
    """The Affine/Linear node whose ``LinearTorch`` absorbs the input terms of I/LI node ``name``: the node's
    only input, with the node its only consumer; no zero scale (the export divides it out) and, for a
    non-zero offset, an Affine. Then ``s ⊙ (W x + b) + c = (s ⊙ W) x + (s ⊙ b + c)``."""
    if plan.types[name] not in ("I", "LI") or len(plan.incoming[name]) != 1:
        return None
    source = plan.incoming[name][0].source
    if plan.types[source] not in ("Affine", "Linear") or sum(e.source == source for e in plan.edges) != 1:
        return None
    scale, offset = input_terms(plan, name)
    if plan.out_shapes[source] != (scale.size,) or np.any(scale == 0) or not np.all(np.isfinite(scale)):
        return None
    if np.any(offset != 0) and plan.types[source] != "Affine":
        return None
    return source


def folded_target(plan: Plan, name: str) -> str | None:
    """For an Affine/Linear node: the I/LI node whose input terms it absorbs (see :func:`folded_into`)."""
    targets = [e.target for e in plan.edges if e.source == name]
    return targets[0] if len(targets) == 1 and folded_into(plan, targets[0]) == name else None
