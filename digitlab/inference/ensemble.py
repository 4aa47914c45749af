"""Ensembles: 2 to 5 trained classifiers answering together with their mean probability.

An ensemble is stored as a run (model "ensemble") so that every page, the API and the
command line use it as they use any run. Its folder holds one Keras model that averages its
members (`models.build_ensemble`: exported as one SavedModel or TFLite file) and a copy of
each member's own file under `members/`, which the drawing path runs in numpy. Copies, not
references: deleting a member run later leaves the ensemble whole.

The temperature applies to each member's logits before the probabilities are averaged,
so T = 1 gives exactly the mean of the members' answers. How much the members agree is
shown beside the answer: an honest sign of how sure the ensemble is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from digitlab import store
from digitlab.core.errors import UserError
from digitlab.inference.softmax import softmax
from digitlab.zoo.registry import CLASSIFICATION, ENSEMBLE

MIN_MEMBERS, MAX_MEMBERS = 2, 5
MEMBERS_FOLDER = "members"
INPUT_SIZE = 28  # the members' common input; tiny20's 20x20 input can't join them


class EnsembleError(UserError, ValueError):
    """The runs chosen can't make an ensemble (too few, too many, or unsuitable)."""


def why_not_member(run: store.Run) -> str | None:
    """Why this run can't join an ensemble, or None when it can."""
    if run.model == ENSEMBLE:
        return f"Run {run.id} is an ensemble already: pick trained runs."
    if run.spec.task != CLASSIFICATION:
        return (
            f"Run {run.id} ({run.model}) predicts a number, not ten probabilities: "
            "only classifiers can be averaged."
        )
    if run.spec.input_size != INPUT_SIZE:
        size = run.spec.input_size
        return f"Run {run.id} ({run.model}) reads {size}x{size} images; members all read 28x28."
    return None


def check_members(runs: list[store.Run]) -> None:
    """EnsembleError, in words a user understands, unless these runs can form an ensemble."""
    ids = [run.id for run in runs]
    if len(set(ids)) != len(ids):
        raise EnsembleError("Each run can join an ensemble once: pick different runs.")
    if not MIN_MEMBERS <= len(runs) <= MAX_MEMBERS:
        raise EnsembleError(
            f"An ensemble needs {MIN_MEMBERS} to {MAX_MEMBERS} runs; {len(runs)} were given."
        )
    for run in runs:
        if reason := why_not_member(run):
            raise EnsembleError(reason)


def member_file(run: store.Run, index: int) -> Path:
    return run.path / MEMBERS_FOLDER / f"{index}.keras"


def members(run: store.Run) -> list[dict[str, Any]]:
    """An ensemble's members as recorded: id, model and MNIST test accuracy of each."""
    return list(run.metrics.get("members", []))


# --- the arithmetic of averaging -----------------------------------------------------------


def is_members_outputs(outputs: np.ndarray) -> bool:
    """Whether raw outputs are an ensemble's: one row of logits per member (N, 10), where
    any other classifier gives one row (10,)."""
    return np.ndim(outputs) == 2


def mean_probabilities(member_logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """(..., members, 10) logits -> (..., 10): each member's softmax at T, then the mean."""
    return softmax(member_logits, temperature).mean(axis=-2)


def pooled_logits(member_logits: np.ndarray) -> np.ndarray:
    """Logits whose softmax at T = 1 is the members' mean probability (what the Keras
    ensemble outputs), for what reads logits: abstention, evaluation."""
    return np.log(mean_probabilities(member_logits))


def votes(member_logits: np.ndarray, temperature: float = 1.0) -> dict[str, Any]:
    """How one input's members agree: each one's digit and confidence, how many say the
    ensemble's digit, and the spread of their probabilities for it."""
    member_logits = np.asarray(member_logits, np.float64)
    each = softmax(member_logits, temperature)
    label = int(mean_probabilities(member_logits, temperature).argmax())
    said = each.argmax(axis=-1)
    for_label = each[:, label]
    return {
        "label": label,
        "agree": int((said == label).sum()),
        "members": len(each),
        "lowest": float(for_label.min()),
        "highest": float(for_label.max()),
        "each": [
            {"digit": int(d), "confidence": float(p.max()), "probabilities": p}
            for d, p in zip(said, each, strict=True)
        ],
    }
