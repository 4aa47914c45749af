"""`python -m digitlab bench`: DigitLab against the Keras "Simple MNIST convnet", in one run.

Everything is measured in one run, one after the other, so the figures share the same
(noisy) machine state and can be compared with each other; each training runs in a fresh
process of its own, as a training job does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from digitlab.bench.latency import bench_cold_start, bench_prediction, peak_memory_mb
from digitlab.bench.options import BenchOptions
from digitlab.bench.recipes import bench_recipe
from digitlab.bench.reference import bench_reference, machine_gflops

# Each training entry: (model, preset) and its target (accuracy at least, seconds at most).
# digitnet's seconds target is a third of the reference's seconds to 99.2%, in the same run.
TRAINING_ENTRIES = {
    "digitnet_quick": ("digitnet", "quick", 0.990, 15.0),
    "digitnet": ("digitnet", "default", 0.993, None),
    "digitnet_long": ("digitnet", "long", 0.995, 180.0),
    "mlp": ("mlp", "default", 0.980, 5.0),
}
REFERENCE_FRACTION = 1 / 3
# --quick, a smoke test of every code path at small sizes, trains two of them: digitnet's
# default recipe (the pen digits and not-digits it adds, not the writing styles' and
# devices' extras) and mlp (the reference's fraction).
QUICK_ENTRIES = ("digitnet", "mlp")


def training_entries(quick: bool) -> list[str]:
    """The TRAINING_ENTRIES keys a run measures."""
    return list(QUICK_ENTRIES) if quick else list(TRAINING_ENTRIES)


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
        cwd=Path(__file__).resolve().parents[2],
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench entry {key} failed: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare_drawings(quick: bool) -> float | None:
    """Draw (or find cached) the pen digits and not-digits the recipes train and are
    measured on: a once-per-machine cost like MNIST's download, so kept off the training
    entries' clocks and reported on its own. None without the pendigits file."""
    from digitlab.data import devices, handdrawn, styles, tuning

    started = time.perf_counter()
    try:  # what digitnet's default recipe trains on, tunes its threshold on and is scored on
        handdrawn.training_extras(True, True)
        if not quick:  # --quick trains without them (bench_recipe)
            styles.training_styles()
            devices.training_devices()
        tuning.tuning_sets()
        handdrawn.pen_digits("test")
    except handdrawn.NoPenDigits:
        return None
    return round(time.perf_counter() - started, 1)


def run_bench(options: BenchOptions) -> dict[str, Any]:
    results: dict[str, Any] = {"quick": options.quick, "machine_gflops": machine_gflops()}
    results["drawings_seconds"] = prepare_drawings(options.quick)
    results["reference"] = _entry_in_child("reference", options)
    reference_seconds = results["reference"]["seconds_to_target"]
    for key in training_entries(options.quick):
        _model, _preset, accuracy, seconds = TRAINING_ENTRIES[key]
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
    for key in training_entries(results["quick"]):
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
