"""When a model says "that doesn't look like a digit", and how well that works.

A model trained with not-a-digit drawings aimed at flat probabilities (outlier exposure,
Hendrycks et al. 2019) is unsure on what isn't a digit. It abstains when its top
probability at temperature 1 is below a threshold. The threshold is chosen on the TUNE
writers' digits (handdrawn.TUNE_WRITERS), as written, in each writing style and as each
device delivers them, so that at most ABSTAIN_ON_DIGITS of each of those sets abstain (the
styles the tuning writers fit fewer than 100 times count as one set);
every figure reported comes from other data. The temperature slider reshapes the
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


def choose_threshold_for_each(
    digit_logits: dict[str, np.ndarray], rate: float = ABSTAIN_ON_DIGITS, at_least: int = 100
) -> float:
    """The threshold below which at most `rate` of the digits of EACH set fall (a style, a
    device...): the lowest of their thresholds, so no one way of writing is refused more.

    Sets of fewer than `at_least` digits count together as one: 1% of 14 digits is the
    least sure of them, and one odd drawing would set the threshold for every answer (the
    three tuning writers write 14 two-stroke 4s: one open 4 among them moved the threshold
    from 0.39 to 0.31 and let 5% more letters through)."""
    sets = [logits for logits in digit_logits.values() if len(logits) >= at_least]
    few = [logits for logits in digit_logits.values() if len(logits) < at_least]
    if few:
        sets.append(np.concatenate(few))
    return min(choose_threshold(logits, rate) for logits in sets)


def abstains(logits: np.ndarray, threshold: float | None) -> np.ndarray:
    """Which rows a model with this threshold abstains on (none without a threshold)."""
    top = top_probabilities(logits)
    if threshold is None:
        return np.zeros(top.shape, bool)
    return top < threshold
