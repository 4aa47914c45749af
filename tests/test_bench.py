"""The benchmark command's smoke test: it runs end to end and reports sane figures."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
    assert 0.5 < results["reference"]["accuracy"] <= 1 and results["reference"]["epochs"] == 1
    for model in ("digitnet", "mlp"):
        assert results[model]["seconds"] > 0 and 0.5 < results[model]["accuracy"] <= 1
    prediction = results["prediction"]
    assert 0 < prediction["direct_ms"]["p50"] <= prediction["direct_ms"]["p95"]
    assert prediction["model_predict_ms"]["p50"] > 0
    assert results["cold_start_seconds"] > 0 and results["peak_memory_mb"] > 100
    assert results["drawings_seconds"] >= 0  # the pen digits were drawn or found cached
    if results["digitnet"].get("pendigits_accuracy") is not None:
        assert 0.3 < results["digitnet"]["pendigits_accuracy"] <= 1
    assert not list(private_store.glob("runs/*"))  # the bench trains into a throw-away store
