"""The drawing canvas, behind one small function.

Clear hands the canvas a new, empty drawing rather than remounting it (a new key): a
remount threw away a stroke begun while it happened. The component empties itself when its
`initial_drawing` changes, and a pen stroke under way then is kept: it becomes part of the
drawing when the pen lifts. The canvas's own toolbar (it shows when the mouse is over the
canvas) also has Undo and a bin that clears in the browser at once.

A visit to another page unmounts the canvas, and Streamlit drops its state; back on the
Draw page the canvas is handed the last strokes, and until it reports again the last image
stands in for it: the drawing and its answer are still there.

AppTest cannot draw on the canvas component (it renders, but returns no image), so tests
put an RGBA array into `st.session_state[state.INJECTED_IMAGE]` instead; a real browser
never sets that key.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from digitlab.ui.state import (
    CANVAS_CLEARS_KEY,
    CANVAS_IMAGE_KEY,
    CANVAS_KEY,
    CANVAS_START_KEY,
    CANVAS_STROKES_KEY,
    INJECTED_IMAGE,
)

CANVAS_SIZE = 280
STROKE_WIDTH = CANVAS_SIZE // 14  # about MNIST's stroke width relative to its 20-px digit box
UNDO_LABEL = "Undo"  # the toolbar's own name for its button

# The toolbar shows 2.65rem above the canvas while the pointer is over it, and stays while
# the pointer is over the toolbar: moving straight up from the canvas, it covered the Input
# choice (Draw | Upload | Samples) and took its clicks. A band of its height above the
# canvas gives it a place of its own. Ctrl+Z / Cmd+Z presses the toolbar's own Undo (in
# the component's open shadow root), so the component keeps its history and its message;
# text fields keep their own undo.
_TOOLBAR_BAND_AND_UNDO_KEYS = f"""
<style>.st-key-{CANVAS_KEY} {{ padding-top: 2.75rem; }}</style>
<script>
if (!window.__digitlabUndoKeys) {{
  window.__digitlabUndoKeys = true;
  document.addEventListener("keydown", (event) => {{
    if (!(event.ctrlKey || event.metaKey) || event.shiftKey || event.altKey) return;
    if (event.key.toLowerCase() !== "z") return;
    if (event.target.closest && event.target.closest("input, textarea, [contenteditable]")) {{
      return;
    }}
    for (const host of document.querySelectorAll("*")) {{
      const undo = host.shadowRoot &&
        host.shadowRoot.querySelector('button[aria-label="{UNDO_LABEL}"]');
      if (undo) {{
        event.preventDefault();
        if (!undo.disabled) undo.click();
        return;
      }}
    }}
  }});
}}
</script>
"""


def clear_canvas() -> None:
    """A button callback (it runs before the canvas is drawn): empty the canvas."""
    st.session_state[CANVAS_CLEARS_KEY] = st.session_state.get(CANVAS_CLEARS_KEY, 0) + 1
    st.session_state.pop(INJECTED_IMAGE, None)
    st.session_state.pop(CANVAS_STROKES_KEY, None)
    st.session_state.pop(CANVAS_IMAGE_KEY, None)
    st.session_state[CANVAS_START_KEY] = _empty_drawing()


def _empty_drawing() -> dict:
    # The component redraws only when this differs from the last one it got, so each Clear
    # gives an empty drawing that differs from the one before (the version field is free).
    return {"version": f"clear-{st.session_state.get(CANVAS_CLEARS_KEY, 0)}", "objects": []}


def _start_drawing() -> dict:
    """Empty after a Clear; on mounting (first visit, or back from another page), the last
    strokes. Otherwise the same as last run: a new one would redraw the canvas."""
    if CANVAS_KEY not in st.session_state:  # Streamlit keeps it only while the canvas shows
        strokes = st.session_state.get(CANVAS_STROKES_KEY)
        restored = (
            {**strokes, "version": "restored"} if strokes and strokes.get("objects") else None
        )
        st.session_state[CANVAS_START_KEY] = restored or _empty_drawing()
    return st.session_state.get(CANVAS_START_KEY) or _empty_drawing()


def drawing_canvas() -> np.ndarray | None:
    """Show the canvas; return the drawing as RGBA (ink in alpha), or None before any."""
    # Imported here: the component registers itself on import, which needs a running app.
    from streamlit_drawable_canvas import st_canvas

    st.html(_TOOLBAR_BAND_AND_UNDO_KEYS, unsafe_allow_javascript=True)
    result = st_canvas(
        stroke_width=STROKE_WIDTH,
        stroke_color="#000000",
        background_color="",  # transparent: the ink is exactly the alpha channel
        height=CANVAS_SIZE,
        width=CANVAS_SIZE,
        drawing_mode="freedraw",
        initial_drawing=_start_drawing(),
        return_image_data=True,
        key=CANVAS_KEY,
    )
    st.session_state[CANVAS_STROKES_KEY] = result.json_data  # None under AppTest
    injected = st.session_state.get(INJECTED_IMAGE)
    if injected is not None:
        return injected
    image = result.image_data  # decoded from PNG on each access: once here
    if image is None:  # a canvas just mounted again has not reported yet
        return st.session_state.get(CANVAS_IMAGE_KEY)
    st.session_state[CANVAS_IMAGE_KEY] = image
    return image
