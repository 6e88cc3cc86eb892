"""Graph builders for the conformance catalogue: every node type alone and in combination.

Parameters are drawn from a seeded generator, per neuron, with non-trivial ``r``, ``v_leak``,
``v_reset`` and ``w_in`` so that a backend that ignores a field cannot pass by accident.
"""

from __future__ import annotations

import nir
import numpy as np

__all__ = ["BUILDERS", "around", "neuron_node"]


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def neuron_node(kind: str, n: int, rng: np.random.Generator, scale: float = 1.0) -> nir.NIRNode:
    """A neuron node of ``kind`` with per-neuron parameters (time constants 5-40 ms)."""
    tau = rng.uniform(5e-3, 40e-3, n)
    tau_syn = rng.uniform(3e-3, 15e-3, n)
    r = rng.uniform(0.5, 2.0, n) * scale
    v_leak = rng.uniform(-0.2, 0.2, n)
    v_threshold = rng.uniform(0.8, 1.2, n)
    v_reset = rng.uniform(-0.3, 0.1, n)
    w_in = rng.uniform(0.5, 1.5, n)
    if kind == "I":
        return nir.I(r=r * 50)
    if kind == "IF":
        return nir.IF(r=r * 50, v_threshold=v_threshold, v_reset=v_reset)
    if kind == "LI":
        return nir.LI(tau=tau, r=r, v_leak=v_leak)
    if kind == "LIF":
        return nir.LIF(tau=tau, r=r, v_leak=v_leak, v_threshold=v_threshold, v_reset=v_reset)
    if kind == "CubaLI":
        return nir.CubaLI(tau_syn=tau_syn, tau_mem=tau, r=r, v_leak=v_leak, w_in=w_in)
    if kind == "CubaLIF":
        return nir.CubaLIF(
            tau_syn=tau_syn, tau_mem=tau, r=r, v_leak=v_leak, v_threshold=v_threshold, v_reset=v_reset, w_in=w_in
        )
    raise ValueError(kind)


def _affine(rng, n_out, n_in, gain=1.0):
    return nir.Affine(weight=rng.normal(0.6, 0.5, (n_out, n_in)) * gain, bias=rng.uniform(0.0, 0.6, n_out) * gain)


def _graph(nodes: dict, edges: list) -> nir.NIRGraph:
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def single_neuron(kind: str, seed: int = 0) -> nir.NIRGraph:
    """input(3) -> Affine(4x3) -> <kind>(4) -> output."""
    rng = _rng(seed)
    return _graph(
        {"input": nir.Input(np.array([3])), "affine": _affine(rng, 4, 3), "neuron": neuron_node(kind, 4, rng),
         "output": nir.Output(np.array([4]))},
        [("input", "affine"), ("affine", "neuron"), ("neuron", "output")],
    )


def feedforward(seed: int = 1) -> nir.NIRGraph:
    """input(3) -> Affine -> LIF(5) -> Linear -> CubaLIF(4) -> Affine -> LI(2) -> output; LIF also observed."""
    rng = _rng(seed)
    return _graph(
        {"input": nir.Input(np.array([3])), "fc1": _affine(rng, 5, 3, 1.5), "lif": neuron_node("LIF", 5, rng),
         "fc2": nir.Linear(weight=rng.normal(1.0, 0.6, (4, 5)) * 3), "cuba": neuron_node("CubaLIF", 4, rng),
         "fc3": _affine(rng, 2, 4, 2.0), "li": neuron_node("LI", 2, rng),
         "out_lif": nir.Output(np.array([5])), "output": nir.Output(np.array([2]))},
        [("input", "fc1"), ("fc1", "lif"), ("lif", "fc2"), ("fc2", "cuba"), ("cuba", "fc3"), ("fc3", "li"),
         ("li", "output"), ("lif", "out_lif")],
    )


def branches(seed: int = 2) -> nir.NIRGraph:
    """Two branches from one input merge (summed) into one LIF; a Scale and an IF on one branch."""
    rng = _rng(seed)
    return _graph(
        {"input": nir.Input(np.array([3])), "a": _affine(rng, 4, 3, 1.5), "b": _affine(rng, 4, 3, 1.0),
         "lif_a": neuron_node("LIF", 4, rng), "if_b": neuron_node("IF", 4, rng),
         "scale": nir.Scale(scale=rng.uniform(0.5, 2.0, 4)),
         "wa": nir.Linear(weight=rng.normal(1.0, 0.5, (3, 4)) * 2), "wb": nir.Linear(weight=rng.normal(1.0, 0.5, (3, 4)) * 2),
         "merge": neuron_node("LIF", 3, rng), "output": nir.Output(np.array([3])), "out_a": nir.Output(np.array([4]))},
        [("input", "a"), ("input", "b"), ("a", "lif_a"), ("b", "scale"), ("scale", "if_b"), ("lif_a", "wa"),
         ("if_b", "wb"), ("wa", "merge"), ("wb", "merge"), ("merge", "output"), ("lif_a", "out_a")],
    )


def recurrent(kind: str = "LIF", seed: int = 3) -> nir.NIRGraph:
    """input(3) -> Affine -> <kind>(6) <-> Linear (recurrent weights) ; <kind> -> output."""
    rng = _rng(seed)
    return _graph(
        {"input": nir.Input(np.array([3])), "fc": _affine(rng, 6, 3, 1.5), "rnn": neuron_node(kind, 6, rng),
         "rec": nir.Linear(weight=rng.normal(0.0, 0.8, (6, 6))), "output": nir.Output(np.array([6]))},
        [("input", "fc"), ("fc", "rnn"), ("rnn", "rec"), ("rec", "rnn"), ("rnn", "output")],
    )


def nested(seed: int = 4) -> nir.NIRGraph:
    """A subgraph (Input -> Affine -> LIF -> Output, with a recurrent Linear) inside a larger graph."""
    rng = _rng(seed)
    inner = _graph(
        {"in": nir.Input(np.array([4])), "fc": _affine(rng, 5, 4, 1.5), "lif": neuron_node("LIF", 5, rng),
         "rec": nir.Linear(weight=rng.normal(0.0, 0.5, (5, 5))), "out": nir.Output(np.array([5]))},
        [("in", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")],
    )
    return _graph(
        {"input": nir.Input(np.array([3])), "pre": _affine(rng, 4, 3, 1.0), "block": inner,
         "post": nir.Linear(weight=rng.normal(1.0, 0.5, (2, 5)) * 2), "li": neuron_node("CubaLI", 2, rng),
         "output": nir.Output(np.array([2]))},
        [("input", "pre"), ("pre", "block"), ("block", "post"), ("post", "li"), ("li", "output")],
    )


def conv_stack(seed: int = 5) -> nir.NIRGraph:
    """Conv2d -> IF -> SumPool2d -> Conv2d('same', groups) -> LIF -> AvgPool2d -> Flatten -> Affine -> LIF."""
    rng = _rng(seed)
    return _graph(
        {"input": nir.Input(np.array([2, 8, 8])),
         "conv1": nir.Conv2d(input_shape=(8, 8), weight=rng.normal(0.3, 0.5, (4, 2, 3, 3)), stride=1, padding=1,
                             dilation=1, groups=1, bias=rng.uniform(0, 0.2, 4)),
         "if1": nir.IF(r=np.full((4, 8, 8), 60.0), v_threshold=np.full((4, 8, 8), 1.0), v_reset=np.zeros((4, 8, 8))),
         "pool1": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
         "conv2": nir.Conv2d(input_shape=(4, 4), weight=rng.normal(0.5, 0.5, (4, 2, 3, 3)), stride=1, padding="same",
                             dilation=1, groups=2, bias=rng.uniform(0, 0.2, 4)),
         "lif2": nir.LIF(tau=rng.uniform(5e-3, 20e-3, (4, 4, 4)), r=np.full((4, 4, 4), 1.5), v_leak=np.zeros((4, 4, 4)),
                         v_threshold=np.full((4, 4, 4), 1.0), v_reset=np.full((4, 4, 4), -0.1)),
         "pool2": nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
         "flat": nir.Flatten(input_type={"input": np.array([4, 2, 2])}, start_dim=0, end_dim=-1),
         "fc": _affine(rng, 3, 16, 1.5), "lif3": neuron_node("LIF", 3, rng), "output": nir.Output(np.array([3]))},
        [("input", "conv1"), ("conv1", "if1"), ("if1", "pool1"), ("pool1", "conv2"), ("conv2", "lif2"),
         ("lif2", "pool2"), ("pool2", "flat"), ("flat", "fc"), ("fc", "lif3"), ("lif3", "output")],
    )


def delay_chain(dt: float, seed: int = 6) -> nir.NIRGraph:
    """input -> Affine -> LIF -> Delay (1..3 steps per neuron) -> Linear -> LIF -> output."""
    rng = _rng(seed)
    return _graph(
        {"input": nir.Input(np.array([3])), "fc": _affine(rng, 3, 3, 1.5), "lif1": neuron_node("LIF", 3, rng),
         "delay": nir.Delay(delay=np.array([1.0, 2.0, 3.0]) * dt),
         "w": nir.Linear(weight=rng.normal(1.0, 0.4, (2, 3)) * 3), "lif2": neuron_node("LIF", 2, rng),
         "output": nir.Output(np.array([2]))},
        [("input", "fc"), ("fc", "lif1"), ("lif1", "delay"), ("delay", "w"), ("w", "lif2"), ("lif2", "output")],
    )


def threshold_chain(seed: int = 7) -> nir.NIRGraph:
    """input -> Affine -> LI -> Threshold -> Linear -> I -> output (the two stateless spike paths)."""
    rng = _rng(seed)
    li = neuron_node("LI", 4, rng)
    return _graph(
        {"input": nir.Input(np.array([3])), "fc": _affine(rng, 4, 3, 1.0), "li": li,
         "thr": nir.Threshold(threshold=li.v_leak + rng.uniform(0.1, 0.4, 4)),
         "w": nir.Linear(weight=rng.normal(0.5, 0.5, (2, 4))), "integ": neuron_node("I", 2, rng),
         "output": nir.Output(np.array([2]))},
        [("input", "fc"), ("fc", "li"), ("li", "thr"), ("thr", "w"), ("w", "integ"), ("integ", "output")],
    )


def stateless(kind: str, seed: int = 8) -> nir.NIRGraph:
    """One stateless node alone between Input and Output."""
    rng = _rng(seed)
    if kind == "Affine":
        node, shape_in = _affine(rng, 4, 3), (3,)
    elif kind == "Linear":
        node, shape_in = nir.Linear(weight=rng.normal(0, 1, (4, 3))), (3,)
    elif kind == "Scale":
        node, shape_in = nir.Scale(scale=rng.normal(0, 1, 5)), (5,)
    elif kind == "Threshold":
        node, shape_in = nir.Threshold(threshold=rng.normal(0, 0.5, 5)), (5,)
    elif kind == "Flatten":
        node, shape_in = nir.Flatten(input_type={"input": np.array([2, 3, 4])}, start_dim=1, end_dim=2), (2, 3, 4)
    elif kind == "Conv1d":
        node = nir.Conv1d(input_shape=9, weight=rng.normal(0, 1, (4, 1, 3)), stride=2, padding=2, dilation=2,
                          groups=2, bias=rng.normal(0, 1, 4))
        shape_in = (2, 9)
    elif kind == "Conv2d":
        node = nir.Conv2d(input_shape=(7, 6), weight=rng.normal(0, 1, (3, 2, 3, 2)), stride=(2, 1), padding=(1, 0),
                          dilation=(1, 2), groups=1, bias=rng.normal(0, 1, 3))
        shape_in = (2, 7, 6)
    elif kind == "Conv2d-valid":
        node = nir.Conv2d(input_shape=(6, 6), weight=rng.normal(0, 1, (2, 3, 3, 3)), stride=1, padding="valid",
                          dilation=1, groups=1, bias=rng.normal(0, 1, 2))
        shape_in = (3, 6, 6)
    elif kind == "SumPool2d":
        node = nir.SumPool2d(kernel_size=np.array([3, 2]), stride=np.array([2, 2]), padding=np.array([1, 0]))
        shape_in = (2, 7, 6)
    elif kind == "AvgPool2d":
        node = nir.AvgPool2d(kernel_size=np.array([2, 3]), stride=np.array([1, 2]), padding=np.array([1, 1]))
        shape_in = (2, 5, 6)
    else:
        raise ValueError(kind)
    return around(node, shape_in)


def around(node: nir.NIRNode, shape_in: tuple[int, ...]) -> nir.NIRGraph:
    """``input -> node -> output``, the Output shaped by the core's own shape rules for ``node``."""
    from ..validation import node_parameters, node_type, output_shape

    out_shape = output_shape("node", node_type("node", node), node, node_parameters("node", node), tuple(shape_in))
    return _graph(
        {"input": nir.Input(np.array(shape_in)), "node": node, "output": nir.Output(np.array(out_shape))},
        [("input", "node"), ("node", "output")],
    )


def reconverge_input(seed: int = 9) -> nir.NIRGraph:
    """One Input reaches one LIF along a direct Linear and through Affine -> IF -> Linear (paths of 1 and 2
    populations: the graph of issue 16)."""
    rng = _rng(seed)
    return _graph(
        {"input": nir.Input(np.array([3])), "direct": nir.Linear(weight=rng.normal(0.4, 0.8, (5, 3))),
         "hidden_w": _affine(rng, 4, 3, 1.5), "hidden": neuron_node("IF", 4, rng),
         "w": nir.Linear(weight=rng.normal(0.8, 0.5, (5, 4))), "merge": neuron_node("LIF", 5, rng),
         "output": nir.Output(np.array([5]))},
        [("input", "direct"), ("input", "hidden_w"), ("hidden_w", "hidden"), ("hidden", "w"), ("w", "merge"),
         ("direct", "merge"), ("merge", "output")],
    )


def reconverge_spiking(seed: int = 10) -> nir.NIRGraph:
    """A spiking LIF layer reaches one CubaLIF directly and through LIF -> IF (paths of 1 and 3 populations)."""
    rng = _rng(seed)
    return _graph(
        {"input": nir.Input(np.array([3])), "fc": _affine(rng, 4, 3, 1.5), "src": neuron_node("LIF", 4, rng),
         "short": nir.Linear(weight=rng.normal(0.8, 0.6, (3, 4)) * 2),
         "w1": nir.Linear(weight=rng.normal(1.0, 0.5, (4, 4)) * 4), "mid1": neuron_node("LIF", 4, rng),
         "w2": nir.Linear(weight=rng.normal(1.0, 0.5, (4, 4)) * 8), "mid2": neuron_node("IF", 4, rng),
         "w3": nir.Linear(weight=rng.normal(1.0, 0.5, (3, 4)) * 4), "merge": neuron_node("CubaLIF", 3, rng, 2.0),
         "output": nir.Output(np.array([3]))},
        [("input", "fc"), ("fc", "src"), ("src", "short"), ("short", "merge"), ("src", "w1"), ("w1", "mid1"),
         ("mid1", "w2"), ("w2", "mid2"), ("mid2", "w3"), ("w3", "merge"), ("merge", "output")],
    )


def reconverge_stateless(dt: float, seed: int = 11) -> nir.NIRGraph:
    """An LI layer reaches one LIF along three paths: Threshold -> Scale -> Linear (stateless spikes),
    Linear -> LIF -> Delay (1, 2 steps) -> Linear, and a plain Linear."""
    rng = _rng(seed)
    li = neuron_node("LI", 4, rng, 2.0)
    return _graph(
        {"input": nir.Input(np.array([3])), "fc": _affine(rng, 4, 3, 1.5), "src": li,
         "thr": nir.Threshold(threshold=li.v_leak + rng.uniform(0.2, 0.5, 4)),
         "scale": nir.Scale(scale=rng.uniform(0.5, 2.0, 4)), "wt": nir.Linear(weight=rng.normal(0.8, 0.5, (3, 4))),
         "wl": nir.Linear(weight=rng.normal(1.0, 0.5, (2, 4)) * 2), "lif": neuron_node("LIF", 2, rng),
         "delay": nir.Delay(delay=np.array([1.0, 2.0]) * dt), "wd": nir.Linear(weight=rng.normal(1.0, 0.5, (3, 2))),
         "wp": nir.Linear(weight=rng.normal(0.3, 0.3, (3, 4))), "merge": neuron_node("LIF", 3, rng),
         "output": nir.Output(np.array([3]))},
        [("input", "fc"), ("fc", "src"), ("src", "thr"), ("thr", "scale"), ("scale", "wt"), ("wt", "merge"),
         ("src", "wl"), ("wl", "lif"), ("lif", "delay"), ("delay", "wd"), ("wd", "merge"), ("src", "wp"),
         ("wp", "merge"), ("merge", "output")],
    )


def two_inputs(seed: int = 12) -> nir.NIRGraph:
    """Two Inputs into one LIF: ``a`` through a Linear, ``b`` through Affine -> LIF -> Linear -> IF -> Linear."""
    rng = _rng(seed)
    return _graph(
        {"a": nir.Input(np.array([2])), "b": nir.Input(np.array([3])),
         "wa": nir.Linear(weight=rng.normal(0.5, 0.5, (4, 2))), "fc": _affine(rng, 4, 3, 1.5),
         "lif": neuron_node("LIF", 4, rng), "w1": nir.Linear(weight=rng.normal(1.0, 0.5, (3, 4)) * 2),
         "integ": neuron_node("IF", 3, rng), "w2": nir.Linear(weight=rng.normal(1.0, 0.5, (4, 3)) * 2),
         "merge": neuron_node("LIF", 4, rng, 3.0), "output": nir.Output(np.array([4]))},
        [("a", "wa"), ("wa", "merge"), ("b", "fc"), ("fc", "lif"), ("lif", "w1"), ("w1", "integ"), ("integ", "w2"),
         ("w2", "merge"), ("merge", "output")],
    )


def fan_out(seed: int = 13) -> nir.NIRGraph:
    """One LIF layer read by four Outputs at different depths: its spikes, a Linear of them, an LI behind
    a Linear, and a CubaLIF behind LIF -> Linear."""
    rng = _rng(seed)
    return _graph(
        {"input": nir.Input(np.array([3])), "fc": _affine(rng, 4, 3, 1.5), "lif": neuron_node("LIF", 4, rng),
         "proj": nir.Linear(weight=rng.normal(0.5, 0.5, (2, 4))),
         "wli": nir.Linear(weight=rng.normal(1.0, 0.5, (3, 4))), "li": neuron_node("LI", 3, rng),
         "w1": nir.Linear(weight=rng.normal(1.0, 0.5, (3, 4)) * 4), "lif2": neuron_node("LIF", 3, rng),
         "w2": nir.Linear(weight=rng.normal(1.0, 0.5, (2, 3)) * 4), "cuba": neuron_node("CubaLIF", 2, rng, 3.0),
         "out_spikes": nir.Output(np.array([4])), "out_proj": nir.Output(np.array([2])),
         "out_li": nir.Output(np.array([3])), "out_deep": nir.Output(np.array([2]))},
        [("input", "fc"), ("fc", "lif"), ("lif", "out_spikes"), ("lif", "proj"), ("proj", "out_proj"),
         ("lif", "wli"), ("wli", "li"), ("li", "out_li"), ("lif", "w1"), ("w1", "lif2"), ("lif2", "w2"),
         ("w2", "cuba"), ("cuba", "out_deep")],
    )


BUILDERS = {
    "single": single_neuron,
    "feedforward": feedforward,
    "branches": branches,
    "recurrent": recurrent,
    "nested": nested,
    "conv_stack": conv_stack,
    "delay": delay_chain,
    "threshold_chain": threshold_chain,
    "stateless": stateless,
    "reconverge_input": reconverge_input,
    "reconverge_spiking": reconverge_spiking,
    "reconverge_stateless": reconverge_stateless,
    "two_inputs": two_inputs,
    "fan_out": fan_out,
}
