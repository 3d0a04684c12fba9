"""One CVAT shape element -> its geometry: the box, polygon ring, mask runs or area.

- ``<box xtl ytl xbr ybr [rotation]>``: x = xtl, y = ytl, w = xbr - xtl, h = ybr - ytl, as
  written (a box with xbr < xtl keeps its negative width and is reported by the dataset's box
  check). A rotated box (degrees, about its centre) becomes the axis-aligned box around it.
- ``<polygon points="x1,y1;x2,y2;...">``: at least 3 points; the box around them and the ring
  (pixels by shoelace, later, for all objects at once).
- ``<polyline>`` (at least 2 points), ``<points>`` (at least 1): counted, no box, no pixels.
- ``<mask rle="..." left top width height>``: the box ``left, top, width, height``; the runs
  alternate background and object pixels, background first, row by row inside the box, and
  must add up to ``width * height``.
- ``<ellipse cx cy rx ry [rotation]>``: the box around it; pixels pi * rx * ry.

Anything unusable raises :class:`BadShape` with a report code and the problem in words.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from .._objects import Box

SHAPES = ("box", "polygon", "polyline", "points", "mask", "ellipse")
MIN_POINTS = {"polygon": 3, "polyline": 2, "points": 1}


class BadShape(ValueError):
    def __init__(self, code: str, problem: str):
        super().__init__(problem)
        self.code = code
        self.problem = problem


@dataclass(frozen=True)
class Geometry:
    box: Box | None = None
    ring: list[float] | None = None
    runs: list[int] | None = None
    pixels: float | None = None
    rotation: float = 0.0


def geometry(element: ET.Element) -> Geometry:
    """The geometry of a shape element whose tag is one of :data:`SHAPES`."""
    kind = element.tag
    if kind == "box":
        return _box(element)
    if kind == "mask":
        return _mask(element)
    if kind == "ellipse":
        return _ellipse(element)
    ring = _points(element, MIN_POINTS[kind])
    if kind != "polygon":
        return Geometry()
    xs, ys = ring[0::2], ring[1::2]
    return Geometry(box=(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)), ring=ring)


def _numbers(element: ET.Element, *keys: str) -> list[float]:
    """The attributes ``keys`` as numbers (NaN and inf included: callers decide)."""
    values = []
    for key in keys:
        text = element.get(key)
        try:
            values.append(float(text))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            found = "missing" if text is None else repr(text[:20])
            raise BadShape("bad_shape", f"<{element.tag}> attribute `{key}` is {found}, not a number") from None
    return values


def _rotation(element: ET.Element) -> float:
    if element.get("rotation") is None:
        return 0.0
    (value,) = _numbers(element, "rotation")
    if not math.isfinite(value):
        raise BadShape("bad_shape", f"<{element.tag}> rotation {element.get('rotation')!r:.20} is not finite")
    return value % 360


def _box(element: ET.Element) -> Geometry:
    xtl, ytl, xbr, ybr = _numbers(element, "xtl", "ytl", "xbr", "ybr")
    box = (xtl, ytl, xbr - xtl, ybr - ytl)  # inf - inf is NaN: the dataset's box check reports it
    rotation = _rotation(element)
    if rotation and all(math.isfinite(v) for v in box):
        return Geometry(box=_rotated(box, rotation), rotation=rotation)
    return Geometry(box=box)


def _rotated(box: Box, degrees: float) -> Box:
    """The axis-aligned box around ``box`` turned by ``degrees`` about its centre."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    c, s = abs(math.cos(math.radians(degrees))), abs(math.sin(math.radians(degrees)))
    half_w, half_h = (w * c + h * s) / 2, (w * s + h * c) / 2
    return cx - half_w, cy - half_h, 2 * half_w, 2 * half_h


def _ellipse(element: ET.Element) -> Geometry:
    cx, cy, rx, ry = _numbers(element, "cx", "cy", "rx", "ry")
    if not all(math.isfinite(v) for v in (cx, cy, rx, ry)) or rx < 0 or ry < 0:
        raise BadShape("bad_shape", f"ellipse needs finite cx, cy and radii >= 0; got {cx:g}, {cy:g}, {rx:g}, {ry:g}")
    rotation = _rotation(element)
    theta = math.radians(rotation)
    half_w = math.hypot(rx * math.cos(theta), ry * math.sin(theta))
    half_h = math.hypot(rx * math.sin(theta), ry * math.cos(theta))
    return Geometry(box=(cx - half_w, cy - half_h, 2 * half_w, 2 * half_h), pixels=math.pi * rx * ry, rotation=rotation)


def _points(element: ET.Element, least: int) -> list[float]:
    """``x1,y1;x2,y2;...`` as a flat list of finite numbers, at least ``least`` points."""
    text = element.get("points") or ""
    flat: list[float] = []
    try:
        for pair in (p for p in text.split(";") if p.strip()):
            x, y = pair.split(",")
            flat += [float(x), float(y)]
    except ValueError:
        raise BadShape("bad_points", f"<{element.tag}> points {text!r:.60} are not 'x,y' pairs of numbers") from None
    if not all(math.isfinite(v) for v in flat):
        raise BadShape("bad_points", f"<{element.tag}> points {text!r:.60} hold a non-finite number")
    if len(flat) < 2 * least:
        raise BadShape("bad_points", f"<{element.tag}> needs at least {least} point(s); got {len(flat) // 2}")
    return flat


def _mask(element: ET.Element) -> Geometry:
    left, top, width, height = _numbers(element, "left", "top", "width", "height")
    if not all(math.isfinite(v) and v == int(v) for v in (left, top, width, height)) or width < 0 or height < 0:
        raise BadShape("bad_mask", f"mask box {left:g}, {top:g}, {width:g}, {height:g} is not whole numbers "
                                   "with a non-negative size")
    text = element.get("rle") or ""
    try:
        runs = [int(t) for t in text.replace(",", " ").split()]
    except ValueError:
        raise BadShape("bad_mask", f"mask rle {text!r:.40} is not a list of whole numbers") from None
    if any(r < 0 for r in runs):
        raise BadShape("bad_mask", "mask rle has a negative run")
    if sum(runs) != width * height:
        raise BadShape("bad_mask", f"mask runs add up to {sum(runs)} pixels; its {width:g}x{height:g} box holds "
                                   f"{width * height:g}")
    return Geometry(box=(left, top, width, height), runs=runs)
