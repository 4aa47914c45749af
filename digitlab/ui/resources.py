"""Process-wide resources shared by every session: the job queue and the loaded models."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.scriptrunner import script_runner

from digitlab import store
from digitlab.jobs import JobQueue
from digitlab.models import ZOO
from digitlab.predict import Predictor


def _keep_keras_state() -> None:
    """Nothing: replaces Streamlit's after-run `keras.backend.clear_session()`.

    Streamlit clears Keras after every script run, for scripts that build a model per run.
    DigitLab keeps its models loaded across runs on purpose, and the clearing hurt it: it
    emptied TensorFlow's kernel cache (a drawing took ~22 ms instead of ~1 ms) and reset
    Keras's layer-name counter under a model being built by the training thread ("layers
    should have unique names"). A private hook of the pinned Streamlit release
    (requirements.txt), so a Streamlit upgrade must re-check it.
    """


script_runner._clean_problem_modules = _keep_keras_state


@st.cache_resource
def job_queue() -> JobQueue:
    """One queue per server: training jobs from all sessions run one at a time."""
    store.clean_temporaries()
    return JobQueue()


@dataclass(frozen=True)
class LoadedModel:
    predictor: Predictor
    entry: store.StoredModel
    warnings: tuple[str, ...]


def current_version(name: str) -> str:
    """Identifies the model a name resolves to now; changes when a newer one is trained."""
    found = store.candidates(name)
    if not found:
        return "none"
    return f"{found[0].path}:{found[0].metrics.get('saved_at', 0)}"


@st.cache_resource(max_entries=24, show_spinner="Loading the model...")
def _load(name: str, version: str) -> LoadedModel:
    entry, model, warnings = store.load_preferred(name)
    return LoadedModel(Predictor(model, ZOO[name]), entry, tuple(warnings))


def loaded_model(name: str) -> LoadedModel:
    """The preferred usable model for a zoo name, loaded once per version per server."""
    return _load(name, current_version(name))
