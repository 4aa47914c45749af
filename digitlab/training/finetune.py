"""Fine-tune a session's model on the drawings it saved, without forgetting MNIST.

A seeded share of the drawings is held out; the rest, repeated so that they make up a
fixed share of every epoch, are mixed with MNIST training images (what keeps the model
from forgetting) and trained on for a few epochs at a low learning rate: training's own
loop (train.fit_model), started from the session's run instead of a new model. The
held-out drawings and the MNIST test set are scored before and after, and the result is
stored as a new run of the session, with those figures in its metrics. It runs in the job
queue's child process (digitlab.training.worker), which reads the drawings from the store
itself.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from digitlab import store
from digitlab.core.errors import UserError
from digitlab.data import mnist as data
from digitlab.data.batch import model_batch
from digitlab.data.notdigits import NOT_A_DIGIT
from digitlab.inference.metrics import model_outputs, score_on_test_set
from digitlab.store import drawings
from digitlab.zoo.config import TrainConfig
from digitlab.zoo.registry import CLASSIFICATION, ENSEMBLE

if TYPE_CHECKING:  # TensorFlow is imported where training starts: the app's server, which
    # reads MIN_DRAWINGS and usable() from here, never loads it
    from digitlab.training.progress import PhaseFn, ProgressFn, TrainResult

MIN_DRAWINGS = 6  # fewer leave too little to learn from and too little to hold out


class FineTuneError(UserError, RuntimeError):
    """Nothing to fine-tune, or nothing to fine-tune on: the message says which."""


@dataclass(frozen=True)
class FineTuneSettings:
    """How a fine-tune trains; stored with the run it makes."""

    epochs: int = 2  # passes over the mix: enough for a style, too few to drift far
    learning_rate: float = 3e-4  # a tenth of a usual start: nudge the weights, don't retrain
    batch_size: int = 64
    mnist_images: int = 5000  # MNIST training images in the mix, so it does not forget
    drawing_share: float = 0.15  # of each epoch's images, the user's drawings (repeated)
    held_out_share: float = 1 / 3  # of the drawings, kept out of training to measure on
    augment: bool = True  # drawings and MNIST jittered as people draw: a few drawings
    # then teach a style rather than themselves
    seed: int = 0


@dataclass(frozen=True)
class DrawingSplit:
    train: list[drawings.Drawing]
    held_out: list[drawings.Drawing]


def usable(found: list[drawings.Drawing], config: TrainConfig) -> list[drawings.Drawing]:
    """The drawings a model can learn from: digits, and "not a digit" ones only for a
    classifier that learnt to abstain (the others have no answer for them)."""
    abstains = config.not_digits and config.model_spec.task == CLASSIFICATION
    return [d for d in found if d.label != NOT_A_DIGIT or abstains]


def split_drawings(found: list[drawings.Drawing], share: float, seed: int) -> DrawingSplit:
    """A seeded split by drawing id: the same drawings give the same held-out part."""
    ordered = sorted(found, key=lambda d: d.id)
    order = np.random.default_rng(seed).permutation(len(ordered))
    held = max(1, round(len(ordered) * share))
    return DrawingSplit(
        train=[ordered[i] for i in sorted(order[held:])],
        held_out=[ordered[i] for i in sorted(order[:held])],
    )


def tag(base: store.Run, found: list[drawings.Drawing], settings: FineTuneSettings) -> str:
    """What makes a fine-tuned run what it is, for its config (so the training cache tells
    it from its base): the base run and a digest of the drawings, labels and settings."""
    digest = hashlib.sha256(repr((base.version_key, asdict(settings))).encode())
    for drawing in sorted(found, key=lambda d: d.id):
        digest.update(f"{drawing.id}:{drawing.label}:".encode() + drawing.image.tobytes())
    return f"run {base.id} on {len(found)} drawings ({digest.hexdigest()[:12]})"


def check_base(base: store.Run) -> None:
    if base.model == ENSEMBLE:
        raise FineTuneError("An ensemble can't be fine-tuned: fine-tune one of its members.")


def _inputs(images: np.ndarray, input_size: int) -> np.ndarray:
    return model_batch(images, input_size)


def score(model, config: TrainConfig, images: np.ndarray, labels: np.ndarray) -> float | None:
    """Accuracy on digit drawings (uint8 28x28); None when there are none. A regression
    model's answer is rounded to the nearest digit."""
    digits = labels != NOT_A_DIGIT
    if not digits.any():
        return None
    outputs = model_outputs(model, _inputs(images[digits], config.model_spec.input_size))
    if config.model_spec.task == CLASSIFICATION:
        answers = outputs.argmax(axis=-1)
    else:
        answers = np.clip(np.rint(outputs.reshape(-1)), 0, 9)
    return float(np.mean(answers == labels[digits]))


def _mix(
    split: data.Split, images: np.ndarray, labels: np.ndarray, settings: FineTuneSettings
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's images and the drawings, repeated to make `drawing_share` of the whole."""
    wanted = settings.drawing_share * len(split.x_train) / (1 - settings.drawing_share)
    repeats = max(1, round(wanted / len(images)))
    size = split.x_train.shape[1]
    x = np.concatenate([split.x_train, np.tile(_inputs(images, size), (repeats, 1, 1, 1))])
    y = np.concatenate([split.y_train.astype(np.int64), np.tile(labels, repeats)])
    return x, y


def training_knobs(config: TrainConfig, settings: FineTuneSettings) -> TrainConfig:
    """The config the training loop runs a fine-tune with: its own epochs, rate, batch and
    seed, a plain Adam at a constant rate, every epoch augmented as the settings say. A
    fine-tune has no validation data, so nothing watches one (early stopping, plateaus,
    the best epoch)."""
    return config.replace(
        epochs=settings.epochs,
        learning_rate=settings.learning_rate,
        batch_size=settings.batch_size,
        schedule="constant",
        optimizer="adam",
        beta_1=0.9,
        beta_2=0.999,
        steps_per_execution=1,
        seed=settings.seed,
        augment=settings.augment,
        clean_epochs=0,
        early_stopping_patience=0,
        reduce_lr_on_plateau=False,
        keep_best=False,
    )


def fine_tune(
    base_run_id: str,
    owner: str | None,
    root: Path | None = None,
    settings: FineTuneSettings | None = None,
    on_progress: ProgressFn | None = None,
    on_phase: PhaseFn | None = None,
) -> TrainResult:
    """Fine-tune run `base_run_id` on `owner`'s drawings (every drawing when None) and store
    the result as a run of `owner`; the same drawings and base give the stored run again.
    It is training's own loop (train.fit_model), started from the base run's model."""
    import keras

    from digitlab.training import train
    from digitlab.training.progress import CACHED, DIVERGED, TRAINED, TrainResult, no_phase

    on_phase = on_phase or no_phase
    settings = settings or FineTuneSettings()
    started = time.perf_counter()
    on_phase("loading data")
    base = store.get_run(base_run_id, root)
    check_base(base)
    found = usable(drawings.list_drawings(owner, root), base.config)
    if len(found) < MIN_DRAWINGS:
        raise FineTuneError(
            f"Fine-tuning needs at least {MIN_DRAWINGS} saved drawings of digits; there are "
            f"{len(found)}. Save more from the Draw page."
        )
    config = base.config.replace(fine_tune=tag(base, found, settings))
    cached = store.find_by_config(config, root)
    if cached is not None:
        message = f"Fine-tuned before on exactly these drawings: {cached.describe()}."
        return TrainResult(CACHED, config, cached, message, cached.history or {})
    keras.utils.set_random_seed(settings.seed)
    parts = split_drawings(found, settings.held_out_share, settings.seed)
    train_images, train_labels = drawings.arrays(parts.train)
    held_images, held_labels = drawings.arrays(parts.held_out)
    spec = config.model_spec
    split = data.prepare_split(spec.input_size, settings.mnist_images, 0.0, settings.seed)
    x, y = _mix(split, train_images, train_labels, settings)

    on_phase("building")
    model = base.load()
    before = {
        "held_out": score(model, config, held_images, held_labels),
        "mnist": score_on_test_set(model, spec, split.x_test, split.y_test)["accuracy"],
    }
    knobs = training_knobs(config, settings)
    fitted = train.fit_model(model, knobs, x, y, on_progress=on_progress, on_phase=on_phase)
    if fitted.diverged_at is not None:
        message = "Fine-tuning diverged (the loss became NaN): nothing was saved."
        return TrainResult(DIVERGED, config, None, message)

    on_phase("testing")
    metrics = score_on_test_set(model, spec, split.x_test, split.y_test)
    after = {
        "held_out": score(model, config, held_images, held_labels),
        "mnist": metrics["accuracy"],
    }
    if "abstain_below" in base.metrics:
        metrics.update(train.abstention_threshold(model, config))
    metrics.update(
        fine_tuned_from=base.id,
        train_drawings=len(parts.train),
        held_out_drawings=len(parts.held_out),
        held_out_before=before["held_out"],
        held_out_after=after["held_out"],
        mnist_before=before["mnist"],
        mnist_after=after["mnist"],
        fine_tune_settings=asdict(settings),
        train_seconds=round(time.perf_counter() - started, 2),
    )
    on_phase("saving")
    run = store.save_run(
        model,
        config,
        fitted.history,
        metrics,
        seconds=round(time.perf_counter() - started, 2),
        batches=fitted.batches,
        owner=owner,
        root=root,
    )
    return TrainResult(TRAINED, config, run, summary(run), fitted.history)


def summary(run: store.Run) -> str:
    """A fine-tuned run's before and after, in words."""
    m = run.metrics
    held = (
        f"held-out drawings {m['held_out_before']:.0%} -> {m['held_out_after']:.0%}"
        if m.get("held_out_before") is not None
        else "no held-out digit drawings"
    )
    return (
        f"Fine-tuned and stored as run {run.id}: {held} ({m['held_out_drawings']} kept out of "
        f"training), MNIST test {m['mnist_before']:.2%} -> {m['mnist_after']:.2%}."
    )
