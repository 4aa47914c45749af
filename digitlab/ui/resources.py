"""Process-wide resources shared by every session: the job queue and the loaded models."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from digitlab import store
from digitlab.jobs import JobQueue
from digitlab.models import ZOO
from digitlab.predict import Predictor


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
