"""Train a zoo model from a config, streaming progress, and store the result.

`train(config, on_progress, should_stop)` is the one entry point. A config trained before
comes straight from the store; a run that is stopped or whose loss turns NaN stores
nothing, so the model in use stays the previous one.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from digitlab import store
from digitlab.data import handdrawn
from digitlab.data import mnist as data
from digitlab.data.augment import make_augment_fn
from digitlab.data.batch import model_batch
from digitlab.data.notdigits import NOT_A_DIGIT
from digitlab.inference import abstention
from digitlab.inference.metrics import model_outputs, score_on_test_set
from digitlab.training import runlog
from digitlab.zoo.builders import build_model
from digitlab.zoo.config import MNIST_TRAIN_SIZE, TrainConfig
from digitlab.zoo.registry import CLASSIFICATION, get_spec

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
    run: store.Run | None = None  # None unless trained or cached
    message: str = ""
    history: dict[str, list[float]] = field(default_factory=dict)
    elapsed_s: float = 0.0


ProgressFn = Callable[[ProgressEvent], None]
PhaseFn = Callable[[str], None]  # "loading data", "building", "training", "testing", "saving"
StopFn = Callable[[], bool]


def _no_phase(name: str) -> None:
    pass


def distribution_strategy() -> tf.distribute.Strategy:
    """How training spreads over devices: the default strategy on a CPU or a single GPU,
    MirroredStrategy when several GPUs are visible, MultiWorkerMirroredStrategy when
    TF_CONFIG describes a cluster of machines."""
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


@keras.saving.register_keras_serializable(package="digitlab")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """The one-cycle schedule (Smith 2018): a linear warm-up from peak/25 to the peak over
    the first `warmup` share of the steps, then a cosine anneal down to peak/10,000."""

    def __init__(self, peak: float, total_steps: int, warmup: float = 0.25) -> None:
        self.peak, self.total_steps, self.warmup = peak, total_steps, warmup

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warm_steps = max(1.0, round(self.total_steps * self.warmup))
        start, end = self.peak / 25, self.peak / 1e4
        rising = start + (self.peak - start) * step / warm_steps
        done = keras.ops.clip((step - warm_steps) / max(1.0, self.total_steps - warm_steps), 0, 1)
        falling = end + (self.peak - end) * 0.5 * (1 + keras.ops.cos(math.pi * done))
        return keras.ops.where(step < warm_steps, rising, falling)

    def get_config(self) -> dict[str, Any]:
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup": self.warmup}


def _learning_rate(config: TrainConfig, total_steps: int, steps_per_epoch: int) -> Any:
    """A number, or the schedule that moves it over all steps."""
    if config.schedule == "step":
        return keras.optimizers.schedules.ExponentialDecay(
            config.learning_rate,
            decay_steps=config.step_epochs * steps_per_epoch,
            decay_rate=config.step_factor,
            staircase=True,  # a step every step_epochs epochs, flat in between
        )
    if config.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(config.learning_rate, total_steps)
    if config.schedule == "onecycle":
        return OneCycle(config.learning_rate, total_steps)
    return config.learning_rate


def _optimizer(
    config: TrainConfig, total_steps: int, steps_per_epoch: int = 1
) -> keras.optimizers.Optimizer:
    learning_rate = _learning_rate(config, total_steps, steps_per_epoch)
    clipping = {"clipnorm": config.clip_norm or None, "clipvalue": config.clip_value or None}
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(
            learning_rate, momentum=config.momentum, nesterov=config.nesterov, **clipping
        )
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, **clipping)
    if config.optimizer == "adagrad":
        return keras.optimizers.Adagrad(learning_rate, **clipping)
    return keras.optimizers.Adam(
        learning_rate, beta_1=config.beta_1, beta_2=config.beta_2, **clipping
    )


def _one_hot_labels(config: TrainConfig) -> bool:
    """Label smoothing and not-a-digit drawings (a flat target) need one-hot rows."""
    is_classifier = get_spec(config.model).task == CLASSIFICATION
    return is_classifier and bool(config.label_smoothing or config.not_digits)


def _compile(
    model: keras.Model, config: TrainConfig, total_steps: int, steps_per_epoch: int = 1
) -> None:
    if _one_hot_labels(config):
        loss = keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=config.label_smoothing
        )
        metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]
    elif get_spec(config.model).task == CLASSIFICATION:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    else:
        loss = (
            keras.losses.Huber(delta=config.huber_delta)
            if config.loss == "huber"
            else keras.losses.MeanSquaredError()
        )
        metrics = [keras.metrics.MeanAbsoluteError(name="mae")]
    model.compile(
        optimizer=_optimizer(config, total_steps, steps_per_epoch),
        loss=loss,
        metrics=metrics,
        steps_per_execution=config.steps_per_execution,
    )


def _labels(y: np.ndarray, config: TrainConfig) -> np.ndarray:
    """Labels as the loss wants them: digits, one-hot rows or numbers. A not-a-digit
    drawing's row is flat, 0.1 each: "no digit more than another" (outlier exposure)."""
    if get_spec(config.model).task != CLASSIFICATION:
        return y.astype(np.float32)
    if _one_hot_labels(config):
        rows = np.vstack([np.eye(10, dtype=np.float32), np.full(10, 0.1, np.float32)])
        return rows[np.where(y == NOT_A_DIGIT, 10, y)]
    return y.astype(np.int32)


def _training_data(split: data.Split, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's training images plus what the config adds (handdrawn.training_extras), in
    proportion to the share of MNIST it trains on."""
    extras = handdrawn.training_extras(
        config.pen_digits,
        config.not_digits,
        share=config.train_samples / MNIST_TRAIN_SIZE,
        seed=config.seed,
    )
    if not len(extras):
        return split.x_train, split.y_train
    size = get_spec(config.model).input_size
    more = model_batch(extras.images, size)
    return (
        np.concatenate([split.x_train, more]),
        np.concatenate([split.y_train.astype(np.int64), extras.labels]),
    )


def abstention_threshold(model: keras.Model, config: TrainConfig) -> dict[str, float]:
    """A not-digits model's threshold, chosen on the tuning writers' digits (as written
    and re-slanted: 1,500 digits, so the quantile rests on more than a handful)."""
    size = get_spec(config.model).input_size
    tune = handdrawn.pen_digits("tune") + handdrawn.pen_digit_variants("tune")
    images = model_batch(tune.images, size)
    threshold = abstention.choose_threshold(model_outputs(model, images))
    return {"abstain_below": threshold}


def _augmented(x: np.ndarray, y: np.ndarray, config: TrainConfig):
    """Shuffled batches, each distorted as a whole inside the graph as people draw."""
    dataset = tf.data.Dataset.from_tensor_slices((x, _labels(y, config)))
    dataset = dataset.shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(config.batch_size)
    dataset = dataset.map(make_augment_fn(config.seed), num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _floats(logs: dict | None) -> dict[str, float]:
    return {name: float(value) for name, value in (logs or {}).items()}


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
        self.batch_rows: list[dict[str, float]] = []  # position on the epoch axis + metrics

    def _emit(self, kind: str, batch: int, logs: dict | None) -> None:
        if self.on_progress is None:
            return
        metrics = _floats(logs)
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
        position = self.epoch - 1 + (batch + 1) / self.steps
        self.batch_rows.append({"position": round(position, 4), **_floats(logs)})
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
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                factor=config.plateau_factor,
                patience=config.plateau_patience,
                min_lr=config.plateau_min_lr,
            )
        )
    if config.keep_best:
        callbacks.append(KeepBestEpoch())
    return callbacks


class KeepBestEpoch(keras.callbacks.Callback):
    """ModelCheckpoint's save-best-only, in memory: at the end of training the model holds
    the weights of the epoch with the lowest validation loss, and says which it was."""

    def __init__(self) -> None:
        super().__init__()
        self.best_loss, self.best_epoch, self.best_weights = math.inf, 0, None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        loss = float((logs or {}).get("val_loss", math.inf))
        if loss < self.best_loss:
            self.best_loss, self.best_epoch = loss, epoch + 1
            self.best_weights = self.model.get_weights()

    def restore(self) -> None:
        """Put the best epoch's weights back (after every fit phase, not between them)."""
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


MAX_BATCH_ROWS = 1000  # per-batch points kept with a run: enough for a smooth curve


def _thin(rows: list[dict[str, Any]], limit: int = MAX_BATCH_ROWS) -> list[dict[str, Any]]:
    """Every k-th row (and the last), so that at most about `limit` remain."""
    if len(rows) <= limit:
        return rows
    step = math.ceil(len(rows) / limit)
    return rows[::step] + ([rows[-1]] if (len(rows) - 1) % step else [])


@dataclass
class TrainedModel:
    """A finished fit, not stored yet: what a process or a cluster worker hands back."""

    status: str  # TRAINED, STOPPED or DIVERGED
    message: str
    model: keras.Model | None  # None unless TRAINED
    history: dict[str, list[float]]
    batches: list[dict[str, float]]
    metrics: dict[str, Any]
    seconds: float


def train_model(
    config: TrainConfig,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    on_phase: PhaseFn = _no_phase,
    logs: Path | None = None,
) -> TrainedModel:
    """Fit `config` and score it on the MNIST test set; stores nothing (TensorBoard logs
    go to `logs` if given)."""
    started = time.perf_counter()
    model, history, progress, split = fit(config, on_progress, should_stop, on_phase, logs)
    elapsed = time.perf_counter() - started
    batches = _thin(progress.batch_rows)
    if progress.diverged_at is not None:
        epoch, batch = progress.diverged_at
        message = (
            f"Training diverged: the loss became NaN or infinite at epoch {epoch}, "
            f"batch {batch}. "
            f"Nothing was saved and the previous model is kept. Try a learning rate below "
            f"{config.learning_rate:g}."
        )
        return TrainedModel(DIVERGED, message, None, history, batches, {}, elapsed)
    if progress.stopped:
        message = "Stopped on request. Nothing was saved and the previous model is kept."
        return TrainedModel(STOPPED, message, None, history, batches, {}, elapsed)
    on_phase("testing")
    metrics = score_on_test_set(model, get_spec(config.model), split.x_test, split.y_test)
    metrics.update(train_seconds=round(elapsed, 2), epochs_run=len(history.get("loss", [])))
    if config.not_digits:
        metrics.update(abstention_threshold(model, config))
    if config.keep_best and history.get("val_loss"):
        # The stored weights are this epoch's (KeepBestEpoch): say which.
        metrics["best_epoch"] = int(np.argmin(history["val_loss"])) + 1
    seconds = time.perf_counter() - started
    return TrainedModel(TRAINED, "", model, history, batches, metrics, seconds)


def train(
    config: TrainConfig,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    root: Path | None = None,
    owner: str | None = None,
    on_phase: PhaseFn = _no_phase,
) -> TrainResult:
    """Train `config` (or find it among the stored runs) and store the result as a new run.

    `on_progress` receives a ProgressEvent after every batch and epoch; `should_stop` is
    polled after every batch. `root` is the store (the default store directory if None);
    `owner` is the browser session the run belongs to (None: the command line);
    `on_phase` hears the name of each phase as it begins.
    """
    started = time.perf_counter()
    cached = store.find_by_config(config, root)
    if cached is not None:
        message = f"Trained before with exactly these settings: {cached.describe()}."
        return TrainResult(CACHED, config, cached, message, cached.history or {})
    logs = store.new_logs_dir(root)
    try:
        trained = train_model(config, on_progress, should_stop, on_phase, logs)
        if trained.status != TRAINED:
            return TrainResult(
                trained.status, config, None, trained.message, trained.history, trained.seconds
            )
        on_phase("saving")
        run = store.save_run(
            trained.model,
            config,
            trained.history,
            trained.metrics,
            seconds=round(time.perf_counter() - started, 2),
            batches=trained.batches,
            owner=owner,
            root=root,
            logs=logs,
        )
    finally:
        # Stored, the logs moved into the run; stopped, diverged or failed, none may stay.
        shutil.rmtree(logs, ignore_errors=True)
    message = store.stored_message(run)
    return TrainResult(TRAINED, config, run, message, trained.history, trained.seconds)


def event_fields(event: ProgressEvent) -> dict[str, Any]:
    """A ProgressEvent as plain JSON-ready fields (what a worker sends to the server)."""
    return dataclasses.asdict(event)


def model_bytes(model: keras.Model) -> bytes:
    """The model as the bytes of a .keras file (to send it from a cluster worker)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def fit(
    config: TrainConfig,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    on_phase: PhaseFn = _no_phase,
    logs: Path | None = None,
):
    """Build and fit a model from `config`: the model, its history, the progress callback
    (stopped, diverged, per-batch rows) and the data split it used. With `logs`, it writes
    TensorBoard logs there (digitlab.training.runlog)."""
    keras.utils.set_random_seed(config.seed)
    spec = get_spec(config.model)
    on_phase("loading data")
    split = data.prepare_split(
        spec.input_size, config.train_samples, config.validation_split, config.seed
    )
    x_train, y_train = _training_data(split, config)
    steps = math.ceil(len(x_train) / config.batch_size)
    on_phase("building")
    with distribution_strategy().scope():  # variables live where the strategy puts them
        model = build_model(config.model, config.dropout, config.l2, config.width)
        _compile(model, config, steps * config.epochs, steps)
    progress = _ProgressCallback(config, steps, on_progress, should_stop)
    callbacks = _callbacks(config, progress) + (runlog.callbacks(logs) if logs else [])
    has_val = len(split.x_val) > 0
    validation = (split.x_val, _labels(split.y_val, config)) if has_val else None
    # Augmented epochs first, then the clean ones (fed as plain arrays: about twice as fast
    # as a tf.data pipeline here); the clean finish fits the undistorted digits exactly.
    augmented_epochs = config.epochs - config.clean_epochs if config.augment else 0
    on_phase("training")
    history: dict[str, list[float]] = {}
    if augmented_epochs:
        result = model.fit(
            _augmented(x_train, y_train, config),
            validation_data=validation,
            epochs=augmented_epochs,
            callbacks=callbacks,
            verbose=0,
        )
        _extend(history, result.history)
    interrupted = progress.stopped or progress.diverged_at is not None
    if config.epochs > augmented_epochs and not interrupted:
        result = model.fit(
            x_train,
            _labels(y_train, config),
            batch_size=config.batch_size,
            validation_data=validation,
            initial_epoch=augmented_epochs,
            epochs=config.epochs,
            callbacks=callbacks,
            verbose=0,
        )
        _extend(history, result.history)
    for callback in callbacks:
        if isinstance(callback, KeepBestEpoch) and not progress.stopped:
            callback.restore()
    return model, history, progress, split


def _extend(history: dict[str, list[float]], more: dict[str, list]) -> None:
    for name, values in more.items():
        history.setdefault(name, []).extend(float(value) for value in values)
