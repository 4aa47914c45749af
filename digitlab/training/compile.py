"""How a model learns, from its config: the optimizer, the learning-rate schedule (including
OneCycle), and the loss and metrics it is compiled with."""

from __future__ import annotations

import math
from typing import Any

import keras

from digitlab.zoo.config import ONE_HOT, TrainConfig
from digitlab.zoo.registry import CLASSIFICATION


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


def make_learning_rate(config: TrainConfig, total_steps: int, steps_per_epoch: int) -> Any:
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


def make_optimizer(
    config: TrainConfig, total_steps: int, steps_per_epoch: int = 1
) -> keras.optimizers.Optimizer:
    """The config's optimizer with its parameters, clipping and learning rate."""
    learning_rate = make_learning_rate(config, total_steps, steps_per_epoch)
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


def one_hot_labels(config: TrainConfig) -> bool:
    """Whether a classifier learns from one-hot rows: when asked to (labels "onehot"), and
    always for label smoothing and not-a-digit drawings (a flat target)."""
    is_classifier = config.model_spec.task == CLASSIFICATION
    asked = config.labels == ONE_HOT
    return is_classifier and bool(asked or config.label_smoothing or config.not_digits)


def loss_and_metrics(config: TrainConfig) -> tuple[keras.losses.Loss, list[keras.metrics.Metric]]:
    """The loss of the config's task and labels, and the metric its curves show.

    Categorical cross-entropy on a one-hot row is -log p[true digit], exactly what sparse
    categorical cross-entropy computes from the integer label: the two differ in what the
    labels look like, not in what the network learns (without label smoothing)."""
    if one_hot_labels(config):
        loss = keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=config.label_smoothing
        )
        metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]
    elif config.model_spec.task == CLASSIFICATION:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    else:
        loss = (
            keras.losses.Huber(delta=config.huber_delta)
            if config.loss == "huber"
            else keras.losses.MeanSquaredError()
        )
        metrics = [keras.metrics.MeanAbsoluteError(name="mae")]
    return loss, metrics


def compile_model(
    model: keras.Model, config: TrainConfig, total_steps: int, steps_per_epoch: int = 1
) -> None:
    """Compile `model` with the config's optimizer, and the loss and metrics of its task."""
    loss, metrics = loss_and_metrics(config)
    model.compile(
        optimizer=make_optimizer(config, total_steps, steps_per_epoch),
        loss=loss,
        metrics=metrics,
        steps_per_execution=config.steps_per_execution,
    )
