"""Pixel counts: polygon areas and RLE runs by hand, parity with pycocotools on real COCO, tiles."""
from __future__ import annotations

import contextlib
import io
import json
import math

import numpy as np
import pyarrow as pa
import pytest
from pycocotools import mask as mask_utils

from imbal_core.io.coco import segmentations as coco_segmentations
from imbal_core.pixels import (
    MAX_RLES_PER_CALL, coco_pixel_counts, label_tile_counts, polygon_areas, read_segmentations, rle_areas,
    rle_run_areas, tile_grid, tile_sums, tiles_from_coco, tiles_from_masks,
)
from imbal_core.report import LoadReport
from imbal_core.samples import sample_root

LANES = sample_root() / "lanes"
SQUARE = [0, 0, 2, 0, 2, 2, 0, 2]  # 2 x 2


@pytest.mark.parametrize(
    "polygons, expected",
    [
        ([SQUARE], 4.0),
        ([SQUARE[::-1]], 4.0),  # clockwise: same area
        ([[0, 0, 4, 0, 0, 3]], 6.0),  # right triangle 4 x 3
        ([SQUARE, [10, 10, 13, 10, 13, 11, 10, 11]], 7.0),  # two parts of one object are summed
        ([[0, 0, 4, 0, 4, 4, 2, 1, 0, 4]], 10.0),  # concave: 16 minus the notch, a triangle of base 4, height 3
        (None, 0.0),
        ([], 0.0),
        ([[0, 0, 1, 0, 1]], math.nan),  # odd number of coordinates: malformed
        ([[0, 0, 1, 1]], math.nan),  # two points are not a polygon
    ],
)
def test_polygon_areas_by_hand(polygons, expected):
    column = pa.array([polygons, [SQUARE]], pa.list_(pa.list_(pa.float64())))
    got = polygon_areas(column)
    assert got[1] == 4.0  # the next row is unaffected by a malformed one
    assert (math.isnan(got[0]) and math.isnan(expected)) or got[0] == pytest.approx(expected)


def test_polygon_areas_of_sliced_and_chunked_columns():
    column = pa.chunked_array([pa.array([[SQUARE]], pa.list_(pa.list_(pa.float64()))),
                               pa.array([[[0, 0, 4, 0, 0, 3]], None], pa.list_(pa.list_(pa.float64())))])
    assert polygon_areas(column).tolist() == [4.0, 6.0, 0.0]
    assert polygon_areas(column.combine_chunks().slice(1)).tolist() == [6.0, 0.0]
    assert len(polygon_areas(pa.array([], pa.list_(pa.list_(pa.float64()))))) == 0


def test_rle_runs_sum_the_ones():
    runs = pa.array([[3, 2, 4, 1], [0, 5], None, [7]], pa.list_(pa.int64()))  # zeros first, then ones, ...
    assert rle_run_areas(runs).tolist() == [3.0, 5.0, 0.0, 0.0]


def test_rle_areas_are_chunked_beyond_255():
    rng = np.random.default_rng(4)
    masks = (rng.random((12, 9, 3 * MAX_RLES_PER_CALL + 17)) < 0.3).astype(np.uint8)
    rles = mask_utils.encode(np.asfortranarray(masks))
    assert rle_areas(rles).tolist() == masks.sum(axis=(0, 1)).astype(float).tolist()
    assert len(rle_areas([])) == 0


def reference_areas(path):
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
    return coco, {a["id"]: float(mask_utils.area(coco.annToRLE(a))) for a in coco.dataset["annotations"]}


def as_dict(counts):
    return dict(zip(counts.table.column("id").to_pylist(), counts.table.column("pixels").to_pylist()))


@pytest.mark.realdata
def test_parity_with_pycocotools_on_coco_val2014(realdata):
    path = realdata / "coco_val2014_100" / "instances_val2014_100.json"
    coco, reference = reference_areas(path)
    segs = read_segmentations(path)
    raster = coco_pixel_counts(path, "raster", segmentations=segs)
    polygon = coco_pixel_counts(path, "polygon", segmentations=segs)
    assert as_dict(raster) == reference  # the reference path is pycocotools itself, annotation by annotation
    crowd = [a["id"] for a in coco.dataset["annotations"] if a["iscrowd"]]
    assert len(crowd) == 9 and all(as_dict(polygon)[i] == reference[i] for i in crowd)  # RLE runs are exact
    assert polygon.total == pytest.approx(raster.total, rel=1e-3)  # polygons: within 0.1% of the raster count
    big = {r["category_id"]: r["pixels"] for r in raster.per_class().to_pylist() if r["pixels"] > 50_000}
    fast = {r["category_id"]: r["pixels"] for r in polygon.per_class().to_pylist()}
    assert big and all(fast[c] == pytest.approx(p, rel=5e-3) for c, p in big.items())
    assert set(polygon.table.column("kind").to_pylist()) == {"polygon", "rle"}


def test_lanes_sample_raster_matches_its_area_field_and_polygons_agree():
    path = LANES / "annotations.json"
    doc = json.loads(path.read_text())
    exported = {a["id"]: float(a["area"]) for a in doc["annotations"]}
    raster = coco_pixel_counts(path, "raster")
    assert as_dict(raster) == exported  # the generator wrote pycocotools' areas
    polygon = coco_pixel_counts(path, "polygon")
    assert polygon.total == pytest.approx(raster.total, rel=1e-3)
    assert polygon.to_dict()["method"] == "polygon" and len(polygon.per_class()) == 6


def test_the_per_record_path_reads_the_same_columns(monkeypatch):
    path = LANES / "annotations.json"
    fast = read_segmentations(path)
    calls = []

    def fail(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("forced")  # as DuckDB does on input its strict parse refuses

    monkeypatch.setattr(coco_segmentations, "_read_fast", fail)
    slow = read_segmentations(path)
    assert len(calls) == 1  # the fast path was tried, then the per-record path gave these tables
    assert fast[0].equals(slow[0])
    assert fast[1].column("id").to_pylist() == slow[1].column("id").to_pylist()


def test_malformed_segmentations_are_reported(tmp_path):
    doc = {"images": [{"id": 1, "width": 10, "height": 10}], "categories": [{"id": 1, "name": "a"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [["x", 1, 2]]},
                           {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 1, 0, 1]]},
                           {"id": 3, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 4, 0, 4, 4, 0, 4]]}]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    report = LoadReport()
    counts = coco_pixel_counts(path, "polygon", report=report)
    assert as_dict(counts) == {1: None, 2: None, 3: 16.0}
    assert [(r.record, r.code) for r in report] == [("1", "bad_segmentation"), ("2", "bad_segmentation")]
    with pytest.raises(ValueError, match=r"`method` must be one of \['raster', 'polygon'\]. Got 'exact' instead."):
        coco_pixel_counts(path, "exact")


# --------------------------------------------------------------------------- tiles


def test_tile_counts_by_hand():
    labels = np.array([[0, 0, 1, 1, 2],
                       [0, 3, 1, 1, 2],
                       [3, 3, 3, 255, 2]])
    counts = label_tile_counts(labels, n_classes=4, tile_size=2)  # 2 x 3 tiles; 255 is no class
    assert counts.shape == (2, 3, 4)
    assert counts[0, 0].tolist() == [3, 0, 0, 1] and counts[0, 1].tolist() == [0, 4, 0, 0]
    assert counts[0, 2].tolist() == [0, 0, 2, 0] and counts[1, 1].tolist() == [0, 0, 0, 1]
    assert counts.sum() == labels.size - 1
    assert tile_sums(labels == 3, 2).tolist() == [[1, 0, 0], [2, 1, 0]]
    assert tile_grid(720, 1280, 512) == (2, 3)


@pytest.mark.parametrize("size", [0, -512, 2.5, True])
def test_tile_size_is_validated(size):
    with pytest.raises(ValueError, match=rf"`tile_size` must be a whole number of pixels, at least 1. Got {size!r} instead."):
        tile_grid(10, 10, size)


def test_lane_tiles_from_polygons_and_from_masks_agree():
    coco = tiles_from_coco(LANES / "annotations.json", 512)
    masks = tiles_from_masks(LANES / "masks", 256)  # the masks are at half resolution: the same tiles
    assert coco.tiles == masks.tiles == 150 * 6
    from_coco = {r["class"]: r["tiles"] for r in coco.presence().to_pylist()}
    from_masks = {r["class"]: r["tiles"] for r in masks.presence().to_pylist()}
    assert from_coco["lane_solid"] == from_masks["lane_solid"] == 759
    assert all(abs(from_coco[c] - from_masks[c]) <= 2 for c in from_coco)  # drawing differs at the edges
    total = {r["class"]: r["pixels"] for r in coco.presence().to_pylist()}
    assert total["lane_dashed"] == 109_697  # the tiles hold every pixel of the class
    assert coco.presence(min_pixels=1000).column("tiles").to_pylist()[0] <= 807
    with pytest.raises(ValueError, match="`min_pixels` must be at least 1. Got 0 instead."):
        coco.presence(min_pixels=0)
