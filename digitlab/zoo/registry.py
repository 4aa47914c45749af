"""The zoo's registry: every architecture by name, with what the rest of DigitLab needs to know.

Imports no Keras, so listing models, checking a config or reading the store stays fast;
the Keras builders live in `digitlab.zoo.builders`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclass(frozen=True)
class ModelSpec:
    """One zoo entry: its name, where it comes from and the shape of its input and output."""

    name: str
    title: str  # short human name for menus
    source: str  # the tutorial it comes from
    input_size: int = 28  # 28 for MNIST frames, 20 for the tiny net
    task: str = CLASSIFICATION
    default_dropout: float | None = None  # its dropout rate; None: it has no dropout layer

    @property
    def has_dropout(self) -> bool:
        """Whether the dropout setting applies to it."""
        return self.default_dropout is not None


ZOO: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("digitnet", "DigitNet (DigitLab's best)", "DigitLab", default_dropout=0.0),
        ModelSpec("mlp", "MLP 256-128", "MLP tutorial", default_dropout=0.5),
        ModelSpec("mlp_small", "MLP 128", "TF 2.x quickstart", default_dropout=0.2),
        ModelSpec("cnn", "CNN 32-64-64", "CNN tutorial"),
        ModelSpec("cnn_small", "CNN 32-64", "TF 2.1 tutorial"),
        ModelSpec("cnn_bn", "CNN 32-64 + batch norm", "TF 2.1 tutorial"),
        ModelSpec(
            "regression",
            "Regression MLP",
            "regression tutorial",
            task=REGRESSION,
            default_dropout=0.2,
        ),
        ModelSpec("tiny20", "Tiny 400-25-15-10 (20x20)", "multi-class tutorial", input_size=20),
    )
}
DEFAULT_MODEL = "digitnet"

# Not an architecture one trains but a mean of 2 to 5 trained runs (inference/ensemble.py);
# its runs are made on the Runs page or with `python -m digitlab ensemble`, never trained.
ENSEMBLE = "ensemble"
ENSEMBLE_SPEC = ModelSpec(ENSEMBLE, "Ensemble (the mean of 2-5 runs)", "DigitLab")
# A network built from its own architecture spec (digitlab.zoo.arch), stored in its run's
# config: its input size and task come from the spec (TrainConfig.model_spec), not from here.
CUSTOM = "custom"
CUSTOM_SPEC = ModelSpec(CUSTOM, "Custom network (your own spec)", "your own")
# Every model a page or command can answer with: the zoo, then ensembles and custom networks.
ANSWERING = {**ZOO, ENSEMBLE: ENSEMBLE_SPEC, CUSTOM: CUSTOM_SPEC}


def get_spec(name: str) -> ModelSpec:
    try:
        return ANSWERING[name]
    except KeyError:
        raise KeyError(f"Unknown model {name!r}; choose one of {', '.join(ZOO)}.") from None


def regression_digit(values: np.ndarray | float) -> np.ndarray:
    """A regression model's number(s) rounded to the nearest digit 0..9."""
    return np.clip(np.rint(np.asarray(values, dtype=np.float64)), 0, 9).astype(np.int64)


def labels_from_outputs(outputs: np.ndarray, task: str) -> np.ndarray:
    """The predicted digit of each row of raw outputs (logits, or one regression value)."""
    outputs = np.asarray(outputs)
    if task == CLASSIFICATION:
        return outputs.argmax(axis=-1).astype(np.int64)
    return regression_digit(outputs.reshape(len(outputs), -1)[:, 0])
