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

import contextlib
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np
import pyarrow as pa

from ..dataset import Dataset
from ..io.paths import safe_name, skip_undecodable_name
from ..io.predictions import Predictions
from ..io.rasters import ImageError, LabelImage, open_label_image
from ..report import LoadError, LoadReport
from ..types import Task
from . import coco
from ._common import BACKGROUND, ConfusionMatrix, Undefined, aggregate_counts, check_fraction, divide, per_class
from .base import EvaluationBase
from .detection import DetectionEvaluation, evaluate_detection
from .table import class_table, select_images

MASK_SUFFIXES = (".png", ".bmp", ".tif", ".tiff")
log = logging.getLogger(__name__)


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
    return iou, PixelSummary(miou=miou, fwiou=fw, pixel_accuracy=accuracy, pixels=int(total))


@dataclass(frozen=True, eq=False, kw_only=True)
class SegmentationEvaluation(EvaluationBase):
    """Pixel metrics (``pixels``, the per-class table with ``iou``, a pixel ``confusion``; the
    shared fields: see :class:`.base.EvaluationBase`) and, on COCO masks, the instance view
    (``instances``: COCO mask AP, instance confusion). ``counts`` are (image, class) pixel
    tp / fp / fn; ``image_ids`` are dense ids, or mask-pair positions without a dataset;
    ``score_threshold`` is NaN for mask images (no scores)."""

    task: ClassVar[Task] = "segmentation"

    pixels: PixelSummary
    score_threshold: float
    instances: DetectionEvaluation | None = None  # iou_type "segm"

    @property
    def coco(self) -> coco.CocoResult | None:
        return self.instances.coco if self.instances is not None else None

    def pr_curve(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return self.instances.pr_curve(name) if self.instances is not None else (np.zeros(0), np.zeros(0))

    def to_dict(self) -> dict[str, Any]:
        coco_run = self.coco
        return {**super().to_dict(), "settings": {"score_threshold": self.score_threshold},
                "coco": coco_run.summary.to_dict() if coco_run is not None else None,
                "segmentation": self.pixels.to_dict()}


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


def _result(names: Sequence[str], classes_source: Dataset | Sequence[str], matrix: np.ndarray, image_ids: list[int],
            per_image: list[np.ndarray], *, score_threshold: float, undefined: Undefined,
            instances: DetectionEvaluation | None = None, excluded: dict[str, int]) -> SegmentationEvaluation:
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
    return SegmentationEvaluation(
        class_names=tuple(names), classes=table, confusion=ConfusionMatrix(tuple(names) + (BACKGROUND,), matrix, True),
        macro=macro, weighted=weighted, micro=micro, counts=counts, image_ids=np.asarray(image_ids, dtype=np.int64),
        excluded=excluded, pixels=summary, score_threshold=score_threshold, instances=instances)


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
        inst = evaluate_detection(dataset, predictions, iou=iou, score_threshold=score_threshold, split=split,
                                  iou_type="segm", coco_result=coco_result, undefined=undefined)
    excluded = {"images_of_unknown_size": unsized,
                "images_without_predictions": predictions.coverage.images_without_predictions}
    return _result(names, dataset, matrix, image_list, per_image, score_threshold=score_threshold, undefined=undefined,
                   instances=inst, excluded=excluded)


# --------------------------------------------------------------------------- semantic mask images

#: Image modes that hold one class index per pixel.
MASK_MODES = frozenset({"L", "P", "I", "I;16", "I;16B", "I;16L", "1"})


class _Unreadable(Exception):
    def __init__(self, path: Path, reason: str):
        super().__init__(reason)
        self.path, self.reason = path, reason


def _open_mask(stack: contextlib.ExitStack, path: Path) -> LabelImage:
    """The mask at ``path``, decoded; :class:`_Unreadable` when it is no single-channel image."""
    try:
        image = stack.enter_context(open_label_image(path))
        if image.mode not in MASK_MODES:
            raise _Unreadable(path, f"a mask must have one channel (class index per pixel); this image is {image.mode}")
        image.load()
    except ImageError as exc:
        raise _Unreadable(path, str(exc)) from None
    return image


def mask_files(folder: str | Path, report: LoadReport | None = None) -> dict[str, Path]:
    """Mask images in a folder by stem; a name that is not valid UTF-8 is reported and left out."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LoadError(f"{folder}: not a folder of mask images ({'a file' if folder.exists() else 'no such folder'}).",
                        file=str(folder))
    report = report if report is not None else LoadReport()
    return {p.stem: p for p in sorted(folder.iterdir())
            if p.suffix.lower() in MASK_SUFFIXES and not skip_undecodable_name(p, report, p.name)}


def _mask_class_names(class_names: Sequence[str] | str | Path) -> tuple[list[str], str | None]:
    """The class names by pixel value, and the file they were read from (None when given as a list)."""
    if not isinstance(class_names, (str, Path)):
        return list(class_names), None
    source = str(class_names)
    try:
        text = Path(source).read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise LoadError(f"{source}: cannot read the class names ({exc.strerror or exc}).", file=source) from None
    return [line.strip() for line in text.splitlines() if line.strip()], source


def _lookup(lut: np.ndarray, strip: np.ndarray) -> np.ndarray:
    """``lut`` applied to a strip of pixel values; values past its end, or negative, get its last entry."""
    values = strip.view(np.uint8) if strip.dtype == np.bool_ else strip
    last = len(lut) - 1
    if values.dtype.kind == "i":
        values = np.where(values < 0, values.dtype.type(min(last, np.iinfo(values.dtype).max)), values)
    if np.iinfo(values.dtype).max > last:
        values = np.minimum(values, values.dtype.type(last))
    return lut[values]


def _byte_values(strip: np.ndarray) -> np.ndarray | None:
    """The strip as uint8 when its values are bytes (8-bit, palette, 1-bit masks), else None."""
    if strip.dtype == np.bool_:
        return strip.view(np.uint8)
    return strip if strip.dtype == np.uint8 else None


def _pair_confusion(gt: Path, pred: Path, stem: str, lut: np.ndarray, ignore_index: int | None,
                    C: int) -> tuple[np.ndarray, int]:
    """The (C + 1) x (C + 1) pixel counts of one pair of masks, strip by strip, and the pixels of
    values that name no class (left out). Raises :class:`_Unreadable` for a file that cannot be read.

    8-bit masks are counted as a 256 x 256 table of (ground-truth value, predicted value) pairs,
    one ``bincount`` per strip, mapped to classes once at the end; wider ones pixel by pixel."""
    with contextlib.ExitStack() as stack:
        g, p = _open_mask(stack, gt), _open_mask(stack, pred)
        if (g.height, g.width) != (p.height, p.width):
            raise ValueError(f"{pred}: Masks of {stem!r} differ in size: ground truth {(g.height, g.width)}, "
                             f"prediction {(p.height, p.width)} (ground truth file {gt}).")
        pairs = np.zeros((256, 256), np.int64)  # rows = ground-truth value, cols = predicted value
        counts = np.zeros((C + 1, C + 1), np.int64)
        unknown = 0
        for (_, gs), (_, ps) in zip(g.strips(), p.strips()):
            gb, pb = _byte_values(gs), _byte_values(ps)
            if gb is not None and pb is not None:
                code = gb.astype(np.uint16) << 8
                code |= pb
                pairs += np.bincount(code.reshape(-1), minlength=1 << 16).reshape(256, 256)
                continue
            gi, pi = _lookup(lut, gs).reshape(-1), _lookup(lut, ps).reshape(-1)
            if ignore_index is not None:
                gi[gs.reshape(-1) == ignore_index] = -1
                pi[ps.reshape(-1) == ignore_index] = C + 1
            strip_counts, strip_unknown = _classes_confusion(gi, pi, C)
            counts += strip_counts
            unknown += strip_unknown
    values = np.arange(256, dtype=np.uint8)
    gi, pi = np.repeat(_lookup(lut, values), 256), np.tile(_lookup(lut, values), 256)
    if ignore_index is not None and 0 <= ignore_index < 256:
        gi[np.repeat(values == ignore_index, 256)] = -1  # not evaluated
        pi[np.tile(values == ignore_index, 256)] = C + 1  # a prediction of "void" names no class
    pair_counts, pair_unknown = _classes_confusion(gi, pi, C, pairs.reshape(-1))
    return counts + pair_counts, unknown + pair_unknown


def _classes_confusion(gi: np.ndarray, pi: np.ndarray, C: int, weights: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """(C + 1) x (C + 1) counts of (ground-truth class, predicted class) pairs, each counted
    ``weights`` times (once); ground truth -1 is not evaluated, class C + 1 on either side names
    no class: such pixels are returned apart, as the second value."""
    keep = gi >= 0
    bad = (gi == C + 1) | (pi == C + 1)
    unknown = int((keep & bad).sum() if weights is None else weights[keep & bad].sum())
    keep &= ~bad
    cells = gi[keep] * (C + 1) + pi[keep]
    if weights is None:
        counts = np.bincount(cells, minlength=(C + 1) ** 2)
    else:  # float64 sums: exact below 2**53 pixels
        counts = np.rint(np.bincount(cells, weights=weights[keep], minlength=(C + 1) ** 2)).astype(np.int64)
    return counts.reshape(C + 1, C + 1), unknown


def evaluate_masks(
    gt_folder: str | Path,
    pred_folder: str | Path,
    class_names: Sequence[str] | str | Path,
    *,
    background_index: int | None = 0,
    ignore_index: int | None = 255,
    dataset: Dataset | None = None,
    undefined: Undefined = "nan",
    report: LoadReport | None = None,
) -> SegmentationEvaluation:
    """Pixel metrics of semantic mask images: ``gt_folder`` and ``pred_folder`` hold one image per
    stem (pixel value = index into ``class_names``: a list, or a text file of them, one per line).

    ``background_index`` (0): the index that is no class (None: every index is a class).
    ``ignore_index`` (255): ground-truth pixels not evaluated. ``dataset`` (optional): the
    export the masks belong to; images are matched by file stem so that results can be sliced
    by its conditions, and classes by name. Masks present on one side only are counted in
    ``excluded`` (``gt_without_prediction``, ``prediction_without_gt``); a pair of different
    sizes raises. A mask that cannot be read (empty, truncated, not single-channel) is reported
    in ``report`` (and logged as a warning), its pair skipped and counted (``unreadable_masks``);
    when no pair can be read, :class:`LoadError` names the first such file. Masks are read in
    strips (:mod:`imbal_core.io.rasters`), so a 20000 x 20000 mask is evaluated in bounded memory.
    """
    report = report if report is not None else LoadReport()
    names, names_file = _mask_class_names(class_names)
    where = f"{names_file}: " if names_file else ""
    if not names:
        raise LoadError(f"{names_file}: names no class (one class name per line).", file=names_file) if names_file \
            else ValueError("`class_names` must name at least one class.")
    if background_index is not None and not 0 <= background_index < len(names):
        raise ValueError(f"{where}`background_index` must be an index into `class_names` (0..{len(names) - 1}). "
                         f"Got {background_index} instead.")
    classes = [n for i, n in enumerate(names) if i != background_index]
    C = len(classes)
    lut = np.full(max(len(names), 256) + 1, C + 1, dtype=np.int64)  # unknown values -> C + 1
    for i, n in enumerate(names):
        lut[i] = C if i == background_index else classes.index(n)
    gts, preds = mask_files(gt_folder, report), mask_files(pred_folder, report)
    stems = sorted(set(gts) & set(preds))
    image_of = _stem_ids(dataset, stems)
    matrix = np.zeros((C + 1, C + 1), np.int64)
    per_image, ids, unreadable = [], [], []
    unknown_values = not_in_dataset = 0
    for n, stem in enumerate(stems):
        if dataset is not None and stem not in image_of:
            not_in_dataset += 1
            continue
        try:
            cm, unknown = _pair_confusion(gts[stem], preds[stem], stem, lut, ignore_index, C)
        except _Unreadable as exc:
            shown = safe_name(exc.path)
            report.add(shown, stem, "unreadable_image", f"mask cannot be read: {exc.reason}", "pair skipped")
            log.warning("%s: mask cannot be read: %s; the pair %r is skipped", shown, exc.reason, stem)
            unreadable.append(exc)
            continue
        unknown_values += unknown
        matrix += cm
        per_image.append(cm)
        ids.append(image_of.get(stem, n))
    if unreadable and not per_image:
        first = unreadable[0]
        raise LoadError(f"{safe_name(first.path)}: mask cannot be read: {first.reason}; no pair of masks could be read "
                        f"({len(unreadable):,} unreadable).", report, safe_name(first.path))
    excluded = {"gt_without_prediction": len(set(gts) - set(preds)), "prediction_without_gt": len(set(preds) - set(gts)),
                "pixels_of_unknown_class": unknown_values, "masks_not_in_dataset": not_in_dataset,
                "unreadable_masks": len(unreadable)}
    source: Dataset | list[str] = classes
    if dataset is not None:
        if sorted(classes) != sorted(dataset.class_names):
            raise ValueError(f"{where}`class_names` {classes} must name the dataset's classes {dataset.class_names} "
                             "(background aside).")
        order = [classes.index(n) for n in dataset.class_names] + [C]
        matrix = matrix[np.ix_(order, order)]
        per_image = [cm[np.ix_(order, order)] for cm in per_image]
        classes, source = list(dataset.class_names), dataset
    return _result(classes, source, matrix, ids, per_image, score_threshold=float("nan"), undefined=undefined,
                   excluded=excluded)


def _stem_ids(dataset: Dataset | None, stems: list[str]) -> dict[str, int]:
    if dataset is None:
        return {}
    names = dataset.images.column("file_name").to_pylist()
    by_stem: dict[str, int] = {}
    for i, n in enumerate(names):
        if n:
            by_stem.setdefault(Path(n).stem, i)
    return {s: by_stem[s] for s in stems if s in by_stem}
