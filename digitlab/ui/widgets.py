"""Small widgets more than one page uses."""

from __future__ import annotations

from typing import Any

import streamlit as st

from digitlab.models import DEFAULT_MODEL, ZOO


def zoo_selector(key: str, default: str = DEFAULT_MODEL, **options: Any) -> str:
    """A selectbox over the zoo, each entry with its short description."""
    return st.selectbox(
        "Model",
        options=list(ZOO),
        index=list(ZOO).index(default),
        format_func=lambda name: f"{name} — {ZOO[name].title}",
        key=key,
        **options,
    )
