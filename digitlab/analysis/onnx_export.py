"""ONNX: a stored model written with Keras's own exporter, and answered with ONNX Runtime.

Every ONNX file DigitLab writes is called the same way, whatever the model: one input,
`images`, float32 (N, 28, 28) in [0, 1] (what the SavedModel's signature takes), and for a
classifier or an ensemble the outputs `logits` and `probabilities` (N, 10), for the
regression net `value` (N,). The tiny net's 28 -> 20 area resize is inside the file, as a
product with the same fixed weights as `downscale_to_20`, so a caller (a browser among
them) never needs to know a model's input size.

`keras.Model.export(format="onnx")` converts through tf2onnx; tf2onnx's own
`convert.from_keras` does not understand Keras 3 models, hence Keras's route.
"""

from __future__ import annotations

import sys
import threading
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np

from digitlab.data.batch import AREA_28_TO_20, SMALL_INPUT
from digitlab.inference.predict import Predictor
from digitlab.zoo.registry import CLASSIFICATION, ModelSpec

INPUT_NAME = "images"
OPSET = 17  # ONNX Runtime 1.17+ and onnxruntime-web run it; new enough for every op here


def output_name(spec: ModelSpec) -> str:
    """The output that holds a model's raw answer: logits, or the regression value."""
    return "logits" if spec.task == CLASSIFICATION else "value"


def _wrapped(model, spec: ModelSpec):
    """A Keras model from (N, 28, 28) images to named outputs, around a stored model."""
    import keras

    class AreaTo20(keras.layers.Layer):
        """28x28 -> 20x20 by area: rows then columns, W @ image @ W.T. (A layer: a constant
        in a plain functional op would become a second input of the exported graph.)"""

        def call(self, images):
            weights = keras.ops.convert_to_tensor(AREA_28_TO_20)
            return keras.ops.einsum("ij,njk,lk->nil", weights, images, weights)

    images = keras.Input((28, 28), name=INPUT_NAME)
    inputs = AreaTo20()(images) if spec.input_size == SMALL_INPUT else images
    inputs = keras.layers.Reshape((spec.input_size, spec.input_size, 1))(inputs)
    raw = model(inputs)
    if spec.task == CLASSIFICATION:
        outputs = {"logits": raw, "probabilities": keras.layers.Softmax()(raw)}
    else:
        outputs = {"value": keras.layers.Reshape(())(raw)}
    wrapper = keras.Model(images, outputs, name=f"{model.name}_onnx")
    wrapper(np.zeros((1, 28, 28), np.float32))  # Keras exports only a model it has called
    return wrapper


def write_onnx(model, spec: ModelSpec, out: Path) -> None:
    """Write the ONNX file of a loaded Keras model to `out` (a caller makes it atomic)."""
    import tensorflow as tf

    signature = [tf.TensorSpec([None, 28, 28], tf.float32, name=INPUT_NAME)]
    with redirect_stdout(sys.stderr):  # the converter prints; stdout may carry --json
        _wrapped(model, spec).export(
            str(out), format="onnx", input_signature=signature, opset_version=OPSET, verbose=False
        )


class OnnxPredictor(Predictor):
    """Predictor's interface (`spec`, `raw_outputs`, `predict_image`) on an ONNX file."""

    def __init__(
        self, path: Path, spec: ModelSpec, threads: int = 1, abstain_below: float | None = None
    ) -> None:
        import onnxruntime

        self.spec = spec
        self.abstain_below = abstain_below
        self.path = Path(path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # like TFLite's: one image needs no more
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )
        self._output = output_name(spec)
        self._lock = threading.Lock()  # Streamlit sessions share one; cheap insurance
        self.raw_outputs(np.zeros((28, 28), np.float32))

    def outputs(self, images28: np.ndarray) -> np.ndarray:
        """Raw outputs (N, 10), or (N, 1) for the regression value, of (N, 28, 28) images."""
        images = np.ascontiguousarray(images28, np.float32)
        with self._lock:
            (raw,) = self._session.run([self._output], {INPUT_NAME: images})
        return raw.reshape(len(images), -1).astype(np.float64)

    def raw_outputs(self, image28: np.ndarray) -> np.ndarray:
        """Logits (or the regression value) for one preprocessed 28x28 image in [0, 1]."""
        return self.outputs(np.asarray(image28, np.float32)[None])[0]
