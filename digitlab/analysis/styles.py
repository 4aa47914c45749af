"""How a classifier does on each way of writing a digit and on each device, held-out
writers only (data.styles, data.devices: both built from handdrawn.TEST_WRITERS).

Abstentions count as wrong, as in handwriting.py: a refused digit is a digit not read. A
run's report is kept in the store's cache (the shipped models carry theirs in their
evaluation.json), so the Evaluate page measures a run once.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np

from digitlab import store
from digitlab.analysis.evaluate import outputs_fn
from digitlab.analysis.handwriting import MISREAD_SHOWN, OutputsFn, digit_scores
from digitlab.core import atomic
from digitlab.data import devices, handdrawn, styles
from digitlab.inference import abstention
from digitlab.inference.predict import abstain_threshold

STYLES = "styles"  # the report's file name in the cache, and its key in a shipped evaluation


def set_scores(outputs_of: OutputsFn, threshold: float | None, drawings) -> dict[str, Any]:
    """One set's count, accuracy (refusals wrong), share refused and its commonest misread."""
    logits = outputs_of(drawings.images.astype(np.float32) / 255.0)
    with warnings.catch_warnings():
        # A style set holds one digit: the per-class means of the nine others are empty.
        warnings.simplefilter("ignore", RuntimeWarning)
        scores = digit_scores(logits, drawings.labels, threshold)
    confusions = scores["confusions"]
    return {
        "count": scores["count"],
        "accuracy": scores["accuracy"],
        "abstained": scores["abstained"],
        "misread_as": confusions[0]["predicted"] if confusions else None,
    }


def misreads(outputs_of: OutputsFn, threshold: float | None, drawings) -> list[dict]:
    """The set's digits not read right, answered wrong (most confident first) then refused:
    the gallery's items, by index into the set."""
    logits = outputs_of(drawings.images.astype(np.float32) / 255.0)
    refused = abstention.abstains(logits, threshold)
    predicted = logits.argmax(axis=-1)
    top = abstention.top_probabilities(logits)
    wrong = (predicted != drawings.labels) & ~refused
    order = np.concatenate(
        [np.flatnonzero(wrong)[np.argsort(-top[wrong], kind="stable")], np.flatnonzero(refused)]
    )
    return [
        {
            "index": int(i),
            "true": int(drawings.labels[i]),
            "predicted": None if refused[i] else int(predicted[i]),
            "confidence": float(top[i]),
        }
        for i in order[:MISREAD_SHOWN]
    ]


def styles_report(outputs_of: OutputsFn, threshold: float | None, seed: int = 0) -> dict:
    """Per style and per device variant, on the held-out writers' digits, and the misreads
    of the style read worst."""
    as_written = {"as written": handdrawn.pen_digits("test")}
    style_sets = styles.style_drawings("test", seed)
    per_style = {name: set_scores(outputs_of, threshold, d) for name, d in style_sets.items()}
    worst = min(per_style, key=lambda name: per_style[name]["accuracy"])
    return {
        "writers": list(handdrawn.TEST_WRITERS),
        "seed": seed,
        "styles": per_style,
        "devices": {
            name: set_scores(outputs_of, threshold, drawings)
            for name, drawings in {**as_written, **devices.device_drawings("test", seed)}.items()
        },
        "worst": {"style": worst, "misread": misreads(outputs_of, threshold, style_sets[worst])},
        "skipped": {s.name: s.skipped for s in styles.STYLES if s.edit is None},
    }


def _stored(run: store.Run) -> list[tuple[Any, str]]:
    """Where a run's report may be: its cache file, and for a shipped run its evaluation."""
    places = [(store.cache_dir(run, STYLES) / f"{STYLES}.json", "")]
    if run.shipped:
        places.append((run.path / "evaluation.json", STYLES))
    return places


def cached_report(run: store.Run) -> dict[str, Any] | None:
    """The run's report measured before (this very run: its save time matches), or None."""
    for path, key in _stored(run):
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        report = saved.get(key) if key else saved
        if isinstance(report, dict) and saved.get("saved_at") == run.created_at:
            return report
    return None


def run_report(run: store.Run) -> dict[str, Any]:
    """The run's report: from the cache, else measured now (about 30,000 drawings, which
    are drawn once per machine) and cached. Raises handdrawn.NoPenDigits without them."""
    report = cached_report(run)
    if report is not None:
        return report
    report = styles_report(outputs_fn(run, run.load()), abstain_threshold(run))
    path = _stored(run)[0][0]
    atomic.write_text(path, json.dumps({**report, "saved_at": run.created_at}, indent=1))
    return report


def table_lines(title: str, rows: dict[str, dict[str, Any]]) -> list[str]:
    """One plain-text table: a row per set, accuracy and refusals in percent."""
    lines = [f"{title:<22} {'digits':>6} {'accuracy':>9} {'refused':>8}  misread most as"]
    for name, row in rows.items():
        misread = "-" if row["misread_as"] is None else str(row["misread_as"])
        lines.append(
            f"{name:<22} {row['count']:>6} {row['accuracy']:>9.2%} {row['abstained']:>8.2%}"
            f"  {misread}"
        )
    return lines


def report_lines(report: dict[str, Any]) -> list[str]:
    """The report as the CLI prints it."""
    lines = [f"Held-out writers {report['writers']} only; a refusal counts as wrong.", ""]
    lines += table_lines("style", report["styles"]) + [""]
    lines += table_lines("device", report["devices"]) + [""]
    lines += [f"not made: {name}: {why}" for name, why in report["skipped"].items()]
    return lines
