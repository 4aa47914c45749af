"""Explain the drawing: one view at a time, under the Draw page's prediction.

Also holds the per-model-version caches that looking inside a model needs (its evaluation,
the Keras model itself, the embedding of test digits); the Evaluate page shares them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from digitlab import store
from digitlab.analysis import explain
from digitlab.analysis.evaluate import Evaluation, evaluate_run
from digitlab.data.batch import model_batch
from digitlab.data.mnist import DataError
from digitlab.inference.predict import Prediction, Predictor, interpret
from digitlab.ui import charts, explain_charts, resources, state
from digitlab.zoo.registry import REGRESSION, ZOO, ModelSpec

MAPS_SHOWN = 16  # channels per convolution layer: enough to see the kinds of detectors


# --- caches, one entry per run (keyed by `version`; the leading _ keeps the run unhashed) ---
# A missing MNIST is cached too: retrying would attempt a slow, failing download per rerun.


def _unless_failed(outcome):
    if isinstance(outcome, DataError):
        raise DataError(str(outcome))
    return outcome


@st.cache_resource(max_entries=16, show_spinner="Evaluating the model on the MNIST test set...")
def _evaluation(_run: store.Run, version: str) -> Evaluation | DataError:
    try:
        return evaluate_run(_run)
    except DataError as error:
        return error


def cached_evaluation(run: store.Run) -> Evaluation:
    """The run's evaluation, computed once per run (raises DataError without MNIST)."""
    return _unless_failed(_evaluation(run, run.cache_key))


# The drawing path answers with a lighter forward pass; gradients and feature maps need the
# whole Keras model, read from its file the first time a view asks (seconds: say so).
@st.cache_resource(
    max_entries=8,
    show_spinner="Loading TensorFlow and the model's Keras file for its gradients: a few "
    "seconds, once...",
)
def _keras_model(_run: store.Run, version: str):
    # The Predictor keeps its model inside a traced function: gradients need the model.
    model = _run.load()
    _KERAS_LOADED.add(version)
    return model


# Versions whose Keras model this server process has loaded (the cache above is process-wide
# too): until then the view picker says the first of these views takes seconds.
_KERAS_LOADED: set[str] = set()
KERAS_VIEWS = ("Saliency", "Feature maps", "Where it sits")


@st.cache_resource(max_entries=8, show_spinner="Placing 2,000 test digits...")
def _embedding(_run: store.Run, version: str) -> explain.Embedding | DataError:
    try:
        images, labels = explain.digit_sample()
    except DataError as error:
        return error
    return explain.embed(_keras_model(_run, version), _run.spec.input_size, images, labels)


# --- the views -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Drawing:
    """What every view explains: the current drawing and the run that answered it."""

    image28: np.ndarray  # the preprocessed 28x28 input
    run: store.Run
    prediction: Prediction
    temperature: float

    @property
    def spec(self) -> ModelSpec:
        return self.run.spec

    @property
    def predictor(self) -> Predictor:
        return resources.predictor(self.run)

    def keras_model(self):
        return _keras_model(self.run, self.run.cache_key)

    def model_input(self) -> np.ndarray:
        return model_batch(self.image28, self.spec.input_size)


def show_saliency(drawing: Drawing) -> None:
    spec, inputs = drawing.spec, drawing.model_input()
    attributions = explain.integrated_gradients(drawing.keras_model(), inputs)
    figure_column, text_column = st.columns([1, 1])
    figure_column.plotly_chart(explain_charts.saliency_overlay(inputs[0, ..., 0], attributions))
    guess = drawing.prediction.best_guess
    target = "its value" if spec.task == REGRESSION else f"the answer {guess}"
    if drawing.prediction.abstained:
        target = f"its top guess {guess} (it abstains: not sure this is a digit)"
    text_column.markdown(
        f"**Integrated gradients** of {target} with respect to each of the "
        f"{spec.input_size}x{spec.input_size} input pixels. Red pixels push towards it, "
        "blue ones away. They add up to how much the output changes from a blank input to "
        f"this drawing ({attributions.sum():+.2f}), so pixels without ink get none."
    )


def show_feature_maps(drawing: Drawing) -> None:
    maps = explain.feature_maps(drawing.keras_model(), drawing.model_input())
    if not maps:
        st.info("No convolutions in this model: it flattens the image into one long vector.")
        return
    st.caption("Each convolution's output (after its batch norm and ReLU, where it has them).")
    for index, (layer, values) in enumerate(maps):
        height, width, channels = values.shape
        shown = min(channels, MAPS_SHOWN)
        st.markdown(f"**{layer}**: {channels} maps of {height}x{width}, the first {shown} shown")
        st.plotly_chart(explain_charts.feature_map_grid(values[..., :shown]), key=f"maps-{index}")


def show_embedding(drawing: Drawing) -> None:
    try:
        embedding = _unless_failed(_embedding(drawing.run, drawing.run.cache_key))
    except DataError as error:
        st.info(f"This view needs the MNIST test digits. {error}")
        return
    point = explain.place(
        embedding, drawing.keras_model(), drawing.spec.input_size, drawing.image28
    )
    st.plotly_chart(
        explain_charts.embedding_3d(
            embedding.points, embedding.labels, point, drawing.prediction.best_guess
        )
    )
    shares = ", ".join(f"{share:.0%}" for share in embedding.basis.explained)
    st.caption(
        f"{len(embedding.labels):,} MNIST test digits as the layer before the output sees "
        f"them, flattened to its three main directions (PCA; they hold {shares} of the "
        "variance). Drag to turn it."
    )


def _reset_probe() -> None:
    for key in (state.PROBE_ROTATION_KEY, state.PROBE_SHIFT_X_KEY, state.PROBE_SHIFT_Y_KEY):
        st.session_state[key] = 0
    st.session_state[state.PROBE_THICKNESS_KEY] = 0.0


def show_probe(drawing: Drawing) -> None:
    rotation, shift_x, shift_y, thickness = st.columns(4)
    transformed = explain.transform(
        drawing.image28,
        rotation=rotation.slider(
            "Rotate (°, anticlockwise)", -30, 30, 0, key=state.PROBE_ROTATION_KEY
        ),
        shift_x=shift_x.slider("Shift right (px)", -4, 4, 0, key=state.PROBE_SHIFT_X_KEY),
        shift_y=shift_y.slider("Shift down (px)", -4, 4, 0, key=state.PROBE_SHIFT_Y_KEY),
        thickness=thickness.slider(
            "Thin ↔ thicken", -1.0, 1.0, 0.0, step=0.25, key=state.PROBE_THICKNESS_KEY
        ),
    )
    predictor = drawing.predictor
    moved = interpret(predictor.raw_outputs(transformed), drawing.spec.task, drawing.temperature)
    image_column, result_column = st.columns([0.8, 1.5])
    with image_column:
        st.image(charts.enlarged_pixels(transformed), width=224)
        st.button("Reset", on_click=_reset_probe, icon=":material/restart_alt:", key="probe_reset")
    regression = drawing.spec.task == REGRESSION
    with result_column:
        detail = f"value {moved.value:.2f}" if regression else f"{moved.confidence:.0%} confident"
        st.metric("After the transform", moved.label, detail, "off", delta_arrow="off")
        if regression:
            st.plotly_chart(charts.regression_gauge(moved.value), key="probe-gauge")
        else:
            st.plotly_chart(
                charts.probability_bars(moved.probabilities, moved.label), key="probe-bars"
            )


def show_compare(drawing: Drawing) -> None:
    predictors, missing = {}, []
    for name in ZOO:  # each model as this session has chosen it
        try:
            predictors[name] = resources.predictor(state.chosen_run(name))
        except store.StoreError:
            missing.append(name)
    rows = explain.compare(drawing.image28, predictors)
    answer, votes = explain.agreement(rows)
    st.markdown(f"#### {votes} of {len(rows)} models say {answer}")
    for row in rows:
        row["model"] = ZOO[row["model"]].title
        # Only the regression net has a value: a column of it printed "None" for the rest.
        value = row.pop("value")
        row["note"] = "" if value is None else f"regression value {value:.2f}"
    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            "model": "Model",
            "answer": st.column_config.NumberColumn("Answer"),
            "confidence": st.column_config.ProgressColumn(
                "Confidence (T = 1)", format="percent", min_value=0.0, max_value=1.0
            ),
            "note": st.column_config.TextColumn("Note"),
        },
    )
    if missing:
        st.caption(f"Not trained yet, so left out: {', '.join(missing)}.")


VIEWS = {
    "Saliency": show_saliency,
    "Feature maps": show_feature_maps,
    "Where it sits": show_embedding,
    "Invariance probe": show_probe,
    "Compare": show_compare,
}


def explain_drawing(drawing: Drawing) -> None:
    """The explanation section: a view picker, then only the picked view is computed."""
    st.subheader("Explain the drawing")
    # No view by default: each one costs model runs that a plain drawing session never needs.
    view = st.segmented_control("View", list(VIEWS), default=None, key="explain_view")
    if view is None:
        first_time = drawing.run.cache_key not in _KERAS_LOADED
        st.caption(
            "Pick a view to look inside the model's answer."
            + (
                f" {', '.join(KERAS_VIEWS[:-1])} and {KERAS_VIEWS[-1]} load TensorFlow and "
                "this model's Keras file the first time: a few seconds, once."
                if first_time
                else ""
            )
        )
        return
    VIEWS[view](drawing)
