"""Conv1d/Conv2d/SumPool2d/AvgPool2d/Flatten against torch.nn.functional (float64)."""

import nir
import nirverse
import numpy as np
import pytest
from nirverse import Semantics
from nirverse.testing import graphs

torch = pytest.importorskip("torch")
F = torch.nn.functional


def run_node(node, x):
    return nirverse.run(graphs.around(node, x.shape[2:]), x, Semantics(1e-3)).outputs["output"]


def as_torch(x):
    return torch.from_numpy(x.reshape(-1, *x.shape[2:]))


CONV2D = [
    dict(stride=1, padding=0, dilation=1, groups=1),
    dict(stride=2, padding=1, dilation=1, groups=1),
    dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=1),
    dict(stride=1, padding="same", dilation=2, groups=2),
    dict(stride=1, padding="same", dilation=1, groups=1, kernel=(4, 3)),  # even kernel: asymmetric 'same'
    dict(stride=3, padding="valid", dilation=1, groups=4),
]


@pytest.mark.parametrize("cfg", CONV2D, ids=str)
def test_conv2d(cfg, rng):
    kh, kw = cfg.get("kernel", (3, 3))
    groups = cfg["groups"]
    weight = rng.normal(size=(4, 4 // groups, kh, kw))
    bias = rng.normal(size=4)
    x = rng.normal(size=(2, 3, 4, 9, 8))
    node = nir.Conv2d(input_shape=(9, 8), weight=weight, stride=cfg["stride"], padding=cfg["padding"],
                      dilation=cfg["dilation"], groups=groups, bias=bias)
    ours = run_node(node, x)
    theirs = F.conv2d(as_torch(x), torch.from_numpy(weight), torch.from_numpy(bias), stride=cfg["stride"],
                      padding=cfg["padding"], dilation=cfg["dilation"], groups=groups).numpy()
    assert ours.shape == (2, 3, *theirs.shape[1:])
    assert np.allclose(ours.reshape(theirs.shape), theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cfg", [dict(stride=1, padding=0, dilation=1, groups=1),
                                 dict(stride=2, padding=2, dilation=3, groups=2),
                                 dict(stride=1, padding="same", dilation=2, groups=1)], ids=str)
def test_conv1d(cfg, rng):
    weight = rng.normal(size=(4, 4 // cfg["groups"], 3))
    bias = rng.normal(size=4)
    x = rng.normal(size=(2, 3, 4, 11))
    node = nir.Conv1d(input_shape=11, weight=weight, bias=bias, **cfg)
    ours = run_node(node, x)
    theirs = F.conv1d(as_torch(x), torch.from_numpy(weight), torch.from_numpy(bias), **cfg).numpy()
    assert np.allclose(ours.reshape(theirs.shape), theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel, stride, padding", [((2, 2), (2, 2), (0, 0)), ((3, 2), (1, 2), (1, 1)), ((3, 3), (2, 1), (1, 0))])
def test_pooling(kernel, stride, padding, rng):
    x = rng.normal(size=(2, 3, 3, 8, 7))
    avg = run_node(nir.AvgPool2d(np.array(kernel), np.array(stride), np.array(padding)), x)
    ref_avg = F.avg_pool2d(as_torch(x), kernel, stride, padding, count_include_pad=True).numpy()
    assert np.allclose(avg.reshape(ref_avg.shape), ref_avg, rtol=1e-12, atol=1e-12)
    total = run_node(nir.SumPool2d(np.array(kernel), np.array(stride), np.array(padding)), x)
    assert np.allclose(total.reshape(ref_avg.shape), ref_avg * kernel[0] * kernel[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("start, end", [(0, -1), (1, 2), (0, 1)])
def test_flatten(start, end, rng):
    x = rng.normal(size=(2, 3, 2, 3, 4))
    ours = run_node(nir.Flatten(input_type={"input": np.array([2, 3, 4])}, start_dim=start, end_dim=end), x)
    theirs = torch.flatten(as_torch(x), start + 1, end if end < 0 else end + 1).numpy()
    assert np.array_equal(ours.reshape(theirs.shape), theirs)
