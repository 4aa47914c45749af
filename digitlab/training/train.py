"""Train a zoo model from a config, streaming progress, and store the result.

`train(config, on_progress, should_stop)` is the one entry point. A config trained before
comes straight from the store; a run that is stopped or whose loss turns NaN stores
nothing, so the model in use stays the previous one. `fit_model` is the loop itself, for
any model and data: a fine-tune (digitlab.training.finetune) runs it from a stored run.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from digitlab import store
from digitlab.data import mnist as data
from digitlab.data.batch import model_batch
from digitlab.data.tuning import tuning_sets
from digitlab.inference import abstention
from digitlab.inference.metrics import model_outputs, score_on_test_set
from digitlab.training import batch_norm, runlog
from digitlab.training.compile import compile_model
from digitlab.training.inputs import augmented, loss_labels, training_data
from digitlab.training.progress import (
    CACHED,
    DIVERGED,
    STOPPED,
    TRAINED,
    DigitAccuracy,
    KeepBestEpoch,
    PhaseFn,
    ProgressCallback,
    ProgressFn,
    StopFn,
    TrainResult,
    no_phase,
    thin,
)
from digitlab.zoo.builders import build_for
from digitlab.zoo.config import TrainConfig

# Keras warns that fit's shuffle flag is ignored for a tf.data input: the dataset shuffles.
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")


def distribution_strategy() -> tf.distribute.Strategy:
    """How training spreads over devices: the default strategy on a CPU or a single GPU,
    MirroredStrategy when several GPUs are visible, MultiWorkerMirroredStrategy when
    TF_CONFIG describes a cluster of machines."""
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def abstention_threshold(model: keras.Model, config: TrainConfig) -> dict[str, float]:
    """A not-digits model's threshold, chosen on the tuning writers' digits so that it holds
    for each way of writing them and each device, not only for digits as written."""
    size = config.model_spec.input_size
    outputs = {
        name: model_outputs(model, model_batch(drawings.images, size))
        for name, drawings in tuning_sets().items()
    }
    return {"abstain_below": abstention.choose_threshold_for_each(outputs)}


def _callbacks(config: TrainConfig, progress: ProgressCallback | None) -> list:
    """The progress callback, and those the config's knobs ask for."""
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


@dataclass
class Fitted:
    """How a fit went: its history, per-batch rows (thinned), and whether it ended early."""

    history: dict[str, list[float]]
    batches: list[dict[str, float]]
    stopped: bool  # on request
    diverged_at: tuple[int, int] | None  # (epoch, batch) where the loss turned NaN


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
    on_phase: PhaseFn = no_phase,
    logs: Path | None = None,
) -> TrainedModel:
    """Fit `config` and score it on the MNIST test set; stores nothing (TensorBoard logs
    go to `logs` if given)."""
    started = time.perf_counter()
    model, fitted, split = fit(config, on_progress, should_stop, on_phase, logs)
    elapsed = time.perf_counter() - started
    history, batches = fitted.history, fitted.batches
    if fitted.diverged_at is not None:
        epoch, batch = fitted.diverged_at
        message = (
            f"Training diverged: the loss became NaN or infinite at epoch {epoch}, "
            f"batch {batch}. "
            f"Nothing was saved and the previous model is kept. Try a learning rate below "
            f"{config.learning_rate:g}."
        )
        return TrainedModel(DIVERGED, message, None, history, batches, {}, elapsed)
    if fitted.stopped:
        message = "Stopped on request. Nothing was saved and the previous model is kept."
        return TrainedModel(STOPPED, message, None, history, batches, {}, elapsed)
    on_phase("testing")
    metrics = score_on_test_set(model, config.model_spec, split.x_test, split.y_test)
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
    on_phase: PhaseFn = no_phase,
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
    on_phase: PhaseFn = no_phase,
    logs: Path | None = None,
) -> tuple[keras.Model, Fitted, data.Split]:
    """Build a model from `config` and fit it on the MNIST data (and extras) the config
    names: the model, how the fit went, and the data split it used. With `logs`, it
    writes TensorBoard logs there (digitlab.training.runlog)."""
    keras.utils.set_random_seed(config.seed)
    spec = config.model_spec
    on_phase("loading data")
    split = data.prepare_split(
        spec.input_size, config.train_samples, config.validation_split, config.seed
    )
    x_train, y_train = training_data(split, config)
    on_phase("building")
    with distribution_strategy().scope():  # variables live where the strategy puts them
        model = build_for(config)
    validation = (split.x_val, split.y_val) if len(split.x_val) else None
    fitted = fit_model(
        model, config, x_train, y_train, validation, on_progress, should_stop, on_phase, logs
    )
    return model, fitted, split


def fit_model(
    model: keras.Model,
    config: TrainConfig,
    x: np.ndarray,
    y: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    on_phase: PhaseFn = no_phase,
    logs: Path | None = None,
) -> Fitted:
    """The training loop: compile `model` with `config`'s optimizer and loss, and fit it on
    images `x` with digit labels `y` for the config's epochs, `validation` (images, digit
    labels) scored after each. Seeding is the caller's: it comes before the model exists."""
    steps = math.ceil(len(x) / config.batch_size)
    with model.distribute_strategy.scope():  # the optimizer's variables beside the model's
        compile_model(model, config, steps * config.epochs, steps)
    progress = ProgressCallback(config, steps, on_progress, should_stop)
    callbacks = _callbacks(config, progress) + (runlog.callbacks(logs) if logs else [])
    statistics = batch_norm.BatchStatistics(model)  # measures nothing without batch norm
    if validation is not None and statistics.norms:
        callbacks.append(batch_norm.BeforeValidation(statistics, x, config.batch_size, config.seed))
    if validation is not None:
        # First, so the progress events, the history and TensorBoard all see its figures.
        task = config.model_spec.task
        callbacks.insert(0, DigitAccuracy(validation[0], validation[1], task))
        validation = (validation[0], loss_labels(validation[1], config))
    # Augmented epochs first, then the clean ones (fed as plain arrays: about twice as fast
    # as a tf.data pipeline here); the clean finish fits the undistorted digits exactly.
    augmented_epochs = config.epochs - config.clean_epochs if config.augment else 0
    on_phase("training")
    history: dict[str, list[float]] = {}
    if augmented_epochs:
        result = model.fit(
            augmented(x, y, config),
            validation_data=validation,
            epochs=augmented_epochs,
            callbacks=callbacks,
            verbose=0,
        )
        _extend(history, result.history)
    interrupted = progress.stopped or progress.diverged_at is not None
    if config.epochs > augmented_epochs and not interrupted:
        result = model.fit(
            x,
            loss_labels(y, config),
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
    if not (progress.stopped or progress.diverged_at is not None):
        # Batch norm's moving statistics trail the weights: measure them on the final ones.
        statistics.recalibrate(x, config.batch_size, config.seed)
    batches = thin(progress.batch_rows)
    return Fitted(history, batches, progress.stopped, progress.diverged_at)


def _extend(history: dict[str, list[float]], more: dict[str, list]) -> None:
    for name, values in more.items():
        history.setdefault(name, []).extend(float(value) for value in values)
