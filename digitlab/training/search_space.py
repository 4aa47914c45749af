"""What a hyperparameter search tries: the ranges, the bounds, and how long it should take.

The sampling is Optuna's (`trial.suggest_*`, the counterpart of Keras Tuner's `hp.Float`
and `hp.Choice`); the search loop that trains each trial is `digitlab.training.search`.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitlab import store
from digitlab.zoo.config import ConfigError, TrainConfig
from digitlab.zoo.registry import REGRESSION

MAX_TRIALS = 50  # a search is bounded: each trial is a full training run
# A trial's cost beyond its epochs: starting the worker process, importing TensorFlow,
# loading MNIST, scoring the test set and saving (measured ~5.5 s on this 2-core machine).
STARTUP_SECONDS = 6.0


class SearchError(ConfigError):
    """A search setting is out of bounds (a ConfigError, so the CLI says it in one line)."""


@dataclass(frozen=True)
class SearchSpace:
    """The ranges searched; None (or an empty tuple) keeps the base config's value."""

    learning_rate: tuple[float, float] | None = (1e-4, 1e-2)  # sampled on a log scale
    dropout: tuple[float, float] | None = (0.0, 0.5)  # only for models with a dropout layer
    batch_sizes: tuple[int, ...] = (64, 128, 256)  # one of these
    l2: tuple[float, float] | None = None  # log scale when the low end is above 0
    optimizers: tuple[str, ...] = ()  # one of these
    widths: tuple[float, ...] = ()  # one of these multipliers of every hidden layer's size


@dataclass(frozen=True)
class SearchSettings:
    """What a search trains: a base config, the ranges, how many trials and how long."""

    base: TrainConfig  # every setting not searched comes from here
    space: SearchSpace = SearchSpace()
    trials: int = 10
    budget_s: float | None = None  # no new trial once spent; the running ones stop at it
    seed: int = 0  # Optuna's sampler: the same seed asks for the same settings

    def __post_init__(self) -> None:
        if not 1 <= self.trials <= MAX_TRIALS:
            raise SearchError(
                f"A search runs 1 to {MAX_TRIALS} trials (each is a full training run); "
                f"asked for {self.trials}."
            )
        if self.budget_s is not None and self.budget_s <= 0:
            raise SearchError("The time budget must be a positive number of seconds.")
        if self.base.validation_split == 0:
            raise SearchError(
                "A search compares trials on held-out validation data: "
                "set a validation split above 0."
            )
        # Each bound must be a valid config on its own: the config says what is allowed.
        space = self.space
        for name, bounds in (
            ("learning_rate", space.learning_rate),
            ("dropout", space.dropout),
            ("l2", space.l2),
        ):
            if bounds is None:
                continue
            low, high = bounds
            if low > high:
                raise SearchError(f"{name}: the low end {low:g} is above the high end {high:g}.")
            for value in bounds:
                self.base.replace(**{name: value})
        for size in space.batch_sizes:
            self.base.replace(batch_size=size)
        for optimizer in space.optimizers:
            self.base.replace(optimizer=optimizer)
        for width in space.widths:
            self.base.replace(width=width)

    @property
    def searched(self) -> list[str]:
        """The config fields this search varies (dropout only where the model has it)."""
        space = self.space
        names = [
            ("learning_rate", space.learning_rate is not None),
            ("dropout", space.dropout is not None and self.base.model_spec.has_dropout),
            ("batch_size", bool(space.batch_sizes)),
            ("l2", space.l2 is not None),
            ("optimizer", bool(space.optimizers)),
            ("width", bool(space.widths)),
        ]
        return [name for name, on in names if on]

    @property
    def objective(self) -> str:
        """The per-epoch metric trials are compared on (Keras Tuner's `objective`)."""
        return "val_mae" if self.base.model_spec.task == REGRESSION else "val_accuracy"

    @property
    def maximize(self) -> bool:
        return self.objective != "val_mae"


def seconds_per_trial(base: TrainConfig, root: Path | None = None) -> float:
    """A trial's expected seconds, from the training speed of stored runs of the model.

    Speed is seconds per epoch per training image, the median over runs trained with the
    same kind of data (augmented, pen digits, not-digits) where there are any; the shipped
    run of every model is always there to go by.
    """
    runs = store.list_runs(base.model, root=root)
    kind = (base.augment, base.pen_digits, base.not_digits)
    alike = [run for run in runs if (run.config.augment, *_extras(run.config)) == kind]
    rates = [
        run.seconds / (run.metrics.get("epochs_run") or run.config.epochs) / _images(run.config)
        for run in alike or runs
        if run.seconds > 0
    ]
    rate = statistics.median(rates) if rates else 0.0
    return STARTUP_SECONDS + rate * _images(base) * base.epochs


def _extras(config: TrainConfig) -> tuple[bool, bool]:
    return config.pen_digits, config.not_digits


def _images(config: TrainConfig) -> float:
    return config.train_samples * (1 - config.validation_split)


def expected_seconds(settings: SearchSettings, parallel: int = 1, root=None) -> float:
    """How long the whole search should take before any trial has run (capped by the budget)."""
    rounds = -(-settings.trials // parallel)  # trials run `parallel` at a time
    total = rounds * seconds_per_trial(settings.base, root)
    return min(total, settings.budget_s) if settings.budget_s else total


def _readable(value: float) -> float:
    """Three significant digits: the table and the run's config stay readable."""
    return float(f"{value:.3g}")


def sample(trial, settings: SearchSettings) -> dict[str, Any]:
    """The settings of one trial, asked of Optuna (hp.Float/hp.Choice in Keras Tuner)."""
    space, chosen = settings.space, {}
    searched = settings.searched
    if "learning_rate" in searched:
        low, high = space.learning_rate
        chosen["learning_rate"] = _readable(
            trial.suggest_float("learning_rate", low, high, log=True)
        )
    if "dropout" in searched:
        chosen["dropout"] = round(trial.suggest_float("dropout", *space.dropout), 3)
    if "batch_size" in searched:
        chosen["batch_size"] = trial.suggest_categorical("batch_size", list(space.batch_sizes))
    if "l2" in searched:
        low, high = space.l2
        chosen["l2"] = _readable(trial.suggest_float("l2", low, high, log=low > 0))
    if "optimizer" in searched:
        chosen["optimizer"] = trial.suggest_categorical("optimizer", list(space.optimizers))
    if "width" in searched:
        chosen["width"] = trial.suggest_categorical("width", list(space.widths))
    return chosen
