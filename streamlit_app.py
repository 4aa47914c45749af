"""DigitLab's entry point: page set-up and navigation only (the pages live in digitlab/ui)."""

import streamlit as st

from digitlab.ui import retrain, share, workspace

st.set_page_config(page_title="DigitLab", page_icon=":material/draw:", layout="wide")

PAGES = "digitlab/ui/pages"
page = st.navigation(
    [
        st.Page(f"{PAGES}/draw.py", title="Draw", icon=":material/draw:", default=True),
        st.Page(f"{PAGES}/build.py", title="Build", icon=":material/construction:"),
        st.Page(f"{PAGES}/data.py", title="Data", icon=":material/grid_view:"),
        st.Page(f"{PAGES}/runs.py", title="Runs", icon=":material/history:"),
        st.Page(f"{PAGES}/search.py", title="Search", icon=":material/tune:"),
        st.Page(f"{PAGES}/evaluate.py", title="Evaluate", icon=":material/analytics:"),
        st.Page(f"{PAGES}/export.py", title="Export", icon=":material/download:"),
        st.Page(f"{PAGES}/my_digits.py", title="My digits", icon=":material/collections:"),
    ]
)
# Whose work this is comes first: everything after reads and writes that workspace's.
workspace.open_remembered(page.url_path)
share.open_shared()
retrain.render()
with st.sidebar:  # under the Retrain panel, whose Train is the sidebar's first button
    workspace.show_workspace()
share.show_banner()
page.run()
