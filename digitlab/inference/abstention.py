"""When a model says "that doesn't look like a digit", and how well that works.

A model trained with not-a-digit drawings aimed at flat probabilities (outlier exposure,
Hendrycks et al. 2019) is unsure on what isn't a digit. It abstains when its top
probability at temperature 1 is below a threshold. The threshold is chosen on the TUNE
writers' digits (handdrawn.TUNE_WRITERS), so that about ABSTAIN_ON_DIGITS of real digits
abstain; every figure reported comes from other data. The temperature slider reshapes the
probabilities shown, never this decision.
"""

from __future__ import annotations

import numpy as np

from digitlab.inference.softmax import softmax

ABSTAIN_ON_DIGITS = 0.01  # of the tuning writers' digits: 1%, under the 1.5% allowed on real
# digits, leaving room for writers less tidy than the three tuning ones
NOT_A_DIGIT_MESSAGE = (
    "That doesn't look like a single digit: the model isn't sure enough to answer. "
    "Its probabilities are below; draw one digit to get an answer."
)


def top_probabilities(logits: np.ndarray) -> np.ndarray:
    """The largest softmax probability of each row of logits, at temperature 1."""
    return softmax(logits).max(axis=-1)


def choose_threshold(digit_logits: np.ndarray, rate: float = ABSTAIN_ON_DIGITS) -> float:
    """The top-probability threshold below which `rate` of these digits fall."""
    return float(np.quantile(top_probabilities(digit_logits), rate))


def abstains(logits: np.ndarray, threshold: float | None) -> np.ndarray:
    """Which rows a model with this threshold abstains on (none without a threshold)."""
    top = top_probabilities(logits)
    if threshold is None:
        return np.zeros(top.shape, bool)
    return top < threshold
