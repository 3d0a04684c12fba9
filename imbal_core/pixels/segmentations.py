"""Reading a COCO file's segmentations into Arrow columns (:func:`read_segmentations`).

One row per annotation: polygons as ``list<list<double>>``, uncompressed RLE runs, compressed RLE
text and the RLE size, plus the images' sizes. DuckDB parses large compact files without a Python
object per annotation; anything else, and any surprise, goes through the per-record path, which
reports what it cannot read.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..report import LoadError, LoadReport

log = logging.getLogger(__name__)

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

    from ..io import _jsonfast as fast

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
    from ..io._files import parse_json, read_bytes

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
