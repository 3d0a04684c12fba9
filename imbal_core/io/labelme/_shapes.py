"""Labelme ``shapes`` -> objects: geometry by ``shape_type``, parts joined by ``group_id``.

See the package docstring for the rules.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ...report import LoadReport
from ..files import is_number
from .._objects import ObjectRecord

NOT_CLASSES = frozenset({"__ignore__", "_background_"})
MIN_POINTS = {"rectangle": 2, "polygon": 3, "circle": 2, "mask": 2, "line": 2, "linestrip": 2, "point": 1, "points": 1}


class _BadShape(ValueError):
    pass


@dataclass
class Merges:
    """How many class shapes were read, and how many of them were joined by ``group_id``."""

    shapes: int = 0  # class shapes read (not __ignore__, not malformed)
    parts: int = 0  # shapes that are one part of an object of several
    groups: int = 0  # objects made of several shapes
    kinds: set[str] = field(default_factory=set)

    @property
    def objects(self) -> int:
        return self.shapes - self.parts + self.groups

    def sentence(self) -> str:
        noun = f"{next(iter(self.kinds))}s" if len(self.kinds) == 1 else "shapes"
        return (f"{self.shapes:,} {noun} merged into {self.objects:,} objects by group_id ({self.parts:,} shapes "
                f"sharing a label and group_id in one image became {self.groups:,} objects)")


def flag_dict(value: Any, file: str, record: str, whose: str, report: LoadReport) -> dict[str, Any]:
    """A ``flags`` object as {name: value}; anything else is reported and read as no flags."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        report.add(file, record, "bad_flags", f"{whose} `flags` is {type(value).__name__}, not an object", "ignored")
        return {}
    return {str(k).strip(): v for k, v in value.items() if str(k).strip()}


def read_shapes(shapes: list[Any], row: int, source_id: str, file: str, objects: list[ObjectRecord],
                report: LoadReport, merges: Merges) -> None:
    """Append the objects of one file's ``shapes`` (image row ``row``) to ``objects``; count in ``merges``."""
    parts: dict[tuple[str, Any], ObjectRecord] = {}  # (label, group_id) -> the object its parts make
    sizes: Counter = Counter()  # (label, group_id) -> how many shapes it joined
    not_classes: Counter = Counter()
    unsupported: Counter = Counter()
    masks = 0
    for index, shape in enumerate(shapes):
        record = f"{source_id}#{index}"
        if not isinstance(shape, dict):
            report.add(file, record, "bad_shape", f"shape is a JSON {type(shape).__name__}, not an object", "skipped")
            continue
        label = shape.get("label")
        if not isinstance(label, str) or not label.strip():
            report.add(file, record, "missing_label", f"shape label is {label!r:.40}", "skipped")
            continue
        label = label.strip()
        if label in NOT_CLASSES:
            not_classes[label] += 1
            continue
        kind = shape.get("shape_type") or "polygon"
        if not isinstance(kind, str) or kind not in MIN_POINTS:
            unsupported[f"{kind!s:.30}"] += 1
            continue
        try:
            found = _shape(kind, shape.get("points"), row, label, record, file)
        except _BadShape as exc:
            report.add(file, record, "bad_points", str(exc), "skipped")
            continue
        masks += kind == "mask"
        merges.shapes += 1
        merges.kinds.add(kind)
        attributes = flag_dict(shape.get("flags"), file, record, "shape", report)
        found.attributes = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in attributes.items()}
        group = shape.get("group_id")
        if group is None or isinstance(group, (dict, list)):
            objects.append(found)
        elif (label, group) in parts:
            _join(parts[(label, group)], found)
            sizes[(label, group)] += 1
            merges.parts += 2 if sizes[(label, group)] == 2 else 1
            merges.groups += sizes[(label, group)] == 2
        else:
            sizes[(label, group)] = 1
            parts[(label, group)] = found
            objects.append(found)
    for label, count in not_classes.items():
        report.add(file, source_id, "not_a_class", f"{count} shape(s) labelled {label}: not a class", "skipped")
    for kind, count in unsupported.items():
        report.add(file, source_id, "unsupported_shape", f"{count} shape(s) of type {kind!r}", "skipped")
    if masks:
        report.add(file, source_id, "mask_not_decoded", f"{masks} mask shape(s): the embedded mask image is not "
                   "decoded", "counted with their box, without pixels")


def _shape(kind: str, points: Any, row: int, label: str, record: str, file: str) -> ObjectRecord:
    least = MIN_POINTS[kind]
    if not (isinstance(points, list) and len(points) >= least and all(_is_point(p) for p in points)):
        raise _BadShape(f"{kind} needs at least {least} [x, y] point(s) of finite numbers; got {points!r:.60}")
    xs, ys = [float(p[0]) for p in points], [float(p[1]) for p in points]
    box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    if kind == "circle":
        radius = math.hypot(xs[1] - xs[0], ys[1] - ys[0])
        return ObjectRecord(row, label, record, file, kind, (xs[0] - radius, ys[0] - radius, 2 * radius, 2 * radius),
                            pixels=math.pi * radius**2)
    if kind == "polygon":
        ring = [v for x, y in zip(xs, ys) for v in (x, y)]
        return ObjectRecord(row, label, record, file, kind, box, polygons=[ring])
    if kind in ("rectangle", "mask"):
        return ObjectRecord(row, label, record, file, kind, box)
    return ObjectRecord(row, label, record, file, kind)


def _join(whole: ObjectRecord, part: ObjectRecord) -> None:
    """Add ``part`` to the object ``whole`` (shapes of one label and group_id)."""
    whole.source_id += "+" + part.source_id.rsplit("#", 1)[-1]
    if part.box is not None:
        if whole.box is None:
            whole.box = part.box
        else:
            x1, y1 = min(whole.box[0], part.box[0]), min(whole.box[1], part.box[1])
            x2 = max(whole.box[0] + whole.box[2], part.box[0] + part.box[2])
            y2 = max(whole.box[1] + whole.box[3], part.box[1] + part.box[3])
            whole.box = (x1, y1, x2 - x1, y2 - y1)
    if part.polygons:
        whole.polygons = (whole.polygons or []) + part.polygons
    if part.pixels is not None:
        whole.pixels = (whole.pixels or 0.0) + part.pixels
    if whole.kind not in ("polygon", "circle") and part.kind in ("polygon", "circle"):
        whole.kind = part.kind
    for key, value in part.attributes.items():
        whole.attributes.setdefault(key, value)


def finite(value: Any) -> float | None:
    """A JSON number as a finite float; None for anything else (an int too big for a float too)."""
    if not is_number(value):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _is_point(p: Any) -> bool:
    return isinstance(p, list) and len(p) == 2 and all(finite(v) is not None for v in p)
