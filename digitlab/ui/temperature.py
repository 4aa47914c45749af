"""The softmax temperature control: a log-scale slider from 0.1 to 10."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from digitlab.predict import MAX_TEMPERATURE, MIN_TEMPERATURE
from digitlab.ui.state import TEMPERATURE_KEY

# 41 log-spaced stops, so 0.1 -> 1 and 1 -> 10 each get half the slider's travel.
TEMPERATURES = [
    float(f"{value:.3g}")
    for value in np.logspace(np.log10(MIN_TEMPERATURE), np.log10(MAX_TEMPERATURE), 41)
]
DEFAULT_TEMPERATURE = 1.0


def nearest_stop(temperature: float) -> float:
    """The slider stop closest to a temperature, measured on the slider's log scale."""
    return min(TEMPERATURES, key=lambda stop: abs(math.log(stop / temperature)))


def use_temperature(temperature: float) -> None:
    """Move the slider (a button callback: it runs before the slider is drawn again)."""
    st.session_state[TEMPERATURE_KEY] = nearest_stop(temperature)


def temperature_slider(calibrated: float | None = None) -> float:
    """The slider; with a model's fitted temperature, a mark of it and a button to use it."""
    help_text = (
        "Probabilities are softmax(logits / T). Below 1 sharpens them towards the top "
        "answer; above 1 flattens them towards uniform. The ranking never changes, and "
        "neither does whether the model abstains: that depends on its own confidence at "
        "T = 1 against a threshold chosen on held-out handwriting."
    )
    if calibrated is not None:
        help_text += (
            f" Calibrated T = {calibrated:.2f} for this model: the temperature that makes its "
            "confidence match its accuracy on held-out images (see the Evaluate page)."
        )
    temperature = st.select_slider(
        "Softmax temperature",
        options=TEMPERATURES,
        value=DEFAULT_TEMPERATURE,
        key=TEMPERATURE_KEY,
        help=help_text,
        persist_state="session",  # kept while the Evaluate page is open
    )
    if calibrated is not None:
        note, button = st.columns([1.6, 1], vertical_alignment="center")
        note.caption(f"Calibrated T = {calibrated:.2f} for this model")
        button.button(
            "Use calibrated T",
            on_click=use_temperature,
            args=(calibrated,),
            key="use_calibrated_temperature",
            disabled=temperature == nearest_stop(calibrated),
        )
    return temperature
