"""Long-tail metrics of a vector of per-class counts: imbalance ratio, Gini, entropy, evenness,
effective number of classes, head / tail, Lorenz curve, and :class:`TailMetrics` that holds them.

Pure functions of the numbers: classes with a zero (or non-finite) count are left out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .units import Unit

DEFAULT_HEAD_SHARE = 0.8


def _present(values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return arr[arr > 0]


def imbalance_ratio(values: Sequence[float] | np.ndarray) -> float:
    """Largest / smallest non-zero count; NaN when no count is positive."""
    x = _present(values)
    return float(x.max() / x.min()) if len(x) else math.nan


def gini(values: Sequence[float] | np.ndarray) -> float:
    """Gini coefficient of the non-zero counts (0 = equal, towards 1 = concentrated); NaN when none."""
    x = np.sort(_present(values))
    n = len(x)
    if n == 0:
        return math.nan
    ranks = np.arange(1, n + 1)
    return float(2.0 * np.sum(ranks * x) / (n * x.sum()) - (n + 1) / n)


def entropy(values: Sequence[float] | np.ndarray) -> float:
    """Shannon entropy (natural log) of the shares of the non-zero counts; NaN when none."""
    x = _present(values)
    if len(x) == 0:
        return math.nan
    p = x / x.sum()
    return float(-np.sum(p * np.log(p)))


def evenness(values: Sequence[float] | np.ndarray) -> float:
    """Normalised entropy ``H / ln(n)`` over the n non-zero classes: 1 = balanced; NaN for n < 2."""
    x = _present(values)
    if len(x) < 2:
        return math.nan
    return entropy(x) / math.log(len(x))


def effective_classes(values: Sequence[float] | np.ndarray) -> float:
    """``exp(entropy)``: how many equally frequent classes carry the same entropy; NaN when none."""
    h = entropy(values)
    return math.exp(h) if not math.isnan(h) else math.nan


def head_tail(names: Sequence[str], values: Sequence[float] | np.ndarray, head_share: float = DEFAULT_HEAD_SHARE
              ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(head, tail): the fewest classes, largest first, covering ``head_share`` of the total; the
    rest of the classes with data, largest first. Ties keep the given order."""
    _check_share(head_share)
    arr = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(arr) & (arr > 0)
    idx = np.flatnonzero(keep)
    if len(idx) == 0:
        return (), ()
    order = idx[np.argsort(-arr[idx], kind="stable")]
    cumulative = np.cumsum(arr[order]) / arr[order].sum()
    # a tiny tolerance so that 0.8 of the total is reached by classes summing to exactly 80%
    cut = int(np.searchsorted(cumulative, head_share - 1e-12)) + 1
    cut = min(cut, len(order))
    return tuple(names[i] for i in order[:cut]), tuple(names[i] for i in order[cut:])


def lorenz_curve(values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points of the Lorenz curve of the non-zero counts: cumulative share of classes (smallest
    first) against cumulative share of the total, both from 0 to 1. Empty arrays when none."""
    x = np.sort(_present(values))
    if len(x) == 0:
        return np.zeros(0), np.zeros(0)
    classes = np.arange(len(x) + 1) / len(x)
    share = np.concatenate([[0.0], np.cumsum(x) / x.sum()])
    return classes, share


def _check_share(head_share: float) -> None:
    if not isinstance(head_share, (int, float)) or not 0 < head_share <= 1:
        raise ValueError(f"`head_share` must be in (0, 1]. Got {head_share!r} instead.")


@dataclass(frozen=True)
class TailMetrics:
    """Long-tail metrics of one unit over the classes with data (see :mod:`imbal_core.longtail`)."""

    unit: Unit
    total: float
    #: Declared classes, and those with a non-zero count.
    classes: int
    present: int
    largest: str | None
    smallest: str | None
    imbalance_ratio: float
    gini: float
    evenness: float
    effective_classes: float
    head_share: float
    head: tuple[str, ...]
    tail: tuple[str, ...]
    #: Declared classes with a zero count (not in the metrics).
    absent: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit, "total": self.total, "classes": self.classes, "present": self.present,
            "largest": self.largest, "smallest": self.smallest, "imbalance_ratio": self.imbalance_ratio,
            "gini": self.gini, "evenness": self.evenness, "effective_classes": self.effective_classes,
            "head_share": self.head_share, "head": list(self.head), "tail": list(self.tail), "absent": list(self.absent),
        }


def tail_metrics(names: Sequence[str], values: Sequence[float] | np.ndarray, unit: Unit = "instances",
                 head_share: float = DEFAULT_HEAD_SHARE) -> TailMetrics:
    """:class:`TailMetrics` of per-class ``values`` (one per name)."""
    names = list(names)
    arr = np.asarray(values, dtype=np.float64)
    if len(arr) != len(names):
        raise ValueError(f"`values` must have one count per name ({len(names)}). Got {len(arr)} instead.")
    head, tail = head_tail(names, arr, head_share)
    present = np.isfinite(arr) & (arr > 0)
    idx = np.flatnonzero(present)
    largest = names[idx[np.argmax(arr[idx])]] if len(idx) else None
    smallest = names[idx[np.argmin(arr[idx])]] if len(idx) else None
    return TailMetrics(
        unit=unit,
        total=float(np.nansum(arr)),
        classes=len(names),
        present=int(present.sum()),
        largest=largest,
        smallest=smallest,
        imbalance_ratio=imbalance_ratio(arr),
        gini=gini(arr),
        evenness=evenness(arr),
        effective_classes=effective_classes(arr),
        head_share=float(head_share),
        head=head,
        tail=tail,
        absent=tuple(n for n, p in zip(names, present) if not p),
    )
