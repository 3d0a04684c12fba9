"""LVIS frequency groups: rare / common / frequent / unseen by training-image count."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Group = Literal["rare", "common", "frequent", "unseen"]
GROUPS: tuple[Group, ...] = ("rare", "common", "frequent", "unseen")


@dataclass(frozen=True)
class FrequencyThresholds:
    """LVIS frequency groups by training-image count.

    ``rare_max`` (10): at most this many training images is *rare* (and at least one);
    ``common_max`` (100): up to this many is *common*; more is *frequent*; none is *unseen*.
    """

    rare_max: int = 10
    common_max: int = 100

    def __post_init__(self) -> None:
        for name in ("rare_max", "common_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"`{name}` must be a whole number of at least 1. Got {value!r} instead.")
        if self.common_max <= self.rare_max:
            raise ValueError(
                f"`common_max` must be larger than `rare_max` ({self.rare_max}). Got {self.common_max} instead."
            )

    def group(self, training_images: int) -> Group:
        if training_images <= 0:
            return "unseen"
        if training_images <= self.rare_max:
            return "rare"
        if training_images <= self.common_max:
            return "common"
        return "frequent"

    def describe(self) -> str:
        return f"rare 1–{self.rare_max}, common {self.rare_max + 1}–{self.common_max}, frequent > {self.common_max} training images"


LVIS = FrequencyThresholds()
