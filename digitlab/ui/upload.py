"""The second way in: a photo or scan of a handwritten digit instead of a drawing."""

from __future__ import annotations

import numpy as np
import streamlit as st

from digitlab.preprocess import MAX_UPLOAD_BYTES, ImageError, load_image

UPLOAD_TYPES = ["png", "jpg", "jpeg"]


def uploaded_image() -> np.ndarray | None:
    """Show an uploader; return the decoded image, or None (with a message) when unusable.

    The file is decoded in memory only: nothing from the upload becomes a path on disk.
    """
    upload = st.file_uploader(
        "A photo or scan of one handwritten digit (PNG or JPEG)",
        type=UPLOAD_TYPES,
        key="upload",
    )
    if upload is None:
        st.caption("Dark ink on light paper or light on dark both work; crop to one digit.")
        return None
    if upload.size > MAX_UPLOAD_BYTES:  # the server caps uploads too (.streamlit/config.toml)
        st.error(
            f"{upload.name} is {upload.size / 1e6:.1f} MB; the limit is "
            f"{MAX_UPLOAD_BYTES / 1e6:.0f} MB."
        )
        return None
    try:
        image = load_image(upload.getvalue(), name=upload.name)
    except ImageError as error:
        st.error(str(error))
        return None
    st.image(image, caption=f"Your image: {upload.name}", width=260)
    return image
