"""Every training knob reaches Keras: optimizers and their parameters, clipping, schedules,
L2, the Huber delta, reduce-on-plateau, and keeping the best epoch. And every knob is listed
once, and offered by both the `train` command and the sidebar's Retrain form."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import keras
import numpy as np
import pytest

from digitlab.cli import build_parser
from digitlab.cli.train import knob_values
from digitlab.data import mnist as data
from digitlab.inference.metrics import classification_metrics, model_outputs
from digitlab.training.compile import compile_model, make_learning_rate, make_optimizer
from digitlab.training.progress import KeepBestEpoch
from digitlab.training.train import _callbacks, train_model
from digitlab.ui.retrain import WIDGETS
from digitlab.ui.state import TRAIN_FORM_KEYS
from digitlab.zoo.builders import build_model
from digitlab.zoo.config import AUGMENT_STRENGTHS, ConfigError, TrainConfig
from digitlab.zoo.knobs import AUGMENTATION, CLI, FORM, KNOBS, MORE, NOT_KNOBS, Knob

from helpers import cli, new_app


def config(**changes) -> TrainConfig:
    return TrainConfig(model="mlp_small", **changes)


def test_each_optimizer_with_its_parameters():
    sgd = make_optimizer(config(optimizer="sgd", momentum=0.8, nesterov=True), 100)
    assert isinstance(sgd, keras.optimizers.SGD)
    assert sgd.momentum == pytest.approx(0.8) and sgd.nesterov is True
    assert isinstance(make_optimizer(config(optimizer="adagrad"), 100), keras.optimizers.Adagrad)
    assert isinstance(make_optimizer(config(optimizer="rmsprop"), 100), keras.optimizers.RMSprop)
    adam = make_optimizer(config(beta_1=0.7, beta_2=0.9), 100)
    assert (adam.beta_1, adam.beta_2) == (pytest.approx(0.7), pytest.approx(0.9))


def test_gradient_clipping_by_norm_or_value():
    assert make_optimizer(config(clip_norm=1.5), 100).clipnorm == pytest.approx(1.5)
    assert make_optimizer(config(clip_value=0.5), 100).clipvalue == pytest.approx(0.5)
    plain = make_optimizer(config(), 100)
    assert plain.clipnorm is None and plain.clipvalue is None
    with pytest.raises(ConfigError, match="not both"):
        config(clip_norm=1.0, clip_value=1.0)


def _rate_at(chosen: TrainConfig, step: int, steps_per_epoch: int = 10) -> float:
    """The learning rate _optimizer gives the optimizer, at one step of 100."""
    rate = make_learning_rate(chosen, 100, steps_per_epoch)
    return float(rate(step)) if callable(rate) else float(rate)


def test_the_schedules_learning_rate_at_chosen_steps():
    step = config(schedule="step", learning_rate=0.1, step_epochs=2, step_factor=0.5)
    assert _rate_at(step, 0) == pytest.approx(0.1)
    assert _rate_at(step, 19) == pytest.approx(0.1)  # flat within a step (10 steps an epoch)
    assert _rate_at(step, 20) == pytest.approx(0.05)  # halved after 2 epochs
    assert _rate_at(step, 45) == pytest.approx(0.025)
    cosine = config(schedule="cosine", learning_rate=0.1)
    assert _rate_at(cosine, 0) == pytest.approx(0.1)
    assert _rate_at(cosine, 50) == pytest.approx(0.05, rel=1e-3)
    onecycle = config(schedule="onecycle", learning_rate=0.1)
    assert _rate_at(onecycle, 0) == pytest.approx(0.1 / 25)
    assert _rate_at(onecycle, 25) == pytest.approx(0.1)  # the peak, after the warm-up
    assert _rate_at(onecycle, 100) == pytest.approx(0.1 / 1e4, rel=1e-2)
    assert _rate_at(config(learning_rate=0.02), 50) == pytest.approx(0.02)
    # And the optimizer gets exactly that schedule.
    optimizer = make_optimizer(step, 100, 10)
    assert optimizer.get_config()["learning_rate"]["config"]["decay_steps"] == 20


def test_l2_weight_decay_adds_its_penalty_to_the_loss():
    model = build_model("mlp_small", l2=0.01)
    model(np.zeros((1, 28, 28, 1), np.float32))
    kernels = [layer.kernel for layer in model.layers if hasattr(layer, "kernel")]
    expected = 0.01 * sum(float(np.sum(np.square(k.numpy()))) for k in kernels)
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)
    assert not build_model("mlp_small").losses


def test_the_huber_delta_and_the_plateau_settings():
    model = build_model("regression")
    compile_model(model, TrainConfig(model="regression", loss="huber", huber_delta=2.5), 10)
    # Keras keeps the delta among the loss function's arguments (not in its config).
    assert model.loss._fn_kwargs["delta"] == pytest.approx(2.5)
    plateau = config(
        reduce_lr_on_plateau=True, plateau_factor=0.3, plateau_patience=4, plateau_min_lr=1e-5
    )
    reduce = next(
        c for c in _callbacks(plateau, None) if isinstance(c, keras.callbacks.ReduceLROnPlateau)
    )
    assert (reduce.factor, reduce.patience, reduce.min_lr) == (
        pytest.approx(0.3),
        4,
        pytest.approx(1e-5),
    )
    assert any(isinstance(c, KeepBestEpoch) for c in _callbacks(config(keep_best=True), None))


def test_keeping_the_best_epoch_stores_its_weights(mnist):
    # A learning rate high enough that validation loss wanders: the last epoch isn't the best.
    chosen = config(
        epochs=4, train_samples=600, learning_rate=0.05, keep_best=True, validation_split=0.2
    )
    trained = train_model(chosen)
    val_losses = trained.history["val_loss"]
    assert trained.metrics["best_epoch"] == int(np.argmin(val_losses)) + 1
    split = data.prepare_split(28, chosen.train_samples, chosen.validation_split, chosen.seed)
    held_out = classification_metrics(model_outputs(trained.model, split.x_val), split.y_val)
    assert held_out["loss"] == pytest.approx(min(val_losses), rel=2e-3)


def test_every_knob_is_a_train_flag_with_its_range(private_store):
    helped = cli("train", "--help", store=private_store)
    for flag in (
        "--momentum",
        "--nesterov",
        "--l2",
        "--clip-norm",
        "--clip-value",
        "--label-smoothing",
        "--huber-delta",
        "--step-epochs",
        "--step-factor",
        "--plateau-factor",
        "--plateau-patience",
        "--plateau-min-lr",
        "--keep-best",
        "--pen-digits",
        "--not-digits",
        "--beta-1",
        "--clean-epochs",
        "--labels",
    ):
        assert flag in helped.stdout, flag
    done = cli("train", "--model", "mlp_small", "--l2", "5", store=private_store)
    assert done.returncode != 0
    assert "l2 must be between 0 and 0.1" in done.stdout + done.stderr


def test_width_scales_every_hidden_layer_and_leaves_older_cache_keys_alone():
    def sizes(model):
        return [getattr(layer, "units", getattr(layer, "filters", None)) for layer in model.layers]

    as_designed, doubled = build_model("cnn_small"), build_model("cnn_small", width=2.0)
    assert sizes(as_designed) == [32, None, 64, None, None, 64, 10]
    assert sizes(doubled) == [64, None, 128, None, None, 128, 10]  # the output stays 10
    assert [s for s in sizes(build_model("tiny20", width=0.5)) if s] == [12, 8, 10]

    # A run stored before the width existed hashed every other field: its key is unchanged.
    # the fields added since runs were first stored
    older = {
        "width",
        "fine_tune",
        "arch",
        "labels",
        "pen_styles",
        "pen_devices",
        *AUGMENT_STRENGTHS,
    }
    before_width = {k: v for k, v in config().to_dict().items() if k not in older}
    canonical = json.dumps(before_width, sort_keys=True, separators=(",", ":"))
    assert config().key() == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    assert config(width=2.0).key() != config().key()
    with pytest.raises(ConfigError, match="width must be between 0.25 and 4"):
        config(width=8.0)


def test_a_search_can_sample_widths():
    import optuna

    from digitlab.training.search_space import SearchSettings, SearchSpace, sample

    settings = SearchSettings(config(), SearchSpace(widths=(0.5, 2.0)), trials=3)
    assert "width" in settings.searched
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    chosen = [sample(study.ask(), settings)["width"] for _ in range(6)]
    assert set(chosen) <= {0.5, 2.0} and len(set(chosen)) == 2


# --- one list of knobs, offered everywhere ---------------------------------------------------


def test_every_field_a_user_may_set_is_exactly_one_knob():
    fields = [field.name for field in dataclasses.fields(TrainConfig)]
    assert set(NOT_KNOBS) <= set(fields)
    knobs = [knob.field for knob in KNOBS]
    assert sorted(knobs) == sorted(set(fields) - set(NOT_KNOBS))  # each once, none extra
    flags = [knob.option for knob in KNOBS]
    assert len(set(flags)) == len(flags)
    assert {knob.sidebar for knob in KNOBS} <= {FORM, MORE, AUGMENTATION, CLI}
    assert all(knob.choices for knob in KNOBS if knob.kind is str)


def _given(knob: Knob) -> tuple[list[str], object]:
    """A `train` argument for the knob, and the value it must give the knob's field."""
    if knob.kind is bool:
        return [knob.option], True
    if knob.choices:
        return [knob.option, knob.choices[-1]], knob.choices[-1]
    return [knob.option, "3"], knob.kind("3")


def test_the_train_command_offers_every_knob():
    parser = build_parser()
    bare = ["train", "--model", "mlp_small"]
    assert knob_values(parser.parse_args(bare)) == {}  # nothing given: the recipe's values
    for knob in KNOBS:
        arguments, value = _given(knob)
        assert knob_values(parser.parse_args(bare + arguments)) == {knob.field: value}, knob
        if knob.kind is bool and knob.negatable:
            negated = "--no-" + knob.option.removeprefix("--")
            assert knob_values(parser.parse_args([*bare, negated])) == {knob.field: False}


def test_the_retrain_form_offers_every_sidebar_knob():
    assert set(WIDGETS) == {knob.field for knob in KNOBS if knob.sidebar != CLI}
    assert set(TRAIN_FORM_KEYS) == set(WIDGETS)  # each field drawn has its key, and no more
    sidebar = new_app().run().sidebar
    (more,) = [block for block in sidebar.expander if block.label == "More settings"]
    (augmentation,) = [block for block in sidebar.expander if block.label == "Augmentation"]
    shown = {node.key for node in sidebar} - {None}
    folded = {node.key for node in more} - {None}
    augmenting = {node.key for node in augmentation} - {None}
    for knob in KNOBS:
        if knob.sidebar == FORM:
            assert TRAIN_FORM_KEYS[knob.field] in shown - folded - augmenting, knob
        elif knob.sidebar == MORE:
            assert TRAIN_FORM_KEYS[knob.field] in folded, knob
        elif knob.sidebar == AUGMENTATION:
            assert TRAIN_FORM_KEYS[knob.field] in augmenting, knob
