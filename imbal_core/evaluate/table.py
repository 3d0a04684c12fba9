"""The per-class table every evaluation returns, and the image selection they share.

Columns (one row per class of the dataset, in ``category_id`` order, then any class only the
predictions name; null where a metric does not apply to the task or is undefined):

``class``, ``category_id`` (null for a class only the predictions name), ``critical``;
``support`` (ground truth: images, instances or pixels), ``predicted``, ``tp``, ``fp``, ``fn``;
``precision``, ``recall``, ``f1``;
``pr_auc`` (classification, average precision one-vs-rest); ``ap`` (COCO AP, IoU 0.50:0.95),
``ap50``, ``ap75``, ``ar`` (COCO AR, 100 detections) for detection and instance segmentation;
``iou`` (pixel IoU) for segmentation.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import Dataset
from ..types import check_split
from ._common import PerClass, nanaverage
from .base import EvaluationBase

METRIC_COLUMNS = ("precision", "recall", "f1", "pr_auc", "ap", "ap50", "ap75", "ar", "iou")


def _floats(values: np.ndarray | None, n: int) -> pa.Array:
    if values is None:
        return pa.nulls(n, pa.float64())
    values = np.asarray(values, dtype=np.float64)
    return pa.array(values, pa.float64(), mask=np.isnan(values))


def class_table(classes: Dataset | Sequence[str], counts: PerClass, *, extra: Sequence[str] = (),
                **metrics: np.ndarray | None) -> pa.Table:
    """The per-class table from counts and extra metric arrays (``pr_auc=``, ``ap=``, ``iou=`` ...).

    ``classes``: the dataset (its categories, with ``critical``) or just class names. ``extra``
    (none): classes only the predictions name, after those (``category_id`` null, not critical).
    """
    unknown = set(metrics) - set(METRIC_COLUMNS)
    if unknown:
        raise ValueError(f"Unknown metric columns {sorted(unknown)}; known: {list(METRIC_COLUMNS)}.")
    if isinstance(classes, Dataset):
        categories = classes.categories
    else:
        names = list(classes)
        categories = pa.table({"name": pa.array(names, pa.string()),
                               "category_id": pa.array(np.arange(len(names)), pa.int32()),
                               "critical": pa.array([False] * len(names))})
    categories = categories.select(["name", "category_id", "critical"])
    if extra:
        categories = pa.concat_tables([categories, pa.table({
            "name": pa.array(list(extra), pa.string()), "category_id": pa.nulls(len(extra), pa.int32()),
            "critical": pa.array([False] * len(extra))}, schema=categories.schema)])
    n = categories.num_rows
    integer = all(np.asarray(a).dtype.kind in "iub" for a in (counts.support, counts.predicted, counts.tp))
    count_type = pa.int64() if integer else pa.float64()
    columns = {
        "class": categories.column("name"),
        "category_id": categories.column("category_id"),
        "critical": categories.column("critical"),
        "support": pa.array(counts.support, count_type),
        "predicted": pa.array(counts.predicted, count_type),
        "tp": pa.array(counts.tp, count_type),
        "fp": pa.array(counts.fp, count_type),
        "fn": pa.array(counts.fn, count_type),
        "precision": _floats(counts.precision, n),
        "recall": _floats(counts.recall, n),
        "f1": _floats(counts.f1, n),
    }
    for name in METRIC_COLUMNS[3:]:
        columns[name] = _floats(metrics.get(name), n)
    return pa.table(columns)


def select_images(dataset: Dataset, split: str | Sequence[str] | None) -> np.ndarray:
    """Boolean mask over images: all of them (None), or those of the named split(s) (an unknown name raises)."""
    n = dataset.num_images
    if split is None:
        return np.ones(n, dtype=bool)
    wanted = [check_split(name, dataset.splits) for name in ([split] if isinstance(split, str) else split)]
    column = dataset.images.column("split").combine_chunks().dictionary_decode()
    return pc.is_in(column, value_set=pa.array(wanted, pa.string())).to_numpy(zero_copy_only=False)


def frequency_order(classes: pa.Table) -> list[str]:
    """Class names by support, most frequent first (ties by name): the long tail reads left to right."""
    rows = sorted(zip(classes.column("class").to_pylist(), classes.column("support").to_pylist()),
                  key=lambda r: (-(r[1] or 0), r[0]))
    return [name for name, _ in rows]


def rare_classes(classes: pa.Table, ratio: float = 20.0) -> list[str]:
    """Classes present but ``ratio`` (20) times or more rarer than the most frequent one: the tail to watch."""
    support = np.asarray(classes.column("support").to_numpy(zero_copy_only=False), dtype=np.float64)
    if not len(support) or not support.max():
        return []
    names = classes.column("class").to_pylist()
    return [n for n, s in zip(names, support) if 0 < s * ratio <= support.max()]


#: The metric columns each task shows, in order.
TASK_METRICS = {
    "classification": ("precision", "recall", "f1", "pr_auc"),
    "detection": ("precision", "recall", "f1", "ap", "ap50", "ap75", "ar"),
    "segmentation": ("iou", "precision", "recall", "f1", "ap", "ap50"),
}


def per_class_frame(evaluation: EvaluationBase, order: Sequence[str] | None = None):
    """The per-class table as shown: the task's columns, classes in ``order`` (default: by
    support), then the ``macro average`` and ``weighted average`` rows."""
    import pandas as pd

    metrics = [m for m in TASK_METRICS[evaluation.task] if evaluation.classes.column(m).null_count < evaluation.classes.num_rows]
    df = evaluation.classes.select(["class", "critical", "support", "predicted", "tp", "fp", "fn", *metrics]).to_pandas()
    df = df.set_index("class").loc[list(order) if order is not None else frequency_order(evaluation.classes)].reset_index()
    extra = []
    for label, avg in (("macro average", evaluation.macro), ("weighted average", evaluation.weighted)):
        row = {"class": label, "critical": False, **{k: df[k].sum() for k in ("support", "predicted", "tp", "fp", "fn")}}
        row.update({k: getattr(avg, k) for k in ("precision", "recall", "f1") if k in metrics})
        for m in metrics:  # AP, PR AUC, IoU: averaged the same way over the classes that define them
            if m not in row:
                values = df[m].to_numpy(dtype=np.float64)
                row[m] = nanaverage(values) if label == "macro average" else nanaverage(values, df["support"].to_numpy())
        extra.append(row)
    return pd.concat([df, pd.DataFrame(extra)], ignore_index=True)
