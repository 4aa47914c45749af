"""The runtime switch: answer a drawing with the Keras model or with its exported TFLite file."""

from __future__ import annotations

import contextlib

import streamlit as st

from digitlab import store
from digitlab.analysis import export
from digitlab.inference.predict import Predictor, abstain_threshold
from digitlab.ui import resources
from digitlab.ui.state import RUNTIME_KEY

KERAS = "keras"
RUNTIMES = {KERAS: "Keras", "tflite": "TFLite float32", "tflite-int8": "TFLite int8"}


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


@st.cache_resource(max_entries=16, show_spinner=False)  # predictor_for says what happens
def _tflite_predictor(_run: store.Run, runtime: str, version: str) -> Predictor:
    """One interpreter per run and format, shared by every session (keyed by `version`)."""
    path = export.exported_file(_run, runtime)
    return export.TFLitePredictor(path, _run.spec, abstain_below=abstain_threshold(_run))


def predictor_for(run: store.Run, runtime: str = KERAS) -> Predictor:
    """The predictor that answers for a run on a runtime; both have `raw_outputs`.

    If the TFLite file cannot be made, says so and answers with the Keras model.
    """
    if runtime != KERAS:
        try:
            waiting = (
                contextlib.nullcontext()
                if export.is_exported(run, runtime)
                else st.spinner(
                    f"Converting this model to {RUNTIMES[runtime]}: the first time takes about "
                    "10 seconds; afterwards the switch is instant, for every session."
                )
            )
            with waiting:
                return _tflite_predictor(run, runtime, run.cache_key)
        except export.ExportError as error:
            st.warning(f"No {RUNTIMES[runtime]} file ({error}): the Keras model answers.")
    return resources.predictor(run)
