"""Segmentation: a pixel confusion matrix, per-class IoU, mIoU and frequency-weighted IoU.

Pixels are counted either from COCO masks (the dataset's polygons / RLEs against predicted
RLEs, at full resolution) or from semantic mask images (PNG, pixel = class index).

From COCO masks each image becomes one semantic map per side: its masks painted largest first,
so a thin marking drawn over the road it lies on keeps its pixels; predictions count when their
score is at least ``score_threshold``. Pixels no mask covers are ``background``.

Definitions, per class c of the dataset (background is not a class: it is the last row and
column of the confusion matrix, rows = ground truth, columns = predicted):

- IoU = tp / (tp + fp + fn) over pixels; precision, recall, and F1 (= Dice) as usual;
  NaN when the class is neither present nor predicted.
- mIoU = mean IoU over the classes where it is defined (equal weight per class).
- frequency-weighted IoU = Σ support_c · IoU_c / Σ support_c (weighted by ground-truth pixels).
- pixel accuracy = share of all pixels, background included, whose class is right.

On a COCO dataset the masks are also evaluated as instances (COCO mask AP per class and an
instance confusion matrix, :mod:`.detection` with ``iou_type="segm"``): ``instances``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from ..dataset import Dataset
from ..io.predictions import Predictions
from . import coco
from ._common import BACKGROUND, Averages, ConfusionMatrix, Undefined, aggregate_counts, check_fraction, divide, per_class
from .table import class_table, select_images

MASK_SUFFIXES = (".png", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class PixelSummary:
    """Dataset-level pixel figures (NaN when undefined)."""

    miou: float
    fwiou: float
    pixel_accuracy: float
    pixels: int  # all pixels compared, background included

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def iou_from_confusion(matrix: np.ndarray) -> tuple[np.ndarray, PixelSummary]:
    """Per-class IoU and the summary from a (C + 1) x (C + 1) pixel confusion matrix (background last)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    C = matrix.shape[0] - 1
    tp = np.diagonal(matrix)[:C]
    support = matrix[:C].sum(axis=1)
    predicted = matrix[:, :C].sum(axis=0)
    iou = divide(tp, support + predicted - tp)
    defined = ~np.isnan(iou)
    miou = float(iou[defined].mean()) if defined.any() else float("nan")
    fw = float(np.sum(support[defined] * iou[defined]) / support[defined].sum()) if support[defined].sum() else float("nan")
    total = matrix.sum()
    accuracy = float(np.trace(matrix) / total) if total else float("nan")
    return iou, PixelSummary(miou, fw, accuracy, int(total))


@dataclass(frozen=True, eq=False)
class SegmentationEvaluation:
    """Pixel metrics (``pixels``, the per-class table with ``iou``, a pixel ``confusion``) and,
    on COCO masks, the instance view (``instances``: COCO mask AP, instance confusion)."""

    class_names: tuple[str, ...]
    classes: pa.Table
    confusion: ConfusionMatrix
    macro: Averages
    weighted: Averages
    micro: Averages
    pixels: PixelSummary
    counts: pa.Table  # (image, class) pixel tp / fp / fn
    image_ids: np.ndarray  # the evaluated images (dense ids, or mask-pair positions without a dataset)
    score_threshold: float
    instances: Any = None  # DetectionEvaluation with iou_type "segm", or None
    task: str = "segmentation"
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def images(self) -> int:
        return len(self.image_ids)

    @property
    def coco(self):
        return self.instances.coco if self.instances is not None else None

    def pr_curve(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return self.instances.pr_curve(name) if self.instances is not None else (np.zeros(0), np.zeros(0))

    def to_dict(self) -> dict:
        from .export import evaluation_dict

        return evaluation_dict(self)


def _paint(rles: list[dict], classes: list[int], shape: tuple[int, int], background: int) -> np.ndarray:
    """One class per pixel (column-major, as RLEs are): masks painted largest first, so smaller
    ones stay on top."""
    from pycocotools import mask as mask_utils

    dtype = np.uint8 if background < 255 else np.uint16
    canvas = np.full(shape, background, dtype=dtype, order="F")
    if not rles:
        return canvas
    areas = mask_utils.area(rles)
    for k in np.argsort(-np.asarray(areas, dtype=np.int64), kind="stable").tolist():
        if tuple(rles[k]["size"]) != shape:
            continue
        np.copyto(canvas, dtype(classes[k]), where=_decode(rles[k]).view(bool))
    return canvas


def _decode(rle: dict) -> np.ndarray:
    """A mask from its RLE. pycocotools 2.0.11 trips a NumPy 2 DeprecationWarning on every decode
    (its own code, nothing to act on here); it is silenced for this call only."""
    from pycocotools import mask as mask_utils

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(rle)


def _confusion(gt_map: np.ndarray, dt_map: np.ndarray, n: int) -> np.ndarray:
    """n x n pixel counts of two class maps (values 0..n-1)."""
    if n <= 16:  # both codes fit one byte: a 256-bin count of the combined byte
        code = (gt_map << 4) | dt_map
        counts = np.bincount(code.ravel(order="K"), minlength=256).reshape(16, 16)
        return counts[:n, :n].astype(np.int64)
    code = gt_map.astype(np.int64) * n + dt_map
    return np.bincount(code.ravel(order="K"), minlength=n * n).reshape(n, n)


def _result(names: Sequence[str], classes_source: Any, matrix: np.ndarray, image_ids: list[int], per_image: list[np.ndarray],
            score_threshold: float, undefined: Undefined, instances: Any = None, excluded: dict | None = None) -> SegmentationEvaluation:
    C = len(names)
    iou, summary = iou_from_confusion(matrix)
    support, predicted, tp = matrix[:C].sum(axis=1), matrix[:, :C].sum(axis=0), np.diagonal(matrix)[:C].copy()
    counts_pc = per_class(support, predicted, tp, undefined)
    extra: dict[str, Any] = {"iou": iou}
    if instances is not None and instances.coco is not None:
        extra.update({k: getattr(instances.coco, k) for k in ("ap", "ap50", "ap75", "ar")})
    table = class_table(classes_source, counts_pc, **extra)
    rows_img, rows_cat, rows_tp, rows_fp, rows_fn = [], [], [], [], []
    for image, cm in zip(image_ids, per_image):
        t = np.diagonal(cm)[:C]
        fp = cm[:, :C].sum(axis=0) - t
        fn = cm[:C].sum(axis=1) - t
        nz = np.flatnonzero(t + fp + fn)
        rows_img.append(np.full(len(nz), image))
        rows_cat.append(nz)
        rows_tp.append(t[nz]), rows_fp.append(fp[nz]), rows_fn.append(fn[nz])
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64)  # noqa: E731
    counts = aggregate_counts(cat(rows_img), cat(rows_cat), cat(rows_tp), cat(rows_fp), cat(rows_fn), C)
    macro, weighted, micro = counts_pc.averages()
    return SegmentationEvaluation(tuple(names), table, ConfusionMatrix(tuple(names) + (BACKGROUND,), matrix, True), macro,
                                  weighted, micro, summary, counts, np.asarray(image_ids, dtype=np.int64), score_threshold, instances,
                                  excluded=excluded or {})


def evaluate_segmentation(
    dataset: Dataset,
    predictions: Predictions,
    *,
    score_threshold: float = 0.5,
    iou: float = 0.5,
    split: str | Sequence[str] | None = None,
    instances: bool = True,
    coco_result: coco.CocoResult | None = None,
    undefined: Undefined = "nan",
) -> SegmentationEvaluation:
    """Pixel metrics of mask ``predictions`` (COCO RLE results matched to a COCO ``dataset``).

    ``score_threshold`` (0.5): predictions scoring at least this are painted. ``instances``
    (True): also evaluate the masks as instances (COCO mask AP; ``iou`` is the instance
    matching IoU of its confusion matrix). ``split`` (None: all images) as in detection.
    ``coco_result``: a mask COCOeval run to reuse (:func:`.detection.coco_ap`).
    """
    if not predictions.has_masks:
        raise ValueError("Segmentation evaluation needs predictions with masks (COCO results with `segmentation`).")
    if predictions.coverage is None:
        raise ValueError("`predictions` must be matched to the dataset first (read them with the dataset).")
    score_threshold = check_fraction("score_threshold", score_threshold, high=np.inf)
    names = tuple(dataset.class_names)
    C = len(names)
    images = select_images(dataset, split)
    ids = coco.coco_image_ids(dataset)
    gt = coco.ground_truth(dataset, ids, "segm", images)
    rows = predictions.matched()
    rows = rows.filter(pa.array(images[rows.column("image_id").to_numpy()])) if rows.num_rows else rows
    rows = coco._with_polygon_rles(rows, coco._image_sizes(dataset)) if rows.num_rows else rows
    scores = rows.column("score").to_numpy(zero_copy_only=False) if rows.num_rows else np.zeros(0)
    painted = rows.filter(pa.array(scores >= score_threshold)) if rows.num_rows else rows
    dt_rles = coco.mask_rles(painted) if painted.num_rows else []
    dt_by_image: dict[int, list[int]] = {}
    for k, image in enumerate(painted.column("image_id").to_pylist() if painted.num_rows else []):
        dt_by_image.setdefault(image, []).append(k)
    dt_cat = painted.column("category_id").to_pylist() if painted.num_rows else []
    width = dataset.images.column("width").to_pylist()
    height = dataset.images.column("height").to_pylist()
    matrix = np.zeros((C + 1, C + 1), np.int64)
    per_image, image_list = [], []
    unsized = 0
    for i in np.flatnonzero(images).tolist():
        gt_anns = gt.imgToAnns.get(int(ids[i]), [])
        shape = (height[i], width[i]) if height[i] and width[i] else None
        gt_masks = [gt.annToRLE(a) for a in gt_anns]
        dt_masks = [dt_rles[k] for k in dt_by_image.get(i, [])]
        if shape is None:
            shape = next((tuple(m["size"]) for m in gt_masks + dt_masks), None)
            if shape is None:
                unsized += 1
                continue
        if not gt_masks and not dt_masks:  # all background
            cm = np.zeros((C + 1, C + 1), np.int64)
            cm[C, C] = shape[0] * shape[1]
        else:
            gt_map = _paint(gt_masks, [a["category_id"] - 1 for a in gt_anns], shape, C)
            dt_map = _paint(dt_masks, [dt_cat[k] for k in dt_by_image.get(i, [])], shape, C)
            cm = _confusion(gt_map, dt_map, C + 1)
        matrix += cm
        per_image.append(cm)
        image_list.append(i)
    inst = None
    if instances:
        from .detection import evaluate_detection

        inst = evaluate_detection(dataset, predictions, iou=iou, score_threshold=score_threshold, split=split,
                                  iou_type="segm", coco_result=coco_result, undefined=undefined)
    excluded = {"images_of_unknown_size": unsized,
                "images_without_predictions": predictions.coverage.images_without_predictions}
    return _result(names, dataset, matrix, image_list, per_image, score_threshold, undefined, inst, excluded)


# --------------------------------------------------------------------------- semantic mask images


def read_mask(path: str | Path) -> np.ndarray:
    """A single-channel mask image as an integer array (pixel = class index)."""
    from PIL import Image

    with Image.open(path) as image:
        if image.mode not in ("L", "P", "I", "I;16", "1"):
            raise ValueError(f"{path}: a mask must have one channel (class index per pixel); this image is {image.mode}.")
        return np.asarray(image, dtype=np.int64)


def mask_files(folder: str | Path) -> dict[str, Path]:
    """Mask images in a folder by stem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"`{folder}` must be a folder of mask images.")
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in MASK_SUFFIXES}


def evaluate_masks(
    gt_folder: str | Path,
    pred_folder: str | Path,
    class_names: Sequence[str],
    *,
    background_index: int | None = 0,
    ignore_index: int | None = 255,
    dataset: Dataset | None = None,
    undefined: Undefined = "nan",
) -> SegmentationEvaluation:
    """Pixel metrics of semantic mask images: ``gt_folder`` and ``pred_folder`` hold one image per
    stem (pixel value = index into ``class_names``).

    ``background_index`` (0): the index that is no class (None: every index is a class).
    ``ignore_index`` (255): ground-truth pixels not evaluated. ``dataset`` (optional): the
    export the masks belong to; images are matched by file stem so that results can be sliced
    by its conditions, and classes by name. Masks present on one side only are counted in
    ``excluded`` (``gt_without_prediction``, ``prediction_without_gt``); a pair of different
    sizes raises.
    """
    names = list(class_names)
    if not names:
        raise ValueError("`class_names` must name at least one class.")
    if background_index is not None and not 0 <= background_index < len(names):
        raise ValueError(f"`background_index` must be an index into `class_names` (0..{len(names) - 1}). Got {background_index} instead.")
    classes = [n for i, n in enumerate(names) if i != background_index]
    C = len(classes)
    lut = np.full(max(len(names), (ignore_index or 0) + 1, 256), C + 1, dtype=np.int64)  # unknown values -> C + 1
    for i, n in enumerate(names):
        lut[i] = C if i == background_index else classes.index(n)
    if ignore_index is not None:
        lut[ignore_index] = -1
    gts, preds = mask_files(gt_folder), mask_files(pred_folder)
    stems = sorted(set(gts) & set(preds))
    image_of = _stem_ids(dataset, stems)
    matrix = np.zeros((C + 1, C + 1), np.int64)
    per_image, ids = [], []
    unknown_values = not_in_dataset = 0
    for n, stem in enumerate(stems):
        if dataset is not None and stem not in image_of:
            not_in_dataset += 1
            continue
        g, p = read_mask(gts[stem]), read_mask(preds[stem])
        if g.shape != p.shape:
            raise ValueError(f"Masks of {stem!r} differ in size: ground truth {g.shape}, prediction {p.shape}.")
        if max(g.max(initial=0), p.max(initial=0)) >= len(lut):
            lut = np.concatenate([lut, np.full(int(max(g.max(), p.max())) + 1 - len(lut), C + 1)])
        gi, pi = lut[g].reshape(-1), lut[p].reshape(-1)
        keep = gi >= 0
        bad = (gi == C + 1) | (pi == C + 1)
        unknown_values += int((keep & bad).sum())
        keep &= ~bad
        cm = np.bincount(gi[keep] * (C + 1) + pi[keep], minlength=(C + 1) ** 2).reshape(C + 1, C + 1)
        matrix += cm
        per_image.append(cm)
        ids.append(image_of.get(stem, n))
    excluded = {"gt_without_prediction": len(set(gts) - set(preds)), "prediction_without_gt": len(set(preds) - set(gts)),
                "pixels_of_unknown_class": unknown_values, "masks_not_in_dataset": not_in_dataset}
    source: Any = classes
    if dataset is not None:
        if sorted(classes) != sorted(dataset.class_names):
            raise ValueError(f"`class_names` {classes} must name the dataset's classes {dataset.class_names} (background aside).")
        order = [classes.index(n) for n in dataset.class_names] + [C]
        matrix = matrix[np.ix_(order, order)]
        per_image = [cm[np.ix_(order, order)] for cm in per_image]
        classes, source = list(dataset.class_names), dataset
    return _result(classes, source, matrix, ids, per_image, float("nan"), undefined, None, excluded)


def _stem_ids(dataset: Dataset | None, stems: list[str]) -> dict[str, int]:
    if dataset is None:
        return {}
    names = dataset.images.column("file_name").to_pylist()
    by_stem: dict[str, int] = {}
    for i, n in enumerate(names):
        if n:
            by_stem.setdefault(Path(n).stem, i)
    return {s: by_stem[s] for s in stems if s in by_stem}
