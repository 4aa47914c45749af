"""The My digits page: the drawings this session saved, relabelled, deleted, exported, and
a model fine-tuned on them. Another session's drawings never show here."""

from __future__ import annotations

import time

import streamlit as st

from digitlab.store import drawings, drawings_export
from digitlab.store.drawings import LABELS, Drawing, DrawingError, label_name
from digitlab.ui import charts, fine_tune_panel, state

PER_ROW = 5
EMPTY_MESSAGE = (
    'No drawings saved yet. On the Draw page, press Right or one of "Wrong? Save it as …" '
    "under a prediction to keep a drawing here."
)


def _relabel(drawing_id: int) -> None:
    """The label box's callback: store the label it now shows."""
    try:
        label = st.session_state[state.relabel_key(drawing_id)]
        drawings.relabel(drawing_id, label, state.session_owner())
    except DrawingError as error:
        st.toast(str(error), icon=":material/error:")


def _delete(drawing_id: int) -> None:
    try:
        drawings.delete(drawing_id, state.session_owner())
    except DrawingError as error:
        st.toast(str(error), icon=":material/error:")


def show_drawing(drawing: Drawing, number: int) -> None:
    """One drawing: the input the model saw, its label (changeable), what the model said.

    `number`: its place among this person's drawings, oldest first (the store's ids count
    everyone's, so a newcomer's first would read "drawing 11")."""
    with st.container(border=True, key=f"drawing_{drawing.id}"):
        st.image(charts.enlarged_pixels(drawing.image / 255, scale=4), width=112)
        said = "—" if drawing.predicted is None else label_name(drawing.predicted)
        st.caption(f"Drawing {number}: the model said {said}")
        st.selectbox(
            "Label",
            LABELS,
            index=LABELS.index(drawing.label),
            format_func=label_name,
            key=state.relabel_key(drawing.id),
            on_change=_relabel,
            args=(drawing.id,),
        )
        st.button(
            "Delete",
            key=state.delete_key(drawing.id),
            on_click=_delete,
            args=(drawing.id,),
            icon=":material/delete:",
            type="tertiary",
        )


def show_gallery(found: list[Drawing]) -> None:
    newest_first = list(reversed(list(enumerate(found, start=1))))
    for start in range(0, len(newest_first), PER_ROW):
        row = newest_first[start : start + PER_ROW]
        for column, (number, drawing) in zip(st.columns(PER_ROW)[: len(row)], row, strict=True):
            with column:
                show_drawing(drawing, number)


def show_export(found: list[Drawing]) -> None:
    """Download buttons: a ZIP of PNGs with labels.csv, or one .npz."""
    stamp = time.strftime("%Y%m%d-%H%M")
    left, right = st.columns(2)
    left.download_button(
        "Download ZIP (PNGs + labels.csv)",
        drawings_export.zip_bytes(found),
        file_name=f"my-digits-{stamp}.zip",
        mime="application/zip",
        key="export_zip",
        icon=":material/folder_zip:",
    )
    right.download_button(
        "Download .npz (NumPy arrays)",
        drawings_export.npz_bytes(found),
        file_name=f"my-digits-{stamp}.npz",
        mime="application/octet-stream",
        key="export_npz",
        icon=":material/download:",
    )


def render() -> None:
    st.title("My digits")
    found = drawings.list_drawings(state.session_owner())
    if not found:
        st.info(EMPTY_MESSAGE, icon=":material/draw:")
        return
    corrected = sum(d.corrected for d in found)
    st.caption(
        f"{len(found)} drawings saved in this workspace ({corrected} where the model was "
        "wrong). Only this workspace sees them; export them to keep or share them."
    )
    show_export(found)
    show_gallery(found)
    fine_tune_panel.render(found)
