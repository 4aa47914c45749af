"""The softmax temperature control: a log-scale slider from 0.1 to 10."""

from __future__ import annotations

import numpy as np
import streamlit as st

from digitlab.predict import MAX_TEMPERATURE, MIN_TEMPERATURE

# 41 log-spaced stops, so 0.1 -> 1 and 1 -> 10 each get half the slider's travel.
TEMPERATURES = [
    float(f"{value:.3g}")
    for value in np.logspace(np.log10(MIN_TEMPERATURE), np.log10(MAX_TEMPERATURE), 41)
]
DEFAULT_TEMPERATURE = 1.0


def temperature_slider() -> float:
    return st.select_slider(
        "Softmax temperature",
        options=TEMPERATURES,
        value=DEFAULT_TEMPERATURE,
        key="temperature",
        help="Probabilities are softmax(logits / T). Below 1 sharpens them towards the top "
        "answer; above 1 flattens them towards uniform. The ranking never changes.",
    )
