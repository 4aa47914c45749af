"""The runs shipped in `assets/models/`: read-only, named by their model, read once."""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

from digitlab.store.run import MODEL_FILE, SHIPPED_DIR, Run
from digitlab.zoo.config import TrainConfig
from digitlab.zoo.registry import ZOO

log = logging.getLogger(__name__)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def shipped_runs() -> dict[str, Run]:
    """Every shipped run, read once per process (the files never change while it runs)."""
    runs = {}
    for name in ZOO:
        folder = SHIPPED_DIR / name
        try:
            metrics = read_json(folder / "metrics.json")
            config = TrainConfig.from_dict(read_json(folder / "config.json"))
            history = read_json(folder / "history.json")
            size = (folder / MODEL_FILE).stat().st_size
        except (OSError, ValueError, TypeError) as error:
            log.warning("No shipped run for %s: %s", name, error)
            continue
        runs[name] = Run(
            id=name,
            config=config,
            metrics=metrics,
            path=folder,
            shipped=True,
            created_at=metrics.get("saved_at", 0.0),
            seconds=metrics.get("train_seconds", 0.0),
            size_bytes=size,
            history=history,
        )
    return runs


def shipped_run(model: str) -> Run | None:
    """The run shipped in assets/models for an architecture, if there is one."""
    return shipped_runs().get(model)
