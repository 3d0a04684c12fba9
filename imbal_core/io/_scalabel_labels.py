"""One Scalabel label: its shape (``box2d`` / ``poly2d``), flags and other attributes, checked.

Used by :mod:`.scalabel`. Pure functions of one label's JSON: they return what they found and a
problem text for what they could not use; the reader reports.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..report import excerpt
from .files import is_number

#: Per-label attributes read as flags (keys matched without regard to case).
FLAGS = ("occluded", "truncated", "crowd")
#: Label keys that hold a shape this reader does not count.
OTHER_SHAPES = ("box3d", "graph", "rle", "cube", "plane3d", "poly3d")
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


class BadShape(ValueError):
    """A shape that cannot be read; the message says why (no file or record in it)."""


@dataclass(frozen=True)
class Shape:
    """A label's box (x, y, w, h in pixels), its pixel count (closed polygons only) and whether
    it is a region (a polygon) rather than a box or a line."""

    box: tuple[float, float, float, float]
    pixels: float | None
    polygon: bool


def shape(label: dict[str, Any]) -> Shape | None:
    """The label's shape; None when it has neither ``box2d`` nor ``poly2d``; :class:`BadShape`
    when one is there but malformed. With both, the box is ``box2d`` and the pixels ``poly2d``'s."""
    box = label.get("box2d")
    polys = label.get("poly2d")
    if box is None and polys is None:
        return None
    parsed_box = _box2d(box) if box is not None else None
    if polys is None:
        return Shape(parsed_box, None, False)
    extent, pixels = _poly2d(polys)
    return Shape(parsed_box or extent, pixels, pixels is not None)


def _box2d(box: Any) -> tuple[float, float, float, float]:
    if not isinstance(box, dict):
        raise BadShape(f"box2d is {excerpt(box)}, not an object with x1, y1, x2, y2")
    values = [box.get(k) for k in ("x1", "y1", "x2", "y2")]
    if not all(is_number(v) for v in values):
        found = ", ".join(f"{k}={excerpt(v, 20)}" for k, v in zip(("x1", "y1", "x2", "y2"), values))
        raise BadShape(f"box2d has a missing or non-numeric coordinate: {found}")
    x1, y1, x2, y2 = (_float(v) for v in values)
    return x1, y1, x2 - x1, y2 - y1  # as written: no +1 for inclusive pixel ends


def _float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float
        raise BadShape(f"coordinate {excerpt(value, 40)} is too large") from None


def _poly2d(polys: Any) -> tuple[tuple[float, float, float, float], float | None]:
    """The extent of every vertex and the summed area of the closed polygons (None if none is)."""
    if isinstance(polys, dict):
        polys = [polys]
    if not isinstance(polys, list) or not polys:
        raise BadShape(f"poly2d is {excerpt(polys)}, not a list of polygons")
    xs: list[float] = []
    ys: list[float] = []
    area, closed_any = 0.0, False
    for index, poly in enumerate(polys):
        vertices = poly.get("vertices") if isinstance(poly, dict) else None
        if not isinstance(vertices, list) or not vertices:
            raise BadShape(f"poly2d[{index}] has no list of vertices")
        points = []
        for vertex in vertices:
            if not (isinstance(vertex, list) and len(vertex) == 2 and all(is_number(v) for v in vertex)):
                raise BadShape(f"poly2d[{index}] has a vertex {excerpt(vertex, 40)} that is not [x, y]")
            points.append((_float(vertex[0]), _float(vertex[1])))
        xs += [p[0] for p in points]
        ys += [p[1] for p in points]
        if poly.get("closed", True) is not False:
            closed_any = True
            area += abs(sum(points[i - 1][0] * points[i][1] - points[i][0] * points[i - 1][1]
                            for i in range(len(points)))) / 2
    x, y = min(xs), min(ys)
    return (x, y, max(xs) - x, max(ys) - y), (area if closed_any else None)


def other_shape(label: dict[str, Any]) -> str:
    """What a label without box2d / poly2d holds instead (for the report)."""
    return next((k for k in OTHER_SHAPES if label.get(k) is not None), "no shape")


def flags(attributes: Any) -> tuple[dict[str, bool | None], list[str], dict[str, str]]:
    """``(flags, problems, others)``: :data:`FLAGS` as booleans (None when absent or unreadable),
    a problem text per unreadable flag, and every other attribute's value as short text."""
    found: dict[str, bool | None] = dict.fromkeys(FLAGS)
    problems: list[str] = []
    others: dict[str, str] = {}
    if not isinstance(attributes, dict):
        return found, ([] if attributes is None else [f"attributes is {excerpt(attributes)}, not an object"]), others
    for key, value in attributes.items():
        flag = str(key).lower()
        if flag not in FLAGS:
            others[str(key)] = (value if isinstance(value, str) and len(value) <= 40 else
                                str(value).lower() if isinstance(value, bool) else excerpt(value, 40))
            continue
        if isinstance(value, bool):
            found[flag] = value
        elif isinstance(value, (int, str)) and str(value).strip().lower() in _BOOLEANS:
            found[flag] = _BOOLEANS[str(value).strip().lower()]
        else:
            problems.append(f"{key} {excerpt(value, 40)} is not true or false")
    return found, problems, others
