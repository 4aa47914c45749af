"""DigitLab's own recipes trained as a user would train them, timed phase by phase."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from digitlab.bench.options import BenchOptions
from digitlab.bench.reference import training_speed


def bench_recipe(model: str, options: BenchOptions, preset: str = "default") -> dict[str, Any]:
    """Train a zoo model with one of DigitLab's recipes into a throw-away store (no cache
    hit); `seconds` is the whole of train(): data, building, training, testing, saving."""
    from digitlab.training.progress import TRAINED
    from digitlab.training.train import train
    from digitlab.zoo.config import recipe

    config = recipe(model, preset=preset)
    if options.quick:
        # Small sizes; the writing styles' and devices' extras (22,000 more drawings to make
        # on a fresh machine) are left out: the same code path as the pen digits it keeps.
        config = config.replace(
            epochs=1,
            clean_epochs=min(config.clean_epochs, 1),
            train_samples=options.train_samples,
            pen_styles=False,
            pen_devices=False,
        )
    phases: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as root:
        started = time.perf_counter()
        result = train(
            config,
            root=Path(root),
            on_phase=lambda name: phases.setdefault(name, time.perf_counter()),
        )
        seconds = time.perf_counter() - started
        if result.status != TRAINED:
            raise RuntimeError(f"{model} did not train: {result.message}")
        run = result.run
        keras_model = run.load()
        n_train = config.train_samples - round(config.train_samples * config.validation_split)
        fit_seconds = phases["testing"] - phases["training"]
        figures = {
            "preset": preset,
            "seconds": round(seconds, 1),
            "accuracy": run.metrics["accuracy"],
            "epochs": run.metrics["epochs_run"],
            "fit_seconds": round(fit_seconds, 1),
            **training_speed(keras_model, n_train * run.metrics["epochs_run"], fit_seconds),
        }
        if model == "digitnet" and preset != "quick":
            figures["pendigits_accuracy"] = pendigits_accuracy(run, options)
    return figures


def pendigits_accuracy(run, options: BenchOptions) -> float | None:
    """Accuracy on the held-out writers' pen-written digits, drawn as the canvas draws
    them (an abstention counts as wrong); None without the pendigits file."""
    from digitlab.analysis.handwriting import digit_scores
    from digitlab.data import handdrawn
    from digitlab.data.batch import model_batch
    from digitlab.inference.metrics import model_outputs
    from digitlab.inference.predict import abstain_threshold

    try:
        test = handdrawn.pen_digits("test")
    except handdrawn.NoPenDigits:
        return None
    count = 200 if options.quick else len(test)
    logits = model_outputs(run.load(), model_batch(test.images[:count], run.spec.input_size))
    return digit_scores(logits, test.labels[:count], abstain_threshold(run))["accuracy"]
