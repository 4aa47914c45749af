"""What a training run says as it goes and how it ends: progress events, the outcome, and
the Keras callbacks that watch the batches and epochs go by."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from digitlab import store
from digitlab.inference.metrics import model_outputs
from digitlab.training.digit_curves import digit_key, per_digit_accuracy
from digitlab.zoo.config import TrainConfig

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
    """How a run ended, and the stored run it made or found."""

    status: str  # TRAINED, CACHED, STOPPED or DIVERGED
    config: TrainConfig
    run: store.Run | None = None  # None unless trained or cached
    message: str = ""
    history: dict[str, list[float]] = field(default_factory=dict)
    elapsed_s: float = 0.0


ProgressFn = Callable[[ProgressEvent], None]
PhaseFn = Callable[[str], None]  # "loading data", "building", "training", "testing", "saving"
StopFn = Callable[[], bool]


def no_phase(name: str) -> None:
    """A PhaseFn that listens to nothing."""


def event_fields(event: ProgressEvent) -> dict[str, Any]:
    """A ProgressEvent as plain JSON-ready fields (what a worker sends to the server)."""
    return dataclasses.asdict(event)


def _floats(logs: dict | None) -> dict[str, float]:
    return {name: float(value) for name, value in (logs or {}).items()}


class ProgressCallback(keras.callbacks.Callback):
    """Streams metrics, obeys a stop request within one batch, and stops on a NaN loss."""

    def __init__(
        self,
        config: TrainConfig,
        steps: int,
        on_progress: ProgressFn | None,
        should_stop: StopFn | None,
    ) -> None:
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


class DigitAccuracy(keras.callbacks.Callback):
    """Adds each digit's validation accuracy to the epoch's logs (digitlab.training.
    digit_curves), so the progress events, the history and TensorBoard all carry it.

    Keras scores the validation split with `evaluate`, which keeps no predictions, so this
    answers it once more per epoch (a few percent of an epoch). It must come before the
    callbacks that read the logs: they share Keras's one logs dict.
    """

    def __init__(self, images: np.ndarray, digits: np.ndarray, task: str) -> None:
        super().__init__()
        self.images, self.digits, self.task = images, digits, task
        self.answer = None
        self.seconds = 0.0  # time spent here over the run: what learning by digit costs

    def on_train_begin(self, logs=None) -> None:
        # Traced once per fit: digitnet answers 6,000 images in about half the time of
        # eager calls here (0.6-0.9 s against 2.0-2.3 s on the 2 shared cores).
        self.answer = tf.function(self.model, autograph=False, reduce_retracing=True)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        # Stopped or diverged (fit sets stop_training): nothing of this run is kept.
        if logs is None or getattr(self.model, "stop_training", False):
            return
        started = time.perf_counter()
        outputs = model_outputs(self.answer or self.model, self.images)
        for digit, accuracy in per_digit_accuracy(outputs, self.digits, self.task).items():
            logs[digit_key(digit)] = accuracy
        self.seconds += time.perf_counter() - started


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


def thin(rows: list[dict[str, Any]], limit: int = MAX_BATCH_ROWS) -> list[dict[str, Any]]:
    """Every k-th row (and the last), so that at most about `limit` remain."""
    if len(rows) <= limit:
        return rows
    step = math.ceil(len(rows) / limit)
    return rows[::step] + ([rows[-1]] if (len(rows) - 1) % step else [])
