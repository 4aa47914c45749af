"""DigitLab's entry point: page set-up and navigation only (the pages live in digitlab/ui)."""

import streamlit as st

from digitlab.ui import draw, evaluate_page, export_page, retrain

st.set_page_config(page_title="DigitLab", page_icon=":material/draw:", layout="wide")

pages = [
    st.Page(draw.render, title="Draw", icon=":material/draw:", url_path="draw", default=True),
    st.Page(
        evaluate_page.render, title="Evaluate", icon=":material/analytics:", url_path="evaluate"
    ),
    st.Page(export_page.render, title="Export", icon=":material/download:", url_path="export"),
]
page = st.navigation(pages)
retrain.render()
page.run()
