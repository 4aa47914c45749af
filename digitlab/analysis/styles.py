"""How a classifier does on each way of writing a digit and on each device, held-out
writers only (data.styles, data.devices: both built from handdrawn.TEST_WRITERS).

Abstentions count as wrong, as in handwriting.py: a refused digit is a digit not read.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from digitlab.analysis.handwriting import OutputsFn, digit_scores
from digitlab.data import devices, handdrawn, styles


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


def styles_report(outputs_of: OutputsFn, threshold: float | None, seed: int = 0) -> dict:
    """Per style and per device variant, on the held-out writers' digits."""
    as_written = {"as written": handdrawn.pen_digits("test")}
    return {
        "writers": list(handdrawn.TEST_WRITERS),
        "styles": {
            name: set_scores(outputs_of, threshold, drawings)
            for name, drawings in styles.style_drawings("test", seed).items()
        },
        "devices": {
            name: set_scores(outputs_of, threshold, drawings)
            for name, drawings in {**as_written, **devices.device_drawings("test", seed)}.items()
        },
        "skipped": {s.name: s.skipped for s in styles.STYLES if s.edit is None},
    }


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
