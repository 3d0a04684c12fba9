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
    :mod:`.segmentations`   reading a COCO file's segmentations into Arrow columns (:func:`read_segmentations`)
    :mod:`.counts`          pixels per annotation by either method (:func:`coco_pixel_counts`,
                            :class:`PixelCounts`) and each annotation's RLE (:func:`annotation_rles`)
    :mod:`.tiles`           the tile grid, per-tile sums and :class:`TileCounts` from COCO or mask PNGs

Every name of the former single module ``imbal_core/pixels.py`` still imports from here, the
private helpers included.
"""
from .areas import MAX_RLES_PER_CALL, _drop_odd_tails, _one_array, polygon_areas, rle_areas, rle_run_areas
from .counts import (METHODS, Method, PixelCounts, _image_sizes, _raster_areas, _text_rles, annotation_rles,
                     coco_pixel_counts)
from .segmentations import (_SEG_SELECT, _SEG_SPEC, SEGMENTATION_SCHEMA, _no_images, _number, _read_fast,
                            _read_python, _segmentation_parts, log, read_segmentations)
from .tiles import (DEFAULT_TILE, TileCounts, _add_tiles, _check_tile, _tile_sums01, _tile_table, label_tile_counts,
                    tile_grid, tile_sums, tiles_from_coco, tiles_from_masks)

__all__ = [
    "DEFAULT_TILE", "MAX_RLES_PER_CALL", "METHODS", "Method", "PixelCounts", "SEGMENTATION_SCHEMA", "TileCounts",
    "annotation_rles", "coco_pixel_counts", "label_tile_counts", "polygon_areas", "read_segmentations", "rle_areas",
    "rle_run_areas", "tile_grid", "tile_sums", "tiles_from_coco", "tiles_from_masks",
]
