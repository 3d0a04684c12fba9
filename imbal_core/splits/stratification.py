"""One definition of "stratified", shared by ``imbal check`` and ``imbal split``.

The checklist rule ``splits_stratified`` (:mod:`imbal_core.health`) and split health
(:func:`imbal_core.splits.check_splits`) both call :func:`stratification`, so the two commands
give the same verdict on the same data (a test runs both on every sample and real export).

The definition
--------------
**Unit: images.** A class's *share* of a split is the fraction of the split's images holding at
least one instance of it. Images are what a split assigns; instance counts let one crowded image
(200 people in a stadium) move a share, and multi-label stratification (Sechidis et al., 2011),
which the split generator starts from, balances images holding each class.

**Metric: relative share deviation**, ``share in split / share in reference - 1``: +0.53 means
the class is on 53% more of the split's images. Relative, because the classes that matter are
rare: Truck on 15% of train images and 23% of val images is a problem, which an absolute
difference (8 points) or a divergence over the whole class distribution (the street sample's
val: Jensen-Shannon 0.0034, dominated by Car and Person) weighs by rarity and lets through.

**Reference: the train split** (without one, the largest assigned split). A model learns the
reference's class mix and is judged on the others, so each other split is compared with it.

**Tolerance:** beyond ±:data:`TOLERANCE` (25%) a cell warns, beyond ±:data:`FAIL_TOLERANCE`
(50%, twice it) it fails.

**Not crying wolf on small counts.** Chance alone moves small counts, so a (class, split) cell is
judged only when the reference share predicts at least :data:`MIN_EXPECTED` (5) images of the
class in the split (smaller cells are listed as too small), and a deviation counts only when it
is beyond the tolerance *and* beyond chance: more than :data:`CHANCE_Z` (3) standard deviations
from what assigning the images of the two splits at random would give (hypergeometric: of the
``K`` images holding the class among the ``N`` images of the reference and the split together,
the split's ``n`` images hold ``n K / N`` on average, with variance
``n (K/N) (1 - K/N) (N - n) / (N - 1)``; two-sided chance of 3 standard deviations: 0.3%).
A class expecting 8 images in val and holding 12 (+50%) is within chance (about 1.3 standard
deviations); one expecting 65 and holding 99 (+53%, 4 standard deviations) is not.

A split in which no class expects 5 images cannot be judged: it warns, and so does a dataset
with fewer than two assigned splits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np
import pyarrow as pa

from ..cube import cube, image_counts
from ..dataset import UNASSIGNED, Dataset

Status = Literal["pass", "warn", "fail"]
_ORDER: tuple[Status, ...] = ("pass", "warn", "fail")

#: The unit of the shares: images holding the class.
UNIT = "images"
#: Relative share deviation beyond which a (class, split) cell warns.
TOLERANCE = 0.25
#: Relative share deviation beyond which it fails (twice :data:`TOLERANCE`).
FAIL_TOLERANCE = 2 * TOLERANCE
#: Fewest images of a class the reference share must predict in a split for the cell to be judged.
MIN_EXPECTED = 5.0
#: Standard deviations from random assignment a deviation must exceed to count.
CHANCE_Z = 3.0
#: The split every other split is compared with, when the export has one.
REFERENCE = "train"


def _worst(statuses: Sequence[Status]) -> Status:
    return max(statuses, key=_ORDER.index, default="pass")


@dataclass(frozen=True)
class ShareDeviation:
    """One judged (class, split) cell.

    ``images``: images of ``split`` holding ``category``, of ``split_images``; ``share`` =
    images / split_images; ``reference_share``: the same in the reference split; ``expected`` =
    reference_share x split_images; ``deviation`` = share / reference_share - 1; ``z``: standard
    deviations from random assignment (see the module docstring); ``status``: ``pass`` within
    the tolerance or within chance, ``warn`` beyond the tolerance, ``fail`` beyond the fail
    tolerance.
    """

    category: str
    split: str
    reference: str
    images: int
    split_images: int
    share: float
    reference_share: float
    expected: float
    deviation: float
    z: float
    status: Status

    @property
    def short(self) -> str:
        """``Truck +53%``."""
        return f"{self.category} {self.deviation:+.0%}"

    @property
    def text(self) -> str:
        """``Truck in val: 23.02% of val images hold one vs 15.08% of train images (+53%)``."""
        return (f"{self.category} in {self.split}: {self.share:.2%} of {self.split} images hold one vs "
                f"{self.reference_share:.2%} of {self.reference} images ({self.deviation:+.0%})")

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.category, "split": self.split, "reference": self.reference, "observed": self.images,
                "split_images": self.split_images, "share": self.share, "reference_share": self.reference_share,
                "expected": self.expected, "deviation": self.deviation, "z": self.z, "status": self.status}


@dataclass(frozen=True)
class Stratification:
    """Whether each split holds every class in the reference split's proportion (module docstring).

    ``reference``: the split the others are compared with (None when fewer than two splits are
    assigned); ``splits``: the compared splits; ``cells``: the judged (class, split) cells, the
    largest deviation first; ``too_small``: (class, split) cells expecting fewer than
    :data:`MIN_EXPECTED` images, not judged; ``message``: why nothing was checked.
    """

    reference: str | None
    splits: tuple[str, ...]
    cells: tuple[ShareDeviation, ...]
    too_small: tuple[tuple[str, str], ...]
    tolerance: float
    fail_tolerance: float
    message: str = ""

    @property
    def judged(self) -> bool:
        return not self.message

    def cells_of(self, split: str) -> tuple[ShareDeviation, ...]:
        return tuple(c for c in self.cells if c.split == split)

    def split_judged(self, split: str) -> bool:
        """False for the reference, and for a split in which no class expects enough images."""
        return any(c.split == split for c in self.cells)

    def split_status(self, split: str) -> Status:
        """The worst cell of ``split``; ``warn`` when none could be judged; ``pass`` for the reference."""
        if split == self.reference:
            return "pass"
        if not self.split_judged(split):
            return "warn"
        return _worst([c.status for c in self.cells_of(split)])

    @property
    def status(self) -> Status:
        """The worst split status; ``warn`` when nothing could be checked."""
        if self.message:
            return "warn"
        return _worst([self.split_status(s) for s in self.splits])

    @property
    def beyond(self) -> tuple[ShareDeviation, ...]:
        """Cells that warn or fail: failing first, then by size of the deviation."""
        flagged = [c for c in self.cells if c.status != "pass"]
        return tuple(sorted(flagged, key=lambda c: (-_ORDER.index(c.status), -abs(c.deviation))))

    @property
    def classes(self) -> tuple[str, ...]:
        """Classes of :attr:`beyond`, worst first, each once."""
        return tuple(dict.fromkeys(c.category for c in self.beyond))

    @property
    def unjudged_splits(self) -> tuple[str, ...]:
        return tuple(s for s in self.splits if not self.split_judged(s)) if self.judged else ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status, "unit": UNIT, "reference": self.reference, "splits": list(self.splits),
            "tolerance": self.tolerance, "fail_tolerance": self.fail_tolerance, "min_expected": MIN_EXPECTED,
            "chance_z": CHANCE_Z, "cells": [c.to_dict() for c in self.cells],
            "too_small": [f"{c} in {s}" for c, s in self.too_small], "message": self.message,
        }

    def to_arrow(self) -> pa.Table:
        """One row per judged cell (the fields of :class:`ShareDeviation`)."""
        rows = [c.to_dict() for c in self.cells]
        types = {"class": pa.string(), "split": pa.string(), "reference": pa.string(), "observed": pa.int64(),
                 "split_images": pa.int64(), "status": pa.string()}
        names = ["class", "split", "reference", "observed", "split_images", "share", "reference_share", "expected",
                 "deviation", "z", "status"]
        return pa.table({k: pa.array([r[k] for r in rows], types.get(k, pa.float64())) for k in names})


def check_tolerances(tolerance: float, fail_tolerance: float | None) -> tuple[float, float]:
    """``tolerance`` and ``fail_tolerance`` (None: twice ``tolerance``), validated."""
    for name, value in (("tolerance", tolerance), ("fail_tolerance", fail_tolerance)):
        if value is None and name == "fail_tolerance":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
            raise ValueError(f"`{name}` must be a number of at least 0. Got {value!r} instead.")
    fail = 2 * tolerance if fail_tolerance is None else fail_tolerance
    if fail < tolerance:
        raise ValueError(f"`fail_tolerance` must be at least `tolerance` ({tolerance}). Got {fail} instead.")
    return float(tolerance), float(fail)


def reference_split(splits: Sequence[str], images: Sequence[int]) -> str | None:
    """``train`` when assigned, else the split with the most images (the first of equals); None if none."""
    if REFERENCE in splits:
        return REFERENCE
    if not splits:
        return None
    return max(zip(splits, images), key=lambda pair: pair[1])[0]


def judge(names: Sequence[str], splits: Sequence[str], holding: np.ndarray, split_images: Sequence[int],
          tolerance: float = TOLERANCE, fail_tolerance: float | None = None) -> Stratification:
    """The stratification of counts: ``holding`` is (splits x classes), the images of each split
    holding each class; ``split_images`` the images of each split (with or without annotations).

    The pure core of :func:`stratification`, for callers that already have the counts.
    """
    tolerance, fail_tolerance = check_tolerances(tolerance, fail_tolerance)
    splits, names = tuple(splits), tuple(names)
    holding = np.asarray(holding, dtype=np.float64).reshape(len(splits), len(names))
    sizes = np.asarray(split_images, dtype=np.float64)
    if len(splits) < 2:
        message = ("Not checked: no image has a split." if not splits else
                   f"Not checked: only one split ({splits[0]}) is assigned, so there is nothing to compare.")
        return Stratification(splits[0] if splits else None, (), (), (), tolerance, fail_tolerance, message)
    reference = reference_split(splits, [int(n) for n in sizes])
    r = splits.index(reference)
    others = tuple(s for s in splits if s != reference)
    if sizes[r] <= 0:
        return Stratification(reference, others, (), (), tolerance, fail_tolerance,
                              f"Not checked: the reference split {reference} has no images.")
    cells, too_small = [], []
    for k, split in enumerate(splits):
        if k == r:
            continue
        for i, name in enumerate(names):
            ref_count, count, n = holding[r, i], holding[k, i], sizes[k]
            if ref_count <= 0:
                continue  # absent from the reference: a missing class, not a share
            ref_share = ref_count / sizes[r]
            expected = ref_share * n
            if expected < MIN_EXPECTED:
                too_small.append((name, split))
                continue
            share = count / n
            deviation = share / ref_share - 1.0
            z = _z(count, ref_count, n, sizes[r])
            beyond_chance = abs(z) > CHANCE_Z
            status: Status = ("fail" if beyond_chance and abs(deviation) > fail_tolerance else
                              "warn" if beyond_chance and abs(deviation) > tolerance else "pass")
            cells.append(ShareDeviation(name, split, reference, int(count), int(n), float(share), float(ref_share),
                                        float(expected), float(deviation), float(z), status))
    cells.sort(key=lambda c: -abs(c.deviation))
    return Stratification(reference, others, tuple(cells), tuple(too_small), tolerance, fail_tolerance)


def _z(count: float, ref_count: float, n: float, ref_n: float) -> float:
    """Standard deviations of ``count`` from its mean when the split's ``n`` images are drawn at
    random from the ``n + ref_n`` images of the split and the reference (hypergeometric)."""
    total, holding = n + ref_n, count + ref_count
    p = holding / total
    variance = n * p * (1 - p) * (total - n) / (total - 1) if total > 1 else 0.0
    gap = count - n * p
    if variance <= 0:
        return 0.0 if gap == 0 else math.copysign(math.inf, gap)
    return gap / math.sqrt(variance)


def stratification(dataset: Dataset, *, tolerance: float = TOLERANCE,
                   fail_tolerance: float | None = None) -> Stratification:
    """Whether ``dataset``'s splits are stratified (see the module docstring).

    ``tolerance`` (0.25): the relative share deviation beyond which a cell warns;
    ``fail_tolerance`` (None: twice ``tolerance``) beyond which it fails. Unassigned images are
    left out.
    """
    check_tolerances(tolerance, fail_tolerance)
    counted = image_counts(dataset, ("split",))
    per_split = dict(zip(counted.column("split").to_pylist(), counted.column("images").to_pylist()))
    splits = [s for s in dataset.splits if s != UNASSIGNED]
    names = dataset.class_names
    holding = np.zeros((len(splits), len(names)))
    position = {s: k for k, s in enumerate(splits)}
    column = {n: i for i, n in enumerate(names)}
    for row in cube(dataset, ("split",)).to_pylist():
        if row["split"] in position:
            holding[position[row["split"]], column[row["class"]]] += row["images"]
    return judge(names, splits, holding, [per_split.get(s, 0) for s in splits], tolerance, fail_tolerance)
