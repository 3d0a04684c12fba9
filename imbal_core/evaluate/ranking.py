"""Ranking metrics of scores against a binary truth: average precision (PR AUC) and the PR curve.

Average precision is scikit-learn's ``average_precision_score``: AP = Σₜ (Rₜ − Rₜ₋₁) Pₜ over the
distinct score thresholds t, which is the mean over the positives of the precision among the
items scoring at least as high as that positive (ties count as at least as high)::

    AP = (1 / P) Σ over positives v of  #{positives ≥ v} / #{items ≥ v}

The first count needs only the positives sorted. The second is where a million items cost time:
sorting them takes ~32 ms a column. :func:`_count_at_least` avoids that:

1. map every score to a bin with a monotone map q: linear in the score, or else the float's bit
   pattern, which is logarithmic and separates scores crowded near 0 (softmax outputs);
2. count the items of each bin: an item in a bin above q(v) scores above v, so a suffix sum of
   the counts gives them;
3. the items in a bin that holds a positive may score either side of it: only those are sorted
   and counted exactly.

This is exact whatever the rounding, because rounding is monotone: s ≥ v implies q(s) ≥ q(v).
When the bins holding a positive hold more than half of the items (a head class, or scores that
neither map separates), all the scores are sorted instead.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Literal, Optional, Sequence

import numpy as np

Binning = Literal["linear", "bits"]
Binner = Callable[[np.ndarray], np.ndarray]

#: Bins of the score histogram: about 8 per positive, at least 2**16 (about 15 items a bin at a
#: million) and at most 2**18 (beyond that the counts fall out of the L2 cache).
_MIN_BINS, _MAX_BINS = 1 << 16, 1 << 18
#: Items sampled to choose a binning.
_SAMPLE = 4096
#: Sort all the scores when the bins holding a positive hold more than this share of the items.
_MAX_SELECTED = 0.5
#: Above this many scores, the per-class PR AUCs are computed on two threads (NumPy releases the GIL).
_THREADED_SCORES = 2_000_000
#: Classes whose columns are copied out together, and rows per step of that copy (a cache-sized
#: block transpose: 8 columns of a C-order matrix in 4,096-row steps beat 8 strided column copies 4x).
_GROUP, _ROWS = 8, 4096


def average_precision(positive: np.ndarray, score: np.ndarray) -> float:
    """Average precision of ``score`` for the boolean ``positive`` (scikit-learn's
    ``average_precision_score``); NaN when there is no positive or a score is NaN."""
    positive = np.asarray(positive, dtype=bool)
    score = np.asarray(score)
    if positive.shape != score.shape or score.ndim != 1:
        raise ValueError(f"`positive` and `score` must be one-dimensional, of the same length. "
                         f"Got shapes {positive.shape} and {score.shape} instead.")
    if score.dtype.kind != "f":
        score = score.astype(np.float64)
    return _average_precision(np.ascontiguousarray(score), np.flatnonzero(positive))


def _average_precision(score: np.ndarray, positive_index: np.ndarray, *, bins: Optional[int] = None,
                       binnings: Sequence[Binning] = ("linear", "bits"),
                       max_selected: float = _MAX_SELECTED) -> float:
    """AP of the 1-d ``score`` for the items at ``positive_index``; NaN without positives or with a
    NaN score. ``bins`` (None: by the number of positives), ``binnings`` (the candidates; none:
    sort all) and ``max_selected`` (the share of items beyond which all are sorted) only change
    the speed, never the value."""
    if not len(positive_index):
        return float("nan")
    lo, hi = score.min(), score.max()  # NaN if any score is NaN
    if np.isnan(lo) or np.isnan(hi):
        return float("nan")
    positives = np.sort(score[positive_index])
    bins = bins or int(np.clip(1 << (8 * len(positives) - 1).bit_length(), _MIN_BINS, _MAX_BINS))
    at_least = _count_at_least(score, positives, lo, hi, bins, binnings, max_selected)
    positives_at_least = len(positives) - np.searchsorted(positives, positives, side="left")
    return float(np.mean(positives_at_least / at_least))


def _count_at_least(score: np.ndarray, values: np.ndarray, lo, hi, bins: int, binnings: Sequence[Binning],
                    max_selected: float) -> np.ndarray:
    """How many of ``score`` (no NaN; min ``lo``, max ``hi``) are ≥ each of the sorted ``values``
    (drawn from ``score``)."""
    n = len(score)
    bin_of = _choose_binning(score, values, lo, hi, bins, binnings, max_selected)
    if bin_of is not None:
        item_bins, value_bins = bin_of(score), bin_of(values)
        counts = np.bincount(item_bins, minlength=bins + 1)
        holds_value = np.zeros(len(counts), dtype=bool)
        holds_value[value_bins] = True
        selected = int(counts[holds_value].sum())
        if selected <= max_selected * n:  # else the sample's estimate fell short
            near = np.sort(score[holds_value[item_bins]])  # the items sharing a bin with a value
            counts[holds_value] = 0  # the others: for a value's bin, the items in the bins above it
            others_from = np.cumsum(counts[::-1])[::-1]
            return selected - np.searchsorted(near, values, side="left") + others_from[value_bins]
    return _count_by_sorting(score, values)


def _count_by_sorting(score: np.ndarray, values: np.ndarray) -> np.ndarray:
    """How many of ``score`` are ≥ each of ``values``, by sorting them all."""
    return len(score) - np.searchsorted(np.sort(score), values, side="left")


def _choose_binning(score: np.ndarray, values: np.ndarray, lo, hi, bins: int, binnings: Sequence[Binning],
                    max_selected: float) -> Optional[Binner]:
    """Of ``binnings``, the one whose bins holding a value hold the fewest items, estimated on a
    sample of ~4,096 items; None when each would hold more than ``max_selected`` of them, or the
    scores are neither float32 nor float64, or none is finite."""
    n = len(score)
    if len(values) > max_selected * n or score.dtype not in (np.float32, np.float64):
        return None  # (every value's bin is selected)
    if not (np.isfinite(lo) and np.isfinite(hi)):  # bin the finite range; ±inf go to its end bins
        finite = score[np.isfinite(score)]
        if not len(finite):
            return None
        lo, hi = finite.min(), finite.max()
    sample = score[::max(1, n // _SAMPLE)]
    best, best_share = None, max_selected
    for binning in binnings:
        bin_of = _BINNERS[binning](score.dtype.type, lo, hi, bins)
        if bin_of is None:
            continue
        holds_value = np.zeros(bins + 1, dtype=bool)
        holds_value[bin_of(values)] = True
        share = holds_value[bin_of(sample)].mean()
        if share <= best_share and (best is None or share < best_share):
            best, best_share = bin_of, share
    return best


def _linear_bins(dtype: type, lo, hi, bins: int) -> Optional[Binner]:
    """q(s) = floor((clip(s, lo, hi) − lo) · bins / (hi − lo)) in the scores' own precision, at
    most ``bins`` (< 2**22); None when the span is 0 or out of range."""
    with np.errstate(over="ignore"):
        span = dtype(hi) - dtype(lo)
        scale = dtype(bins / float(span)) if span > 0 else dtype(np.inf)
    if not (np.isfinite(span) and np.isfinite(scale)):
        return None
    lo, hi = dtype(lo), dtype(hi)

    def bin_of(values: np.ndarray) -> np.ndarray:
        return ((np.clip(values, lo, hi) - lo) * scale).astype(np.intp)

    return bin_of


def _bit_bins(dtype: type, lo, hi, bins: int) -> Optional[Binner]:
    """q(s) = (key(s) − key(lo)) >> shift < ``bins``, where key is the float's bit pattern made
    monotone (negative floats flipped): bins of equal width in log scale, finer near 0."""
    unsigned = np.uint32 if dtype == np.float32 else np.uint64
    top = unsigned(8 * np.dtype(unsigned).itemsize - 1)
    lo, hi = dtype(lo), dtype(hi)

    def key(values: np.ndarray) -> np.ndarray:
        bits = (np.clip(values, lo, hi) + dtype(0)).view(unsigned)  # + 0 makes -0.0 +0.0: equal scores, equal keys
        if lo >= 0:
            return bits  # the bits of non-negative floats are in their order already
        return np.where((bits >> top).astype(bool), ~bits, bits | (unsigned(1) << top))

    key_lo = key(np.array([lo]))[0]
    shift = (int(key(np.array([hi]))[0] - key_lo) // bins).bit_length()

    def bin_of(values: np.ndarray) -> np.ndarray:
        return ((key(values) - key_lo) >> unsigned(shift)).astype(np.intp)

    return bin_of


_BINNERS: dict[str, Callable[..., Optional[Binner]]] = {"linear": _linear_bins, "bits": _bit_bins}


def pr_auc_per_class(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """One-vs-rest average precision of each score column (NaN for a class without positives)."""
    y_true = np.asarray(y_true)
    scores = np.asarray(scores)
    if scores.dtype.kind != "f":
        scores = scores.astype(np.float64)
    n_classes = scores.shape[1]
    if len(y_true) and 0 <= y_true.min() and y_true.max() < 1 << 16:
        y_true = y_true.astype(np.uint16)  # NumPy's stable sort of 16-bit ints is a radix sort, 15x faster
    by_class = np.argsort(y_true, kind="stable")  # the positives of class c: one slice of this, in row order
    bounds = np.searchsorted(y_true[by_class], np.arange(n_classes + 1))

    size = max(1, min(_GROUP, n_classes // 4))  # several groups, so that both threads get work

    def group(first: int) -> list[float]:
        last = min(first + size, n_classes)
        columns = _columns(scores, first, last)
        return [_average_precision(columns[c - first], by_class[bounds[c]:bounds[c + 1]]) for c in range(first, last)]

    firsts = range(0, n_classes, size)
    if scores.size >= _THREADED_SCORES and len(firsts) > 1:
        with ThreadPoolExecutor(max_workers=2) as pool:
            groups = list(pool.map(group, firsts))
    else:
        groups = [group(first) for first in firsts]
    return np.array([ap for aps in groups for ap in aps], dtype=np.float64)


def _columns(scores: np.ndarray, first: int, last: int) -> np.ndarray:
    """Columns ``first:last`` of ``scores`` as contiguous rows."""
    if scores.flags.f_contiguous:
        return scores[:, first:last].T
    columns = np.empty((last - first, len(scores)), dtype=scores.dtype)
    for row in range(0, len(scores), _ROWS):
        columns[:, row:row + _ROWS] = scores[row:row + _ROWS, first:last].T
    return columns


def pr_curve(positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and threshold at each distinct score, highest threshold first.

    The points of scikit-learn's ``precision_recall_curve`` (without its final (recall 0,
    precision 1) anchor), in the reverse order; empty arrays when there is no positive or a
    score is NaN.
    """
    positive = np.asarray(positive, dtype=bool)
    score = np.asarray(score)
    if score.dtype.kind != "f":
        score = score.astype(np.float64)
    n_pos = int(positive.sum())
    if n_pos == 0 or np.isnan(score).any():
        empty = np.zeros(0)
        return empty, empty, empty
    order = np.argsort(-score, kind="stable")
    s = score[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last item of each distinct score
    tps = np.cumsum(positive[order])[last]
    return tps / (last + 1), tps / n_pos, s[last]
