"""Detection boxes of each image grouped into objects by IoU, and each object's uncertainty.

An object's probabilities: per class the best score of its boxes, plus background (see
:mod:`imbal_core.active`). Vectorised over all images at once, in sparse (object, class) pairs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .scoring import Rule


@dataclass(frozen=True)
class _Objects:
    """Objects in sparse form: per object its ``image`` and ``background``; per (object, class) pair ``p``."""

    image: np.ndarray
    background: np.ndarray
    obj: np.ndarray
    cls: np.ndarray
    p: np.ndarray

    def dense(self, n_classes: int) -> np.ndarray:
        out = np.zeros((len(self.image), n_classes + 1))
        out[self.obj, self.cls] = self.p
        out[:, -1] = self.background
        return out


def _object_uncertainty(objects: _Objects, rule: Rule, outcomes: int) -> np.ndarray:
    """:func:`uncertainty` of every object, from the sparse pairs (the same values as on the dense rows)."""
    n = len(objects.image)
    bg, p, obj = objects.background, objects.p, objects.obj
    if rule == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            # as float: bincount of no pairs at all gives int64 zeros, which `h +=` below cannot take
            h = np.bincount(obj, weights=np.where(p > 0, -p * np.log(p), 0.0), minlength=n).astype(np.float64)
            h += np.where(bg > 0, -bg * np.log(bg), 0.0)
        return h / math.log(max(outcomes, 2))
    order = np.lexsort((-p, obj))
    starts = np.searchsorted(obj[order], np.arange(n))
    size = np.bincount(obj, minlength=n)
    top1 = np.where(size > 0, p[order][np.minimum(starts, max(len(p) - 1, 0))] if len(p) else 0.0, 0.0)
    top2 = np.where(size > 1, p[order][np.minimum(starts + 1, max(len(p) - 1, 0))] if len(p) else 0.0, 0.0)
    three = -np.sort(-np.stack([top1, top2, bg], axis=1), axis=1)
    if rule == "least-confidence":
        return 1.0 - three[:, 0]
    return 1.0 - (three[:, 0] - three[:, 1])


def _objects(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, n_classes: int, iou: float) -> np.ndarray:
    """One image's boxes grouped into objects: a probability row (classes..., background) per object."""
    return _group_objects(np.zeros(len(scores), np.int64), boxes, scores, classes, n_classes, iou).dense(n_classes)


#: Box pairs compared at once while grouping (bounds the memory: about 100 bytes a pair).
PAIR_BLOCK = 2_000_000


def _group_objects(image: np.ndarray, boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, n_classes: int,
                   iou: float) -> _Objects:
    """Objects of every image, in sparse form (see :class:`_Objects`).

    Within an image, boxes are taken highest score first; each joins the earlier box it overlaps
    most (IoU >= ``iou``), and objects are the chains so formed. A box without coordinates is an
    object of its own. An object's probability of a class is the best score of its boxes of that
    class (all rescaled when they add up to more than 1); background is what is left. Vectorised
    over all box pairs of each image.
    """
    order = np.lexsort((-scores, image))
    image, boxes, scores, classes = image[order], boxes[order], np.clip(scores[order], 0, 1), classes[order]
    n = len(scores)
    parent = np.arange(n)
    if n:
        starts = np.flatnonzero(np.r_[True, image[1:] != image[:-1]])
        sizes = np.diff(np.r_[starts, n])
        rank = np.arange(n) - np.repeat(starts, sizes)  # earlier boxes of the same image
        first = np.repeat(starts, sizes)
        x1, y1 = boxes[:, 0], boxes[:, 1]
        x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
        area = np.clip(boxes[:, 2], 0, None) * np.clip(boxes[:, 3], 0, None)
        ends = np.cumsum(rank)
        lo = 0
        while lo < n:  # blocks of boxes whose pairs fit in PAIR_BLOCK
            hi = max(lo + 1, int(np.searchsorted(ends, (ends[lo] - rank[lo]) + PAIR_BLOCK, side="right")))
            block = np.arange(lo, min(hi, n))
            counts = rank[block]
            later = np.repeat(block, counts)
            offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            earlier = np.repeat(first[block], counts) + offsets
            with np.errstate(invalid="ignore", divide="ignore"):
                iw = np.minimum(x2[later], x2[earlier]) - np.maximum(x1[later], x1[earlier])
                ih = np.minimum(y2[later], y2[earlier]) - np.maximum(y1[later], y1[earlier])
                inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
                overlap = inter / (area[later] + area[earlier] - inter)
            keep = overlap >= iou  # NaN (no box) compares False
            if keep.any():
                cand_later, cand_earlier, cand_iou = later[keep], earlier[keep], overlap[keep]
                best = np.lexsort((cand_earlier, -cand_iou, cand_later))
                chosen = best[np.r_[True, cand_later[best][1:] != cand_later[best][:-1]]]
                parent[cand_later[chosen]] = cand_earlier[chosen]
            lo = hi
        while True:  # follow each chain to its first box
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    roots, owner = np.unique(parent, return_inverse=True)
    span = max(n_classes, 1)
    pair, pair_index = np.unique(owner * span + classes, return_inverse=True)
    p = np.zeros(len(pair))
    np.maximum.at(p, pair_index, scores)
    obj, cls = pair // span, pair % span
    total = np.bincount(obj, weights=p, minlength=len(roots))
    p = p / np.where(total > 1, total, 1.0)[obj]
    background = np.clip(1 - np.bincount(obj, weights=p, minlength=len(roots)), 0, 1)
    return _Objects(image[roots] if n else np.zeros(0, np.int64), background, obj, cls, p)
