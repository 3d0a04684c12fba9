"""The unlabelled pool: one row per image with its uncertainty and the classes it is predicted to hold.

Built from a model's predictions (classification score vectors, or detections grouped into
objects), optionally matched to an export for file names, groups and conditions.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..io.predictions import Predictions, match_predictions
from .objects import _group_objects, _object_uncertainty
from .scoring import AGGREGATES, RULES, Aggregate, Rule, uncertainty

if TYPE_CHECKING:
    from ..dataset import Dataset


@dataclass(frozen=True, eq=False)
class Pool:
    """One row per pool image with its uncertainty and predicted classes.

    ``table`` columns: ``image`` (the image as the predictions name it), ``image_id`` (in the
    matched export, else null), ``file_name``, ``group``, one column per condition, ``predictions``
    (boxes or 1), ``uncertainty`` (0..1; with ``aggregate="sum"`` up to the number of objects),
    ``classes`` (list of the classes it is predicted to hold, most probable first),
    ``class_scores`` (their probabilities), ``class_counts`` (objects of each, detection).
    """

    table: pa.Table
    kind: str
    rule: Rule
    class_names: tuple[str, ...]
    conditions: tuple[str, ...]
    source: str = ""

    @property
    def size(self) -> int:
        return self.table.num_rows


def build_pool(predictions: "Predictions", dataset: "Dataset | None" = None, *, rule: Rule = "entropy",
               aggregate: Aggregate = "max", class_threshold: float = 0.3, iou: float = 0.5) -> Pool:
    """Score every pool image (see :mod:`imbal_core.active`).

    ``predictions``: from :func:`~imbal_core.io.predictions.read_predictions`, matched to
    ``dataset`` when one lists the pool's images (then the dataset's images without predictions
    join the pool with uncertainty 0, and file names, groups and conditions come along).
    """
    if rule not in RULES:
        raise ValueError(f"`rule` must be one of {list(RULES)}. Got {rule!r} instead.")
    if aggregate not in AGGREGATES:
        raise ValueError(f"`aggregate` must be one of {list(AGGREGATES)}. Got {aggregate!r} instead.")
    if not 0 < class_threshold <= 1:
        raise ValueError(f"`class_threshold` must be above 0 and at most 1. Got {class_threshold!r} instead.")
    if not 0 < iou <= 1:
        raise ValueError(f"`iou` must be above 0 and at most 1. Got {iou!r} instead.")
    if dataset is not None and predictions.matched_to != (dataset.key or dataset.summary_line()):
        predictions = match_predictions(predictions, dataset)
    table = predictions.table
    if predictions.kind == "classification":
        if not predictions.has_scores:
            raise ValueError(f"{predictions.source}: the classification predictions have no per-class score columns "
                             "(score_<class>); active learning needs every class's score.")
        rows = _classification_rows(predictions, rule, class_threshold)
        names = tuple(predictions.class_names)
    else:
        names, classes = _class_index(predictions, dataset)
        rows = _detection_rows(table, names, classes, rule, aggregate, class_threshold, iou)
    pool = pa.table(rows)
    conditions: tuple[str, ...] = ()
    if dataset is not None:
        pool, conditions = _with_metadata(pool, dataset)
    else:
        pool = pool.append_column("file_name", pool.column("image")).append_column(
            "group", pa.nulls(pool.num_rows, pa.string()))
    order = ["image", "image_id", "file_name", "group", *conditions, "predictions", "uncertainty", "classes",
             "class_scores", "class_counts"]
    return Pool(pool.select(order), predictions.kind, rule, names, conditions, predictions.source)


def _class_index(predictions: "Predictions", dataset: "Dataset | None") -> tuple[tuple[str, ...], np.ndarray]:
    """The class names and each detection's index into them (-1: a class the matched export lacks)."""
    table = predictions.table
    if dataset is not None:
        ids = pc.fill_null(table.column("category_id"), -1).to_numpy(zero_copy_only=False)
        return tuple(dataset.class_names), ids.astype(np.int64)
    labels = table.column("label").to_pylist()
    names = tuple(sorted(set(labels)))
    index = {n: i for i, n in enumerate(names)}
    return names, np.array([index[lbl] for lbl in labels], dtype=np.int64)


def _normalised(scores: np.ndarray) -> np.ndarray:
    scores = np.clip(np.nan_to_num(scores, nan=0.0), 0.0, None)
    sums = scores.sum(axis=1, keepdims=True)
    uniform = np.full_like(scores, 1.0 / max(scores.shape[1], 1))
    return np.where(sums > 0, scores / np.where(sums > 0, sums, 1.0), uniform)


def _classification_rows(predictions: "Predictions", rule: Rule, threshold: float) -> dict[str, Any]:
    table = predictions.table
    p = _normalised(predictions.score_matrix())
    score = uncertainty(p, rule, p.shape[1])
    held = p >= threshold
    held[np.arange(len(p)), p.argmax(axis=1)] = True  # the top class always counts
    order = np.argsort(-p, axis=1, kind="stable")
    kept = np.take_along_axis(held, order, axis=1)
    offsets = pa.array(np.r_[0, np.cumsum(kept.sum(axis=1))].astype(np.int32))
    names = pa.array(list(predictions.class_names), pa.string())
    return {"image": table.column("image"), "image_id": table.column("image_id"),
            "predictions": pa.array(np.ones(len(p), np.int64)), "uncertainty": pa.array(score, pa.float64()),
            "classes": pa.ListArray.from_arrays(offsets, pc.take(names, pa.array(order[kept], pa.int64()))),
            "class_scores": pa.ListArray.from_arrays(offsets, pa.array(np.take_along_axis(p, order, axis=1)[kept].round(4))),
            "class_counts": pa.ListArray.from_arrays(offsets, pa.array(np.ones(int(kept.sum()), np.int64)))}


def _detection_rows(table: pa.Table, names: tuple[str, ...], cls: np.ndarray, rule: Rule, aggregate: Aggregate,
                    threshold: float, iou: float) -> dict[str, Any]:
    encoded = pc.dictionary_encode(table.column("image").combine_chunks())
    keys = encoded.dictionary  # images in order of first appearance
    image = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    n_images = len(keys)
    first_row = np.full(n_images, -1, dtype=np.int64)
    first_row[image[::-1]] = np.arange(len(image))[::-1]
    score = table.column("score").to_numpy(zero_copy_only=False).astype(np.float64)
    boxes = np.stack([table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in ("x", "y", "w", "h")],
                     axis=1) if table.num_rows else np.zeros((0, 4))
    valid = (cls >= 0) & np.isfinite(score)
    objects = _group_objects(image[valid], boxes[valid], score[valid], cls[valid], len(names), iou)
    values = _object_uncertainty(objects, rule, len(names) + 1)
    per_object_image = objects.image
    counts_per_image = np.bincount(per_object_image, minlength=n_images)
    if aggregate == "max":
        per_image = np.zeros(n_images)
        np.maximum.at(per_image, per_object_image, values)
    else:
        per_image = np.bincount(per_object_image, weights=values, minlength=n_images)
        if aggregate == "mean":
            per_image = per_image / np.maximum(counts_per_image, 1)
    # Classes an image holds: objects where the class's probability reaches the threshold.
    held = objects.p >= threshold
    img, cat, prob = per_object_image[objects.obj[held]], objects.cls[held], objects.p[held]
    n_classes = max(len(names), 1)
    key, inverse, counts = np.unique(img * n_classes + cat, return_inverse=True, return_counts=True)
    best = np.zeros(len(key))
    np.maximum.at(best, inverse, prob)
    img_of, cat_of = key // n_classes, key % n_classes
    order = np.lexsort((cat_of, -best, img_of))
    img_of, cat_of, best, counts = img_of[order], cat_of[order], best[order], counts[order]
    offsets = pa.array(np.searchsorted(img_of, np.arange(n_images + 1)).astype(np.int32))
    name_array = pa.array(list(names), pa.string())
    return {"image": keys.cast(pa.string()), "image_id": pc.take(table.column("image_id"), pa.array(first_row)),
            "predictions": pa.array(np.bincount(image, minlength=n_images), pa.int64()),
            "uncertainty": pa.array(per_image, pa.float64()),
            "classes": pa.ListArray.from_arrays(offsets, pc.take(name_array, pa.array(cat_of, pa.int64()))),
            "class_scores": pa.ListArray.from_arrays(offsets, pa.array(np.round(best, 4), pa.float64())),
            "class_counts": pa.ListArray.from_arrays(offsets, pa.array(counts, pa.int64()))}


def _with_metadata(pool: pa.Table, dataset: "Dataset") -> tuple[pa.Table, tuple[str, ...]]:
    """Add file name, group and conditions from the dataset; its images without predictions join with 0."""
    images = dataset.images
    n = images.num_rows
    ids = pool.column("image_id").to_numpy(zero_copy_only=False)
    known = pool.column("image_id").is_valid().to_numpy(zero_copy_only=False)
    seen = np.zeros(n, dtype=bool)
    seen[ids[known].astype(np.int64)] = True
    missing = np.flatnonzero(~seen)
    if len(missing):
        extra = pa.table({
            "image": pc.take(images.column("source_id"), pa.array(missing)),
            "image_id": pa.array(missing, pa.int64()),
            "predictions": pa.array(np.zeros(len(missing), np.int64)),
            "uncertainty": pa.array(np.zeros(len(missing))),
            "classes": pa.array([[] for _ in missing], pa.list_(pa.string())),
            "class_scores": pa.array([[] for _ in missing], pa.list_(pa.float64())),
            "class_counts": pa.array([[] for _ in missing], pa.list_(pa.int64())),
        })
        pool = pa.concat_tables([pool, extra.select(pool.schema.names).cast(pool.schema)])
    ids = pool.column("image_id")
    take = pc.fill_null(ids, 0)
    valid = ids.is_valid()
    for name in ("file_name", "group", *dataset.conditions):
        column = images.column(name).combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        values = pc.if_else(valid, pc.take(column, take), pa.scalar(None, column.type)) if n else \
            pa.nulls(pool.num_rows, column.type)
        if name == "file_name":
            values = pc.coalesce(values, pool.column("image"))
        pool = pool.append_column(name, values)
    return pool, tuple(dataset.conditions)
