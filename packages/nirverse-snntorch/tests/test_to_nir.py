"""snnTorch → NIR: the exported graph's reference run equals the module's own run (float64)."""

from __future__ import annotations

import nir
import numpy as np
import pytest

snn = pytest.importorskip("snntorch", reason="snnTorch is not installed: pip install 'nirverse[snntorch]'")
import nirverse  # noqa: E402
import torch  # noqa: E402
from nirverse import Semantics, UnsupportedNodeError, UnsupportedSemanticsError  # noqa: E402
from nirverse_snntorch import from_nir, to_nir  # noqa: E402
from torch import nn  # noqa: E402

N = 5


def _prepare(net):
    """float64, with float64 spikes (snnTorch's surrogates emit float32 unless graded_spikes_factor is float64)."""
    net = net.double()
    for m in net.modules():
        if isinstance(m, snn.SpikingNeuron):
            m.graded_spikes_factor = torch.ones_like(m.threshold)
    return net


def _native(net, x: np.ndarray) -> np.ndarray:
    """snnTorch's own run: every step, the whole Sequential (init_hidden=True neurons keep their state)."""
    xt = torch.from_numpy(x)
    with torch.no_grad():
        return torch.stack([net(xt[:, t]) for t in range(x.shape[1])], 1).numpy()


def _assert_export_equal(net, semantics, x, **kw):
    graph = to_nir(net, semantics, **kw)
    native = _native(net, x)
    ref = nirverse.run(graph, x, semantics).outputs["output"]
    assert native.sum() > 0
    assert np.array_equal(native != 0, ref != 0), int(((native != 0) != (ref != 0)).sum())
    np.testing.assert_allclose(ref, native, rtol=1e-9, atol=1e-9)
    return graph


def _x(shape=(3, 40, 4), high=1.0, seed=0):
    return np.random.default_rng(seed).uniform(0, high, shape)


def _neurons(seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.rand(N, generator=g) * 0.5 + 0.4,
        torch.rand(N, generator=g) * 0.4 + 0.3,
        torch.rand(N, generator=g) * 0.5 + 0.5,
    )


CASES = [  # (reset_mechanism, reset_delay, semantics.reset)
    ("subtract", False, "subtract"),
    ("zero", False, "value"),
    ("none", False, "value"),
    ("subtract", True, "value"),
    ("none", True, "subtract"),
]


@pytest.mark.parametrize("method", ["euler", "exp"])
@pytest.mark.parametrize("mechanism, delay, reset", CASES)
def test_leaky_and_synaptic_sequential(mechanism, delay, reset, method):
    beta, alpha, thr = _neurons()
    torch.manual_seed(0)
    net = _prepare(
        nn.Sequential(
            nn.Linear(4, N),
            snn.Leaky(beta=beta, threshold=thr, reset_mechanism=mechanism, reset_delay=delay, init_hidden=True),
            nn.Linear(N, 3, bias=False),
            snn.Synaptic(
                alpha=alpha[:3],
                beta=beta[:3],
                threshold=thr[:3],
                reset_mechanism=mechanism,
                reset_delay=delay,
                init_hidden=True,
            ),
        )
    )
    _assert_export_equal(net, Semantics(1e-3, method=method, reset=reset), _x(high=0.5))


def test_default_leaky_delayed_subtraction_is_exported_faithfully():
    """snnTorch's default Leaky (subtract, reset_delay=True) becomes LI -> Threshold with a -θ feedback."""
    torch.manual_seed(1)
    net = _prepare(nn.Sequential(nn.Linear(4, N), snn.Leaky(beta=0.8, init_hidden=True)))
    graph = _assert_export_equal(net, Semantics(1e-3), _x(high=2.0), input_shape=(4,))
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    assert kinds == {
        "input": "Input",
        "0": "Affine",
        "1_membrane": "LI",
        "1": "Threshold",
        "1_reset": "Scale",
        "output": "Output",
    }


def test_non_leaky_leaky_is_if():
    torch.manual_seed(2)
    net = _prepare(
        nn.Sequential(
            nn.Linear(4, N),
            snn.Leaky(beta=torch.ones(N), threshold=torch.ones(N) * 2, reset_delay=False, init_hidden=True),
        )
    )
    graph = _assert_export_equal(net, Semantics(1e-3, reset="subtract"), _x())
    assert isinstance(graph.nodes["1"], nir.IF)


@pytest.mark.parametrize("delay", [False, True])
def test_rleaky_linear_with_bias_and_one_to_one(delay):
    beta, _, thr = _neurons(3)
    torch.manual_seed(3)
    dense = snn.RLeaky(beta=beta, threshold=thr, linear_features=N, reset_delay=delay, init_hidden=True)
    with torch.no_grad():
        dense.recurrent.weight.mul_(0.5)
    single = snn.RLeaky(
        beta=beta, threshold=thr, all_to_all=False, V=torch.linspace(-0.5, 0.5, N), reset_delay=delay, init_hidden=True
    )
    net = _prepare(nn.Sequential(nn.Linear(4, N), dense, nn.Linear(N, N), single))
    graph = _assert_export_equal(net, Semantics(1e-3, method="exp", reset="subtract"), _x(high=0.6))
    assert isinstance(graph.nodes["1_bias"], nir.Affine)  # snnTorch adds the recurrent bias from step 0


def test_rsynaptic_resets_one_step_late_whatever_reset_delay_says():
    beta, alpha, thr = _neurons(4)
    torch.manual_seed(4)
    net = _prepare(
        nn.Sequential(
            nn.Linear(4, N), snn.RSynaptic(alpha=alpha, beta=beta, threshold=thr, linear_features=N, init_hidden=True)
        )
    )
    _assert_export_equal(net, Semantics(1e-3), _x(high=1.5))


def test_cnn():
    torch.manual_seed(5)
    net = _prepare(
        nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1),
            snn.Leaky(
                beta=torch.full((4, 6, 6), 0.9),
                threshold=torch.ones(4, 6, 6),
                reset_mechanism="zero",
                reset_delay=False,
                init_hidden=True,
            ),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(36, N),
            snn.Leaky(
                beta=torch.full((N,), 0.8),
                threshold=torch.ones(N) * 0.5,
                reset_mechanism="zero",
                reset_delay=False,
                init_hidden=True,
            ),
        )
    )
    _assert_export_equal(net, Semantics(1e-3), _x((2, 15, 2, 6, 6), high=2.0), input_shape=(2, 6, 6))


def test_round_trip_is_parameter_exact():
    """snnTorch → NIR → snnTorch gives back β and θ; NIR → snnTorch → NIR gives back the graph."""
    beta, alpha, thr = _neurons(6)
    net = _prepare(
        nn.Sequential(
            nn.Linear(4, N),
            snn.Leaky(beta=beta, threshold=thr, reset_mechanism="zero", reset_delay=False, init_hidden=True),
            nn.Linear(N, N),
            snn.Synaptic(
                alpha=alpha, beta=beta, threshold=thr, reset_mechanism="zero", reset_delay=False, init_hidden=True
            ),
        )
    )
    for method in ("euler", "exp"):
        sem = Semantics(1e-3, method=method)
        graph = to_nir(net, sem)
        back = from_nir(graph, sem)
        leaky = back.layers[back.node_names.index("1")].neuron
        synaptic = back.layers[back.node_names.index("3")].neuron
        np.testing.assert_allclose(leaky.beta.numpy(), net[1].beta.numpy(), rtol=0, atol=2e-16)
        np.testing.assert_allclose(synaptic.alpha.numpy(), net[3].alpha.numpy(), rtol=0, atol=2e-16)
        np.testing.assert_array_equal(leaky.threshold.numpy(), net[1].threshold.numpy())
        assert to_nir(back, sem) is graph
        assert Semantics.from_metadata(graph.metadata) == sem


@pytest.mark.filterwarnings("ignore:Inhibition is an unstable feature")
@pytest.mark.parametrize(
    "make, semantics, error, field",
    [
        (
            lambda: snn.Leaky(beta=torch.full((N,), 0.9), reset_mechanism="zero", init_hidden=True),
            Semantics(1e-3),
            UnsupportedNodeError,
            "reset_delay",
        ),
        (
            lambda: snn.RSynaptic(alpha=0.5, beta=0.5, linear_features=N, reset_mechanism="zero", init_hidden=True),
            Semantics(1e-3),
            UnsupportedNodeError,
            "reset_delay",
        ),
        (
            lambda: snn.Leaky(beta=torch.full((N,), 0.9), reset_delay=False, init_hidden=True),
            Semantics(1e-3),
            UnsupportedSemanticsError,
            "reset",
        ),
        (
            lambda: snn.Leaky(beta=torch.full((N,), 0.9), init_hidden=True),
            Semantics(1e-3, latency="one-step"),
            UnsupportedSemanticsError,
            "latency",
        ),
        (
            lambda: snn.Leaky(beta=torch.full((N,), 0.9), inhibition=True, init_hidden=True),
            Semantics(1e-3),
            UnsupportedNodeError,
            "inhibition",
        ),
        (lambda: nn.ReLU(), Semantics(1e-3), UnsupportedNodeError, "type"),
        (
            lambda: snn.Leaky(beta=torch.tensor([0.5, 1.0, 0.9, 0.9, 0.9]), init_hidden=True),
            Semantics(1e-3),
            UnsupportedNodeError,
            "beta",
        ),
    ],
)
def test_refusals(make, semantics, error, field):
    with pytest.raises(error) as info:
        to_nir(nn.Sequential(nn.Linear(4, N), make()), semantics)
    assert info.value.field == field


def test_input_shape_is_asked_for_when_unknown():
    with pytest.raises(UnsupportedNodeError, match="input_shape"):
        to_nir(nn.Sequential(nn.Conv2d(1, 2, 3)), Semantics(1e-3))
