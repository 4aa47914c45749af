"""Under the Draw page's prediction: "Right" and "Wrong? Save it as …", which save the drawing.

Pressing one stores the drawing in this session's saved drawings (digitlab.store.drawings) with
the label given. Pressing another for the same drawing changes that label rather than
saving it twice.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from digitlab.inference.predict import BLANK
from digitlab.inference.predict import NOT_A_DIGIT as ABSTAINED
from digitlab.store import drawings
from digitlab.store.drawings import LABELS, NOT_A_DIGIT, DrawingError, label_name
from digitlab.store.limits import LimitError
from digitlab.ui import state
from digitlab.ui.explain import Drawing
from digitlab.ui.state import (
    CANVAS_STROKES_KEY,
    CORRECTIONS_REFUSED_KEY,
    CORRECTIONS_RIGHT_KEY,
    CORRECTIONS_SAVED_KEY,
    correction_button_key,
)


def _digest(drawing: Drawing) -> str:
    return hashlib.blake2b(drawing.image28.tobytes(), digest_size=16).hexdigest()


def model_answer(drawing: Drawing) -> int | None:
    """What the model said as a label: a digit, NOT_A_DIGIT when it abstained on a drawing."""
    if drawing.prediction.reason == ABSTAINED:
        return NOT_A_DIGIT
    return drawing.prediction.label


def _strokes() -> dict | None:
    """The canvas's strokes; None when it reported none (an image put in by a test)."""
    strokes = st.session_state.get(CANVAS_STROKES_KEY)
    return strokes if isinstance(strokes, dict) and strokes.get("objects") else None


def _save(drawing: Drawing, label: int, from_canvas: bool) -> None:
    """A button callback: save the drawing with this label (or relabel it if saved)."""
    owner = state.session_owner()
    digest = _digest(drawing)
    last = st.session_state.get(CORRECTIONS_SAVED_KEY)
    try:
        if last is not None and last[0] == digest:
            saved = drawings.relabel(last[1], label, owner)
        else:
            prediction = drawing.prediction
            saved = drawings.save(
                drawing.image28,
                label,
                owner,
                predicted=model_answer(drawing),
                probabilities=prediction.probabilities,
                temperature=drawing.temperature if prediction.probabilities is not None else None,
                run_id=drawing.run.id,
                strokes=_strokes() if from_canvas else None,
            )
    except LimitError as error:  # the workspace keeps as many drawings as it may
        st.session_state[CORRECTIONS_REFUSED_KEY] = str(error)
        return
    except DrawingError as error:  # a drawing deleted on My digits meanwhile, say
        st.session_state.pop(CORRECTIONS_SAVED_KEY, None)
        st.toast(str(error), icon=":material/error:")
        return
    # Numbered among this person's drawings, as My digits shows them (relabelling keeps it).
    number = last[3] if last is not None and last[0] == digest else drawings.count(owner)
    st.session_state[CORRECTIONS_SAVED_KEY] = (digest, saved.id, saved.label, number)


def offer(drawing: Drawing, from_canvas: bool) -> None:
    """The Right and "Wrong? Save it as …" buttons under a prediction, and what was saved.

    `from_canvas`: the drawing came from the canvas (its strokes are saved with it), not
    from an uploaded image.
    """
    if drawing.prediction.reason == BLANK:
        return
    answer = model_answer(drawing)
    if answer is not None:
        st.button(
            f"Right: it's {'not a digit' if answer == NOT_A_DIGIT else answer}",
            key=CORRECTIONS_RIGHT_KEY,
            on_click=_save,
            args=(drawing, answer, from_canvas),
            icon=":material/check:",
            help="Save this drawing with the model's answer (see My digits).",
        )
    st.caption("Wrong? Save it as …")
    with st.container(horizontal=True, gap="small"):
        for label in LABELS:
            st.button(
                label_name(label),
                key=correction_button_key(label),
                on_click=_save,
                args=(drawing, label, from_canvas),
                type="tertiary" if label == answer else "secondary",
            )
    if refused := st.session_state.pop(CORRECTIONS_REFUSED_KEY, None):
        st.error(refused, icon=":material/block:")
    last = st.session_state.get(CORRECTIONS_SAVED_KEY)
    if last is not None and last[0] == _digest(drawing):
        st.success(
            f"Saved as {label_name(last[2])} (your drawing {last[3]}): see My digits.",
            icon=":material/bookmark_added:",
        )
