"""Pixel counts of COCO masks as numbers: pycocotools' RLE area in safe chunks, and the vectorised
polygon (shoelace) and uncompressed-RLE (sum of runs) areas over whole Arrow columns.

Pure arithmetic on arrays: no files, no reports. Used by :mod:`.counts`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: pycocotools' ``mask.area`` overflows beyond 255 RLEs in one call.
MAX_RLES_PER_CALL = 255


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
