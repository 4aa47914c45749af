"""Plotly figures shared by the pages."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

ACCENT = "#3b5bdb"
MUTED = "#adb5bd"
MAX_POINTS = 400  # per-batch curves are thinned to this many points to stay light


def probability_bars(probabilities: np.ndarray, label: int | None) -> go.Figure:
    """Ten bars, the top answer highlighted."""
    colours = [ACCENT if digit == label else MUTED for digit in range(10)]
    figure = go.Figure(
        go.Bar(
            x=[str(digit) for digit in range(10)],
            y=[float(p) for p in probabilities],
            marker_color=colours,
            text=[f"{p:.0%}" if p >= 0.01 else "" for p in probabilities],
            textposition="outside",
            hovertemplate="digit %{x}: %{y:.2%}<extra></extra>",
        )
    )
    figure.update_layout(
        height=260,
        margin=dict(l=10, r=10, t=10, b=10),
        yaxis=dict(range=[0, 1.1], tickformat=".0%", title=None),
        xaxis=dict(title=None, type="category"),
        showlegend=False,
    )
    return figure


def regression_gauge(value: float) -> go.Figure:
    """Where the predicted number falls on the 0-9 scale."""
    figure = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=value,
            number={"valueformat": ".2f"},
            gauge={
                "axis": {"range": [-0.5, 9.5], "tickvals": list(range(10))},
                "bar": {"color": ACCENT},
            },
        )
    )
    figure.update_layout(height=240, margin=dict(l=20, r=20, t=20, b=10))
    return figure


def _thin(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stride = max(1, len(rows) // MAX_POINTS)
    return rows[::stride] + ([rows[-1]] if rows and (len(rows) - 1) % stride else [])


def training_curves(
    batches: list[dict[str, Any]], epochs: list[dict[str, Any]], metric: str
) -> go.Figure:
    """A metric per batch (train) and per epoch (validation) against the epoch axis."""
    figure = go.Figure()
    thinned = _thin(batches)
    if thinned:
        figure.add_scatter(
            x=[row["position"] for row in thinned],
            y=[row.get(metric) for row in thinned],
            mode="lines",
            name="train (per batch)",
            line=dict(color=ACCENT, width=1.5),
        )
    validation = [row for row in epochs if f"val_{metric}" in row]
    if validation:
        figure.add_scatter(
            x=[row["epoch"] for row in validation],
            y=[row[f"val_{metric}"] for row in validation],
            mode="lines+markers",
            name="validation (per epoch)",
            line=dict(color="#e8590c", width=2),
        )
    elif epochs and not thinned:  # a cached run: only per-epoch training values exist
        figure.add_scatter(
            x=[row["epoch"] for row in epochs],
            y=[row.get(metric) for row in epochs],
            mode="lines+markers",
            name="train (per epoch)",
            line=dict(color=ACCENT, width=2),
        )
    figure.update_layout(
        height=200,
        margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text=metric, font=dict(size=13)),
        xaxis=dict(title="epoch"),
        legend=dict(orientation="h", y=-0.35, font=dict(size=10)),
    )
    return figure


def enlarged_pixels(image: np.ndarray, scale: int = 8) -> np.ndarray:
    """The model's input blown up, dark ink on white, with a faint grid so each pixel shows."""
    size = image.shape[0]
    ink = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    grey = (255 - ink * 255).astype(np.uint8)
    big = np.kron(grey, np.ones((scale, scale), dtype=np.uint8))
    rgb = np.repeat(big[..., None], 3, axis=2)
    grid = np.zeros(size * scale, dtype=bool)
    grid[::scale] = True
    rgb[grid, :, :] = (rgb[grid, :, :] * 0.85 + 200 * 0.15).astype(np.uint8)
    rgb[:, grid, :] = (rgb[:, grid, :] * 0.85 + 200 * 0.15).astype(np.uint8)
    return rgb
