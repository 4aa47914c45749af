"""TensorBoard logs kept with each run, read back without TensorFlow, and the Runs page's
Weights section: real training on small MNIST subsets, real event files, real processes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from digitlab import store
from digitlab.analysis import weights
from digitlab.training import runlog
from digitlab.training.progress import STOPPED, TRAINED
from digitlab.training.train import train
from digitlab.zoo.config import TrainConfig

from helpers import REPO_ROOT, new_app, open_page

ME = "session-under-test"
WEIGHTED = ("Dense", "Conv2D")


def test_a_run_keeps_its_logs_scalars_per_batch_and_epoch_and_weight_histograms(
    mnist, private_store
):
    # Augmented epochs then a clean one: two fits, one log with one batch axis.
    config = TrainConfig(
        model="cnn_small", epochs=2, train_samples=640, batch_size=32, augment=True, clean_epochs=1
    )
    result = train(config)
    assert result.status == TRAINED
    run = result.run
    assert weights.has_logs(run)
    assert weights.logs_dir(run) == run.path / "tensorboard"
    assert list((private_store / store.LOGS_TEMP_FOLDER).iterdir()) == []  # moved, not copied

    log = weights.read_log(weights.logs_dir(run))
    assert [step for step, _ in log.scalars["train"]["epoch_loss"]] == [0, 1]
    assert [step for step, _ in log.scalars["validation"]["epoch_loss"]] == [0, 1]
    assert np.allclose([v for _, v in log.scalars["train"]["epoch_loss"]], result.history["loss"])
    batch_steps = [step for step, _ in log.scalars["train"]["batch_loss"]]
    steps_per_epoch = -(-int(640 * 0.9) // 32)
    every = runlog.BATCH_LOG_EVERY
    assert batch_steps == list(range(every, 2 * steps_per_epoch + 1, every))  # across both fits
    assert "batch_accuracy" in log.scalars["train"]

    final = {layer.layer: layer for layer in weights.final_weights(run)}
    layers = [layer for layer in final.values() if layer.kind in WEIGHTED]
    assert [layer.kind for layer in layers] == ["Conv2D", "Conv2D", "Dense", "Dense"]
    for layer in layers:
        for name in ("kernel", "bias"):
            series = log.histograms[(layer.layer, name)]
            assert [epoch for epoch, _ in series] == [0, 1]
            last = series[-1][1]
            values = layer.weights[name]
            assert last.total == values.size  # every weight counted once
            assert last.left[0] == pytest.approx(values.min(), abs=1e-6)
            assert last.right[-1] == pytest.approx(values.max(), abs=1e-6)

    rows = weights.epoch_histograms(run)
    first_conv = layers[0].layer  # "conv2d", or "conv2d_29" after other models were built
    assert [(row.layer, row.weight) for row in rows[:2]] == [
        (first_conv, "kernel"),
        (first_conv, "bias"),
    ]
    assert {(row.first_epoch, row.last_epoch) for row in rows} == {(1, 2)}
    assert not np.allclose(rows[0].first.counts, rows[0].last.counts)  # training moved them


def test_batch_steps_count_batches_when_keras_calls_back_once_per_execution(mnist):
    config = TrainConfig(
        model="mlp_small", epochs=1, train_samples=640, batch_size=32, steps_per_execution=4
    )
    run = train(config).run
    log = weights.read_log(weights.logs_dir(run))
    # 18 batches, called back after batches 4, 8, 12, 16 and 18: the first 10 apart is 12.
    assert [step for step, _ in log.scalars["train"]["batch_loss"]] == [12]


def test_a_stopped_run_leaves_no_logs(mnist, private_store):
    config = TrainConfig(model="mlp_small", epochs=2, train_samples=600, batch_size=32)
    result = train(config, should_stop=lambda: True)
    assert result.status == STOPPED and result.run is None
    assert list((private_store / store.LOGS_TEMP_FOLDER).iterdir()) == []
    assert list((private_store / store.RUNS_FOLDER).iterdir()) == []


_TRAINER = """
import sys, time
from pathlib import Path
from digitlab import store
folder = store.new_logs_dir(Path(sys.argv[1]))
(folder / "train").mkdir()
(folder / "train" / "events.out.tfevents.0.host.0.v2").write_bytes(b"half a record")
print(folder.name, flush=True)
time.sleep(60)
"""


def test_a_killed_trainers_logs_are_kept_while_it_lives_and_removed_after(private_store):
    child = subprocess.Popen(
        [sys.executable, "-c", _TRAINER, str(private_store)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    name = child.stdout.readline().strip()
    assert name.startswith(f"{child.pid}-")
    assert store.reconcile(private_store)["removed_logs"] == []  # still training: kept
    child.kill()
    child.wait(timeout=30)
    # What jobs.py does after a stopped (killed) job, and every process on its first use.
    assert store.reconcile(private_store)["removed_logs"] == [name]
    assert list((private_store / store.LOGS_TEMP_FOLDER).iterdir()) == []


@pytest.mark.parametrize(("model", "filters"), [("digitnet", (16, 5, 5)), ("cnn", (32, 3, 3))])
def test_a_shipped_runs_final_weights_and_filters_match_keras(model, filters):
    run = store.shipped_run(model)
    assert not weights.has_logs(run) and weights.epoch_histograms(run) == []
    keras_model = run.load()  # the oracle: Keras's own reading of the same file
    expected = [layer for layer in keras_model.layers if layer.weights]
    read = weights.final_weights(run)
    assert [layer.layer for layer in read] == [layer.name for layer in expected]
    for ours, theirs in zip(read, expected, strict=True):
        assert ours.kind == type(theirs).__name__
        for weight in theirs.weights:
            assert np.array_equal(ours.weights[weight.name], np.asarray(weight))
    kernel = np.asarray(expected[0].kernel)
    grid = weights.first_conv_filters(run)
    assert grid.shape == filters
    assert np.array_equal(grid[3], kernel[:, :, 0, 3])
    histograms = weights.final_histograms(run)
    assert [(layer, name) for layer, name, _ in histograms][:2] == [
        ("conv2d", "kernel"),
        ("conv2d", "bias"),
    ]
    assert histograms[0][2].total == kernel.size


def test_an_mlp_has_no_filters_and_the_reader_needs_no_tensorflow():
    code = (
        "import sys; from digitlab import store; from digitlab.analysis import weights; "
        "run = store.shipped_run('mlp'); "
        "assert weights.first_conv_filters(run) is None; "
        "assert len(weights.final_histograms(run)) == 6; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=120)


def _charts(app) -> list[str]:
    """The weights view's charts (the page also shows the run's per-digit strip)."""
    charts = app.get("plotly_chart")
    return [chart.proto.spec for chart in charts if chart.key.startswith("weights")]


def test_the_runs_page_shows_a_runs_weights_and_a_shipped_runs_final_ones(mnist):
    config = TrainConfig(model="cnn_small", epochs=2, train_samples=300, batch_size=64)
    run = train(config, owner=ME).run
    app = new_app("cnn_small")
    app.session_state["session_owner"] = ME
    app = open_page(app.run(), "runs")
    app.selectbox(key="runs_model").set_value("cnn_small").run()
    app.selectbox(key="runs_pick").set_value(run.id).run()
    assert not _charts(app)  # nothing read until asked
    app.toggle(key="runs_weights").set_value(True).run()
    assert not app.exception
    charts = _charts(app)
    assert len(charts) == 4 * 2 + 1  # kernel and bias of 4 layers, and the filters
    assert "first epoch" in charts[0] and "epoch 2" in charts[0]
    assert any("after epoch 1 and after epoch 2" in caption.value for caption in app.caption)

    app.selectbox(key="runs_pick").set_value("cnn_small").run()
    assert not app.exception
    assert "without TensorBoard logs" in app.info[0].value
    charts = _charts(app)
    assert len(charts) == 4 * 2 + 1
    assert "first epoch" not in charts[0] and "final" in charts[0]


def test_the_weights_legend_sits_under_the_plot_clear_of_its_toolbar():
    """Plotly shows its toolbar at the top right on hover: the legend was there too."""
    from digitlab.ui.weight_charts import weight_distribution

    values = np.random.default_rng(0).normal(size=500)
    figure = weight_distribution(
        "dense/kernel", weights.Histogram.of(values), weights.Histogram.of(values / 2)
    )
    legend = figure.layout.legend
    assert figure.layout.showlegend and legend.y < 0 and legend.yanchor == "top"
