"""Pixel counts of segmentation masks: COCO polygons and RLE, and per-tile class presence.

Two ways to count the pixels of a COCO segmentation (:data:`Method`):

``raster`` (the reference)
    pycocotools: polygons are rasterised (``frPyObjects`` + ``merge``), uncompressed RLE is
    converted, and ``mask.area`` counts the pixels. ``mask.area`` overflows on more than 255
    RLEs per call with current NumPy (the count is cast to ``uint8``), so it is called in
    chunks of :data:`MAX_RLES_PER_CALL` (:func:`rle_areas`).
``polygon`` (fast)
    the polygon area in one vectorised pass over an Arrow ``list<list<double>>`` column (the
    shoelace formula, polygons of one annotation summed); uncompressed RLE (COCO's crowd
    annotations) as the sum of the runs of ones, also vectorised; only compressed RLE text
    goes through pycocotools. The analytic area differs from the raster count along object
    borders, by well under 0.1% over a dataset (measured by ``bench/pixels.py``, tested on
    real COCO annotations); overlapping polygons of one annotation are counted twice.

Tiling (:func:`tiles_from_coco`, :func:`tiles_from_masks`): each image is cut into tiles of
``tile_size`` x ``tile_size`` pixels (the last row and column are smaller when the size is not
a multiple), and the pixels of each class are counted per tile, so "tiles that contain lane
pixels" can be counted — and later oversampled.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .report import LoadError, LoadReport

log = logging.getLogger(__name__)

Method = Literal["raster", "polygon"]
METHODS: tuple[Method, ...] = ("raster", "polygon")
#: pycocotools' ``mask.area`` overflows beyond 255 RLEs in one call.
MAX_RLES_PER_CALL = 255
DEFAULT_TILE = 512

# Polygons are parsed straight into DOUBLE[][] (anything else there — an RLE object, a
# malformed value — comes out NULL and is read again, record by record, by the thorough code).
_SEG_SPEC = ('{"id": "DOUBLE", "image_id": "DOUBLE", "category_id": "DOUBLE", "iscrowd": "BIGINT", '
             '"segmentation": "DOUBLE[][]"}')
_SEG_SELECT = f"""
SELECT j.id, j.image_id, j.category_id, j.iscrowd, j.segmentation AS polygons
FROM (SELECT from_json(line, '{_SEG_SPEC}') AS j FROM lines)
"""
SEGMENTATION_SCHEMA = pa.schema([
    ("id", pa.int64()), ("image_id", pa.int64()), ("category_id", pa.int64()), ("iscrowd", pa.bool_()),
    ("polygons", pa.list_(pa.list_(pa.float64()))), ("rle_counts", pa.list_(pa.int64())),
    ("rle_text", pa.string()), ("rle_size", pa.list_(pa.int64())),
])


# --------------------------------------------------------------------------- areas


def rle_areas(rles: Sequence[dict]) -> np.ndarray:
    """Pixel count of each COCO RLE (``{"size": [h, w], "counts": bytes or str}``) by pycocotools,
    in calls of at most :data:`MAX_RLES_PER_CALL` (a larger call overflows)."""
    from pycocotools import mask as mask_utils

    out = np.zeros(len(rles), np.float64)
    for start in range(0, len(rles), MAX_RLES_PER_CALL):
        chunk = list(rles[start:start + MAX_RLES_PER_CALL])
        if chunk:
            out[start:start + len(chunk)] = np.asarray(mask_utils.area(chunk), np.float64)
    return out


def _one_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The values as one array; ``combine_chunks`` copies even a single chunk (0.7 s for COCO train)."""
    if isinstance(values, pa.ChunkedArray):
        return values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
    return values


def polygon_areas(polygons: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Area of each annotation's polygons (``list<list<double>>``: polygons of [x1, y1, x2, y2, ...]),
    by the shoelace formula in one vectorised pass; polygons of one annotation are summed.

    Null or empty entries give 0; a polygon with fewer than three points or an odd number of
    coordinates gives NaN for its annotation (malformed).
    """
    polygons = _one_array(polygons)
    n = len(polygons)
    out = np.zeros(n, np.float64)
    if n == 0:
        return out
    rings = pc.list_flatten(polygons)  # one entry per polygon
    if len(rings) == 0:
        return out
    ring_owner = pc.list_parent_indices(polygons).to_numpy()
    lengths = pc.list_value_length(rings).to_numpy(zero_copy_only=False)
    lengths = np.nan_to_num(lengths.astype(np.float64), nan=0).astype(np.int64)
    bad_ring = (lengths % 2 == 1) | ((lengths > 0) & (lengths < 6))
    coords = np.asarray(pc.list_flatten(rings).to_numpy(zero_copy_only=False), dtype=np.float64)
    if (lengths % 2).any():  # an odd ring is malformed: keep the pairs aligned, it is flagged above
        coords = _drop_odd_tails(coords, lengths)
    sizes = lengths // 2  # points per ring
    x, y = coords[0::2], coords[1::2]
    ring_area = np.zeros(len(lengths), np.float64)
    filled = sizes > 0
    if filled.any():
        starts = (np.cumsum(sizes) - sizes)[filled]
        last = starts + sizes[filled] - 1
        # x_i y_(i+1) - x_(i+1) y_i between neighbours; at each ring's last point, the closing term
        # replaces the pair that would reach into the next ring. No index array of the points is built.
        cross = np.empty(len(x), np.float64)
        np.subtract(x[:-1] * y[1:], x[1:] * y[:-1], out=cross[:-1])
        cross[last] = x[last] * y[starts] - x[starts] * y[last]
        ring_area[filled] = 0.5 * np.abs(np.add.reduceat(cross, starts))
    ring_area[bad_ring] = np.nan
    return np.bincount(ring_owner, weights=ring_area, minlength=n)  # NaN stays NaN: the annotation is malformed


def _drop_odd_tails(coords: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    keep = np.ones(len(coords), bool)
    ends = np.cumsum(lengths)
    keep[ends[lengths % 2 == 1] - 1] = False
    return coords[keep]


def rle_run_areas(counts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Pixel count of each uncompressed RLE (``list<int64>`` of runs, zeros first): the sum of the
    odd-position runs, vectorised. Null entries give 0."""
    counts = _one_array(counts)
    n = len(counts)
    if n == 0:
        return np.zeros(0)
    values = pc.list_flatten(counts).to_numpy(zero_copy_only=False).astype(np.float64)
    owner = pc.list_parent_indices(counts).to_numpy()
    lengths = np.nan_to_num(pc.list_value_length(counts).to_numpy(zero_copy_only=False).astype(np.float64)).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    position = np.arange(len(values)) - np.repeat(first, lengths)
    return np.bincount(owner, weights=np.where(position % 2 == 1, values, 0.0), minlength=n)


# --------------------------------------------------------------------------- reading segmentations


def read_segmentations(path: str | Path, report: LoadReport | None = None) -> tuple[pa.Table, pa.Table]:
    """The annotations' segmentations of a COCO file as Arrow columns, and its images.

    Returns ``(segmentations, images)``: :data:`SEGMENTATION_SCHEMA` (one row per annotation:
    ``polygons`` for polygon masks, ``rle_counts`` for uncompressed RLE, ``rle_text`` for
    compressed RLE, ``rle_size`` = [h, w]) and ``images`` (``id``, ``width``, ``height``).
    Large compact files are parsed by DuckDB without building a Python object per annotation;
    other files, and any surprise, by msgspec.
    """
    report = report if report is not None else LoadReport()
    try:
        return _read_fast(str(path), report)
    except Exception as exc:  # FastPathUnavailable or an odd shape: the thorough path explains
        log.info("%s: per-record segmentation path (%s)", path, exc)
    return _read_python(str(path), report)


def _read_fast(path: str, report: LoadReport) -> tuple[pa.Table, pa.Table]:
    import msgspec

    from .io import _jsonfast as fast

    warmup = fast.Warmup(_SEG_SPEC)
    try:
        data = fast.read_file(path)
        starts = {k: fast.find_array(data, k) for k in ("images", "annotations")}
        if starts["images"] is None or starts["annotations"] is None:
            raise fast.FastPathUnavailable("no images or annotations array")
        images_body, _ = fast.split_records(data, starts["images"])
        ann_body, _ = fast.split_records(data, starts["annotations"])
        schema = pa.schema([("id", pa.int64()), ("width", pa.float64()), ("height", pa.float64())])
        images = fast.pyarrow_records(images_body, schema).select(["id", "width", "height"]) if images_body.records else _no_images()
        if not ann_body.records:
            return SEGMENTATION_SCHEMA.empty_table(), images
        has_seg = fast.key_presence(ann_body, b"segmentation")
        table = fast.duckdb_records(ann_body, _SEG_SELECT, warmup)
        # records with a segmentation that is not a polygon list: RLE (crowds) or malformed
        other = np.flatnonzero(has_seg & table.column("polygons").is_null().to_numpy(zero_copy_only=False))
        lines = fast.lines(ann_body).column("line").take(pa.array(other)).to_pylist() if len(other) else []
    finally:
        warmup.close()
    columns = {}
    for name in ("id", "image_id", "category_id"):
        values = table.column(name).to_numpy(zero_copy_only=False)
        if np.isnan(values).any() or (values != np.floor(values)).any():
            raise fast.FastPathUnavailable(f"an annotation `{name}` is missing or not a whole number")
        columns[name] = pa.array(values.astype(np.int64))
    columns["iscrowd"] = pc.fill_null(pc.not_equal(table.column("iscrowd"), 0), False)
    columns["polygons"] = table.column("polygons")
    extra: dict[str, list] = {"rle_counts": [None] * table.num_rows, "rle_text": [None] * table.num_rows,
                              "rle_size": [None] * table.num_rows}
    ids = columns["id"]
    found = LoadReport()  # added to the caller's report only once nothing can fail any more
    for row, line in zip(other.tolist(), lines):
        seg = msgspec.json.decode(line).get("segmentation")
        _, counts, text, size = _segmentation_parts(seg, path, ids[row].as_py(), found)
        extra["rle_counts"][row], extra["rle_text"][row], extra["rle_size"][row] = counts, text, size
    for name, values in extra.items():
        columns[name] = pa.array(values, SEGMENTATION_SCHEMA.field(name).type)
    result = pa.table(columns).cast(SEGMENTATION_SCHEMA)
    report.extend(found)
    return result, images


def _segmentation_parts(seg: Any, path: str, ann_id: Any, report: LoadReport) -> tuple:
    """(polygons, rle_counts, rle_text, rle_size) of one segmentation; a malformed one is reported
    and gives nothing."""
    try:
        if isinstance(seg, list) and seg:
            return [[float(v) for v in ring] for ring in seg], None, None, None
        if isinstance(seg, dict):
            size = [int(v) for v in seg["size"]]
            if isinstance(seg.get("counts"), list):
                return None, [int(v) for v in seg["counts"]], None, size
            return None, None, str(seg["counts"]), size
    except (TypeError, ValueError, KeyError) as exc:
        report.add(path, ann_id, "bad_segmentation", f"segmentation cannot be read ({exc!r})", "kept without a pixel count")
    return None, None, None, None


def _no_images() -> pa.Table:
    return pa.table({"id": pa.array([], pa.int64()), "width": pa.array([], pa.float64()),
                     "height": pa.array([], pa.float64())})


def _read_python(path: str, report: LoadReport) -> tuple[pa.Table, pa.Table]:
    from .io._files import parse_json, read_bytes

    doc = parse_json(read_bytes(path), path, report)
    if not isinstance(doc, dict) or not isinstance(doc.get("annotations"), list):
        raise LoadError(f"{path}: not a COCO instances file (no `annotations` list).", report, path)
    images = [r for r in doc.get("images") or [] if isinstance(r, dict)]
    image_table = pa.table({
        "id": pa.array([_number(r.get("id")) for r in images], pa.float64()).cast(pa.int64(), safe=False),
        "width": pa.array([_number(r.get("width")) for r in images], pa.float64()),
        "height": pa.array([_number(r.get("height")) for r in images], pa.float64()),
    }) if images else _no_images()
    cols: dict[str, list] = {name: [] for name in SEGMENTATION_SCHEMA.names}
    for i, rec in enumerate(doc["annotations"]):
        if not isinstance(rec, dict) or not all(isinstance(rec.get(k), (int, float)) for k in ("id", "image_id", "category_id")):
            report.add(path, f"annotations[{i}]", "bad_annotation", "annotation without numeric ids", "skipped")
            continue
        polygons, counts, text, size = _segmentation_parts(rec.get("segmentation"), path, rec["id"], report)
        cols["id"].append(int(rec["id"]))
        cols["image_id"].append(int(rec["image_id"]))
        cols["category_id"].append(int(rec["category_id"]))
        cols["iscrowd"].append(bool(rec.get("iscrowd") or False))
        cols["polygons"].append(polygons)
        cols["rle_counts"].append(counts)
        cols["rle_text"].append(text)
        cols["rle_size"].append(size)
    return pa.table(cols, schema=SEGMENTATION_SCHEMA), image_table


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# --------------------------------------------------------------------------- pixel counts


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


def coco_pixel_counts(path: str | Path, method: Method = "polygon", report: LoadReport | None = None,
                      segmentations: tuple[pa.Table, pa.Table] | None = None) -> PixelCounts:
    """Pixels of every annotation of a COCO file, by ``method`` ("polygon": fast and analytic;
    "raster": pycocotools, the reference). ``segmentations`` reuses a :func:`read_segmentations`
    result. Polygons need the image size only for ``raster``; an annotation whose image size is
    unknown then gets no count (reported)."""
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {list(METHODS)}. Got {method!r} instead.")
    report = report if report is not None else LoadReport()
    segs, images = segmentations if segmentations is not None else read_segmentations(path, report)
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


# --------------------------------------------------------------------------- tiles


def tile_grid(height: int, width: int, tile_size: int = DEFAULT_TILE) -> tuple[int, int]:
    """(rows, columns) of tiles covering an image; edge tiles are smaller."""
    _check_tile(tile_size)
    return -(-int(height) // tile_size), -(-int(width) // tile_size)


def _check_tile(tile_size: int) -> None:
    if isinstance(tile_size, bool) or not isinstance(tile_size, (int, np.integer)) or tile_size < 1:
        raise ValueError(f"`tile_size` must be a whole number of pixels, at least 1. Got {tile_size!r} instead.")


def tile_sums(mask: np.ndarray, tile_size: int = DEFAULT_TILE) -> np.ndarray:
    """Pixels set in each tile of a binary mask (H x W): an array (tile rows, tile columns)."""
    _check_tile(tile_size)
    h, w = mask.shape
    if h == 0 or w == 0:
        return np.zeros((0, 0), np.int64)
    return _tile_sums01(mask != 0, tile_size)


def _tile_sums01(mask: np.ndarray, tile_size: int) -> np.ndarray:
    """:func:`tile_sums` of a mask known to hold only 0 and 1 (pycocotools' decode): no copy."""
    h, w = mask.shape
    rows = np.add.reduceat(mask, np.arange(0, h, tile_size), axis=0, dtype=np.int64)
    return np.add.reduceat(rows, np.arange(0, w, tile_size), axis=1)


def label_tile_counts(labels: np.ndarray, n_classes: int, tile_size: int = DEFAULT_TILE) -> np.ndarray:
    """Pixels of each class index in each tile of a label map (H x W of class indices):
    an array (tile rows, tile columns, ``n_classes``); indices outside 0..n_classes-1 are ignored."""
    _check_tile(tile_size)
    h, w = labels.shape
    ty, tx = tile_grid(h, w, tile_size)
    rows = (np.arange(h) // tile_size)[:, None]
    cols = (np.arange(w) // tile_size)[None, :]
    tile = (rows * tx + cols).ravel()
    flat = labels.ravel().astype(np.int64)
    ok = (flat >= 0) & (flat < n_classes)
    counts = np.bincount(tile[ok] * n_classes + flat[ok], minlength=ty * tx * n_classes)
    return counts.reshape(ty, tx, n_classes)


@dataclass(frozen=True)
class TileCounts:
    """Class pixels per tile: ``image`` (the export's image id or mask name), ``tile_row``,
    ``tile_col``, ``x0``, ``y0`` (the tile's top-left corner), ``category`` and ``pixels``
    (only tiles where the class has pixels). ``tiles`` is the number of tiles of all images."""

    tile_size: int
    tiles: int
    images: int
    table: pa.Table

    def presence(self, min_pixels: int = 1) -> pa.Table:
        """Per class: ``tiles`` holding at least ``min_pixels`` of it, their ``share`` of all
        tiles, ``images`` with such a tile, and ``pixels`` in them."""
        if min_pixels < 1:
            raise ValueError(f"`min_pixels` must be at least 1. Got {min_pixels} instead.")
        t = self.table.filter(pc.greater_equal(self.table.column("pixels"), min_pixels))
        g = t.group_by("category", use_threads=False).aggregate(
            [("pixels", "count"), ("image", "count_distinct"), ("pixels", "sum")])
        g = g.rename_columns(["category", "tiles", "images", "pixels"])
        share = pc.divide(pc.cast(g.column("tiles"), pa.float64()), float(max(self.tiles, 1)))
        return g.append_column("share", share).select(["category", "tiles", "share", "images", "pixels"]).sort_by(
            [("tiles", "descending"), ("category", "ascending")])

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self):
        return self.table.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {"tile_size": self.tile_size, "tiles": self.tiles, "images": self.images,
                "presence": self.presence().to_pylist()}


def _tile_table(records: dict[str, list]) -> pa.Table:
    return pa.table({
        "image": pa.array(records["image"], pa.string()),
        "tile_row": pa.array(records["tile_row"], pa.int32()),
        "tile_col": pa.array(records["tile_col"], pa.int32()),
        "x0": pa.array(records["x0"], pa.int32()),
        "y0": pa.array(records["y0"], pa.int32()),
        "category": pa.array(records["category"], pa.string()),
        "pixels": pa.array(records["pixels"], pa.int64()),
    })


def _add_tiles(records: dict[str, list], image: str, category: str, sums: np.ndarray, tile_size: int) -> None:
    rows, cols = np.nonzero(sums)
    n = len(rows)
    records["image"] += [image] * n
    records["tile_row"] += rows.tolist()
    records["tile_col"] += cols.tolist()
    records["x0"] += (cols * tile_size).tolist()
    records["y0"] += (rows * tile_size).tolist()
    records["category"] += [category] * n
    records["pixels"] += sums[rows, cols].tolist()


def tiles_from_coco(path: str | Path, tile_size: int = DEFAULT_TILE, report: LoadReport | None = None) -> TileCounts:
    """Per-tile class pixels of a COCO segmentation export: the masks of one class in one image
    are merged (union), decoded once and summed per tile."""
    from pycocotools import mask as mask_utils

    from .io._files import parse_json, read_bytes

    _check_tile(tile_size)
    report = report if report is not None else LoadReport()
    segs, images = read_segmentations(path, report)
    head = parse_json(read_bytes(path), path, report)
    names = {c.get("id"): str(c.get("name")) for c in head.get("categories") or [] if isinstance(c, dict)}
    rles = annotation_rles(segs, images, None, str(path), report)
    image_ids = segs.column("image_id").to_numpy()
    categories = segs.column("category_id").to_numpy()
    groups: dict[tuple[int, int], list[dict]] = {}
    for row, rle in rles.items():
        groups.setdefault((int(image_ids[row]), int(categories[row])), []).append(rle)
    heights, widths = images.column("height").to_numpy(zero_copy_only=False), images.column("width").to_numpy(zero_copy_only=False)
    tiles = 0
    for h, w in zip(heights, widths):
        if h > 0 and w > 0:
            ty, tx = tile_grid(int(h), int(w), tile_size)
            tiles += ty * tx
    records: dict[str, list] = {k: [] for k in ("image", "tile_row", "tile_col", "x0", "y0", "category", "pixels")}
    for (image_id, category_id), parts in sorted(groups.items()):
        merged = parts[0] if len(parts) == 1 else mask_utils.merge(parts)
        with warnings.catch_warnings():  # pycocotools' decode predates NumPy 2's copy keyword; harmless
            warnings.simplefilter("ignore", DeprecationWarning)
            decoded = mask_utils.decode(merged)
        sums = _tile_sums01(decoded, tile_size)
        _add_tiles(records, str(image_id), names.get(category_id, str(category_id)), sums, tile_size)
    return TileCounts(tile_size, tiles, images.num_rows, _tile_table(records))


def tiles_from_masks(path: str | Path, tile_size: int = DEFAULT_TILE, report: LoadReport | None = None,
                     **options: Any) -> TileCounts:
    """Per-tile class pixels of a folder of semantic-mask PNGs (see :mod:`imbal_core.io.masks`;
    ``options`` go to its layout: ``classes``, ``ignore_index``, ``background``). Streamed image by image."""
    from .io.masks import iter_masks

    _check_tile(tile_size)
    report = report if report is not None else LoadReport()
    records: dict[str, list] = {k: [] for k in ("image", "tile_row", "tile_col", "x0", "y0", "category", "pixels")}
    tiles = images = 0
    for item in iter_masks([Path(path)], report, **options):
        images += 1
        counts = label_tile_counts(item.labels, len(item.names), tile_size)
        tiles += counts.shape[0] * counts.shape[1]
        for index in item.counted:
            if counts[:, :, index].any():
                _add_tiles(records, item.name, item.names[index], counts[:, :, index], tile_size)
    return TileCounts(tile_size, tiles, images, _tile_table(records))
