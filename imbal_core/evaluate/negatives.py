"""Hard negatives: the confident mistakes to collect or annotate next.

- **Detection** (and instance masks): predictions scoring at least ``min_score`` that match no
  ground truth of their own class (IoU below the evaluation's ``iou``; a duplicate of a found
  object is not one), with the class of the other object they overlap most
  (``confused_with``, when that IoU is at least ``overlap``; else ``background``):
  "Wheelchair predicted on a Person, score 0.91". Predictions on a crowd region of their class
  are not hard negatives.
- **Classification**: wrong predictions whose predicted-class score is at least ``min_score``;
  ``confused_with`` is the true class. Without scores, every wrong prediction is listed.

Ranked per predicted class, highest score first (``rank`` 1 = the most confident mistake of that
class); the classes with the most hard negatives come first. The table is what the CSV export holds: ``predicted``, ``rank``, ``score``,
``confused_with``, ``iou`` (with the confused object; null for classification), ``image``
(the export's id or path), ``file_name``, ``split``, the box ``x``, ``y``, ``w``, ``h``
(null for classification), then the image's conditions.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import Dataset
from ._common import BACKGROUND, check_fraction
from .base import EvaluationBase
from .classification import ClassificationEvaluation
from .detection import DetectionEvaluation
from .segmentation import SegmentationEvaluation

COLUMNS = ("predicted", "rank", "score", "confused_with", "iou", "image", "file_name", "split", "x", "y", "w", "h")


@dataclass(frozen=True, eq=False)
class HardNegatives:
    """The ranked list (``table``, columns in :data:`COLUMNS` then conditions) and how it was chosen."""

    table: pa.Table
    min_score: float
    overlap: float | None

    def __len__(self) -> int:
        return self.table.num_rows

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self):
        return self.table.to_pandas()

    def per_class(self) -> dict[str, int]:
        """How many hard negatives each predicted class has, most first."""
        if not self.table.num_rows:
            return {}
        counts = pc.value_counts(self.table.column("predicted")).to_pylist()
        return dict(sorted(((c["values"], c["counts"]) for c in counts), key=lambda kv: (-kv[1], kv[0])))

    def to_dict(self) -> list[dict[str, Any]]:
        return self.table.to_pylist()


def hard_negatives(evaluation: EvaluationBase, dataset: Dataset, *, min_score: float | None = None, overlap: float = 0.1,
                   limit_per_class: int | None = None) -> HardNegatives:
    """The hard negatives of ``evaluation`` (see the module docstring).

    ``min_score`` (None: the evaluation's score threshold, 0.5 for classification): the lowest
    score listed. ``overlap`` (0.1): the IoU from which an overlapped object of another class is
    named in ``confused_with``. ``limit_per_class`` (None: all): keep the top N of each class.
    """
    overlap = check_fraction("overlap", overlap)
    if limit_per_class is not None and (not isinstance(limit_per_class, int) or limit_per_class < 1):
        raise ValueError(f"`limit_per_class` must be a whole number of at least 1. Got {limit_per_class!r} instead.")
    default = evaluation.score_threshold if isinstance(evaluation, (DetectionEvaluation, SegmentationEvaluation)) else 0.5
    min_score = float(default if min_score is None or (isinstance(min_score, float) and np.isnan(min_score)) else min_score)
    if np.isnan(min_score):
        min_score = 0.5
    if min_score < 0:
        raise ValueError(f"`min_score` must be at least 0. Got {min_score} instead.")
    if isinstance(evaluation, SegmentationEvaluation):
        if evaluation.instances is None:
            return HardNegatives(_empty(dataset), min_score, overlap)
        evaluation = evaluation.instances
    names = np.array(list(evaluation.class_names) + [BACKGROUND], dtype=object)
    if isinstance(evaluation, ClassificationEvaluation):
        rows = _classification(evaluation, names, min_score)
    elif isinstance(evaluation, DetectionEvaluation):
        rows = _detection(evaluation, names, min_score, overlap)
    else:
        raise TypeError(f"`evaluation` must be a result of imbal_core.evaluate. Got {type(evaluation).__name__} instead.")
    # the evaluation's classes: the dataset's, then any class only the predictions name
    table = _finish(rows, dataset, limit_per_class, names[:-1])
    return HardNegatives(table, min_score, None if isinstance(evaluation, ClassificationEvaluation) else overlap)


def _detection(evaluation: DetectionEvaluation, names: np.ndarray, min_score: float, overlap: float) -> dict[str, np.ndarray]:
    d = evaluation.detections
    score = d.column("score").to_numpy()
    best_same = d.column("best_same_iou").to_numpy()
    status = np.array(d.column("status").to_pylist(), dtype=object)
    chosen = (score >= min_score) & (best_same < evaluation.iou) & (status != "ignored")
    idx = np.flatnonzero(chosen)
    other = d.column("overlap_category").to_numpy(zero_copy_only=False)
    other = np.where(np.isnan(other.astype(np.float64)), -1, other).astype(np.int64)[idx]
    other_iou = d.column("overlap_iou").to_numpy()[idx]
    named = (other >= 0) & (other_iou >= overlap) & (other_iou > 0)
    return {
        "category": d.column("category_id").to_numpy().astype(np.int64)[idx],
        "score": score[idx],
        "confused_with": np.where(named, names[np.maximum(other, 0)], BACKGROUND),
        "iou": np.where(named, other_iou, np.nan),
        "image_id": d.column("image_id").to_numpy()[idx],
        **{c: d.column(c).to_numpy()[idx] for c in ("x", "y", "w", "h")},
    }


def _classification(evaluation: ClassificationEvaluation, names: np.ndarray, min_score: float) -> dict[str, np.ndarray]:
    items = evaluation.items
    true = items.column("true").to_numpy().astype(np.int64)
    pred = items.column("predicted").to_numpy().astype(np.int64)
    score = items.column("score").to_numpy(zero_copy_only=False).astype(np.float64)
    wrong = true != pred
    no_scores = np.isnan(score).all()
    chosen = wrong if no_scores else wrong & (score >= min_score)
    idx = np.flatnonzero(chosen)
    nan = np.full(len(idx), np.nan)
    return {"category": pred[idx], "score": score[idx], "confused_with": names[true[idx]], "iou": nan,
            "image_id": items.column("image_id").to_numpy()[idx], "x": nan, "y": nan, "w": nan, "h": nan}


def _finish(rows: dict[str, np.ndarray], dataset: Dataset, limit_per_class: int | None,
            names: np.ndarray | None = None) -> pa.Table:
    """Classes with the most hard negatives first; within a class, highest score first.
    ``names`` (None: the dataset's classes): the class names ``rows["category"]`` indexes."""
    names = np.array(dataset.class_names, dtype=object) if names is None else names
    category, score = rows["category"], rows["score"]
    per_class = np.bincount(category, minlength=len(names)) if len(category) else np.zeros(0, np.int64)
    class_rank = np.argsort(np.argsort(-per_class, kind="stable"), kind="stable")
    group = class_rank[category] if len(category) else category
    order = np.lexsort((np.arange(len(score)), -np.nan_to_num(score, nan=-np.inf), group))
    cat_sorted = group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(cat_sorted)) + 1] if len(order) else np.zeros(0, np.int64)
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(order)])) if len(order) else np.zeros(0, np.int64)
    rank = np.arange(len(order)) - group_start + 1
    keep = rank <= limit_per_class if limit_per_class is not None else np.ones(len(order), bool)
    order, rank = order[keep], rank[keep]
    image_id = rows["image_id"][order]
    images = dataset.images.take(pa.array(image_id, pa.int64()))

    def floats(values: np.ndarray) -> pa.Array:
        values = np.asarray(values, dtype=np.float64)
        return pa.array(values, pa.float64(), mask=np.isnan(values))

    columns = {
        "predicted": pa.array(names[category[order]].tolist(), pa.string()),
        "rank": pa.array(rank, pa.int64()),
        "score": floats(score[order]),
        "confused_with": pa.array(np.asarray(rows["confused_with"], dtype=object)[order].tolist(), pa.string()),
        "iou": floats(rows["iou"][order]),
        "image": images.column("source_id"),
        "file_name": images.column("file_name"),
        "split": images.column("split").combine_chunks().dictionary_decode() if images.num_rows else pa.array([], pa.string()),
        **{c: floats(rows[c][order]) for c in ("x", "y", "w", "h")},
    }
    for name in dataset.conditions:
        col = images.column(name).combine_chunks()
        columns[name] = col.dictionary_decode() if pa.types.is_dictionary(col.type) else col
    columns["image_id"] = pa.array(image_id, pa.int64())
    return pa.table(columns)


def _empty(dataset: Dataset) -> pa.Table:
    empty = {"category": np.zeros(0, np.int64), "score": np.zeros(0), "confused_with": np.zeros(0, object),
             "iou": np.zeros(0), "image_id": np.zeros(0, np.int64), **{c: np.zeros(0) for c in "xywh"}}
    return _finish(empty, dataset, None)
