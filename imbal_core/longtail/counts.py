"""Per-class counts by split in every unit (:func:`class_split_counts`), over all images or a condition subset.

Read from the count cube; for box-only data the ``pixels`` column is filled with summed box areas.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..cube import cube
from ..dataset import Dataset
from .units import _box_areas, pixel_source


def _check_where(dataset: Dataset, where: Mapping[str, Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    if not where:
        return {}
    out = {}
    for key, values in where.items():
        if key not in dataset.conditions:
            raise ValueError(f"`where` may name the conditions {list(dataset.conditions)}. Got {key!r} instead.")
        if isinstance(values, str):
            values = (values,)
        values = tuple(str(v) for v in values)
        if not values:
            raise ValueError(f"`where[{key!r}]` must name at least one value.")
        out[key] = values
    return out


def _subset_mask(table: pa.Table, where: dict[str, tuple[str, ...]]) -> pa.Array | None:
    mask = None
    for key, values in where.items():
        col = table.column(key)
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        m = pc.fill_null(pc.is_in(col, value_set=pa.array(values, pa.string())), False)
        mask = m if mask is None else pc.and_(mask, m)
    return mask


def class_split_counts(dataset: Dataset, where: Mapping[str, Sequence[str]] | None = None) -> pa.Table:
    """Every declared class x every split: ``class``, ``split``, ``images``, ``instances``, ``pixels``.

    Zeros are filled (a class absent from a split has a row with 0). ``pixels`` holds mask pixels,
    or box areas for box-only data (see :func:`pixel_source`), null when neither exists.
    ``where`` ({condition: values}) keeps only images whose condition is one of the values,
    e.g. ``{"time_of_day": ["night"]}``.
    """
    where = _check_where(dataset, where)
    dims = ("split", *where)
    table = cube(dataset, dims)
    source = pixel_source(dataset)
    mask = _subset_mask(table, where)
    if mask is not None:
        table = table.filter(mask)
    grouped = table.group_by(["split", "class"], use_threads=False).aggregate(
        [("images", "sum"), ("instances", "sum"), ("pixels", "sum", pc.ScalarAggregateOptions(min_count=1))]
    )
    cells = {
        (s, c): (i, n, p)
        for s, c, i, n, p in zip(*(grouped.column(k).to_pylist() for k in
                                   ("split", "class", "images_sum", "instances_sum", "pixels_sum")))
    }
    if source == "boxes":
        cells = _with_box_areas(dataset, cells, where)
    splits = list(dataset.splits)
    names = dataset.class_names
    rows: dict[str, list[Any]] = {"class": [], "split": [], "images": [], "instances": [], "pixels": []}
    for name in names:
        for split in splits:
            images, instances, pixels = cells.get((split, name), (0, 0, None))
            rows["class"].append(name)
            rows["split"].append(split)
            rows["images"].append(int(images))
            rows["instances"].append(int(instances))
            rows["pixels"].append(None if pixels is None else float(pixels))
    if source != "none":  # a class with no data has 0 pixels, not an unknown count
        rows["pixels"] = [0.0 if p is None else p for p in rows["pixels"]]
    return pa.table({
        "class": pa.array(rows["class"], pa.string()),
        "split": pa.array(rows["split"], pa.string()),
        "images": pa.array(rows["images"], pa.int64()),
        "instances": pa.array(rows["instances"], pa.int64()),
        "pixels": pa.array(rows["pixels"], pa.float64()),
    })


def _with_box_areas(dataset: Dataset, cells: dict, where: dict[str, tuple[str, ...]]) -> dict:
    """Replace the (null) pixel counts by summed box areas, per (split, class)."""
    area = _box_areas(dataset)
    image = dataset.annotations.column("image_id")
    cols = {"category_id": dataset.annotations.column("category_id"), "area": pa.array(area, mask=np.isnan(area))}
    for d in ("split", *where):
        col = dataset.images.column(d).combine_chunks()
        cols[d] = pc.take(col.dictionary_decode() if pa.types.is_dictionary(col.type) else col, image)
    table = pa.table(cols)
    mask = _subset_mask(table, where)
    if mask is not None:
        table = table.filter(mask)
    grouped = table.group_by(["split", "category_id"], use_threads=False).aggregate(
        [("area", "sum", pc.ScalarAggregateOptions(min_count=1))])
    names = dataset.class_names
    out = dict(cells)
    for s, c, a in zip(*(grouped.column(k).to_pylist() for k in ("split", "category_id", "area_sum"))):
        images, instances, _ = out.get((s, names[c]), (0, 0, None))
        out[(s, names[c])] = (images, instances, a)
    return out
