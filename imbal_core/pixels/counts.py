"""Pixels of every annotation of a COCO export (:func:`coco_pixel_counts`, :class:`PixelCounts`), by
either :data:`Method`, and the pycocotools RLE of each annotation (:func:`annotation_rles`), which
the ``raster`` method counts and the tiles (:mod:`.tiles`) decode. The segmentations come from the
records the COCO reader kept (:mod:`imbal_core.io.coco.segmentations`): no file is read here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import Dataset
from ..report import LoadReport
from .areas import polygon_areas, rle_areas, rle_run_areas

Method = Literal["raster", "polygon"]
METHODS: tuple[Method, ...] = ("raster", "polygon")


@dataclass(frozen=True)
class PixelCounts:
    """Pixels of every annotation of a COCO file: ``id``, ``image_id``, ``category_id`` (the
    export's own ids), ``kind`` (``polygon`` / ``rle`` / ``none``, dictionary-encoded) and ``pixels`` (null when the
    annotation has no usable segmentation)."""

    method: Method
    table: pa.Table

    def per_class(self) -> pa.Table:
        """``category_id``, ``instances`` and summed ``pixels`` per category (the export's ids)."""
        grouped = self.table.group_by("category_id", use_threads=False).aggregate(
            [("pixels", "count"), ("pixels", "sum")])
        return grouped.rename_columns(["category_id", "instances", "pixels"]).sort_by("category_id")

    @property
    def total(self) -> float:
        return float(pc.sum(self.table.column("pixels")).as_py() or 0.0)

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self):
        return self.table.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "total": self.total, "per_class": self.per_class().to_pylist()}


def coco_pixel_counts(source: Dataset | str | Path, method: Method = "polygon", report: LoadReport | None = None,
                      segmentations: tuple[pa.Table, pa.Table] | None = None) -> PixelCounts:
    """Pixels of every annotation of a COCO export, by ``method`` ("polygon": fast and analytic;
    "raster": pycocotools, the reference). ``source``: a dataset read from COCO (its kept
    records), or a COCO file's path, read by the COCO reader first. ``segmentations`` reuses a
    :func:`~imbal_core.io.coco.segmentations.segmentations` result. Polygons need the image size
    only for ``raster``; an annotation whose image size is unknown then gets no count (reported)."""
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {list(METHODS)}. Got {method!r} instead.")
    report = report if report is not None else LoadReport()
    path = export_name(source)
    segs, images = segmentations if segmentations is not None else read_export(source, report)
    n = segs.num_rows
    has_poly = pc.fill_null(pc.greater(pc.list_value_length(segs.column("polygons")), 0), False).to_numpy(zero_copy_only=False)
    has_counts = segs.column("rle_counts").is_valid().to_numpy(zero_copy_only=False)
    has_text = segs.column("rle_text").is_valid().to_numpy(zero_copy_only=False)
    pixels = np.full(n, np.nan)
    if method == "polygon":
        # whole columns: entries without a polygon (or runs) give 0 and are not taken; no copy
        if has_poly.any():
            pixels[has_poly] = polygon_areas(segs.column("polygons"))[has_poly]
        if has_counts.any():
            pixels[has_counts] = rle_run_areas(segs.column("rle_counts"))[has_counts]
        if has_text.any():
            idx = np.flatnonzero(has_text)
            rles = _text_rles(segs, idx)
            pixels[idx] = rle_areas(rles)
    else:
        pixels = _raster_areas(segs, images, has_poly, has_counts, has_text, str(path), report)
    kind = np.where(has_poly, 1, np.where(has_counts | has_text, 2, 0)).astype(np.int8)  # none, polygon, rle
    bad = np.isnan(pixels) & (kind != 0)
    if bad.any():
        for ann_id in segs.column("id").filter(pa.array(bad)).to_pylist()[:1000]:
            report.add(path, ann_id, "bad_segmentation", "segmentation is malformed (odd coordinates or fewer than 3 points)",
                       "kept without a pixel count")
    table = pa.table({
        "id": segs.column("id"), "image_id": segs.column("image_id"), "category_id": segs.column("category_id"),
        "kind": pa.DictionaryArray.from_arrays(pa.array(kind), pa.array(["none", "polygon", "rle"])), "pixels": pa.array(pixels, pa.float64(), mask=np.isnan(pixels)),
    })
    return PixelCounts(method, table)


def export_name(source: Dataset | str | Path) -> str:
    """The export's file, as report rows name it (a dataset read from several files: the first)."""
    if isinstance(source, Dataset):
        return source.sources[0] if source.sources else ""
    return str(source)


def read_export(source: Dataset | str | Path, report: LoadReport) -> tuple[pa.Table, pa.Table]:
    """The segmentations and image sizes of a COCO dataset's kept records, or of a COCO file
    (read by the COCO reader: nothing here opens a file)."""
    from ..io.coco import segmentations as io_segmentations

    if isinstance(source, Dataset):
        return io_segmentations.segmentations(io_segmentations.records_of(source), report, export_name(source))
    return io_segmentations.read_segmentations(source, report)


def _text_rles(segs: pa.Table, idx: np.ndarray) -> list[dict]:
    texts = segs.column("rle_text").take(pa.array(idx)).to_pylist()
    sizes = segs.column("rle_size").take(pa.array(idx)).to_pylist()
    return [{"size": list(s), "counts": t.encode("ascii")} for s, t in zip(sizes, texts)]


def _image_sizes(segs: pa.Table, images: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(height, width) of each annotation's image; NaN when unknown."""
    ids = images.column("id").to_numpy(zero_copy_only=False)
    order = np.argsort(ids, kind="stable")
    wanted = segs.column("image_id").to_numpy()
    pos = np.clip(np.searchsorted(ids[order], wanted), 0, max(len(ids) - 1, 0))
    found = (ids[order][pos] == wanted) if len(ids) else np.zeros(len(wanted), bool)
    h = np.where(found, images.column("height").to_numpy(zero_copy_only=False)[order][pos], np.nan) if len(ids) else np.full(len(wanted), np.nan)
    w = np.where(found, images.column("width").to_numpy(zero_copy_only=False)[order][pos], np.nan) if len(ids) else np.full(len(wanted), np.nan)
    return h, w


def annotation_rles(segs: pa.Table, images: pa.Table, rows: Iterable[int] | None = None,
                    path: str = "", report: LoadReport | None = None) -> dict[int, dict]:
    """Row -> compressed RLE (pycocotools) of each annotation with a usable segmentation."""
    from pycocotools import mask as mask_utils

    heights, widths = _image_sizes(segs, images)
    polygons = segs.column("polygons")
    counts = segs.column("rle_counts")
    texts = segs.column("rle_text")
    sizes = segs.column("rle_size")
    ids = segs.column("id")
    out: dict[int, dict] = {}
    for row in (range(segs.num_rows) if rows is None else rows):
        try:
            size = sizes[row].as_py()
            text = texts[row].as_py()
            if text is not None:
                out[row] = {"size": list(size), "counts": text.encode("ascii")}
                continue
            runs = counts[row].as_py()
            if runs is not None:
                out[row] = mask_utils.frPyObjects({"size": list(size), "counts": runs}, *size)
                continue
            rings = polygons[row].as_py()
            if not rings:
                continue
            h, w = heights[row], widths[row]
            if not (h > 0 and w > 0):
                raise ValueError("the image size is unknown")
            out[row] = mask_utils.merge(mask_utils.frPyObjects(rings, int(h), int(w)))
        except Exception as exc:  # malformed: say so, keep going
            if report is not None:
                report.add(path, ids[row].as_py(), "bad_segmentation", f"segmentation cannot be rasterised ({exc})",
                           "kept without a pixel count")
    return out


def _raster_areas(segs, images, has_poly, has_counts, has_text, path, report) -> np.ndarray:
    rows = np.flatnonzero(has_poly | has_counts | has_text)
    rles = annotation_rles(segs, images, rows.tolist(), path, report)
    pixels = np.full(segs.num_rows, np.nan)
    done = np.array(sorted(rles), np.int64)
    if len(done):
        pixels[done] = rle_areas([rles[r] for r in done])
    return pixels
