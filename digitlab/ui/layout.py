"""Where the Draw page's parts sit on a phone: the answer right under the canvas.

Streamlit stacks columns one under another below 640 px, in the order they were made. The
Draw page's row is canvas | the 28x28 input | the answer, which on a phone put the answer
about 650 px below the top of the canvas: no drawing and its answer on screen together.
Python cannot know the screen's width, so a CSS rule for narrow screens moves the input
column after the answer; wide screens keep the three columns side by side as before.
"""

from __future__ import annotations

import streamlit as st

from digitlab.ui.state import DRAWING_ROW_KEY

STACKED_BELOW_PX = 640  # Streamlit's own width below which columns stack

_ANSWER_UNDER_CANVAS = f"""
<style>
@media (max-width: {STACKED_BELOW_PX}px) {{
  .st-key-{DRAWING_ROW_KEY} [data-testid="stColumn"]:nth-child(2) {{ order: 1; }}
}}
</style>
"""


def drawing_row():
    """The container for the canvas | input | answer columns, ordered for phones."""
    st.html(_ANSWER_UNDER_CANVAS)  # style only: Streamlit renders it without taking space
    return st.container(key=DRAWING_ROW_KEY)
