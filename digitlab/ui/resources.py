"""Process-wide resources shared by every session: the job queue and loaded predictors."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import script_runner

from digitlab import store
from digitlab.inference.predict import Predictor, is_loaded, load_predictor
from digitlab.training.jobs import JobQueue
from digitlab.training.runners import default_runner


def _keep_keras_state() -> None:
    """Nothing: replaces Streamlit's after-run `keras.backend.clear_session()`.

    Streamlit clears Keras after every script run, for scripts that build a model per run.
    DigitLab keeps Keras models loaded across runs on purpose (the Explain views, and any
    model the numpy forward pass can't run), and the clearing empties TensorFlow's caches
    under them: re-measured with training moved out of the server, a Keras answer costs
    ~17 ms after a clear against ~1 ms without. A private hook of the pinned Streamlit
    release (requirements.txt), so a Streamlit upgrade must re-check it.
    """


script_runner._clean_problem_modules = _keep_keras_state


@st.cache_resource
def job_queue() -> JobQueue:
    """One queue per server: training jobs from all sessions run one at a time, on Ray when
    DIGITLAB_RAY_ADDRESS names a cluster, else in local processes."""
    return JobQueue(runner=default_runner())


def predictor(run: store.Run) -> Predictor:
    """The run's predictor, loaded once per run per server (with a spinner the first time)."""
    if is_loaded(run):
        return load_predictor(run)
    with st.spinner(f"Loading {run.model} ({run.describe()})..."):
        return load_predictor(run)
