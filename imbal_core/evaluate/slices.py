"""Per-class metrics sliced by a condition (``time_of_day``, ``weather`` ...) or by split.

Every evaluation carries additive per-(image, class) counts (tp, fp, fn: images, instances or
pixels). A slice sums them over the images whose condition has one value, so the cells of a
class add up to its totals, exactly; metrics are then computed from the sums (precision,
recall, F1, and IoU for segmentation). AP (detection) and PR AUC (classification) are computed
again on each slice's images, because they do not add up.

Cells with a support below ``min_support`` are kept and flagged (``small_support``): a recall
of 0.33 from 9 objects is a warning, not a measurement. Images whose condition is empty fall in
the value ``(none)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import Dataset
from ._common import divide, per_class
from .base import EvaluationBase
from .classification import ClassificationEvaluation
from .detection import DetectionEvaluation
from .ranking import pr_auc_per_class
from .segmentation import SegmentationEvaluation

NONE_VALUE = "(none)"
#: Metrics a slice table can hold, in display order.
SLICE_METRICS = ("recall", "precision", "f1", "iou", "ap", "ap50", "pr_auc")


@dataclass(frozen=True, eq=False)
class SliceTable:
    """One row per (value, class): ``value``, ``class``, ``category_id``, ``images`` (evaluated
    images with that value), ``support``, ``predicted``, ``tp``, ``fp``, ``fn``, ``precision``,
    ``recall``, ``f1``, ``iou``, ``ap``, ``ap50``, ``pr_auc`` (null where not applicable),
    ``small_support``. Values appear in order of images, most first."""

    by: str
    values: tuple[str, ...]
    table: pa.Table
    min_support: int

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self):
        return self.table.to_pandas()

    def pivot(self, metric: str = "recall"):
        """A class x value DataFrame of one metric (what the heatmap shows)."""
        if metric not in SLICE_METRICS:
            raise ValueError(f"`metric` must be one of {list(SLICE_METRICS)}. Got {metric!r} instead.")
        df = self.table.to_pandas()
        out = df.pivot(index="class", columns="value", values=metric)
        names = list(dict.fromkeys(df["class"]))
        return out.reindex(index=names, columns=list(self.values))

    def support_pivot(self):
        df = self.table.to_pandas()
        names = list(dict.fromkeys(df["class"]))
        return df.pivot(index="class", columns="value", values="support").reindex(index=names, columns=list(self.values))

    def to_dict(self) -> list[dict[str, Any]]:
        rows = self.table.drop_columns(["category_id"]).to_pylist()
        for row in rows:
            row["condition"] = self.by
            for k, v in row.items():
                if isinstance(v, float) and not np.isfinite(v):
                    row[k] = None
        return rows


def slice_columns(dataset: Dataset) -> list[str]:
    """What results can be sliced by: ``split`` and each condition."""
    return ["split", *dataset.conditions]


def image_values(dataset: Dataset, by: str) -> tuple[np.ndarray, list[str]]:
    """Each image's value code (index into the returned values; ``(none)`` for empty)."""
    allowed = slice_columns(dataset)
    if by not in allowed:
        raise ValueError(f"`by` must be one of {allowed}. Got {by!r} instead.")
    column = dataset.images.column(by).combine_chunks()
    text = column.dictionary_decode() if pa.types.is_dictionary(column.type) else pc.cast(column, pa.string())
    text = pc.fill_null(text, NONE_VALUE)
    encoded = pc.dictionary_encode(text)
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def by_condition(evaluation: EvaluationBase, dataset: Dataset, by: str, *, min_support: int = 30, ranked: bool = True) -> SliceTable:
    """Slice ``evaluation`` (any task) by the image column ``by`` (see the module docstring).

    ``min_support`` (30): cells with fewer ground-truth items are flagged ``small_support``.
    ``ranked`` (True): recompute AP / PR AUC per slice (costs a COCOeval accumulation or a sort
    per value); False leaves those columns null.
    """
    if not isinstance(min_support, (int, np.integer)) or isinstance(min_support, bool) or min_support < 0:
        raise ValueError(f"`min_support` must be a whole number of at least 0. Got {min_support!r} instead.")
    codes, values = image_values(dataset, by)
    V, names = len(values), list(evaluation.class_names)
    C = len(names)
    counts = evaluation.counts
    img = counts.column("image_id").to_numpy()
    cat = counts.column("category_id").to_numpy().astype(np.int64)
    cell = codes[img] * C + cat if len(img) else np.zeros(0, np.int64)
    sums = {k: np.bincount(cell, weights=counts.column(k).to_numpy().astype(np.float64), minlength=V * C).reshape(V, C)
            for k in ("tp", "fp", "fn")}
    integer = counts.schema.field("tp").type != pa.float64()
    if integer:
        sums = {k: v.astype(np.int64) for k, v in sums.items()}
    evaluated = np.asarray(evaluation.image_ids, dtype=np.int64)
    images_per_value = np.bincount(codes[evaluated], minlength=V) if len(evaluated) else np.zeros(V, np.int64)
    ranked_cols = _ranked(evaluation, codes, evaluated, V, C) if ranked else {}
    order = np.argsort(-images_per_value, kind="stable")
    rows: dict[str, list] = {k: [] for k in ("value", "class", "category_id", "images", "support", "predicted", "tp", "fp",
                                             "fn", *SLICE_METRICS, "small_support")}
    is_pixels = evaluation.task == "segmentation"
    for v in order.tolist():
        tp, fp, fn = sums["tp"][v], sums["fp"][v], sums["fn"][v]
        m = per_class(tp + fn, tp + fp, tp)
        iou = divide(tp, tp + fp + fn) if is_pixels else np.full(C, np.nan)
        for c in range(C):
            rows["value"].append(values[v])
            rows["class"].append(names[c])
            rows["category_id"].append(c)
            rows["images"].append(int(images_per_value[v]))
            rows["support"].append(tp[c] + fn[c])
            rows["predicted"].append(tp[c] + fp[c])
            rows["tp"].append(tp[c]), rows["fp"].append(fp[c]), rows["fn"].append(fn[c])
            for metric, arr in (("precision", m.precision), ("recall", m.recall), ("f1", m.f1), ("iou", iou)):
                rows[metric].append(float(arr[c]))
            for metric in ("ap", "ap50", "pr_auc"):
                arr = ranked_cols.get(metric)
                rows[metric].append(float(arr[v, c]) if arr is not None else float("nan"))
            rows["small_support"].append(bool(tp[c] + fn[c] < min_support))
    count_type = pa.int64() if integer else pa.float64()
    table = pa.table({
        "value": pa.array(rows["value"], pa.string()),
        "class": pa.array(rows["class"], pa.string()),
        "category_id": pa.array(rows["category_id"], pa.int32()),
        "images": pa.array(rows["images"], pa.int64()),
        **{k: pa.array(rows[k], count_type) for k in ("support", "predicted", "tp", "fp", "fn")},
        **{k: pa.array(rows[k], pa.float64(), mask=np.isnan(np.asarray(rows[k], dtype=np.float64))) for k in SLICE_METRICS},
        "small_support": pa.array(rows["small_support"], pa.bool_()),
    })
    return SliceTable(by, tuple(values[v] for v in order.tolist()), table, int(min_support))


def _ranked(evaluation: EvaluationBase, codes: np.ndarray, evaluated: np.ndarray, V: int, C: int) -> dict[str, np.ndarray]:
    """AP / AP50 (detection, instance masks) or PR AUC (classification) per (value, class)."""
    out: dict[str, np.ndarray] = {}
    coco_result = evaluation.coco if isinstance(evaluation, (DetectionEvaluation, SegmentationEvaluation)) else None
    if coco_result is not None:
        ap, ap50 = np.full((V, C), np.nan), np.full((V, C), np.nan)
        for v in range(V):
            ids = evaluated[codes[evaluated] == v]
            if len(ids):
                result = coco_result.per_class_for(ids)
                ap[v], ap50[v] = result["ap"], result["ap50"]
        out["ap"], out["ap50"] = ap, ap50
    if isinstance(evaluation, ClassificationEvaluation) and evaluation.scores is not None:
        true = evaluation.items.column("true").to_numpy().astype(np.int64)
        value_of_item = codes[evaluation.image_ids]
        pr = np.full((V, C), np.nan)
        for v in range(V):
            sel = value_of_item == v
            if sel.any():
                pr[v] = pr_auc_per_class(true[sel], evaluation.scores[sel])
        out["pr_auc"] = pr
    return out


@dataclass(frozen=True)
class Gap:
    """A class's best and worst value of a metric across a condition's values."""

    name: str
    metric: str
    best: str
    best_value: float
    worst: str
    worst_value: float
    worst_support: float
    small_support: bool

    @property
    def size(self) -> float:
        return self.best_value - self.worst_value

    def text(self) -> str:
        """``Wheelchair recall: day 0.57, night 0.33 (n = 9, too few to trust)``."""
        note = ", too few to trust" if self.small_support else ""
        return (f"{self.name} {self.metric}: {self.best} {self.best_value:.2f}, {self.worst} {self.worst_value:.2f} "
                f"(n = {self.worst_support:,.0f}{note})")


def gaps(slices: SliceTable, metric: str = "recall", limit: int = 3) -> list[Gap]:
    """The classes whose ``metric`` differs most between two values of the condition: gaps whose
    worse cell has enough support first, then the flagged small-support ones; widest first within each.
    Only cells with ground truth count.
    """
    if metric not in SLICE_METRICS:
        raise ValueError(f"`metric` must be one of {list(SLICE_METRICS)}. Got {metric!r} instead.")
    found = []
    df = slices.table.to_pandas()
    df = df[(df["support"] > 0) & df[metric].notna()]
    for name, group in df.groupby("class", sort=False):
        if len(group) < 2:
            continue
        hi, lo = group.loc[group[metric].idxmax()], group.loc[group[metric].idxmin()]
        found.append(Gap(str(name), metric, str(hi["value"]), float(hi[metric]), str(lo["value"]), float(lo[metric]),
                         float(lo["support"]), bool(lo["small_support"])))
    found.sort(key=lambda g: (g.small_support, -g.size))
    return [g for g in found if g.size > 0][:limit]
