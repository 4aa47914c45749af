"""Every builder of the zoo: output shape and parameter count against hand-worked sums."""

import numpy as np
import pytest

from digitlab.zoo.builders import build_model
from digitlab.zoo.registry import REGRESSION, ZOO


def dense(inputs: int, units: int) -> int:
    return inputs * units + units


def conv(in_channels: int, filters: int, kernel: int = 3, bias: bool = True) -> int:
    return kernel * kernel * in_channels * filters + (filters if bias else 0)


def batch_norm(channels: int) -> int:
    return 4 * channels  # gamma, beta, moving mean, moving variance


# Worked out from each architecture's layer list, independently of Keras.
EXPECTED_PARAMETERS = {
    "mlp": dense(784, 256) + dense(256, 128) + dense(128, 10),
    "mlp_small": dense(784, 128) + dense(128, 10),
    # 28 -conv-> 26 -pool-> 13 -conv-> 11 -pool-> 5 -conv-> 3: 3*3*64 features
    "cnn": conv(1, 32) + conv(32, 64) + conv(64, 64) + dense(3 * 3 * 64, 128) + dense(128, 10),
    # 28 -> 26 -> 13 -> 11 -> 5: 5*5*64 features
    "cnn_small": conv(1, 32) + conv(32, 64) + dense(5 * 5 * 64, 64) + dense(64, 10),
    "cnn_bn": conv(1, 32, bias=False)
    + batch_norm(32)
    + conv(32, 64, bias=False)
    + batch_norm(64)
    + dense(5 * 5 * 64, 64)
    + dense(64, 10),
    "regression": dense(784, 128) + dense(128, 64) + dense(64, 1),
    "tiny20": dense(400, 25) + dense(25, 15) + dense(15, 10),
    "digitnet": conv(1, 16, 5) + conv(16, 32) + dense(5 * 5 * 32, 256) + dense(256, 10),
}


@pytest.mark.parametrize("name", list(ZOO))
def test_builder_shape_and_parameter_count(name):
    spec = ZOO[name]
    model = build_model(spec.name)
    size = spec.input_size
    outputs = np.asarray(model(np.zeros((2, size, size, 1), np.float32), training=False))
    assert outputs.shape == (2, 1 if spec.task == REGRESSION else 10)
    assert model.count_params() == EXPECTED_PARAMETERS[name]


def test_the_tiny_network_is_400_25_15_10():
    widths = [layer.units for layer in build_model("tiny20").layers if hasattr(layer, "units")]
    assert widths == [25, 15, 10]
