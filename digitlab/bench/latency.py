"""How fast an answer comes: a drawing to ten probabilities, and a cold start to the first."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from digitlab.bench.options import BenchOptions

LATENCY_DRAWINGS = 300


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
        cwd=Path(__file__).resolve().parents[2],
    )
    return round(time.perf_counter() - started, 2)


def peak_memory_mb() -> float:
    """Peak resident memory of this process (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
