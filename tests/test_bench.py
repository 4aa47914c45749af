"""The benchmark command's smoke test: it runs end to end and reports sane figures."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from digitlab.bench import QUICK_ENTRIES, TRAINING_ENTRIES
from digitlab.data import devices, handdrawn, notdigits, styles
from digitlab.data.pendigits import default_pendigits_path

ROOT = Path(__file__).resolve().parents[1]
# The drawn sets the bench trains and measures on (handdrawn's cache names them so).
CACHED_SETS = ("pen-train-alpha", "pen-train-variants-0", f"not-digits-v{notdigits.VERSION}-train",
               "pen-tune-alpha", "pen-tune-variants-0", "pen-test-alpha",
               f"style-g{styles.GENERATION}-tune-0-slashed-0",
               f"device-g{devices.GENERATION}-tune-thick-strokes-0")  # fmt: skip


@pytest.mark.slow
def test_bench_quick_reports_every_figure(mnist, private_store):
    done = subprocess.run(
        [sys.executable, "-m", "digitlab", "bench", "--quick", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "DIGITLAB_STORE_DIR": str(private_store)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)
    assert results["quick"] is True
    assert [key for key in TRAINING_ENTRIES if key in results] == list(QUICK_ENTRIES)
    assert 0.5 < results["reference"]["accuracy"] <= 1 and results["reference"]["epochs"] == 1
    for model in ("digitnet", "mlp"):
        assert results[model]["seconds"] > 0 and 0.5 < results[model]["accuracy"] <= 1
    prediction = results["prediction"]
    assert 0 < prediction["direct_ms"]["p50"] <= prediction["direct_ms"]["p95"]
    assert prediction["model_predict_ms"]["p50"] > 0
    assert results["cold_start_seconds"] > 0 and results["peak_memory_mb"] > 100
    drawn = results["drawings_seconds"]
    if default_pendigits_path() is None:
        assert drawn is None  # nothing to draw from
    else:  # drawn, or found cached: either way every set the bench uses is in the cache now
        assert drawn is not None and drawn >= 0
        prefix = f"drawings-g{handdrawn.GENERATION}-"
        cached = [path.name for path in handdrawn.cache_dir().glob(f"{prefix}*.npz")]
        for name in CACHED_SETS:
            assert any(file.startswith(f"{prefix}{name}-") for file in cached), (name, cached)
    if results["digitnet"].get("pendigits_accuracy") is not None:
        assert 0.3 < results["digitnet"]["pendigits_accuracy"] <= 1
    assert not list(private_store.glob("runs/*"))  # the bench trains into a throw-away store
