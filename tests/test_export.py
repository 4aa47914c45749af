"""Export: real conversions (TFLite in a child process), the measured report, the page."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digitlab import cli, store
from digitlab.analysis import export
from digitlab.inference.predict import Predictor
from digitlab.inference.softmax import softmax
from digitlab.ui.export_page import FORMAT_TITLES
from digitlab.zoo.registry import DEFAULT_MODEL, ZOO

# --- refusals (no TensorFlow needed) ---------------------------------------------------------


def test_unknown_formats_and_unwritable_paths_are_refused(tmp_path: Path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    refused = {
        ("pmml", tmp_path / "model.pmml"): "Unknown format 'pmml'",
        ("tflite", tmp_path / "missing" / "m.tflite"): "does not exist",
        ("tflite", a_file / "m.tflite"): "does not exist",
        ("tflite", tmp_path): "is a folder",
        ("keras", tmp_path / "model.h5"): "must end in .keras",
        ("onnx", tmp_path / "model.pb"): "must end in .onnx",
        ("savedmodel", tmp_path): "already exists",
    }
    for (fmt, out), message in refused.items():
        with pytest.raises(export.ExportError, match=message):
            export.check_target(fmt, out)
    assert export.check_target("savedmodel", tmp_path / "new") == tmp_path / "new"


def test_the_cli_refuses_before_loading_anything(tmp_path: Path, capsys):
    out = tmp_path / "missing" / "m.tflite"
    assert cli.main(["export", "--format", "tflite", "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["export", "--format", "tflite"]) == 2
    assert "--out" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["export", "--format", "pmml", "--out", str(tmp_path / "m.pmml")])
    assert "invalid choice: 'pmml'" in capsys.readouterr().err


def test_a_failing_child_process_reports_its_error(tmp_path: Path):
    with pytest.raises(export.ExportError, match="No run 4242"):  # the child's StoreError
        export.in_child(export._write_in_child, "4242", "tflite", str(tmp_path / "m.tflite"))


# --- every format of a small model, measured once for the module ----------------------------

REPORTED = "mlp_small"  # the quickest to measure; digitnet's int8 file is checked below


@pytest.fixture(scope="module")
def exports(mnist, tmp_path_factory: pytest.TempPathFactory):
    """A model's report and cache folder, in a store of this module's own."""
    store_root = tmp_path_factory.mktemp("export-store")
    entry = store.shipped_run(REPORTED)
    report = export.report(entry, root=store_root)
    return store_root, entry, report, export.cache_folder(entry, store_root)


def test_the_report_measures_every_format(exports):
    _, entry, report, folder = exports
    rows = {row["format"]: row for row in report["formats"]}
    assert list(rows) == list(export.FORMATS)
    assert report["test_images"] == 10_000
    for fmt, row in rows.items():
        assert row["size_bytes"] == export.size_bytes(folder / export.FORMATS[fmt]) > 0
        assert row["latency_ms"] > 0
        assert row["accuracy"] == pytest.approx(entry.metrics["accuracy"], abs=0.003)
    for fmt in ("keras", "savedmodel", "tflite", "onnx"):
        assert rows[fmt]["agreement"] == 1.0, fmt
    assert rows["tflite-int8"]["agreement"] >= 0.995
    assert rows["tflite-int8"]["size_bytes"] < rows["tflite"]["size_bytes"] / 3


def test_the_report_is_cached_and_printed_by_the_cli(exports, monkeypatch, capsys):
    store_root, entry, report, _ = exports
    monkeypatch.setenv("DIGITLAB_STORE_DIR", str(store_root))
    start = time.perf_counter()
    assert export.report(entry) == report
    assert time.perf_counter() - start < 1.0  # read back, not measured again
    assert cli.main(["export", "--report", "--model", REPORTED, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == report
    assert cli.main(["export", "--report", "--model", REPORTED]) == 0
    table = capsys.readouterr().out
    assert all(fmt in table for fmt in export.FORMATS) and "agreement" in table


def test_the_savedmodel_signature_gives_probabilities_and_logits(exports, mnist):
    import tensorflow as tf

    _, entry, _, folder = exports
    images = mnist.x_test[:64] / np.float32(255)
    signature = tf.saved_model.load(str(folder / "savedmodel")).signatures["serving_default"]
    outputs = {key: value.numpy() for key, value in signature(images=tf.constant(images)).items()}
    logits = np.asarray(entry.load()(images[..., None], training=False))
    np.testing.assert_allclose(outputs["logits"], logits, atol=1e-5)
    np.testing.assert_allclose(outputs["probabilities"], softmax(logits), atol=1e-5)


def test_tflite_predictors_answer_like_the_keras_predictor(exports, mnist):
    _, entry, _, folder = exports
    spec = ZOO[REPORTED]
    keras_predictor = Predictor(entry.load(), spec)
    float_predictor = export.TFLitePredictor(folder / "model.tflite", spec)
    int8_predictor = export.TFLitePredictor(folder / "model-int8.tflite", spec)
    for image in mnist.x_test[:20] / np.float32(255):
        logits = keras_predictor.raw_outputs(image)
        np.testing.assert_allclose(float_predictor.raw_outputs(image), logits, atol=1e-4)
    # A big drawing goes through the same preprocessing as the canvas's.
    drawing = np.kron(mnist.x_test[0], np.ones((8, 8), np.uint8))
    for predictor in (float_predictor, int8_predictor):
        assert predictor.predict_image(drawing).label == mnist.y_test[0]
        assert predictor.predict_image(np.zeros((200, 200), np.uint8)).abstained


# --- the default model's int8 file, and the odd models --------------------------------------


def test_the_cli_writes_an_integer_tflite_file_that_agrees(tmp_path: Path, mnist, capsys):
    out = tmp_path / "digitnet-int8.tflite"
    assert cli.main(["export", "--format", "tflite-int8", "--out", str(out)]) == 0  # a child
    assert str(out) in capsys.readouterr().out
    assert [path.name for path in tmp_path.iterdir()] == [out.name]  # no temporary left
    spec = ZOO[DEFAULT_MODEL]
    int8_predictor = export.TFLitePredictor(out, spec)
    interpreter = int8_predictor._interpreter
    floats = {d["index"] for d in interpreter.get_tensor_details() if d["dtype"] == np.float32}
    ends = [interpreter.get_input_details()[0], interpreter.get_output_details()[0]]
    assert floats == {end["index"] for end in ends}  # float32 only at the two ends
    images = mnist.x_test[:300] / np.float32(255)
    keras_model = store.shipped_run(DEFAULT_MODEL).load()
    keras_labels = np.asarray(keras_model(images[..., None], training=False)).argmax(axis=1)
    int8_labels = int8_predictor.outputs(images[..., None]).argmax(axis=1)
    assert np.mean(int8_labels == keras_labels) >= 0.99


def test_tiny20_runs_from_28x28_images_in_tflite_and_savedmodel(tmp_path: Path, mnist):
    import tensorflow as tf

    from digitlab.data.batch import downscale_to_20

    entry, spec = store.shipped_run("tiny20"), ZOO["tiny20"]
    keras_predictor = Predictor(entry.load(), spec)
    tflite_predictor = export.TFLitePredictor(
        export.write_format(entry, "tflite", tmp_path / "tiny20.tflite"), spec
    )
    images = mnist.x_test[:16] / np.float32(255)
    for image in images:
        np.testing.assert_allclose(
            tflite_predictor.raw_outputs(image), keras_predictor.raw_outputs(image), atol=1e-4
        )
    out = export.export_model(entry, "savedmodel", tmp_path / "tiny20")
    signature = tf.saved_model.load(str(out)).signatures["serving_default"]
    expected = entry.load()(downscale_to_20(images)[..., None], training=False)
    logits = signature(images=tf.constant(images))["logits"]
    np.testing.assert_allclose(logits.numpy(), np.asarray(expected), atol=1e-4)


def test_regression_exports_its_value(tmp_path: Path, mnist):
    import tensorflow as tf

    entry = store.shipped_run("regression")
    images = mnist.x_test[:16] / np.float32(255)
    out = tmp_path / "regression"
    assert (
        cli.main(["export", "--model", "regression", "--format", "savedmodel", "--out", str(out)])
        == 0
    )
    outputs = tf.saved_model.load(str(out)).signatures["serving_default"](
        images=tf.constant(images)
    )
    assert list(outputs) == ["value"]
    expected = np.asarray(entry.load()(images[..., None], training=False)).reshape(-1)
    np.testing.assert_allclose(outputs["value"].numpy(), expected, atol=1e-4)
    keras_file = tmp_path / "regression.keras"
    assert (
        cli.main(["export", "--model", "regression", "--format", "keras", "--out", str(keras_file)])
        == 0
    )
    assert keras_file.read_bytes() == entry.model_file.read_bytes()


# --- the page and the runtime switch ----------------------------------------------------------

PAGE = """
from digitlab.ui import export_page
export_page.render()
"""

RUNTIME = """
import numpy as np
import streamlit as st
from digitlab import store
from digitlab.ui.runtime import predictor_for, runtime_selector
predictor = predictor_for(store.shipped_run("mlp_small"), runtime_selector())
st.markdown(type(predictor).__name__)
st.markdown(str(predictor.raw_outputs(st.session_state["image"]).argmax()))
"""


def test_the_export_page_shows_the_table_and_a_download(exports, monkeypatch):
    store_root, *_ = exports
    monkeypatch.setenv("DIGITLAB_STORE_DIR", str(store_root))
    app = AppTest.from_string(PAGE, default_timeout=60)
    app.session_state["export_model_name"] = REPORTED
    app.run()
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["format"]) == list(FORMAT_TITLES.values())
    app.radio(key="export_format").set_value("tflite-int8").run()
    assert not app.exception
    assert "TFLite int8" in app.get("download_button")[0].proto.label


def test_the_runtime_switch_answers_with_the_tflite_file(exports, mnist, monkeypatch):
    store_root, *_ = exports
    monkeypatch.setenv("DIGITLAB_STORE_DIR", str(store_root))
    app = AppTest.from_string(RUNTIME, default_timeout=60)
    app.session_state["image"] = mnist.x_test[0] / np.float32(255)
    app.run()
    assert [m.value for m in app.markdown] == ["NumpyPredictor", str(mnist.y_test[0])]
    app.radio(key="runtime").set_value("tflite-int8").run()
    assert not app.exception
    assert [m.value for m in app.markdown] == ["TFLitePredictor", str(mnist.y_test[0])]
