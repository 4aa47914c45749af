"""The softmax, in one place: with a temperature, as logs, worked by hand, and its entropy.

Every probability DigitLab shows or scores comes from here, so the Draw page, evaluation,
ensembles and abstention all agree to the last bit.
"""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / temperature) over the last axis, computed stably."""
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exps = np.exp(scaled)
    return exps / exps.sum(axis=-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log(softmax(logits)) without underflow: what a loss or a likelihood needs."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_steps(logits: np.ndarray, temperature: float = 1.0) -> list[dict[str, float]]:
    """The softmax worked by hand, one row per digit: its logit z, z / T, e^(z/T - max)
    (subtracting the largest keeps the exponentials from overflowing; it cancels out), and
    that share of the sum: the probability."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    exps = np.exp(scaled - scaled.max())
    return [
        {"digit": d, "logit": float(z), "z / T": float(s), "exp": float(e), "probability": p}
        for d, (z, s, e, p) in enumerate(zip(logits, scaled, exps, exps / exps.sum(), strict=True))
    ]


def entropy_bits(probabilities: np.ndarray) -> float:
    """Shannon entropy in bits: 0 for a certain answer, log2(10) = 3.32 for a uniform one."""
    p = np.asarray(probabilities, dtype=np.float64)
    nonzero = p[p > 0]
    return float(-(nonzero * np.log2(nonzero)).sum())
