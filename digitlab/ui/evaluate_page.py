"""The Evaluate page: how a stored model does on the 10,000 MNIST test images, and on real
handwriting by writers it never saw."""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st

from digitlab.analysis import explain
from digitlab.analysis.evaluate import HANDWRITING, Evaluation, mistakes
from digitlab.analysis.hints import curve_hints
from digitlab.analysis.scores import confusion_matrix, per_class_scores
from digitlab.data.mnist import DataError, load_mnist
from digitlab.inference import ensemble
from digitlab.store import Run, StoreError, curves
from digitlab.ui import charts, state
from digitlab.ui.explain import cached_evaluation
from digitlab.ui.handwriting import show_handwriting, show_styles
from digitlab.ui.widgets import run_selector, zoo_selector
from digitlab.zoo.registry import CLASSIFICATION, ENSEMBLE

GALLERY_SIZE = 12  # images of one confusion cell
GALLERY_COLUMNS = 6
GRID_SIDE = 5  # the grid of test predictions is 5 x 5


def model_selector() -> str:
    """Opens on the Draw page's model; choosing here leaves the Draw page's choice alone."""
    return zoo_selector(state.EVALUATE_MODEL_KEY, state.current_model())


def show_headline(evaluation: Evaluation) -> None:
    s = evaluation.summary
    if evaluation.task != CLASSIFICATION:
        mse, mae, accuracy = st.columns(3)
        mse.metric("MSE", f"{s['mse']:.3f}")
        mae.metric("MAE", f"{s['mae']:.3f}", help="Mean distance from the true digit.")
        accuracy.metric("Accuracy (rounded)", f"{s['accuracy']:.2%}")
        return
    accuracy, loss, ece, ece_after, temperature = st.columns(5)
    accuracy.metric("Accuracy", f"{s['accuracy']:.2%}")
    loss.metric("Loss", f"{s['loss']:.4f}", help="Mean cross-entropy (negative log-likelihood).")
    ece.metric("ECE", f"{s['ece']:.2%}", help="Expected calibration error at T = 1.")
    ece_after.metric(
        "ECE calibrated",
        f"{s['ece_calibrated']:.2%}",
        f"{s['ece_calibrated'] - s['ece']:+.2%}",
        delta_color="inverse",  # lower is better
    )
    fitted = f"Fitted on the {s['calibration_split']}."
    temperature.metric("Fitted temperature", f"{s['temperature']:.2f}", help=fitted)


def show_members(run: Run, summary: dict) -> None:
    """An ensemble's accuracy beside each member's: what averaging them bought."""
    rows = [{"model": "the ensemble", "run": run.id, "accuracy": summary["accuracy"]}]
    rows += [
        {"model": m["model"], "run": m["id"], "accuracy": m["accuracy"]}
        for m in ensemble.members(run)
    ]
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(rows, hide_index=True, column_config={"accuracy": percent})
    agree = run.metrics.get("all_agree")
    if agree is not None:
        st.caption(f"All members give the same digit on {agree:.2%} of the test images.")


def show_per_class(confusion: np.ndarray) -> None:
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(
        per_class_scores(confusion),
        hide_index=True,
        column_config={"precision": percent, "recall": percent, "f1": percent},
    )


def _pick_cell(name: str) -> None:
    """A clicked confusion cell sets the pair selectors (a callback: before they are drawn)."""
    points = st.session_state[state.confusion_key(name)].selection.points
    if points:
        st.session_state[state.gallery_true_key(name)] = int(points[0]["y"])
        st.session_state[state.gallery_predicted_key(name)] = int(points[0]["x"])


def pair_selector(name: str, confusion: np.ndarray) -> tuple[int, int]:
    """Which confusion cell to look at; opens on the model's most common mistake."""
    true_default, predicted_default = explain.most_confused(confusion)
    true_column, predicted_column = st.columns(2)
    true_digit = true_column.selectbox(
        "True digit", charts.DIGITS, index=true_default, key=state.gallery_true_key(name)
    )
    predicted_digit = predicted_column.selectbox(
        "Predicted as",
        charts.DIGITS,
        index=predicted_default,
        key=state.gallery_predicted_key(name),
    )
    return true_digit, predicted_digit


def in_rows(indices: np.ndarray, per_row: int):
    """Each index with the column it goes in, starting a new row of columns every `per_row`."""
    for start in range(0, len(indices), per_row):
        row = indices[start : start + per_row]
        yield from zip(st.columns(per_row), row, strict=False)  # the last row may be short


def describe(evaluation: Evaluation, index: int) -> str:
    """A test image's top guesses, or a regression's value."""
    if evaluation.task != CLASSIFICATION:
        return f"value {evaluation.outputs[index]:.2f}"
    guesses = explain.top_guesses(evaluation.probabilities[index], count=2)
    return " · ".join(f"{digit}: {p:.0%}" for digit, p in guesses if p >= 0.005)


def show_gallery(evaluation: Evaluation, images: np.ndarray, true: int, predicted: int) -> None:
    found = mistakes(evaluation, true, predicted)
    if not len(found):
        st.info(f"No test image of a {true} is predicted as {predicted}.")
        return
    order = "most confident" if evaluation.task == CLASSIFICATION else f"closest to {predicted}"
    count = f"{len(found)} test image" + ("s" if len(found) > 1 else "")
    st.caption(f"{count} of a {true} predicted as {predicted}, {order} first.")
    for column, index in in_rows(found[:GALLERY_SIZE], GALLERY_COLUMNS):
        # A fixed width: a caption wider than the image would otherwise stretch it.
        column.image(charts.thumbnail(images[index]), caption=describe(evaluation, index), width=84)


def _shuffle() -> None:
    st.session_state[state.GRID_SEED_KEY] = st.session_state.get(state.GRID_SEED_KEY, 0) + 1


def grid_label(evaluation: Evaluation, index: int) -> str:
    """The answer under a grid image: green when right, red (with the truth) when wrong."""
    predicted, true = evaluation.predictions[index], evaluation.labels[index]
    answer = str(predicted)
    if evaluation.task != CLASSIFICATION:
        answer = f"{evaluation.outputs[index]:.2f}"
    if predicted == true:
        return f":green[**{answer}**]"
    return f":red[**{answer}**] (true {true})"


def show_grid(evaluation: Evaluation, images: np.ndarray) -> None:
    toggle_column, button_column = st.columns([3, 1], vertical_alignment="center")
    mistakes_only = toggle_column.toggle("Show only mistakes", key="grid_mistakes_only")
    button_column.button("Shuffle", on_click=_shuffle, icon=":material/shuffle:", key="shuffle")
    correct = evaluation.predictions == evaluation.labels
    seed = st.session_state.get(state.GRID_SEED_KEY, 0)
    chosen = explain.sample_indices(correct, GRID_SIDE**2, seed, mistakes_only)
    for column, index in in_rows(chosen, GRID_SIDE):
        column.image(charts.thumbnail(images[index]), width=84)
        column.markdown(grid_label(evaluation, index))


def show_calibration(summary: dict) -> None:
    st.plotly_chart(
        charts.reliability_diagram(
            summary["reliability"]["before"], f"Before: T = 1, ECE {summary['ece']:.2%}"
        ),
        key="reliability-before",
    )
    st.plotly_chart(
        charts.reliability_diagram(
            summary["reliability"]["after"],
            f"After: T = {summary['temperature']:.2f}, ECE {summary['ece_calibrated']:.2%}",
        ),
        key="reliability-after",
    )
    st.caption(
        "Each bar is the accuracy of the test images whose top probability fell in that "
        "range; a calibrated model's bars touch the diagonal. The temperature was fitted on "
        f"the {summary['calibration_split']}, never on test images."
    )


def show_errors(evaluation: Evaluation) -> None:
    st.plotly_chart(charts.regression_errors(evaluation.labels, evaluation.outputs))
    st.caption("Outside the dashed band the rounded prediction is a different digit.")


def show_history(history: dict[str, list[float]], task: str) -> None:
    if not history:
        st.caption("No training history was stored with this model.")
        return
    metric = "accuracy" if task == CLASSIFICATION else "mae"
    for column, name in zip(st.columns(2), ("loss", metric), strict=True):
        column.plotly_chart(charts.history_curves(history, name), key=f"history-{name}")
    for hint in curve_hints(history):
        st.info(hint, icon=":material/lightbulb:")


def render() -> None:
    st.title("Evaluate a model")
    left, right = st.columns(2)
    with left:
        name = model_selector()
    try:
        with right:
            run = run_selector(name)
        evaluation = cached_evaluation(run)
        images = load_mnist().x_test
    except (DataError, StoreError) as error:
        st.error(str(error))
        return
    show_headline(evaluation)
    if run.model == ENSEMBLE:
        show_members(run, evaluation.summary)

    st.subheader("Where it errs")
    confusion = confusion_matrix(evaluation.labels, evaluation.predictions)
    table_column, matrix_column = st.columns([1, 1.3], gap="large")
    with table_column:
        show_per_class(confusion)
    with matrix_column:
        st.plotly_chart(
            charts.confusion_heatmap(confusion),
            key=state.confusion_key(name),  # per model, like the pair selectors it sets
            on_select=partial(_pick_cell, name),
            selection_mode="points",
        )
    st.caption("Click a cell, or pick the pair below, to see those test images.")
    true, predicted = pair_selector(name, confusion)
    show_gallery(evaluation, images, true, predicted)

    grid_column, quality_column = st.columns([1, 1.25], gap="large")
    with grid_column:
        st.subheader("Test predictions")
        show_grid(evaluation, images)
    with quality_column:
        if evaluation.task == CLASSIFICATION:
            st.subheader("Calibration")
            show_calibration(evaluation.summary)
        else:
            st.subheader("Errors against the true digit")
            show_errors(evaluation)

    if evaluation.task == CLASSIFICATION:
        show_handwriting(evaluation.summary.get(HANDWRITING))
        show_styles(run)

    st.subheader("Training curves")
    if run.model == ENSEMBLE:
        st.caption("An ensemble isn't trained: its members' curves are on the Runs page.")
    else:
        show_history(curves(run)[0], evaluation.task)
