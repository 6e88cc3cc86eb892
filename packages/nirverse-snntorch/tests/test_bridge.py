"""snnTorch's own NIR bridge (``snntorch.import_nir`` / ``export_nir``, 1.0.0) measured against the reference.

Each test asserts the *measured* deviation (raster mismatches, max |Δ|), so a fixed upstream bug shows
up as a failing test here, not as a silently looser tolerance. Numbers are documented in the plugin's
docs page.
"""

from __future__ import annotations

import contextlib
import io

import nir
import numpy as np
import pytest

snn = pytest.importorskip("snntorch", reason="snnTorch is not installed: pip install 'nirverse[snntorch]'")
pytest.importorskip("nirtorch", reason="snnTorch's NIR bridge needs nirtorch")
import nirverse  # noqa: E402
import torch  # noqa: E402
from nirverse import Semantics  # noqa: E402

RNG = np.random.default_rng(3)


def _quiet(fn, *args, **kwargs):
    """snnTorch's importer prints debug lines; keep them out of the test log."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def _run_imported(graph, x: np.ndarray) -> np.ndarray:
    from snntorch.import_nir import import_from_nir

    model = _quiet(import_from_nir, graph)
    xt = torch.from_numpy(x).float()
    state, ys = None, []
    with torch.no_grad():
        for t in range(x.shape[1]):
            y, state = model(xt[:, t], state)
            ys.append(y[0] if isinstance(y, tuple) else y)  # IF is imported with init_hidden=False
    return torch.stack(ys, 1).double().numpy()


def _mismatches(a, b) -> int:
    return int(np.count_nonzero((a != 0) != (b != 0)))


def _lif_graph(tau, r=None, v_threshold=None):
    n = len(tau)
    return nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n])),
            "affine": nir.Affine(weight=np.eye(n), bias=np.zeros(n)),
            "lif": nir.LIF(
                tau=np.asarray(tau),
                r=np.ones(n) if r is None else r,
                v_leak=np.zeros(n),
                v_threshold=np.ones(n) if v_threshold is None else v_threshold,
                v_reset=np.zeros(n),
            ),
            "output": nir.Output(np.array([n])),
        },
        edges=[("input", "affine"), ("affine", "lif"), ("lif", "output")],
    )


def test_import_hard_codes_dt_and_shares_one_threshold():
    """A per-neuron LIF at dt = 1 ms: snnTorch assumes dt = 1e-4 and divides every threshold by the
    w_scale of one neuron; the raster differs from the reference."""
    graph = _lif_graph([0.01, 0.02, 0.005, 0.05])
    x = RNG.uniform(0, 3, (2, 200, 4))
    ref = nirverse.run(graph, x, Semantics(1e-3)).outputs["output"]
    got = _run_imported(graph, x)
    assert ref.sum() > 100
    assert got.sum() == 0  # the shared threshold 1 / (dt·r/τ) = 200..500 is never reached
    assert _mismatches(got, ref) == ref.sum()
    # the plugin, for comparison: identical
    ours = nirverse.run(graph, x, Semantics(1e-3), backend="snntorch").outputs["output"]
    assert _mismatches(ours, ref) == 0


def test_import_turns_if_into_a_leaky_neuron():
    """IF (r = 1, dt = 1: v += x) becomes Leaky(beta=0.9): v = 0.9 v + x."""
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([3])),
            "affine": nir.Affine(weight=np.eye(3) * 0.3, bias=np.zeros(3)),
            "if": nir.IF(r=np.ones(3), v_threshold=np.ones(3) * 2, v_reset=np.zeros(3)),
            "output": nir.Output(np.array([3])),
        },
        edges=[("input", "affine"), ("affine", "if"), ("if", "output")],
    )
    x = RNG.uniform(0, 1, (2, 100, 3))
    ref = nirverse.run(graph, x, Semantics(1.0)).outputs["output"]
    got = _run_imported(graph, x)
    assert ref.sum() > 10 and got.sum() < ref.sum() / 2
    assert _mismatches(got, ref) >= ref.sum() / 2


def test_import_rejects_cubalif_with_r_1():
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([2])),
            "cuba": nir.CubaLIF(
                tau_syn=np.full(2, 5e-3),
                tau_mem=np.full(2, 1e-2),
                r=np.ones(2),
                v_leak=np.zeros(2),
                v_threshold=np.ones(2),
                v_reset=np.zeros(2),
                w_in=np.ones(2),
            ),
            "output": nir.Output(np.array([2])),
        },
        edges=[("input", "cuba"), ("cuba", "output")],
    )
    with pytest.raises(AssertionError, match="r not supported in CubaLIF"):
        _run_imported(graph, np.zeros((1, 2, 2)))


def _export(module, n):
    from snntorch.export_nir import export_to_nir

    return _quiet(export_to_nir, module, torch.zeros(1, n, dtype=torch.float64), ignore_dims=[0])


@pytest.mark.filterwarnings("ignore:nirtorch.extract_nir_graph is being deprecated")
def test_export_loses_the_default_delayed_subtractive_reset():
    """A default Leaky (subtract, reset_delay=True) exports as a zero-reset LIF at dt = 1e-4; its reference
    run differs from the module's own run. ``nirverse_snntorch.to_nir`` exports it exactly."""
    from nirverse_snntorch import to_nir

    n = 4
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(n, n),
        snn.Leaky(beta=torch.tensor([0.9, 0.95, 0.8, 0.98]), threshold=torch.ones(n), init_hidden=True),
    ).double()
    module[1].graded_spikes_factor = torch.ones(n, dtype=torch.float64)
    x = RNG.uniform(0, 1.5, (2, 100, n))
    with torch.no_grad():
        native = torch.stack([module(torch.from_numpy(x[:, t])) for t in range(100)], 1).numpy()
    for m in module.modules():
        if isinstance(m, snn.SpikingNeuron):
            m.reset_mem()
    graph = _export(module, n)
    lif = next(node for node in graph.nodes.values() if isinstance(node, nir.LIF))
    np.testing.assert_allclose(lif.tau, 1e-4 / (1 - np.array([0.9, 0.95, 0.8, 0.98])), rtol=1e-6)
    assert np.all(lif.v_reset == 0)
    exported = nirverse.run(graph, x, Semantics(1e-4, reset="value")).outputs
    got = exported[next(iter(exported))]
    assert _mismatches(got, native) > 20
    ours = nirverse.run(to_nir(module, Semantics(1e-4)), x, Semantics(1e-4)).outputs["output"]
    assert _mismatches(ours, native) == 0


def test_same_step_subtraction_deviates_when_the_membrane_stays_above_threshold():
    """``Leaky(reset_mechanism="subtract", reset_delay=False)`` decides its next reset from the post-reset
    membrane: when v − θ > θ it subtracts θ before firing and the spike differs from the semantics.
    (The plugin uses reset_delay=True with a correction in the input path instead; see _from_nir.)"""
    n, dt, tau, thr = 3, 1e-3, np.array([0.01, 0.02, 0.005]), np.ones(3)
    graph = _lif_graph(tau, r=np.full(n, 15.0))
    sem = Semantics(dt, reset="subtract")
    x = RNG.uniform(0, 1, (2, 80, n))
    ref = nirverse.run(graph, x, sem, record=True)
    kappa = sem.kappa(tau)
    leaky = snn.Leaky(
        beta=torch.from_numpy(1 - kappa),
        threshold=torch.from_numpy(thr),
        reset_delay=False,
        graded_spikes_factor=torch.ones(n, dtype=torch.float64),
    )
    drive = torch.from_numpy(x * kappa * 15.0)
    mem = torch.zeros(2, n, dtype=torch.float64)
    spikes, mems = [], []
    for t in range(x.shape[1]):
        spk, mem = leaky(drive[:, t], mem)
        spikes.append(spk)
        mems.append(mem)
    spikes, mems = torch.stack(spikes, 1).numpy(), torch.stack(mems, 1).numpy()
    mismatches = _mismatches(spikes, ref.outputs["output"])
    assert mismatches > 10
    assert np.abs(mems - ref.states["lif"]["v"]).max() > 0.5


def test_rsynaptic_same_step_reset_is_not_applied():
    """RSynaptic(reset_delay=False) computes the same-step reset into a local variable and drops it (and with
    init_hidden=True it fails on ``None / tensor``): it resets one step late, like reset_delay=True."""
    n = 3
    kw = dict(
        alpha=0.6, beta=0.8, threshold=torch.ones(n), all_to_all=False, V=torch.zeros(n), reset_mechanism="subtract"
    )
    with pytest.raises(TypeError):
        snn.RSynaptic(init_hidden=True, reset_delay=False, **kw)(torch.ones(1, n))
    x = torch.from_numpy(RNG.uniform(0, 0.3, (2, 100, n))).float()

    @torch.no_grad()
    def run(neuron):
        spk, syn, mem = torch.zeros(2, n), torch.zeros(2, n), torch.zeros(2, n)
        out = []
        for t in range(x.shape[1]):
            spk, syn, mem = neuron(x[:, t], spk, syn, mem)
            out.append(spk)
        return torch.stack(out, 1).numpy()

    same_step = run(snn.RSynaptic(reset_delay=False, **kw))
    delayed = run(snn.RSynaptic(reset_delay=True, **kw))
    assert np.array_equal(same_step, delayed)
    with torch.no_grad():
        synaptic = snn.Synaptic(alpha=0.6, beta=0.8, threshold=torch.ones(n), reset_delay=False)
        spk_s, syn, mem = [], torch.zeros(2, n), torch.zeros(2, n)
        for t in range(x.shape[1]):
            s, syn, mem = synaptic(x[:, t], syn, mem)
            spk_s.append(s)
    assert _mismatches(np.stack(spk_s, 1), same_step) > 20


def test_float64_models_emit_float32_spikes():
    """snnTorch's surrogates return ``.float()``: a ``.double()`` model hands float32 spikes to the next
    layer (a float64 nn.Linear then fails) unless graded_spikes_factor is a float64 tensor."""
    leaky = snn.Leaky(beta=0.9).double()
    spk, mem = leaky(torch.ones(1, 2, dtype=torch.float64) * 2)
    assert spk.dtype == torch.float32 and mem.dtype == torch.float64
