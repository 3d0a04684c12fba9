"""Parsing helpers of the predictions readers (:mod:`.predictions`): one record or cell at a time."""
from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...report import LoadReport

#: Rows of the report listed per image are capped; the counts in ``coverage`` are exact.
MAX_REPORT_ROWS = 1000


def whole(value: Any) -> str | None:
    """An id as text: whole numbers (also ``3.0`` or ``"3"``) without a fraction; None if not an id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def number(value: Any) -> float | None:
    """A finite JSON number as float; None for anything else (booleans, text, NaN, infinities)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return value if math.isfinite(value) else None


def coco_record(rec: Any, cols: dict[str, list], where: str) -> str | None:
    """Append one result to ``cols``; return the problem instead when it cannot be used."""
    if not isinstance(rec, dict):
        return f"record is a {type(rec).__name__}, not an object"
    image, label = whole(rec.get("image_id")), whole(rec.get("category_id"))
    if image is None:
        return f"image_id {rec.get('image_id')!r} is not an id"
    if label is None:
        return f"category_id {rec.get('category_id')!r} is not an id"
    score = number(rec.get("score"))
    if score is None:
        return f"score {rec.get('score')!r} is not a finite number"
    box = rec.get("bbox")
    seg = rec.get("segmentation")
    x = y = w = h = None
    if box is not None and box != []:
        if not isinstance(box, list) or len(box) != 4 or any(number(v) is None for v in box):
            return f"bbox {box!r:.60} is not four finite numbers"
        x, y, w, h = (float(v) for v in box)
    rle = (None, None, None)
    polygons = None
    if seg is not None and seg != []:
        if isinstance(seg, dict):
            rle = parse_rle(seg)
            if rle is None:
                return "segmentation is not an RLE with `size` [height, width] and `counts`"
        elif isinstance(seg, list) and all(isinstance(p, list) and len(p) >= 6 and all(number(v) is not None for v in p) for p in seg):
            polygons = [[float(v) for v in p] for p in seg]
        else:
            return "segmentation is neither an RLE nor a list of polygons"
    if x is None and rle[0] is None and polygons is None:
        return "the record has neither a bbox nor a segmentation"
    cols["image"].append(image)
    cols["label"].append(label)
    cols["score"].append(score)
    for k, v in (("x", x), ("y", y), ("w", w), ("h", h)):
        cols[k].append(v)
    cols["rle_counts"].append(rle[0])
    cols["rle_height"].append(rle[1])
    cols["rle_width"].append(rle[2])
    cols["polygons"].append(polygons)
    cols["record"].append(where)
    return None


def parse_rle(seg: dict) -> tuple[str, int, int] | None:
    """``(compressed counts text, height, width)`` of a COCO RLE (``size`` [h, w], ``counts`` as text
    or a list of runs); None when it is not one."""
    size, counts = seg.get("size"), seg.get("counts")
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
        return None
    h, w = size
    if isinstance(counts, bytes):
        counts = counts.decode("ascii", errors="replace")
    if isinstance(counts, str):
        return counts, h, w
    if isinstance(counts, list) and all(isinstance(v, int) and v >= 0 for v in counts):
        from pycocotools import mask as mask_utils

        compressed = mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
        return compressed["counts"].decode("ascii"), h, w
    return None


def parse_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_scores(raw, column: str, report: LoadReport) -> np.ndarray:
    """A text column of scores as float64 (NaN where empty); a cell that is not a finite number is reported."""
    values = pc.cast(raw.table.column(column), pa.string())
    try:  # the usual case: every cell a number, parsed by Arrow in one pass
        out = pc.cast(pc.utf8_trim_whitespace(values), pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
        if np.isfinite(out[~np.isnan(out)]).all():
            return out
    except pa.ArrowInvalid:
        pass
    out = np.array([parse_float(v) if v is not None else None for v in values.to_pylist()], dtype=np.float64)
    bad = np.isnan(out) & pc.is_valid(values).to_numpy(zero_copy_only=False)
    if bad.any():
        rec = raw.records.to_pylist()
        for i in np.flatnonzero(bad)[:MAX_REPORT_ROWS]:
            report.add(raw.file, rec[i], "bad_score", f"`{column}` {values[i].as_py()!r} is not a number", "left empty")
    return out


def first_per_image(table: pa.Table) -> tuple[pa.Table, dict[str, int]]:
    images = table.column("image").to_pylist()
    seen: set[str] = set()
    keep = np.ones(len(images), dtype=bool)
    dup: Counter = Counter()
    for i, key in enumerate(images):
        if key in seen:
            keep[i] = False
            dup[key] += 1
        else:
            seen.add(key)
    return (table if keep.all() else table.filter(pa.array(keep))), dict(dup)
