"""`python -m digitlab bench`: DigitLab against the Keras "Simple MNIST convnet", in one run.

Everything is measured in one run, one after the other, so the figures share the same
(noisy) machine state and can be compared with each other; each training runs in a fresh
process of its own, as a training job does.
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

    from digitlab.data.mnist import load_mnist

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
    images_seen = int(len(x_train) * 0.9) * epoch  # fit holds out 10% for validation
    return {
        **training_speed(model, images_seen, training_seconds),
        "seconds_to_target": round(training_seconds, 1) if reached_at else None,
        "training_seconds": round(training_seconds, 1),
        "epochs": epoch,
        "reached_target": reached_at is not None,
        "accuracy": accuracy,
    }


# Each training entry: (model, preset) and its target (accuracy at least, seconds at most).
# digitnet's seconds target is a third of the reference's seconds to 99.2%, in the same run.
TRAINING_ENTRIES = {
    "digitnet_quick": ("digitnet", "quick", 0.990, 15.0),
    "digitnet": ("digitnet", "default", 0.993, None),
    "digitnet_long": ("digitnet", "long", 0.995, 180.0),
    "mlp": ("mlp", "default", 0.980, 5.0),
}
REFERENCE_FRACTION = 1 / 3


def forward_flops(model) -> int:
    """Floating-point operations of one forward pass of one image (convolutions and dense
    layers: two per multiply-add; pooling and activations are negligible)."""
    import keras

    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            kernel = layer.kernel.shape  # (kh, kw, in_channels, filters)
            flops += 2 * height * width * filters * kernel[0] * kernel[1] * kernel[2]
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
    return int(flops)


def training_speed(model, images_seen: int, seconds: float) -> dict[str, float]:
    """Images per second and the GFLOP/s they mean (a training step is ~3 forward passes)."""
    per_second = images_seen / seconds if seconds > 0 else 0.0
    return {
        "images_per_second": round(per_second),
        "gflops": round(3 * forward_flops(model) * per_second / 1e9, 1),
    }


def machine_gflops(size: int = 2048, repeats: int = 5) -> float:
    """This machine's float32 matrix-multiply GFLOP/s (numpy's BLAS, all cores; median)."""
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        a @ a
        times.append(time.perf_counter() - started)
    return round(2 * size**3 / float(np.median(times)) / 1e9, 1)


def bench_recipe(model: str, options: BenchOptions, preset: str = "default") -> dict[str, Any]:
    """Train a zoo model with one of DigitLab's recipes into a throw-away store (no cache
    hit); `seconds` is the whole of train(): data, building, training, testing, saving."""
    from digitlab.training.progress import TRAINED
    from digitlab.training.train import train
    from digitlab.zoo.config import recipe

    config = recipe(model, preset=preset)
    if options.quick:
        config = config.replace(
            epochs=1, clean_epochs=min(config.clean_epochs, 1), train_samples=options.train_samples
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
    from digitlab.data.mnist import unit_floats
    from digitlab.inference.metrics import model_outputs
    from digitlab.inference.predict import abstain_threshold

    try:
        test = handdrawn.pen_digits("test")
    except handdrawn.NoPenDigits:
        return None
    count = 200 if options.quick else len(test)
    logits = model_outputs(run.load(), unit_floats(test.images[:count])[..., None])
    return digit_scores(logits, test.labels[:count], abstain_threshold(run))["accuracy"]


def _sample_canvases(count: int) -> list[np.ndarray]:
    """Canvas arrays to predict: pen-written digits when available, else MNIST drawn large."""
    from digitlab.data.pendigits import default_pendigits_path, parse_pendigits, rasterize

    path = default_pendigits_path()
    if path is not None:
        return [rasterize(digit) for digit in parse_pendigits(path)[:count]]
    from digitlab.data.mnist import load_mnist

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
    from digitlab.data.preprocess import preprocess
    from digitlab.inference.predict import load_predictor
    from digitlab.inference.softmax import softmax
    from digitlab.zoo.registry import DEFAULT_MODEL

    run = store.default_run(DEFAULT_MODEL)
    predictor = load_predictor(run)
    model = run.load()
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
from digitlab.inference.predict import load_predictor
from digitlab.zoo.registry import DEFAULT_MODEL
canvas = np.zeros((280, 280, 4), np.uint8)
canvas[60:220, 130:150, 3] = 255  # a "1"
print(load_predictor(store.default_run(DEFAULT_MODEL)).predict_image(canvas).label)
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


def run_entry(key: str, options: BenchOptions) -> dict[str, Any]:
    """One training entry ("reference" or a TRAINING_ENTRIES key), in this process."""
    if key == "reference":
        return bench_reference(options)
    model, preset, _accuracy, _seconds = TRAINING_ENTRIES[key]
    return bench_recipe(model, options, preset)


def _entry_in_child(key: str, options: BenchOptions) -> dict[str, Any]:
    """Each training runs in a fresh process, as a training job does (digitlab.training.jobs): no
    run inherits another's memory, threads or TensorFlow state."""
    code = (
        "import json, sys; "
        "from digitlab.bench import BenchOptions, run_entry; "
        "print(json.dumps(run_entry(sys.argv[1], BenchOptions(sys.argv[2] == '1'))))"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            key,
            "1" if options.quick else "0",
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench entry {key} failed: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare_drawings() -> float | None:
    """Draw (or find cached) the pen digits and not-digits the recipes train and are
    measured on: a once-per-machine cost like MNIST's download, so kept off the training
    entries' clocks and reported on its own. None without the pendigits file."""
    from digitlab.data import handdrawn

    started = time.perf_counter()
    try:
        handdrawn.training_extras(True, True)
        for group in ("tune", "test"):
            handdrawn.pen_digits(group)
        handdrawn.pen_digit_variants("tune")
    except handdrawn.NoPenDigits:
        return None
    return round(time.perf_counter() - started, 1)


def run_bench(options: BenchOptions) -> dict[str, Any]:
    results: dict[str, Any] = {"quick": options.quick, "machine_gflops": machine_gflops()}
    results["drawings_seconds"] = prepare_drawings()
    results["reference"] = _entry_in_child("reference", options)
    reference_seconds = results["reference"]["seconds_to_target"]
    for key, (_model, _preset, accuracy, seconds) in TRAINING_ENTRIES.items():
        entry = results[key] = _entry_in_child(key, options)
        if seconds is None and reference_seconds:
            seconds = round(reference_seconds * REFERENCE_FRACTION, 1)
            entry["fraction_of_reference"] = round(entry["seconds"] / reference_seconds, 3)
        entry["target"] = {"accuracy": accuracy, "seconds": seconds}
        entry["met"] = bool(
            not options.quick
            and entry["accuracy"] >= accuracy
            and seconds is not None
            and entry["seconds"] <= seconds
        )
    results["prediction"] = bench_prediction(options)
    results["cold_start_seconds"] = bench_cold_start()
    results["peak_memory_mb"] = peak_memory_mb()
    return results


def _training_rows(key: str, entry: dict[str, Any]) -> list[tuple[str, str]]:
    target = entry["target"]
    goal = f"target >= {target['accuracy']:.1%}" + (
        f" in <= {target['seconds']} s" if target["seconds"] is not None else ""
    )
    share = (
        f", {entry['fraction_of_reference']:.0%} of the reference"
        if "fraction_of_reference" in entry
        else ""
    )
    rows = [
        (
            f"{key} ({entry['preset']})",
            f"{entry['accuracy']:.2%} in {entry['seconds']} s, {entry['epochs']} epochs{share}"
            f" [{goal}: {'met' if entry['met'] else 'NOT met'}]",
        ),
        (
            f"{key}: training speed",
            f"{entry['images_per_second']:,} images/s, {entry['gflops']} GFLOP/s "
            f"(fit {entry['fit_seconds']} s)",
        ),
    ]
    if entry.get("pendigits_accuracy") is not None:
        rows.append((f"{key}: pen-written digits accuracy", f"{entry['pendigits_accuracy']:.2%}"))
    return rows


def format_table(results: dict[str, Any]) -> str:
    """The figures as a readable table."""
    reference, prediction = results["reference"], results["prediction"]
    to_target = reference["seconds_to_target"]
    rows = [
        ("machine: float32 matmul", f"{results['machine_gflops']} GFLOP/s"),
        (
            "reference convnet: seconds to 99.2%",
            f"{to_target} s (epoch {reference['epochs']})"
            if to_target
            else f"not reached in {reference['epochs']} epochs ({reference['training_seconds']} s)",
        ),
        ("reference convnet: final accuracy", f"{reference['accuracy']:.2%}"),
        (
            "reference convnet: training speed",
            f"{reference['images_per_second']:,} images/s, {reference['gflops']} GFLOP/s",
        ),
    ]
    for key in TRAINING_ENTRIES:
        rows += _training_rows(key, results[key])
    rows += [
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
        ("drawing the pen digits (once a machine)", f"{results['drawings_seconds']} s"),
    ]
    width = max(len(name) for name, _ in rows)
    title = "DigitLab bench" + (" (--quick: small smoke-test sizes)" if results["quick"] else "")
    return "\n".join([title, "-" * (width + 24)] + [f"{n:<{width}}  {v}" for n, v in rows])


def main(quick: bool, as_json: bool) -> int:
    results = run_bench(BenchOptions(quick=quick))
    print(json.dumps(results) if as_json else format_table(results))
    return 0
