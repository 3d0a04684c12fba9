"""Detection (and instance-mask) evaluation: COCO AP per class, and an IoU-matched confusion matrix.

Two views of the same predictions:

- **COCO AP / AR** (:mod:`.coco`): pycocotools' COCOeval over every score — AP at IoU
  0.50:0.95, AP50, AP75, AR per class and the twelve summary figures.
- **At an operating point** (``score_threshold``, ``iou``): predictions scoring at least the
  threshold are matched to ground truth in two greedy passes, per image, highest score first,
  each prediction taking the unmatched ground-truth box it overlaps most with IoU ≥ ``iou``:
  first only boxes of its own class (a **correct** detection), then boxes of any other class
  (a **wrong_class** detection: a class swap). What is left: a prediction is a false alarm —
  **duplicate** when a box of its class overlaps enough but was taken by a higher-scoring
  prediction, **background** otherwise; a ground-truth box is a **miss**. Predictions on a
  crowd region of their class are **ignored**, as COCO does; crowd boxes are not counted.

The confusion matrix has rows = ground truth, columns = predicted, plus ``background`` (last
row: false alarms and duplicates; last column: misses). Per class: support = its row sum
(non-crowd ground truth), predicted = its column sum, tp = the diagonal; precision, recall and F1
follow (see :mod:`._common`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Literal, Sequence

import numpy as np
import pyarrow as pa

from ..dataset import Dataset
from ..io.predictions import Predictions
from ..types import Task
from . import coco
from ._common import BACKGROUND, ConfusionMatrix, Undefined, aggregate_counts, check_fraction, per_class
from .base import EvaluationBase
from .table import class_table, select_images

STATUSES = ("correct", "wrong_class", "duplicate", "background", "ignored", "below_threshold")
GT_STATUSES = ("found", "wrong_class", "missed", "crowd")
IouTypeOption = Literal["auto", "bbox", "segm"]


@dataclass(frozen=True, eq=False)
class Matching:
    """The operating-point matching of :func:`match_detections` (arrays in the inputs' order)."""

    matrix: np.ndarray  # (C + 1) x (C + 1), rows = ground truth, cols = predicted, background last
    dt_status: np.ndarray  # index into STATUSES
    dt_gt: np.ndarray  # matched ground-truth index, -1 when none
    dt_iou: np.ndarray  # IoU with the matched ground truth (NaN when none)
    best_same_iou: np.ndarray  # highest IoU with a non-crowd ground truth of the same class (0 when none)
    overlap_category: np.ndarray  # class of the other-class ground truth overlapping most (-1 when none)
    overlap_iou: np.ndarray
    gt_status: np.ndarray  # index into GT_STATUSES
    gt_found_as: np.ndarray  # class of the prediction matched to it (-1 when missed)


def box_iou(a: np.ndarray, b: np.ndarray, crowd: np.ndarray | None = None) -> np.ndarray:
    """IoU of box pairs (rows of ``a`` with rows of ``b``, x y w h); for a crowd ``b`` the
    intersection over the area of ``a`` (COCO's rule)."""
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2, bx2) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(ay2, by2) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    area_a = np.clip(a[:, 2], 0, None) * np.clip(a[:, 3], 0, None)
    area_b = np.clip(b[:, 2], 0, None) * np.clip(b[:, 3], 0, None)
    union = area_a + area_b - inter if crowd is None else np.where(crowd, area_a, area_a + area_b - inter)
    out = np.zeros(len(inter))
    np.divide(inter, union, out=out, where=union > 0)
    return out


def _pairs(dt_img: np.ndarray, gt_img: np.ndarray, n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (prediction, ground truth) pair of the same image; both inputs sorted by image."""
    gt_count = np.bincount(gt_img, minlength=n_images)
    gt_start = np.cumsum(gt_count) - gt_count
    rep = gt_count[dt_img] if len(dt_img) else np.zeros(0, np.int64)
    total = int(rep.sum())
    dt_idx = np.repeat(np.arange(len(dt_img)), rep)
    offsets = np.arange(total) - np.repeat(np.cumsum(rep) - rep, rep)
    gt_idx = gt_start[dt_img][dt_idx] + offsets if total else np.zeros(0, np.int64)
    return dt_idx, gt_idx


def _greedy(cand_dt: np.ndarray, cand_gt: np.ndarray, dt_match: list[int], gt_match: list[int]) -> None:
    """Walk candidate pairs in order; a pair matches when both sides are still free."""
    for d, g in zip(cand_dt.tolist(), cand_gt.tolist()):
        if dt_match[d] < 0 and gt_match[g] < 0:
            dt_match[d] = g
            gt_match[g] = d


PairIou = Callable[[np.ndarray, np.ndarray], np.ndarray]


def match_detections(
    gt_image: np.ndarray, gt_category: np.ndarray, gt_box: np.ndarray, gt_crowd: np.ndarray,
    dt_image: np.ndarray, dt_category: np.ndarray, dt_score: np.ndarray, dt_box: np.ndarray,
    n_classes: int, n_images: int, *, iou: float = 0.5, score_threshold: float = 0.5,
    pair_iou: PairIou | None = None,
) -> Matching:
    """Match predictions to ground truth at one operating point (see the module docstring).

    Inputs are arrays over ground-truth boxes (``gt_*``) and predictions (``dt_*``): dense
    image and class ids, boxes as (n, 4) x y w h. ``pair_iou(dt_index, gt_index)`` replaces the
    box IoU (mask IoU for instance segmentation); it gets index arrays into the inputs.
    """
    iou = check_fraction("iou", iou, open_low=True)
    score_threshold = check_fraction("score_threshold", score_threshold, high=np.inf)
    n_dt, n_gt, C = len(dt_image), len(gt_image), n_classes
    # predictions: by image, then highest score first, ties in input order (as COCOeval)
    dt_order = np.lexsort((np.arange(n_dt), -dt_score, dt_image)) if n_dt else np.zeros(0, np.int64)
    gt_order = np.argsort(gt_image, kind="stable")
    p_dt, p_gt = _pairs(dt_image[dt_order], gt_image[gt_order], n_images)
    d, g = dt_order[p_dt], gt_order[p_gt]  # pairs in original indices, dt-major in matching order
    if pair_iou is None:
        ious = box_iou(dt_box[d], gt_box[g], gt_crowd[g])
    else:
        ious = pair_iou(d, g)
    crowd = gt_crowd[g]
    same = dt_category[d] == gt_category[g]
    active = dt_score >= score_threshold
    dt_match, gt_match = [-1] * n_dt, [-1] * n_gt
    for stage_same in (True, False):
        cand = np.flatnonzero((same == stage_same) & ~crowd & (ious >= iou) & active[d])
        # candidates stay in matching order (dt-major); within a prediction, best IoU first
        cand = cand[np.lexsort((-ious[cand], p_dt[cand]))]
        _greedy(d[cand], g[cand], dt_match, gt_match)
    dt_gt = np.array(dt_match, dtype=np.int64)
    gt_dt = np.array(gt_match, dtype=np.int64)

    best_same = np.zeros(n_dt)
    sel = same & ~crowd
    np.maximum.at(best_same, d[sel], ious[sel])
    on_crowd = np.zeros(n_dt, bool)
    sel_crowd = same & crowd & (ious >= iou)
    on_crowd[d[sel_crowd]] = True
    overlap_category = np.full(n_dt, -1, np.int64)
    overlap_iou = np.zeros(n_dt)
    other = np.flatnonzero(~same & ~crowd & (ious > 0))
    if len(other):
        o = other[np.lexsort((ious[other], d[other]))]
        last = np.r_[np.flatnonzero(np.diff(d[o])), len(o) - 1]
        overlap_category[d[o[last]]] = gt_category[g[o[last]]]
        overlap_iou[d[o[last]]] = ious[o[last]]

    matched = dt_gt >= 0
    safe_gt = np.maximum(dt_gt, 0)
    correct = matched & (gt_category[safe_gt] == dt_category) if n_gt else np.zeros(n_dt, bool)
    status = np.full(n_dt, STATUSES.index("below_threshold"), np.int8)
    status[active & correct] = STATUSES.index("correct")
    status[active & matched & ~correct] = STATUSES.index("wrong_class")
    free = active & ~matched
    status[free & on_crowd] = STATUSES.index("ignored")
    status[free & ~on_crowd & (best_same >= iou)] = STATUSES.index("duplicate")
    status[free & ~on_crowd & (best_same < iou)] = STATUSES.index("background")
    dt_iou = np.full(n_dt, np.nan)
    is_match = dt_gt[d] == g  # the pair each matched prediction was matched through
    dt_iou[d[is_match]] = ious[is_match]

    gt_found_as = np.where(gt_dt >= 0, dt_category[np.maximum(gt_dt, 0)] if n_dt else -1, -1)
    gt_status = np.full(n_gt, GT_STATUSES.index("missed"), np.int8)
    gt_status[gt_found_as == gt_category] = GT_STATUSES.index("found")
    gt_status[(gt_found_as >= 0) & (gt_found_as != gt_category)] = GT_STATUSES.index("wrong_class")
    gt_status[gt_crowd] = GT_STATUSES.index("crowd")

    # rows = ground truth, cols = predicted, background last
    matrix = np.zeros((C + 1, C + 1), np.int64)
    np.add.at(matrix, (gt_category[dt_gt[matched]], dt_category[matched]), 1)
    counted = active & ~matched & (status != STATUSES.index("ignored"))
    np.add.at(matrix, (np.full(int(counted.sum()), C), dt_category[counted]), 1)
    missed = (gt_dt < 0) & ~gt_crowd
    np.add.at(matrix, (gt_category[missed], np.full(int(missed.sum()), C)), 1)
    return Matching(matrix=matrix, dt_status=status, dt_gt=dt_gt, dt_iou=dt_iou, best_same_iou=best_same,
                    overlap_category=overlap_category, overlap_iou=overlap_iou, gt_status=gt_status, gt_found_as=gt_found_as)


# --------------------------------------------------------------------------- on a dataset


@dataclass(frozen=True, eq=False, kw_only=True)
class DetectionEvaluation(EvaluationBase):
    """Detections (boxes, or instance masks when ``iou_type`` is "segm") against a dataset (the
    shared fields: see :class:`.base.EvaluationBase`).

    ``classes`` has AP / AP50 / AP75 / AR from COCOeval and precision / recall / F1 at the
    operating point (``iou``, ``score_threshold``); ``confusion``: the matched confusion matrix;
    ``coco``: the COCOeval run (None when skipped); ``detections``: one row per evaluated
    prediction with its status and overlaps; ``ground_truth``: one row per evaluated box with
    its status (``ann_id`` null for a box left out of counting: wholly outside its image).
    The ground truth is the annotations as exported (see
    :attr:`~imbal_core.Dataset.exported_annotations`), so every figure equals pycocotools' on the
    original file, not on boxes clipped for counting.
    """

    task: ClassVar[Task] = "detection"

    coco: coco.CocoResult | None
    detections: pa.Table
    ground_truth: pa.Table
    iou: float
    score_threshold: float
    iou_type: coco.IouType

    @property
    def map(self) -> float:
        """COCO AP (IoU 0.50:0.95) over classes with ground truth; NaN when COCOeval was skipped."""
        return self.coco.summary.ap if self.coco is not None else float("nan")

    def pr_curve(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(recall, precision) of one class at IoU 0.5 from COCOeval's 101 recall points, up to the
        highest recall reached."""
        if self.coco is None:
            return np.zeros(0), np.zeros(0)
        k = self.class_names.index(name)
        precision = self.coco.precision50[:, k]
        ok = ~np.isnan(precision)
        recall, precision = self.coco.recall_points[ok], precision[ok]
        reached = np.flatnonzero(precision > 0)  # COCO writes 0 past the highest recall reached
        end = reached[-1] + 1 if len(reached) else 0
        return recall[:end], precision[:end]

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(),
                "settings": {"iou": self.iou, "score_threshold": self.score_threshold, "iou_type": self.iou_type},
                "coco": self.coco.summary.to_dict() if self.coco is not None else None}


def _gt_arrays(dataset: Dataset, images: np.ndarray) -> dict[str, np.ndarray]:
    """The ground truth as exported (boxes not clipped, rows left out of counting included)."""
    gt = coco.exported_ground_truth(dataset, images)
    gt["box"] = np.nan_to_num(gt["box"])
    return gt


def _mask_iou(gt_rles: list, dt_rles: list, gt_crowd: np.ndarray, gt_image: np.ndarray) -> PairIou:
    """Mask IoU of index pairs, one pycocotools call per image (the pairs of an image are a
    contiguous predictions x ground-truth block, prediction-major)."""
    from pycocotools import mask as mask_utils

    def pair_iou(d: np.ndarray, g: np.ndarray) -> np.ndarray:
        out = np.zeros(len(d))
        if not len(d):
            return out
        image = gt_image[g]
        starts = np.r_[0, np.flatnonzero(np.diff(image)) + 1]
        for s, e in zip(starts.tolist(), np.r_[starts[1:], len(d)].tolist()):
            dd, gg = d[s:e], g[s:e]
            gts = gg[dd == dd[0]]
            dts = dd[:: len(gts)]
            block = mask_utils.iou([dt_rles[k] for k in dts], [gt_rles[k] for k in gts],
                                   gt_crowd[gts].astype(np.uint8).tolist())
            out[s:e] = np.asarray(block, dtype=np.float64).reshape(-1)
        return out

    return pair_iou


def evaluate_detection(
    dataset: Dataset,
    predictions: Predictions,
    *,
    iou: float = 0.5,
    score_threshold: float = 0.5,
    split: str | Sequence[str] | None = None,
    iou_type: IouTypeOption = "auto",
    coco_ap: bool = True,
    coco_result: coco.CocoResult | None = None,
    undefined: Undefined = "nan",
) -> DetectionEvaluation:
    """Evaluate detection ``predictions`` (matched to ``dataset``) on its images.

    ``iou`` (0.5) and ``score_threshold`` (0.5): the operating point of the confusion matrix and
    the per-class precision / recall / F1 (COCO AP uses every score and its own IoU range).
    ``split`` (None: all images): only the images of this split (or these splits); every image
    chosen counts, those without predictions too (their objects are misses).
    ``iou_type`` ("auto"): "segm" compares masks (when the predictions have them), "bbox" boxes.
    ``coco_ap`` (True): run COCOeval for AP / AR; False skips it (faster; AP columns are null).
    ``coco_result``: a run of :func:`coco_ap` on the same predictions, images and ``iou_type``,
    reused instead of running COCOeval again (AP does not depend on the operating point, so a
    new ``score_threshold`` need not pay for it).
    """
    if predictions.kind != "detection" or dataset.task == "classification":
        raise ValueError(f"Detection evaluation needs a detection or segmentation dataset and detection predictions. "
                         f"Got a {dataset.task} dataset and {predictions.kind} predictions instead.")
    if predictions.coverage is None:
        raise ValueError("`predictions` must be matched to the dataset first (read them with the dataset, "
                         "or call imbal_core.io.predictions.match_predictions).")
    if iou_type not in ("auto", "bbox", "segm"):
        raise ValueError(f"`iou_type` must be one of ['auto', 'bbox', 'segm']. Got {iou_type!r} instead.")
    kind: coco.IouType = ("segm" if predictions.has_masks else "bbox") if iou_type == "auto" else iou_type
    if kind == "segm" and not predictions.has_masks:
        raise ValueError("`iou_type` 'segm' needs predictions with masks; these have boxes only.")
    iou = check_fraction("iou", iou, open_low=True)
    score_threshold = check_fraction("score_threshold", score_threshold, high=np.inf)
    names = tuple(dataset.class_names)
    C = len(names)
    images = select_images(dataset, split)
    rows = predictions.matched()
    rows = rows.filter(pa.array(images[rows.column("image_id").to_numpy()])) if rows.num_rows else rows
    gt = _gt_arrays(dataset, images)
    dt_box = np.column_stack([rows.column(c).to_numpy(zero_copy_only=False) for c in ("x", "y", "w", "h")]) \
        if rows.num_rows else np.zeros((0, 4))
    gt_coco = None
    pair_iou = None
    if kind == "segm":
        ids = coco.coco_image_ids(dataset)
        gt_coco = coco.ground_truth(dataset, ids, "segm", images)
        rows = coco._with_polygon_rles(rows, coco._image_sizes(dataset)) if rows.num_rows else rows
        dt_rles = coco.mask_rles(rows)
        gt_rles = [gt_coco.annToRLE(gt_coco.anns[int(p) + 1]) for p in gt["position"]]
        pair_iou = _mask_iou(gt_rles, dt_rles, gt["crowd"], gt["image"])
        from pycocotools import mask as mask_utils

        if dt_rles:
            dt_box = np.asarray(mask_utils.toBbox(dt_rles), dtype=np.float64).reshape(-1, 4)
    dt_img = rows.column("image_id").to_numpy()
    dt_cat = rows.column("category_id").to_numpy().astype(np.int64)
    dt_score = rows.column("score").to_numpy(zero_copy_only=False).astype(np.float64)
    m = match_detections(gt["image"], gt["category"], gt["box"], gt["crowd"], dt_img, dt_cat, dt_score,
                         np.nan_to_num(dt_box), C, dataset.num_images, iou=iou, score_threshold=score_threshold,
                         pair_iou=pair_iou)
    if coco_result is not None:
        if coco_result.summary.iou_type != kind or coco_result.images != int(images.sum()):
            raise ValueError(f"`coco_result` is a {coco_result.summary.iou_type} run over {coco_result.images} images; this "
                             f"evaluation is {kind} over {int(images.sum())} images.")
        result = coco_result
    else:
        result = coco.run(dataset, rows, kind, images, gt=gt_coco) if coco_ap else None
    support, predicted, tp = m.matrix[:C].sum(axis=1), m.matrix[:, :C].sum(axis=0), np.diagonal(m.matrix)[:C].copy()
    counts_pc = per_class(support, predicted, tp, undefined)
    extra = {k: getattr(result, k) for k in ("ap", "ap50", "ap75", "ar")} if result is not None else {}
    table = class_table(dataset, counts_pc, **extra)
    status_names = np.array(STATUSES, dtype=object)
    detections = pa.table({
        "image_id": pa.array(dt_img, pa.int64()),
        "category_id": pa.array(dt_cat, pa.int32()),
        "score": pa.array(dt_score),
        "status": pa.array(status_names[m.dt_status].tolist(), pa.string()),
        "matched_category": pa.array(np.where(m.dt_gt >= 0, gt["category"][np.maximum(m.dt_gt, 0)] if len(gt["category"]) else -1, -1),
                                     pa.int32(), mask=m.dt_gt < 0),
        "iou": pa.array(m.dt_iou, mask=np.isnan(m.dt_iou)),
        "best_same_iou": pa.array(m.best_same_iou),
        "overlap_category": pa.array(m.overlap_category, pa.int32(), mask=m.overlap_category < 0),
        "overlap_iou": pa.array(m.overlap_iou),
        "x": pa.array(dt_box[:, 0]), "y": pa.array(dt_box[:, 1]), "w": pa.array(dt_box[:, 2]), "h": pa.array(dt_box[:, 3]),
    })
    ground_truth = pa.table({
        "ann_id": pa.array(gt["ann_id"], pa.int64(), mask=gt["ann_id"] < 0),
        "image_id": pa.array(gt["image"], pa.int64()),
        "category_id": pa.array(gt["category"], pa.int32()),
        "status": pa.array(np.array(GT_STATUSES, dtype=object)[m.gt_status].tolist(), pa.string()),
        "found_as": pa.array(m.gt_found_as, pa.int32(), mask=m.gt_found_as < 0),
    })
    counts = _counts(m, gt, dt_img, dt_cat, C)
    macro, weighted, micro = counts_pc.averages()
    return DetectionEvaluation(
        class_names=names, classes=table, confusion=ConfusionMatrix(names + (BACKGROUND,), m.matrix, has_background=True),
        macro=macro, weighted=weighted, micro=micro, counts=counts, image_ids=np.flatnonzero(images),
        excluded={"images_without_predictions": predictions.coverage.images_without_predictions},
        coco=result, detections=detections, ground_truth=ground_truth, iou=iou, score_threshold=score_threshold,
        iou_type=kind,
    )


def coco_ap(dataset: Dataset, predictions: Predictions, *, split: str | Sequence[str] | None = None,
            iou_type: IouTypeOption = "auto") -> coco.CocoResult:
    """COCOeval AP / AR of matched ``predictions`` over the images of ``split`` (see :mod:`.coco`)."""
    kind: coco.IouType = ("segm" if predictions.has_masks else "bbox") if iou_type == "auto" else iou_type
    if kind == "segm" and not predictions.has_masks:
        raise ValueError("`iou_type` 'segm' needs predictions with masks; these have boxes only.")
    images = select_images(dataset, split)
    rows = predictions.matched()
    rows = rows.filter(pa.array(images[rows.column("image_id").to_numpy()])) if rows.num_rows else rows
    return coco.run(dataset, rows, kind, images)


def _counts(m: Matching, gt: dict[str, np.ndarray], dt_img: np.ndarray, dt_cat: np.ndarray, C: int) -> pa.Table:
    """Per (image, class): tp = correct predictions, fp = other counted predictions, fn = objects not found as their class."""
    correct = m.dt_status == STATUSES.index("correct")
    counted = np.isin(m.dt_status, [STATUSES.index(s) for s in ("correct", "wrong_class", "duplicate", "background")])
    fp = counted & ~correct
    not_found = (m.gt_status == GT_STATUSES.index("missed")) | (m.gt_status == GT_STATUSES.index("wrong_class"))
    zeros_dt = np.zeros(int(correct.sum() + fp.sum()), np.int64)
    img = np.r_[dt_img[correct], dt_img[fp], gt["image"][not_found]]
    cat = np.r_[dt_cat[correct], dt_cat[fp], gt["category"][not_found]]
    tp = np.r_[np.ones(int(correct.sum()), np.int64), np.zeros(int(fp.sum()) + int(not_found.sum()), np.int64)]
    fpv = np.r_[np.zeros(int(correct.sum()), np.int64), np.ones(int(fp.sum()), np.int64), np.zeros(int(not_found.sum()), np.int64)]
    fn = np.r_[zeros_dt, np.ones(int(not_found.sum()), np.int64)]
    return aggregate_counts(img, cat, tp, fpv, fn, C)
