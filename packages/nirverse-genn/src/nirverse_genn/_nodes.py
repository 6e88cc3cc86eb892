r"""The GeNN models nirverse uses: fixed code templates, chosen by node kind and reset mode.

No text from a graph reaches these strings: every number is a per-neuron variable (values are loaded
at run time), and the population's integer *lag* ``L`` and the reset mode ``sub`` are variables too, so one compiled model
serves every semantics of a graph whose synaptic delays agree. GeNN's
clock runs with ``dt = 1`` so ``t`` counts steps; a population with lag ``L`` executes semantic step
``t - L`` in GeNN step ``t`` and holds its initial state before (see :mod:`._lowering`).

Per step (``x = Isyn + bias``, the summed input of the step; all arithmetic in ``scalar`` =
``double`` or ``float``, in the order of the reference simulator's expressions):

=========  =====================================================================  ==================
kind       sim code (when ``t >= L``)                                             spike condition
=========  =====================================================================  ==================
I / IF     ``v = v + h * r * x``                                                  ``v > v_th`` (IF)
LI / LIF   ``v = v + k * (v_leak - v + r * x)``                                   ``v > v_th`` (LIF)
CubaLI(F)  ``i = i + ks * (w_in * x - i)``; ``v = v + k * (v_leak - v + r * i)``  ``v > v_th`` (CubaLIF)
Threshold  ``x = Isyn + bias``                                                    ``x > theta``
probe      ``out = Isyn + bias`` (an Output whose value is a sum of edges)
input      ``out = seq[(t - L) * num_neurons + id]`` (extra global parameter)
const      ``out = 1`` (a bias behind a delayed edge)
=========  =====================================================================  ==================

The reset of every spiking kind (IF, LIF, CubaLIF) is ``v = v_reset`` when ``sub == 0`` (reset "value") and
``v = v - v_th`` when ``sub == 1`` (reset "subtract").

Non-spiking neurons copy ``v`` into ``out`` (zero before their first step), which graded synapses read.
"""

from __future__ import annotations

from functools import cache

__all__ = ["neuron_model", "input_model", "probe_model", "const_model", "threshold_model", "graded_model"]

_RO = "READ_ONLY"


def _access(name: str):
    import pygenn

    return getattr(pygenn.VarAccess, name)


@cache
def neuron_model(kind: str):
    """A custom model for NIR neuron ``kind`` (I, IF, LI, LIF, CubaLI, CubaLIF); ``sub`` = 1 selects the
    "subtract" reset, 0 the "value" reset."""
    import pygenn

    leaky = kind not in ("I", "IF")
    cuba = kind.startswith("Cuba")
    spiking = kind in ("IF", "LIF", "CubaLIF")
    rw, ro = _access("READ_WRITE"), _access(_RO)
    variables = [("v", "scalar", rw), ("lag", "int", ro)]
    body = ["const scalar x = Isyn + bias;"]
    drive = "x"
    if cuba:
        variables += [("i", "scalar", rw), ("ks", "scalar", ro), ("w_in", "scalar", ro)]
        body.append("i = i + ks * (w_in * x - i);")
        drive = "i"
    variables.append(("r", "scalar", ro))
    if leaky:
        variables += [("k", "scalar", ro), ("v_leak", "scalar", ro)]
        body.append(f"v = v + k * (v_leak - v + r * {drive});")
    else:
        variables.append(("h", "scalar", ro))
        body.append(f"v = v + h * r * {drive};")
    variables.append(("bias", "scalar", ro))
    extra = {}
    if spiking:
        variables += [("v_th", "scalar", ro), ("v_reset", "scalar", ro), ("sub", "int", ro)]
        extra["threshold_condition_code"] = "t >= lag && v > v_th"
        extra["reset_code"] = "if (sub != 0) {\n    v = v - v_th;\n}\nelse {\n    v = v_reset;\n}"
        sim = "if (t >= lag) {\n    " + "\n    ".join(body) + "\n}"
    else:
        variables.append(("out", "scalar", rw))
        sim = "if (t >= lag) {\n    " + "\n    ".join(body) + "\n    out = v;\n}"
    return pygenn.create_neuron_model(
        f"nirverse_{kind}", vars=variables, sim_code=sim, **extra
    )


@cache
def threshold_model():
    import pygenn

    return pygenn.create_neuron_model(
        "nirverse_threshold", vars=[("lag", "int", _access(_RO)), ("x", "scalar", _access("READ_WRITE")), ("theta", "scalar", _access(_RO)), ("bias", "scalar", _access(_RO))],
        sim_code="if (t >= lag) {\n    x = Isyn + bias;\n}",
        threshold_condition_code="t >= lag && x > theta",
    )


@cache
def probe_model():
    import pygenn

    return pygenn.create_neuron_model(
        "nirverse_probe", vars=[("lag", "int", _access(_RO)), ("out", "scalar", _access("READ_WRITE")), ("bias", "scalar", _access(_RO))],
        sim_code="if (t >= lag) {\n    out = Isyn + bias;\n}",
    )


@cache
def input_model():
    import pygenn

    return pygenn.create_neuron_model(
        "nirverse_input", vars=[("lag", "int", _access(_RO)), ("out", "scalar", _access("READ_WRITE"))],
        extra_global_params=[("seq", "scalar*")],
        sim_code="if (t >= lag) {\n    out = seq[((int)t - lag) * num_neurons + id];\n}",
    )


@cache
def const_model():
    import pygenn

    return pygenn.create_neuron_model(
        "nirverse_const", vars=[("lag", "int", _access(_RO)), ("out", "scalar", _access("READ_WRITE"))],
        sim_code="if (t >= lag) {\n    out = 1.0;\n}",
    )


@cache
def graded_model():
    """Continuous synapse: every step ``addToPost(g * x)`` with ``x`` the source's ``out``."""
    import pygenn

    return pygenn.create_weight_update_model(
        "nirverse_graded", vars=[("g", "scalar", _access(_RO))],
        pre_neuron_var_refs=[("x", "scalar", pygenn.VarAccessMode.READ_ONLY)],
        synapse_dynamics_code="addToPost(g * x);",
    )
