"""The drawing canvas, behind one small function.

AppTest cannot draw on the canvas component (it renders, but returns no image), so tests
put an RGBA array into `st.session_state[INJECTED_IMAGE]` instead; a real browser never
sets that key.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

CANVAS_SIZE = 280
STROKE_WIDTH = CANVAS_SIZE // 14  # about MNIST's stroke width relative to its 20-px digit box
INJECTED_IMAGE = "digitlab_injected_canvas"


def clear_canvas() -> None:
    """A new key remounts the component empty (a button callback, so it runs first)."""
    st.session_state["canvas_generation"] = st.session_state.get("canvas_generation", 0) + 1
    st.session_state.pop(INJECTED_IMAGE, None)


def drawing_canvas() -> np.ndarray | None:
    """Show the canvas; return the drawing as RGBA (ink in alpha), or None before any."""
    # Imported here: the component registers itself on import, which needs a running app.
    from streamlit_drawable_canvas import st_canvas

    generation = st.session_state.get("canvas_generation", 0)
    result = st_canvas(
        stroke_width=STROKE_WIDTH,
        stroke_color="#000000",
        background_color="",  # transparent: the ink is exactly the alpha channel
        height=CANVAS_SIZE,
        width=CANVAS_SIZE,
        drawing_mode="freedraw",
        return_image_data=True,
        key=f"canvas-{generation}",
    )
    injected = st.session_state.get(INJECTED_IMAGE)
    if injected is not None:
        return injected
    return result.image_data
