"""Classification metrics: confusion matrix, per-class precision / recall / F1 / support, their
macro / weighted / micro averages, accuracy, balanced accuracy and per-class PR AUC.

Two levels:

- :func:`classification_metrics` works on label arrays (and optional per-class scores); it is
  what scikit-learn computes (``confusion_matrix``, ``precision_recall_fscore_support``,
  ``balanced_accuracy_score``, ``average_precision_score`` one-vs-rest), to 1e-9, in NumPy.
- :func:`evaluate_classification` takes a :class:`~imbal_core.Dataset` and matched
  :class:`~imbal_core.io.predictions.Predictions` and evaluates every image that has exactly one
  ground-truth label and a prediction; the others are counted in ``excluded``, not hidden.
  A prediction of a class the dataset does not have is a wrong prediction, as scikit-learn
  counts it: that class gets a row and a column of its own after the dataset's classes
  (``predicted_only``), with precision 0, and the predictions report lists it (``unknown_class``).

Definitions: precision = tp / predicted, recall = tp / support, F1 = 2 tp / (support + predicted);
balanced accuracy = mean recall over the classes present; PR AUC = average precision of the
class's score against "is this class" (AP = Σ (Rₙ − Rₙ₋₁) Pₙ over distinct score thresholds,
computed in :mod:`.ranking`), NaN for a class with no positive image. Undefined values are NaN
(see :mod:`._common`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import Dataset
from ..io.predictions import Predictions
from ..types import Task
from ._common import Averages, ConfusionMatrix, PerClass, Undefined, aggregate_counts, divide, per_class
from .base import EvaluationBase, clean
from .ranking import average_precision, pr_auc_per_class, pr_curve  # noqa: F401 (average_precision: re-exported)
from .table import class_table, select_images


@dataclass(frozen=True, eq=False)
class ClassificationMetrics:
    """Metrics of label arrays; arrays are aligned to ``class_names`` (index = class)."""

    class_names: tuple[str, ...]
    confusion: ConfusionMatrix
    per_class: PerClass
    pr_auc: np.ndarray  # NaN without scores or without positives
    accuracy: float
    balanced_accuracy: float

    @property
    def averages(self) -> tuple[Averages, Averages, Averages]:
        """(macro, weighted, micro)."""
        return self.per_class.averages()


def _labels(values: np.ndarray | Sequence[int], name: str, n_classes: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional. Got shape {arr.shape} instead.")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"`{name}` must hold class indices (integers). Got dtype {arr.dtype} instead.")
    if len(arr) and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValueError(f"`{name}` must hold class indices 0..{n_classes - 1}. Got values {arr.min()}..{arr.max()} instead.")
    return arr.astype(np.int64, copy=False)


def classification_metrics(
    y_true: np.ndarray | Sequence[int],
    y_pred: np.ndarray | Sequence[int],
    n_classes: int | None = None,
    *,
    scores: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    undefined: Undefined = "nan",
) -> ClassificationMetrics:
    """Metrics of ``y_true`` vs ``y_pred`` (class indices 0..n_classes-1).

    ``n_classes`` (None: ``len(class_names)``, else the largest index + 1): classes never
    present or never predicted still get a row. ``scores`` (n x n_classes): per-class scores
    for PR AUC. ``undefined`` ("nan"): the value of a metric whose denominator is 0 ("zero" as
    scikit-learn's default ``zero_division=0``).
    """
    if n_classes is None:
        n_classes = len(class_names) if class_names is not None else int(max(np.max(y_true, initial=-1), np.max(y_pred, initial=-1)) + 1)
    if n_classes < 1:
        raise ValueError(f"`n_classes` must be at least 1. Got {n_classes} instead.")
    y_true = _labels(y_true, "y_true", n_classes)
    y_pred = _labels(y_pred, "y_pred", n_classes)
    if len(y_true) != len(y_pred):
        raise ValueError(f"`y_true` and `y_pred` must have the same length. Got {len(y_true)} and {len(y_pred)} instead.")
    names = tuple(class_names) if class_names is not None else tuple(str(i) for i in range(n_classes))
    if len(names) != n_classes:
        raise ValueError(f"`class_names` must name {n_classes} classes. Got {len(names)} instead.")
    # rows = ground truth, cols = predicted
    matrix = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    tp = np.diagonal(matrix).copy()
    support, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    pc_ = per_class(support, predicted, tp, undefined)
    recall_present = divide(tp, support)
    balanced = float(np.nanmean(recall_present)) if (support > 0).any() else float("nan")
    accuracy = float(tp.sum() / len(y_true)) if len(y_true) else float("nan")
    pr_auc = np.full(n_classes, np.nan)
    if scores is not None:
        scores = np.asarray(scores)
        if scores.dtype.kind != "f":  # float32 stays float32: half the memory, same ranking
            scores = scores.astype(np.float64)
        if scores.shape != (len(y_true), n_classes):
            raise ValueError(f"`scores` must have shape ({len(y_true)}, {n_classes}). Got {scores.shape} instead.")
        pr_auc = pr_auc_per_class(y_true, scores)
    return ClassificationMetrics(class_names=names, confusion=ConfusionMatrix(names, matrix), per_class=pc_, pr_auc=pr_auc,
                                 accuracy=accuracy, balanced_accuracy=balanced)


# --------------------------------------------------------------------------- on a dataset


@dataclass(frozen=True, eq=False, kw_only=True)
class ClassificationEvaluation(EvaluationBase):
    """A classifier's predictions against a classification dataset (the shared fields: see
    :class:`.base.EvaluationBase`).

    ``accuracy`` and ``balanced_accuracy`` (mean recall over the classes present); ``items``: one
    row per evaluated image (``image_id``, ``true``, ``predicted``, ``score``); ``scores``:
    per-class scores of those images (None without score columns); ``excluded``: images without
    a prediction, without a label or with several labels. ``class_names`` is the dataset's
    classes, then ``predicted_only``: classes the predictions name but the dataset does not have
    (sorted; their predictions are wrong ones, their ``category_id`` in ``classes`` null).
    """

    task: ClassVar[Task] = "classification"

    accuracy: float
    balanced_accuracy: float
    items: pa.Table
    scores: np.ndarray | None
    predicted_only: tuple[str, ...] = ()

    @property
    def coco(self) -> None:
        """No COCO AP for classification (uniform with the other evaluations)."""
        return None

    def pr_curve(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(recall, precision) of one class (empty without scores or positives)."""
        if self.scores is None:
            return np.zeros(0), np.zeros(0)
        c = self.class_names.index(name)
        true = self.items.column("true").to_numpy()
        precision, recall, _ = pr_curve(true == c, self.scores[:, c])
        return recall, precision

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "accuracy": clean(self.accuracy), "balanced_accuracy": clean(self.balanced_accuracy)}


def evaluate_classification(dataset: Dataset, predictions: Predictions, *, split: str | Sequence[str] | None = None,
                            undefined: Undefined = "nan") -> ClassificationEvaluation:
    """Evaluate classification ``predictions`` (matched to ``dataset``) on its images.

    ``split`` (None: all images): evaluate only the images of this split (or these splits).
    Images without a prediction, without a label or with several labels are left out and
    counted in ``excluded``. A predicted class the dataset lacks counts as a wrong prediction
    (see the module docstring).
    """
    if dataset.task != "classification" or predictions.kind != "classification":
        raise ValueError(f"Classification evaluation needs a classification dataset and predictions. "
                         f"Got a {dataset.task} dataset and {predictions.kind} predictions instead.")
    if predictions.coverage is None:
        raise ValueError("`predictions` must be matched to the dataset first (read them with the dataset, "
                         "or call imbal_core.io.predictions.match_predictions).")
    n_img = dataset.num_images
    keep = select_images(dataset, split)
    anns = dataset.annotations
    labels_per_image = np.bincount(anns.column("image_id").to_numpy(), minlength=n_img)
    truth = np.full(n_img, -1, dtype=np.int64)
    single = labels_per_image == 1
    img = anns.column("image_id").to_numpy()
    cat = anns.column("category_id").to_numpy().astype(np.int64)
    mask = single[img]
    truth[img[mask]] = cat[mask]
    rows = _of_known_images(predictions.table)
    pred_class, extra = _predicted_classes(rows, dataset.categories.num_rows)
    names = tuple(dataset.class_names) + extra
    pred_img = rows.column("image_id").to_numpy()
    predicted = np.full(n_img, -1, dtype=np.int64)
    predicted[pred_img] = pred_class
    row_of = np.full(n_img, -1, dtype=np.int64)
    row_of[pred_img] = np.arange(len(pred_img))
    chosen = keep & single & (predicted >= 0)
    excluded = {
        "no_prediction": int((keep & (labels_per_image >= 1) & (predicted < 0)).sum()),
        "no_label": int((keep & (labels_per_image == 0)).sum()),
        "several_labels": int((keep & (labels_per_image > 1)).sum()),
    }
    image_ids = np.flatnonzero(chosen)
    y_true, y_pred = truth[image_ids], predicted[image_ids]
    pred_rows = row_of[image_ids]
    all_scores = predictions.score_matrix(rows)
    scores = all_scores[pred_rows] if all_scores is not None else None
    if scores is not None and np.isnan(scores).all():
        scores = None
    if scores is not None and extra:  # the file scores the dataset's classes only
        scores = np.hstack([scores, np.full((len(scores), len(extra)), np.nan)])
    metrics = classification_metrics(y_true, y_pred, len(names), scores=scores, class_names=names, undefined=undefined)
    score_col = rows.column("score").to_numpy(zero_copy_only=False).astype(np.float64)[pred_rows] \
        if len(pred_rows) else np.zeros(0)
    items = pa.table({"image_id": pa.array(image_ids, pa.int64()), "true": pa.array(y_true, pa.int32()),
                      "predicted": pa.array(y_pred, pa.int32()), "score": pa.array(score_col, pa.float64(),
                                                                                     mask=np.isnan(score_col))})
    right = y_true == y_pred
    ones = np.ones(len(image_ids), np.int64)
    # each image: a tp for its class when right; else a fn for the true class and a fp for the predicted one
    counts = aggregate_counts(np.r_[image_ids, image_ids], np.r_[y_true, y_pred],
                              np.r_[right * ones, np.zeros_like(ones)], np.r_[np.zeros_like(ones), ~right * ones],
                              np.r_[~right * ones, np.zeros_like(ones)], len(names))
    macro, weighted, micro = metrics.averages
    table = class_table(dataset, metrics.per_class, extra=extra, pr_auc=metrics.pr_auc)
    return ClassificationEvaluation(
        class_names=names, classes=table, confusion=metrics.confusion, macro=macro, weighted=weighted, micro=micro,
        counts=counts, image_ids=image_ids, excluded=excluded, accuracy=metrics.accuracy,
        balanced_accuracy=metrics.balanced_accuracy, items=items, scores=scores, predicted_only=extra)


def _of_known_images(table: pa.Table) -> pa.Table:
    """The prediction rows whose image is in the dataset (their class may not be)."""
    if not table.num_rows:
        return table
    return table.filter(pc.is_valid(table.column("image_id")))


def _predicted_classes(rows: pa.Table, n_classes: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each row's predicted class index, and the classes only the predictions name (sorted,
    indexed from ``n_classes`` on)."""
    if not rows.num_rows:
        return np.zeros(0, np.int64), ()
    category = rows.column("category_id")
    unknown = pc.is_null(category).to_numpy(zero_copy_only=False)
    out = pc.fill_null(category, -1).to_numpy().astype(np.int64)
    if not unknown.any():
        return out, ()
    labels = np.array(rows.column("label").to_pylist(), dtype=object)[unknown]
    extra = tuple(sorted(set(labels.tolist())))
    index = {name: n_classes + i for i, name in enumerate(extra)}
    out[unknown] = [index[name] for name in labels.tolist()]
    return out, extra
