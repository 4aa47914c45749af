"""Plotly figures shared by the pages."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import plotly.graph_objects as go
from PIL import Image

ACCENT = "#3b5bdb"
MUTED = "#adb5bd"
RUN_COLOURS = ["#3b5bdb", "#e8590c", "#2b8a3e", "#ae3ec9", "#f08c00", "#0b7285"]
MAX_POINTS = 400  # per-batch curves are thinned to this many points to stay light


def drawing_figure(traces: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    """A figure for the drawing path, from plain dicts, skipping plotly's validation.

    Validating a figure costs ~40 ms here, more than the rest of a Draw-page run; these
    dicts come from this module's own code, and tests/test_charts.py validates what each
    builder returns, so a wrong key still fails: in the suite, not on every stroke.
    """
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def probability_bars(probabilities: np.ndarray, label: int | None) -> go.Figure:
    """Ten bars, the top answer highlighted."""
    bars = {
        "type": "bar",
        "x": [str(digit) for digit in range(10)],
        "y": [float(p) for p in probabilities],
        "marker": {"color": [ACCENT if digit == label else MUTED for digit in range(10)]},
        "text": [f"{p:.0%}" if p >= 0.01 else "" for p in probabilities],
        "textposition": "outside",
        "hovertemplate": "digit %{x}: %{y:.2%}<extra></extra>",
    }
    layout = {
        "height": 260,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "yaxis": {"range": [0, 1.1], "tickformat": ".0%"},
        "xaxis": {"type": "category"},
        "showlegend": False,
    }
    return drawing_figure([bars], layout)


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
    """A metric per batch (train) and per epoch (validation) against the epoch axis.

    Redrawn at every poll while a run trains, in the server process that also answers
    drawings: built from dicts like the drawing path's figures (drawing_figure)."""

    def line(rows: list[dict[str, Any]], x: str, y: str, name: str, colour: str, width: float):
        mode = "lines" if name == "train (per batch)" else "lines+markers"
        return {
            "type": "scatter",
            "x": [row[x] for row in rows],
            "y": [row.get(y) for row in rows],
            "mode": mode,
            "name": name,
            "line": {"color": colour, "width": width},
        }

    traces = []
    thinned = _thin(batches)
    if thinned:
        traces.append(line(thinned, "position", metric, "train (per batch)", ACCENT, 1.5))
    validation = [row for row in epochs if f"val_{metric}" in row]
    if validation:
        traces.append(
            line(validation, "epoch", f"val_{metric}", "validation (per epoch)", "#e8590c", 2)
        )
    elif epochs and not thinned:  # a cached run: only per-epoch training values exist
        traces.append(line(epochs, "epoch", metric, "train (per epoch)", ACCENT, 2))
    # In the narrow sidebar a legend under the plot sat on the "epoch" title, and a title at
    # the top under plotly's toolbar: the metric names the y axis, the legend goes on top.
    layout = {
        "height": 220,
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "xaxis": {"title": {"text": "epoch"}},
        "yaxis": {"title": {"text": metric}},
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": 1.02,
            "yanchor": "bottom",
            "font": {"size": 10},
        },
    }
    return drawing_figure(traces, layout)


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


# --- the Evaluate page ---------------------------------------------------------------------

DIGITS = list(range(10))
RIGHT, WRONG = "#2b8a3e", "#c92a2a"


def thumbnail(image: np.ndarray, scale: int = 3) -> np.ndarray:
    """A small digit image (uint8 0..255 or float 0..1, ink high) as dark ink on white,
    enlarged by repeating pixels so the browser does not blur it."""
    pixels = np.asarray(image, dtype=np.float32)
    if np.issubdtype(np.asarray(image).dtype, np.integer):
        pixels = pixels / 255.0
    grey = (255 - np.clip(pixels, 0.0, 1.0) * 255).astype(np.uint8)
    return np.kron(grey, np.ones((scale, scale), dtype=np.uint8))


def png_data_uri(pixels: np.ndarray) -> str:
    """A small greyscale image as a PNG data URI: it travels inside the page's message, not as
    one more request per image (48 requests made a page flip ~0.4 s slower here)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def confusion_heatmap(confusion: np.ndarray) -> go.Figure:
    """Rows true, columns predicted, each cell annotated with its count.

    Colours follow log(1 + count) so the rare confusions show beside the large diagonal.
    Streamlit returns no selection for clicks on a heatmap, so an invisible marker sits on
    every cell: clicking a cell selects its marker, which the page reads.
    """
    counts = np.asarray(confusion)
    figure = go.Figure(
        go.Heatmap(
            z=np.log1p(counts),
            x=DIGITS,
            y=DIGITS,
            text=counts,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hoverinfo="skip",
        )
    )
    true_digits, predicted_digits = np.divmod(np.arange(100), 10)
    figure.add_scatter(
        x=predicted_digits,
        y=true_digits,
        customdata=counts.reshape(-1),
        mode="markers",
        marker=dict(symbol="square", size=30, color="rgba(0,0,0,0)"),
        selected=dict(marker=dict(color="rgba(232,89,12,0.35)")),
        unselected=dict(marker=dict(opacity=1)),
        hovertemplate="true %{y}, predicted %{x}: %{customdata} images<extra></extra>",
        showlegend=False,
    )
    figure.update_layout(
        height=430,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(title="predicted", tickvals=DIGITS, side="top", fixedrange=True),
        yaxis=dict(title="true", tickvals=DIGITS, autorange="reversed", fixedrange=True),
        clickmode="event+select",
        dragmode=False,
    )
    return figure


def reliability_diagram(bins: list[dict[str, Any]], title: str) -> go.Figure:
    """Accuracy per confidence bin against the diagonal of perfect calibration."""
    used = [row for row in bins if row["count"]]
    figure = go.Figure(
        go.Bar(
            x=[(row["lower"] + row["upper"]) / 2 for row in used],
            y=[row["accuracy"] for row in used],
            width=[row["upper"] - row["lower"] for row in used],
            customdata=[[row["confidence"], row["count"]] for row in used],
            marker=dict(color=ACCENT, line=dict(color="white", width=1)),
            name="accuracy",
            hovertemplate="mean confidence %{customdata[0]:.1%}<br>accuracy %{y:.1%}"
            "<br>%{customdata[1]} images<extra></extra>",
        )
    )
    figure.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        line=dict(color=MUTED, dash="dash"),
        name="perfect calibration",
        hoverinfo="skip",
    )
    figure.update_layout(
        height=280,
        margin=dict(l=10, r=10, t=40, b=10),
        title=dict(text=title, font=dict(size=13)),
        xaxis=dict(title="confidence", range=[0, 1], tickformat=".0%"),
        yaxis=dict(title="accuracy", range=[0, 1], tickformat=".0%"),
        legend=dict(orientation="h", y=-0.3, font=dict(size=10)),
    )
    return figure


def history_curves(history: dict[str, list[float]], metric: str) -> go.Figure:
    """A stored model's per-epoch training and validation values of one metric."""
    figure = go.Figure()
    for key, name, colour in ((metric, "train", ACCENT), (f"val_{metric}", "validation", WRONG)):
        values = history.get(key) or []
        figure.add_scatter(
            x=list(range(1, len(values) + 1)),
            y=values,
            mode="lines+markers",
            name=name,
            line=dict(color=colour, width=2),
        )
    figure.update_layout(
        height=260,
        margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text=metric, font=dict(size=13)),
        xaxis=dict(title="epoch", dtick=1),
        legend=dict(orientation="h", y=-0.3, font=dict(size=10)),
    )
    return figure


def compare_curves(histories: dict[str, dict[str, list[float]]], metric: str) -> go.Figure:
    """Several runs' per-epoch curves of one metric: one colour per run, solid for training
    and dashed for validation."""
    figure = go.Figure()
    for index, (label, history) in enumerate(histories.items()):
        colour = RUN_COLOURS[index % len(RUN_COLOURS)]
        for key, dash, part in ((metric, "solid", "train"), (f"val_{metric}", "dash", "val")):
            values = history.get(key) or []
            if values:
                figure.add_scatter(
                    x=list(range(1, len(values) + 1)),
                    y=values,
                    mode="lines+markers",
                    name=f"{label} ({part})",
                    line=dict(color=colour, width=2, dash=dash),
                )
    figure.update_layout(
        height=320,
        margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text=metric, font=dict(size=13)),
        xaxis=dict(title="epoch", dtick=1),
        legend=dict(font=dict(size=10)),
    )
    return figure


def per_class_comparison(recalls: dict[str, list[float]]) -> go.Figure:
    """Each run's accuracy on each digit (its recall), as grouped bars."""
    figure = go.Figure()
    for index, (label, values) in enumerate(recalls.items()):
        figure.add_bar(
            x=[str(digit) for digit in range(10)],
            y=values,
            name=label,
            marker_color=RUN_COLOURS[index % len(RUN_COLOURS)],
        )
    low = min((min(values) for values in recalls.values()), default=0.0)
    figure.update_layout(
        height=300,
        barmode="group",
        margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text="accuracy per digit (MNIST test)", font=dict(size=13)),
        xaxis=dict(title="digit"),
        yaxis=dict(range=[max(0.0, low - 0.02), 1.0], tickformat=".0%"),
        legend=dict(font=dict(size=10)),
    )
    return figure


def regression_errors(labels: np.ndarray, values: np.ndarray, seed: int = 0) -> go.Figure:
    """Predicted minus true value against the true digit, jittered sideways so the
    thousands of points per digit spread out; outside the dashed band rounding is wrong."""
    labels = np.asarray(labels)
    jitter = np.random.default_rng(seed).uniform(-0.35, 0.35, len(labels))
    errors = np.asarray(values) - labels
    figure = go.Figure(
        go.Scattergl(
            x=labels + jitter,
            y=errors,
            mode="markers",
            marker=dict(size=3, color=np.where(np.abs(errors) < 0.5, ACCENT, WRONG), opacity=0.35),
            hovertemplate="error %{y:.2f}<extra></extra>",
        )
    )
    for edge in (-0.5, 0.5):
        figure.add_hline(y=edge, line=dict(color=MUTED, dash="dash"))
    figure.update_layout(
        height=360,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(title="true digit", tickvals=DIGITS),
        yaxis=dict(title="predicted − true"),
    )
    return figure


def image_grid_axes(figure: go.Figure) -> go.Figure:
    """A grid of heatmaps shown as images: no axes, top row first, square pixels."""
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    # Square pixels: tie each subplot's y scale to the x axis it is anchored to.
    return figure.for_each_yaxis(lambda axis: axis.update(scaleanchor=axis.anchor))
