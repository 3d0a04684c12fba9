"""Counts by parent (roll-up) and merge suggestions for classes below a minimum.

**Suggestions** (:func:`suggest_merges`): every class below ``min_instances`` whose parent would
pass: the parent's own class (if any) plus all its children below the minimum, merged together,
reach ``min_instances``. A class joins the class its parent stands for (:mod:`.merge`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..cube import class_totals
from ..dataset import Dataset
from ..longtail import Unit, available_units, long_tail
from .mapping import Hierarchy
from .merge import _target_of


def roll_up(dataset: Dataset, hierarchy: Hierarchy, unit: Unit = "instances") -> pa.Table:
    """One row per class with its parent: ``parent`` (null when it has none), ``class``, ``count``.

    Counts are in ``unit``; ``images`` for a parent is not the sum of its children (an image may
    hold several), so use :func:`parent_images` for the parent's distinct images.
    """
    lt = long_tail(dataset, unit) if unit in available_units(dataset) else long_tail(dataset, "instances")
    names = lt.classes.column("class").to_pylist()
    counts = lt.classes.column("count").to_pylist()
    return pa.table({
        "parent": pa.array([hierarchy.parents.get(n) for n in names], pa.string()),
        "class": pa.array(names, pa.string()),
        "count": pa.array(counts, pa.float64()),
    })


def parent_images(dataset: Dataset, hierarchy: Hierarchy) -> dict[str, int]:
    """Parent -> distinct images holding any of its children."""
    ic = dataset.image_classes
    names = np.array(dataset.class_names, dtype=object)
    parent_of = np.array([hierarchy.parents.get(n) for n in names], dtype=object)
    if ic.num_rows == 0:
        return {}
    parents = parent_of[ic.column("category_id").to_numpy()]
    images = ic.column("image_id").to_numpy()
    out: dict[str, int] = {}
    for p in set(v for v in parent_of if v is not None):
        out[p] = int(len(np.unique(images[parents == p])))
    return out


@dataclass(frozen=True)
class MergeSuggestions:
    """Every class with a parent: ``class``, ``parent``, ``target`` (the class it would join),
    ``instances``, ``target_instances`` (the target's own, 0 when it is a new class),
    ``merged_instances`` (for a class below the minimum: the target's own plus every sparse
    sibling, merged; null otherwise), ``below`` (under the minimum),
    ``suggested`` and ``reason``."""

    min_instances: int
    table: pa.Table

    def merges(self) -> dict[str, str]:
        """The suggested merges: child -> parent."""
        rows = self.table.filter(self.table.column("suggested")).to_pylist()
        return {r["class"]: r["parent"] for r in rows}

    @property
    def below_count(self) -> int:
        """Classes (with a parent) under the minimum."""
        return int(pc.sum(pc.cast(self.table.column("below"), pa.int64())).as_py() or 0)

    @property
    def suggested_count(self) -> int:
        """Classes suggested for a merge."""
        return int(pc.sum(pc.cast(self.table.column("suggested"), pa.int64())).as_py() or 0)

    @property
    def smallest_instances(self) -> int:
        """The smallest non-zero instance count of these classes (0 when none has any)."""
        counts = self.table.column("instances")
        smallest = pc.min(pc.filter(counts, pc.greater(counts, 0))).as_py()
        return int(smallest or 0)

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self):
        return self.table.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {"min_instances": self.min_instances, "suggestions": self.table.to_pylist(), "merges": self.merges()}


def suggest_merges(dataset: Dataset, hierarchy: Hierarchy, min_instances: int = 50,
                   critical: Sequence[str] | None = None) -> MergeSuggestions:
    """Classes below ``min_instances`` (50) instances whose parent would pass (module docstring).

    ``critical`` (None: the export's flags): classes never suggested — a rare class flagged as
    important is to be collected, not merged away."""
    if isinstance(min_instances, bool) or not isinstance(min_instances, (int, np.integer)) or min_instances < 1:
        raise ValueError(f"`min_instances` must be a whole number of at least 1. Got {min_instances!r} instead.")
    totals = class_totals(dataset)
    count = dict(zip(totals.column("class").to_pylist(), totals.column("instances").to_pylist()))
    names = dataset.class_names
    keep = set(dataset.critical_classes if critical is None else critical)
    sparse_by_target: dict[str, list[str]] = {}
    for child, parent in hierarchy.parents.items():
        target = _target_of(parent, names)
        if count[child] < min_instances and target != child and child not in keep:
            sparse_by_target.setdefault(target, []).append(child)
    rows: dict[str, list] = {k: [] for k in ("class", "parent", "target", "instances", "target_instances",
                                            "merged_instances", "below", "suggested", "reason")}
    for child in sorted(hierarchy.parents, key=lambda n: (count[n], n)):
        parent = hierarchy.parents[child]
        target = _target_of(parent, names)
        own = count.get(target, 0)
        merged = own + sum(count[c] for c in sparse_by_target.get(target, []))
        below = count[child] < min_instances
        if target == child:
            suggested, reason = False, "it is the parent's own class"
        elif not below:
            suggested, reason = False, f"has {count[child]:,} instances (at least {min_instances:,})"
        elif child in keep:
            suggested, reason = False, "flagged critical: collect more instead of merging it away"
        elif count[child] == 0:
            suggested, reason = False, "has no instances: nothing to merge"
        elif merged >= min_instances:
            joins = "joins the class" if target in names else "joins the new class"
            suggested, reason = True, f"{joins} {target!r}: {merged:,} instances with its sparse siblings"
        else:
            suggested, reason = False, f"{target!r} would still have only {merged:,} instances"
        for key, value in (("class", child), ("parent", parent), ("target", target), ("instances", count[child]),
                           ("target_instances", own), ("merged_instances", merged if below and target != child else None),
                           ("below", below),
                           ("suggested", suggested), ("reason", reason)):
            rows[key].append(value)
    table = pa.table({
        "class": pa.array(rows["class"], pa.string()), "parent": pa.array(rows["parent"], pa.string()),
        "target": pa.array(rows["target"], pa.string()), "instances": pa.array(rows["instances"], pa.int64()),
        "target_instances": pa.array(rows["target_instances"], pa.int64()),
        "merged_instances": pa.array(rows["merged_instances"], pa.int64()),
        "below": pa.array(rows["below"], pa.bool_()), "suggested": pa.array(rows["suggested"], pa.bool_()),
        "reason": pa.array(rows["reason"], pa.string()),
    })
    return MergeSuggestions(int(min_instances), table)
