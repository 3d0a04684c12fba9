"""Scalabel / BDD100K JSON -> canonical detection or segmentation dataset.

Input: JSON files, or folders of them (``*.json`` in the folder and its subfolders, e.g. BDD100K's
``box_track_20/train/<video>.json``). A file is a list of frames, or ``{"frames": [...],
"config": {...}}`` (Scalabel's dataset format).

- A frame is an image: ``name`` (required) is its ``file_name``; ``videoName`` its ``group``, so
  the frames of one video stay in one split; ``source_id`` is ``<videoName>/<name>`` (or ``name``).
  A frame seen again (same video and name) is reported and skipped.
- The frame's ``attributes`` become conditions: BDD100K's ``weather``, ``scene`` and
  ``timeofday`` (named ``time_of_day``), and any other short text, number or flag
  (:mod:`._conditions` says which). The split comes from the file's name (``det_train.json``),
  else its folder's (``train/``), else ``unassigned``.
- A label is one annotation of class ``category`` with a ``box2d`` (x1, y1, x2, y2 in pixels,
  as written: w = x2 - x1) or ``poly2d`` (polygons: the box is the extent of their vertices,
  ``pixels`` the summed area of the closed ones by the shoelace formula; Bézier control points
  (type ``C``) are taken as vertices, so curved outlines are approximate; an open polyline, as a
  lane, counts as an instance without pixels). The dataset is segmentation when more than half of
  its labels are closed polygons. A label with another shape (``box3d``, ``graph``, ``rle`` ...)
  or none is counted in one report row per kind and file and left out.
- Label ``attributes``: ``crowd`` sets ``iscrowd`` (as COCO's), ``truncated`` and ``occluded``
  the canonical ``truncated`` and ``occluded``. ``occluded``, ``truncated`` and the other label
  attributes (``trafficLightColor`` ...) are per label while conditions are per image: with
  ``flag_conditions`` (True) each becomes an image condition (yes / no for the flags, the value
  for the others), ``mixed`` where an image's labels differ (:mod:`._object_flags`); False only
  counts them by value in the report.
- Categories: the config's ``categories`` (nested ``subcategories``) declare the classes, in
  order, and their parents become ``supercategory``; a category the config does not declare is
  reported (``unknown_class``) and kept. Without a config: the categories used, sorted. The config's
  ``imageSize`` (or a frame's ``size``) gives the image size; otherwise it is unknown and boxes
  stay in pixels. BDD100K's own evaluation folds ``other person`` / ``other vehicle`` /
  ``trailer`` into ignored regions; here they are the classes the file names.
- A label that is not an object, or has no ``category``, or a malformed shape, is skipped and
  reported with ``<frame>#<label id>``; a label id repeated in a frame is reported (both kept);
  labels with a ``score`` (a predictions file) are kept and reported once per file.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pyarrow as pa

from ..dataset import SPLITS, Dataset, build_dataset, normalize_split
from ..report import LoadError, LoadReport, excerpt
from ._conditions import pick_conditions
from .files import is_number, parse_json, read_bytes, skip_undecodable_name, split_from_name
from ._object_flags import add_flag_conditions, yes_no
from ._scalabel_labels import BadShape, flags, other_shape, shape

MAX_SIZE = 2**31 - 1  # width / height are int32
#: Frame attributes renamed as conditions (BDD100K's spelling -> imbal's).
CONDITION_NAMES = {"timeofday": "time_of_day"}


@dataclass
class _State:
    images: dict[str, list] = field(default_factory=lambda: {k: [] for k in (
        "source_id", "file_name", "width", "height", "split", "group")})
    attributes: list[dict[str, str]] = field(default_factory=list)
    anns: dict[str, list] = field(default_factory=lambda: {k: [] for k in (
        "image", "name", "source_id", "x", "y", "w", "h", "pixels", "iscrowd", "truncated", "occluded")})
    label_attributes: list[dict[str, str]] = field(default_factory=list)  # the other attributes, per label
    files: list[str] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)
    declared: dict[str, str | None] = field(default_factory=dict)  # class -> parent, from configs
    polygons: int = 0


def read_scalabel(paths: Sequence[str | Path], report: LoadReport | None = None, *, flag_conditions: bool = True
                  ) -> Dataset:
    """Read Scalabel / BDD100K label files into one dataset.

    ``flag_conditions`` (True): make the labels' ``occluded``, ``truncated`` and other attributes
    image conditions.
    """
    report = report if report is not None else LoadReport()
    files = _resolve(paths)
    state = _State()
    for path in files:
        if not skip_undecodable_name(path, report):
            _read_file(path, state, report)
    return _assemble(state, [str(p) for p in paths], report, flag_conditions)


def _resolve(paths: Sequence[str | Path]) -> list[Path]:
    if not paths:
        raise LoadError("No input: give Scalabel / BDD100K JSON files or a folder of them.")
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(path.glob("*.json")) + sorted(path.glob("*/*.json"))
            if not found:
                raise LoadError(f"{path}: no .json files here or one folder down.", file=str(path))
            files += found
        elif path.exists():
            files.append(path)
        else:
            raise LoadError(f"{path}: no such file or folder.", file=str(path))
    return list(dict.fromkeys(files))


def _split_of(path: Path) -> str:
    split = split_from_name(path.name) or normalize_split(path.parent.name)
    return split if split in SPLITS else "unassigned"


# --------------------------------------------------------------------------- frames


def _read_file(path: Path, state: _State, report: LoadReport) -> None:
    doc = parse_json(read_bytes(path), path, report)
    config: Any = None
    if isinstance(doc, dict) and isinstance(doc.get("frames"), list):
        doc, config = doc["frames"], doc.get("config")
    elif isinstance(doc, dict) and "name" in doc and "labels" in doc:
        doc = [doc]
    if not isinstance(doc, list):
        kind = "an object without `frames`" if isinstance(doc, dict) else f"{type(doc).__name__}"
        raise LoadError(f"{path}: not a Scalabel / BDD100K export — the top level is {kind}, not a list of frames.",
                        report, str(path))
    size = _declare(config, path, state, report)
    split = _split_of(path)
    kinds: Counter[str] = Counter()
    scored = 0
    for index, frame in enumerate(doc):
        row = _read_frame(path, index, frame, split, size, state, report)
        if row is None:
            continue
        labels = frame.get("labels")
        if labels is not None and not isinstance(labels, list):
            report.add(path, state.images["source_id"][row], "bad_record",
                       f"labels is {excerpt(labels)}, not a list", "read the frame without labels")
            labels = None
        ids: set[str] = set()
        for number, label in enumerate(labels or []):
            scored += _read_label(path, row, number, label, ids, state, report, kinds)
    for kind, count in kinds.items():
        report.add(path, kind, "unsupported_shape", f"{count:,} label(s) with {kind}: neither box2d nor poly2d",
                   "skipped")
    if scored:
        report.add(path, "score", "score_column", f"{scored:,} labels have a score: this looks like predictions",
                   "kept the labels, ignored the scores")


def _declare(config: Any, path: Path, state: _State, report: LoadReport) -> tuple[int, int] | None:
    """Declare the config's categories (parents as supercategory); return its image size."""
    if config is None:
        return None
    if not isinstance(config, dict):
        report.add(path, "config", "bad_record", f"config is {excerpt(config)}, not an object", "ignored")
        return None
    categories = config.get("categories") or []
    if not isinstance(categories, list):
        report.add(path, "config.categories", "bad_record", f"categories is {excerpt(categories)}, not a list",
                   "ignored")
        categories = []
    stack: list[tuple[Any, str | None]] = [(c, None) for c in reversed(categories)]
    while stack:
        node, parent = stack.pop()
        name = node.get("name") if isinstance(node, dict) else None
        if not isinstance(name, str) or not name:
            report.add(path, "config.categories", "bad_record", f"category {excerpt(node)} has no name", "ignored")
            continue
        state.declared.setdefault(name, parent)
        children = node.get("subcategories") or []
        stack += [(c, name) for c in reversed(children if isinstance(children, list) else [])]
    return _size(config.get("imageSize"))


def _size(value: Any) -> tuple[int, int] | None:
    """``{"width", "height"}`` as whole pixels, or None when absent or not two sizes from 1 to 2**31 - 1."""
    if isinstance(value, dict) and all(is_number(value.get(k)) and 1 <= value[k] <= MAX_SIZE
                                       for k in ("width", "height")):
        return round(value["width"]), round(value["height"])
    return None


def _read_frame(path: Path, index: int, frame: Any, split: str, size: tuple[int, int] | None, state: _State,
                report: LoadReport) -> int | None:
    if not isinstance(frame, dict):
        report.add(path, f"frames[{index}]", "bad_record", f"frame is {excerpt(frame)}, not an object", "skipped")
        return None
    name, video = frame.get("name"), frame.get("videoName")
    if not isinstance(name, str) or not name.strip():
        found = "missing" if name is None else excerpt(name)
        report.add(path, f"frames[{index}]", "missing_name", f"frame name is {found}, not a file name", "skipped")
        return None
    if video is not None and not isinstance(video, str):
        report.add(path, name, "bad_record", f"videoName {excerpt(video)} is not text", "read without a video")
        video = None
    source_id = f"{video}/{name}" if video else name
    if source_id in state.seen:
        report.add(path, source_id, "duplicate_id", f"frame {excerpt(source_id)} was already read from "
                   f"{state.seen[source_id]}", "skipped")
        return None
    state.seen[source_id] = str(path)
    width, height = _size(frame.get("size")) or size or (None, None)
    row = len(state.images["source_id"])
    for key, value in (("source_id", source_id), ("file_name", name), ("width", width), ("height", height),
                       ("split", split), ("group", video or None)):
        state.images[key].append(value)
    attributes = frame.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        report.add(path, source_id, "bad_record", f"attributes is {excerpt(attributes)}, not an object", "ignored")
    state.attributes.append(attributes if isinstance(attributes, dict) else {})
    return row


# --------------------------------------------------------------------------- labels


def _read_label(path: Path, row: int, number: int, label: Any, ids: set[str], state: _State, report: LoadReport,
                kinds: Counter) -> int:
    """Add one label; return 1 when it carries a score."""
    frame = state.images["source_id"][row]
    label_id = label.get("id") if isinstance(label, dict) else None
    usable = (isinstance(label_id, str) and label_id != "") or (
        isinstance(label_id, int) and not isinstance(label_id, bool) and abs(label_id) < 2**63)
    record = f"{frame}#{label_id if usable else number}"
    if not isinstance(label, dict):
        report.add(path, record, "bad_record", f"label is {excerpt(label)}, not an object", "skipped")
        return 0
    category = label.get("category")
    if not isinstance(category, str) or not category.strip():
        found = "missing" if category is None else excerpt(category)
        report.add(path, record, "missing_category", f"label category is {found}, not a class name", "skipped")
        return 0
    try:
        found_shape = shape(label)
    except BadShape as exc:
        report.add(path, record, "bad_shape", str(exc), "skipped")
        return 0
    if found_shape is None:
        kinds[other_shape(label)] += 1
        return 0
    if record in ids:
        report.add(path, record, "duplicate_id", f"label id {excerpt(label_id)} is used twice in frame "
                   f"{excerpt(frame)}", "kept both")
        record = f"{record}@{number}"
    ids.add(record)
    found_flags, problems, other = flags(label.get("attributes"))
    for problem in problems:
        report.add(path, record, "bad_flag", problem, "kept with the flag unknown")
    box = found_shape.box
    for key, value in (("image", row), ("name", category), ("source_id", record), ("x", box[0]), ("y", box[1]),
                       ("w", box[2]), ("h", box[3]), ("pixels", found_shape.pixels),
                       ("iscrowd", found_flags["crowd"]), ("truncated", found_flags["truncated"]),
                       ("occluded", found_flags["occluded"])):
        state.anns[key].append(value)
    state.label_attributes.append(other)
    state.files.append(str(path))
    state.polygons += found_shape.polygon
    return int(label.get("score") is not None)


# --------------------------------------------------------------------------- the tables


def _assemble(state: _State, sources: list[str], report: LoadReport, flag_conditions: bool) -> Dataset:
    used = Counter(state.anns["name"])
    undeclared = sorted(n for n in used if n not in state.declared)
    if state.declared:
        for name in undeclared:
            report.add(sources[0], name, "unknown_class",
                       f"category {excerpt(name)} ({used[name]:,} labels) is not in the config's categories", "kept")
    names = list(state.declared) + undeclared
    row_of = {n: i for i, n in enumerate(names)}
    anns = dict(state.anns)
    anns["category"] = [row_of[n] for n in anns.pop("name")]
    n_images = len(state.images["source_id"])
    fields: dict[str, pa.Array] = {}
    for key in dict.fromkeys(k for a in state.attributes for k in a):
        values = [a.get(key) for a in state.attributes]
        if any(v is not None and not isinstance(v, (str, int, float, bool)) for v in values):
            report.add(sources[0], key, "condition_ignored", f"frame attribute `{key}` holds lists or objects",
                       "ignored")
            continue
        fields[CONDITION_NAMES.get(key.lower(), key)] = pa.array([_text(v) for v in values], pa.string())
    conditions = pick_conditions(fields, n_images, report, sources[0])
    dataset = build_dataset(
        images={**state.images, **conditions}, annotations=anns,
        categories={"name": names, "supercategory": [state.declared.get(n) for n in names]},
        task="segmentation" if state.polygons * 2 > len(anns["image"]) else "detection", format="scalabel",
        sources=sources, report=report, conditions=list(conditions), annotation_files=state.files,
        unsized_boxes_normalised=False,
    )
    flags_ = {name: [yes_no(v) for v in state.anns[name]] for name in ("occluded", "truncated")}
    for key in dict.fromkeys(k for a in state.label_attributes for k in a):
        flags_.setdefault(key, [a.get(key) for a in state.label_attributes])
    return add_flag_conditions(dataset, flags_, state.anns["source_id"], report, sources[0], flag_conditions)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
