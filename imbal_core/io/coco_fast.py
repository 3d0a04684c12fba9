"""The COCO reader's fast path for large compact files (see :mod:`._jsonfast` for the method).

Produces the same :class:`~imbal_core.io.coco._Parsed` as the per-record path, or raises
:class:`~imbal_core.io._jsonfast.FastPathUnavailable` so that the caller falls back to it.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _jsonfast as fast
from .coco import _Parsed, _empty_annotations, _empty_images

# Annotation fields for DuckDB's from_json. Ids come as DOUBLE and are checked to be whole
# numbers below (a lenient BIGINT parse would round 3.7 silently). A field that is present but
# unparseable comes out NULL; the `bad_*` flags catch those rows, and any flagged row sends the
# file to the per-record path, which reports it.
_ANN_SPEC = ('{"id": "DOUBLE", "image_id": "DOUBLE", "category_id": "DOUBLE", "bbox": "DOUBLE[]", '
             '"area": "DOUBLE", "iscrowd": "BIGINT", "annotated_at": "VARCHAR", "annotator": "VARCHAR"}')
_ANN_SELECT = f"""
SELECT j.id, j.image_id, j.category_id,
       j.bbox[1] AS x, j.bbox[2] AS y, j.bbox[3] AS w, j.bbox[4] AS h, len(j.bbox) AS bbox_len,
       j.area, j.iscrowd, j.annotated_at, j.annotator,
       CASE WHEN j.bbox IS NULL THEN regexp_matches(line, '"bbox"\\s*:\\s*[^n\\s]') ELSE false END AS bad_bbox,
       CASE WHEN j.area IS NULL THEN regexp_matches(line, '"area"\\s*:\\s*[^n\\s]') ELSE false END AS bad_area
FROM (SELECT line, from_json(line, '{_ANN_SPEC}') AS j FROM lines)
"""
_KNOWN_IMAGE_SCHEMA = pa.schema([
    ("id", pa.int64()), ("file_name", pa.string()), ("width", pa.float64()), ("height", pa.float64()),
    ("date_captured", pa.string()), ("split", pa.string()),
    ("coco_url", pa.string()), ("flickr_url", pa.string()),
])


def parse_fast(path: str) -> _Parsed:
    """The fast path (see :mod:`._jsonfast`). The two cores share the work: the image records
    are parsed in a thread (pyarrow releases the GIL) while the annotations are split, scanned
    for segmentations and parsed by DuckDB, which starts warm (:class:`._jsonfast.Warmup`)."""
    warmup = fast.Warmup(_ANN_SPEC)
    try:
        data = fast.read_file(path)
        starts = {k: fast.find_array(data, k) for k in ("images", "annotations")}
        if starts["images"] is None:
            raise fast.FastPathUnavailable("no `images` array")
        images_body, _ = fast.split_records(data, starts["images"])
        with ThreadPoolExecutor(max_workers=1) as pool:
            images_job = pool.submit(_fast_images, images_body)
            big = [(images_body.start, images_body.stop)]
            ann_body = None
            if starts["annotations"] is not None:
                ann_body, _ = fast.split_records(data, starts["annotations"])
                big.append((ann_body.start, ann_body.stop))
            small = {}
            for key in ("categories", "scene_annotations", "scene_categories"):
                at = fast.find_array(data, key, skip=big)
                if at is not None:
                    small_body, _ = fast.split_records(data, at, patch=False)
                    small[key] = msgspec.json.decode(fast.raw_array(small_body))
                    del small_body
            if "categories" not in small:
                raise fast.FastPathUnavailable("no `categories` array")
            anns = _empty_annotations()
            if ann_body is not None and ann_body.records:
                has_seg = fast.key_presence(ann_body, b"segmentation")
                anns = _fast_annotations(ann_body, has_seg, warmup)
            images = images_job.result()
    finally:
        warmup.close()
    return _Parsed(path, images, anns, small["categories"], small.get("scene_annotations"),
                   small.get("scene_categories"), engine="fast")


def _fast_images(body: fast.Body) -> pa.Table:
    if not body.records:
        return _empty_images()
    images = fast.pyarrow_records(body, _KNOWN_IMAGE_SCHEMA)
    if images.column("id").null_count:
        raise fast.FastPathUnavailable("an image has no id")
    return _stringify_timestamps(images)


def _fast_annotations(body: fast.Body, has_seg: np.ndarray, warmup: fast.Warmup) -> pa.Table:
    table = fast.duckdb_records(body, _ANN_SELECT, warmup)
    for flag, what in (("bad_bbox", "a bbox is not a list of numbers"), ("bad_area", "an area is not a number")):
        if pc.any(table.column(flag)).as_py():
            raise fast.FastPathUnavailable(what)
    has_box = pc.is_valid(table.column("bbox_len")).to_numpy(zero_copy_only=False)
    if pc.any(pc.not_equal(table.column("bbox_len"), 4)).as_py():
        raise fast.FastPathUnavailable("a bbox is not four numbers")
    for col in ("x", "y", "w", "h"):
        if (has_box & table.column(col).is_null().to_numpy(zero_copy_only=False)).any():
            raise fast.FastPathUnavailable("a bbox holds something else than a number")
    ids = {}
    for col in ("id", "image_id", "category_id"):
        values = table.column(col).to_numpy(zero_copy_only=False)
        if np.isnan(values).any() or (values != np.floor(values)).any() or (np.abs(values) >= 2**53).any():
            raise fast.FastPathUnavailable(f"an annotation `{col}` is missing or not a whole number")
        ids[col] = pa.array(values.astype(np.int64))
    area_missing = table.column("area").is_null().to_numpy(zero_copy_only=False)
    if (area_missing & has_seg).any():
        raise fast.FastPathUnavailable("a segmentation has no area")
    return pa.table({
        **ids,
        "x": table.column("x"), "y": table.column("y"), "w": table.column("w"), "h": table.column("h"),
        "area": table.column("area"),
        "iscrowd": pc.fill_null(pc.not_equal(table.column("iscrowd"), 0), False),
        "has_segmentation": pa.array(has_seg),
        "annotated_at": table.column("annotated_at"),
        "annotator": table.column("annotator"),
    })


def _stringify_timestamps(table: pa.Table) -> pa.Table:
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type):
            table = table.set_column(i, f.name, pc.cast(table.column(i), pa.string()))
    return table
