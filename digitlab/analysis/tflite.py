"""Answering with an exported TFLite file: the runtime switch on the Draw page, the Export
page's measurements and the tests all call it through `TFLitePredictor`."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import numpy as np

from digitlab.data.batch import model_batch
from digitlab.inference.predict import Predictor
from digitlab.zoo.registry import ModelSpec


def _interpreter(path: Path, threads: int):
    """A TFLite interpreter: LiteRT's when installed, else TensorFlow's (deprecated, works)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter  # noqa: N806 - a class
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*tf.lite.Interpreter is deprecated", UserWarning)
        return Interpreter(model_path=str(path), num_threads=threads)


class TFLitePredictor(Predictor):
    """Predictor's interface (`spec`, `raw_outputs`, `predict_image`) on a TFLite file."""

    def __init__(
        self, path: Path, spec: ModelSpec, threads: int = 1, abstain_below: float | None = None
    ) -> None:
        self.spec = spec
        self.abstain_below = abstain_below  # the run's abstention threshold (abstention.py)
        self.path = Path(path)
        self._interpreter = _interpreter(self.path, threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._lock = threading.Lock()  # one interpreter, many Streamlit sessions
        self._batch = 0
        self.raw_outputs(np.zeros((28, 28), np.float32))

    def outputs(self, batch: np.ndarray) -> np.ndarray:
        """Raw outputs for a batch (N, size, size, 1) in the model's own input size."""
        batch = np.ascontiguousarray(batch, np.float32)
        with self._lock:
            if len(batch) != self._batch:  # resizing reallocates: only when N changes
                size = [len(batch), *batch.shape[1:]]
                self._interpreter.resize_tensor_input(self._input, size)
                self._interpreter.allocate_tensors()
                self._batch = len(batch)
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output).astype(np.float64)

    def raw_outputs(self, image28: np.ndarray) -> np.ndarray:
        """Logits (or the regression value) for one preprocessed 28x28 image in [0, 1]."""
        return self.outputs(model_batch(image28, self.spec.input_size))[0]
