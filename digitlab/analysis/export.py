"""Export a stored model as .keras, SavedModel, TFLite (float32 or int8) or ONNX, and measure
each.

TFLite conversion runs in a child process: the converter of this TensorFlow release leaks
memory on every call, and a child gives it all back when it exits. The int8 file is full
integer quantisation (calibrated on MNIST training images) with float32 input and output:
it is called exactly like the float file, and since MNIST pixels are multiples of 1/255,
the input quantisation (scale 1/255) loses nothing (int8 I/O measured the same agreement).
The ONNX file (digitlab.analysis.onnx_export) takes 28x28 images like the SavedModel.

Every export of a stored model is also kept in a cache folder under the store, named by the
model's version, with the measured report beside it: the Export page is instant after once.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np

from digitlab import store
from digitlab.analysis.onnx_export import OnnxPredictor, write_onnx
from digitlab.analysis.tflite import TFLitePredictor
from digitlab.core.atomic import atomic_path
from digitlab.core.child import run_in_child
from digitlab.core.errors import UserError
from digitlab.data.batch import model_batch
from digitlab.data.mnist import load_mnist
from digitlab.inference.metrics import classification_metrics, model_outputs, regression_metrics
from digitlab.inference.predict import Predictor
from digitlab.zoo.registry import CLASSIFICATION, ModelSpec, labels_from_outputs

# Format -> its file name in the cache folder (savedmodel is a folder).
FORMATS = {
    "keras": "model.keras",
    "savedmodel": "savedmodel",
    "tflite": "model.tflite",
    "tflite-int8": "model-int8.tflite",
    "onnx": "model.onnx",
}
# The TFLite converter keeps memory it never gives back; a child process returns it on exit.
# (The ONNX one keeps ~10 MB an export: it converts in the caller, and the app's exports
# happen in the report's child anyway.)
CHILD_FORMATS = ("tflite", "tflite-int8")
REPRESENTATIVE_IMAGES = 500  # MNIST training images that calibrate the int8 ranges
LATENCY_RUNS = 200
REPORT_FILE = "report.json"


class ExportError(UserError, RuntimeError):
    """An export cannot be done; the message says why."""


# --- atomic writes ------------------------------------------------------------------------


@contextmanager
def _atomic(out: Path) -> Iterator[Path]:
    """`atomic.atomic_path`, with a failure to write said as an ExportError."""
    try:
        with atomic_path(out) as temp:
            yield temp
    except OSError as error:
        raise ExportError(f"Cannot write {out}: {error.strerror or error}") from error


def check_format(fmt: str) -> str:
    """The cache file name of a format; ExportError for an unknown one."""
    if fmt not in FORMATS:
        raise ExportError(f"Unknown format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    return FORMATS[fmt]


def check_target(fmt: str, out: Path) -> Path:
    """Refuse an unknown format or a path that cannot be written, with a clear message."""
    check_format(fmt)
    out = Path(out).expanduser().absolute()
    if not out.parent.is_dir():
        raise ExportError(f"Cannot write {out}: the folder {out.parent} does not exist.")
    if not os.access(out.parent, os.W_OK):
        raise ExportError(f"Cannot write {out}: the folder {out.parent} is not writable.")
    if fmt == "savedmodel" and out.exists():
        raise ExportError(f"{out} already exists: a SavedModel needs a new folder name.")
    if fmt != "savedmodel" and out.is_dir():
        raise ExportError(f"{out} is a folder: give a file name.")
    if fmt == "keras" and out.suffix != ".keras":
        raise ExportError(f"{out}: a Keras model file must end in .keras.")
    if fmt == "onnx" and out.suffix != ".onnx":
        raise ExportError(f"{out}: an ONNX file must end in .onnx.")
    return out


# --- writers -------------------------------------------------------------------------------


def _serving_function(model, spec: ModelSpec) -> Callable:
    """A batch of 28x28 images in [0, 1] -> probabilities and logits (or the value)."""
    import tensorflow as tf

    def serve(images):
        inputs = images[..., None]
        if spec.input_size == 20:  # area resize: the same weights as downscale_to_20
            inputs = tf.image.resize(inputs, (20, 20), method="area")
        outputs = model(inputs, training=False)
        if spec.task != CLASSIFICATION:
            return {"value": tf.reshape(outputs, [-1])}
        return {"probabilities": tf.nn.softmax(outputs), "logits": outputs}

    return serve


def _write_savedmodel(model, spec: ModelSpec, out: Path) -> None:
    """A SavedModel whose `serve` (and `serving_default`) signature takes `images` (N,28,28)."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    signature = [tf.TensorSpec([None, 28, 28], tf.float32, name="images")]
    archive.add_endpoint("serve", _serving_function(model, spec), input_signature=signature)
    archive.write_out(str(out), verbose=False)


def _native(images28: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Float (N, 28, 28) images in [0, 1] -> the model's own input (N, size, size, 1)."""
    return model_batch(images28, spec.input_size)


def _representative_images(spec: ModelSpec) -> np.ndarray:
    """Seeded MNIST training images in the model's input shape: the int8 calibration set."""
    x_train = load_mnist().x_train
    chosen = np.random.default_rng(0).choice(len(x_train), REPRESENTATIVE_IMAGES, replace=False)
    return _native(x_train[np.sort(chosen)] / np.float32(255), spec)


def tflite_bytes(model, spec: ModelSpec, fmt: str) -> bytes:
    """Convert a Keras model to a TFLite flatbuffer: float32, or int8 inside with float I/O."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if fmt == "tflite-int8":
        images = _representative_images(spec)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([image[None]] for image in images)
        # Fail rather than silently keep a float op: the file must be integer throughout.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with redirect_stdout(sys.stderr):  # the converter prints; stdout may carry --json
        return converter.convert()


def write_format(run: store.Run, fmt: str, out: Path, model=None) -> Path:
    """Write one format of a stored model to `out` atomically, in this process."""
    if fmt == "keras":  # the stored file is already the Keras format: copy it bit for bit
        with _atomic(out) as temp:
            shutil.copyfile(run.model_file, temp)
        return out
    model = model if model is not None else run.load()
    with _atomic(out) as temp:
        if fmt == "savedmodel":
            _write_savedmodel(model, run.spec, temp)
        elif fmt == "onnx":
            write_onnx(model, run.spec, temp)
        else:
            temp.write_bytes(tflite_bytes(model, run.spec, fmt))
    return out


def _write_in_child(run_id: str, fmt: str, out: str) -> str:
    # A child gets the run's id, not the object: it reads the same store ($DIGITLAB_STORE_DIR).
    return str(write_format(store.get_run(run_id), fmt, Path(out)))


def in_child(task: Callable[..., Any], *args: str) -> Any:
    """Run an export task in a fresh process (digitlab.core.child); failures are ExportErrors."""
    return run_in_child(task, *args, error=ExportError)


def export_model(run: store.Run, fmt: str, out: Path, model=None) -> Path:
    """Export a stored model to `out` (checked first); TFLite conversion runs in a child."""
    out = check_target(fmt, out)
    if fmt in CHILD_FORMATS:
        return Path(in_child(_write_in_child, run.id, fmt, str(out)))
    return write_format(run, fmt, out, model)


# --- the cache folder: every format and the report, per model version ----------------------


def cache_folder(run: store.Run, root: Path | None = None) -> Path:
    """Where this run's exports and report are kept (created if missing)."""
    return store.cache_dir(run, "export", root)


def is_exported(run: store.Run, fmt: str, root: Path | None = None) -> bool:
    """Whether this run's export in this format is cached already (no conversion to wait for)."""
    return (cache_folder(run, root) / check_format(fmt)).exists()


def exported_file(run: store.Run, fmt: str, root: Path | None = None) -> Path:
    """The cached export of one format, written first if missing."""
    path = cache_folder(run, root) / check_format(fmt)
    if not path.exists():
        export_model(run, fmt, path)
    return path


def download_file(run: store.Run, fmt: str, root: Path | None = None) -> Path:
    """A single file to download: the export itself, or a zip of the SavedModel folder."""
    path = exported_file(run, fmt, root)
    if not path.is_dir():
        return path
    archive = path.with_suffix(".zip")
    if not archive.exists():
        with _atomic(archive) as temp:
            shutil.make_archive(str(temp.with_suffix("")), "zip", path.parent, path.name)
    return archive


def size_bytes(path: Path) -> int:
    """The size of a file, or of every file in a folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


# --- measuring -----------------------------------------------------------------------------

RUNTIMES = {
    "keras": "Keras model call in a tf.function (the Draw page's path)",
    "savedmodel": "SavedModel serving signature",
    "tflite": "TFLite interpreter, 1 thread",
    "tflite-int8": "TFLite interpreter, 1 thread",
    "onnx": "ONNX Runtime (CPU), 1 thread",
}


def _median_ms(call: Callable[[np.ndarray], Any], image: np.ndarray) -> float:
    """Median wall time of call(image) in milliseconds, after a few warm-up calls."""
    for _ in range(5):
        call(image)
    times = []
    for _ in range(LATENCY_RUNS):
        start = time.perf_counter()
        call(image)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _in_batches(outputs_of: Callable, images: np.ndarray, size: int = 1000) -> np.ndarray:
    parts = [np.asarray(outputs_of(images[i : i + size])) for i in range(0, len(images), size)]
    return np.concatenate(parts).reshape(len(images), -1).astype(np.float64)


def _runner(fmt: str, path: Path, spec: ModelSpec) -> tuple[Callable, Callable]:
    """For one exported file: (outputs for (N, 28, 28) images, a call on one 28x28 image)."""
    import keras
    import tensorflow as tf

    if fmt == "savedmodel":
        signature = tf.saved_model.load(str(path)).signatures["serving_default"]
        key = "logits" if spec.task == CLASSIFICATION else "value"
        return (
            lambda x: _in_batches(lambda part: signature(images=tf.constant(part))[key], x),
            lambda image: signature(images=tf.constant(image[None])),
        )
    if fmt == "onnx":  # takes the 28x28 images themselves
        predictor = OnnxPredictor(path, spec)
        return lambda x: _in_batches(predictor.outputs, x), predictor.raw_outputs
    if fmt == "keras":
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
        predictor, outputs_of = Predictor(model, spec), lambda x: model_outputs(model, x)
    else:
        predictor = TFLitePredictor(path, spec)
        outputs_of = predictor.outputs
    return lambda x: _in_batches(outputs_of, _native(x, spec)), predictor.raw_outputs


def _format_row(fmt: str, path: Path, spec: ModelSpec, reference: np.ndarray) -> dict[str, Any]:
    """Size, test accuracy, agreement with the Keras labels and latency of one file."""
    mnist = load_mnist()
    images = mnist.x_test / np.float32(255)
    outputs_of, call_one = _runner(fmt, path, spec)
    outputs = outputs_of(images)
    score = classification_metrics if spec.task == CLASSIFICATION else regression_metrics
    return {
        "format": fmt,
        "file": path.name,
        "size_bytes": size_bytes(path),
        "accuracy": score(outputs, mnist.y_test)["accuracy"],
        "agreement": float(np.mean(labels_from_outputs(outputs, spec.task) == reference)),
        "latency_ms": _median_ms(call_one, images[0]),
        "runtime": RUNTIMES[fmt],
    }


def measure(run: store.Run, folder: Path) -> dict[str, Any]:
    """Export every format into `folder` (where missing) and measure each on MNIST test."""
    import tensorflow as tf

    spec = run.spec
    model = run.load()
    x_test = load_mnist().x_test
    reference = labels_from_outputs(
        model_outputs(model, _native(x_test / np.float32(255), spec)), spec.task
    )
    rows = []
    for fmt, file_name in FORMATS.items():
        if not (folder / file_name).exists():
            write_format(run, fmt, folder / file_name, model)
        rows.append(_format_row(fmt, folder / file_name, spec, reference))
    return {
        "model": run.model,
        "run": run.id,
        "version": run.version_key,
        "path": str(run.path),
        "test_images": len(x_test),
        "tensorflow": tf.__version__,
        "measured_at": time.time(),
        "formats": rows,
    }


def _measure_in_child(run_id: str, folder: str) -> dict[str, Any]:
    result = measure(store.get_run(run_id), Path(folder))
    with _atomic(Path(folder) / REPORT_FILE) as temp:
        temp.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


def report(run: store.Run, root: Path | None = None) -> dict[str, Any]:
    """The measured report of every format, cached per model version; the first time it is
    measured in a child process (tens of seconds)."""
    folder = cache_folder(run, root)
    try:
        cached = json.loads((folder / REPORT_FILE).read_text(encoding="utf-8"))
        # A report from before a format was added is measured again (only the new format
        # is converted: the files already there are kept).
        if [row["format"] for row in cached["formats"]] == list(FORMATS):
            return cached
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return in_child(_measure_in_child, run.id, str(folder))


def report_table(result: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    lines = [
        f"{result['model']} on {result['test_images']:,} MNIST test images "
        f"(TensorFlow {result['tensorflow']})",
        f"{'format':<12} {'size':>9} {'accuracy':>9} {'agreement':>10} {'latency':>9}  runtime",
    ]
    for row in result["formats"]:
        lines.append(
            f"{row['format']:<12} {row['size_bytes'] / 1024:>6.0f} KB {row['accuracy']:>9.2%} "
            f"{row['agreement']:>10.2%} {row['latency_ms']:>6.3f} ms  {row['runtime']}"
        )
    return "\n".join(lines)
