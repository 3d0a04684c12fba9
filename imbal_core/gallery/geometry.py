"""What is drawn on an image: its ground truth and predictions as :class:`Shape` records.

Shapes are in the export's image coordinates (pixels; for an image of unknown size whose boxes
are normalised, fractions of the image: ``normalized`` is then True). The renderer scales them.

- Ground truth: one box per annotation of :attr:`Dataset.annotations` (the boxes as counted),
  with the polygon or mask where the export's records keep one (:func:`segmentations`); classification
  labels (no box) are ``label`` shapes. An annotation left out of counting (wholly outside its
  image, :attr:`Dataset.uncounted`) is drawn only when highlighted.
- Predictions: the matched rows of a :class:`~imbal_core.io.predictions.Predictions` scoring at
  least ``score_threshold``, with their polygon or RLE mask when they have one.

Per-image lookups go through an index built once per dataset (and per predictions object).
"""
from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Literal, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..report import ReportRow
from .palette import class_color

if TYPE_CHECKING:
    from ..dataset import Dataset
    from ..io.predictions import Predictions

log = logging.getLogger(__name__)

ShapeKind = Literal["box", "polygon", "mask", "label"]
Origin = Literal["ground_truth", "prediction"]


@dataclass(frozen=True)
class Shape:
    """One drawn object. ``box``: x, y, w, h (None for an image label); ``polygons``: flat
    ``[x1, y1, x2, y2, ...]`` rings; ``rle``: a COCO RLE mask (``{"size": [h, w], "counts": ...}``);
    ``score``: predictions only; ``highlighted``: the object a load-report row names."""

    kind: ShapeKind
    origin: Origin
    category_id: int
    class_name: str
    color: str
    box: tuple[float, float, float, float] | None = None
    polygons: tuple[tuple[float, ...], ...] = ()
    rle: Mapping[str, Any] | None = None
    score: float | None = None
    highlighted: bool = False
    source_id: str | None = None


class _Index:
    """Row numbers of a table grouped by ``image_id`` (one stable argsort)."""

    def __init__(self, image_ids: np.ndarray, num_images: int):
        self.order = np.argsort(image_ids, kind="stable")
        self.starts = np.searchsorted(image_ids[self.order], np.arange(num_images + 1))

    def rows(self, image_id: int) -> np.ndarray:
        return self.order[self.starts[image_id]:self.starts[image_id + 1]]


_DATASET_INDEX: "weakref.WeakKeyDictionary[Any, _Index]" = weakref.WeakKeyDictionary()
_PREDICTION_INDEX: "weakref.WeakKeyDictionary[Any, tuple[pa.Table, _Index]]" = weakref.WeakKeyDictionary()
_SEGMENTATIONS: "weakref.WeakKeyDictionary[Any, dict[str, Any] | None]" = weakref.WeakKeyDictionary()


def annotation_rows(dataset: Dataset, image_id: int) -> np.ndarray:
    """Row numbers in ``dataset.annotations`` of the image's annotations, in table order."""
    index = _DATASET_INDEX.get(dataset)
    if index is None:
        index = _Index(dataset.annotations.column("image_id").to_numpy(), dataset.num_images)
        _DATASET_INDEX[dataset] = index
    return index.rows(int(image_id))


def image_size(dataset: Dataset, image_id: int) -> tuple[int, int] | None:
    """The recorded (width, height), or None when the export does not give it."""
    w, h = dataset.images.column("width")[image_id].as_py(), dataset.images.column("height")[image_id].as_py()
    return (int(w), int(h)) if w and h else None


def _take(table: pa.Table, rows: np.ndarray, columns: Iterable[str]) -> dict[str, list]:
    part = table.select(list(columns)).take(pa.array(rows, pa.int64()))
    return {c: part.column(c).to_pylist() for c in part.column_names}


def _names(dataset: Dataset) -> list[str]:
    return dataset.class_names


def ground_truth_shapes(dataset: Dataset, image_id: int, highlight: Iterable[str] = ()) -> list[Shape]:
    """The image's annotations as shapes (see the module docstring); ``highlight``: annotation
    source ids to mark (an uncounted annotation named there is added)."""
    marked = set(highlight)
    rows = annotation_rows(dataset, image_id)
    names = _names(dataset)
    cols = _take(dataset.annotations, rows, ("source_id", "category_id", "x", "y", "w", "h", "iscrowd"))
    segs = segmentations(dataset)
    shapes = [_gt_shape(names, cols, i, segs, marked) for i in range(len(rows))]
    uncounted = dataset.uncounted
    if marked and uncounted is not None and uncounted.num_rows:
        hit = pc.and_(pc.equal(uncounted.column("image_id"), int(image_id)),
                      pc.is_in(uncounted.column("source_id"), pa.array(sorted(marked), pa.string())))
        extra = uncounted.filter(hit)
        more = {c: extra.column(c).to_pylist() for c in ("source_id", "category_id", "x", "y", "w", "h", "iscrowd")}
        shapes.extend(_gt_shape(names, more, i, segs, marked) for i in range(extra.num_rows))
    return shapes


def _gt_shape(names: list[str], cols: dict[str, list], i: int, segs: Mapping[str, Any] | None,
              marked: set[str]) -> Shape:
    cat = int(cols["category_id"][i])
    sid = cols["source_id"][i]
    box = tuple(cols[k][i] for k in ("x", "y", "w", "h"))
    if any(v is None for v in box):
        return Shape("label", "ground_truth", cat, names[cat], class_color(cat), None, highlighted=sid in marked, source_id=sid)
    polygons, rle = _segmentation(segs.get(sid) if segs and sid is not None else None)
    kind: ShapeKind = "polygon" if polygons else "mask" if rle else "box"
    return Shape(kind, "ground_truth", cat, names[cat], class_color(cat), box, polygons, rle,
                 highlighted=sid in marked, source_id=sid)


def _segmentation(seg: Any) -> tuple[tuple[tuple[float, ...], ...], Mapping[str, Any] | None]:
    """(polygons, rle) of a COCO segmentation; anything malformed is ignored (the box is drawn)."""
    if isinstance(seg, list):
        rings = tuple(tuple(float(v) for v in ring) for ring in seg
                      if isinstance(ring, list) and len(ring) >= 6 and all(isinstance(v, (int, float)) for v in ring))
        return rings, None
    if isinstance(seg, dict) and "counts" in seg and isinstance(seg.get("size"), list) and len(seg["size"]) == 2:
        return (), seg
    return (), None


def segmentations(dataset: Dataset) -> Mapping[str, Any] | None:
    """Annotation ``source_id`` -> its segmentation (COCO polygons or RLE), or None when the
    dataset keeps no source records (formats other than COCO draw boxes).

    Read from :attr:`Dataset.records` (the COCO records as parsed, :mod:`imbal_core.source_records`),
    never from the export's file again; a record is decoded only when its image is drawn.
    """
    if dataset in _SEGMENTATIONS:
        return _SEGMENTATIONS[dataset]
    records = getattr(dataset, "records", None)
    found = _RecordSegmentations(records) if records is not None else None
    _SEGMENTATIONS[dataset] = found
    return found


class _RecordSegmentations:
    """A read-only ``{annotation source_id: segmentation}`` over the kept COCO annotation records."""

    def __init__(self, records: Any):
        self._records = records
        self._rows: dict[str, int] | None = None

    def get(self, source_id: str, default: Any = None) -> Any:
        from ..source_records import Unreadable, decode

        table = self._records.annotations
        if self._rows is None:
            rows: dict[str, int] = {}
            for k, sid in enumerate(table.column("source_id").to_pylist()):
                rows.setdefault(sid, k)  # the first record of a name, as the tables keep it
            self._rows = rows
        row = self._rows.get(source_id)
        if row is None:
            return default
        try:
            record = decode(table.column("record")[row].as_py())
        except Unreadable:
            return default
        return record.get("segmentation", default) if isinstance(record, dict) else default


def prediction_shapes(dataset: Dataset, predictions: Predictions, image_id: int, score_threshold: float = 0.5) -> list[Shape]:
    """The image's matched predictions scoring at least ``score_threshold`` (highest first)."""
    cached = _PREDICTION_INDEX.get(predictions)
    if cached is None:
        table = predictions.matched()
        ids = table.column("image_id").to_numpy(zero_copy_only=False).astype(np.int64) if table.num_rows \
            else np.zeros(0, np.int64)
        cached = (table, _Index(ids, dataset.num_images))
        _PREDICTION_INDEX[predictions] = cached
    table, index = cached
    rows = index.rows(int(image_id)) if table.num_rows else np.zeros(0, np.int64)
    if not len(rows):
        return []
    names = _names(dataset)
    if predictions.kind == "classification":
        cols = _take(table, rows, ("category_id", "score"))
        return [Shape("label", "prediction", c, names[c], class_color(c), score=s)
                for c, s in zip(cols["category_id"], cols["score"]) if c is not None and c < len(names)]
    wanted = [c for c in ("category_id", "score", "x", "y", "w", "h", "rle_counts", "rle_height", "rle_width", "polygons")
              if c in table.column_names]
    cols = _take(table, rows, wanted)
    shapes = []
    for i in range(len(rows)):
        score = cols["score"][i]
        if score is not None and score < score_threshold:
            continue
        cat = int(cols["category_id"][i])
        box = tuple(cols[k][i] for k in ("x", "y", "w", "h"))
        box = box if all(v is not None for v in box) else None
        polygons = tuple(tuple(float(v) for v in ring) for ring in (cols.get("polygons", [None] * len(rows))[i] or [])
                         if ring and len(ring) >= 6)
        rle = None
        if cols.get("rle_counts") and cols["rle_counts"][i] is not None:
            rle = {"size": [cols["rle_height"][i], cols["rle_width"][i]], "counts": cols["rle_counts"][i]}
        if box is None and not polygons and rle is None:
            continue
        kind: ShapeKind = "polygon" if polygons else "mask" if rle else "box"
        shapes.append(Shape(kind, "prediction", cat, names[cat], class_color(cat), box, polygons, rle, score=score))
    shapes.sort(key=lambda s: -(s.score if s.score is not None else 0.0))
    return shapes


def highlight_records(highlight: Any) -> set[str]:
    """The record names a ``highlight`` argument means: a text, a :class:`ReportRow` or several."""
    if highlight is None:
        return set()
    if isinstance(highlight, (str, ReportRow)):
        highlight = [highlight]
    out = set()
    for item in highlight:
        if isinstance(item, ReportRow):
            out.add(item.record)
        elif isinstance(item, str):
            out.add(item)
        else:
            raise ValueError(f"`highlight` must be a record text, a load-report row or a list of them. "
                             f"Got a {type(item).__name__} instead.")
    return out


def normalized_boxes(dataset: Dataset, image_id: int, shapes: list[Shape]) -> bool:
    """True when the image's size is unknown and its boxes are fractions of it (YOLO without images)."""
    if image_size(dataset, image_id) is not None:
        return False
    ends = [max(s.box[0] + s.box[2], s.box[1] + s.box[3]) for s in shapes if s.box is not None]
    return bool(ends) and max(ends) <= 1.0001
