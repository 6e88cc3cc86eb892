r"""Rockpool building blocks the mapping needs beyond Rockpool's stock modules.

Every piece uses an extension point Rockpool documents: the ``spike_generation_fn`` constructor
argument of its LIF modules, and subclassing :class:`rockpool.nn.modules.TorchModule`.

* :class:`StrictStep` -- spike function :math:`z = 1[v > \vartheta]`: strict comparison and at most one
  spike per step. Rockpool's own ``StepPWL`` (``rockpool/nn/modules/torch/lif_torch.py``) computes
  :math:`(v \ge \vartheta)\lfloor v/\vartheta \rfloor` capped at ``max_spikes_per_dt``; with the cap at
  1 and :math:`\vartheta > 0` that is :math:`1[v \ge \vartheta]`, which differs from the semantics
  exactly when :math:`v = \vartheta` -- a case integer-valued graphs (IF neurons fed by spikes) do hit.
  ``StrictStep`` subclasses ``StepPWL`` and keeps its surrogate gradient.
* :class:`ScaleTorch` -- :math:`y = s \odot x + c`: NIR ``Scale`` and the input gain (and offset) that
  turns a NIR neuron's :math:`\kappa r` drive into Rockpool's unweighted input.
* :class:`LIFNeuronValueResetTorch`, :class:`LIFValueResetTorch` -- Rockpool's ``LIFNeuronTorch`` /
  ``LIFTorch`` whose reset is :math:`v \leftarrow v_{reset}` instead of the hard-coded subtraction
  :math:`v \leftarrow v - z\vartheta`. Only ``forward`` is replaced; parameters, states, recording
  and export hooks are Rockpool's.
* :func:`default_dtype` -- Rockpool allocates its state records and output buffers with
  ``torch.zeros(...)`` in torch's *default* dtype, so float64 runs need that default set to float64.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import rockpool.parameters as rp
import torch
from rockpool.nn.modules.torch.lif_neuron_torch import LIFNeuronTorch
from rockpool.nn.modules.torch.lif_torch import LIFTorch, StepPWL
from rockpool.nn.modules.torch.torch_module import TorchModule

__all__ = [
    "StrictStep",
    "ScaleTorch",
    "LIFNeuronValueResetTorch",
    "LIFValueResetTorch",
    "default_dtype",
    "set_tensor",
    "TORCH_DTYPES",
]

TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Set torch's default dtype for the duration of a build or run (Rockpool allocates buffers in it)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def set_tensor(module: Any, name: str, value: Any, dtype: torch.dtype) -> None:
    """Assign a parameter/state exactly in ``dtype`` (Rockpool's constructors cast to float32 first)."""
    setattr(module, name, torch.as_tensor(np.array(value, dtype=np.float64), dtype=dtype))


class StrictStep(StepPWL):
    r"""Unit spikes on a strict threshold crossing: :math:`z = 1[v > \vartheta]`, surrogate of ``StepPWL``."""

    @staticmethod
    def forward(ctx, x, threshold=None, window=0.5, max_spikes_per_dt=None):  # noqa: D401
        ctx.save_for_backward(x, threshold)
        ctx.window = window
        return (x > threshold).to(x.dtype)


class ScaleTorch(TorchModule):
    r"""Element-wise gain and optional offset, :math:`y = s \odot x + c`, shape ``(N,)``."""

    def __init__(self, shape: int, scale: Any, offset: Any = None, **kwargs) -> None:
        super().__init__(shape=(shape,), **kwargs)
        self.scale = rp.Parameter(torch.as_tensor(scale), family="weights", shape=[(self.size_out,), ()])
        if offset is None:
            self.offset = None
        else:
            self.offset = rp.Parameter(torch.as_tensor(offset), family="biases", shape=[(self.size_out,), ()])

    def forward(self, data: torch.Tensor) -> torch.Tensor:
        data, _ = self._auto_batch(data)
        out = data * self.scale
        return out if self.offset is None else out + self.offset


def _value_reset(v: torch.Tensor, spikes: torch.Tensor, v_reset: torch.Tensor) -> torch.Tensor:
    return torch.where(spikes > 0, v_reset.expand_as(v), v)


class LIFNeuronValueResetTorch(LIFNeuronTorch):
    r"""``LIFNeuronTorch`` with reset to a value: per step :math:`v \leftarrow \alpha v + x + b`,
    :math:`z = f(v, \vartheta)`, :math:`v \leftarrow v_{reset}` where :math:`z > 0`."""

    def __init__(self, *args, v_reset: Any = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.v_reset = rp.Parameter(
            torch.as_tensor(v_reset), family="thresholds", shape=[(self.size_out,), ()]
        )

    def forward(self, input_data: torch.Tensor) -> torch.Tensor:
        input_data, (vmem,) = self._auto_batch(input_data, (self.vmem,), ((self.size_out,),))
        batches, steps, _ = input_data.shape
        alpha = torch.exp(-self.dt / self.tau_mem)
        spikes_out = torch.zeros(batches, steps, self.size_out, dtype=vmem.dtype)
        if self._record:
            self._record_dict["vmem"] = torch.zeros(batches, steps, self.size_out, dtype=vmem.dtype)
        for t in range(steps):
            vmem = alpha * vmem + input_data[:, t] + self.bias
            spikes = self.spike_generation_fn(vmem, self.threshold, self.learning_window, self.max_spikes_per_dt)
            vmem = _value_reset(vmem, spikes, self.v_reset)
            spikes_out[:, t] = spikes
            if self._record:
                self._record_dict["vmem"][:, t] = vmem
        self.vmem = vmem[0].detach()
        self._record_dict["spikes"] = spikes_out
        return spikes_out


class LIFValueResetTorch(LIFTorch):
    r"""``LIFTorch`` with reset to a value: :math:`I \leftarrow \beta(I + x + W_{rec}^\top z_{t-1})`,
    :math:`v \leftarrow \alpha v + I + b`, :math:`z = f(v, \vartheta)`, :math:`v \leftarrow v_{reset}`
    where :math:`z > 0`."""

    def __init__(self, *args, v_reset: Any = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.v_reset = rp.Parameter(
            torch.as_tensor(v_reset), family="thresholds", shape=[(self.size_out,), ()]
        )

    def forward(self, input_data: torch.Tensor) -> torch.Tensor:
        input_data, (vmem, spikes, isyn) = self._auto_batch(
            input_data,
            (self.vmem, self.spikes, self.isyn),
            ((self.size_out,), (self.size_out,), (self.size_out, self.n_synapses)),
        )
        batches, steps, _ = input_data.shape
        input_data = input_data.reshape(batches, steps, self.size_out, self.n_synapses)
        alpha, beta = self.alpha, self.beta
        spikes_out = torch.zeros(batches, steps, self.size_out, dtype=vmem.dtype)
        if self._record:
            self._record_dict["vmem"] = torch.zeros(batches, steps, self.size_out, dtype=vmem.dtype)
            self._record_dict["isyn"] = torch.zeros(batches, steps, self.size_out, self.n_synapses, dtype=vmem.dtype)
        for t in range(steps):
            isyn = isyn + input_data[:, t]
            if self._has_rec:
                isyn = isyn + (spikes @ self.w_rec).reshape(batches, self.size_out, self.n_synapses)
            isyn = isyn * beta
            vmem = alpha * vmem + isyn.sum(2) + self.bias
            spikes = self.spike_generation_fn(vmem, self.threshold, self.learning_window, self.max_spikes_per_dt)
            vmem = _value_reset(vmem, spikes, self.v_reset)
            spikes_out[:, t] = spikes
            if self._record:
                self._record_dict["vmem"][:, t] = vmem
                self._record_dict["isyn"][:, t] = isyn
        self.vmem = vmem[0].detach()
        self.isyn = isyn[0].detach()
        self.spikes = spikes[0].detach()
        self._record_dict["spikes"] = spikes_out
        return spikes_out
