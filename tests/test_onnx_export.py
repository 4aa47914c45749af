"""ONNX export: real files from Keras's exporter, answered by the real onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from digitlab import cli, store
from digitlab.analysis import export
from digitlab.analysis.onnx_export import OnnxPredictor
from digitlab.data.batch import model_batch
from digitlab.inference.metrics import model_outputs
from digitlab.inference.softmax import softmax
from digitlab.zoo.registry import DEFAULT_MODEL


def keras_outputs(entry: store.Run, images: np.ndarray) -> np.ndarray:
    """The oracle: the stored Keras model called on its own input size."""
    return model_outputs(entry.load(), model_batch(images, entry.spec.input_size))


def test_the_default_model_agrees_with_keras_on_all_of_mnist_test(tmp_path: Path, mnist):
    entry = store.shipped_run(DEFAULT_MODEL)
    path = export.write_format(entry, "onnx", tmp_path / "digitnet.onnx")
    images = mnist.x_test / np.float32(255)
    # Called as the README tells a user to call it: no DigitLab code on this side.
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["images"]
    logits, probabilities = session.run(["logits", "probabilities"], {"images": images})
    expected = keras_outputs(entry, images)
    onnx_accuracy = np.mean(logits.argmax(1) == mnist.y_test)
    keras_accuracy = np.mean(expected.argmax(1) == mnist.y_test)
    assert abs(onnx_accuracy - keras_accuracy) <= 0.0005  # 0.05 points
    assert np.mean(logits.argmax(1) == expected.argmax(1)) >= 0.999
    np.testing.assert_allclose(probabilities, softmax(expected), atol=1e-5)


def test_the_tiny_net_takes_28x28_images_and_the_cli_writes_it(tmp_path: Path, mnist, capsys):
    out = tmp_path / "tiny20.onnx"
    assert cli.main(["export", "--model", "tiny20", "--format", "onnx", "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    assert [path.name for path in tmp_path.iterdir()] == [out.name]  # no temporary left
    entry = store.shipped_run("tiny20")
    predictor = OnnxPredictor(out, entry.spec)
    images = mnist.x_test[:200] / np.float32(255)
    # The 28 -> 20 area resize inside the file is the one the Keras path gets in numpy.
    np.testing.assert_allclose(predictor.outputs(images), keras_outputs(entry, images), atol=1e-4)
    drawing = np.kron(mnist.x_test[0], np.ones((8, 8), np.uint8))  # preprocessed like a canvas
    assert predictor.predict_image(drawing).label == mnist.y_test[0]
    assert predictor.predict_image(np.zeros((200, 200), np.uint8)).abstained


def test_the_regression_net_exports_its_value(tmp_path: Path, mnist):
    entry = store.shipped_run("regression")
    path = export.write_format(entry, "onnx", tmp_path / "regression.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["value"]
    images = mnist.x_test[:200] / np.float32(255)
    (value,) = session.run(None, {"images": images})
    assert value.shape == (200,)
    np.testing.assert_allclose(value, keras_outputs(entry, images).reshape(-1), atol=1e-4)


def test_a_file_that_is_not_onnx_is_refused_before_any_work(tmp_path: Path, capsys):
    assert cli.main(["export", "--format", "onnx", "--out", str(tmp_path / "m.pb")]) == 2
    assert "must end in .onnx" in capsys.readouterr().err
    with pytest.raises(export.ExportError, match="does not exist"):
        export.check_target("onnx", tmp_path / "missing" / "m.onnx")
