"""Training configurations: frozen, validated, and hashable into a cache key."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from digitlab.core.errors import UserError
from digitlab.zoo.arch import ArchError, loads, parse, scaled
from digitlab.zoo.networks import zoo_spec
from digitlab.zoo.registry import CLASSIFICATION, CUSTOM, ENSEMBLE, ZOO, ModelSpec, get_spec
from digitlab.zoo.tutorials import TUTORIAL, custom_presets, zoo_presets

OPTIMIZERS = ("adam", "sgd", "rmsprop", "adagrad")
SCHEDULES = ("constant", "step", "cosine", "onecycle")
REGRESSION_LOSSES = ("mse", "huber")
# How a classifier is taught the digits: integer labels with sparse categorical
# cross-entropy, or one-hot rows with categorical cross-entropy. The same loss either way.
SPARSE, ONE_HOT = "sparse", "onehot"
LABELS = (SPARSE, ONE_HOT)
MNIST_TRAIN_SIZE = 60_000


class ConfigError(UserError, ValueError):
    """A training setting is outside its allowed range."""


# (low, high) inclusive bounds for every numeric field; the error message quotes them, and
# the Retrain form's number boxes stop at them.
RANGES: dict[str, tuple[float, float]] = {
    "epochs": (1, 100),
    "batch_size": (8, 4096),
    "learning_rate": (1e-6, 10.0),
    "dropout": (0.0, 0.9),
    "early_stopping_patience": (0, 50),
    "validation_split": (0.0, 0.5),
    "train_samples": (100, MNIST_TRAIN_SIZE),
    "seed": (0, 2**31 - 1),
    "beta_1": (0.0, 0.9999),
    "beta_2": (0.0, 0.99999),
    "clean_epochs": (0, 100),
    "label_smoothing": (0.0, 0.5),
    "steps_per_execution": (1, 64),
    "momentum": (0.0, 0.999),
    "l2": (0.0, 0.1),
    "width": (0.25, 4.0),
    "clip_norm": (0.0, 100.0),
    "clip_value": (0.0, 100.0),
    "huber_delta": (0.01, 100.0),
    "step_epochs": (1, 100),
    "step_factor": (0.01, 1.0),
    "plateau_factor": (0.01, 0.99),
    "plateau_patience": (0, 50),
    "plateau_min_lr": (0.0, 1.0),
    # The augmentation strengths: up to a half turn, the digit's own size, a 50% zoom.
    "aug_rotation": (0.0, 180.0),
    "aug_shift": (0.0, 14.0),
    "aug_zoom": (0.0, 0.5),
    "aug_shear": (0.0, 1.0),
    "aug_elastic_alpha": (0.0, 100.0),
    "aug_elastic_sigma": (1.0, 10.0),
    "aug_thicker": (0.0, 1.0),
    "aug_thinner": (0.0, 1.0),
}


# Fields added after runs were stored, with their defaults (see TrainConfig.key).
_LATER_FIELDS: dict[str, Any] = {"width": 1.0, "fine_tune": "", "arch": ""}
_LATER_FIELDS["labels"] = SPARSE  # the sparse/one-hot knob came later still
_LATER_FIELDS["pen_styles"] = False  # and the writing styles and devices later again
_LATER_FIELDS["pen_devices"] = False
# The augmentation strengths, TrainConfig's aug_* fields (their defaults join _LATER_FIELDS
# below the class): what a run records of its augmentation, and what the preview varies.
AUGMENT_STRENGTHS = (
    "aug_rotation",
    "aug_shift",
    "aug_zoom",
    "aug_shear",
    "aug_elastic_alpha",
    "aug_elastic_sigma",
    "aug_thicker",
    "aug_thinner",
)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model; equal configs give equal models."""

    model: str  # a name from the zoo (registry.ZOO), "custom" (see arch), or "ensemble" for an
    # ensemble's record
    epochs: int = 5  # passes over the training data
    batch_size: int = 128  # images per gradient step
    learning_rate: float = 1e-3  # initial step size of the optimizer
    optimizer: str = "adam"  # one of OPTIMIZERS
    dropout: float | None = None  # dropout rate for models that have one; None = model default
    augment: bool = False  # random rotation/shear/zoom/shift/thickness, as people draw
    early_stopping_patience: int = 0  # epochs without val improvement before stopping; 0 = off
    reduce_lr_on_plateau: bool = False  # halve the learning rate when val loss stalls
    validation_split: float = 0.1  # fraction of the training set held out for validation
    train_samples: int = MNIST_TRAIN_SIZE  # use only the first N training images (quick runs)
    seed: int = 0  # makes shuffling, initialisation and augmentation repeatable
    loss: str = "mse"  # regression only: "mse" or "huber"
    schedule: str = "constant"  # one of SCHEDULES: how the learning rate moves over all steps
    beta_1: float = 0.9  # Adam's decay of its gradient average (lower: reacts faster)
    beta_2: float = 0.999  # Adam's decay of its squared-gradient average
    clean_epochs: int = 0  # with augment: the last epochs train on undistorted digits
    label_smoothing: float = 0.0  # classifiers: aim at 1 - s for the true digit, not 1
    steps_per_execution: int = 1  # batches per call into TensorFlow: cuts a small model's
    # per-step overhead; progress then arrives every N batches
    pen_digits: bool = False  # also train on real pen-written digits (the training writers)
    not_digits: bool = False  # classifiers: also train on letters, scribbles and digit pairs
    # aimed at flat probabilities, and learn when to abstain ("that isn't a digit")
    pen_styles: bool = False  # also train on the training writers' digits rewritten in the
    # ways other people write them (a slashed 0, a flagged 1...: data/styles.py)
    pen_devices: bool = False  # also train on the training writers' digits and not-digits
    # as other devices deliver them (a thick pen, small in the box...: data/devices.py)
    momentum: float = 0.9  # SGD's momentum
    nesterov: bool = False  # SGD: Nesterov's look-ahead momentum
    l2: float = 0.0  # L2 weight decay on every Conv2D and Dense kernel
    clip_norm: float = 0.0  # clip each gradient to this norm; 0 = off
    clip_value: float = 0.0  # clip each gradient element to +-this; 0 = off
    huber_delta: float = (
        1.0  # regression with the Huber loss: where it turns from squared to linear
    )
    step_epochs: int = 2  # schedule "step": multiply the learning rate by step_factor every N
    step_factor: float = 0.5
    plateau_factor: float = 0.5  # reduce-on-plateau: multiply the learning rate by this ...
    plateau_patience: int = 1  # ... after this many epochs without a better val loss ...
    plateau_min_lr: float = 0.0  # ... but never below this
    keep_best: bool = False  # store the weights of the best validation epoch, not the last
    width: float = 1.0  # every hidden layer's units and filters times this (1: as designed)
    fine_tune: str = ""  # a fine-tuned run: its base run and drawings (digitlab.training.finetune)
    arch: str = ""  # model "custom": its architecture spec as canonical JSON (zoo.arch.dumps)
    labels: str = SPARSE  # classifiers: one of LABELS; label smoothing and not_digits
    # need one-hot rows whichever is chosen (sparse labels can't say "0.9 of a 3")
    # With augment, how strong each distortion is (data/augment.py); the defaults are the
    # strengths every run had before they could be set. Pixels are a 28 x 28 digit's.
    aug_rotation: float = 12.0  # degrees: each digit turns by up to +-this
    aug_shift: float = 2.0  # pixels: moved by up to +-this, across and down
    aug_zoom: float = 0.15  # scaled by up to +-this fraction (0.15: 85% to 115%)
    aug_shear: float = 0.15  # slanted sideways by up to +-this (x shifts by this times y)
    aug_elastic_alpha: float = 0.0  # elastic distortion: how far pixels wander (0 = off) ...
    aug_elastic_sigma: float = 4.0  # ... and how smooth their field is (pixels): small wobbles
    aug_thicker: float = 1.0  # pen thickness: up to this far towards a 3x3 dilation ...
    aug_thinner: float = 0.6  # ... or towards a 3x3 erosion (a thinner pen)

    def __post_init__(self) -> None:
        if self.model not in ZOO and self.model not in (ENSEMBLE, CUSTOM):
            raise ConfigError(f"Unknown model {self.model!r}; choose one of {', '.join(ZOO)}.")
        if (self.model == CUSTOM) != bool(self.arch):
            raise ConfigError("a custom network needs its architecture spec, and only it has one.")
        if self.arch:
            try:
                parse(self.arch)
            except ArchError as error:
                raise ConfigError(str(error)) from error
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if value is None:
                continue
            if not low <= value <= high:
                raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value!r}.")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}.")
        if self.loss not in REGRESSION_LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(REGRESSION_LOSSES)}.")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"schedule must be one of {', '.join(SCHEDULES)}.")
        if self.clean_epochs > self.epochs:
            raise ConfigError("clean_epochs can't be more than epochs.")
        if self.early_stopping_patience and self.validation_split == 0:
            raise ConfigError("early stopping needs a validation split above 0.")
        if self.reduce_lr_on_plateau and self.validation_split == 0:
            raise ConfigError("reduce-LR-on-plateau needs a validation split above 0.")
        if self.not_digits and self.model != ENSEMBLE and self.model_spec.task != CLASSIFICATION:
            raise ConfigError("not_digits needs a classifier: a regression net can't abstain.")
        if self.keep_best and self.validation_split == 0:
            raise ConfigError("keeping the best epoch needs a validation split above 0.")
        if self.clip_norm and self.clip_value:
            raise ConfigError("clip by norm or by value, not both.")
        if self.reduce_lr_on_plateau and self.schedule != "constant":
            raise ConfigError("reduce-LR-on-plateau needs the constant learning-rate schedule.")
        if self.labels not in LABELS:
            raise ConfigError(f"labels must be one of {', '.join(LABELS)}.")
        if (
            self.labels == ONE_HOT
            and self.model != ENSEMBLE
            and self.model_spec.task != CLASSIFICATION
        ):
            raise ConfigError("one-hot labels need a classifier: a regression net learns a number.")

    @property
    def model_spec(self) -> ModelSpec:
        """What the rest of DigitLab needs to know of the model: for a zoo model its registry
        entry, for a custom network its input size, task and dropout read from its spec."""
        if self.model != CUSTOM:
            return get_spec(self.model)
        network = parse(self.arch)
        return dataclasses.replace(
            get_spec(CUSTOM),
            input_size=network.input_size,
            task=network.task,
            default_dropout=network.dropout_rate,
        )

    def network(self) -> dict[str, Any]:
        """The architecture spec this config builds, at its width and dropout rate."""
        if self.model == CUSTOM:
            return scaled(loads(self.arch), self.width, self.dropout)
        return zoo_spec(self.model, self.dropout, self.width)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict, ignoring unknown keys so older stored configs still load."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    def key(self) -> str:
        """A stable short hash of every field: the cache key of the trained model.

        Fields added since runs were first stored leave the hash alone at their default,
        so a run stored before they existed is still found by its settings.
        """
        values = self.to_dict()
        for name, default in _LATER_FIELDS.items():
            if values[name] == default:
                del values[name]
        canonical = json.dumps(values, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def augmentation(self) -> dict[str, Any]:
        """How this config augments, for a person: how many epochs, and at what strengths."""
        if not self.augment:
            return {"augmented epochs": 0}
        return {
            "augmented epochs": self.epochs - self.clean_epochs,
            **{name: getattr(self, name) for name in AUGMENT_STRENGTHS},
        }


# Runs stored before the strengths could be set trained at these defaults: same key.
_LATER_FIELDS |= {
    field.name: field.default
    for field in dataclasses.fields(TrainConfig)
    if field.name in AUGMENT_STRENGTHS
}


# The recipe each shipped model was trained with (`python -m digitlab train --model NAME`
# without further options). Tutorial models keep their tutorial's architecture with a short
# recipe. digitnet trains fast (after github tuomaso/train_mnist_fast): Adam at 1e-2 with
# short memories (betas 0.7, 0.9) on a one-cycle schedule, batches of 256. Measured on a
# 2-core CPU: "quick" (the sidebar's default), 2 clean epochs, 99.2% in ~15 s; "default"
# (shipped), 3 epochs of digits distorted as people draw then 2 clean ones, with pen-written
# digits (also in other writing styles and from other devices) and not-digits added, 99.4%
# and ~99% on held-out writers' pen digits (74-89 s here; ~35 s on a faster CPU before the styles);
# "long" trades minutes for the last tenths of a percent on MNIST.
_FAST = {
    "batch_size": 256,
    "learning_rate": 1e-2,
    "schedule": "onecycle",
    "beta_1": 0.7,
    "beta_2": 0.9,
}
# The shipped default also learns real pen-written digits, the ways other people write them
# and how other devices deliver them, and when to say "not a digit".
_REAL = {**_FAST, "pen_digits": True, "not_digits": True, "pen_styles": True, "pen_devices": True}
_RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "digitnet": {
        "default": {
            **_REAL,
            "epochs": 5,
            "augment": True,
            "clean_epochs": 2,
            "label_smoothing": 0.1,
        },
        "quick": {**_FAST, "epochs": 2},
        # MNIST only, for the last tenths on its test set (99.6% in about 2 minutes); the
        # shipped default is the one for real handwriting and for saying "not a digit".
        "long": {
            **_FAST,
            "epochs": 24,
            "augment": True,
            "clean_epochs": 6,
            "dropout": 0.3,
            "label_smoothing": 0.1,
        },
    },
    # Large batches on a one-cycle schedule, no dropout but label smoothing, and 16 batches
    # per call into TensorFlow (an MLP step is mostly overhead): 98.2% in about 5 s here.
    "mlp": {
        "default": {
            "epochs": 3,
            "batch_size": 384,
            "learning_rate": 1e-2,
            "schedule": "onecycle",
            "dropout": 0.0,
            "label_smoothing": 0.1,
            "steps_per_execution": 16,
        }
    },
    "mlp_small": {"default": {"epochs": 5}},
    "cnn": {"default": {"epochs": 5}},
    "cnn_small": {"default": {"epochs": 5}},
    "cnn_bn": {"default": {"epochs": 5}},
    "regression": {"default": {"epochs": 10}},
    "tiny20": {"default": {"epochs": 40, "batch_size": 32}},
}


# The tutorials' own settings (digitlab.zoo.tutorials): each zoo model's "tutorial" preset
# where its tutorial's are known, and the tutorial networks not in the zoo as custom presets.
for _model, _settings in zoo_presets().items():
    _RECIPES[_model][TUTORIAL] = _settings
_RECIPES[CUSTOM] = {"default": {}, **custom_presets()}


def presets(model: str) -> list[str]:
    """The named recipes of a model ("default" first)."""
    return list(_RECIPES.get(model, {"default": {}}))


def recipe(model: str, preset: str = "default", **changes: Any) -> TrainConfig:
    """The training config of a zoo model's recipe, with optional changes."""
    known = _RECIPES.get(model, {"default": {}})
    if preset not in known:
        raise ConfigError(f"{model} has no preset {preset!r}; choose one of {', '.join(known)}.")
    return TrainConfig(model=model, **{**known[preset], **changes})


def closest_recipe(config: TrainConfig) -> tuple[str, dict[str, Any]]:
    """The preset a config is nearest to, and its settings that differ from it.

    A run does not record the preset it started from; the one it differs from least is
    that one or says as much (the sidebar starts from "quick": compared with "default",
    its plain runs showed six changed settings). Ties go to the earlier preset."""
    settings = config.to_dict()
    found: tuple[str, dict[str, Any]] | None = None
    for preset in presets(config.model):
        base = recipe(config.model, preset, arch=config.arch).to_dict()
        changed = {key: value for key, value in settings.items() if base[key] != value}
        if found is None or len(changed) < len(found[1]):
            found = (preset, changed)
    assert found is not None  # every model has at least its default preset
    return found


def differences(config: TrainConfig) -> dict[str, Any]:
    """The settings of `config` that differ from its closest recipe (closest_recipe)."""
    return closest_recipe(config)[1]


def describe_changes(config: TrainConfig) -> str:
    """ "quick: epochs=3, dropout=0.2", or "quick, as it is": the recipe and what changed."""
    preset, changed = closest_recipe(config)
    if not changed:
        return f"{preset}, as it is"
    return f"{preset}: " + ", ".join(f"{key}={value}" for key, value in changed.items())
