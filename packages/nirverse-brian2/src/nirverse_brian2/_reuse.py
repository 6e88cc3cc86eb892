"""Built Brian2 networks reused across runs of the same graph, semantics, dtype, target, batch and steps.

Building a Brian2 network (groups, synapses and their connectivity, monitors) costs more than running a
small one. :func:`network_for` keeps the last :data:`CAPACITY` built networks keyed by a hash of their
structure and parameters; a hit gets the new inputs written into its ``TimedArray``s and is restored to
the state stored right after it was built (t = 0, every variable at rest, monitors empty).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
from nirverse import Plan

from ._from_nir import Brian2Model, build_network

__all__ = ["network_for", "structure_key", "forget", "clear", "CAPACITY"]

CAPACITY = 4
_INITIAL = "nirverse_initial"
_NETWORKS: OrderedDict[str, Brian2Model] = OrderedDict()


def structure_key(plan: Plan, dtype: str, target: str, batch: int, steps: int, record: bool) -> str:
    """sha256 of everything a built network depends on except the input values."""
    import brian2

    h = hashlib.sha256()
    desc = {"brian2": brian2.__version__, "dtype": dtype, "target": target, "batch": batch, "steps": steps,
            "record": record, "semantics": repr(plan.semantics), "order": list(plan.order),
            "types": [plan.types[n] for n in plan.order], "edges": [(e.source, e.target, e.delayed) for e in plan.edges],
            "shapes": [(plan.in_shapes[n], plan.out_shapes[n]) for n in plan.order]}
    h.update(json.dumps(desc, sort_keys=True, default=str).encode())
    for n in plan.order:
        for field, value in sorted(plan.params[n].items()):
            arr = np.asarray(value)
            h.update(f"{n}.{field}:{arr.dtype}:{arr.shape}".encode())
            h.update(arr.tobytes() if arr.dtype != object else repr(value).encode())
    return h.hexdigest()


def network_for(plan: Plan, inputs: Mapping[str, np.ndarray], dtype: str, target: str, record: bool) -> Brian2Model:
    """A network ready to run on ``inputs``: a cached one restored to rest, else a new one (then cached)."""
    batch, steps = next(iter(inputs.values())).shape[:2]
    key = structure_key(plan, dtype, target, int(batch), int(steps), record)
    model = _NETWORKS.pop(key, None)
    if model is None:
        model = build_network(plan, inputs, dtype=dtype, target=target, record=record)
        model.network.store(_INITIAL)
    else:
        model.network.restore(_INITIAL)
        model.set_inputs(inputs)
    _NETWORKS[key] = model
    while len(_NETWORKS) > CAPACITY:
        _NETWORKS.popitem(last=False)
    return model


def forget(model: Brian2Model) -> None:
    """Drop ``model`` from the cache (after a failed run its state is unknown)."""
    for key, cached in list(_NETWORKS.items()):
        if cached is model:
            del _NETWORKS[key]


def clear() -> None:
    _NETWORKS.clear()
