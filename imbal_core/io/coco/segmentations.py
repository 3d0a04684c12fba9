"""A COCO export's segmentations as Arrow columns (:func:`segmentations`, :func:`read_segmentations`).

One row per annotation record: polygons as ``list<list<double>>``, uncompressed RLE runs,
compressed RLE text and the RLE size, plus the images' sizes. They come from the records the COCO
reader kept (:attr:`imbal_core.Dataset.records`), never from the file again: DuckDB parses the
records' JSON text without a Python object per annotation; any surprise sends them to the
per-record path (msgspec), which reports what it cannot read.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...report import LoadReport
from ...source_records import SourceRecords, Unreadable, decode

if TYPE_CHECKING:
    from ...dataset import Dataset

log = logging.getLogger(__name__)

# Polygons are parsed straight into DOUBLE[][] (anything else there — an RLE object, a
# malformed value — comes out NULL and is read again, record by record).
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
IMAGE_SIZE_SCHEMA = pa.schema([("id", pa.int64()), ("width", pa.float64()), ("height", pa.float64())])


class _Unavailable(Exception):
    """The records are not in the shape DuckDB's strict parse takes: the per-record path reads them."""


class _ImageSize(msgspec.Struct):
    id: Any = None
    width: Any = None
    height: Any = None


def records_of(dataset: "Dataset") -> SourceRecords:
    """The dataset's COCO records, or a ``ValueError`` saying why there are none."""
    if dataset.format != "coco" or dataset.records is None:
        why = (f"this dataset is {dataset.format}" if dataset.format != "coco" else
               "this dataset holds no COCO records (built by hand? load the export with imbal_core.load)")
        raise ValueError(f"COCO segmentations are needed; {why}.")
    return dataset.records


def read_segmentations(path: str | Path, report: LoadReport | None = None) -> tuple[pa.Table, pa.Table]:
    """:func:`segmentations` of a COCO file, read by the COCO reader first (its own load report
    is not kept: ``report`` gets the segmentation problems only)."""
    from . import read_coco

    dataset = read_coco([path], LoadReport())
    return segmentations(dataset.records, report, name=str(path))


def segmentations(records: SourceRecords, report: LoadReport | None = None, name: str = "") -> tuple[pa.Table, pa.Table]:
    """The annotations' segmentations of the kept COCO records as Arrow columns, and the images.

    Returns ``(segmentations, images)``: :data:`SEGMENTATION_SCHEMA` (one row per annotation
    record, in file order: ``polygons`` for polygon masks, ``rle_counts`` for uncompressed RLE,
    ``rle_text`` for compressed RLE, ``rle_size`` = [h, w]; the export's own ids) and ``images``
    (:data:`IMAGE_SIZE_SCHEMA`: ``id``, ``width``, ``height`` of every image record that is an
    object). ``name`` names the export in report rows.
    """
    report = report if report is not None else LoadReport()
    texts = records.annotations.column("record")
    images = _image_sizes(records.images.column("record"))
    if not len(texts):
        return SEGMENTATION_SCHEMA.empty_table(), images
    try:
        return _read_fast(texts, name, report), images
    except Exception as exc:  # _Unavailable or an odd shape: the thorough path explains
        log.info("%s: per-record segmentation path (%s)", name, exc)
    return _read_python(texts, name, report), images


def category_names(records: SourceRecords) -> dict[Any, str]:
    """Export category id -> name, from every file's ``categories`` (the first name of an id wins)."""
    names: dict[Any, str] = {}
    for file in range(records.files):
        for c in records.document(file).get("categories") or []:
            if isinstance(c, dict) and isinstance(c.get("id"), (int, float, str)):
                names.setdefault(c.get("id"), str(c.get("name")))
    return names


def _image_sizes(texts: pa.ChunkedArray) -> pa.Table:
    image = msgspec.json.Decoder(_ImageSize)
    ids, widths, heights = [], [], []
    for text in texts.to_pylist():
        try:
            rec = image.decode(text)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # not an object (skipped), or odd text
            try:
                rec = decode(text)
            except Unreadable:
                continue
            if not isinstance(rec, dict):
                continue
            rec = _ImageSize(rec.get("id"), rec.get("width"), rec.get("height"))
        ids.append(_number(rec.id))
        widths.append(_number(rec.width))
        heights.append(_number(rec.height))
    return pa.table({"id": pa.array(ids, pa.float64()).cast(pa.int64(), safe=False),
                     "width": pa.array(widths, pa.float64()), "height": pa.array(heights, pa.float64())})


def _as_text(texts: pa.ChunkedArray) -> pa.ChunkedArray:
    """The records' JSON as Arrow text (what DuckDB's ``from_json`` takes); invalid UTF-8 raises."""
    kinds = {pa.binary_view(): pa.string_view(), pa.large_binary(): pa.large_string(), pa.binary(): pa.string()}
    target = kinds.get(texts.type, pa.large_string())
    return pc.cast(texts, target)


def _read_fast(texts: pa.ChunkedArray, name: str, report: LoadReport) -> pa.Table:
    import duckdb

    con = duckdb.connect()
    try:
        con.register("lines", pa.table({"line": _as_text(texts)}))
        result = con.sql(_SEG_SELECT).arrow()
        table = result.read_all() if hasattr(result, "read_all") else result
    except duckdb.Error as exc:
        raise _Unavailable(f"DuckDB could not read the records: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    if table.num_rows != len(texts):
        raise _Unavailable(f"read {table.num_rows} records, expected {len(texts)}")
    columns = {}
    for key in ("id", "image_id", "category_id"):
        values = table.column(key).to_numpy(zero_copy_only=False)
        if np.isnan(values).any() or (values != np.floor(values)).any():
            raise _Unavailable(f"an annotation `{key}` is missing or not a whole number")
        columns[key] = pa.array(values.astype(np.int64))
    columns["iscrowd"] = pc.fill_null(pc.not_equal(table.column("iscrowd"), 0), False)
    columns["polygons"] = table.column("polygons")
    n = table.num_rows
    extra: dict[str, list] = {"rle_counts": [None] * n, "rle_text": [None] * n, "rle_size": [None] * n}
    # records whose segmentation is no polygon list (RLE: crowds; malformed; none) are read one by one
    others = np.flatnonzero(table.column("polygons").is_null().to_numpy(zero_copy_only=False))
    ids = columns["id"]
    found = LoadReport()  # added to the caller's report only once nothing can fail any more
    if len(others):
        for row, text in zip(others.tolist(), texts.take(pa.array(others)).to_pylist()):
            if b'"segmentation"' not in text:
                continue
            rec = decode(text)
            seg = rec.get("segmentation") if isinstance(rec, dict) else None
            _, counts, rle_text, size = _segmentation_parts(seg, name, ids[row].as_py(), found)
            extra["rle_counts"][row], extra["rle_text"][row], extra["rle_size"][row] = counts, rle_text, size
    for key, values in extra.items():
        columns[key] = pa.array(values, SEGMENTATION_SCHEMA.field(key).type)
    result_table = pa.table(columns).cast(SEGMENTATION_SCHEMA)
    report.extend(found)
    return result_table


def _segmentation_parts(seg: Any, name: str, ann_id: Any, report: LoadReport) -> tuple:
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
        report.add(name, ann_id, "bad_segmentation", f"segmentation cannot be read ({exc!r})", "kept without a pixel count")
    return None, None, None, None


def _read_python(texts: pa.ChunkedArray, name: str, report: LoadReport) -> pa.Table:
    cols: dict[str, list] = {key: [] for key in SEGMENTATION_SCHEMA.names}
    for i, text in enumerate(texts.to_pylist()):
        try:
            rec = decode(text)
        except Unreadable:
            rec = None
        if not isinstance(rec, dict) or not all(isinstance(rec.get(k), (int, float)) for k in ("id", "image_id", "category_id")):
            report.add(name, f"annotations[{i}]", "bad_annotation", "annotation without numeric ids", "skipped")
            continue
        polygons, counts, rle_text, size = _segmentation_parts(rec.get("segmentation"), name, rec["id"], report)
        cols["id"].append(int(rec["id"]))
        cols["image_id"].append(int(rec["image_id"]))
        cols["category_id"].append(int(rec["category_id"]))
        cols["iscrowd"].append(bool(rec.get("iscrowd") or False))
        cols["polygons"].append(polygons)
        cols["rle_counts"].append(counts)
        cols["rle_text"].append(rle_text)
        cols["rle_size"].append(size)
    return pa.table(cols, schema=SEGMENTATION_SCHEMA)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
