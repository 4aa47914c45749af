"""The Export page: every format of a model, measured, and the file to download."""

from __future__ import annotations

import streamlit as st

from digitlab.analysis import export
from digitlab.data.mnist import DataError
from digitlab.store import Run, StoreError
from digitlab.ui import state
from digitlab.ui.widgets import run_selector, zoo_selector

FORMAT_TITLES = {
    "keras": "Keras (.keras)",
    "savedmodel": "SavedModel (zip)",
    "tflite": "TFLite float32",
    "tflite-int8": "TFLite int8",
    "onnx": "ONNX",
}


def model_selector() -> str:
    return zoo_selector(state.EXPORT_MODEL_KEY, state.current_model())


def format_selector() -> str:
    return st.radio(
        "Format",
        options=list(export.FORMATS),
        format_func=FORMAT_TITLES.__getitem__,
        horizontal=True,
        key="export_format",
    )


def show_report(report: dict) -> None:
    rows = [
        {
            "format": FORMAT_TITLES[row["format"]],
            "size (KB)": round(row["size_bytes"] / 1024),
            "test accuracy": f"{row['accuracy']:.2%}",
            "agreement with Keras": f"{row['agreement']:.2%}",
            "latency (ms)": round(row["latency_ms"], 3),
            "measured with": row["runtime"],
        }
        for row in report["formats"]
    ]
    st.dataframe(rows, hide_index=True)
    st.caption(
        f"On the {report['test_images']:,} MNIST test images, TensorFlow {report['tensorflow']}. "
        "Agreement: how often the file's answer equals the Keras model's. Latency: the median "
        "time for one image on this server."
    )


def show_download(run: Run, fmt: str) -> None:
    path = export.download_file(run, fmt)
    st.download_button(
        f"Download {FORMAT_TITLES[fmt]} ({path.stat().st_size / 1024:,.0f} KB)",
        data=path.read_bytes(),
        file_name=f"{run.model}-{run.id}-{path.name}",
        mime="application/octet-stream",
        icon=":material/download:",
        on_click="ignore",
        key="export_download",
    )


def render() -> None:
    st.title("Export")
    st.write(
        "The same network as a Keras file, a SavedModel for TensorFlow Serving, a TFLite "
        "file for phones and small devices, quantised to int8 or not, or an ONNX file for "
        "ONNX Runtime (Python, C++, C#, Java, or a web page with onnxruntime-web). Try the "
        "TFLite files on your own digits with the Runtime switch on the Draw page."
    )
    left, right = st.columns([1, 1.4])
    with right:
        fmt = format_selector()
    try:
        with left:
            run = run_selector(model_selector())
        with st.spinner(
            "Exporting this run to every format and measuring each on the 10,000 MNIST test "
            "images: about 20 seconds the first time, then kept for every session."
        ):
            report = export.report(run)
    except (StoreError, DataError, export.ExportError) as error:
        st.error(str(error))
        return
    show_report(report)
    show_download(run, fmt)
