"""A bare page with DigitLab's canvas and nothing else: the latency baseline for the e2e tests.

Its "Prediction" is the number of inked pixels, so it changes with every stroke, and the
time from pen-up to a new value is what the canvas component and Streamlit cost alone,
without preprocessing, a model or charts.
"""

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

# The same canvas as digitlab/ui/canvas.py draws (size, stroke, transparent background).
result = st_canvas(
    stroke_width=20,
    stroke_color="#000000",
    background_color="",
    height=280,
    width=280,
    drawing_mode="freedraw",
    return_image_data=True,
    key="canvas",
)
image = result.image_data
inked = 0 if image is None else int(np.count_nonzero(image[..., 3]))
# "—" before any ink, like the app, so the same page helpers read both.
st.metric("Prediction", inked if inked else "—")
