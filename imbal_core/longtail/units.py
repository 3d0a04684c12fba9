"""The units a class is counted in (images, instances, pixels) and what ``pixels`` means for a dataset.

Decides whether ``pixels`` counts mask pixels, box areas (an approximation for box-only data) or
nothing (classification, normalised boxes), and how each unit is named on screen.
"""
from __future__ import annotations

from typing import Literal

import numpy as np

from ..cube import cube, is_count_source
from ..dataset import Dataset
from ..types import UNITS, Unit

#: What the ``pixels`` unit counts: mask pixels, box areas (approximation), or nothing.
PixelSource = Literal["masks", "boxes", "none"]


def pixel_source(dataset: Dataset) -> PixelSource:
    """``masks`` when annotations carry pixel counts, ``boxes`` when they carry boxes of images of
    known size (box area stands in), else ``none`` (classification, or only normalised boxes).

    A lake keeps no boxes: there ``pixels`` is ``masks`` when some annotation has a pixel count
    (or it has none, of a segmentation task), else ``none``."""
    if dataset.task == "classification":
        return "none"
    if is_count_source(dataset):
        if dataset.num_annotations == 0:
            return "masks" if dataset.task == "segmentation" else "none"
        totals = cube(dataset, ())
        return "masks" if totals.column("pixels").null_count < totals.num_rows else "none"
    anns = dataset.annotations
    if anns.num_rows == 0:
        return "masks" if dataset.task == "segmentation" else "boxes"
    if anns.column("pixels").null_count < anns.num_rows:
        return "masks"
    areas = _box_areas(dataset)
    return "boxes" if np.isfinite(areas).any() else "none"


def available_units(dataset: Dataset) -> tuple[Unit, ...]:
    """The units this dataset can be counted in (``pixels`` needs masks or sized boxes)."""
    return UNITS if pixel_source(dataset) != "none" else ("images", "instances")


def unit_label(unit: Unit, source: PixelSource = "masks") -> str:
    """How a unit is named on screen: ``pixels`` of box-only data is ``box area (px²)`` — an
    approximation of the pixels, which the page says next to it."""
    if unit == "pixels":
        return {"masks": "pixels", "boxes": "box area (px²)", "none": "pixels (not available)"}[source]
    return unit


def _box_areas(dataset: Dataset) -> np.ndarray:
    """w x h in pixels per annotation; NaN where there is no box or the image size is unknown
    (then boxes are normalised, see :mod:`imbal_core.dataset`)."""
    anns = dataset.annotations
    w = anns.column("w").to_numpy(zero_copy_only=False).astype(np.float64)
    h = anns.column("h").to_numpy(zero_copy_only=False).astype(np.float64)
    image = anns.column("image_id").to_numpy()
    width = dataset.images.column("width").to_numpy(zero_copy_only=False).astype(np.float64)
    sized = ~np.isnan(width)[image] if len(image) else np.zeros(0, bool)
    with np.errstate(invalid="ignore"):
        area = np.where(sized & (w > 0) & (h > 0), w * h, np.nan)
    return area
