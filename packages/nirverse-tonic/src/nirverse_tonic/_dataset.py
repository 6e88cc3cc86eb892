"""Dataset adapter: a Tonic dataset (or any sequence of event arrays) -> batches for ``nirverse.run``.

A Tonic dataset is a sequence whose items are ``(events, target)``; it downloads its files on
construction, e.g. ``tonic.datasets.NMNIST(save_to="data", train=False)`` (needs a network the first
time). The adapter only indexes it, so a dataset built with ``transform=None`` (raw events) is what it
expects. Items that are bare event arrays (no target) are accepted too; their target is ``None``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from nirverse import InvalidInputError

from ._transform import ToGraphInput

__all__ = ["batches"]


def batches(
    dataset: Any,
    transform: ToGraphInput,
    batch_size: int = 32,
    limit: int | None = None,
) -> Iterator[tuple[np.ndarray, list[Any]]]:
    """Yield ``(inputs, targets)``: ``inputs`` is ``(batch, time, *input_shape)`` from ``transform.batch``.

    Every batch has ``transform.n_steps`` steps when set, else the longest sample of that batch
    (zeros pad the shorter ones at the end). ``limit`` stops after that many samples.
    """
    if not isinstance(transform, ToGraphInput):
        raise InvalidInputError(f"got {type(transform).__name__}", field="transform", expected="a nirverse_tonic.ToGraphInput")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InvalidInputError(f"got {batch_size!r}", field="batch_size", expected="an integer >= 1")
    try:
        total = len(dataset)
    except TypeError as exc:
        raise InvalidInputError(
            f"{type(dataset).__name__} has no length", field="dataset",
            expected="a Tonic dataset or a sequence of event arrays",
        ) from exc
    ds_size = getattr(dataset, "sensor_size", None)
    if ds_size is not None and tuple(int(v) for v in ds_size) != transform.sensor_size:
        raise InvalidInputError(
            f"the dataset's sensor_size is {tuple(ds_size)}", field="sensor_size",
            expected=f"the transform's {transform.sensor_size}",
        )
    if limit is not None:
        total = min(total, int(limit))
    for lo in range(0, total, int(batch_size)):
        events, targets = [], []
        for i in range(lo, min(lo + int(batch_size), total)):
            item = dataset[i]
            if isinstance(item, tuple) and len(item) == 2:
                ev, target = item
            else:
                ev, target = item, None
            if not isinstance(ev, np.ndarray) or ev.dtype.names is None:
                raise InvalidInputError(
                    f"item {i} holds {type(ev).__name__}", field="dataset",
                    expected="raw Tonic events (build the dataset with transform=None)",
                )
            events.append(ev)
            targets.append(target)
        yield transform.batch(events), targets
