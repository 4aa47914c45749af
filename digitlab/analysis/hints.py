"""Plain-language hints from a run's curves, as a tutorial would read them after an epoch.

Each hint looks at the per-epoch history (loss, val_loss, accuracy or mae, val_...) and
names what the curves show and what to try. The checks are deliberately simple and
conservative: a hint appears only when the pattern has lasted, so one noisy epoch says
nothing.
"""

from __future__ import annotations

import math

from digitlab.zoo.registry import REGRESSION

OVERFITTING, TOO_FAST, UNDERFITTING, STALLED = "overfitting", "too fast", "underfitting", "stalled"
CHANCE, DIVERGED = "chance level", "diverged"

RISING_EPOCHS = 2  # val loss up this many epochs in a row, while the training loss fell
JUMP_FACTOR = 1.5  # a loss this many times its best so far is a jump
FLAT_CHANGE = 0.002  # accuracy moving less than this per epoch is flat (0.2 points)
LOW_ACCURACY = 0.9  # ... and flat below this, after a few epochs, is underfitting
STALL_EPOCHS = 3
CHANCE_LOSS = math.log(10)  # cross-entropy of an even guess among ten digits: 2.30
CHANCE_ACCURACY = 0.2  # ten classes: 10% is a guess; under 20% after an epoch, nothing learned
BROKEN_ACCURACY = 0.5  # on MNIST test: a classifier under this is broken, not merely weak

_TEXT = {
    OVERFITTING: (
        "Validation loss has risen for {n} epochs while the training loss kept falling: the "
        "model is starting to memorise its training images (overfitting). Try more dropout, "
        "L2 weight decay, augmentation, or early stopping."
    ),
    TOO_FAST: (
        "The training loss jumped to {factor:.1f}x its best value: the steps are too big. "
        "Try a lower learning rate (or gradient clipping)."
    ),
    UNDERFITTING: (
        "Training accuracy is {accuracy:.1%} and hardly moving: the model is underfitting. "
        "Try more epochs, a bigger model, or a higher learning rate."
    ),
    CHANCE: (
        "Accuracy is {accuracy:.1%}, chance level, and the loss never fell below ln 10 = 2.30 "
        "(an even guess among ten digits): the network learned nothing. The learning rate is "
        "likely too high: try ten times lower."
    ),
    DIVERGED: (
        "The loss became {value}: training diverged and the weights are lost. Try a lower "
        "learning rate (or gradient clipping)."
    ),
    STALLED: (
        "Validation accuracy has stayed within {change:.2%} for {n} epochs. A learning-rate "
        "schedule (cosine, one-cycle, or reduce-on-plateau) often gets it moving again."
    ),
}


def _rising(values: list[float], epochs: int) -> bool:
    tail = values[-(epochs + 1) :]
    return len(tail) == epochs + 1 and all(b > a for a, b in zip(tail, tail[1:], strict=False))


def _falling(values: list[float], epochs: int) -> bool:
    tail = values[-(epochs + 1) :]
    return len(tail) == epochs + 1 and all(b < a for a, b in zip(tail, tail[1:], strict=False))


def diagnose(history: dict[str, list[float]]) -> dict[str, dict]:
    """The patterns the curves show now, each with the figures its hint quotes."""
    found: dict[str, dict] = {}
    loss, val_loss = history.get("loss", []), history.get("val_loss", [])
    accuracy, val_accuracy = history.get("accuracy", []), history.get("val_accuracy", [])
    if val_loss and _rising(val_loss, RISING_EPOCHS) and _falling(loss, RISING_EPOCHS):
        found[OVERFITTING] = {"n": RISING_EPOCHS}
    finite = [value for value in loss if math.isfinite(value)]
    if len(finite) < len(loss):
        found[DIVERGED] = {"value": "NaN" if any(math.isnan(v) for v in loss) else "infinite"}
    elif len(loss) >= 2:
        best, last = min(loss[:-1]), loss[-1]
        if best > 0 and last > JUMP_FACTOR * best:
            found[TOO_FAST] = {"factor": last / best}
    latest_accuracy = (val_accuracy or accuracy or [1.0])[-1]
    if finite and min(finite) >= CHANCE_LOSS and latest_accuracy < CHANCE_ACCURACY:
        found[CHANCE] = {"accuracy": latest_accuracy}
    flat_and_low = len(accuracy) >= 3 and accuracy[-1] < LOW_ACCURACY
    if flat_and_low and abs(accuracy[-1] - accuracy[-2]) < FLAT_CHANGE:
        found[UNDERFITTING] = {"accuracy": accuracy[-1]}
    tail = val_accuracy[-STALL_EPOCHS:]
    stalled = len(val_accuracy) > STALL_EPOCHS and max(tail) - min(tail) < FLAT_CHANGE
    if stalled and OVERFITTING not in found and max(tail) < 0.999:
        found[STALLED] = {"change": max(tail) - min(tail), "n": STALL_EPOCHS}
    return found


def curve_hints(history: dict[str, list[float]]) -> list[str]:
    """The hints for a history, in plain language (none when the curves look healthy)."""
    return [_TEXT[name].format(**figures) for name, figures in diagnose(history).items()]


def broken_run(accuracy: float | None, history: dict[str, list[float]], task: str) -> str | None:
    """Why a finished run must not silently become anyone's model, or None when it may.

    Broken, not merely weak: its loss diverged, it never fell below a guess's, or a
    classifier scores under BROKEN_ACCURACY on MNIST test. The reason completes "Your run
    2 got 10.28% on MNIST test, ..."."""
    loss = history.get("loss", [])
    if any(not math.isfinite(value) for value in loss):
        return "its loss diverged (NaN): the learning rate was likely too high"
    if task == REGRESSION:
        return None
    if accuracy is not None and accuracy < CHANCE_ACCURACY:
        return "chance level: the learning rate was likely too high"
    if loss and min(loss) >= CHANCE_LOSS:
        return "and its loss never fell below an even guess's: it learned nothing"
    if accuracy is not None and accuracy < BROKEN_ACCURACY:
        return "far below what a digit network reaches: check its settings"
    return None


def history_from_rows(rows: list[dict[str, float]]) -> dict[str, list[float]]:
    """Per-epoch rows ({"epoch": 1, "loss": ..., ...}) as a history of lists."""
    names = [name for name in (rows[0] if rows else {}) if name not in ("epoch", "position")]
    return {name: [float(row.get(name, math.nan)) for row in rows] for name in names}
