"""The Draw page: draw a digit, see what the network sees and what it believes."""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from digitlab.data import downscale_to_20
from digitlab.evaluate import calibrated_temperature
from digitlab.models import REGRESSION, ZOO
from digitlab.predict import BLANK_MESSAGE, Prediction, abstain, interpret
from digitlab.preprocess import preprocess
from digitlab.store import StoreError
from digitlab.ui import charts
from digitlab.ui.canvas import clear_canvas, drawing_canvas
from digitlab.ui.explain import Drawing, explain_drawing
from digitlab.ui.resources import LoadedModel, loaded_model
from digitlab.ui.runtime import KERAS, RUNTIMES, predictor_for, runtime_selector
from digitlab.ui.temperature import temperature_slider
from digitlab.ui.upload import uploaded_image
from digitlab.ui.widgets import zoo_selector

DRAW, UPLOAD = "Draw", "Upload"
NO_DIGIT_MESSAGE = "No digit found: upload an image of one handwritten digit."
MODEL_KEY = "model_name"
PENDING_MODEL_KEY = "pending_model"  # set when a training job finishes; applied on next run


def model_selector() -> str:
    if PENDING_MODEL_KEY in st.session_state:
        st.session_state[MODEL_KEY] = st.session_state.pop(PENDING_MODEL_KEY)
    # persist_state: the choice survives a visit to the other pages.
    return zoo_selector(MODEL_KEY, persist_state="session")


def raw_outputs(loaded: LoadedModel, image28: np.ndarray, runtime: str = KERAS) -> np.ndarray:
    """Run the model only when the drawing or the model changed; keep the logits otherwise.

    The temperature slider reruns the page, and reuses these outputs without the model.
    """
    digest = hashlib.blake2b(image28.tobytes(), digest_size=16).hexdigest()
    key = (str(loaded.entry.path), loaded.entry.metrics.get("saved_at"), runtime, digest)
    cached = st.session_state.get("last_outputs")
    if cached is None or cached[0] != key:
        cached = (key, predictor_for(loaded.entry.name, runtime).raw_outputs(image28))
        st.session_state["last_outputs"] = cached
    return cached[1]


def show_input(image28: np.ndarray, input_size: int) -> None:
    shown = downscale_to_20(image28) if input_size == 20 else image28
    st.image(charts.enlarged_pixels(shown, scale=224 // input_size), width=224)
    st.caption(f"The {input_size}x{input_size} input the model sees")


def show_prediction(prediction: Prediction, task: str) -> None:
    if prediction.abstained:
        st.metric("Prediction", "—")
        st.info(prediction.message)
        return
    if task == REGRESSION:
        st.metric("Prediction", prediction.label)
        st.caption(f"Predicted value {prediction.value:.2f}, rounded to the nearest digit.")
        st.plotly_chart(charts.regression_gauge(prediction.value), key="gauge")
        return
    left, middle, right = st.columns(3)
    left.metric("Prediction", prediction.label)
    middle.metric("Confidence", f"{prediction.confidence:.1%}")
    right.metric(
        "Entropy",
        f"{prediction.entropy:.2f} bits",
        help="0 bits: certain. 3.32 bits: all ten digits equally likely.",
    )
    st.plotly_chart(
        charts.probability_bars(prediction.probabilities, prediction.label), key="probabilities"
    )


def render() -> None:
    st.title("Draw a digit")
    settings = st.columns([1, 1])
    with settings[0]:
        name = model_selector()
        runtime = runtime_selector()
    spec = ZOO[name]
    try:
        loaded = loaded_model(name)
    except StoreError as error:
        st.error(f"{error} Use the Retrain panel in the sidebar to train it.")
        return
    with settings[1]:
        # Read from the stored evaluation: no MNIST and no model run on the drawing page.
        temperature = temperature_slider(calibrated_temperature(loaded.entry))
    for warning in loaded.warnings:
        st.warning(warning)

    canvas_column, input_column, result_column = st.columns([1.25, 0.9, 1.45], gap="medium")
    with canvas_column:
        source = st.segmented_control(
            "Input", [DRAW, UPLOAD], default=DRAW, key="input_source", label_visibility="collapsed"
        )
        if source == UPLOAD:
            drawing = uploaded_image()
        else:
            drawing = drawing_canvas()
            st.button("Clear", on_click=clear_canvas, icon=":material/delete:", key="clear")
    prepared = preprocess(drawing) if drawing is not None else None
    with input_column:
        show_input(prepared.image if prepared else np.zeros((28, 28), np.float32), spec.input_size)
    if prepared is None or prepared.blank:
        prediction = abstain(NO_DIGIT_MESSAGE if source == UPLOAD else BLANK_MESSAGE)
    else:
        prediction = interpret(raw_outputs(loaded, prepared.image, runtime), spec.task, temperature)
    with result_column:
        show_prediction(prediction, spec.task)
    accuracy = loaded.entry.metrics.get("accuracy")
    origin = "shipped" if loaded.entry.shipped else "trained here"
    if accuracy is not None:
        st.caption(f"{spec.title} ({origin}), MNIST test accuracy {accuracy:.2%}.")
    if runtime != KERAS:
        st.caption(f"Answered by the exported {RUNTIMES[runtime]} file (see the Export page).")
    if not prediction.abstained:
        explain_drawing(Drawing(prepared.image, loaded, prediction, temperature))
