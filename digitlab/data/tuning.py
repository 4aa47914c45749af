"""The tuning writers' digits an abstention threshold is chosen on: as written, re-slanted,
in every writing style and as every device delivers them (never a held-out writer's)."""

from __future__ import annotations

from digitlab.data import devices, handdrawn, styles


def tuning_sets() -> dict[str, handdrawn.Drawings]:
    """The tuning writers' digits the threshold must hold for: as written and re-slanted
    (1,500 digits), in every writing style and as every device delivers them."""
    return {
        "as written": handdrawn.pen_digits("tune") + handdrawn.pen_digit_variants("tune"),
        **styles.style_drawings("tune"),
        **devices.device_drawings("tune"),
    }
