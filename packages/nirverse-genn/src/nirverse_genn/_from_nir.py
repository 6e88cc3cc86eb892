r"""One mapper per NIR node type: NIR parameters → GeNN neuron variables and synaptic weights.

GeNN (pygenn 5.4) advances every *neuron population* once per ``step_time()``; *synapse populations*
carry values between them and are processed at the start of the step, before the neurons, so a value
crosses a synapse population one step later than it was produced (``GeNNModel.step_time`` →
``updateSynapses`` then ``updateNeurons``, see GeNN's ``src/genn/genn/code_generator/generateRunner.cc``).
nirverse therefore maps

* neuron nodes, Input nodes, Threshold nodes (and Output nodes that need their own value) to neuron
  populations with custom models (``pygenn.create_neuron_model``, see :mod:`._nodes`);
* every chain of *linear* stateless nodes between two populations (Affine, Linear, Scale, Conv1d,
  Conv2d, SumPool2d, AvgPool2d, Flatten, Delay, inner Input/Output) to one synapse population whose
  weight matrix is the product of the chain's matrices (dense, or sparse where fewer than half the
  entries are non-zero); spiking sources use GeNN's ``StaticPulse`` (``addToPost(g)`` per spike),
  continuous sources a graded model (``addToPost(g * x)`` every step); all use ``DeltaCurr``, which
  injects ``inSyn`` unscaled and clears it (``postsynapticModels.h``, class ``DeltaCurr``);
* biases to a per-neuron variable ``bias`` of the target, added to ``Isyn`` (a bias that passes a
  delayed edge or a Delay node instead comes from a constant population through a delayed synapse).

Neuron variables (per neuron, float64 numbers computed here, never text in generated code; κ is the
semantics' leak factor ``Semantics.kappa``):

==========  ==================  ==========================================================
NIR node    NIR field           GeNN variable (custom model, :mod:`._nodes`)
==========  ==================  ==========================================================
I, IF       r                   ``r``; ``h = dt`` (the semantics' step); ``v += h * r * x``
LI, LIF     tau, r, v_leak      ``k = κ(tau)``, ``r``, ``v_leak``; ``v += k * (v_leak - v + r * x)``
CubaLI(F)   tau_mem, tau_syn    ``k = κ(tau_mem)``, ``ks = κ(tau_syn)``; ``i += ks * (w_in * x - i)``
CubaLI(F)   w_in                ``w_in``
IF, LIF,    v_threshold         ``v_th``; spike when ``v > v_th`` (threshold condition)
CubaLIF     v_reset             ``v_reset``; reset ``v = v_reset`` (``sub = 0``, "value") or ``v = v - v_th``
                                (``sub = 1``, "subtract")
Threshold   threshold           ``theta``; spike when ``x > theta``
==========  ==================  ==========================================================

Initial state: ``v = v_leak`` (leaky nodes) or ``0``, ``i = 0``. GeNN's built-in ``LIF``
(``neuronModels.h``) is *not* used: it integrates with ``ExpTC = exp(-dt/TauM)`` and ``C``, compares
with ``>=`` and has a refractory clock, which equals neither discretisation of the semantics exactly.

Linear nodes as matrices (out × in, row-major flattening of the per-sample shapes):

=============  =====================================================================
Affine         ``W`` (+ bias ``b``)
Linear         ``W``
Scale          ``diag(s)``
Conv1d/2d      the cross-correlation's Toeplitz matrix (stride, dilation, groups, zero padding)
               + bias repeated over positions
SumPool2d      one-per-window matrix; AvgPool2d: ``1/(kh·kw)`` per window (padding counted)
Flatten, Pass  identity
Delay          split by step count ``k``: ``diag(steps == k)``, the synapse delayed ``k`` more steps
=============  =====================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from nirverse.semantics import Semantics

__all__ = ["SPIKING_SOURCES", "neuron_vars", "threshold_vars"]

#: populations that emit spikes (carried by StaticPulse synapses)
SPIKING_SOURCES = frozenset({"IF", "LIF", "CubaLIF", "Threshold"})


def neuron_vars(kind: str, params: Mapping[str, np.ndarray], semantics: Semantics) -> dict[str, np.ndarray]:
    """Per-neuron variable values (flattened float64) of a neuron node's GeNN population."""
    flat = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in params.items()}
    n = flat["r"].size
    out: dict[str, np.ndarray] = {"r": flat["r"]}
    cuba = kind in ("CubaLI", "CubaLIF")
    if kind in ("I", "IF"):
        out["h"] = np.full(n, semantics.dt)
        out["v"] = np.zeros(n)
    else:
        out["k"] = semantics.kappa(flat["tau_mem"] if cuba else flat["tau"])
        out["v_leak"] = flat["v_leak"]
        out["v"] = flat["v_leak"].copy()
    if cuba:
        out["ks"] = semantics.kappa(flat["tau_syn"])
        out["w_in"] = flat["w_in"]
        out["i"] = np.zeros(n)
    if kind in SPIKING_SOURCES:
        out["v_th"] = flat["v_threshold"]
        out["v_reset"] = flat["v_reset"]
    else:
        out["out"] = np.zeros(n)
    return out


def threshold_vars(params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    theta = np.asarray(params["threshold"], dtype=np.float64).reshape(-1)
    return {"theta": theta, "x": np.zeros(theta.size)}
