"""Where the Draw page's parts sit on a phone: the canvas and its answer on the first screen.

Streamlit stacks columns one under another below 640 px, in the order they were made. The
Draw page's row is canvas | the 28x28 input | the answer, which on a phone put the answer
about 650 px below the top of the canvas; and the settings above it (model, version,
runtime, temperature) put the canvas itself at y = 708 of an 844 px screen. Python cannot
know the screen's width, so CSS rules for narrow screens move the input column after the
answer and the settings under the drawing row (flex `order` in the page's column); wide
screens keep the page as it is built.
"""

from __future__ import annotations

import streamlit as st

from digitlab.ui.state import DRAW_AFTER_KEY, DRAW_SETTINGS_KEY, DRAWING_ROW_KEY

STACKED_BELOW_PX = 640  # Streamlit's own width below which columns stack

_PHONE_ORDER = f"""
<style>
@media (max-width: {STACKED_BELOW_PX}px) {{
  .st-key-{DRAWING_ROW_KEY} [data-testid="stColumn"]:nth-child(2) {{ order: 1; }}
  /* A keyed container sits in a layout wrapper: the wrapper is what the column orders. */
  [data-testid="stLayoutWrapper"]:has(> .st-key-{DRAW_SETTINGS_KEY}) {{ order: 1; }}
  [data-testid="stLayoutWrapper"]:has(> .st-key-{DRAW_AFTER_KEY}) {{ order: 2; }}
}}
</style>
"""


def settings_area():
    """The container for the Draw page's settings: above the drawing, or under it on a phone."""
    st.html(_PHONE_ORDER)  # style only: Streamlit renders it without taking space
    return st.container(key=DRAW_SETTINGS_KEY)


def drawing_row():
    """The container for the canvas | input | answer columns, ordered for phones."""
    return st.container(key=DRAWING_ROW_KEY)


def after_drawing():
    """The container for what follows the drawing row (after the settings, on a phone)."""
    return st.container(key=DRAW_AFTER_KEY)
