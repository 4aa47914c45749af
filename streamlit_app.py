"""DigitLab's entry point: page set-up and navigation only (the pages live in digitlab/ui)."""

import streamlit as st

from digitlab.ui import draw, retrain

st.set_page_config(page_title="DigitLab", page_icon=":material/draw:", layout="wide")

pages = [
    st.Page(draw.render, title="Draw", icon=":material/draw:", url_path="draw", default=True),
]
page = st.navigation(pages)
retrain.render()
page.run()
