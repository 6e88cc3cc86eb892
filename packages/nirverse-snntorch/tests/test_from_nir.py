"""NIR → snnTorch: the native model, its parameters, edge cases the conformance cases do not reach."""

from __future__ import annotations

import subprocess
import sys

import nir
import numpy as np
import pytest

snn = pytest.importorskip("snntorch", reason="snnTorch is not installed: pip install 'nirverse[snntorch]'")
import nirverse  # noqa: E402
import torch  # noqa: E402
from nirverse import Semantics, UnsupportedNodeError  # noqa: E402
from nirverse_snntorch import SnnTorchNetwork, from_nir  # noqa: E402

RNG = np.random.default_rng(7)
LIF = dict(
    tau=np.array([0.01, 0.02, 0.005]),
    r=np.array([1.0, 2.0, 0.5]),
    v_leak=np.array([0.1, -0.2, 0.0]),
    v_threshold=np.array([1.0, 0.8, 1.2]),
    v_reset=np.array([-0.3, 0.1, 0.0]),
)


def _lif_graph(chain, **overrides):
    params = {**LIF, **overrides}
    return chain(nir.Affine(weight=RNG.normal(1.0, 0.3, (3, 3)), bias=np.zeros(3)), nir.LIF(**params))


def test_import_does_not_import_the_framework():
    code = "import sys, nirverse_snntorch; print('snntorch' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("method", ["euler", "exp"])
@pytest.mark.parametrize("reset", ["value", "subtract"])
def test_native_model_is_snntorch_leaky_with_mapped_parameters(method, reset, chain, assert_identical):
    sem = Semantics(1e-3, method=method, reset=reset)
    net = from_nir(_lif_graph(chain), sem)
    assert isinstance(net, SnnTorchNetwork)
    layer = net.layers[net.node_names.index("l1")]
    leaky = layer.neuron
    assert type(leaky) is snn.Leaky
    kappa = sem.kappa(LIF["tau"])
    np.testing.assert_allclose(leaky.beta.numpy(), 1 - kappa, rtol=0, atol=1e-15)
    offset = LIF["v_reset"] if reset == "value" else 0.0
    np.testing.assert_allclose(leaky.threshold.numpy(), LIF["v_threshold"] - offset, rtol=0, atol=1e-15)
    np.testing.assert_allclose(layer.gain.numpy(), kappa * LIF["r"], rtol=1e-15)
    assert leaky.reset_mechanism == ("zero" if reset == "value" else "subtract")
    assert leaky.reset_delay is (reset == "subtract")
    assert leaky.beta.dtype == torch.float64


def test_cubalif_is_synaptic(chain, assert_identical):
    node = nir.CubaLIF(
        tau_syn=np.array([0.005, 0.01]),
        tau_mem=np.array([0.02, 0.01]),
        r=np.array([1.0, 2.0]),
        v_leak=np.zeros(2),
        v_threshold=np.ones(2),
        v_reset=np.zeros(2),
        w_in=np.array([1.0, 0.5]),
    )
    net = from_nir(chain(nir.Linear(weight=np.ones((2, 3))), node, n_out=2), Semantics(1e-3))
    neuron = net.layers[net.node_names.index("l1")].neuron
    assert type(neuron) is snn.Synaptic
    np.testing.assert_allclose(neuron.alpha.numpy(), [0.8, 0.9], atol=1e-15)


@pytest.mark.parametrize("reset", ["value", "subtract"])
@pytest.mark.parametrize("kind", ["IF", "LIF", "CubaLIF"])
def test_strong_input_overshooting_twice_the_threshold_is_identical(kind, reset, chain, assert_identical):
    """u > 2θ after a spike: snnTorch's reset_delay=False subtraction would deviate; the plugin's does not."""
    n = 3
    if kind == "IF":
        node = nir.IF(r=np.full(n, 400.0), v_threshold=np.ones(n), v_reset=np.zeros(n))
    elif kind == "LIF":
        node = nir.LIF(**LIF)
    else:
        node = nir.CubaLIF(
            tau_syn=np.full(n, 0.004),
            tau_mem=LIF["tau"],
            r=LIF["r"],
            v_leak=LIF["v_leak"],
            v_threshold=LIF["v_threshold"],
            v_reset=LIF["v_reset"],
            w_in=np.full(n, 2.0),
        )
    graph = chain(nir.Affine(weight=np.eye(n) * 60.0, bias=np.zeros(n)), node, n_in=n)
    x = RNG.uniform(0, 1, (2, 60, n))
    ours, _ = assert_identical(graph, x, Semantics(1e-3, reset=reset))
    assert ours.outputs["output"].mean() > 0.5
    if reset == "subtract":  # the membrane really stays above threshold after a subtraction
        assert (ours.states["l1"]["v"] > 1.3).any()


def test_nonzero_v_reset_and_v_leak_float32(chain, assert_identical):
    graph = _lif_graph(chain)
    x = RNG.uniform(0, 2, (2, 50, 3))
    ours = nirverse.run(graph, x, Semantics(1e-3), backend="snntorch", dtype="float32", record=True)
    ref = nirverse.run(graph, x, Semantics(1e-3), record=True)
    assert ours.outputs["output"].dtype == np.float32
    cmp = nirverse.compare(ours, ref, dtype="float32")
    assert cmp.identical, cmp


@pytest.mark.parametrize(
    "overrides, sem, field",
    [
        (dict(tau=np.array([0.01, 0.0005, 0.01])), Semantics(1e-3, method="euler"), "tau"),
        (dict(v_reset=np.array([0.0, 0.9, 0.0])), Semantics(1e-3, reset="value"), "v_reset"),
        (dict(v_leak=np.array([0.0, 0.9, 0.0])), Semantics(1e-3, reset="subtract"), "v_leak"),
    ],
)
def test_refusals_name_node_and_field(overrides, sem, field, chain, assert_identical):
    with pytest.raises(UnsupportedNodeError) as info:
        nirverse.run(_lif_graph(chain, **overrides), np.zeros((1, 2, 3)), sem, backend="snntorch")
    assert info.value.node == "l1" and info.value.field == field
    assert "neuron 1" in str(info.value)


def test_exp_method_accepts_tau_below_dt(chain, assert_identical):
    assert_identical(
        _lif_graph(chain, tau=np.array([0.01, 0.0005, 0.01])),
        RNG.uniform(0, 2, (1, 20, 3)),
        Semantics(1e-3, method="exp"),
    )


def test_cuba_with_zero_r_is_refused(chain, assert_identical):
    node = nir.CubaLI(
        tau_syn=np.ones(2) * 0.01,
        tau_mem=np.ones(2) * 0.01,
        r=np.array([1.0, 0.0]),
        v_leak=np.zeros(2),
        w_in=np.ones(2),
    )
    with pytest.raises(UnsupportedNodeError, match="'r'"):
        from_nir(chain(nir.Linear(weight=np.ones((2, 3))), node, n_out=2), Semantics(1e-3))


@pytest.mark.parametrize("r, dtype, refused", [
    (1e-139, "float64", True),  # fuzz: (s - K) / (r kappa) read the current back as 1e120
    (1e-310, "float64", True),  # subnormal r
    (1e-2, "float64", False),
    (1e-3, "float32", True),  # float32 loses the current's digits past K
    (1.0, "float32", False),
])
def test_cubalif_current_that_cannot_be_read_back_is_refused(r, dtype, refused, chain, assert_identical):
    """Fuzz finding (issue 20): a tiny r*kappa with v_leak != v_reset made the recorded current wrong."""
    node = nir.CubaLIF(tau_syn=np.full(2, 0.01), tau_mem=np.full(2, 0.01), r=np.full(2, r), v_leak=np.full(2, -0.4),
                       v_threshold=np.full(2, 0.5), v_reset=np.full(2, -0.5), w_in=np.full(2, 1.5))
    graph = chain(nir.Linear(weight=np.ones((2, 3))), node, n_out=2)
    sem, x = Semantics(1e-3, method="exp"), np.random.default_rng(20).uniform(0, 1, (1, 5, 3))
    if refused:
        with pytest.raises(UnsupportedNodeError, match="read back"):
            nirverse.run(graph, x, sem, backend="snntorch", dtype=dtype)
    else:
        assert_identical(graph, x, sem, dtype=dtype)


@pytest.mark.parametrize("latency", ["immediate", "one-step"])
def test_cycle_through_a_delay_and_a_scale(latency, chain, assert_identical):
    """input -> lif; lif -> delay(2 steps) -> scale -> lif: a cycle stepped with the Delay's ring buffer."""
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([3])),
            "lif": nir.LIF(**LIF),
            "delay": nir.Delay(delay=np.array([0.002, 0.001, 0.003])),
            "scale": nir.Scale(np.array([-0.5, 0.7, 0.4])),
            "output": nir.Output(np.array([3])),
        },
        edges=[("input", "lif"), ("lif", "delay"), ("delay", "scale"), ("scale", "lif"), ("lif", "output")],
        type_check=False,
    )
    assert_identical(graph, RNG.uniform(0, 30, (2, 40, 3)), Semantics(1e-3, latency=latency))


@pytest.mark.parametrize("kind", ["AvgPool2d", "SumPool2d"])
def test_pool_padding_beyond_half_the_kernel(kind, chain, assert_identical):
    cls = getattr(nir, kind)
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([2, 5, 5])),
            "pool": cls(kernel_size=np.array([3, 3]), stride=np.array([2, 1]), padding=np.array([2, 1])),
            "output": nir.Output(np.array([2, 4, 5])),
        },
        edges=[("input", "pool"), ("pool", "output")],
        type_check=False,
    )
    net = from_nir(graph, Semantics(1e-3))
    assert isinstance(net.layers[net.node_names.index("pool")], torch.nn.Sequential)
    assert_identical(graph, RNG.normal(size=(2, 3, 2, 5, 5)), Semantics(1e-3))


def test_network_forward_takes_batch_time_tensors(chain, assert_identical):
    net = from_nir(_lif_graph(chain), Semantics(1e-3), dtype="float32")
    out = net(torch.ones(4, 7, 3))
    assert out["output"].shape == (4, 7, 3) and out["output"].dtype == torch.float32


def test_network_is_differentiable_through_snntorch_surrogates(chain):
    net = from_nir(_lif_graph(chain), Semantics(1e-3))
    x = torch.full((2, 30, 3), 40.0, dtype=torch.float64, requires_grad=True)
    net(x)["output"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_input_path_folded_into_the_affine_makes_leaky_native():
    """Affine -> LI: κ r and κ v_leak are folded into the Affine (rows and bias); the Leaky then gets its
    input straight from torch (native) and the run is identical to the reference."""
    from nirverse.testing import graphs

    graph, sem = graphs.single_neuron("LI"), Semantics(1e-3, "exp", "value")
    labels = {label.type: label for label in nirverse.explain(graph, sem, backend="snntorch")}
    assert labels["LI"].level == "native" and "folded" in labels["LI"].reason
    net = from_nir(graph, sem)
    neuron = next(m for m in net.modules() if hasattr(m, "folded"))
    assert neuron.folded
    x = np.random.default_rng(0).normal(size=(2, 30, *nirverse.prepare(graph, sem).out_shapes["input"]))
    cmp = nirverse.compare(nirverse.run(graph, x, sem, backend="snntorch", record=True), nirverse.run(graph, x, sem, record=True))
    assert cmp.identical, cmp
