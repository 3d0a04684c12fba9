"""Per-epoch quotas: how many samples of each class every epoch draws, and which of its items.

Each epoch draws exactly the plan's effective count of every class (so the budget holds every
epoch, not just on average as with a sampler drawing with replacement). A class planned at
``q * count + rest`` samples shows every item ``q`` times plus ``rest`` more, taken from a seeded
stream of shuffles of the class's items: every item is drawn once before any is drawn again, so
an undersampled class (0.36x) covers all its items within ``ceil(1 / 0.36) = 3`` epochs, and the
extra repeats of an oversampled one (1.8x) rotate over its items. The same ``seed`` gives the
same items every time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .solver import ClassPlan


@dataclass(frozen=True)
class EpochQuotas:
    """Quotas per (epoch, class): ``samples``, ``distinct`` items drawn, ``new`` (never drawn in an
    earlier epoch) and ``coverage`` (share of the class's items drawn so far). Epochs count from 1."""

    classes: tuple[str, ...]
    counts: np.ndarray
    per_epoch: np.ndarray
    epochs: int
    seed: int

    def covered_after(self, epoch: int) -> np.ndarray:
        """Distinct items of each class drawn in epochs 1..epoch."""
        full = self.per_epoch >= self.counts
        return np.where(full, self.counts, np.minimum(self.counts, epoch * self.per_epoch)) if epoch > 0 \
            else np.zeros_like(self.counts)

    def epochs_to_cover(self) -> np.ndarray:
        """Epochs until every item of a class has been drawn (0 for a class with no items or no quota)."""
        with np.errstate(divide="ignore"):
            return np.where((self.counts > 0) & (self.per_epoch > 0),
                            np.ceil(self.counts / np.maximum(self.per_epoch, 1)).clip(min=1), 0).astype(np.int64)

    def to_arrow(self) -> pa.Table:
        rows: dict[str, list[Any]] = {k: [] for k in ("epoch", "class", "samples", "distinct", "new", "coverage")}
        before = np.zeros_like(self.counts)
        for epoch in range(1, self.epochs + 1):
            after = self.covered_after(epoch)
            distinct = np.minimum(self.counts, self.per_epoch)
            with np.errstate(divide="ignore", invalid="ignore"):
                coverage = np.where(self.counts > 0, after / np.maximum(self.counts, 1), np.nan)
            rows["epoch"] += [epoch] * len(self.classes)
            rows["class"] += list(self.classes)
            rows["samples"] += self.per_epoch.tolist()
            rows["distinct"] += distinct.tolist()
            rows["new"] += (after - before).tolist()
            rows["coverage"] += coverage.tolist()
            before = after
        return pa.table({
            "epoch": pa.array(rows["epoch"], pa.int32()), "class": pa.array(rows["class"], pa.string()),
            "samples": pa.array(rows["samples"], pa.int64()), "distinct": pa.array(rows["distinct"], pa.int64()),
            "new": pa.array(rows["new"], pa.int64()), "coverage": pa.array(rows["coverage"], pa.float64(), from_pandas=True),
        })

    def to_pandas(self) -> pd.DataFrame:
        return self.to_arrow().to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs, "seed": self.seed,
            "per_epoch": {c: int(v) for c, v in zip(self.classes, self.per_epoch)},
            "epochs_to_cover": {c: int(v) for c, v in zip(self.classes, self.epochs_to_cover())},
        }

    def items(self, class_name: str) -> list[np.ndarray]:
        """For each epoch, the positions (0..count-1, in the class's own item order) drawn from ``class_name``."""
        if class_name not in self.classes:
            raise ValueError(f"`class_name` must be one of the plan's classes. Got {class_name!r} instead.")
        index = self.classes.index(class_name)
        rng = np.random.default_rng([self.seed, index])
        return epoch_items(int(self.counts[index]), int(self.per_epoch[index]), self.epochs, rng)


def epoch_items(count: int, per_epoch: int, epochs: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Item positions drawn in each of ``epochs`` epochs: every item ``per_epoch // count`` times plus
    ``per_epoch % count`` taken in turn from shuffles, no item twice within one epoch's extra part."""
    if count == 0 or per_epoch == 0:
        return [np.zeros(0, np.int64) for _ in range(epochs)]
    passes, rest = divmod(per_epoch, count)
    stream = rng.permutation(count)
    position = 0
    out = []
    for _ in range(epochs):
        if position + rest <= count:
            extra = stream[position:position + rest]
            position += rest
        else:
            head = stream[position:]
            # the next shuffle puts this epoch's items last, so none is drawn twice in the epoch
            remaining = np.setdiff1d(np.arange(count), head, assume_unique=True)
            stream = np.r_[rng.permutation(remaining), rng.permutation(head)]
            position = rest - len(head)
            extra = np.r_[head, stream[:position]]
        out.append(np.r_[np.tile(np.arange(count), passes), extra].astype(np.int64))
    return out


def epoch_quotas(plan: ClassPlan, epochs: int = 10, seed: int = 0) -> EpochQuotas:
    """Quotas for ``epochs`` epochs (default 10) of ``plan``; ``seed`` (0) fixes which items are drawn."""
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or not 1 <= epochs <= 10_000:
        raise ValueError(f"`epochs` must be a whole number from 1 to 10,000. Got {epochs!r} instead.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be a whole number of at least 0. Got {seed!r} instead.")
    return EpochQuotas(plan.classes, plan.counts.copy(), plan.effective.copy(), int(epochs), int(seed))
