"""The training knobs: every TrainConfig field a user may set, listed once.

The `train` command makes a flag of each knob, and the sidebar's Retrain form shows the
knobs marked for it, so offering a new setting is one entry here (beside its TrainConfig
field, its range in config.RANGES, and for the form its widget in ui/retrain.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from digitlab.zoo.config import LABELS, OPTIMIZERS, REGRESSION_LOSSES, SCHEDULES

# Where the sidebar's Retrain form shows a knob.
FORM = "form"  # in the form
MORE = "more"  # in the form, folded under "More settings"
AUGMENTATION = "augmentation"  # in the form, folded under "Augmentation"
CLI = ""  # not at all: only a `train` flag

# TrainConfig fields that are not knobs: the model is chosen apart (`train --model`, the
# form's model box), and so is a custom network's spec (`train --arch`); fine_tune is
# written by fine-tuning, never by hand.
NOT_KNOBS = ("model", "fine_tune", "arch")


@dataclass(frozen=True)
class Knob:
    """One training setting: a TrainConfig field, a `train` flag, perhaps a form field."""

    field: str  # the TrainConfig field
    kind: type  # int, float, bool or str
    sidebar: str  # where the Retrain form shows it: FORM, MORE, AUGMENTATION or CLI
    help: str  # one line: the flag's --help
    flag: str = ""  # the `train` flag when it is not --field-name
    choices: tuple[str, ...] = ()  # a str knob's allowed values
    negatable: bool = True  # a bool flag has --no-FLAG too (--reduce-lr never had one)

    @property
    def option(self) -> str:
        """The `train` flag: `flag`, or the field's name in dashes."""
        return self.flag or "--" + self.field.replace("_", "-")


# In the form's order (`train --help` lists them so too); knobs whose help reads on from
# the previous one ("...") stay next to it.
KNOBS: tuple[Knob, ...] = (
    Knob("epochs", int, FORM, "passes over the training data"),
    Knob("batch_size", int, FORM, "images per gradient step"),
    Knob("learning_rate", float, FORM, "learning rate", flag="--lr"),
    Knob("schedule", str, FORM, "how the learning rate moves over the run", choices=SCHEDULES),
    Knob("optimizer", str, FORM, "the gradient-descent method", choices=OPTIMIZERS),
    Knob("dropout", float, FORM, "dropout rate, for the models that have dropout"),
    Knob("augment", bool, AUGMENTATION, "distort the digits as people draw them"),
    Knob("clean_epochs", int, AUGMENTATION,
         "with --augment: the last N epochs train on undistorted digits"),
    # How strong each distortion is, with --augment (TrainConfig's aug_* fields say the
    # defaults); the sidebar's Augmentation panel previews them on 8 digits.
    Knob("aug_rotation", float, AUGMENTATION, "with --augment: turn by up to +-N degrees"),
    Knob("aug_shift", float, AUGMENTATION, "... move by up to +-N pixels (of 28)"),
    Knob("aug_zoom", float, AUGMENTATION, "... scale by up to +-this fraction"),
    Knob("aug_shear", float, AUGMENTATION, "... slant sideways by up to +-this"),
    Knob("aug_elastic_alpha", float, AUGMENTATION,
         "... elastic distortion: how far pixels wander (0: off) ..."),
    Knob("aug_elastic_sigma", float, AUGMENTATION,
         "... and how smooth their field is, in pixels"),
    Knob("aug_thicker", float, AUGMENTATION, "... a pen up to this much thicker (0-1)"),
    Knob("aug_thinner", float, AUGMENTATION, "... or thinner (0-1)"),
    Knob("pen_digits", bool, FORM, "also train on real pen-written digits (the training writers)"),
    Knob("not_digits", bool, FORM, "also train on not-a-digit drawings and learn to abstain"),
    Knob("pen_styles", bool, CLI,
         "also train on the training writers' digits in other writing styles"),
    Knob("pen_devices", bool, CLI,
         "also train on the training writers' digits as other devices deliver them"),
    Knob("early_stopping_patience", int, FORM, "early-stopping patience in epochs",
         flag="--patience"),
    Knob("reduce_lr_on_plateau", bool, FORM, "reduce LR on plateau", flag="--reduce-lr",
         negatable=False),
    Knob("validation_split", float, FORM, "fraction of the images held out to validate"),
    Knob("train_samples", int, FORM, "train on the first N images only", flag="--samples"),
    Knob("seed", int, FORM, "makes shuffling, initialisation and augmentation repeatable"),
    Knob("loss", str, CLI, "regression loss", choices=REGRESSION_LOSSES),
    Knob("huber_delta", float, CLI, "regression with --loss huber: its delta"),
    Knob("steps_per_execution", int, CLI, "batches per call into TensorFlow"),
    Knob("l2", float, MORE, "L2 weight decay on every Conv2D and Dense kernel"),
    Knob("width", float, MORE,
         "every hidden layer's units and filters times this (0.25-4; 1: as designed)"),
    Knob("label_smoothing", float, MORE, "classifiers: aim at 1 - s for the true digit"),
    Knob("clip_norm", float, MORE, "clip each gradient to this norm (0: off)"),
    Knob("clip_value", float, CLI, "clip each gradient element to +-this (0: off)"),
    Knob("momentum", float, MORE, "SGD's momentum (0.9)"),
    Knob("nesterov", bool, MORE, "SGD with Nesterov momentum"),
    Knob("beta_1", float, CLI, "Adam's beta_1"),
    Knob("beta_2", float, CLI, "Adam's beta_2"),
    Knob("step_epochs", int, MORE, "--schedule step: every this many epochs ..."),
    Knob("step_factor", float, MORE, "... multiply the learning rate by this"),
    Knob("plateau_factor", float, MORE, "--reduce-lr: multiply the learning rate by this ..."),
    Knob("plateau_patience", int, MORE, "... after this many epochs without a better val loss ..."),
    Knob("plateau_min_lr", float, CLI, "... never going below this"),
    Knob("keep_best", bool, MORE, "store the best validation epoch's weights, not the last"),
    Knob("labels", str, MORE, "classifiers: integer labels + sparse categorical cross-entropy, "
         "or one-hot rows + categorical cross-entropy (the same loss)", choices=LABELS),
)  # fmt: skip

BY_FIELD: dict[str, Knob] = {knob.field: knob for knob in KNOBS}


def in_sidebar(where: str) -> list[Knob]:
    """The knobs the Retrain form shows at `where` (FORM, MORE or AUGMENTATION), in order."""
    return [knob for knob in KNOBS if knob.sidebar == where]
