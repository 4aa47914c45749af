"""How big a bench run is: the full figures, or a quick smoke test."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BenchOptions:
    quick: bool = False  # a small version that runs in seconds (a smoke test)

    @property
    def train_samples(self) -> int:
        return 3000 if self.quick else 60_000
