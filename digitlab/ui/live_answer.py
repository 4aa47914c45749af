"""The Draw page's live answer: the chosen run's model answering in the browser while the
pen moves (assets/js/live_answer.js), beside the server's answer after the pen lifts.

A components-v2 component of DigitLab's own: no iframe, no build step. Its JavaScript is
three committed files (preprocess.js, forward.js, live_answer.js) joined into one module
here, their imports of one another dropped, so the page needs nothing from the network.
Streamlit puts a component's code (27 kB) in each rerun's message, but sends a message over
10 kB that the page already has as a reference to it: measured, a pen-up rerun's bytes are
those of the page without the live answer, plus nothing.

The model's weights (about 1.1 MB for digitnet) go to the browser once per model version
per page, when the page asks: each run sends the version's name, a page that has no model
of that name asks through the component's `missing` state, and the run that follows
carries the weights. Asked for rather than pushed with the first run, so that a first
visit's answer and bars never wait behind a megabyte. Until the weights are in, or where
the browser can't run them, the element stays hidden and the page is as before.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import streamlit as st

from digitlab import store
from digitlab.inference.browser_model import browser_model, model_version
from digitlab.ui import state
from digitlab.ui.canvas import CANVAS_KEY
from digitlab.zoo.numpy_net import UnsupportedModel

JS_FOLDER = Path(__file__).resolve().parents[2] / "assets" / "js"
JS_FILES = ("preprocess.js", "forward.js", "live_answer.js")  # each after what it imports
COMPONENT_KEY = "live_answer"
AFTER_PEN_UP = "This model answers after the pen lifts."
_LOCAL_IMPORT = re.compile(r'^import \{[^}]*\} from "\./[\w.]+\.js";\n', re.MULTILINE)

# One row beside the Clear button, about as tall as it: on a phone the answer under the
# canvas stays on the first screen.
_CSS = """
.live { font-family: var(--st-font, sans-serif); color: var(--st-text-color, inherit);
        display: flex; align-items: center; gap: 0.6rem; }
.live[hidden], .live-bars[hidden] { display: none; }
.live-head { display: flex; flex-direction: column; min-width: 2.6rem; }
.live-title { font-size: 0.7rem; opacity: 0.7; white-space: nowrap; }
.live-digit { font-size: 1.5rem; line-height: 1.1; font-weight: 600; }
.live.unsure .live-digit { opacity: 0.6; }
.live-bars { display: flex; gap: 2px; align-items: flex-end; height: 2.5rem; }
.live-bar { display: flex; flex-direction: column; align-items: center; width: 0.8rem;
            height: 100%; font-size: 0.6rem; }
.live-track { flex: 1; width: 100%; display: flex; align-items: flex-end;
              background: var(--st-secondary-background-color, #f0f2f6); }
.live-fill { width: 100%; background: var(--st-gray-color, #999); }
.live-fill.best { background: var(--st-primary-color, #ff4b4b); }
.live.unsure .live-fill.best { background: var(--st-gray-color, #999); }
.live-note { font-size: 0.8rem; opacity: 0.7; }
.live.later .live-head, .live.later .live-bars { display: none; }
"""


def module_source() -> str:
    """The three files as one ES module (what Streamlit loads from a blob URL)."""
    parts = [(JS_FOLDER / name).read_text(encoding="utf-8") for name in JS_FILES]
    return "\n".join(_LOCAL_IMPORT.sub("", part) for part in parts)


_component = st.components.v2.component("digitlab.live_answer", js=module_source(), css=_CSS)


@st.cache_resource(max_entries=8, show_spinner=False)
def _packed(cache_key: str, _run: store.Run) -> dict[str, Any] | None:
    """The run as the browser runs it, built once per server; None when it can't."""
    try:
        return browser_model(_run)
    except UnsupportedModel:
        return None


def _no_op() -> None:
    """Streamlit keeps a component's state value only for the names given a callback."""


def show(run: store.Run, temperature: float, exported_file: bool = False) -> None:
    """Under the canvas: the live digit and ten bars while a stroke is drawn."""
    version = model_version(run)
    data: dict[str, Any] = {
        "version": version,
        "temperature": temperature,
        "canvasKey": CANVAS_KEY,
    }
    packed = None if exported_file else _packed(run.cache_key, run)
    if packed is None:  # a layer the browser can't run, or a TFLite file answering
        data["unsupported"] = AFTER_PEN_UP
    asked = dict((st.session_state.get(COMPONENT_KEY) or {}).get("missing") or {})
    answered = st.session_state.get(state.LIVE_ANSWERED_KEY)
    if packed is not None and asked.get("version") == version and asked != answered:
        data["model"] = packed  # once per ask: every later run sends the name alone
        st.session_state[state.LIVE_ANSWERED_KEY] = asked
    _component(key=COMPONENT_KEY, data=data, on_missing_change=_no_op)
