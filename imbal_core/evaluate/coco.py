"""COCO AP / AR through pycocotools' own ``COCOeval``, quietly, with per-class values.

The ground truth is built from the dataset's annotations as exported
(:attr:`~imbal_core.Dataset.exported_annotations`: boxes not clipped, boxes wholly outside the
image kept, export order; ``area``, ``iscrowd``; masks for ``segm`` come from the records the
COCO reader kept, :attr:`~imbal_core.Dataset.records`), the results from the matched predictions, so the numbers are pycocotools'
numbers for the original files. Image ids are the export's own ids where they are whole numbers
(COCOeval breaks score ties by image id, so this keeps its numbers identical to a run on the
original files); annotation ids are the position in export order + 1 (COCOeval reads id 0 as
"unmatched").

pycocotools prints as it works; that output is captured and logged at DEBUG level. Per-class
values are read from the accumulated arrays: ``precision[T, R, K, A, M]`` (IoU thresholds
0.50:0.05:0.95, 101 recall points, classes, area ranges all/small/medium/large, max detections
1/10/100) and ``recall[T, K, A, M]``; -1 (no ground truth) becomes NaN.
"""
from __future__ import annotations

import contextlib
import copy
import io
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
import numpy as np
import pyarrow as pa

from ..dataset import Dataset

log = logging.getLogger(__name__)

IouType = Literal["bbox", "segm"]
_PRINT_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet():
    """Capture what pycocotools prints (to stdout) and log it at DEBUG level."""
    buffer = io.StringIO()
    with _PRINT_LOCK, contextlib.redirect_stdout(buffer):
        yield
    text = buffer.getvalue().strip()
    if text:
        log.debug("pycocotools: %s", text.replace("\n", " | "))


@dataclass(frozen=True)
class CocoSummary:
    """The twelve figures of ``COCOeval.summarize()``, by name (NaN where COCOeval prints -1)."""

    iou_type: str
    ap: float  # IoU 0.50:0.95, all areas, 100 detections
    ap50: float
    ap75: float
    ap_small: float
    ap_medium: float
    ap_large: float
    ar1: float  # AR with 1 detection per image
    ar10: float
    ar100: float
    ar_small: float
    ar_medium: float
    ar_large: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _mean(values: np.ndarray) -> float:
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else float("nan")


def summarize(eval_: dict, params: Any, iou_type: str) -> CocoSummary:
    """``COCOeval.summarize`` for detections, computed from ``eval`` without printing."""
    precision, recall = eval_["precision"], eval_["recall"]
    areas = list(params.areaRngLbl)
    max_dets = list(params.maxDets)
    iou = np.asarray(params.iouThrs)

    def ap(area: str = "all", thr: float | None = None, dets: int = 100) -> float:
        s = precision[:, :, :, areas.index(area), max_dets.index(dets)]
        if thr is not None:
            s = s[np.flatnonzero(np.isclose(iou, thr))]
        return _mean(s)

    def ar(area: str = "all", dets: int = 100) -> float:
        return _mean(recall[:, :, areas.index(area), max_dets.index(dets)])

    return CocoSummary(iou_type, ap(), ap(thr=0.5), ap(thr=0.75), ap("small"), ap("medium"), ap("large"),
                       ar(dets=max_dets[0]), ar(dets=max_dets[1]), ar(), ar("small"), ar("medium"), ar("large"))


def per_class(eval_: dict, params: Any) -> dict[str, np.ndarray]:
    """AP, AP50, AP75 and AR (100 detections) per class (K), NaN where the class has no ground truth."""
    precision, recall = eval_["precision"], eval_["recall"]
    a, m = 0, len(params.maxDets) - 1
    iou = np.asarray(params.iouThrs)
    p = precision[:, :, :, a, m]  # T, R, K

    def mean(values: np.ndarray) -> np.ndarray:
        # Class by class, ``np.mean`` of the values other than -1: COCO's rule computed the way
        # pycocotools' summarize (and detectron2's per-class table) computes it, so equal bit for bit.
        columns = values.reshape(-1, values.shape[-1])
        return np.array([_mean(columns[:, k]) for k in range(columns.shape[1])], dtype=np.float64)

    t50, t75 = (int(np.flatnonzero(np.isclose(iou, t))[0]) for t in (0.5, 0.75))
    return {
        "ap": mean(p),
        "ap50": mean(p[t50]),
        "ap75": mean(p[t75]),
        "ar": mean(recall[:, :, a, m]),
    }


@dataclass(frozen=True, eq=False)
class CocoResult:
    """One COCOeval run: the summary, per-class arrays (dataset class order) and PR at IoU 0.5."""

    summary: CocoSummary
    ap: np.ndarray
    ap50: np.ndarray
    ap75: np.ndarray
    ar: np.ndarray
    precision50: np.ndarray  # (101 recall points, classes): precision at IoU 0.5, NaN without ground truth
    recall_points: np.ndarray
    coco_image_ids: np.ndarray  # dense image id -> the id COCOeval used
    images: int  # how many images were evaluated
    _evaluator: Any = field(default=None, repr=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False)

    def per_class_for(self, image_ids: np.ndarray) -> dict[str, np.ndarray]:
        """AP / AP50 / AP75 / AR per class over a subset of the images (dense ids), from the same run."""
        E = self._evaluator
        if E is None:
            n = len(self.ap)
            return {k: np.full(n, np.nan) for k in ("ap", "ap50", "ap75", "ar")}
        wanted = set(self.coco_image_ids[np.asarray(image_ids, dtype=np.int64)].tolist())
        with self._lock:
            full = E.evalImgs
            # COCOeval.accumulate(p) indexes images by their position in p, not in the evaluated
            # set, so a subset is taken by blanking the other images' entries instead.
            E.evalImgs = [e if e is not None and e["image_id"] in wanted else None for e in full]
            p = copy.copy(E.params)
            p.areaRng, p.areaRngLbl, p.maxDets = [E.params.areaRng[0]], ["all"], [E.params.maxDets[-1]]
            try:
                with quiet():
                    E.accumulate(p)
                result = per_class(E.eval, p)
            finally:
                E.evalImgs = full
        return result


def coco_image_ids(dataset: Dataset) -> np.ndarray:
    """The export's own image ids when they are unique whole numbers, else dense id + 1."""
    source = dataset.images.column("source_id")
    try:
        ids = np.asarray(source.to_numpy(zero_copy_only=False), dtype=np.int64) if dataset.format == "coco" else None
    except (ValueError, TypeError, OverflowError):
        ids = None
    if ids is not None and len(np.unique(ids)) == len(ids) and (len(ids) == 0 or ids.min() >= 0):
        return ids
    return np.arange(1, dataset.num_images + 1, dtype=np.int64)


def exported_ground_truth(dataset: Dataset, images: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The ground truth evaluation compares with, of ``images`` (bool mask over dense ids; default all).

    Arrays over the annotations as exported (see :attr:`~imbal_core.Dataset.exported_annotations`),
    in export order: ``position`` (row in that table; the COCO annotation id is ``position + 1``),
    ``ann_id`` (-1 for a row left out of counting), ``image``, ``category``, ``box`` (n x 4, x y w
    h as exported), ``area`` (the export's, else w x h), ``crowd``.
    """
    anns = dataset.exported_annotations
    img = anns.column("image_id").to_numpy()
    keep = np.ones(len(img), bool) if images is None else np.asarray(images, dtype=bool)[img]
    position = np.flatnonzero(keep)
    box = np.column_stack([anns.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in ("x", "y", "w", "h")])
    box = box[keep].reshape(-1, 4)
    area = anns.column("area").to_numpy(zero_copy_only=False).astype(np.float64)[keep]
    area = np.where(np.isnan(area), box[:, 2] * box[:, 3], area)
    crowd = np.nan_to_num(anns.column("iscrowd").to_numpy(zero_copy_only=False).astype(np.float64))[keep].astype(bool)
    ann_id = anns.column("ann_id").to_numpy(zero_copy_only=False)
    ann_id = np.where(np.isnan(ann_id), -1, ann_id).astype(np.int64) if ann_id.dtype.kind == "f" else ann_id.astype(np.int64)
    return {"position": position, "ann_id": ann_id[keep], "image": img[keep],
            "category": anns.column("category_id").to_numpy().astype(np.int64)[keep], "box": box, "area": area,
            "crowd": crowd}


def ground_truth(dataset: Dataset, image_ids: np.ndarray, iou_type: IouType, images: np.ndarray | None = None):
    """A pycocotools ``COCO`` holding the dataset's annotations as exported (of ``images``, dense ids;
    default all)."""
    from pycocotools.coco import COCO

    imgs = dataset.images
    width = imgs.column("width").to_numpy(zero_copy_only=False)
    height = imgs.column("height").to_numpy(zero_copy_only=False)
    chosen = np.arange(dataset.num_images) if images is None else np.flatnonzero(images)
    image_records = [{"id": int(image_ids[i]), "width": _int(width[i]), "height": _int(height[i])} for i in chosen]
    gt = exported_ground_truth(dataset, images)
    segs = None
    if iou_type == "segm":
        source_ids = dataset.exported_annotations.column("source_id").take(pa.array(gt["position"])).to_pylist()
        segs = _segmentations(dataset, source_ids, gt["image"])
    records = []
    for j, (pos, iid, cid, (x, y, w, h), a, c) in enumerate(zip(
            gt["position"].tolist(), gt["image"].tolist(), gt["category"].tolist(), gt["box"].tolist(),
            gt["area"].tolist(), gt["crowd"].tolist())):
        rec = {"id": pos + 1, "image_id": int(image_ids[iid]), "category_id": cid + 1, "bbox": [x, y, w, h],
               "area": a, "iscrowd": int(c)}
        if segs is not None:
            seg = segs[j]
            rec["segmentation"] = seg if seg else [[x, y, x, y + h, x + w, y + h, x + w, y]]
        records.append(rec)
    categories = [{"id": i + 1, "name": n} for i, n in enumerate(dataset.class_names)]
    coco = COCO()
    coco.dataset = {"images": image_records, "annotations": records, "categories": categories}
    with quiet():
        coco.createIndex()
    return coco


def _int(value: Any) -> int | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else int(value)


def _segmentations(dataset: Dataset, source_ids: list[str], image_of: np.ndarray) -> list[Any]:
    """The segmentation of each annotation (by its ``source_id`` and dense image id), from the
    records the COCO reader kept (:attr:`~imbal_core.Dataset.records`); the file is not read again."""
    import msgspec

    from ..source_records import decode

    records = dataset.records
    if dataset.format != "coco" or records is None:
        why = (f"this dataset is {dataset.format}" if dataset.format != "coco" else
               "this dataset holds no COCO records (built by hand? load the export with imbal_core.load)")
        raise ValueError(f"Mask evaluation needs COCO ground truth with segmentations; {why}.")
    images = records.images
    rows = images.column("row").to_numpy()
    file_of_row = np.zeros(dataset.num_images, np.int64)
    file_of_row[rows[rows >= 0]] = images.column("file").to_numpy()[rows >= 0]
    anns = records.annotations
    texts = anns.column("record")
    where: dict[tuple[int, str], int] = {}  # (file, source id) -> record; a repeated id: the last one
    for k, key in enumerate(zip(anns.column("file").to_pylist(), anns.column("source_id").to_pylist())):
        where[key] = k
    segmentation = msgspec.json.Decoder(_Segmentation)
    out = []
    for source_id, image in zip(source_ids, np.asarray(image_of, dtype=np.int64).tolist()):
        k = where.get((int(file_of_row[image]), source_id))
        seg = None
        if k is not None:
            text = texts[k].as_py()
            try:
                seg = segmentation.decode(text).segmentation
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # not an object, or text msgspec refuses
                rec = decode(text)
                seg = rec.get("segmentation") if isinstance(rec, dict) else None
        out.append(seg if isinstance(seg, (list, dict)) and seg else None)
    return out


class _Segmentation(msgspec.Struct):
    """The one field of an annotation record mask evaluation reads (the rest is skipped, not decoded)."""

    segmentation: Any = None


def results(rows: pa.Table, image_ids: np.ndarray, iou_type: IouType) -> list[dict[str, Any]]:
    """COCO result records of matched predictions (``image_id`` / ``category_id`` as COCOeval sees them)."""
    img = image_ids[rows.column("image_id").to_numpy()].tolist()
    cat = (rows.column("category_id").to_numpy().astype(np.int64) + 1).tolist()
    score = rows.column("score").to_numpy(zero_copy_only=False).tolist()
    if iou_type == "bbox":
        boxes = zip(*(rows.column(c).to_numpy(zero_copy_only=False).tolist() for c in ("x", "y", "w", "h")))
        out = [{"image_id": i, "category_id": c, "bbox": list(b), "score": s} for i, c, b, s in zip(img, cat, boxes, score)]
        if any(np.isnan(v) for r in out for v in r["bbox"]):
            raise ValueError("Box evaluation needs a box on every prediction; some predictions have only masks.")
        return out
    rles = mask_rles(rows)
    return [{"image_id": i, "category_id": c, "segmentation": r, "score": s} for i, c, r, s in zip(img, cat, rles, score)]


def mask_rles(rows: pa.Table, sizes: dict[int, tuple[int, int]] | None = None) -> list[dict[str, Any]]:
    """Each prediction's mask as a compressed RLE (polygons rasterised at the RLE or image size)."""
    from pycocotools import mask as mask_utils

    counts = rows.column("rle_counts").to_pylist()
    heights = rows.column("rle_height").to_pylist()
    widths = rows.column("rle_width").to_pylist()
    polygons = rows.column("polygons").to_pylist()
    image = rows.column("image_id").to_pylist()
    out = []
    for c, h, w, poly, i in zip(counts, heights, widths, polygons, image):
        if c is not None:
            out.append({"size": [h, w], "counts": c})
        elif poly is not None and sizes is not None and i in sizes:
            hh, ww = sizes[i]
            rle = mask_utils.merge(mask_utils.frPyObjects(poly, hh, ww))
            out.append({"size": rle["size"], "counts": rle["counts"].decode("ascii")})
        else:
            raise ValueError("Mask evaluation needs a mask on every prediction (RLE, or polygons on images of known size).")
    return out


def run(dataset: Dataset, rows: pa.Table, iou_type: IouType, images: np.ndarray, gt=None) -> CocoResult:
    """COCOeval over the chosen images (bool mask over dense ids) and every class of the dataset."""
    from pycocotools.cocoeval import COCOeval

    ids = coco_image_ids(dataset)
    gt = gt if gt is not None else ground_truth(dataset, ids, iou_type, images)
    if iou_type == "segm" and rows.num_rows:
        sizes = _image_sizes(dataset)
        rows = _with_polygon_rles(rows, sizes)
    records = results(rows, ids, iou_type) if rows.num_rows else []
    with quiet():
        dt = gt.loadRes(records) if records else _empty_results(gt)
        E = COCOeval(gt, dt, iou_type)
        E.params.imgIds = sorted(int(i) for i in ids[np.flatnonzero(images)])
        E.params.catIds = list(range(1, dataset.categories.num_rows + 1))
        E.evaluate()
        E.accumulate()
    summary = summarize(E.eval, E.params, iou_type)
    values = per_class(E.eval, E.params)
    p50 = E.eval["precision"][0, :, :, 0, -1]
    return CocoResult(summary, values["ap"], values["ap50"], values["ap75"], values["ar"],
                      np.where(p50 > -1, p50, np.nan), np.asarray(E.params.recThrs), ids, int(images.sum()), E)


def _empty_results(gt):
    from pycocotools.coco import COCO

    dt = COCO()
    dt.dataset = {"images": list(gt.dataset["images"]), "categories": copy.deepcopy(gt.dataset["categories"]),
                  "annotations": []}
    dt.createIndex()
    return dt


def _image_sizes(dataset: Dataset) -> dict[int, tuple[int, int]]:
    h = dataset.images.column("height").to_pylist()
    w = dataset.images.column("width").to_pylist()
    return {i: (hh, ww) for i, (hh, ww) in enumerate(zip(h, w)) if hh and ww}


def _with_polygon_rles(rows: pa.Table, sizes: dict[int, tuple[int, int]]) -> pa.Table:
    """Rasterise polygon masks to RLE (needs the image size) so every row has ``rle_counts``."""
    if rows.column("polygons").null_count == rows.num_rows:
        return rows
    rles = mask_rles(rows, sizes)
    for name, values, type_ in (("rle_counts", [r["counts"] for r in rles], pa.string()),
                                ("rle_height", [r["size"][0] for r in rles], pa.int32()),
                                ("rle_width", [r["size"][1] for r in rles], pa.int32())):
        rows = rows.set_column(rows.schema.get_field_index(name), name, pa.array(values, type_))
    return rows

