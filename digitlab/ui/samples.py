"""The third way in: a gallery of pen-written sample digits, one click (or key) each.

Each sample is a button under its picture, so a keyboard reaches it with Tab and sends it
with Enter or Space: a way to try the model that needs no mouse and no drawing. The chosen
sample goes to the model as a drawing goes (digitlab.data.samples draws it as the canvas does).
"""

from __future__ import annotations

import base64
import io

import numpy as np
import streamlit as st
from PIL import Image

from digitlab.data import samples
from digitlab.data.handdrawn import NoPenDigits
from digitlab.ui.canvas import CANVAS_SIZE
from digitlab.ui.state import SAMPLE_CHOSEN_KEY, sample_button_key

CHOOSE_MESSAGE = "Choose a sample digit: click one, or Tab to it and press Enter."
THUMBNAIL_PX = 48
SHOWN_PX = CANVAS_SIZE // 2
STYLED_CELL_PX = 104  # wide enough for "1 flag and base" on two lines


def _on_paper(image: np.ndarray, size: int) -> np.ndarray:
    """A canvas drawing (ink in alpha) as dark ink on white, at `size` pixels."""
    grey = Image.fromarray(255 - image[..., 3]).resize((size, size), Image.Resampling.BOX)
    return np.asarray(grey)


@st.cache_resource(show_spinner=False)
def _thumbnails() -> list[str]:
    """Each sample as a plain <img>: st.image would add a Fullscreen button per picture,
    twenty more stops for a keyboard between one sample's button and the next. The alt
    text is empty because the button beside it names the digit."""
    tags = []
    for sample in samples.gallery():
        png = io.BytesIO()
        Image.fromarray(_on_paper(sample.image, THUMBNAIL_PX)).save(png, format="PNG")
        source = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii")
        tags.append(f'<img src="{source}" alt="" width="{THUMBNAIL_PX}" height="{THUMBNAIL_PX}">')
    return tags


def _choose(index: int) -> None:
    st.session_state[SAMPLE_CHOSEN_KEY] = index


def _row(items: list[tuple[int, tuple[samples.Sample, str]]], chosen: int | None, width: int):
    """Samples side by side, each its picture over its button: the digit, or for a styled
    one its style ("0 slashed")."""
    # Wraps to as many rows as the column needs, on a phone too (columns would stack).
    with st.container(horizontal=True, gap="small"):
        for index, (sample, thumbnail) in items:
            with st.container(width=width, gap=None):
                st.html(thumbnail)
                st.button(
                    sample.style or str(sample.label),
                    key=sample_button_key(index),
                    on_click=_choose,
                    args=(index,),
                    type="primary" if index == chosen else "secondary",
                    help=f"Send sample {index + 1}, {sample.name}, to the model",
                    width="stretch",
                )


def sample_image() -> tuple[np.ndarray | None, str]:
    """Show the gallery; return the chosen sample as the canvas would (RGBA), or None with
    what the answer should say."""
    try:
        gallery = samples.gallery()
    except (NoPenDigits, ValueError) as error:  # missing or unreadable: say so, no traceback
        st.error(f"No samples to show: {error}")
        return None, ""
    chosen = st.session_state.get(SAMPLE_CHOSEN_KEY)
    if chosen is not None and not 0 <= chosen < len(gallery):
        chosen = None
    if chosen is not None:
        sample = gallery[chosen]
        st.image(_on_paper(sample.image, SHOWN_PX), width=SHOWN_PX)
        st.caption(f"Sample {chosen + 1}: {sample.name}.")
    thumbnails = list(enumerate(zip(gallery, _thumbnails(), strict=True)))
    _row([item for item in thumbnails if not item[1][0].style], chosen, THUMBNAIL_PX + 8)
    st.caption("Written other ways (the same writers' strokes, edited):")
    _row([item for item in thumbnails if item[1][0].style], chosen, STYLED_CELL_PX)
    st.caption(samples.ATTRIBUTION)
    if chosen is None:
        return None, CHOOSE_MESSAGE
    return gallery[chosen].image, ""
