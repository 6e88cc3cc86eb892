"""The dataset adapter on synthetic data: a Tonic Dataset subclass, a list, an N-MNIST file."""

import nir
import nirverse_tonic as nt
import numpy as np
import pytest
from nirverse import InvalidInputError, Semantics

tonic = pytest.importorskip("tonic", reason="pip install tonic")


class SyntheticNMNIST(tonic.Dataset):
    """A Tonic dataset with N-MNIST's sensor and dtype whose samples are made, not downloaded."""

    sensor_size = tonic.datasets.NMNIST.sensor_size
    dtype = tonic.datasets.NMNIST.dtype

    def __init__(self, samples, targets, transform=None):
        super().__init__(save_to=".", transform=transform)
        self.data, self.targets = samples, targets

    def __getitem__(self, index):
        events = self.data[index]
        if self.transform is not None:
            events = self.transform(events)
        return events, self.targets[index]

    def __len__(self):
        return len(self.data)


def _graph():
    shape = np.array([2, 34, 34])
    return nir.NIRGraph(
        nodes={"input": nir.Input({"input": shape}), "output": nir.Output({"output": shape})}, edges=[("input", "output")]
    )


def test_batches_of_a_tonic_dataset(make_events):
    samples = [make_events(n, t_end=t) for n, t in [(300, 20_000), (50, 5_000), (400, 31_000), (10, 2_000), (99, 9_000)]]
    dataset = SyntheticNMNIST(samples, [3, 1, 4, 1, 5])
    transform = nt.ToGraphInput(_graph(), Semantics(1e-3), dataset.sensor_size)
    got = list(nt.batches(dataset, transform, batch_size=2))
    assert [x.shape for x, _ in got] == [(2, 20, 2, 34, 34), (2, 31, 2, 34, 34), (1, 9, 2, 34, 34)]
    assert [t for _, t in got] == [[3, 1], [4, 1], [5]]
    for (x, _), pair in zip(got, [samples[0:2], samples[2:4], samples[4:]], strict=True):
        np.testing.assert_array_equal(x, transform.batch(pair))
    # the same transform works as the dataset's own per-sample transform, Tonic style
    shaped = SyntheticNMNIST(samples, [0] * 5, transform=transform)
    np.testing.assert_array_equal(shaped[2][0], got[1][0][0])
    assert len(list(nt.batches(dataset, transform, batch_size=4, limit=3))[0][1]) == 3


def test_a_plain_list_of_event_arrays(make_events):
    samples = [make_events(100, t_end=10_000) for _ in range(3)]
    transform = nt.ToGraphInput(_graph(), Semantics(1e-3), (34, 34, 2), n_steps=8)
    (x, targets), = nt.batches(samples, transform, batch_size=8)
    assert x.shape == (3, 8, 2, 34, 34) and targets == [None] * 3


def test_a_synthetic_n_mnist_file_read_by_tonic(tmp_path, make_events):
    # N-MNIST's .bin format: 5 bytes per event, x, y, p<<7 | t[22:16], t[15:8], t[7:0]
    ev = make_events(500, t_end=2**23)
    raw = np.zeros((len(ev), 5), dtype=np.uint8)
    raw[:, 0], raw[:, 1] = ev["x"], ev["y"]
    raw[:, 2] = (ev["p"] << 7) | ((ev["t"] >> 16) & 127)
    raw[:, 3], raw[:, 4] = (ev["t"] >> 8) & 255, ev["t"] & 255
    path = tmp_path / "00001.bin"
    raw.tofile(path)
    read = tonic.io.read_mnist_file(str(path), dtype=tonic.datasets.NMNIST.dtype)
    np.testing.assert_array_equal(read, ev)
    data = nt.to_event_data(read, tonic.datasets.NMNIST.sensor_size)
    np.testing.assert_array_equal(nt.from_event_data(data, (34, 34, 2), dtype=read.dtype)[0], ev)


def test_refusals(make_events):
    transform = nt.ToGraphInput(_graph(), Semantics(1e-3), (34, 34, 2))
    dvs = SyntheticNMNIST([make_events(5)], [0])
    dvs.sensor_size = (128, 128, 2)
    with pytest.raises(InvalidInputError, match="field 'sensor_size'"):
        next(nt.batches(dvs, transform))
    framed = SyntheticNMNIST([make_events(5)], [0], transform=transform)
    with pytest.raises(InvalidInputError, match="field 'dataset'.*transform=None"):
        next(nt.batches(framed, transform))
    with pytest.raises(InvalidInputError, match="field 'batch_size'"):
        next(nt.batches([make_events(5)], transform, batch_size=0))
    with pytest.raises(InvalidInputError, match="field 'transform'"):
        next(nt.batches([make_events(5)], lambda ev: ev))
