"""The runtime switch: answer a drawing with the Keras model or with its exported TFLite file."""

from __future__ import annotations

import streamlit as st

from digitlab import export
from digitlab.models import ZOO
from digitlab.predict import Predictor
from digitlab.ui.resources import current_version, loaded_model

KERAS = "keras"
RUNTIMES = {KERAS: "Keras", "tflite": "TFLite float32", "tflite-int8": "TFLite int8"}
RUNTIME_KEY = "runtime"


def runtime_selector() -> str:
    """A small switch between the Keras model and its two TFLite exports."""
    return st.radio(
        "Runtime",
        options=list(RUNTIMES),
        format_func=RUNTIMES.__getitem__,
        horizontal=True,
        key=RUNTIME_KEY,
        help=(
            "Which file answers your drawing: the Keras model, or the model exported to "
            "TFLite (float32, or quantised to int8: four times smaller). See the Export page."
        ),
    )


@st.cache_resource(max_entries=16, show_spinner="Converting the model to TFLite (once)...")
def _tflite_predictor(name: str, runtime: str, version: str) -> Predictor:
    """One interpreter per model version and format, shared by every session."""
    path = export.exported_file(loaded_model(name).entry, runtime)
    return export.TFLitePredictor(path, ZOO[name])


def predictor_for(name: str, runtime: str = KERAS) -> Predictor:
    """The predictor that answers for a zoo model on a runtime; both have `raw_outputs`.

    If the TFLite file cannot be made, says so and answers with the Keras model.
    """
    if runtime != KERAS:
        try:
            return _tflite_predictor(name, runtime, current_version(name))
        except export.ExportError as error:
            st.warning(f"No {RUNTIMES[runtime]} file ({error}): the Keras model answers.")
    return loaded_model(name).predictor
