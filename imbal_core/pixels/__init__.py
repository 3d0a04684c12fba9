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

Parts, one idea each:
    :mod:`.areas`           the area arithmetic: pycocotools' RLE area in chunks (:func:`rle_areas`), the
                            vectorised polygon and run-length areas over Arrow columns
    :mod:`.counts`          pixels per annotation by either method (:func:`coco_pixel_counts`,
                            :class:`PixelCounts`) and each annotation's RLE (:func:`annotation_rles`)
    :mod:`.tiles`           the tile grid, per-tile sums and :class:`TileCounts` from COCO or mask PNGs

The segmentations come from the records the COCO reader kept (:attr:`imbal_core.Dataset.records`),
read into Arrow columns by :mod:`imbal_core.io.coco.segmentations` (a reader: it lives in ``io``;
``read_segmentations`` and ``SEGMENTATION_SCHEMA`` are imported here too). Nothing in this
package opens a file but the mask PNGs of :func:`tiles_from_masks`, through :mod:`imbal_core.io.masks`.
"""
from ..io.coco.segmentations import SEGMENTATION_SCHEMA, read_segmentations, segmentations
from .areas import MAX_RLES_PER_CALL, _drop_odd_tails, _one_array, polygon_areas, rle_areas, rle_run_areas
from .counts import (METHODS, Method, PixelCounts, _image_sizes, _raster_areas, _text_rles, annotation_rles,
                     coco_pixel_counts)
from .tiles import (DEFAULT_TILE, TileCounts, _add_tiles, _check_tile, _tile_sums01, _tile_table, label_tile_counts,
                    tile_grid, tile_sums, tiles_from_coco, tiles_from_masks)

__all__ = [
    "DEFAULT_TILE", "MAX_RLES_PER_CALL", "METHODS", "Method", "PixelCounts", "SEGMENTATION_SCHEMA", "TileCounts",
    "annotation_rles", "coco_pixel_counts", "label_tile_counts", "polygon_areas", "read_segmentations", "rle_areas",
    "rle_run_areas", "segmentations", "tile_grid", "tile_sums", "tiles_from_coco", "tiles_from_masks",
]
