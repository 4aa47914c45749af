"""The Runs page: every run this session can use, compared, chosen or deleted."""

from __future__ import annotations

import time

import streamlit as st

from digitlab import store
from digitlab.data.mnist import DataError
from digitlab.ui import charts, digit_charts, share, state
from digitlab.ui.ensemble_maker import show_ensemble_maker
from digitlab.ui.explain import cached_evaluation
from digitlab.ui.weights_view import show_weights
from digitlab.zoo.config import describe_changes
from digitlab.zoo.registry import ANSWERING, REGRESSION

ALL = "all models"
MAX_COMPARED = 6


def origin(run: store.Run) -> str:
    if run.shipped:
        return "shipped"
    if run.owner is None:
        return "command line"
    return "yours" if run.owner == state.session_owner() else "shared with you"


def run_rows(runs: list[store.Run]) -> list[dict]:
    rows = []
    for run in runs:
        # What tells runs apart first: on a phone only the first columns fit the screen.
        rows.append(
            {
                "run": run.id,
                "model": run.model,
                "MNIST test accuracy": run.accuracy,
                "recipe and changes": describe_changes(run.config),
                "seconds": round(run.seconds, 1),
                "when": time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created_at)),
                "origin": origin(run),
                "in use": state.in_use(run),
            }
        )
    return rows


def show_table(runs: list[store.Run]) -> None:
    st.dataframe(
        run_rows(runs),
        hide_index=True,
        column_config={
            "MNIST test accuracy": st.column_config.NumberColumn(format="percent"),
            "in use": st.column_config.CheckboxColumn("in use here"),
        },
    )


def show_comparison(runs: list[store.Run]) -> None:
    labels = {run.id: f"{run.model} {state.run_label(run).split(',')[0]}" for run in runs}
    metric = "mae" if all(run.spec.task == REGRESSION for run in runs) else "accuracy"
    histories = {labels[run.id]: store.curves(run)[0] for run in runs}
    left, right = st.columns(2)
    left.plotly_chart(charts.compare_curves(histories, "loss"), key="compare-loss")
    right.plotly_chart(charts.compare_curves(histories, metric), key="compare-metric")
    show_augmentation(runs, labels)
    classifiers = [run for run in runs if run.spec.task != REGRESSION]
    try:
        recalls = {
            labels[run.id]: [row["recall"] for row in cached_evaluation(run).summary["per_class"]]
            for run in classifiers
        }
    except DataError as error:
        st.info(f"Per-digit accuracy needs the MNIST test set. {error}")
        return
    if recalls:
        st.plotly_chart(charts.per_class_comparison(recalls), key="compare-per-class")


def show_augmentation(runs: list[store.Run], labels: dict[str, str]) -> None:
    """How each run distorted its digits: epochs augmented, and at what strengths (the
    `train --aug-*` flags); blank for a run that trained on clean digits only."""
    st.caption("Augmentation: epochs on distorted digits, and how strong each distortion was.")
    st.dataframe(
        [{"run": labels[run.id], **run.config.augmentation()} for run in runs],
        hide_index=True,
    )


def _use(run: store.Run) -> None:
    state.choose_run(run.model, run.id)
    st.session_state[state.PENDING_MODEL_KEY] = run.model


def _delete(run: store.Run) -> None:
    try:
        store.delete_run(run.id, owner=state.session_owner())
    except store.StoreError as error:
        st.session_state[state.RUNS_ERROR_KEY] = str(error)


def show_actions(runs: list[store.Run]) -> None:
    labels = {run.id: f"{run.model}: {state.run_label(run)}" for run in runs}
    by_id = {run.id: run for run in runs}
    picked, use, delete = st.columns([2, 1, 1], vertical_alignment="bottom")
    run_id = picked.selectbox(
        "Run", list(by_id), format_func=labels.__getitem__, key=state.RUNS_PICK_KEY
    )
    run = by_id[run_id]
    use.button(
        "Use in this session",
        on_click=_use,
        args=(run,),
        key="use_run",
        disabled=state.in_use(run),
        help="This run answers your drawings on every page; nobody else's change.",
    )
    delete.button(
        "Delete",
        on_click=_delete,
        args=(run,),
        key="delete_run",
        disabled=origin(run) != "yours",
        help="Only runs you trained in this session can be deleted. If it is in use, the "
        "shipped model answers again.",
    )
    if error := st.session_state.pop(state.RUNS_ERROR_KEY, None):
        st.error(error)
    share.offer_share(run, key="share_run")
    share.show_links(run)


def show_digit_learning(run: store.Run) -> None:
    """The chosen run's validation accuracy per digit after each epoch: which digits it
    learned first, which lagged."""
    st.subheader("Learning, digit by digit")
    history = store.curves(run)[0]
    strip = digit_charts.digit_strip(history)
    if strip is None:
        st.caption(
            f"{run.model} {run.id} has no per-digit curves: it was trained before they were "
            "recorded, or without a validation split."
        )
        return
    st.plotly_chart(strip, key="runs-digit-strip")
    st.caption(digit_charts.order_caption(history))


def render() -> None:
    st.title("Runs")
    st.write(
        "Every model you trained in this session, those trained on the command line, and "
        "the shipped ones. Compare their curves, pick the one that answers your drawings, "
        "or delete your own. Other sessions' runs are private to them."
    )
    model = st.selectbox("Model", [ALL, *ANSWERING], key="runs_model")
    runs = state.visible_runs(None if model == ALL else model)
    if not runs:
        st.info("No runs yet: train one from the sidebar.")
        return
    show_table(runs)
    show_actions(runs)
    picked = {run.id: run for run in runs}[st.session_state[state.RUNS_PICK_KEY]]
    show_digit_learning(picked)
    show_weights(picked)
    show_ensemble_maker(state.visible_runs())

    st.subheader("Compare")
    labels = {run.id: f"{run.model}: {state.run_label(run)}" for run in runs}
    chosen = st.multiselect(
        f"Pick 2 to {MAX_COMPARED} runs",
        list(labels),
        format_func=labels.__getitem__,
        max_selections=MAX_COMPARED,
        key="runs_compared",
    )
    if len(chosen) < 2:
        st.caption("Their loss and accuracy per epoch appear on one chart, one colour per run.")
        return
    by_id = {run.id: run for run in runs}
    show_comparison([by_id[run_id] for run_id in chosen])
