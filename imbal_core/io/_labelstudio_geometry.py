"""Label Studio region results -> boxes: percentages to pixels, rotation, polygon area.

Label Studio stores a rectangle as ``x``, ``y``, ``width``, ``height`` in percent of the image
(``original_width`` / ``original_height`` in pixels), turned by ``rotation`` degrees clockwise
about its top-left corner; a polygon as ``points``, ``[x, y]`` pairs in percent. Without the
image size the results are normalised to 0..1 instead of pixels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..report import excerpt
from .files import as_float, is_number

REGION_TYPES = ("rectanglelabels", "polygonlabels")
BOX_KEYS = ("x", "y", "width", "height")
MAX_SIDE = 2**31 - 1  # image sides are int32 in the canonical schema

Box = tuple[float, float, float, float]
Size = tuple[float, float]


class BadResult(ValueError):
    """A result that cannot be used: ``code`` for the report, the message says what was found."""

    def __init__(self, code: str, problem: str):
        super().__init__(problem)
        self.code = code
        self.problem = problem


@dataclass(frozen=True)
class Region:
    box: Box  # x, y (top-left), w, h: pixels, or 0..1 when the size is unknown
    pixels: float | None  # polygon area in pixels; None for rectangles and unknown sizes
    rotation: float = 0.0  # degrees; non-zero means ``box`` bounds a rotated rectangle


def number(value: Any) -> float | None:
    """A number (or numeric text) as float; None for anything else, and for ints too big for a float."""
    try:
        return as_float(value)
    except OverflowError:
        return None


def result_size(result: dict[str, Any]) -> Size | None:
    """``original_width`` x ``original_height`` when both are positive finite numbers."""
    w, h = number(result.get("original_width")), number(result.get("original_height"))
    ok = w is not None and h is not None and 0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE
    return (w, h) if ok else None


def labels_of(value: Any) -> list[str]:
    """Label names from a ``rectanglelabels`` / ``choices`` list (a lone string is one label)."""
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [v for v in values if isinstance(v, str) and v.strip()]


def region(kind: str, value: dict[str, Any], size: Size | None) -> Region:
    """The box (and polygon area) of a ``rectanglelabels`` or ``polygonlabels`` value."""
    sx, sy = (size[0] / 100, size[1] / 100) if size else (0.01, 0.01)
    if kind == "rectanglelabels":
        nums = [number(value.get(k)) for k in BOX_KEYS]
        rotation = number(value.get("rotation", 0))
        if None in nums or rotation is None or not math.isfinite(rotation):
            found = ", ".join(f"{k}={excerpt(value.get(k), 40)}" for k in (*BOX_KEYS, "rotation") if k in value) or "nothing"
            raise BadResult("bad_box", f"rectangle needs numbers x, y, width, height; got {found}")
        box = (nums[0] * sx, nums[1] * sy, nums[2] * sx, nums[3] * sy)
        if rotation % 360 and all(math.isfinite(v) for v in box):
            return Region(rotated_bounds(*box, rotation), None, rotation)
        return Region(box, None)
    points = value.get("points")
    if not (isinstance(points, list) and len(points) >= 3 and all(_is_point(p) for p in points)):
        raise BadResult("bad_polygon", f"polygon needs at least 3 [x, y] pairs of finite numbers; got {excerpt(points, 60)}")
    xs, ys = [float(p[0]) * sx for p in points], [float(p[1]) * sy for p in points]
    box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    return Region(box, shoelace(xs, ys) if size else None)


def _is_point(p: Any) -> bool:
    if not (isinstance(p, list) and len(p) == 2 and all(is_number(v) for v in p)):
        return False
    coords = [number(v) for v in p]
    return all(v is not None and math.isfinite(v) for v in coords)


def shoelace(xs: list[float], ys: list[float]) -> float:
    """Area of the polygon through the points, in the units of the coordinates squared."""
    return abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs)))) / 2


def rotated_bounds(x: float, y: float, w: float, h: float, degrees: float) -> Box:
    """Axis-aligned box around a rectangle turned clockwise (y points down) about its top-left corner."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    corners = [(x + dx * c - dy * s, y + dx * s + dy * c) for dx, dy in ((0, 0), (w, 0), (w, h), (0, h))]
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)
