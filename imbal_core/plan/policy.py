"""Augmentation by how hard a class (or an image) is oversampled, so repeats are not exact copies.

A tier applies from its ``min_multiplier`` up to the next tier's; the default list goes from the
standard pipeline (not oversampled) through light and moderate to strong but realistic changes for
classes repeated 3x or more. Pass your own list to :func:`augmentation_policy` (validated once).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from .solver import ClassPlan


@dataclass(frozen=True)
class AugmentationTier:
    """``name``, the smallest multiplier it applies to, and the augmentations it adds."""

    name: str
    min_multiplier: float
    augmentations: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "min_multiplier": self.min_multiplier, "augmentations": list(self.augmentations)}


DEFAULT_TIERS: tuple[AugmentationTier, ...] = (
    AugmentationTier("strong", 3.0, (
        "lighting: brightness and contrast ±30%, gamma 0.7–1.4, colour temperature (dusk and night tones)",
        "blur: motion or defocus, kernel 3–7 px (p = 0.3)",
        "cutout: 1–2 patches up to 10% of the image, never hiding a whole object (p = 0.5)",
        "geometry: scale 0.7–1.3, crops that keep every object, horizontal flip unless it changes the meaning",
        "sensor noise: Gaussian, sigma up to 0.03 (p = 0.2)",
    )),
    AugmentationTier("moderate", 1.5, (
        "lighting: brightness and contrast ±20%",
        "geometry: scale 0.8–1.2, horizontal flip unless it changes the meaning",
        "blur: light Gaussian (p = 0.1)",
    )),
    AugmentationTier("light", 1.05, (
        "lighting: brightness and contrast ±10%",
        "horizontal flip unless it changes the meaning",
    )),
    AugmentationTier("none", 0.0, ("the standard training pipeline: not oversampled, nothing added",)),
)


def normalize_tiers(tiers: Iterable[AugmentationTier | Mapping[str, Any] | Sequence[Any]]) -> tuple[AugmentationTier, ...]:
    """Tiers from objects, dicts (``name``, ``min_multiplier``, ``augmentations``) or ``(name, min, [...])``
    triples, sorted from the highest ``min_multiplier``; a ``none`` tier from 0 is added if no tier starts at 0."""
    out: list[AugmentationTier] = []
    for i, tier in enumerate(tiers):
        if isinstance(tier, AugmentationTier):
            name, low, augs = tier.name, tier.min_multiplier, tier.augmentations
        elif isinstance(tier, Mapping):
            name, low, augs = tier.get("name"), tier.get("min_multiplier"), tier.get("augmentations", ())
        else:
            try:
                name, low, augs = tier
            except (TypeError, ValueError):
                raise ValueError(f"`tiers[{i}]` must be (name, min_multiplier, augmentations). Got {tier!r} instead.") from None
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"`tiers[{i}].name` must be a non-empty text. Got {name!r} instead.")
        if isinstance(low, bool) or not isinstance(low, (int, float)) or not math.isfinite(low) or low < 0:
            raise ValueError(f"`tiers[{i}].min_multiplier` must be a number of at least 0. Got {low!r} instead.")
        if isinstance(augs, str):
            augs = (augs,)
        out.append(AugmentationTier(name.strip(), float(low), tuple(str(a) for a in augs)))
    if not out:
        raise ValueError("`tiers` must hold at least one tier.")
    names = [t.name for t in out]
    if len(set(names)) != len(names):
        raise ValueError(f"`tiers` names must be unique. Got {names}.")
    lows = [t.min_multiplier for t in out]
    if len(set(lows)) != len(lows):
        raise ValueError(f"`tiers` must start at different multipliers. Got {lows}.")
    if 0.0 not in lows:
        out.append(AugmentationTier("none" if "none" not in names else "base", 0.0, ()))
    return tuple(sorted(out, key=lambda t: -t.min_multiplier))


@dataclass(frozen=True)
class AugmentationPolicy:
    """The tier of every class of a plan, by its multiplier."""

    tiers: tuple[AugmentationTier, ...]
    classes: tuple[str, ...]
    multipliers: np.ndarray
    assigned: tuple[str, ...]

    def tier(self, name: str) -> AugmentationTier:
        return next(t for t in self.tiers if t.name == name)

    def tier_for(self, multiplier: float) -> str:
        """The tier a class or an image repeated ``multiplier`` times falls in (NaN: the lowest)."""
        for t in self.tiers:
            if multiplier >= t.min_multiplier:
                return t.name
        return self.tiers[-1].name

    def tiers_for(self, multipliers: np.ndarray) -> list[str]:
        lows = np.array([t.min_multiplier for t in self.tiers])  # descending
        values = np.nan_to_num(np.asarray(multipliers, dtype=np.float64), nan=0.0)
        index = np.argmax(values[:, None] >= lows[None, :], axis=1) if len(values) else np.zeros(0, int)
        names = np.array([t.name for t in self.tiers], dtype=object)
        return names[index].tolist()

    def classes_in(self, tier: str) -> list[str]:
        return [c for c, t in zip(self.classes, self.assigned) if t == tier]

    def tier_table(self) -> pa.Table:
        """One row per tier that some class falls in: ``tier``, ``from`` (multiplier), ``classes``, ``augmentations``."""
        used = [t for t in self.tiers if t.name in self.assigned]
        return pa.table({
            "tier": pa.array([t.name for t in used], pa.string()),
            "from": pa.array([t.min_multiplier for t in used], pa.float64()),
            "classes": pa.array([", ".join(self.classes_in(t.name)) for t in used], pa.string()),
            "augmentations": pa.array(["; ".join(t.augmentations) for t in used], pa.string()),
        })

    def to_arrow(self) -> pa.Table:
        return pa.table({
            "class": pa.array(self.classes, pa.string()),
            "multiplier": pa.array(self.multipliers, pa.float64(), from_pandas=True),
            "tier": pa.array(self.assigned, pa.string()),
            "augmentations": pa.array(["; ".join(self.tier(t).augmentations) for t in self.assigned], pa.string()),
        })

    def to_pandas(self) -> pd.DataFrame:
        return self.to_arrow().to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {"tiers": [t.to_dict() for t in self.tiers],
                "classes": {c: t for c, t in zip(self.classes, self.assigned)}}


def augmentation_policy(plan: ClassPlan, tiers: Iterable[Any] = DEFAULT_TIERS) -> AugmentationPolicy:
    """Assign every class of ``plan`` the tier of its multiplier (``tiers``: :data:`DEFAULT_TIERS`)."""
    ordered = normalize_tiers(tiers)
    partial = AugmentationPolicy(ordered, plan.classes, plan.multipliers, ())
    return AugmentationPolicy(ordered, plan.classes, plan.multipliers, tuple(partial.tiers_for(plan.multipliers)))
