"""The COCO reader's fast path for large compact files (see :mod:`._jsonfast` for the method).

Produces the same :class:`~imbal_core.io.coco.parsed.ParsedFile` as the per-record path, or raises
:class:`~imbal_core.io._jsonfast.FastPathUnavailable` so that the caller falls back to it.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _jsonfast as fast
from ._jsontexts import DeferredTexts
from .parsed import FileRecords, ParsedFile, empty_annotations, empty_images

# Annotation fields for DuckDB's from_json. Ids come as DOUBLE and must be whole numbers below
# 2**53 (a lenient BIGINT parse would round 3.7 silently). A segmentation is read as a list of
# booleans: its length (one NULL per polygon, no number parsed) tells a non-empty polygon list at
# no cost; it is NULL for anything but a list (an RLE object, null, absent), which
# `_segmentation_present` settles. A field that is present but unparseable comes out NULL.
_ANN_SPEC = ('{"id": "DOUBLE", "image_id": "DOUBLE", "category_id": "DOUBLE", "bbox": "DOUBLE[]", '
             '"area": "DOUBLE", "iscrowd": "BIGINT", "annotated_at": "VARCHAR", "annotator": "VARCHAR", '
             '"segmentation": "BOOLEAN[]"}')
_NOT_WHOLE = "(j.{0} IS NULL OR j.{0} <> trunc(j.{0}) OR abs(j.{0}) >= 9007199254740992)"
# DuckDB does the checks and the conversions on all cores (the id as text too: `source`, as the
# per-record path names each record), and hands over only the columns the dataset keeps:
# `problem` names the first thing in a record the fast path does not take (any sends the file to
# the per-record path, which reports it), null for a record that is fine.
_ANN_SELECT = f"""
SELECT TRY_CAST(j.id AS BIGINT) AS id, CAST(TRY_CAST(j.id AS BIGINT) AS VARCHAR) AS source,
       TRY_CAST(j.image_id AS BIGINT) AS image_id,
       TRY_CAST(j.category_id AS BIGINT) AS category_id,
       j.bbox[1] AS x, j.bbox[2] AS y, j.bbox[3] AS w, j.bbox[4] AS h, j.area,
       coalesce(j.iscrowd <> 0, false) AS iscrowd, j.annotated_at, j.annotator,
       len(j.segmentation) > 0 AS polygons,
       CASE WHEN j.bbox IS NULL AND regexp_matches(line, '"bbox"\\s*:\\s*[^n\\s]') THEN 'a bbox is not a list of numbers'
            WHEN j.area IS NULL AND regexp_matches(line, '"area"\\s*:\\s*[^n\\s]') THEN 'an area is not a number'
            WHEN len(j.bbox) <> 4 THEN 'a bbox is not four numbers'
            WHEN j.bbox IS NOT NULL AND (j.bbox[1] IS NULL OR j.bbox[2] IS NULL OR j.bbox[3] IS NULL OR j.bbox[4] IS NULL)
                 THEN 'a bbox holds something else than a number'
            WHEN {_NOT_WHOLE.format("id")} THEN 'an annotation `id` is missing or not a whole number'
            WHEN {_NOT_WHOLE.format("image_id")} THEN 'an annotation `image_id` is missing or not a whole number'
            WHEN {_NOT_WHOLE.format("category_id")} THEN 'an annotation `category_id` is missing or not a whole number'
            WHEN j.area IS NULL AND len(j.segmentation) > 0 THEN 'a segmentation has no area'
       END AS problem
FROM (SELECT line, from_json(line, '{_ANN_SPEC}') AS j FROM lines)
"""
_KNOWN_IMAGE_SCHEMA = pa.schema([
    ("id", pa.int64()), ("file_name", pa.string()), ("width", pa.float64()), ("height", pa.float64()),
    ("date_captured", pa.string()), ("split", pa.string()),
    ("coco_url", pa.string()), ("flickr_url", pa.string()),
])


def parse_fast(path: str) -> ParsedFile:
    """The fast path (see :mod:`._jsonfast`). The two cores share the work: the image records
    are parsed in a thread (pyarrow releases the GIL) while the annotations are split and
    parsed by DuckDB, which starts warm (:class:`._jsonfast.Warmup`). (Parsing the images first
    in this thread, so that the split does not share the GIL with the warm-up, measured slower:
    about 2.1 s against 1.7 s for the whole `imbal summary` of the bench file.)"""
    warmup = fast.Warmup(_ANN_SPEC)
    source = None
    try:
        source = fast.FileBytes(path)
        data = source.data
        starts = {k: fast.find_array(data, k) for k in ("images", "annotations")}
        if starts["images"] is None:
            raise fast.FastPathUnavailable("no `images` array")
        images_body, _ = fast.split_records(data, starts["images"], patch=False)
        with ThreadPoolExecutor(max_workers=1) as pool:
            images_job = pool.submit(_fast_images, images_body)
            big = [(images_body.start, images_body.stop)]
            ann_body = None
            if starts["annotations"] is not None:
                ann_body, _ = fast.split_records(data, starts["annotations"], patch=False)
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
            if ann_body is not None and ann_body.records:
                anns = _fast_annotations(ann_body, warmup)
            else:
                anns = empty_annotations()
            images = images_job.result()
        # every record's text, copied out of the map when first used (see DeferredTexts)
        texts = DeferredTexts([images_body, ann_body], source.guard)
        document = _document(data, [b for b in (images_body, ann_body) if b is not None])
        n_images = images_body.records
        del images_body, ann_body
    finally:
        warmup.close()
        if source is not None:
            source.close()
    names = anns.column("source") if "source" in anns.schema.names else pa.chunked_array([], pa.string())
    names = names.chunk(0) if names.num_chunks == 1 else names.combine_chunks()  # combine_chunks would copy one chunk
    records = FileRecords(document, texts.result, names.cast(pa.string()), n_images, borrow=texts.borrowed)
    return ParsedFile(path, images, anns, small["categories"], small.get("scene_annotations"),
                      small.get("scene_categories"), engine="fast", records=records)


def _document(data, bodies: list[fast.Body]) -> bytes:
    """The file's text with the bodies of its ``images`` and ``annotations`` arrays left out: the
    top-level object with those arrays empty, everything else as written."""
    parts, pos = [], 0
    for body in sorted(bodies, key=lambda b: b.start):
        parts.append(bytes(data[pos : body.start]))
        pos = body.stop
    parts.append(bytes(data[pos:]))
    return b"".join(parts)


def _fast_images(body: fast.Body) -> pa.Table:
    if not body.records:
        return empty_images()
    images = fast.pyarrow_records(body, _KNOWN_IMAGE_SCHEMA)
    if images.column("id").null_count:
        raise fast.FastPathUnavailable("an image has no id")
    return _stringify_timestamps(images)


def _fast_annotations(body: fast.Body, warmup: fast.Warmup) -> pa.Table:
    table = fast.duckdb_records(body, _ANN_SELECT, warmup)
    problem = table.column("problem")
    if problem.null_count != len(problem):
        raise fast.FastPathUnavailable(pc.drop_null(problem)[0].as_py())
    has_seg = _segmentation_present(table.column("polygons"), body, warmup)
    area = table.column("area")
    if area.null_count and (has_seg & area.is_null().to_numpy(zero_copy_only=False)).any():
        raise fast.FastPathUnavailable("a segmentation has no area")  # an RLE one (polygons are checked above)
    columns = {c: table.column(c) for c in ("id", "source", "image_id", "category_id", "x", "y", "w", "h", "area", "iscrowd")}
    return pa.table({**columns, "has_segmentation": pa.array(has_seg),
                     "annotated_at": table.column("annotated_at"), "annotator": table.column("annotator")})


#: Whether a segmentation is an object with something in it (RLE), for records where it is no list.
_OBJECT_SELECT = """SELECT cardinality(from_json(line, '{"segmentation": "MAP(VARCHAR, BOOLEAN)"}').segmentation) > 0
FROM lines"""


def _segmentation_present(polygons: pa.ChunkedArray, body: fast.Body, warmup: fast.Warmup) -> np.ndarray:
    """Which records hold a segmentation with something in it (a non-empty list or object), as
    the per-record path decides. ``polygons``: whether it is a non-empty list, null where it is
    no list; those records (COCO's crowds, or none) are read again for an object."""
    present = pc.fill_null(polygons, False).to_numpy(zero_copy_only=False)
    others = np.flatnonzero(polygons.is_null().to_numpy(zero_copy_only=False))
    if not len(others) or body.data.find(b'"segmentation"', body.start, body.stop) == -1:
        return present
    objects = fast.duckdb_records(body, _OBJECT_SELECT, warmup, rows=others).column(0)
    present[others] = pc.fill_null(objects, False).to_numpy(zero_copy_only=False)
    return present


def _stringify_timestamps(table: pa.Table) -> pa.Table:
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type):
            table = table.set_column(i, f.name, pc.cast(table.column(i), pa.string()))
    return table
