"""The softmax temperature control: a log-scale slider from 0.1 to 10."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from digitlab.inference.predict import MAX_TEMPERATURE, MIN_TEMPERATURE
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


def calibrated_stop(calibrated: float) -> float:
    """The calibrated temperature as the slider offers it: as the caption shows it."""
    return round(min(max(calibrated, MIN_TEMPERATURE), MAX_TEMPERATURE), 2)


def slider_stops(calibrated: float | None) -> list[float]:
    """The 41 stops, and the model's calibrated temperature as a stop of its own: snapped
    to the nearest of the 41 it was used as 1.41 while the caption said 1.48."""
    extra = {calibrated_stop(calibrated)} if calibrated is not None else set()
    return sorted(set(TEMPERATURES) | extra)


def use_temperature(temperature: float) -> None:
    """Move the slider (a button callback: it runs before the slider is drawn again)."""
    st.session_state[TEMPERATURE_KEY] = temperature


def temperature_slider(calibrated: float | None = None, *, applies: bool = True) -> float:
    """The slider; with a model's fitted temperature, that value as a stop and a button to
    use it. `applies=False` (a regression model: no probabilities) disables it, saying why."""
    help_text = (
        "Probabilities are softmax(logits / T). Below 1 sharpens them towards the top "
        "answer; above 1 flattens them towards uniform. The ranking never changes, and "
        "neither does whether the model abstains: that depends on its own confidence at "
        "T = 1 against a threshold chosen on held-out handwriting."
    )
    stops = slider_stops(calibrated)
    if st.session_state.get(TEMPERATURE_KEY, DEFAULT_TEMPERATURE) not in stops:
        # Another model's calibrated stop: the nearest of the stops every model has.
        st.session_state[TEMPERATURE_KEY] = nearest_stop(st.session_state[TEMPERATURE_KEY])
    temperature = st.select_slider(
        "Softmax temperature",
        options=stops,
        value=DEFAULT_TEMPERATURE,
        key=TEMPERATURE_KEY,
        help=help_text,
        disabled=not applies,
        persist_state="session",  # kept while the Evaluate page is open
    )
    if not applies:
        st.caption(
            "No temperature for this model: it predicts one number, not ten probabilities "
            "for a softmax to sharpen or flatten."
        )
    elif calibrated is None:
        st.caption(
            "Calibrated T: not fitted for this run yet. The Evaluate page fits it (the "
            "temperature that makes its confidence match its accuracy)."
        )
    else:
        used = calibrated_stop(calibrated)
        note, button = st.columns([1.6, 1], vertical_alignment="center")
        note.caption(
            f"Calibrated T = {used:g} for this model: the temperature that makes its "
            "confidence match its accuracy on held-out images (see the Evaluate page)."
        )
        button.button(
            "Use calibrated T",
            on_click=use_temperature,
            args=(used,),
            key="use_calibrated_temperature",
            disabled=temperature == used,
        )
    return temperature
