"""The benchmark harness measures real runs and its report is generated from what it measured."""

from __future__ import annotations

import json

import pytest
from nirverse.graph import prepare
from nirverse.testing import bench, bench_report


@pytest.mark.parametrize("name", list(bench.NETWORKS))
def test_every_network_is_a_valid_plan(name):
    net = bench.NETWORKS[name]
    graph, x, sem = net.make(net.quick_sizes[0], True)
    plan = prepare(graph, sem)
    assert x.shape[2:] == plan.out_shapes[plan.inputs[0]]


def test_time_calls_counts_first_and_best():
    calls = []
    first, best = bench.time_calls(lambda: calls.append(1), 3)
    assert len(calls) == 4 and 0 <= best and 0 <= first


def test_a_measurement_in_a_fresh_process_and_the_page_from_it(tmp_path):
    out = tmp_path / "bench.json"
    bench.main(["--quick", "--backends", "reference", "--networks", "braille", "--repeats", "1",
                "--in-process", "braille", "--out", str(out)])
    result = json.loads(out.read_text())
    (row,) = result["rows"]
    assert row["warm_s"] > 0 and row["peak_rss_mb"] > 10 and row["warm_vs_reference"] == 1.0
    assert row["dense_products_s"] > 0  # the Braille RNN has dense products inside and outside its cycle
    assert result["in_process"][0]["backend"] == "reference"
    bench_report.main(["--results", str(out), "--out", str(tmp_path / "docs")])
    assert "| braille | 4 |" in (tmp_path / "docs" / "benchmarks.md").read_text()


def test_a_plugins_hand_written_model_is_measured_from_its_script(tmp_path):
    script = tmp_path / "packages" / "nirverse-demo" / "benchmarks" / "bench_demo.py"
    script.parent.mkdir(parents=True)
    script.write_text("import numpy as np\n\n\ndef native(network, graph, semantics, x):\n"
                      "    if network != 'braille':\n        return None\n"
                      "    return lambda: np.cumsum(x, axis=1)\n")
    assert bench.native_script("demo", tmp_path) == script and bench.native_script("other", tmp_path) is None
    row = bench.measure_native("demo", "braille", 4, True, 2, tmp_path)
    assert row["warm_s"] > 0 and row["steps_per_s"] > 0
    assert "skipped" in bench.measure_native("demo", "cnn", 1, True, 2, tmp_path)


@pytest.mark.parametrize("name", list(bench.NETWORKS))
def test_the_reference_runs_every_suite_network_as_the_literal_stepping_does(name):
    import numpy as np
    from nirverse.reference import simulate

    net = bench.NETWORKS[name]
    graph, x, sem = net.make(net.quick_sizes[0], True)
    plan = prepare(graph, sem)
    fast, _ = simulate(plan, {plan.inputs[0]: x[:2, :20]})
    slow, _ = simulate(plan, {plan.inputs[0]: x[:2, :20]}, stepwise=True)
    for k in slow:
        assert np.array_equal(fast[k], slow[k]) if plan.output_is_spikes(k) else np.abs(fast[k] - slow[k]).max() <= 1e-12
