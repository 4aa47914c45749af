"""Architecture specs (digitlab.zoo.arch): every zoo network as a spec that builds what the
zoo built, the plain-Python summary against Keras, every refusal before any model is built,
the residual shortcut, and the tutorial presets' exact layers and settings."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from digitlab.store.run import SHIPPED_DIR
from digitlab.zoo import arch, builders, keras_file
from digitlab.zoo.config import ConfigError, TrainConfig, presets, recipe
from digitlab.zoo.networks import ZOO_SPECS, zoo_spec
from digitlab.zoo.registry import CLASSIFICATION, REGRESSION, ZOO
from digitlab.zoo.tutorials import preset_help, tutorials


def _spec(*layers, size=28):
    return {"input": [size, size, 1], "layers": list(layers)}


FLAT, OUT = {"type": "Flatten"}, {"type": "Dense", "units": 10}


def _keras_summary(model: keras.Model) -> list[tuple[str, tuple]]:
    return [
        (type(layer).__name__, tuple(layer.output.shape[1:]))
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]


@pytest.mark.parametrize("name", list(ZOO))
def test_every_zoo_spec_builds_the_shipped_models_layers_and_parameters(name):
    # The oracle: the shipped .keras file, built by the zoo's builders before they were specs.
    _, saved = keras_file.read(SHIPPED_DIR / name / "model.keras")
    model = builders.build_arch(ZOO_SPECS[name], name)
    assert [type(layer).__name__ for layer in model.layers] == [layer.kind for layer in saved]
    saved_params = sum(int(np.prod(w.shape)) for layer in saved for w in layer.weights)
    assert model.count_params() == saved_params
    assert builders.build_model(name).count_params() == saved_params
    assert arch.check(ZOO_SPECS[name]).dropout_rate == ZOO[name].default_dropout


@pytest.mark.parametrize(("model", "preset"), [*tutorials(), *((name, "default") for name in ZOO)])
def test_the_plain_python_summary_agrees_with_keras(model, preset):
    network = arch.check(recipe(model, preset).network())
    built = builders.build_arch(network)
    assert built.count_params() == network.params
    rows = [(row.kind, row.output_shape) for row in network.rows() if row.kind != arch.RESIDUAL]
    keras_rows = [(kind, shape) for kind, shape in _keras_summary(built) if kind != "Add"]
    if not network.has_residual:
        assert rows == keras_rows
    assert {shape for _, shape in keras_rows} >= {shape for _, shape in rows}


def test_params_and_flops_by_hand():
    network = arch.check(
        _spec({"type": "Conv2D", "filters": 8, "kernel_size": 3, "activation": "relu"}, FLAT, OUT)
    )
    conv, flatten, dense = network.rows()
    assert (conv.output_shape, conv.params) == ((26, 26, 8), 3 * 3 * 8 + 8)
    # 2 FLOPs a multiply-add, then the bias and the ReLU once per output value
    assert conv.flops == 2 * 9 * 26 * 26 * 8 + 2 * 26 * 26 * 8
    assert (flatten.output_shape, dense.params, dense.flops) == ((5408,), 54090, 2 * 54080 + 10)
    assert (network.params, network.flops) == (80 + 54090, conv.flops + dense.flops)
    assert network.task == CLASSIFICATION


def test_width_and_dropout_scale_a_spec_as_they_scale_the_zoo():
    wide = zoo_spec("mlp", dropout=0.3, width=2.0)["layers"]
    assert [layer.get("units") for layer in wide] == [None, 512, None, 256, 10]
    assert wide[2]["rate"] == 0.3


CONV = {"type": "Conv2D", "filters": 4, "kernel_size": 3}
REFUSALS = {
    "unknown type": (_spec({"type": "Conv3D"}, FLAT, OUT), "1", "unknown layer type"),
    "Lambda": (_spec({"type": "Lambda", "function": "lambda x: x"}, FLAT, OUT), "1", "unknown"),
    "code in a string": (
        _spec(FLAT, {"type": "Dense", "units": 10, "activation": "__import__('os')"}),
        "2",
        "activation must be one of",
    ),
    "key not listed": (_spec({**CONV, "dilation_rate": 2}, FLAT, OUT), "1", "'dilation_rate'"),
    "string for a number": (_spec({**CONV, "filters": "4"}, FLAT, OUT), "1", "whole number"),
    "Conv2D after Flatten": (_spec(FLAT, CONV, OUT), "2", "put it before Flatten"),
    "pooling below 1x1": (
        _spec({"type": "MaxPooling2D", "pool_size": 28}, {"type": "MaxPooling2D"}, FLAT, OUT),
        "2",
        "below 1x1",
    ),
    "zero units": (_spec(FLAT, {"type": "Dense", "units": 0}, OUT), "2", "between 1 and"),
    "residual changes shape": (
        _spec({"type": "Residual", "layers": [CONV]}, FLAT, OUT),
        "1",
        "must keep the shape",
    ),
    "missing last layer": (_spec(CONV, FLAT), "2", "last layer must be Dense"),
    "wrong last layer": (_spec(FLAT, {"type": "Dense", "units": 7}), "2", "10 units"),
    "softmax last layer": (
        _spec(FLAT, {"type": "Dense", "units": 10, "activation": "sigmoid"}),
        "2",
        "linear",
    ),
    "inner layer": (
        _spec({"type": "Residual", "layers": [{"type": "Dense", "units": 3}]}, FLAT, OUT),
        "1.1",
        "flat vector",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_names_the_layer_and_builds_nothing(case, monkeypatch):
    spec, position, reason = REFUSALS[case]
    with pytest.raises(arch.ArchError) as refused:
        arch.check(spec)
    assert refused.value.position == position and reason in str(refused.value)
    assert str(refused.value).startswith(f"layer {position} (")
    monkeypatch.setattr(builders.keras, "Input", lambda *a, **k: pytest.fail("built a model"))
    with pytest.raises(arch.ArchError):
        builders.build_arch(spec)


def test_whole_spec_refusals():
    for spec in (None, {"layers": []}, {"input": [32, 32, 3], "layers": [FLAT, OUT]}, {"x": 1}):
        with pytest.raises(arch.ArchError):
            arch.check(spec)
    with pytest.raises(arch.ArchError, match="not valid JSON"):
        arch.loads("{'input': None")


def test_a_residual_block_adds_its_shortcut():
    same = {"type": "Conv2D", "filters": 1, "kernel_size": 3, "padding": "same"}
    model = builders.build_arch(_spec({"type": "Residual", "layers": [same]}, FLAT, OUT))
    conv, add = model.layers[1], model.layers[2]
    assert isinstance(add, keras.layers.Add)
    x = np.random.default_rng(0).random((2, 28, 28, 1), np.float32)
    block = keras.Model(model.inputs[0], add.output)
    np.testing.assert_allclose(block(x), x + conv(x), rtol=1e-5, atol=1e-6)


def test_a_residual_block_that_changes_channels_gets_a_1x1_convolution():
    more = {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"}
    network = arch.check(_spec({"type": "Residual", "layers": [more]}, FLAT, OUT))
    assert network.layers[0].projects and network.rows()[1].params == 1 * 4 + 4
    model = builders.build_arch(network)
    kernels = [
        layer.kernel_size for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
    ]
    assert (1, 1) in kernels and model.count_params() == network.params


def test_a_custom_config_holds_its_spec_and_knows_its_task():
    spec = _spec(FLAT, {"type": "Dense", "units": 1}, size=20)
    config = TrainConfig(model="custom", arch=arch.dumps(spec))
    assert (config.model_spec.task, config.model_spec.input_size) == (REGRESSION, 20)
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert config.key() != TrainConfig(model="custom", arch=arch.dumps(_spec(FLAT, OUT))).key()
    assert TrainConfig(model="tiny20").key() == TrainConfig(model="tiny20", arch="").key()
    with pytest.raises(ConfigError, match="architecture spec"):
        TrainConfig(model="custom")
    with pytest.raises(ConfigError, match="architecture spec"):
        TrainConfig(model="tiny20", arch=arch.dumps(spec))
    with pytest.raises(ConfigError, match=r"layer 2 \(Dense\)"):
        TrainConfig(model="custom", arch=arch.dumps(_spec(FLAT, {"type": "Dense", "units": 3})))
    with pytest.raises(ConfigError, match="not_digits"):
        config.replace(not_digits=True)


# Each tutorial preset's exact layer list: (type, units or filters, activation) per layer.
EXPECTED_LAYERS = {
    ("custom", "cnn_regression"): "Conv2D 32 relu, MaxPooling2D, Conv2D 64 relu, MaxPooling2D, "
    "Flatten, Dense 64 relu, Dense 1",
    ("custom", "tiny20_50_20"): "Flatten, Dense 50 relu, Dense 20 relu, Dense 10",
    ("custom", "tiny20_dropout"): "Flatten, Dense 50 relu, Dropout, Dense 20 relu, Dropout, "
    "Dense 10",
    ("custom", "residual_cnn"): "Conv2D 32, BatchNormalization, Activation relu, Conv2D 32, "
    "BatchNormalization, Activation relu, Conv2D 32, BatchNormalization, Residual relu, "
    "MaxPooling2D, Conv2D 64, BatchNormalization, Activation relu, Conv2D 64, "
    "BatchNormalization, Residual relu, MaxPooling2D, GlobalAveragePooling2D, Dense 10",
    ("mlp_small", "tutorial"): "Flatten, Dense 128 relu, Dropout, Dense 10",
    ("tiny20", "tutorial"): "Flatten, Dense 25 relu, Dense 15 relu, Dense 10",
}
EXPECTED_SETTINGS = {
    ("custom", "cnn_regression"): (5, 32, 1e-3, "adam"),
    ("custom", "tiny20_50_20"): (40, 32, 1e-3, "adam"),
    ("custom", "tiny20_dropout"): (40, 32, 1e-3, "adam"),
    ("custom", "residual_cnn"): (5, 128, 1e-3, "adam"),
    ("mlp_small", "tutorial"): (5, 32, 1e-3, "adam"),
    ("tiny20", "tutorial"): (40, 32, 1e-3, "adam"),
}


def _described(network: arch.Architecture) -> str:
    words = []
    for row in network.rows():
        layer = next(layer for layer in arch.walk(network.layers) if layer.position == row.position)
        size = layer.args.get("units", layer.args.get("filters", ""))
        activation = layer.args.get("activation", "")
        words.append(" ".join(str(part) for part in (row.kind, size, activation) if part))
    return ", ".join(words)


@pytest.mark.parametrize("key", list(tutorials()))
def test_each_tutorial_preset_is_its_tutorials_exact_network_and_settings(key):
    assert set(tutorials()) == set(EXPECTED_LAYERS)
    config = recipe(*key)
    assert _described(arch.check(config.network())) == EXPECTED_LAYERS[key]
    settings = (config.epochs, config.batch_size, config.learning_rate, config.optimizer)
    assert settings == EXPECTED_SETTINGS[key] and config.validation_split == 0.0
    assert "tutorial" in preset_help(*key) and "DigitLab" in preset_help(*key)


@pytest.mark.parametrize("model", ["mlp", "cnn", "cnn_small", "cnn_bn", "regression"])
def test_zoo_models_whose_tutorial_is_unknown_have_no_tutorial_preset(model):
    # Their tutorials' settings were not recorded (README, "Zoo models without a tutorial
    # preset"): a preset would be a guess. Add one with its source, and update the README.
    assert "tutorial" not in presets(model) and preset_help(model, "tutorial") == ""
