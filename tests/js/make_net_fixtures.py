"""Write tests/js/net_fixtures.json: small models as the browser gets them, inputs, and what
the numpy forward pass and `interpret` make of them, for assets/js/forward.js to be checked
against (tests/js/forward.test.mjs).

Run it again after changing digitlab/zoo/numpy_net.py or inference/browser_model.py:
    .venv/bin/python tests/js/make_net_fixtures.py
The models: every step kind (same and valid padding, batch norm, every activation, pooling
that drops a row), the shipped tiny20 (20x20 input), an ensemble of two with an abstention
threshold, and a small regression net. Real Keras files, read back by the code under test.
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from anywhere

from digitlab import store  # noqa: E402
from digitlab.data.handdrawn import writer_digits  # noqa: E402
from digitlab.data.pendigits import rasterize  # noqa: E402
from digitlab.data.preprocess import preprocess  # noqa: E402
from digitlab.inference.browser_model import pack  # noqa: E402
from digitlab.inference.ensemble import mean_probabilities  # noqa: E402
from digitlab.inference.predict import EnsembleNet, interpret  # noqa: E402
from digitlab.zoo import numpy_net  # noqa: E402
from digitlab.zoo.registry import CLASSIFICATION, REGRESSION  # noqa: E402

OUT = Path(__file__).with_name("net_fixtures.json")
TEMPERATURES = (1.0, 0.5, 3.0)
PEN_DIGITS = 5


def keras_models(folder: Path) -> dict[str, Path]:
    import keras
    from keras import layers

    keras.utils.set_random_seed(3)
    every_step = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(4, 5, padding="same", activation="tanh"),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(3),  # 28 -> 9: the last row and column are dropped
            layers.Conv2D(6, 3, use_bias=False, activation="sigmoid"),
            layers.BatchNormalization(center=False),
            layers.Activation("relu"),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(12, activation="tanh"),
            layers.Dense(10),
        ]
    )
    for norm in (every_step.layers[1], every_step.layers[5]):  # statistics of their own
        channels = norm.moving_mean.shape[0]
        norm.moving_mean.assign(np.linspace(-0.5, 0.5, channels).astype(np.float32))
        norm.moving_variance.assign(np.linspace(0.5, 2, channels).astype(np.float32))
    second = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(3, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(10),
        ]
    )
    regression = keras.Sequential(
        [keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(8, "relu"), layers.Dense(1)]
    )
    # Scaled up, so the logits are far apart enough to be sure of some inputs.
    for model, gain in ((every_step, 4.0), (second, 3.0), (regression, 20.0)):
        last = model.layers[-1]
        last.kernel.assign(last.kernel.numpy() * gain)
    paths = {}
    for name, model in (("every step", every_step), ("second", second), ("regression", regression)):
        paths[name] = folder / f"{name}.keras"
        model.save(paths[name])
    return paths


def inputs() -> list[np.ndarray]:
    """Pen digits by held-out writers, preprocessed as the server does, and a faint smear."""
    digits = writer_digits("test")
    chosen = np.random.default_rng(1).choice(len(digits), PEN_DIGITS, replace=False)
    images = [preprocess(rasterize(digits[i], 280)).image for i in sorted(chosen)]
    smear = np.zeros((28, 28), np.float32)
    smear[8:20, 6:22] = np.random.default_rng(2).random((12, 16), dtype=np.float32) * 0.4
    return [*images, smear]


def encode(array: np.ndarray) -> str:
    return base64.b64encode(np.asarray(array, "<f4").tobytes()).decode()


def expectations(net, task: str, threshold: float | None, images: list[np.ndarray], size: int):
    from digitlab.data.batch import model_batch

    rows = []
    for image in images:
        outputs = net(model_batch(image, size))[0].astype(np.float64)
        answers = []
        for temperature in TEMPERATURES:
            said = interpret(outputs, task, temperature, threshold)
            probabilities = said.probabilities
            answers.append(
                {
                    "temperature": temperature,
                    "label": said.label,
                    "abstained": said.abstained,
                    "probabilities": None if probabilities is None else probabilities.tolist(),
                }
            )
        rows.append({"outputs": np.atleast_2d(outputs).tolist(), "answers": answers})
    return rows


def main() -> None:
    images = inputs()
    fixtures = []
    with tempfile.TemporaryDirectory() as folder:
        paths = keras_models(Path(folder))
        tiny = store.shipped_run("tiny20").model_file
        cases = [
            ("every step", [paths["every step"]], CLASSIFICATION, 28, None),
            ("tiny20, shipped", [tiny], CLASSIFICATION, 20, None),
            ("ensemble of two", [paths["every step"], paths["second"]], CLASSIFICATION, 28,
             "median"),
            ("regression", [paths["regression"]], REGRESSION, 28, None),
        ]  # fmt: skip
        for name, files, task, size, threshold in cases:
            steps = [numpy_net.read_steps(path) for path in files]
            nets = [numpy_net.load(path) for path in files]
            net = nets[0] if len(nets) == 1 else EnsembleNet(nets)
            if threshold == "median":  # half the inputs abstain, half are answered
                batch = np.stack(images)[..., None]
                threshold = float(np.median(mean_probabilities(net(batch)).max(axis=-1)))
            fixtures.append(
                {
                    "name": name,
                    "model": pack(steps, task, size, threshold),
                    "cases": expectations(net, task, threshold, images, size),
                }
            )
    document = {"images": [encode(image) for image in images], "models": fixtures}
    OUT.write_text(json.dumps(document) + "\n", encoding="utf-8")
    print(f"wrote {len(fixtures)} models to {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
