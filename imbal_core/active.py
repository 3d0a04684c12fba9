"""Active-learning selection: which unlabelled images to label next, filling the per-class quotas.

Input: a model's predictions on an unlabelled pool, read by :func:`imbal_core.io.predictions.read_predictions`
(COCO results JSON, YOLO txt, or a classification CSV with ``score_<class>`` columns), optionally
matched to an export that lists the pool's images (for file names, groups and conditions).

Uncertainty per image (``rule``), higher = more informative:

- ``least-confidence``: 1 - p_max; ``margin``: 1 - (p_max - p_second); ``entropy``: -sum p log p,
  divided by the log of the number of outcomes (so 0..1).
- Classification: ``p`` is the image's score vector (normalised to sum to 1).
- Detection: boxes of one image are grouped into objects: taken highest score first, each box
  joins the earlier box (of any class) it overlaps most with IoU >= ``iou`` (0.5), transitively;
  a box overlapping none starts an object. An object's ``p`` is,
  per class, the best score of its boxes, plus background = 1 - their sum (all rescaled when the
  sum exceeds 1): a lone box of score s is (s, 1 - s); a box read as Wheelchair 0.45 and Person
  0.40 is (0.45, 0.40, 0.15) and very uncertain. Entropy is normalised by log(classes + 1). The
  image takes the ``aggregate`` (max, the default; mean; sum) over its objects. An image without
  predictions scores 0.

An image is *predicted to hold* a class when the class's probability in one of its objects (or
its score, for classification) is at least ``class_threshold`` (0.3); for classification the
top class always counts.

Selection of ``n`` images (:func:`select_batch`):

1. ``score`` = uncertainty x (1 + ``boost``) for images predicted to hold a quota class that is
   still short of its target, else the uncertainty.
2. With quotas, the ``n`` slots are shared among the short classes in proportion to what each
   still needs (largest remainders), never more slots than a class still needs. A class gets no
   more than its share unless others run out of candidates: then their unused slots are shared
   among the rest in the same proportion (within what each needs). Each class fills its slots
   with its highest-scoring candidates; slots no class can fill go to the most uncertain
   remaining images. Without quotas, the ``n`` highest scores are taken.
3. Diversity: at most ``max_per_group`` images per group (``group`` column: the export's
   sequence / video / site, or any condition), default ceil(n / 20), so a batch does not take
   500 frames of one night drive.
4. Ties are broken by a random order drawn from ``seed``: the same inputs give the same batch.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Mapping, get_args

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .exports import csv_bytes

if TYPE_CHECKING:
    from .dataset import Dataset
    from .io.predictions import Predictions

log = logging.getLogger(__name__)

Rule = Literal["entropy", "margin", "least-confidence"]
RULES: tuple[Rule, ...] = get_args(Rule)
Aggregate = Literal["max", "mean", "sum"]
AGGREGATES: tuple[Aggregate, ...] = get_args(Aggregate)
#: Default group cap: one twentieth of the batch.
GROUP_SHARE = 0.05


def uncertainty(p: np.ndarray, rule: Rule, outcomes: int | None = None) -> np.ndarray:
    """Uncertainty of each row of probabilities ``p`` (rows sum to 1) under ``rule``, in 0..1.

    ``outcomes`` (the number of columns): the entropy's normaliser, log(outcomes).
    """
    if rule not in RULES:
        raise ValueError(f"`rule` must be one of {list(RULES)}. Got {rule!r} instead.")
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 1:
        raise ValueError(f"`p` must be a 2-D array with a column per outcome. Got shape {p.shape} instead.")
    if p.shape[0] == 0:
        return np.zeros(0)
    if rule == "least-confidence":
        return 1.0 - p.max(axis=1)
    if rule == "margin":
        if p.shape[1] == 1:
            return 1.0 - p[:, 0]
        top2 = -np.sort(-p, axis=1)[:, :2]
        return 1.0 - (top2[:, 0] - top2[:, 1])
    k = max(outcomes or p.shape[1], 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return terms.sum(axis=1) / math.log(k)


def _normalised(scores: np.ndarray) -> np.ndarray:
    scores = np.clip(np.nan_to_num(scores, nan=0.0), 0.0, None)
    sums = scores.sum(axis=1, keepdims=True)
    uniform = np.full_like(scores, 1.0 / max(scores.shape[1], 1))
    return np.where(sums > 0, scores / np.where(sums > 0, sums, 1.0), uniform)


# --------------------------------------------------------------------------- the pool


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
    """Score every pool image (see the module docstring).

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
        from .io.predictions import match_predictions

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
            h = np.bincount(obj, weights=np.where(p > 0, -p * np.log(p), 0.0), minlength=n)
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


# --------------------------------------------------------------------------- selection


@dataclass(frozen=True, eq=False)
class Selection:
    """A batch to label, ranked, with how it shares out over classes and conditions.

    ``batch`` columns: ``rank`` (1 = label first), ``image``, ``image_id``, ``file_name``,
    ``group``, conditions, ``score`` (what was ranked), ``uncertainty``, ``predicted`` (the quota
    classes it is predicted to hold, with probabilities, as text), ``fills`` (the quota class
    whose share it fills, null for uncertainty picks), ``reason``.
    ``classes``: per quota class ``category``, ``remaining`` (to its target), ``share`` (slots it
    was given), ``selected`` (images that fill it), ``holding`` (selected images predicted to hold
    it, whatever they fill), ``candidates`` (pool images predicted to hold it).
    ``conditions``: per ``condition`` and ``value``: ``pool`` images and ``selected`` images.
    """

    batch: pa.Table
    classes: pa.Table
    conditions: pa.Table
    n: int
    rule: Rule
    max_per_group: int | None
    group: str | None
    seed: int

    @property
    def size(self) -> int:
        return self.batch.num_rows

    def to_csv(self) -> bytes:
        """The ranked batch for the annotation tool (formula-safe CSV)."""
        keep = [c for c in ("rank", "image", "file_name", "score", "predicted", "reason", "group", "uncertainty")
                if c in self.batch.schema.names]
        return csv_bytes(self.batch.select(keep))

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "selected": self.size, "rule": self.rule, "group": self.group,
                "max_per_group": self.max_per_group, "seed": self.seed,
                "classes": self.classes.to_pylist(), "conditions": self.conditions.to_pylist()}


def resolve_group(pool: Pool, group: str | None) -> str | None:
    """The pool column that ``group`` names: ``group`` itself, a condition, or an export's name for groups
    (``sequence``, ``video``, ``site`` ...) which the readers put in ``group``. None: no cap."""
    if group is None:
        return None
    from .io._conditions import GROUP_FIELDS

    if group in ("group", *pool.conditions):
        return group
    if group in GROUP_FIELDS:
        return "group"
    raise ValueError(f"`group` must be 'group' (the export's sequence / video / site) or a condition "
                     f"{list(pool.conditions)}. Got {group!r} instead.")


def select_batch(pool: Pool, n: int, quotas: Mapping[str, float] | None = None, *, boost: float = 1.0,
                 group: str | None = "group", max_per_group: int | None = None, seed: int = 0) -> Selection:
    """Choose ``n`` images to label (see the module docstring).

    ``quotas``: what each class still needs (e.g. ``remaining`` from quota progress); classes at
    or below 0 are ignored. ``boost`` (1.0): extra weight of images predicted to hold a short
    class. ``group`` ("group"): the column images are capped by (None: no cap); ``max_per_group``
    (None: ceil(n / 20)). ``seed`` (0): breaks ties.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"`n` must be a whole number of at least 1. Got {n!r} instead.")
    if not isinstance(boost, (int, float)) or not math.isfinite(boost) or boost < 0:
        raise ValueError(f"`boost` must be a number of at least 0. Got {boost!r} instead.")
    column = resolve_group(pool, group)
    cap = max_per_group if max_per_group is not None else max(1, math.ceil(n * GROUP_SHARE))
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ValueError(f"`max_per_group` must be a whole number of at least 1. Got {max_per_group!r} instead.")
    needs = {str(k): float(v) for k, v in (quotas or {}).items() if v is not None and float(v) > 0}
    unknown = sorted(set(needs) - set(pool.class_names))
    if unknown:
        log.info("quota classes the pool's predictions never name: %s", unknown)
    table = pool.table
    size = table.num_rows
    rng = np.random.default_rng(seed)
    tiebreak = rng.permutation(size)
    classes = table.column("classes").to_pylist()
    probs = table.column("class_scores").to_pylist()
    unc = table.column("uncertainty").to_numpy(zero_copy_only=False)
    short = [[c for c in cs if c in needs] for cs in classes]
    score = np.where([bool(s) for s in short], unc * (1 + boost), unc)
    ranking = np.lexsort((tiebreak, -score))  # best first
    groups = table.column(column).to_pylist() if column else [None] * size
    taken_in_group: dict[Any, int] = {}
    chosen: list[int] = []
    fills: dict[int, str | None] = {}
    is_chosen = np.zeros(size, dtype=bool)

    def allowed(i: int) -> bool:
        g = groups[i]
        return not is_chosen[i] and (g is None or taken_in_group.get(g, 0) < cap)

    def take(i: int, reason: str | None) -> None:
        is_chosen[i] = True
        chosen.append(i)
        fills[i] = reason
        if groups[i] is not None:
            taken_in_group[groups[i]] = taken_in_group.get(groups[i], 0) + 1

    candidates: dict[str, list[int]] = {c: [] for c in needs}
    for i in ranking.tolist():
        for c in short[i]:
            candidates[c].append(i)
    # A class never gets more slots than it still needs (an image holds at least one of it).
    caps = {c: math.ceil(needs[c]) for c in needs}
    shares = _shares(min(n, size), {c: needs[c] for c in needs if candidates[c]}, caps)
    filled = {c: 0 for c in needs}
    pointer = {c: 0 for c in needs}
    active = {c for c in shares if shares[c] > 0}
    exhausted: set[str] = set()
    while active and len(chosen) < n:
        c = min(active, key=lambda k: (filled[k] / shares[k], -needs[k], k))
        lst = candidates[c]
        while pointer[c] < len(lst) and not allowed(lst[pointer[c]]):
            pointer[c] += 1
        if pointer[c] >= len(lst):  # out of candidates: its unused slots go to the others, in proportion
            active.discard(c)
            exhausted.add(c)
            spare = shares[c] - filled[c]
            shares[c] = filled[c]
            # every class not out of candidates, including those that already filled their share
            others = {k: needs[k] for k in shares if k not in exhausted}
            room = {k: caps[k] - shares[k] for k in others}
            for k, extra in _shares(spare, others, room).items():
                shares[k] += extra
            active = {k for k in others if shares[k] > filled[k]}
            continue
        take(lst[pointer[c]], c)
        filled[c] += 1
        if filled[c] >= shares[c]:
            active.discard(c)
    for i in ranking.tolist():  # what no quota class could fill: the most uncertain images left
        if len(chosen) >= n:
            break
        if allowed(i):
            take(i, None)
    return _selection(pool, chosen, fills, score, short, probs, classes, needs, shares, candidates, n, column, cap,
                      seed, max_per_group if column else None)


def _shares(total: int, weights: Mapping[str, float], caps: Mapping[str, int] | None = None) -> dict[str, int]:
    """``total`` split in proportion to ``weights`` (largest remainders get the leftover units), no key
    above its cap: what a capped key cannot take is shared among the others the same way."""
    out = {k: 0 for k in weights}
    open_keys = {k for k, w in weights.items() if w > 0 and (caps is None or caps[k] > 0)}
    left = total
    while left > 0 and open_keys:
        whole = sum(weights[k] for k in open_keys)
        exact = {k: left * weights[k] / whole for k in open_keys}
        step = {k: math.floor(v) for k, v in exact.items()}
        for k in sorted(exact, key=lambda k: (-(exact[k] - step[k]), k))[: left - sum(step.values())]:
            step[k] += 1
        for k in list(open_keys):
            room = caps[k] - out[k] if caps is not None else step[k]
            take = min(step[k], room)
            out[k] += take
            left -= take
            if caps is not None and out[k] >= caps[k]:
                open_keys.discard(k)
        if caps is None:
            break
    return out


def _selection(pool: Pool, chosen: list[int], fills: dict[int, str | None], score: np.ndarray, short: list[list[str]],
               probs: list[list[float]], classes: list[list[str]], needs: dict[str, float], shares: dict[str, int],
               candidates: dict[str, list[int]], n: int, column: str | None, cap: int, seed: int,
               max_per_group: int | None) -> Selection:
    table = pool.table
    position = {i: k for k, i in enumerate(chosen)}
    order = sorted(chosen, key=lambda i: (-score[i], position[i]))
    idx = pa.array(order, pa.int64())
    rows = table.take(idx)
    predicted = []
    for i in order:
        pairs = [(c, p) for c, p in zip(classes[i], probs[i]) if c in needs] or list(zip(classes[i], probs[i]))[:3]
        predicted.append(", ".join(f"{c} ({p:.2f})" for c, p in pairs))
    reasons = []
    for i in order:
        what = f"{pool.rule} {table.column('uncertainty')[i].as_py():.2f}"
        reasons.append(f"fills the {fills[i]} quota; {what}" if fills[i] else f"among the most uncertain; {what}")
    keep = ["image", "image_id", "file_name", "group", *pool.conditions, "uncertainty"]
    batch = rows.select(keep)
    batch = batch.set_column(batch.schema.get_field_index("uncertainty"), "uncertainty",
                             pc.round(batch.column("uncertainty"), 4))
    batch = batch.add_column(0, "rank", pa.array(np.arange(1, len(order) + 1), pa.int64()))
    batch = batch.add_column(batch.schema.get_field_index("uncertainty"), "score",
                             pa.array([round(float(score[i]), 4) for i in order], pa.float64()))
    batch = batch.append_column("predicted", pa.array(predicted, pa.string()))
    batch = batch.append_column("fills", pa.array([fills[i] for i in order], pa.string()))
    batch = batch.append_column("reason", pa.array(reasons, pa.string()))
    picked = set(chosen)
    filled_by: dict[str, int] = {}
    holding: dict[str, int] = {}
    for i in picked:
        if fills[i] is not None:
            filled_by[fills[i]] = filled_by.get(fills[i], 0) + 1
        for c in short[i]:
            holding[c] = holding.get(c, 0) + 1
    class_rows = {"category": [], "remaining": [], "share": [], "selected": [], "holding": [], "candidates": []}
    for c in sorted(needs, key=lambda k: (-needs[k], k)):
        class_rows["category"].append(c)
        class_rows["remaining"].append(needs[c])
        class_rows["share"].append(shares.get(c, 0))
        class_rows["selected"].append(filled_by.get(c, 0))
        class_rows["holding"].append(holding.get(c, 0))
        class_rows["candidates"].append(len(candidates.get(c, [])))
    class_table = pa.table({"category": pa.array(class_rows["category"], pa.string()),
                            "remaining": pa.array(class_rows["remaining"], pa.float64()),
                            **{k: pa.array(class_rows[k], pa.int64()) for k in ("share", "selected", "holding", "candidates")}})
    cond_rows = {"condition": [], "value": [], "pool": [], "selected": []}
    for name in ([column] if column and column not in pool.conditions else []) + list(pool.conditions):
        values = table.column(name).to_pylist()
        counts: dict[Any, list[int]] = {}
        for i, v in enumerate(values):
            counts.setdefault(v, [0, 0])[0] += 1
        for i in chosen:
            counts[values[i]][1] += 1
        if name == column and name not in pool.conditions:
            counts = {v: c for v, c in counts.items() if c[1]}  # groups: only those in the batch
        for v, (total, sel) in sorted(counts.items(), key=lambda kv: (-kv[1][1], str(kv[0]))):
            cond_rows["condition"].append(name)
            cond_rows["value"].append(None if v is None else str(v))
            cond_rows["pool"].append(total)
            cond_rows["selected"].append(sel)
    cond_table = pa.table({"condition": pa.array(cond_rows["condition"], pa.string()),
                           "value": pa.array(cond_rows["value"], pa.string()),
                           "pool": pa.array(cond_rows["pool"], pa.int64()),
                           "selected": pa.array(cond_rows["selected"], pa.int64())})
    return Selection(batch, class_table, cond_table, n, pool.rule, cap if column else None, column, seed)
