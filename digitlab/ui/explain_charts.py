"""Plotly figures that explain a drawing: saliency over the drawing, feature maps, and the
drawing among the test digits in 3D."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from digitlab.ui.charts import DIGITS, image_grid_axes

# Blue against, transparent at zero, red for: the drawing shows through where nothing counts.
_ATTRIBUTION_SCALE = [
    [0.0, "rgba(33,102,172,0.95)"],
    [0.5, "rgba(255,255,255,0)"],
    [1.0, "rgba(178,24,43,0.95)"],
]


def _square_image_axes(figure: go.Figure, height: int) -> go.Figure:
    figure.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10))
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    return figure


def saliency_overlay(image: np.ndarray, attributions: np.ndarray) -> go.Figure:
    """Attributions in red (for) and blue (against) over the model input in grey."""
    # The colour range ends at the 99th percentile: a few extreme pixels would wash out the rest.
    limit = float(np.quantile(np.abs(attributions), 0.99)) or 1.0
    figure = go.Figure(
        go.Heatmap(z=image, colorscale="Greys", zmin=0, zmax=2, showscale=False, hoverinfo="skip")
    )
    figure.add_heatmap(
        z=attributions,
        colorscale=_ATTRIBUTION_SCALE,
        zmin=-limit,
        zmax=limit,
        colorbar=dict(title="attribution", thickness=12),
        hovertemplate="row %{y}, column %{x}: %{z:.3f}<extra></extra>",
    )
    return _square_image_axes(figure, 340)


def feature_map_grid(maps: np.ndarray, columns: int = 16) -> go.Figure:
    """One small square heatmap per channel of (h, w, channels), each on its own colours."""
    from plotly.subplots import make_subplots  # only this figure needs it

    channels = maps.shape[-1]
    rows = -(-channels // columns)
    figure = make_subplots(rows, columns, horizontal_spacing=0.005, vertical_spacing=0.01)
    for channel in range(channels):
        figure.add_heatmap(
            z=maps[..., channel],
            colorscale="Viridis",
            showscale=False,
            hovertemplate=f"channel {channel}: %{{z:.2f}}<extra></extra>",
            row=channel // columns + 1,
            col=channel % columns + 1,
        )
    return image_grid_axes(figure).update_layout(height=80 * rows, margin=dict(l=0, r=0, t=0, b=0))


def embedding_3d(
    points: np.ndarray, labels: np.ndarray, drawing: np.ndarray, answer: int | None
) -> go.Figure:
    """Test digits coloured by class, and the drawing as a large black diamond."""
    from plotly.colors import qualitative

    figure = go.Figure()
    for digit in DIGITS:
        chosen = points[np.asarray(labels) == digit]
        figure.add_scatter3d(
            x=chosen[:, 0],
            y=chosen[:, 1],
            z=chosen[:, 2],
            mode="markers",
            name=str(digit),
            marker=dict(size=2.5, color=qualitative.T10[digit], opacity=0.7),
            hovertemplate=f"a test {digit}<extra></extra>",
        )
    figure.add_scatter3d(
        x=[drawing[0]],
        y=[drawing[1]],
        z=[drawing[2]],
        mode="markers+text",
        name="your drawing",
        text=["your drawing" if answer is None else f"your {answer}"],
        marker=dict(size=11, color="black", symbol="diamond", line=dict(color="white", width=2)),
    )
    figure.update_layout(
        height=560,
        margin=dict(l=0, r=0, t=0, b=0),
        scene=dict(xaxis_title="PC 1", yaxis_title="PC 2", zaxis_title="PC 3"),
        legend=dict(itemsizing="constant", title="digit"),
    )
    return figure
