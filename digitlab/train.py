"""Train a zoo model from a config, streaming progress, and store the result.

`train(config, on_progress, should_stop)` is the one entry point. A config trained before
comes straight from the store; a run that is stopped or whose loss turns NaN stores
nothing, so the model in use stays the previous one.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from digitlab import data, store
from digitlab.augment import make_augment_fn
from digitlab.config import TrainConfig
from digitlab.metrics import score_on_test_set
from digitlab.models import CLASSIFICATION, get_spec

# Keras warns that fit's shuffle flag is ignored for a tf.data input: the dataset shuffles.
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")

# Outcomes of a run.
TRAINED, CACHED, STOPPED, DIVERGED = "trained", "cached", "stopped", "diverged"


@dataclass(frozen=True)
class ProgressEvent:
    """One step of progress: after a batch (`kind="batch"`) or after an epoch."""

    kind: str  # "batch" or "epoch"
    epoch: int  # 1-based
    epochs: int
    batch: int  # 1-based batch within the epoch (the last one for epoch events)
    steps: int  # batches per epoch
    metrics: dict[str, float]  # loss, accuracy or mae; epoch events add val_ metrics
    elapsed_s: float

    @property
    def fraction(self) -> float:
        """Share of the whole run done so far, 0..1."""
        return ((self.epoch - 1) * self.steps + self.batch) / (self.epochs * self.steps)


@dataclass
class TrainResult:
    status: str  # TRAINED, CACHED, STOPPED or DIVERGED
    config: TrainConfig
    entry: store.StoredModel | None = None  # None unless trained or cached
    message: str = ""
    history: dict[str, list[float]] = field(default_factory=dict)
    elapsed_s: float = 0.0


ProgressFn = Callable[[ProgressEvent], None]
StopFn = Callable[[], bool]


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def prepare_data(config: TrainConfig) -> Split:
    """Float images in [0, 1] with a channel axis; a seeded, held-out validation split."""
    spec = get_spec(config.model)
    mnist = data.load_mnist()
    if spec.input_size == 20:
        x_all, y_all = data.tiny20_dataset()
        x_test = data.downscale_to_20(mnist.x_test)
    else:
        x_all, y_all = mnist.x_train.astype(np.float32) / 255.0, mnist.y_train
        x_test = mnist.x_test.astype(np.float32) / 255.0
    order = np.random.default_rng(config.seed).permutation(len(x_all))[: config.train_samples]
    x_all, y_all = x_all[order], y_all[order]
    n_val = int(round(len(x_all) * config.validation_split))
    n_train = len(x_all) - n_val
    return Split(
        x_train=x_all[:n_train, ..., None],
        y_train=y_all[:n_train],
        x_val=x_all[n_train:, ..., None],
        y_val=y_all[n_train:],
        x_test=np.asarray(x_test, np.float32)[..., None],
        y_test=np.asarray(mnist.y_test),
    )


def distribution_strategy() -> tf.distribute.Strategy:
    """How training spreads over devices: the default strategy on a CPU or a single GPU,
    MirroredStrategy when several GPUs are visible, MultiWorkerMirroredStrategy when
    TF_CONFIG describes a cluster of machines."""
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _optimizer(config: TrainConfig, total_steps: int) -> keras.optimizers.Optimizer:
    learning_rate: Any = config.learning_rate
    if config.schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, total_steps)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    return keras.optimizers.Adam(learning_rate)


def _compile(model: keras.Model, config: TrainConfig, total_steps: int) -> None:
    if get_spec(config.model).task == CLASSIFICATION:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    else:
        loss = keras.losses.Huber() if config.loss == "huber" else keras.losses.MeanSquaredError()
        metrics = [keras.metrics.MeanAbsoluteError(name="mae")]
    model.compile(optimizer=_optimizer(config, total_steps), loss=loss, metrics=metrics)


def _dataset(x: np.ndarray, y: np.ndarray, config: TrainConfig, training: bool):
    labels = y.astype(np.float32 if get_spec(config.model).task != CLASSIFICATION else np.int32)
    dataset = tf.data.Dataset.from_tensor_slices((x, labels))
    if training:
        dataset = dataset.shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(config.batch_size)
    if training and config.augment:
        dataset = dataset.map(make_augment_fn(config.seed), num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


class _ProgressCallback(keras.callbacks.Callback):
    """Streams metrics, obeys a stop request within one batch, and stops on a NaN loss."""

    def __init__(self, config: TrainConfig, steps: int, on_progress, should_stop) -> None:
        super().__init__()
        self.config, self.steps = config, steps
        self.on_progress, self.should_stop = on_progress, should_stop
        self.epoch = 1
        self.started = time.perf_counter()
        self.stopped = False
        self.diverged_at: tuple[int, int] | None = None

    def _emit(self, kind: str, batch: int, logs: dict | None) -> None:
        if self.on_progress is None:
            return
        metrics = {name: float(value) for name, value in (logs or {}).items()}
        elapsed = time.perf_counter() - self.started
        event = ProgressEvent(
            kind, self.epoch, self.config.epochs, batch, self.steps, metrics, elapsed
        )
        self.on_progress(event)

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            self.diverged_at = (self.epoch, batch + 1)
            self.model.stop_training = True
            return
        self._emit("batch", batch + 1, logs)
        if self.should_stop is not None and self.should_stop():
            self.stopped = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self.diverged_at is None and not self.stopped:
            self._emit("epoch", self.steps, logs)


def _callbacks(config: TrainConfig, progress: _ProgressCallback) -> list:
    callbacks: list = [progress]
    if config.early_stopping_patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                patience=config.early_stopping_patience, restore_best_weights=True
            )
        )
    if config.reduce_lr_on_plateau:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=1))
    return callbacks


def train(
    config: TrainConfig,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    root: Path | None = None,
    folder: str | None = None,
) -> TrainResult:
    """Train `config` (or fetch it from the store) and store the finished model.

    `on_progress` receives a ProgressEvent after every batch and epoch; `should_stop` is
    polled after every batch. `root`/`folder` choose where the model is stored (the user
    store by config key by default; the shipping command uses assets/models/<name>).
    """
    started = time.perf_counter()
    cached = store.read_entry((root or store.store_dir()) / (folder or config.key()))
    if cached is not None and cached.config == config:
        return TrainResult(
            CACHED, config, cached, "Trained before: loaded from the store.", cached.history
        )

    keras.utils.set_random_seed(config.seed)
    split = prepare_data(config)
    spec = get_spec(config.model)
    steps = math.ceil(len(split.x_train) / config.batch_size)
    with distribution_strategy().scope():  # variables live where the strategy puts them
        model = spec.build(config.dropout)
        _compile(model, config, steps * config.epochs)
    progress = _ProgressCallback(config, steps, on_progress, should_stop)
    has_val = len(split.x_val) > 0
    fit = model.fit(
        _dataset(split.x_train, split.y_train, config, training=True),
        validation_data=_dataset(split.x_val, split.y_val, config, False) if has_val else None,
        epochs=config.epochs,
        callbacks=_callbacks(config, progress),
        verbose=0,
    )
    history = {name: [float(v) for v in values] for name, values in fit.history.items()}
    elapsed = time.perf_counter() - started

    if progress.diverged_at is not None:
        epoch, batch = progress.diverged_at
        message = (
            f"Training diverged: the loss became NaN or infinite at epoch {epoch}, "
            f"batch {batch}. "
            f"Nothing was saved and the previous model is kept. Try a learning rate below "
            f"{config.learning_rate:g}."
        )
        return TrainResult(DIVERGED, config, None, message, history, elapsed)
    if progress.stopped:
        message = "Stopped on request. Nothing was saved and the previous model is kept."
        return TrainResult(STOPPED, config, None, message, history, elapsed)

    metrics = score_on_test_set(model, spec, split.x_test, split.y_test)
    metrics.update(train_seconds=round(elapsed, 2), epochs_run=len(history.get("loss", [])))
    entry = store.save(model, config, history, metrics, root=root, folder=folder)
    return TrainResult(TRAINED, config, entry, "Trained and stored.", history, elapsed)
