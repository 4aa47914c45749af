"""`python -m digitlab bench`: DigitLab against the Keras "Simple MNIST convnet", in one run.

Everything is measured in one process, one after the other, so the figures share the same
(noisy) machine state and can be compared with each other.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REFERENCE_TARGET = 0.992  # the accuracy the Keras example reports after 15 epochs
REFERENCE_MAX_EPOCHS = 15
LATENCY_DRAWINGS = 300


@dataclass(frozen=True)
class BenchOptions:
    quick: bool = False  # a small version that runs in seconds (a smoke test)
    pendigits: Path | None = None  # the pen-written digits file; None = the default location

    @property
    def train_samples(self) -> int:
        return 3000 if self.quick else 60_000


def build_reference():
    """The Keras example: Conv 32, MaxPool, Conv 64, MaxPool, Flatten, Dropout 0.5, Dense 10."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    )


def bench_reference(options: BenchOptions) -> dict[str, Any]:
    """Train the reference (Adam, batch 128, 10% validation) until 99.2% test accuracy."""
    import keras

    from digitlab.data import load_mnist

    mnist = load_mnist()
    x_train = mnist.x_train[: options.train_samples, ..., None].astype(np.float32) / 255.0
    y_train = mnist.y_train[: options.train_samples]
    x_test = mnist.x_test[..., None].astype(np.float32) / 255.0
    keras.utils.set_random_seed(0)
    model = build_reference()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    max_epochs = 1 if options.quick else REFERENCE_MAX_EPOCHS
    training_seconds, accuracy, reached_at = 0.0, 0.0, None
    for epoch in range(1, max_epochs + 1):
        started = time.perf_counter()
        model.fit(x_train, y_train, batch_size=128, epochs=1, validation_split=0.1, verbose=0)
        training_seconds += time.perf_counter() - started
        # The per-epoch check is not training: it is kept out of the clock.
        accuracy = float(model.evaluate(x_test, mnist.y_test, batch_size=1000, verbose=0)[1])
        if accuracy >= REFERENCE_TARGET:
            reached_at = epoch
            break
    return {
        "seconds_to_target": round(training_seconds, 1) if reached_at else None,
        "training_seconds": round(training_seconds, 1),
        "epochs": epoch,
        "reached_target": reached_at is not None,
        "accuracy": accuracy,
    }


def bench_recipe(model: str, options: BenchOptions, preset: str = "default") -> dict[str, Any]:
    """Train a zoo model with DigitLab's recipe into a throw-away store (no cache hit)."""
    from digitlab.config import recipe
    from digitlab.train import TRAINED, train

    config = recipe(model, preset=preset)
    if options.quick:
        config = config.replace(epochs=1, train_samples=options.train_samples)
    with tempfile.TemporaryDirectory() as root:
        started = time.perf_counter()
        result = train(config, root=Path(root))
        seconds = time.perf_counter() - started
        if result.status != TRAINED:
            raise RuntimeError(f"{model} did not train: {result.message}")
        from digitlab.store import StoredModel

        entry: StoredModel = result.entry
        figures = {
            "seconds": round(seconds, 1),
            "accuracy": entry.metrics["accuracy"],
            "epochs": entry.metrics["epochs_run"],
        }
        if model == "digitnet":
            figures["pendigits_accuracy"] = pendigits_accuracy(entry.load(), options)
    return figures


def pendigits_accuracy(model, options: BenchOptions) -> float | None:
    """Accuracy on the real pen-written digits, rasterised as the canvas draws them."""
    from digitlab.handwriting import score_on_pen_digits
    from digitlab.models import ZOO
    from digitlab.pendigits import default_pendigits_path, parse_pendigits
    from digitlab.predict import Predictor

    path = options.pendigits or default_pendigits_path()
    if path is None or not Path(path).is_file():
        return None
    digits = parse_pendigits(path)
    if options.quick:
        digits = digits[:200]
    return score_on_pen_digits(Predictor(model, ZOO["digitnet"]), digits).accuracy


def _sample_canvases(count: int) -> list[np.ndarray]:
    """Canvas arrays to predict: pen-written digits when available, else MNIST drawn large."""
    from digitlab.pendigits import default_pendigits_path, parse_pendigits, rasterize

    path = default_pendigits_path()
    if path is not None:
        return [rasterize(digit) for digit in parse_pendigits(path)[:count]]
    from digitlab.data import load_mnist

    canvases = []
    for image in load_mnist().x_test[:count]:
        alpha = np.kron(image, np.ones((10, 10), np.uint8))
        canvases.append(np.dstack([np.zeros_like(alpha)] * 3 + [alpha]))
    return canvases


def _percentiles(milliseconds: list[float]) -> dict[str, float]:
    return {
        "p50": round(float(np.percentile(milliseconds, 50)), 3),
        "p95": round(float(np.percentile(milliseconds, 95)), 3),
    }


def bench_prediction(options: BenchOptions) -> dict[str, Any]:
    """Milliseconds from a 280x280 RGBA canvas to ten probabilities, and via model.predict."""
    from digitlab import store
    from digitlab.models import DEFAULT_MODEL, ZOO
    from digitlab.predict import Predictor, softmax
    from digitlab.preprocess import preprocess

    _entry, model, _ = store.load_preferred(DEFAULT_MODEL)
    predictor = Predictor(model, ZOO[DEFAULT_MODEL])
    canvases = _sample_canvases(50 if options.quick else LATENCY_DRAWINGS)
    direct, through_predict = [], []
    for canvas in canvases:
        started = time.perf_counter()
        predictor.predict_image(canvas)
        direct.append((time.perf_counter() - started) * 1000)
    for canvas in canvases[: 30 if options.quick else 200]:
        started = time.perf_counter()
        image = preprocess(canvas).image
        softmax(model.predict(image[None, ..., None], verbose=0)[0])
        through_predict.append((time.perf_counter() - started) * 1000)
    return {
        "drawings": len(canvases),
        "direct_ms": _percentiles(direct),
        "model_predict_ms": _percentiles(through_predict),
    }


_COLD_START_SCRIPT = """
import numpy as np
from digitlab import store
from digitlab.models import DEFAULT_MODEL, ZOO
from digitlab.predict import Predictor
canvas = np.zeros((280, 280, 4), np.uint8)
canvas[60:220, 130:150, 3] = 255  # a "1"
entry, model, _ = store.load_preferred(DEFAULT_MODEL)
print(Predictor(model, ZOO[DEFAULT_MODEL]).predict_image(canvas).label)
"""


def bench_cold_start() -> float:
    """Seconds from starting a fresh Python process to its first prediction."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _COLD_START_SCRIPT],
        check=True,
        capture_output=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return round(time.perf_counter() - started, 2)


def peak_memory_mb() -> float:
    """Peak resident memory of this process (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_bench(options: BenchOptions) -> dict[str, Any]:
    results: dict[str, Any] = {"quick": options.quick}
    results["reference"] = bench_reference(options)
    results["digitnet"] = bench_recipe("digitnet", options)
    results["mlp"] = bench_recipe("mlp", options)
    results["prediction"] = bench_prediction(options)
    results["cold_start_seconds"] = bench_cold_start()
    results["peak_memory_mb"] = peak_memory_mb()
    reference_seconds = results["reference"]["seconds_to_target"]
    if reference_seconds:
        results["digitnet"]["fraction_of_reference"] = round(
            results["digitnet"]["seconds"] / reference_seconds, 3
        )
    return results


def format_table(results: dict[str, Any]) -> str:
    """The figures as a readable table."""
    reference, digitnet, mlp = results["reference"], results["digitnet"], results["mlp"]
    prediction = results["prediction"]
    to_target = reference["seconds_to_target"]
    rows = [
        (
            "reference convnet: seconds to 99.2%",
            f"{to_target} s (epoch {reference['epochs']})"
            if to_target
            else f"not reached in {reference['epochs']} epochs ({reference['training_seconds']} s)",
        ),
        ("reference convnet: final accuracy", f"{reference['accuracy']:.2%}"),
        (
            "digitnet: training wall seconds",
            f"{digitnet['seconds']} s"
            + (
                f" ({digitnet['fraction_of_reference']:.0%} of the reference)"
                if "fraction_of_reference" in digitnet
                else ""
            ),
        ),
        ("digitnet: MNIST test accuracy", f"{digitnet['accuracy']:.2%}"),
        (
            "digitnet: pen-written digits accuracy",
            "n/a"
            if digitnet.get("pendigits_accuracy") is None
            else f"{digitnet['pendigits_accuracy']:.2%}",
        ),
        ("mlp: training wall seconds", f"{mlp['seconds']} s"),
        ("mlp: MNIST test accuracy", f"{mlp['accuracy']:.2%}"),
        (
            "prediction per drawing, p50 / p95",
            f"{prediction['direct_ms']['p50']:.2f} / {prediction['direct_ms']['p95']:.2f} ms",
        ),
        (
            "same through model.predict, p50 / p95",
            f"{prediction['model_predict_ms']['p50']:.1f} / "
            f"{prediction['model_predict_ms']['p95']:.1f} ms",
        ),
        ("cold start to first prediction", f"{results['cold_start_seconds']} s"),
        ("peak resident memory", f"{results['peak_memory_mb']} MB"),
    ]
    width = max(len(name) for name, _ in rows)
    title = "DigitLab bench" + (" (--quick: small smoke-test sizes)" if results["quick"] else "")
    return "\n".join([title, "-" * (width + 24)] + [f"{n:<{width}}  {v}" for n, v in rows])


def main(quick: bool, as_json: bool, pendigits: Path | None) -> int:
    results = run_bench(BenchOptions(quick=quick, pendigits=pendigits))
    print(json.dumps(results) if as_json else format_table(results))
    return 0
