"""Shape exports (CVAT, Labelme) -> canonical tables: the part their readers share.

A reader turns its files into :class:`ImageRecord` and :class:`ObjectRecord` rows; :func:`assemble`
makes the dataset from them, the same way for both:

- **Categories**: the declared labels in their order (CVAT's ``<labels>``, Labelme's
  ``labels.txt``), then labels used but not declared, reported (``unknown_class``) and kept as
  extra classes. Without declared labels: the used ones, sorted by name.
- **Pixels**: polygons by the shoelace formula (:func:`imbal_core.pixels.areas.polygon_areas`,
  as the COCO path; the rings of one object are summed), masks as the sum of their runs of ones
  (:func:`imbal_core.pixels.areas.rle_run_areas`), circles and ellipses by their analytic area.
  Boxes, lines and points have none.
- **Flags**: an object attribute named ``occluded``, ``truncated`` or ``difficult`` (any case;
  true / false / 1 / 0 / yes / no), and CVAT's ``occluded="1"``, fill the annotation column of
  that name.
- **Conditions**: image-level labels (CVAT tags, Labelme flags, when the reader keeps them as
  conditions) become one condition named by the reader, their names joined by `` + ``; an
  image-level attribute (a tag's) becomes a condition (the first value is kept when an image has
  several, reported). Per-object values — ``occluded``, ``truncated`` and every other object
  attribute — become image conditions by the rule the KITTI, MOT, Open Images and Scalabel
  readers share (:func:`._object_flags.add_flag_conditions`): the value the image's objects
  share, else ``mixed``; ``flag_conditions=False`` only counts them in the report. All
  conditions pass :func:`._conditions.pick_conditions`.
- **Task**: classification when every row is an image label, segmentation when more than half
  the rows carry pixels (polygons, masks, circles, ellipses), else detection.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import pyarrow as pa

from ..dataset import Dataset, build_dataset
from ..pixels.areas import polygon_areas, rle_run_areas
from ..report import LoadReport
from ._conditions import pick_conditions
from ._object_flags import add_flag_conditions, yes_no
from ._labels import class_sort_key

FLAG_ATTRIBUTES = ("occluded", "truncated", "difficult")
#: Flags that also become image conditions (``difficult`` says how to evaluate, not what is seen).
CONDITION_FLAGS = ("occluded", "truncated")
#: Kinds of row that carry a pixel count.
AREA_KINDS = frozenset({"polygon", "mask", "circle", "ellipse"})
IMAGE_LABEL = "label"  # the kind of a row that is an image-level label (classification)
_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})
JOIN = " + "

Box = tuple[float, float, float, float]


@dataclass(slots=True)
class ImageRecord:
    source_id: str
    file: str  # the annotation file it was read from, for report rows
    file_name: str | None
    width: int | None
    height: int | None
    split: str | None
    group: str | None = None
    labels: list[str] = field(default_factory=list)  # image-level labels kept as a condition
    attributes: list[tuple[str, str]] = field(default_factory=list)  # image-level attribute values


@dataclass(slots=True)
class ObjectRecord:
    image: int  # row in the image list
    label: str
    source_id: str
    file: str
    kind: str  # box, polygon, mask, polyline, points, circle, ellipse, ... or IMAGE_LABEL
    box: Box | None = None  # x, y, w, h in pixels; None for lines, points and image labels
    polygons: list[list[float]] | None = None  # rings as [x1, y1, x2, y2, ...]
    runs: list[int] | None = None  # mask run lengths, background first
    pixels: float | None = None  # an area the reader computed (circle, ellipse)
    occluded: bool | None = None
    attributes: dict[str, str] = field(default_factory=dict)


def assemble(images: list[ImageRecord], objects: list[ObjectRecord], declared: Sequence[str], *, fmt: str,
             label_condition: str, sources: Sequence[str], report: LoadReport, flag_conditions: bool = True) -> Dataset:
    """The dataset of ``images`` and ``objects`` (see the module docstring)."""
    where = ", ".join(sources)
    names = _categories(objects, declared, report)
    row_of = {n: i for i, n in enumerate(names)}
    flags = _flags(objects, report)
    fields: dict[str, pa.Array] = {}
    if any(img.labels for img in images):
        fields[label_condition] = pa.array([JOIN.join(sorted(set(img.labels))) or None for img in images], pa.string())
    image_level, per_object = _attributes(images, objects, report)
    fields.update(image_level)
    conditions = pick_conditions(fields, len(images), report, where)
    img_cols: dict[str, Any] = {
        "source_id": [i.source_id for i in images],
        "file_name": [i.file_name for i in images],
        "width": pa.array([i.width for i in images], pa.int32()),
        "height": pa.array([i.height for i in images], pa.int32()),
        "split": [i.split for i in images],
        "group": pa.array([i.group for i in images], pa.string()),
        **conditions,
    }
    box = lambda o, k: o.box[k] if o.box else None  # noqa: E731
    ann_cols: dict[str, Any] = {
        "image": [o.image for o in objects],
        "category": [row_of[o.label] for o in objects],
        "source_id": [o.source_id for o in objects],
        **{c: pa.array([box(o, k) for o in objects], pa.float64()) for k, c in enumerate(("x", "y", "w", "h"))},
        "pixels": pa.array(pixels(objects), pa.float64(), from_pandas=True),
        **{name: pa.array(values, pa.bool_()) for name, values in flags.items()},
    }
    dataset = build_dataset(
        images=img_cols, annotations=ann_cols, categories={"name": names}, task=_task(objects), format=fmt,
        sources=sources, report=report, conditions=list(conditions),
        annotation_files=[o.file for o in objects], unsized_boxes_normalised=False,
    )
    object_values = {name: [yes_no(v) for v in flags[name]] for name in CONDITION_FLAGS}
    object_values.update(per_object)
    return add_flag_conditions(dataset, object_values, ann_cols["source_id"], report, where, flag_conditions)


def pixels(objects: list[ObjectRecord]) -> list[float | None]:
    """Each object's pixel count (None when it has no area), vectorised over all objects."""
    rings = pa.array([o.polygons for o in objects], pa.list_(pa.list_(pa.float64())))
    runs = pa.array([o.runs for o in objects], pa.list_(pa.int64()))
    poly_area, run_area = polygon_areas(rings), rle_run_areas(runs)
    out: list[float | None] = []
    for k, o in enumerate(objects):
        has = o.polygons is not None or o.runs is not None or o.pixels is not None
        total = (o.pixels or 0.0) + (float(poly_area[k]) if o.polygons is not None else 0.0) \
            + (float(run_area[k]) if o.runs is not None else 0.0)
        out.append(total if has else None)
    return out


def _task(objects: list[ObjectRecord]) -> str:
    if objects and all(o.kind == IMAGE_LABEL for o in objects):
        return "classification"
    with_area = sum(o.kind in AREA_KINDS for o in objects)
    return "segmentation" if 2 * with_area > len(objects) else "detection"


def _categories(objects: list[ObjectRecord], declared: Sequence[str], report: LoadReport) -> list[str]:
    used: dict[str, Counter] = {}
    for o in objects:
        used.setdefault(o.label, Counter())[o.file] += 1
    declared = list(dict.fromkeys(declared))
    if not declared:
        return sorted(used, key=class_sort_key)
    known = set(declared)
    unknown = sorted((n for n in used if n not in known), key=class_sort_key)
    for name in unknown:
        files = used[name]
        report.add(next(iter(files)), name, "unknown_class",
                   f"label {name!r:.60} ({sum(files.values())} annotation(s)) is not among the declared labels",
                   "kept as an extra class")
    return [*declared, *unknown]


def _flags(objects: list[ObjectRecord], report: LoadReport) -> dict[str, list[bool | None]]:
    """``occluded`` / ``truncated`` / ``difficult`` per object (their attributes removed)."""
    columns: dict[str, list[bool | None]] = {name: [None] * len(objects) for name in FLAG_ATTRIBUTES}
    for k, o in enumerate(objects):
        columns["occluded"][k] = o.occluded
        for key in [a for a in o.attributes if a.strip().lower() in FLAG_ATTRIBUTES]:
            name, text = key.strip().lower(), o.attributes.pop(key)
            value = _TRUE_OR_FALSE.get(text.strip().lower())
            if value is None:
                report.add(o.file, o.source_id, "bad_flag", f"{name} {text!r:.40} is not true or false",
                           f"kept with {name} unknown")
            elif columns[name][k] is None:
                columns[name][k] = value
    return columns


_TRUE_OR_FALSE = {**{t: True for t in _TRUE}, **{f: False for f in _FALSE}}


def _attributes(images: list[ImageRecord], objects: list[ObjectRecord], report: LoadReport
                ) -> tuple[dict[str, pa.Array], dict[str, list[str | None]]]:
    """Image-level attributes as one value per image; the others as one value per object.

    An attribute is image-level when an image carries it (a tag's); objects' values of the same
    name then join the image's. Several values for one image: the first is kept, reported.
    """
    n = len(images)
    image_level: dict[str, list[list[str]]] = {}
    for i, img in enumerate(images):
        for name, value in img.attributes:
            image_level.setdefault(name, [[] for _ in range(n)])[i].append(value)
    per_object: dict[str, list[str | None]] = {}
    for k, o in enumerate(objects):
        for name, value in o.attributes.items():
            if name in image_level:
                image_level[name][o.image].append(value)
            else:
                per_object.setdefault(name, [None] * len(objects))[k] = value
    fields: dict[str, pa.Array] = {}
    for name, per_image in image_level.items():
        for i, seen in enumerate(per_image):
            distinct = list(dict.fromkeys(seen))
            if len(distinct) > 1:
                report.add(images[i].file, images[i].source_id, "multi_valued_condition",
                           f"attribute `{name}` has several values ({', '.join(distinct):.60})",
                           f"kept the first, {distinct[0]!r:.40}")
        fields[name] = pa.array([seen[0] if seen else None for seen in per_image], pa.string())
    return fields, per_object
