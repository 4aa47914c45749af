"""How the model's belief grew while a digit was drawn: one step per drawing state.

A step keeps the model's raw outputs, not its probabilities, so the temperature reshapes
the whole history at once (as it reshapes the bars) without running the model again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitlab.inference.predict import interpret
from digitlab.zoo.registry import CLASSIFICATION

TOP = 3  # answers named after each stroke, and the lines a chart follows


@dataclass(frozen=True, eq=False)  # eq=False: arrays make field-wise equality ambiguous
class Step:
    """One drawing state: its input's digest, its stroke count if known, the model's outputs."""

    digest: str
    strokes: int | None  # from the canvas's JSON; None where there is none (tests, uploads)
    outputs: np.ndarray  # logits, or an ensemble's members' logits (one row each)


def advance(history: list[Step], step: Step) -> list[Step]:
    """The history after the canvas reported `step`.

    The same input again (a temperature change, a rerun) changes nothing; an input seen
    before (Undo back to it) goes back to that point; a drawing with no more strokes than
    the last step replaces the steps it undid (Undo, then a new stroke); otherwise it grows.
    """
    for position, earlier in enumerate(history):
        if earlier.digest == step.digest:
            return history[: position + 1]
    if step.strokes is not None:
        history = [s for s in history if s.strokes is None or s.strokes < step.strokes]
    return [*history, step]


def probabilities(history: list[Step], temperature: float) -> np.ndarray:
    """(steps, 10): each step's probabilities at this temperature, as the bars show them."""
    if not history:
        return np.zeros((0, 10))
    return np.stack(
        [interpret(s.outputs, CLASSIFICATION, temperature).probabilities for s in history]
    )


def top_answers(probabilities_now: np.ndarray, count: int = TOP) -> list[tuple[int, float]]:
    """The `count` most probable digits with their probabilities, most probable first."""
    order = np.argsort(-np.asarray(probabilities_now), kind="stable")[:count]
    return [(int(digit), float(probabilities_now[digit])) for digit in order]


def followed_digits(steps: np.ndarray, count: int = TOP) -> list[int]:
    """Every digit that was among the top `count` after some step, in digit order."""
    return sorted({digit for row in steps for digit, _ in top_answers(row, count)})


def stroke_numbers(history: list[Step]) -> list[int]:
    """The x axis: each step's stroke count where the canvas said it, else its position."""
    return [s.strokes if s.strokes is not None else i for i, s in enumerate(history, start=1)]
