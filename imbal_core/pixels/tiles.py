"""Class pixels per tile: each image cut into ``tile_size`` x ``tile_size`` tiles (edge tiles smaller),
the pixels of each class counted per tile, from COCO masks (:func:`tiles_from_coco`, from the
records the COCO reader kept) or from
semantic-mask PNGs (:func:`tiles_from_masks`), and the per-class tile presence (:class:`TileCounts`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import Dataset
from ..report import LoadReport
from .counts import annotation_rles, export_name

DEFAULT_TILE = 512


def tile_grid(height: int, width: int, tile_size: int = DEFAULT_TILE) -> tuple[int, int]:
    """(rows, columns) of tiles covering an image; edge tiles are smaller."""
    _check_tile(tile_size)
    return -(-int(height) // tile_size), -(-int(width) // tile_size)


def _check_tile(tile_size: int) -> None:
    if isinstance(tile_size, bool) or not isinstance(tile_size, (int, np.integer)) or tile_size < 1:
        raise ValueError(f"`tile_size` must be a whole number of pixels, at least 1. Got {tile_size!r} instead.")


def tile_sums(mask: np.ndarray, tile_size: int = DEFAULT_TILE) -> np.ndarray:
    """Pixels set in each tile of a binary mask (H x W): an array (tile rows, tile columns)."""
    _check_tile(tile_size)
    h, w = mask.shape
    if h == 0 or w == 0:
        return np.zeros((0, 0), np.int64)
    return _tile_sums01(mask != 0, tile_size)


def _tile_sums01(mask: np.ndarray, tile_size: int) -> np.ndarray:
    """:func:`tile_sums` of a mask known to hold only 0 and 1 (pycocotools' decode): no copy."""
    h, w = mask.shape
    rows = np.add.reduceat(mask, np.arange(0, h, tile_size), axis=0, dtype=np.int64)
    return np.add.reduceat(rows, np.arange(0, w, tile_size), axis=1)


def label_tile_counts(labels: np.ndarray, n_classes: int, tile_size: int = DEFAULT_TILE) -> np.ndarray:
    """Pixels of each class index in each tile of a label map (H x W of class indices):
    an array (tile rows, tile columns, ``n_classes``); indices outside 0..n_classes-1 are ignored."""
    _check_tile(tile_size)
    h, w = labels.shape
    ty, tx = tile_grid(h, w, tile_size)
    rows = (np.arange(h) // tile_size)[:, None]
    cols = (np.arange(w) // tile_size)[None, :]
    tile = (rows * tx + cols).ravel()
    flat = labels.ravel().astype(np.int64)
    ok = (flat >= 0) & (flat < n_classes)
    counts = np.bincount(tile[ok] * n_classes + flat[ok], minlength=ty * tx * n_classes)
    return counts.reshape(ty, tx, n_classes)


@dataclass(frozen=True)
class TileCounts:
    """Class pixels per tile: ``image`` (the export's image id or mask name), ``tile_row``,
    ``tile_col``, ``x0``, ``y0`` (the tile's top-left corner), ``class`` and ``pixels``
    (only tiles where the class has pixels). ``tiles`` is the number of tiles of all images."""

    tile_size: int
    tiles: int
    images: int
    table: pa.Table

    def presence(self, min_pixels: int = 1) -> pa.Table:
        """Per class: ``tiles`` holding at least ``min_pixels`` of it, their ``share`` of all
        tiles, ``images`` with such a tile, and ``pixels`` in them."""
        if min_pixels < 1:
            raise ValueError(f"`min_pixels` must be at least 1. Got {min_pixels} instead.")
        t = self.table.filter(pc.greater_equal(self.table.column("pixels"), min_pixels))
        g = t.group_by("class", use_threads=False).aggregate(
            [("pixels", "count"), ("image", "count_distinct"), ("pixels", "sum")])
        g = g.rename_columns(["class", "tiles", "images", "pixels"])
        share = pc.divide(pc.cast(g.column("tiles"), pa.float64()), float(max(self.tiles, 1)))
        return g.append_column("share", share).select(["class", "tiles", "share", "images", "pixels"]).sort_by(
            [("tiles", "descending"), ("class", "ascending")])

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self):
        return self.table.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {"tile_size": self.tile_size, "tiles": self.tiles, "images": self.images,
                "presence": self.presence().to_pylist()}


def _tile_table(records: dict[str, list]) -> pa.Table:
    return pa.table({
        "image": pa.array(records["image"], pa.string()),
        "tile_row": pa.array(records["tile_row"], pa.int32()),
        "tile_col": pa.array(records["tile_col"], pa.int32()),
        "x0": pa.array(records["x0"], pa.int32()),
        "y0": pa.array(records["y0"], pa.int32()),
        "class": pa.array(records["category"], pa.string()),
        "pixels": pa.array(records["pixels"], pa.int64()),
    })


def _add_tiles(records: dict[str, list], image: str, category: str, sums: np.ndarray, tile_size: int) -> None:
    rows, cols = np.nonzero(sums)
    n = len(rows)
    records["image"] += [image] * n
    records["tile_row"] += rows.tolist()
    records["tile_col"] += cols.tolist()
    records["x0"] += (cols * tile_size).tolist()
    records["y0"] += (rows * tile_size).tolist()
    records["category"] += [category] * n
    records["pixels"] += sums[rows, cols].tolist()


def tiles_from_coco(source: Dataset | str | Path, tile_size: int = DEFAULT_TILE,
                    report: LoadReport | None = None) -> TileCounts:
    """Per-tile class pixels of a COCO segmentation export: the masks of one class in one image
    are merged (union), decoded once and summed per tile. ``source``: a dataset read from COCO
    (the records its reader kept: no file is read), or a COCO file's path, read by the COCO
    reader first."""
    from pycocotools import mask as mask_utils

    from ..io.coco import segmentations as io_segmentations
    from ..io.coco import read_coco

    _check_tile(tile_size)
    report = report if report is not None else LoadReport()
    dataset = source if isinstance(source, Dataset) else read_coco([source], LoadReport())
    records = io_segmentations.records_of(dataset)
    path = str(source) if not isinstance(source, Dataset) else export_name(dataset)
    segs, images = io_segmentations.segmentations(records, report, path)
    names = io_segmentations.category_names(records)
    rles = annotation_rles(segs, images, None, path, report)
    image_ids = segs.column("image_id").to_numpy()
    categories = segs.column("category_id").to_numpy()
    groups: dict[tuple[int, int], list[dict]] = {}
    for row, rle in rles.items():
        groups.setdefault((int(image_ids[row]), int(categories[row])), []).append(rle)
    heights, widths = images.column("height").to_numpy(zero_copy_only=False), images.column("width").to_numpy(zero_copy_only=False)
    tiles = 0
    for h, w in zip(heights, widths):
        if h > 0 and w > 0:
            ty, tx = tile_grid(int(h), int(w), tile_size)
            tiles += ty * tx
    records: dict[str, list] = {k: [] for k in ("image", "tile_row", "tile_col", "x0", "y0", "category", "pixels")}
    for (image_id, category_id), parts in sorted(groups.items()):
        merged = parts[0] if len(parts) == 1 else mask_utils.merge(parts)
        with warnings.catch_warnings():  # pycocotools' decode predates NumPy 2's copy keyword; harmless
            warnings.simplefilter("ignore", DeprecationWarning)
            decoded = mask_utils.decode(merged)
        sums = _tile_sums01(decoded, tile_size)
        _add_tiles(records, str(image_id), names.get(category_id, str(category_id)), sums, tile_size)
    return TileCounts(tile_size, tiles, images.num_rows, _tile_table(records))


def tiles_from_masks(path: str | Path, tile_size: int = DEFAULT_TILE, report: LoadReport | None = None,
                     **options: Any) -> TileCounts:
    """Per-tile class pixels of a folder of semantic-mask PNGs (see :mod:`imbal_core.io.masks`;
    ``options`` go to its layout: ``classes``, ``ignore_index``, ``background``). Streamed image by image."""
    from ..io.masks import iter_masks

    _check_tile(tile_size)
    report = report if report is not None else LoadReport()
    records: dict[str, list] = {k: [] for k in ("image", "tile_row", "tile_col", "x0", "y0", "category", "pixels")}
    tiles = images = 0
    for item in iter_masks([Path(path)], report, **options):
        images += 1
        # strips of whole tile rows, so that a 20000 x 20000 mask is never widened to int64 at once
        strips = item.image.strips(align=tile_size)
        parts = [label_tile_counts(strip, len(item.names), tile_size) for _, strip in strips]
        counts = np.concatenate(parts, axis=0) if parts else np.zeros((0, 0, len(item.names)), np.int64)
        tiles += counts.shape[0] * counts.shape[1]
        for index in item.counted:
            if counts[:, :, index].any():
                _add_tiles(records, item.name, item.names[index], counts[:, :, index], tile_size)
    return TileCounts(tile_size, tiles, images, _tile_table(records))
