"""Keras models from architecture specs (digitlab.zoo.arch): the zoo's (their specs are in
digitlab.zoo.networks), a custom run's, and an ensemble of trained runs.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from digitlab.zoo import arch
from digitlab.zoo.arch import Architecture
from digitlab.zoo.config import TrainConfig
from digitlab.zoo.networks import zoo_spec


def build_arch(spec: dict[str, Any] | Architecture, name: str = "custom") -> keras.Model:
    """A fresh, untrained Keras model of an architecture spec (checked first: ArchError).

    A plain stack is a Sequential model (numpy can then answer drawings with it); one with a
    residual block is a functional model, each block adding its shortcut to its layers."""
    architecture = spec if isinstance(spec, Architecture) else arch.check(spec)
    inputs = keras.Input(architecture.input_shape)
    if not architecture.has_residual:
        return keras.Sequential([inputs, *map(_keras_layer, architecture.layers)], name=name)
    outputs = inputs
    for layer in architecture.layers:
        outputs = _apply(layer, outputs)
    return keras.Model(inputs, outputs, name=name)


def _keras_layer(layer: arch.Layer) -> layers.Layer:
    # The type is one of arch.ARGUMENTS, a Keras layer class, and its arguments were checked.
    return getattr(layers, layer.kind)(**layer.args)


def _apply(layer: arch.Layer, inputs):
    if layer.kind != arch.RESIDUAL:
        return _keras_layer(layer)(inputs)
    outputs = inputs
    for inner in layer.inner:
        outputs = _apply(inner, outputs)
    shortcut = inputs
    if layer.projects:  # the block changes the channels: a 1x1 convolution matches them
        shortcut = layers.Conv2D(layer.output_shape[-1], 1)(inputs)
    added = layers.Add()([shortcut, outputs])
    activation = layer.args.get("activation", "linear")
    return added if activation == "linear" else layers.Activation(activation)(added)


def build_model(
    name: str, dropout: float | None = None, l2: float = 0.0, width: float = 1.0
) -> keras.Model:
    """A fresh, untrained model of a zoo architecture (dropout None = its default rate),
    with L2 weight decay `l2` on every Conv2D and Dense kernel and every hidden layer's
    units and filters multiplied by `width`."""
    return _with_l2(build_arch(zoo_spec(name, dropout, width), name), l2)


def build_for(config: TrainConfig) -> keras.Model:
    """A fresh, untrained model of what a training config names: a zoo model or its own
    architecture spec, at its width, dropout and L2."""
    return _with_l2(build_arch(config.network(), config.model), config.l2)


def _with_l2(model: keras.Model, l2: float) -> keras.Model:
    if l2:
        for layer in model.layers:
            if isinstance(layer, (layers.Conv2D, layers.Dense)):
                # The kernels exist already (the model is built): give them the penalty.
                layer.kernel_regularizer = keras.regularizers.L2(l2)
                layer.kernel.regularizer = layer.kernel_regularizer
    return model


@keras.saving.register_keras_serializable(package="digitlab")
class MeanProbability(layers.Layer):
    """Members' logits (N, members, 10) -> log of their mean softmax probability (N, 10).

    The log makes the output logits again: its softmax at temperature 1 is exactly the
    mean of the members' probabilities, so everything that reads logits (evaluation,
    export, the API) reads an ensemble unchanged. Registered, so safe-mode loading finds it.
    """

    def call(self, member_logits):
        probabilities = keras.ops.softmax(member_logits, axis=-1)
        return keras.ops.log(keras.ops.mean(probabilities, axis=1))


def build_ensemble(members: list[keras.Model]) -> keras.Model:
    """One Keras model that answers with the mean probability of trained 28x28 classifiers."""
    inputs = keras.Input((28, 28, 1))
    stacked = layers.Concatenate(axis=1)(
        [
            layers.Reshape((1, 10), name=f"member_{i}_logits")(m(inputs))
            for i, m in enumerate(members)
        ]
    )
    return keras.Model(inputs, MeanProbability(name="mean_probability")(stacked), name="ensemble")
