"""Pieces every evaluation shares: the confusion matrix, per-class precision / recall / F1 from
counts, and their macro / weighted / micro averages.

Conventions (all tasks):

- Confusion matrices have **rows = ground truth, columns = predicted**. Detection and
  segmentation add ``background`` as the last row (false alarms: predicted where nothing is)
  and the last column (misses: nothing predicted where something is).
- A metric whose denominator is zero is undefined: NaN, written as null in JSON. Precision of a
  class never predicted, recall of a class never present. ``undefined="zero"`` counts them as
  0 instead (scikit-learn's default ``zero_division=0``); "nan" is scikit-learn's
  ``zero_division=np.nan``.
- Averages skip undefined values: macro = mean over classes, weighted = mean weighted by support,
  micro = from the summed counts (what scikit-learn's ``average=`` computes, to 1e-9).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
import pyarrow as pa

Undefined = Literal["nan", "zero"]
UNDEFINED: tuple[str, ...] = ("nan", "zero")
BACKGROUND = "background"


def check_undefined(undefined: str) -> float:
    if undefined not in UNDEFINED:
        raise ValueError(f"`undefined` must be one of {list(UNDEFINED)}. Got {undefined!r} instead.")
    return np.nan if undefined == "nan" else 0.0


def check_fraction(name: str, value: float, *, low: float = 0.0, high: float = 1.0, open_low: bool = False) -> float:
    """A number in [low, high] (``(low, high]`` when ``open_low``); the error names the parameter."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a number between {low:g} and {high:g}. Got {value!r} instead.") from None
    if not (low < number <= high if open_low else low <= number <= high):
        bound = f"above {low:g} and at most {high:g}" if open_low else f"between {low:g} and {high:g}"
        raise ValueError(f"`{name}` must be {bound}. Got {value!r} instead.")
    return number


def divide(numerator: np.ndarray, denominator: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """``numerator / denominator`` elementwise, ``fill`` where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(numerator, denominator).shape, fill, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def nanaverage(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Mean of the defined values (weighted when ``weights``; all-zero weights: unweighted); NaN if none."""
    values = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(values)
    if not ok.any():
        return float("nan")
    if weights is None:
        return float(values[ok].mean())
    w = np.asarray(weights, dtype=np.float64)[ok]
    if w.sum() == 0:
        return float(values[ok].mean())
    return float(np.average(values[ok], weights=w))


@dataclass(frozen=True)
class Averages:
    """Precision, recall and F1 averaged over classes (NaN when no class defines them)."""

    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass(frozen=True)
class PerClass:
    """Per-class counts and the metrics computed from them, arrays aligned to the classes."""

    support: np.ndarray  # ground-truth count (images, instances or pixels)
    predicted: np.ndarray  # predicted count
    tp: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    fill: float = float("nan")  # the value of an undefined metric (NaN, or 0 with undefined="zero")

    @property
    def fp(self) -> np.ndarray:
        return self.predicted - self.tp

    @property
    def fn(self) -> np.ndarray:
        return self.support - self.tp

    def averages(self) -> tuple[Averages, Averages, Averages]:
        """(macro, weighted, micro) as scikit-learn's ``average=`` computes them."""
        macro = Averages(nanaverage(self.precision), nanaverage(self.recall), nanaverage(self.f1))
        weighted = Averages(nanaverage(self.precision, self.support), nanaverage(self.recall, self.support),
                            nanaverage(self.f1, self.support))
        tp, pred, true = self.tp.sum(), self.predicted.sum(), self.support.sum()
        micro = Averages(float(divide(tp, pred, self.fill)), float(divide(tp, true, self.fill)),
                         float(divide(2 * tp, true + pred, self.fill)))
        return macro, weighted, micro


def per_class(support: np.ndarray, predicted: np.ndarray, tp: np.ndarray, undefined: Undefined = "nan") -> PerClass:
    """Precision = tp / predicted, recall = tp / support, F1 = 2 tp / (support + predicted)."""
    fill = check_undefined(undefined)
    support, predicted, tp = (np.asarray(a) for a in (support, predicted, tp))
    return PerClass(support, predicted, tp, divide(tp, predicted, fill), divide(tp, support, fill),
                    divide(2 * tp, support + predicted, fill), fill)


@dataclass(frozen=True, eq=False)
class ConfusionMatrix:
    """Counts with rows = ground truth and columns = predicted, over ``labels`` (both axes).

    ``matrix[i, j]`` is how many items of true class ``labels[i]`` were predicted ``labels[j]``
    (images for classification, instances for detection, pixels for segmentation).
    ``background`` (last label, detection and segmentation): last row = false alarms, last
    column = misses.
    """

    labels: tuple[str, ...]
    matrix: np.ndarray
    has_background: bool = False

    def normalized(self) -> np.ndarray:
        """Row-normalised: each true class's row sums to 1 (what share of it went where); NaN rows where empty."""
        rows = self.matrix.sum(axis=1, keepdims=True)
        return divide(self.matrix, rows)

    def reordered(self, labels: Sequence[str]) -> "ConfusionMatrix":
        """The same counts over ``labels`` in that order (background stays last)."""
        index = {name: i for i, name in enumerate(self.labels)}
        unknown = [n for n in labels if n not in index]
        if unknown:
            raise ValueError(f"`labels` names classes the matrix does not have: {unknown}.")
        order = [index[n] for n in labels]
        if self.has_background and BACKGROUND not in labels:
            order.append(len(self.labels) - 1)
        return ConfusionMatrix(tuple(self.labels[i] for i in order), self.matrix[np.ix_(order, order)], self.has_background)

    def to_dict(self) -> dict:
        return {"labels": list(self.labels), "matrix": self.matrix.tolist()}

    def to_arrow(self) -> pa.Table:
        """Long form: one row per (true, predicted) cell, with ``count`` and the row share."""
        n = len(self.labels)
        true = np.repeat(np.arange(n), n)
        pred = np.tile(np.arange(n), n)
        names = np.array(self.labels, dtype=object)
        return pa.table({
            "true": pa.array(names[true].tolist(), pa.string()),
            "predicted": pa.array(names[pred].tolist(), pa.string()),
            "count": pa.array(self.matrix.reshape(-1)),
            "share_of_true": pa.array(self.normalized().reshape(-1), pa.float64()),
        })

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.matrix, index=pd.Index(self.labels, name="true"),
                            columns=pd.Index(self.labels, name="predicted"))


def counts_table(image_id: np.ndarray, category_id: np.ndarray, tp: np.ndarray, fp: np.ndarray,
                 fn: np.ndarray) -> pa.Table:
    """Additive per-(image, class) counts: summing them over any set of images gives that set's counts."""
    return pa.table({
        "image_id": pa.array(np.asarray(image_id, dtype=np.int64)),
        "category_id": pa.array(np.asarray(category_id, dtype=np.int32)),
        "tp": pa.array(np.asarray(tp)),
        "fp": pa.array(np.asarray(fp)),
        "fn": pa.array(np.asarray(fn)),
    })


def aggregate_counts(image_id: np.ndarray, category_id: np.ndarray, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray,
                     n_classes: int) -> pa.Table:
    """Sum per-item (image, class, tp, fp, fn) rows to one row per (image, class) with any count."""
    image_id = np.asarray(image_id, dtype=np.int64)
    category_id = np.asarray(category_id, dtype=np.int64)
    if not len(image_id):
        return counts_table(image_id, category_id, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    key = image_id * n_classes + category_id
    uniq, inverse = np.unique(key, return_inverse=True)
    sums = [np.bincount(inverse, weights=np.asarray(v, dtype=np.float64), minlength=len(uniq)) for v in (tp, fp, fn)]
    dtype = np.int64 if all(np.asarray(v).dtype.kind in "iub" for v in (tp, fp, fn)) else np.float64
    return counts_table(uniq // n_classes, uniq % n_classes, *(s.astype(dtype) for s in sums))
