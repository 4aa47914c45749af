"""TensorBoard logs of a training run: scalars per batch and per epoch, and a histogram of
every layer's weights after every epoch.

The folder comes from `store.new_logs_dir` and moves into the run's folder when the run is
stored (`store.save_run(logs=...)`); `digitlab.analysis.weights` reads the files back.
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

# Per-batch scalars go to TensorBoard every this many batches. Every batch cost about 3 ms
# (two eager summary writes) against ~12 ms for an MLP batch on this 2-core CPU, over 20%
# of its training time; every 10th costs ~2%, and 10 points an epoch still draw the curve.
BATCH_LOG_EVERY = 10


class BatchScalars(keras.callbacks.Callback):
    """Loss and metrics of every `every`-th batch, on one step axis for the whole run.

    Keras's TensorBoard callback can log batches too, but it restarts its count at every
    `fit` (a run may fit twice: augmented epochs, then clean ones) and pays a summary op
    on every batch, logged or not.
    """

    def __init__(self, folder: Path, every: int = BATCH_LOG_EVERY) -> None:
        super().__init__()
        self.folder, self.every = str(folder), every
        self.logged_at = 0  # the step last logged
        self.writer = None

    def on_train_begin(self, logs=None) -> None:
        self.writer = tf.summary.create_file_writer(self.folder)

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        # The optimizer's step count: batches trained across fits, right also when Keras
        # calls back once per `steps_per_execution` batches.
        step = int(self.model.optimizer.iterations)
        if step - self.logged_at < self.every or self.writer is None:
            return
        self.logged_at = step
        with self.writer.as_default(step=step):
            for name, value in (logs or {}).items():
                tf.summary.scalar(f"batch_{name}", float(value))

    def on_train_end(self, logs=None) -> None:
        if self.writer is not None:
            self.writer.close()  # complete on disk before the folder moves into the run
            self.writer = None


def callbacks(folder: Path) -> list[keras.callbacks.Callback]:
    """What `fit` adds to write a run's logs into `folder` (train/ and validation/)."""
    return [
        # Epoch scalars and weight histograms; no graph (it costs a trace and shows nothing
        # the zoo's plain layer lists don't).
        keras.callbacks.TensorBoard(
            str(folder), histogram_freq=1, update_freq="epoch", write_graph=False
        ),
        BatchScalars(folder / "train"),
    ]
