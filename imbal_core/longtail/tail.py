"""The long tail of a dataset (:func:`long_tail`): per-class table of one unit, metrics and groups (:class:`LongTail`).

Puts the parts together: counts per class and split, the metrics over them, the head / tail
part and the LVIS group of every class, the splits each class is absent from.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pyarrow as pa

from ..dataset import Dataset
from ..types import check_split
from .counts import _check_where, class_split_counts
from .groups import GROUPS, LVIS, FrequencyThresholds, Group
from .metrics import DEFAULT_HEAD_SHARE, TailMetrics, _check_share, tail_metrics
from .units import UNITS, PixelSource, Unit, pixel_source, unit_label


@dataclass(frozen=True)
class LongTail:
    """Per-class counts of one unit, their metrics and frequency groups.

    ``classes`` has one row per declared class, largest first: ``class``, ``supercategory``,
    ``critical``, ``count`` (in ``unit``, over ``split`` or all splits), ``share`` of the total,
    ``ratio_to_largest`` (this count / the largest: 1 for the largest, 0.018 for a class 56x
    smaller), ``rank`` (1 = largest), ``part`` (``head`` / ``tail`` / ``absent``), ``training_images``, ``group``
    (LVIS), ``absent_from`` (splits with no instance of the class) and ``count_<split>`` for
    every split (the count in that split). ``counts`` is :func:`class_split_counts` (every unit, long form).
    """

    unit: Unit
    pixel_source: PixelSource
    split: str | None
    where: dict[str, tuple[str, ...]]
    splits: tuple[str, ...]
    classes: pa.Table
    counts: pa.Table
    metrics: TailMetrics
    thresholds: FrequencyThresholds = field(default_factory=FrequencyThresholds)
    #: ``train`` when groups count training images; ``all`` when the dataset has no train split.
    group_basis: Literal["train", "all"] = "train"

    @property
    def unit_label(self) -> str:
        return unit_label(self.unit, self.pixel_source)

    @property
    def rarest(self) -> dict[str, Any] | None:
        """The row of the smallest class with data (``None`` when no class has data)."""
        rows = [r for r in self.classes.to_pylist() if r["count"] > 0]
        return rows[-1] if rows else None

    def groups(self) -> dict[Group, list[str]]:
        out: dict[Group, list[str]] = {g: [] for g in GROUPS}
        for name, group in zip(self.classes.column("class").to_pylist(), self.classes.column("group").to_pylist()):
            out[group].append(name)
        return out

    def absent_from(self) -> dict[str, list[str]]:
        """Split -> classes (with data elsewhere) that have no instance in it."""
        out: dict[str, list[str]] = {s: [] for s in self.splits}
        for name, splits in zip(*(self.classes.column(k).to_pylist() for k in ("class", "absent_from"))):
            for s in splits:
                out[s].append(name)
        return out

    def to_arrow(self) -> pa.Table:
        return self.classes

    def to_pandas(self):
        return self.classes.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "unit_label": self.unit_label,
            "pixel_source": self.pixel_source,
            "split": self.split,
            "where": {k: list(v) for k, v in self.where.items()},
            "group_basis": self.group_basis,
            "thresholds": {"rare_max": self.thresholds.rare_max, "common_max": self.thresholds.common_max},
            "metrics": self.metrics.to_dict(),
            "classes": self.classes.to_pylist(),
        }


def long_tail(
    dataset: Dataset,
    unit: Unit = "instances",
    *,
    split: str | None = None,
    where: Mapping[str, Sequence[str]] | None = None,
    head_share: float = DEFAULT_HEAD_SHARE,
    thresholds: FrequencyThresholds = LVIS,
    counts: pa.Table | None = None,
    critical: Sequence[str] | None = None,
) -> LongTail:
    """The long tail of ``dataset`` in ``unit`` ("instances").

    ``split`` (None = all splits) restricts the counts and metrics to one split; ``where``
    ({condition: values}) to a subset of images, e.g. night only; ``head_share`` (0.8) sets the
    head / tail cut; ``thresholds`` the frequency groups (LVIS). ``counts`` reuses a
    :func:`class_split_counts` table of the same dataset and ``where`` (a unit toggle then only
    re-aggregates). ``critical`` (None: the export's own flags) names the classes marked critical.
    """
    if unit not in UNITS:
        raise ValueError(f"`unit` must be one of {list(UNITS)}. Got {unit!r} instead.")
    source = pixel_source(dataset)
    if unit == "pixels" and source == "none":
        raise ValueError(
            "`unit` 'pixels' is not available for this dataset: "
            + ("classification labels have no extent." if dataset.task == "classification"
               else "it has no masks and no boxes of images of known size.")
            + " Use 'images' or 'instances'."
        )
    _check_share(head_share)
    where_ok = _check_where(dataset, where)
    splits = dataset.splits
    check_split(split, splits)
    if counts is None:
        counts = class_split_counts(dataset, where_ok)
    names = dataset.class_names
    rows = counts.to_pylist()
    per_split: dict[str, dict[str, float]] = {n: {} for n in names}
    instances_in: dict[str, dict[str, int]] = {n: {} for n in names}
    train_images = {n: 0 for n in names}
    all_images = {n: 0 for n in names}
    for r in rows:
        value = r[unit]
        per_split[r["class"]][r["split"]] = 0.0 if value is None else float(value)
        instances_in[r["class"]][r["split"]] = r["instances"]
        all_images[r["class"]] += r["images"]
        if r["split"] == "train":
            train_images[r["class"]] += r["images"]
    basis: Literal["train", "all"] = "train" if "train" in splits else "all"
    group_counts = train_images if basis == "train" else all_images
    values = np.array([per_split[n].get(split, 0.0) if split else sum(per_split[n].values()) for n in names])
    metrics = tail_metrics(names, values, unit, head_share)
    total = values.sum()
    largest = values.max() if len(values) else 0.0
    head, tail = set(metrics.head), set(metrics.tail)
    order = sorted(range(len(names)), key=lambda i: (-values[i], names[i]))
    cats = dataset.categories
    supercategory = dict(zip(names, cats.column("supercategory").to_pylist()))
    if critical is None:
        flagged = dict(zip(names, cats.column("critical").to_pylist()))
    else:
        unknown = sorted(set(critical) - set(names))
        if unknown:
            raise ValueError(f"`critical` names classes the dataset does not have: {unknown}.")
        flagged = {n: n in set(critical) for n in names}
    columns: dict[str, list[Any]] = {k: [] for k in (
        "class", "supercategory", "critical", "count", "share", "ratio_to_largest", "rank", "part",
        "training_images", "group", "absent_from")}
    split_columns: dict[str, list[float]] = {s: [] for s in splits}
    for rank, i in enumerate(order, start=1):
        name, v = names[i], float(values[i])
        columns["class"].append(name)
        columns["supercategory"].append(supercategory[name])
        columns["critical"].append(bool(flagged[name]))
        columns["count"].append(v)
        columns["share"].append(v / total if total > 0 else math.nan)
        columns["ratio_to_largest"].append(v / largest if largest > 0 else math.nan)
        columns["rank"].append(rank)
        columns["part"].append("head" if name in head else "tail" if name in tail else "absent")
        columns["training_images"].append(group_counts[name])
        columns["group"].append(thresholds.group(group_counts[name]))
        has_data = sum(instances_in[name].values()) > 0
        columns["absent_from"].append([s for s in splits if has_data and instances_in[name].get(s, 0) == 0])
        for s in splits:
            split_columns[s].append(per_split[name].get(s, 0.0))
    table = pa.table({
        "class": pa.array(columns["class"], pa.string()),
        "supercategory": pa.array(columns["supercategory"], pa.string()),
        "critical": pa.array(columns["critical"], pa.bool_()),
        "count": pa.array(columns["count"], pa.float64()),
        "share": pa.array(columns["share"], pa.float64()),
        "ratio_to_largest": pa.array(columns["ratio_to_largest"], pa.float64()),
        "rank": pa.array(columns["rank"], pa.int64()),
        "part": pa.array(columns["part"], pa.string()),
        "training_images": pa.array(columns["training_images"], pa.int64()),
        "group": pa.array(columns["group"], pa.string()),
        "absent_from": pa.array(columns["absent_from"], pa.list_(pa.string())),
        **{f"count_{s}": pa.array(split_columns[s], pa.float64()) for s in splits},
    })
    return LongTail(unit=unit, pixel_source=source, split=split, where=where_ok, splits=splits, classes=table,
                    counts=counts, metrics=metrics, thresholds=thresholds, group_basis=basis)
