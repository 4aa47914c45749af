"""Under the Draw page's bars: how the belief grew, and the probabilities as plain text.

After each stroke the page reruns with the new drawing; each new drawing state adds a step
to this session's history (digitlab.inference.belief), and the chart follows every digit that was
ever among the top three. The history belongs to one drawing answered by one model: Clear,
a blank canvas, another run or another runtime starts it again. A step keeps the logits
draw.raw_outputs already computed, so neither the history nor the temperature ever runs
the model.

The table is for screen readers (and anyone who prefers numbers to bars): a real HTML
table, which a screen reader can walk, unlike the canvas-drawn dataframes.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from digitlab.inference import belief
from digitlab.ui.belief_charts import belief_lines
from digitlab.ui.explain import Drawing
from digitlab.ui.state import BELIEF_HISTORY_KEY, CANVAS_CLEARS_KEY, CANVAS_STROKES_KEY

TABLE_LABEL = "Probabilities as a table"


def _owner(drawing: Drawing, runtime: str) -> tuple:
    # Clear bumps the count, so a drawing after Clear never continues the one before.
    run = drawing.run
    return (run.cache_key, runtime, st.session_state.get(CANVAS_CLEARS_KEY, 0))


def _strokes_drawn() -> int | None:
    """How many strokes the canvas holds, from its JSON; None when it says none.

    None for an empty list too: this is only asked about a drawing with ink, so an empty
    JSON is not about it (under AppTest the component reports none for an injected image).
    """
    strokes = st.session_state.get(CANVAS_STROKES_KEY)
    objects = strokes.get("objects") if isinstance(strokes, dict) else None
    return len(objects) if isinstance(objects, list) and objects else None


def history(drawing: Drawing, outputs: np.ndarray, runtime: str) -> list[belief.Step]:
    """This drawing's steps so far, the current one included (kept in session state)."""
    owner = _owner(drawing, runtime)
    kept = st.session_state.get(BELIEF_HISTORY_KEY)
    steps = kept[1] if kept is not None and kept[0] == owner else []
    digest = hashlib.blake2b(drawing.image28.tobytes(), digest_size=16).hexdigest()
    steps = belief.advance(steps, belief.Step(digest, _strokes_drawn(), outputs))
    st.session_state[BELIEF_HISTORY_KEY] = (owner, steps)
    return steps


def _top_line(probabilities: np.ndarray, stroke: int) -> str:
    answers = ", ".join(f"{d} ({p:.0%})" for d, p in belief.top_answers(probabilities))
    return f"After stroke {stroke}, its top answers: {answers}."


def show_growth(drawing: Drawing, outputs: np.ndarray, runtime: str) -> None:
    """The top answers after the latest stroke, and each one's probability over the strokes."""
    steps = history(drawing, outputs, runtime)
    strokes = belief.stroke_numbers(steps)
    st.markdown(_top_line(drawing.prediction.probabilities, strokes[-1]))
    over_strokes = belief.probabilities(steps, drawing.temperature)
    figure = belief_lines(
        strokes, over_strokes, belief.followed_digits(over_strokes), drawing.prediction.best_guess
    )
    st.plotly_chart(figure, key="belief_chart")


def show_table(probabilities: np.ndarray) -> None:
    """The ten probabilities as an accessible table, in an expander."""
    with st.expander(TABLE_LABEL, icon=":material/table:"):
        rows = [{"Digit": d, "Probability": f"{p:.2%}"} for d, p in enumerate(probabilities)]
        st.table(rows, hide_index=True, alt="The probability the model gives each digit, 0 to 9")


def show(
    drawing: Drawing | None, outputs: np.ndarray | None, runtime: str, from_canvas: bool
) -> None:
    """What the model believes, under its bars; the growth only for drawings on the canvas
    (an upload or a sample arrives whole). Nothing for a blank input (`drawing` None) or a
    regression."""
    probabilities = drawing.prediction.probabilities if drawing is not None else None
    if probabilities is None or outputs is None:
        if from_canvas:  # the canvas is empty (or the model gives no probabilities)
            st.session_state.pop(BELIEF_HISTORY_KEY, None)
        return
    if from_canvas:
        show_growth(drawing, outputs, runtime)
    show_table(probabilities)
