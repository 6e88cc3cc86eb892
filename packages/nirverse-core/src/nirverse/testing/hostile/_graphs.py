"""Small well-formed graphs the hostile cases start from (then break one thing each)."""

from __future__ import annotations

import nir
import numpy as np

from ...semantics import Semantics

SEM = Semantics(1e-3)
N = 3


def lif(n: int = N) -> nir.LIF:
    return nir.LIF(tau=np.full(n, 0.01), r=np.full(n, 2.0), v_leak=np.zeros(n), v_threshold=np.ones(n),
                   v_reset=np.zeros(n))


def chain(*named: tuple[str, nir.NIRNode], n_in: int = N, n_out: int = N) -> nir.NIRGraph:
    """``input -> named[0] -> ... -> output``."""
    names = ["input", *(n for n, _ in named), "output"]
    nodes = {"input": nir.Input(np.array([n_in])), **dict(named), "output": nir.Output(np.array([n_out]))}
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:])), type_check=False)


def linear_lif(n_in: int = 2, n: int = N) -> nir.NIRGraph:
    weight = np.linspace(0.5, 1.5, n * n_in).reshape(n, n_in)
    return chain(("lin", nir.Linear(weight=weight)), ("lif", lif(n)), n_in=n_in, n_out=n)


def delay_loop(delay: float, n: int = N) -> nir.NIRGraph:
    """``input -> lif -> output`` with a loop ``lif -> delay -> lif``."""
    nodes = {"input": nir.Input(np.array([n])), "lif": lif(n), "delay": nir.Delay(delay=np.full(n, delay)),
             "output": nir.Output(np.array([n]))}
    edges = [("input", "lif"), ("lif", "delay"), ("delay", "lif"), ("lif", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def nested(depth: int) -> nir.NIRGraph:
    """A LIF inside ``depth`` levels of subgraphs, each ``input -> sub -> output``."""
    inner = chain(("lif", lif()))
    for _ in range(depth):
        inner = chain(("sub", inner))
    return inner


def spikes(batch: int = 2, steps: int = 20, n: int = 2, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((batch, steps, n)) < 0.3).astype(np.float64)
