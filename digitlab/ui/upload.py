"""The second way in: a photo or scan of a handwritten digit instead of a drawing.

A file that can't be used gets one message, and leaves the list: the uploader is checked
as the file arrives (in its callback), and a refused file is dropped by giving the uploader
a new key (Python cannot empty a file uploader otherwise). Files over the server's own cap
(.streamlit/config.toml) never reach Python: Streamlit lists them with its own message.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from digitlab.data.decode import ImageError, load_image
from digitlab.ui.state import UPLOAD_REFUSED_KEY, UPLOADS_KEY, uploader_key

UPLOAD_TYPES = ["png", "jpg", "jpeg"]
NO_DIGIT_MESSAGE = "No digit found: upload an image of one handwritten digit."


def _problem(upload) -> str | None:
    """Why an uploaded file can't be used (too big, not an image, too many pixels), or None."""
    try:
        load_image(upload.getvalue(), name=upload.name)
    except ImageError as error:
        return str(error)
    return None


def _check_upload(key: str) -> None:
    """The uploader's callback: refuse a file that can't be used, and drop it from the list."""
    st.session_state.pop(UPLOAD_REFUSED_KEY, None)
    upload = st.session_state.get(key)
    if upload is None:
        return
    problem = _problem(upload)
    if problem is not None:
        st.session_state[UPLOAD_REFUSED_KEY] = problem
        st.session_state[UPLOADS_KEY] = st.session_state.get(UPLOADS_KEY, 0) + 1


def uploaded_image() -> tuple[np.ndarray | None, str]:
    """Show an uploader; return the decoded image, or None with what the answer should say
    ("" when this already said why the file was refused: one message, not two).

    The file is decoded in memory only: nothing from the upload becomes a path on disk.
    """
    key = uploader_key()
    upload = st.file_uploader(
        "A photo or scan of one handwritten digit (PNG or JPEG)",
        type=UPLOAD_TYPES,
        key=key,
        on_change=_check_upload,
        args=(key,),
    )
    refused = st.session_state.get(UPLOAD_REFUSED_KEY)
    if refused is not None:
        st.error(refused)
        return None, ""
    if upload is None:
        st.caption("Dark ink on light paper or light on dark both work; crop to one digit.")
        return None, NO_DIGIT_MESSAGE
    try:  # checked in the callback already; a file set another way (a test) is checked here
        image = load_image(upload.getvalue(), name=upload.name)
    except ImageError as error:
        st.error(str(error))
        return None, ""
    st.image(image, caption=f"Your image: {upload.name}", width=260)
    return image, NO_DIGIT_MESSAGE
