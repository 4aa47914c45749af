"""Learning digit by digit (each digit's validation accuracy per epoch, in the progress, the
stored curves, TensorBoard and the Runs page), and the sparse/one-hot labels toggle."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from digitlab import store
from digitlab.analysis import weights
from digitlab.data.mnist import prepare_split, unit_floats
from digitlab.inference.softmax import log_softmax
from digitlab.training.compile import loss_and_metrics
from digitlab.training.digit_curves import (
    digit_curves,
    digit_key,
    learning_order,
    per_digit_accuracy,
)
from digitlab.training.inputs import loss_labels
from digitlab.training.progress import TRAINED, DigitAccuracy
from digitlab.training.train import train
from digitlab.ui.digit_charts import digit_strip, order_caption
from digitlab.zoo.builders import build_model
from digitlab.zoo.config import ConfigError, TrainConfig
from digitlab.zoo.registry import CLASSIFICATION, REGRESSION

from helpers import TINY, new_app, open_page

ME = "session-under-test"


def test_per_digit_accuracy_counts_each_digits_images():
    labels = np.array([0, 0, 0, 0, 1, 1, 3])
    logits = np.eye(10)[[0, 0, 0, 5, 1, 2, 3]]  # one 0 read as a 5, one 1 as a 2
    assert per_digit_accuracy(logits, labels, CLASSIFICATION) == {0: 0.75, 1: 0.5, 3: 1.0}
    # A regression net answers its number rounded to a digit (clipped to 0..9).
    values = np.array([[0.4], [-2.0], [0.6], [0.2], [1.49], [9.7], [2.5]])
    assert per_digit_accuracy(values, labels, REGRESSION) == {0: 0.75, 1: 0.5, 3: 0.0}


def test_the_curves_come_back_from_a_history_and_give_the_learning_order():
    history = {"loss": [1.0, 0.5, 0.4], digit_key(7): [0.90, 0.99, 1.0]}
    history |= {digit_key(1): [0.99, 0.99, 1.0], digit_key(8): [0.5, 0.9, 0.95]}
    history |= {digit_key(2): [0.97, 0.98, 0.99]}
    curves = digit_curves(history)
    assert curves == {1: [0.99, 0.99, 1.0], 2: [0.97, 0.98, 0.99], 7: [0.90, 0.99, 1.0],
                      8: [0.5, 0.9, 0.95]}  # fmt: skip
    # 1 reached 98% at epoch 1, 2 and 7 at epoch 2 (2 better on average), 8 never.
    assert learning_order(curves) == [1, 2, 7, 8]
    assert order_caption(history).endswith("(first to reach 98% on validation): 1, 2, 7, 8.")
    assert digit_curves({"loss": [1.0]}) == {} and digit_strip({"loss": [1.0]}) is None

    figure = digit_strip(history)
    heatmap = figure.data[0]
    assert list(heatmap.x) == [1, 2, 3] and list(heatmap.y) == [str(d) for d in range(10)]
    assert heatmap.z[8] == [0.5, 0.9, 0.95] and heatmap.z[0] == [None] * 3  # 0 not validated
    assert heatmap.zmin == 0.5 and heatmap.zmax == 1.0


def test_a_regression_net_gets_rounded_accuracy_per_digit(mnist):
    images = unit_floats(mnist.x_test[:200])[..., None]
    labels = mnist.y_test[:200]
    model = build_model("regression")
    callback = DigitAccuracy(images, labels, REGRESSION)
    callback.set_model(model)
    logs = {"val_loss": 1.0}
    callback.on_epoch_end(0, logs)
    rounded = np.clip(np.rint(np.asarray(model(images)).reshape(-1)), 0, 9)
    for digit in range(10):
        expected = np.mean(rounded[labels == digit] == digit)
        assert logs[digit_key(digit)] == pytest.approx(expected), digit
    with pytest.raises(ConfigError, match="one-hot labels need a classifier"):
        TrainConfig(model="regression", labels="onehot")


def test_sparse_and_one_hot_cross_entropy_are_the_same_loss(mnist):
    sparse = TrainConfig(model="mlp_small")
    one_hot = sparse.replace(labels="onehot")
    images = unit_floats(mnist.x_train[:64])[..., None]
    digits = mnist.y_train[:64]
    keras.utils.set_random_seed(0)
    logits = build_model("mlp_small")(images, training=False)

    integers, rows = loss_labels(digits, sparse), loss_labels(digits, one_hot)
    assert integers.shape == (64,) and rows.shape == (64, 10)
    assert np.array_equal(rows.argmax(axis=1), digits) and np.all(rows.sum(axis=1) == 1)
    sparse_loss, (sparse_metric,) = loss_and_metrics(sparse)
    one_hot_loss, (one_hot_metric,) = loss_and_metrics(one_hot)
    assert isinstance(sparse_loss, keras.losses.SparseCategoricalCrossentropy)
    assert isinstance(one_hot_loss, keras.losses.CategoricalCrossentropy)
    from_integers = float(sparse_loss(integers, logits))
    from_rows = float(one_hot_loss(rows, logits))
    assert from_integers == pytest.approx(from_rows, abs=1e-6)
    # And both are the mean of -log p(true digit), computed apart in numpy.
    oracle = -log_softmax(np.asarray(logits, np.float64))[np.arange(64), digits].mean()
    assert from_integers == pytest.approx(oracle, abs=1e-5)
    assert sparse_metric.name == one_hot_metric.name == "accuracy"


def test_a_one_hot_run_trains_and_stores_its_curves_digit_by_digit(mnist):
    # One-hot rows reach the loss as they are: under the sparse loss they would not fit.
    config = TrainConfig(
        model="mlp_small",
        epochs=2,
        batch_size=32,
        train_samples=400,
        validation_split=0.25,
        labels="onehot",
    )
    events = []
    result = train(config, on_progress=events.append)
    assert result.status == TRAINED, result.message
    epoch_events = [event for event in events if event.kind == "epoch"]
    history = store.curves(result.run)[0]
    split = prepare_split(28, 400, 0.25, config.seed)
    counts = np.bincount(split.y_val, minlength=10)
    present = [digit for digit in range(10) if counts[digit]]
    assert len(present) == 10  # 100 validation images: every digit is there

    curves = digit_curves(history)
    assert sorted(curves) == present and all(len(values) == 2 for values in curves.values())
    for epoch, event in enumerate(epoch_events):  # streamed live, as stored
        assert [event.metrics[digit_key(d)] for d in present] == [curves[d][epoch] for d in present]
        # Weighted by each digit's images, they make Keras's own validation accuracy.
        overall = sum(curves[d][epoch] * counts[d] for d in present) / counts.sum()
        assert overall == pytest.approx(history["val_accuracy"][epoch], abs=1e-6)
    assert history["loss"][1] < history["loss"][0]  # it learns from one-hot rows
    assert history["val_accuracy"][-1] > 0.6

    # And TensorBoard has a scalar per digit, in the validation logs.
    scalars = weights.read_log(weights.logs_dir(result.run)).scalars["validation"]
    for digit in present:
        series = scalars[f"epoch_accuracy_digit_{digit}"]
        assert [step for step, _ in series] == [0, 1]
        assert [value for _, value in series] == pytest.approx(curves[digit], abs=1e-6)


def test_old_configs_load_as_sparse_and_keep_their_cache_keys():
    config = TrainConfig(model="mlp_small")
    stored = {key: value for key, value in config.to_dict().items() if key != "labels"}
    assert TrainConfig.from_dict(stored).labels == "sparse"
    assert TrainConfig.from_dict(stored).key() == config.key()
    assert config.replace(labels="onehot").key() != config.key()
    with pytest.raises(ConfigError, match="labels must be one of sparse, onehot"):
        config.replace(labels="soft")


def test_the_runs_page_shows_the_chosen_runs_digit_strip(trained_once):
    run = trained_once.copy(TINY, owner=ME)
    app = new_app("tiny20")
    app.session_state["session_owner"] = ME
    app = open_page(app.run(), "runs")
    app.selectbox(key="runs_model").set_value("tiny20").run()
    assert app.selectbox(key="runs_pick").value == run.id
    strip = [chart for chart in app.get("plotly_chart") if chart.key == "runs-digit-strip"]
    assert len(strip) == 1
    assert "validation accuracy per digit" in strip[0].proto.spec
    expected = order_caption(store.curves(run)[0])
    assert expected.startswith("The order it learned them")
    assert any(caption.value == expected for caption in app.caption)

    app.selectbox(key="runs_pick").set_value("tiny20").run()  # the shipped run: no curves
    assert not app.exception
    assert not [chart for chart in app.get("plotly_chart") if chart.key == "runs-digit-strip"]
    assert any("has no per-digit curves" in caption.value for caption in app.caption)
