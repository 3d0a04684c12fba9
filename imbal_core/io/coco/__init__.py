"""COCO instances JSON (and COCO-like: LVIS, TACO) -> canonical dataset.

- One file or several (``instances_train.json``, ``instances_val.json``): the split comes from an
  image field ``split`` when present, else from the file name (train / val / test as a word in it).
- Every extra scalar image field becomes a condition (see :mod:`._conditions`); a group-like field
  (``sequence``, ``video_id`` ...) becomes ``group``.
- TACO's ``scene_annotations`` (several rows per image, several backgrounds per row) become the
  condition ``scene``: the background named most often for the image (ties: the first named).
  Images whose rows disagree or name several backgrounds are reported with every value seen.
- ``pixels`` is the mask area when the annotation has a segmentation (COCO's ``area`` is the mask
  area; where it is missing it is computed with pycocotools), null for box-only data.
- Ids are int64: an image, category, or annotation ``image_id`` / ``category_id`` beyond that range
  is reported (``bad_id`` / ``bad_category``) and its record skipped; an annotation's own id is only
  its name, kept as text in ``source_id`` whatever its size. An image side beyond int32 is no size
  (``bad_image_size``, set to unknown).
- An object or a list where text is expected (``file_name``, ``split``, the group, a condition) is
  never turned into text: it becomes unknown, one ``bad_field`` row per field says how many images.

Large compact files take the fast path of :mod:`._jsonfast`; anything it does not handle, and
every file below :data:`FAST_PATH_MIN_BYTES`, takes the per-record path, which also explains
every bad record in the report. Both produce the same tables, and keep the same records of the
file in :attr:`Dataset.records` (:mod:`.records`): every image and annotation record as
written, and the top-level fields, so that no later step reads the file again.
"""
from __future__ import annotations

import logging
import math
import os
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...dataset import Dataset, build_dataset
from ...report import LoadError, LoadReport, excerpt
from .._conditions import ANNOTATED_AT_FIELDS, ANNOTATOR_FIELDS, GROUP_FIELDS, find_field, pick_conditions
from .parsed import ANN_COLUMNS, ParsedFile
from .records import python_records, record_name as _record_name, source_records
from ..files import as_float, is_number, parse_json, read_bytes, split_from_name

log = logging.getLogger(__name__)

FAST_PATH_MIN_BYTES = 8 << 20
TOP_KEYS = ("images", "annotations", "categories", "scene_annotations", "scene_categories")
#: Image fields that are never conditions: COCO bookkeeping, or read into their own columns.
KNOWN_IMAGE_FIELDS = (
    "id", "file_name", "width", "height", "license", "coco_url", "flickr_url", "flickr_640_url",
    "date_captured", "url", "path", "file_path", "image_path", "split",
    "neg_category_ids", "not_exhaustive_category_ids",
)
#: Ids are int64 in the tables (the export's own id is kept as text in ``source_id``).
ID_RANGE = (-(2**63), 2**63 - 1)
#: Image sides are int32 in the canonical schema; a larger one is no image size.
MAX_SIDE = 2**31 - 1
#: Image fields read as text: a value that is an object or a list there is reported, set to unknown.
TEXT_IMAGE_FIELDS = ("file_name", "split")


def looks_like_coco(doc_head: bytes) -> bool:
    head = doc_head.lstrip()[:1 << 16]
    return head.startswith(b"{") and (b'"images"' in head or b'"annotations"' in head or b'"categories"' in head)


def read_coco(paths: Sequence[str | Path], report: LoadReport | None = None, engine: str = "auto") -> Dataset:
    """Read one or several COCO instances files into one dataset.

    ``engine`` ("auto"): "fast" forces the fast path (raising if it cannot be used), "python"
    the per-record path; "auto" picks by file size and falls back when needed.
    """
    report = report if report is not None else LoadReport()
    parsed = [_parse_file(str(p), report, engine) for p in paths]
    return _assemble(parsed, report)


# --------------------------------------------------------------------------- parsing


def _parse_file(path: str, report: LoadReport, engine: str) -> ParsedFile:
    use_fast = engine == "fast" or (engine == "auto" and _size(path) >= FAST_PATH_MIN_BYTES)
    if use_fast:
        try:
            from .fast import parse_fast  # DuckDB is imported only when a file is large enough

            return parse_fast(path)
        except Exception as exc:  # FastPathUnavailable, a bad byte, an odd shape: the thorough path explains
            if engine == "fast":
                raise
            log.info("%s: per-record path (%s)", path, exc)
    return _parse_python(path, report)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _parse_python(path: str, report: LoadReport) -> ParsedFile:
    data = read_bytes(path)
    doc = parse_json(data, path, report)
    if not isinstance(doc, dict):
        kind = "a list" if isinstance(doc, list) else type(doc).__name__
        hint = " (a COCO results file? pass it as predictions)" if isinstance(doc, list) and doc and isinstance(doc[0], dict) and "score" in doc[0] else ""
        raise LoadError(f"{path}: not a COCO instances file — the top level is {kind}, not an object{hint}.", report, path)
    for key in ("images", "categories"):
        if not isinstance(doc.get(key), list):
            found = "missing" if key not in doc else f"a {type(doc[key]).__name__}"
            raise LoadError(f"{path}: not a COCO instances file — `{key}` must be a list; it is {found}.", report, path)
    anns_raw = doc.get("annotations", [])
    if not isinstance(anns_raw, list):
        raise LoadError(f"{path}: `annotations` must be a list; it is a {type(anns_raw).__name__}.", report, path)
    images, index = _python_images(doc["images"], path, report)
    anns, segs = _python_annotations(anns_raw, path, report)
    records = python_records(data, doc)
    records.image_index = index
    return ParsedFile(path, images, anns, doc["categories"], doc.get("scene_annotations"),
                   doc.get("scene_categories"), segmentations=segs, records=records)


def _python_images(records: list[Any], path: str, report: LoadReport) -> tuple[pa.Table, np.ndarray]:
    """The image records as a table, and the position in ``records`` of each of its rows."""
    columns: dict[str, list[Any]] = {"id": []}
    index: list[int] = []
    n = 0
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            report.add(path, f"images[{i}]", "bad_record", f"image record is a {type(rec).__name__}, not an object", "skipped")
            continue
        image_id, problem = _whole_id(rec.get("id"))
        if problem:
            report.add(path, f"images[{i}]", "bad_id", f"image id {problem}", "skipped")
            continue
        index.append(i)
        for key, value in rec.items():
            col = columns.get(key)
            if col is None:
                col = columns[key] = [None] * n
            col.append(image_id if key == "id" else value)
        n += 1
        for col in columns.values():
            if len(col) < n:
                col.append(None)
    for key in ("width", "height"):
        if key in columns:
            values = columns[key]
            for j, v in enumerate(values):
                if v is not None and not _plausible_side(v):
                    num = _as_float(v) if not isinstance(v, (dict, list)) else None
                    if num is None or not _plausible_side(num):
                        report.add(path, columns["id"][j], "bad_image_size", _side_problem(key, v), "set to unknown")
                        values[j] = None
                    else:
                        values[j] = num
    text_fields = {*TEXT_IMAGE_FIELDS,
                   *(find_field(columns, fields) for fields in (GROUP_FIELDS, ANNOTATED_AT_FIELDS, ANNOTATOR_FIELDS))}
    for key, values in columns.items():
        if key not in ("id", "width", "height") and (key not in KNOWN_IMAGE_FIELDS or key in text_fields):
            _drop_nested(key, values, columns["id"], key in text_fields, path, report)
    return pa.table({k: _to_arrow(v) for k, v in columns.items()}), np.array(index, np.int64)


def _whole_id(value: Any) -> tuple[int | None, str | None]:
    """An id as an int64-sized whole number (digits as text accepted), or (None, what is wrong)."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 30:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        return None, ("is missing" if value is None else f"{excerpt(value)} is not a whole number")
    if not _is_id(value):
        return None, f"{excerpt(value)} is beyond the 64-bit range of ids"
    return value, None


def _is_id(value: Any) -> bool:
    """A whole number (not text) that fits an int64 id column."""
    return isinstance(value, int) and not isinstance(value, bool) and ID_RANGE[0] <= value <= ID_RANGE[1]


def _float(value: int | float) -> float:
    """A JSON number as float; an integer beyond the float range (``1e400`` written out in full)
    is infinite, as DuckDB on the fast path reads it (``float()`` raises OverflowError)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _as_float(value: Any) -> float | None:
    """:func:`imbal_core.io.files.as_float`, with :func:`_float`'s treatment of huge integers."""
    return _float(value) if is_number(value) else as_float(value)


def _plausible_side(value: Any) -> bool:
    return is_number(value) and 0 < value <= MAX_SIDE  # NaN fails both comparisons


def _side_problem(key: str, value: Any) -> str:
    return f"image {key} {excerpt(value)} is not a positive number of at most {MAX_SIDE:,} pixels"


def _drop_nested(key: str, values: list[Any], ids: list[int], text: bool, path: str, report: LoadReport) -> None:
    """Objects and lists in an image field that should hold text or numbers become null (one report row).

    ``text``: the field is read as text (file name, split, group ...); otherwise a field holding
    nothing but objects and lists is simply no condition."""
    nested = [j for j, v in enumerate(values) if isinstance(v, (dict, list))]
    if not nested:
        return
    for j in nested:
        values[j] = None
    if text or any(v is not None for v in values):
        report.add(path, key, "bad_field", f"image `{key}` is an object or a list, not text, in {len(nested):,} "
                   f"image(s) (first: image {ids[nested[0]]})", "set to unknown there")
    else:
        report.add(path, key, "condition_ignored", f"field `{key}` holds objects or lists, not text or numbers", "ignored")


def _to_arrow(values: list[Any]) -> pa.Array:
    """Python values to an Arrow array; mixed types, or integers too large for int64, become text
    (objects and lists there become null: their text is never built, it may be huge)."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None or isinstance(v, (dict, list)) else str(v) for v in values], pa.string())


def _python_annotations(records: list[Any], path: str, report: LoadReport) -> tuple[pa.Table, dict[int, Any]]:
    cols: dict[str, list[Any]] = {c: [] for c in (*ANN_COLUMNS, "annotated_at", "annotator", "source")}
    segs: dict[int, Any] = {}
    at_key = annotator_key = None
    nested: dict[str, str] = {}  # column -> the first annotation where it was an object or a list
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            report.add(path, f"annotations[{i}]", "bad_record", f"annotation record is a {type(rec).__name__}, not an object", "skipped")
            continue
        ann_id = rec.get("id", f"annotations[{i}]")
        record = _record_name(ann_id, i)
        ids = []
        for key in ("image_id", "category_id"):
            value, problem = _whole_id(rec.get(key))
            if problem:
                report.add(path, record, "bad_id", f"annotation {key} {problem}", "skipped")
                break
            ids.append(value)
        else:
            box = rec.get("bbox")
            if box is None:
                x = y = w = h = None
            elif isinstance(box, (list, tuple)) and len(box) == 4 and all(is_number(v) for v in box):
                x, y, w, h = (_float(v) for v in box)
            else:
                report.add(path, record, "bad_box", f"bbox {excerpt(box)} is not four numbers", "skipped")
                continue
            area = rec.get("area")
            if area is not None and not is_number(area):
                report.add(path, record, "bad_area", f"area {excerpt(area)} is not a number", "recomputed or left unknown")
                area = None
            seg = rec.get("segmentation")
            has_seg = bool(seg) and isinstance(seg, (list, dict))
            row = len(cols["id"])
            if has_seg and area is None:
                segs[row] = seg
            if at_key is None:
                at_key = find_field(rec, ANNOTATED_AT_FIELDS)
            if annotator_key is None:
                annotator_key = find_field(rec, ANNOTATOR_FIELDS)
            cols["id"].append(ann_id if _is_id(ann_id) else None)
            cols["source"].append(record)  # an id past int64 stays here, as text
            cols["image_id"].append(ids[0])
            cols["category_id"].append(ids[1])
            for k, v in (("x", x), ("y", y), ("w", w), ("h", h)):
                cols[k].append(v)
            cols["area"].append(_float(area) if area is not None else None)
            crowd = rec.get("iscrowd", 0)
            cols["iscrowd"].append(bool(crowd) if isinstance(crowd, (int, float, bool)) else False)
            cols["has_segmentation"].append(has_seg)
            at = rec.get(at_key) if at_key else None
            who = rec.get(annotator_key) if annotator_key else None
            for key, value in (("annotated_at", at), ("annotator", who)):
                if isinstance(value, (dict, list)):
                    nested[key] = nested.get(key) or record
                    value = None
                cols[key].append(None if value is None else str(value))
    for key, first in nested.items():
        report.add(path, first, "bad_field", f"annotation `{at_key if key == 'annotated_at' else annotator_key}` is an "
                   "object or a list, not text", "set to unknown where it is")
    types = {"id": pa.int64(), "image_id": pa.int64(), "category_id": pa.int64(), "iscrowd": pa.bool_(),
             "has_segmentation": pa.bool_(), "annotated_at": pa.string(), "annotator": pa.string(), "source": pa.string()}
    table = pa.table({k: pa.array(v, types.get(k, pa.float64())) for k, v in cols.items()})
    return table, segs


# --------------------------------------------------------------------------- assembling


def _assemble(parsed: list[ParsedFile], report: LoadReport) -> Dataset:
    categories, cat_lookup = _categories(parsed, report)
    image_parts, ann_parts, files = [], [], []
    offset = 0
    for p in parsed:
        images, id_to_row = _images(p, report)
        anns = _annotations(p, id_to_row, cat_lookup[p.file], report, offset)
        image_parts.append(images)
        ann_parts.append(anns)
        if len(parsed) > 1:  # each annotation's file, for report rows (one file: named once)
            files.extend([p.file] * anns["image"].shape[0])
        offset += images["n"]
    cond_names = []
    for part in image_parts:
        for name in part["conditions"]:
            if name not in cond_names:
                cond_names.append(name)
    img_cols: dict[str, Any] = {}
    for key in ("source_id", "file_name", "width", "height", "split", "group", "annotated_at", "annotator"):
        img_cols[key] = _concat([part[key] for part in image_parts], pa.string() if key not in ("width", "height") else pa.float64())
    for name in cond_names:
        img_cols[name] = _concat(
            [part["conditions"].get(name, pa.nulls(part["n"], pa.string())) for part in image_parts], pa.string()
        )
    for key in ("width", "height"):
        img_cols[key] = pc.cast(pc.round(img_cols[key]), pa.int32())
    one = len(ann_parts) == 1  # a single file: its columns as they are
    ann_cols = {key: ann_parts[0][key] if one else np.concatenate([a[key] for a in ann_parts])
                for key in ("image", "category")}
    for key in ("source_id", "x", "y", "w", "h", "area", "pixels", "iscrowd", "annotated_at", "annotator"):
        ann_cols[key] = ann_parts[0][key] if one else pa.concat_arrays([a[key] for a in ann_parts])
    n_seg = sum(int(pc.sum(a["has_segmentation"]).as_py() or 0) for a in ann_parts)
    n_ann = len(ann_cols["image"])
    task = "segmentation" if n_ann and n_seg >= n_ann / 2 else "detection"
    dataset = build_dataset(
        images=img_cols,
        annotations=ann_cols,
        categories=categories,
        task=task,
        format="coco",
        sources=[p.file for p in parsed],
        report=report,
        conditions=cond_names,
        annotation_files=files if len(parsed) > 1 else parsed[0].file,
        unsized_boxes_normalised=False,
    )
    return replace(dataset, records=source_records(parsed, [(part["n"], part["kept"]) for part in image_parts]))


def _concat(arrays: list[pa.Array], type_: pa.DataType) -> pa.Array:
    return pa.concat_arrays([a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in (pc.cast(x, type_) for x in arrays)])


def _categories(parsed: list[ParsedFile], report: LoadReport) -> tuple[dict[str, list], dict[str, dict[int, int]]]:
    """Categories of all files: one row per name; per file, export id -> row."""
    names: list[str] = []
    source: list[str] = []
    supers: list[str | None] = []
    row_of_name: dict[str, int] = {}
    lookup: dict[str, dict[int, int]] = {}
    for p in parsed:
        ids: dict[int, int] = {}
        id_of_name: dict[str, int] = {}
        for i, rec in enumerate(p.categories):
            cid = rec.get("id") if isinstance(rec, dict) else None
            if not _is_id(cid):
                report.add(p.file, f"categories[{i}]", "bad_category",
                           f"category record {excerpt(rec)} has no whole-number id in the 64-bit range", "skipped")
                continue
            name = rec.get("name")
            if not isinstance(name, str) or not name.strip():
                report.add(p.file, cid, "bad_category", f"category {cid} has no name; named {str(cid)!r}", "kept")
                name = str(cid)
            if cid in ids:
                report.add(p.file, cid, "duplicate_id", f"category id {cid} is declared twice", "kept the first")
                continue
            if name in id_of_name:
                report.add(p.file, cid, "duplicate_name",
                           f"category name {name!r} is declared with ids {id_of_name[name]} and {cid}", "merged into one class")
            id_of_name.setdefault(name, cid)
            row = row_of_name.get(name)
            if row is None:
                row = row_of_name[name] = len(names)
                names.append(name)
                source.append(str(cid))
                sup = rec.get("supercategory")
                supers.append(sup if isinstance(sup, str) and sup else None)
            ids[cid] = row
        lookup[p.file] = ids
    return {"name": names, "source_id": source, "supercategory": supers}, lookup


def _images(p: ParsedFile, report: LoadReport) -> tuple[dict[str, Any], dict]:
    table = p.images
    ids = table.column("id").to_numpy(zero_copy_only=False).astype(np.int64)
    keep = np.ones(len(ids), dtype=bool)
    kept = None  # the rows of p.images kept (None: all of them)
    if len(ids):
        _, first = np.unique(ids, return_index=True)
        if len(first) != len(ids):
            keep[:] = False
            keep[first] = True
            for dup in ids[~keep]:
                report.add(p.file, int(dup), "duplicate_id", f"image id {dup} is declared again", "skipped the later one")
            table = table.filter(pa.array(keep))
            ids = ids[keep]
            kept = np.flatnonzero(keep)
    n = len(ids)
    names = table.schema.names
    col = lambda key: table.column(key) if key in names else pa.nulls(n, pa.string())  # noqa: E731
    from_name = split_from_name(p.file)
    if "split" in names:
        split = _text(table.column("split").combine_chunks(), "split", p.file, report)
        if from_name:
            split = pc.fill_null(split, from_name)
    else:
        split = pa.array([from_name] * n, pa.string())
    group_key = find_field(names, GROUP_FIELDS)
    at_key = find_field(names, ANNOTATED_AT_FIELDS)
    who_key = find_field(names, ANNOTATOR_FIELDS)
    extra = {k: table.column(k) for k in names if k not in KNOWN_IMAGE_FIELDS and k not in (group_key, at_key, who_key)}
    conditions = pick_conditions(extra, n, report, p.file)
    scene = _scene_condition(p, ids, report)
    if scene is not None and "scene" not in conditions:
        conditions["scene"] = scene
    order = np.argsort(ids, kind="stable")
    text = lambda key: _text(col(key), key, p.file, report) if key else pa.nulls(n, pa.string())  # noqa: E731
    out = {
        "n": n,
        "source_id": pc.cast(pa.array(ids), pa.string()),
        "file_name": text("file_name" if "file_name" in names else None),
        "width": _side(table, "width", ids, p.file, report),
        "height": _side(table, "height", ids, p.file, report),
        "split": split,
        "group": text(group_key),
        "annotated_at": text(at_key),
        "annotator": text(who_key),
        "conditions": conditions,
        "kept": kept,
    }
    return out, (ids[order], order)


def _text(arr, key: str, file: str, report: LoadReport) -> pa.Array:
    """A column as text; one of objects or lists (the fast path infers those) is reported and left unknown."""
    from .._conditions import as_text

    if pa.types.is_nested(arr.type):
        valid = arr.is_valid()
        if pc.any(valid).as_py():
            report.add(file, key, "bad_field", f"image `{key}` is an object or a list, not text, in "
                       f"{pc.sum(valid).as_py():,} image(s)", "set to unknown there")
        return pa.nulls(len(arr), pa.string())
    return as_text(arr)


def _side(table: pa.Table, key: str, ids: np.ndarray, file: str, report: LoadReport) -> pa.Array:
    """Image width or height as float; values outside 1..MAX_SIDE (the fast path reads any number) are reported, null."""
    if key not in table.schema.names:
        return pa.nulls(len(ids), pa.float64())
    values = pc.cast(table.column(key), pa.float64()).combine_chunks()
    number = values.to_numpy(zero_copy_only=False)
    bad = values.is_valid().to_numpy(zero_copy_only=False) & ~((number > 0) & (number <= MAX_SIDE))
    if not bad.any():
        return values
    for j in np.flatnonzero(bad).tolist():
        report.add(file, int(ids[j]), "bad_image_size", _side_problem(key, float(number[j])), "set to unknown")
    return pa.array(np.where(bad, np.nan, number), mask=bad | values.is_null().to_numpy(zero_copy_only=False))


def _scene_condition(p: ParsedFile, ids: np.ndarray, report: LoadReport) -> pa.Array | None:
    """TACO-style scenes: the background named most often for each image."""
    if not p.scene_annotations:
        return None
    names = {}
    for c in p.scene_categories if isinstance(p.scene_categories, list) else []:
        if isinstance(c, dict) and _scene_id(c.get("id")) is not None:
            name = c.get("name", c["id"])
            names[c["id"]] = name if isinstance(name, str) else str(c["id"])
    votes: dict[int, Counter] = {}
    undeclared: Counter = Counter()
    bad = 0
    for rec in p.scene_annotations if isinstance(p.scene_annotations, list) else []:
        image_id = _scene_id(rec.get("image_id")) if isinstance(rec, dict) else None
        bg = rec.get("background_ids") if image_id is not None else None
        bg = bg if isinstance(bg, list) else [bg] if bg is not None else []
        usable = [b for b in bg if _scene_id(b) is not None]
        if image_id is None or len(usable) < len(bg):
            bad += 1
        for b in usable:
            if b not in names:
                undeclared[b] += 1
        if image_id is not None:
            votes.setdefault(image_id, Counter()).update(usable)
    if bad:
        report.add(p.file, "scene_annotations", "bad_record", f"{bad:,} scene annotation(s) have an image_id or "
                   "background id that is not a whole number or a name", "left out of the scene condition")
    for b, count in undeclared.items():
        report.add(p.file, f"background {b}", "undeclared_scene",
                   f"scene background id {b} is used {count} times but not declared in scene_categories", f"kept as {str(b)!r}")
    values: list[str | None] = []
    for image_id in ids.tolist():
        counter = votes.get(image_id)
        if not counter:
            values.append(None)
            continue
        best = counter.most_common(1)[0][0]  # ties: first named (Counter keeps insertion order)
        label = names.get(best, str(best))
        values.append(label)
        if len(counter) > 1:
            seen = ", ".join(f"{names.get(b, str(b))} x{c}" for b, c in counter.most_common())
            report.add(p.file, image_id, "multi_valued_condition",
                       f"scene has several values ({seen})", f"kept the most frequent, {label!r}")
    return pa.array(values, pa.string())


def _scene_id(value: Any) -> int | str | None:
    """A scene or image id usable as a key: a whole number or short text."""
    if _is_id(value):
        return value
    return value if isinstance(value, str) and len(value) <= 200 else None


def _annotations(p: ParsedFile, images: tuple, cats: dict[int, int], report: LoadReport, offset: int) -> dict[str, Any]:
    table = p.annotations
    sorted_ids, order = images
    img = table.column("image_id").to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    cat = table.column("category_id").to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    image_row, found_img = _lookup(sorted_ids, order, img)
    cat_ids = np.array(sorted(cats), dtype=np.int64)
    cat_rows = np.array([cats[c] for c in sorted(cats)], dtype=np.int32)  # the dataset's category_id type
    category_row, found_cat = _lookup(cat_ids, cat_rows, cat)
    source = _ann_source_ids(table)
    for mask, code, what in ((~found_img, "dangling_image", "image_id"), (found_img & ~found_cat, "dangling_category", "category_id")):
        if mask.any():
            values = (img if what == "image_id" else cat)[mask]
            records = pc.filter(source, pa.array(mask)).to_pylist()
            report.add_many(p.file, records, code, [f"{what} {v} is not declared" for v in values], "skipped")
    keep = found_img & found_cat
    area, pixels = _area_and_pixels(p, images, report)
    columns = {
        "image": image_row + offset if offset else image_row,
        "category": category_row,
        "source_id": source,
        "area": area,
        "pixels": pixels,
        **{c: _single(table.column(c)) for c in
           ("x", "y", "w", "h", "iscrowd", "has_segmentation", "annotated_at", "annotator")},
    }
    if keep.all():  # the usual case: nothing to drop, nothing to copy
        return columns
    k = pa.array(keep)
    return {c: v[keep] if isinstance(v, np.ndarray) else pc.filter(v, k) for c, v in columns.items()}


def _area_and_pixels(p: ParsedFile, images: tuple, report: LoadReport) -> tuple[pa.Array, pa.Array]:
    """The export's ``area`` (NaN as null) and ``pixels``: the area where there is a segmentation.

    The usual cases — no NaN, every annotation with a segmentation or none — take the area
    column as it is, without a copy: this runs on 860,000 annotations in the bench."""
    table = p.annotations
    area = _single(table.column("area")).cast(pa.float64())
    has_seg = _single(table.column("has_segmentation"))
    if p.segmentations:  # areas the export lacks, computed from the segmentation
        values = area.to_numpy(zero_copy_only=False).astype(np.float64)  # a copy, filled in
        _fill_missing_areas(p, values, images, report)
        area = pa.array(values, mask=np.isnan(values))
    elif pc.any(pc.is_nan(area)).as_py():
        area = pc.if_else(pc.is_nan(area), pa.scalar(None, pa.float64()), area)
    segmented = has_seg.true_count
    if segmented == len(has_seg):
        return area, area
    if segmented == 0:
        return area, pa.nulls(len(area), pa.float64())
    return area, pc.if_else(has_seg, area, pa.scalar(None, pa.float64()))


def _single(column: pa.ChunkedArray) -> pa.Array:
    """The column as one array (``combine_chunks`` copies even a single chunk)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _lookup(sorted_ids: np.ndarray, rows: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each wanted id (0 where absent) and whether it was found. Ids that are small
    non-negative numbers (the usual case) use a direct table; others a binary search."""
    if len(sorted_ids) == 0 or len(wanted) == 0:
        return np.zeros(len(wanted), rows.dtype), np.zeros(len(wanted), bool)
    lo, hi = int(sorted_ids[0]), int(sorted_ids[-1])
    if lo >= 0 and hi < 4 * len(sorted_ids) + 1_000_000:
        table = np.full(hi + 1, -1, rows.dtype)
        table[sorted_ids] = rows
        if wanted.min() >= 0 and wanted.max() <= hi:  # every id in the table's range: one gather
            row = table[wanted]
        else:
            inside = (wanted >= 0) & (wanted <= hi)
            row = np.where(inside, table[np.clip(wanted, 0, hi)], -1)
        found = row >= 0
        if not found.all():
            np.maximum(row, 0, out=row)
        return row, found
    pos = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
    found = sorted_ids[pos] == wanted
    return rows[pos], found


def _ann_source_ids(table: pa.Table) -> pa.Array:
    if "source" in table.schema.names:  # the per-record path kept each record's own name
        return table.column("source").combine_chunks()
    ids = table.column("id").combine_chunks()
    text = pc.cast(ids, pa.string())
    if ids.null_count:
        fallback = pa.array([f"annotations[{i}]" for i in range(len(ids))])
        text = pc.if_else(pc.is_null(ids), fallback, text)
    return text


def _fill_missing_areas(p: ParsedFile, area: np.ndarray, images: tuple, report: LoadReport) -> None:
    """Mask area with pycocotools where the export gives a segmentation but no area."""
    from pycocotools import mask as mask_utils

    sorted_ids, order = images
    img_ids = p.annotations.column("image_id").to_numpy(zero_copy_only=False)
    heights = p.images.column("height").to_numpy(zero_copy_only=False) if "height" in p.images.schema.names else None
    widths = p.images.column("width").to_numpy(zero_copy_only=False) if "width" in p.images.schema.names else None
    all_ids = p.images.column("id").to_numpy(zero_copy_only=False)
    row_of = {int(i): r for r, i in enumerate(all_ids)}
    for row, seg in p.segmentations.items():
        record = p.annotations.column("id")[row].as_py()
        r = row_of.get(int(img_ids[row]))
        try:
            if isinstance(seg, dict):
                rle = seg if not isinstance(seg.get("counts"), list) else mask_utils.frPyObjects(seg, *seg["size"])
            else:
                if r is None or heights is None or widths is None or not (heights[r] > 0 and widths[r] > 0):
                    raise ValueError("the image size is unknown")
                rle = mask_utils.merge(mask_utils.frPyObjects(seg, int(heights[r]), int(widths[r])))
            area[row] = float(mask_utils.area(rle))
            report.add(p.file, record, "area_computed", "annotation has a segmentation but no area", "computed the mask area with pycocotools")
        except Exception as exc:  # a malformed polygon or RLE: say so, keep the instance
            report.add(p.file, record, "bad_segmentation", f"segmentation cannot be rasterised ({exc})", "kept without a pixel count")
