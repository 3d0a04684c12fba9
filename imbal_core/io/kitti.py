"""KITTI object and tracking labels -> canonical detection dataset.

Input: a KITTI folder (``training/`` with ``label_2/`` and ``image_2/``, or the folder above
``training/`` and ``testing/``), a ``label_2/`` (object) or ``label_02/`` (tracking) folder, or
label ``.txt`` files. Which kind a file is comes from its first line: 15 values (16 with a score)
is an object label, 17 (18) a tracking label; a file whose first line is neither takes the kind of
its folder's name.

- Object (``label_2/<frame>.txt``): one file is one image (``source_id`` the file's stem). Each line
  ``type truncated occluded alpha left top right bottom h w l x y z rotation_y``: the box is
  x = left, y = top, w = right - left, h = bottom - top, in pixels, as written.
- Tracking (``label_02/<sequence>.txt``): lines ``frame track_id type truncated occluded alpha
  left top right bottom ...``; one file is one sequence, each frame with a line is one image
  (``source_id`` ``<sequence>/<frame, 6 digits>``), plus the frames in ``image_02/<sequence>/``;
  the sequence is the image's ``group``, so its frames stay in one split.
- ``DontCare`` regions are not a class: they are counted in one report row per folder
  (``dont_care``) and left out. A type that is not one of KITTI's (:data:`KITTI_TYPES`) is
  reported once (``unknown_class``) and kept as a class. Categories are the types, sorted.
- ``truncated`` (a fraction 0..1 for objects, a level 0 / 1 / 2 for tracking) sets the canonical
  ``truncated`` flag (true when above 0) and ``occluded`` (0 fully visible, 1 partly occluded,
  2 largely occluded, 3 unknown) the canonical ``occluded`` (true for 1 and 2, null for 3) and is
  kept as a level for the condition. Both are per object while conditions are per
  image: with ``flag_conditions`` (True) each becomes an image condition, ``truncated`` yes / no
  and ``occluded`` the level, ``mixed`` where an image's objects differ (:mod:`._object_flags`).
  A value out of range is reported (``bad_flag``) and taken as unknown.
- Image sizes are read from the image headers in ``image_2/`` (``image_02/<sequence>/``) when the
  images are there (``sizes``); otherwise the size is unknown and boxes stay in pixels. The split
  is the name of the folder holding ``label_2/`` when it is one (``training`` -> train,
  ``testing`` -> test), else ``unassigned``. Images without a label file are not read (KITTI's
  testing images have none: they are unlabelled, not empty).
- A line with another number of values, or a value that is not a number, is skipped
  (``bad_line``, ``file:line``); a 16th (18th) value is a score, reported once per file.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..dataset import Dataset, build_dataset
from ..report import LoadError, LoadReport, excerpt
from .files import read_text, skip_undecodable_name
from ._kitti_files import IMAGE_FOLDERS, Kind, Source, image_files, resolve
from ._object_flags import add_flag_conditions, yes_no
from .imagesize import image_size

KITTI_TYPES = ("Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc")
DONT_CARE = "DontCare"
OCCLUSION = {0: "fully visible", 1: "partly occluded", 2: "largely occluded", 3: None}  # 3 is KITTI's "unknown"
OCCLUDED = {0: False, 1: True, 2: True}  # the canonical flag of each level
_FIELDS: dict[Kind, tuple[int, int]] = {"object": (15, 16), "tracking": (17, 18)}


@dataclass
class _Columns:
    images: dict[str, list] = field(default_factory=lambda: {k: [] for k in (
        "source_id", "file_name", "width", "height", "split", "group")})
    anns: dict[str, list] = field(default_factory=lambda: {k: [] for k in (
        "image", "name", "source_id", "x", "y", "w", "h", "truncated", "occluded")})
    occlusion: list = field(default_factory=list)  # the level, for the condition
    files: list[str] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)  # image source_id -> file it came from
    unknown: Counter = field(default_factory=Counter)


def read_kitti(
    paths: Sequence[str | Path], report: LoadReport | None = None, *, sizes: bool = True, flag_conditions: bool = True
) -> Dataset:
    """Read KITTI object or tracking labels into one dataset.

    ``sizes`` (True): read image sizes from the image headers when the images are there.
    ``flag_conditions`` (True): make ``truncated`` and ``occluded`` image conditions.
    """
    report = report if report is not None else LoadReport()
    if not paths:
        raise LoadError("No input: give a KITTI folder or label .txt files.")
    cols = _Columns()
    for source in resolve(paths):
        dont_care = 0
        images = image_files(source.images) if source.images is not None else {}
        for path in source.labels:
            if not skip_undecodable_name(path, report, path.name):
                dont_care += _read_file(path, source, images, sizes, cols, report)
        if dont_care:
            where = source.labels[0].parent
            report.add(where, DONT_CARE, "dont_care",
                       f"{dont_care:,} DontCare regions (areas left unlabelled, not a class)", "skipped")
    for name, count in sorted(cols.unknown.items()):
        report.add(str(paths[0]), name, "unknown_class",
                   f"type {excerpt(name)} ({count:,} objects) is not one of KITTI's: {', '.join(KITTI_TYPES)}",
                   "kept as a class")
    names = sorted(set(cols.anns["name"]))
    row_of = {n: i for i, n in enumerate(names)}
    anns = dict(cols.anns)
    anns["category"] = [row_of[n] for n in anns.pop("name")]
    dataset = build_dataset(
        images=cols.images, annotations=anns, categories={"name": names, "source_id": names}, task="detection",
        format="kitti", sources=[str(p) for p in paths], report=report, annotation_files=cols.files,
        unsized_boxes_normalised=False,
    )
    flags = {"truncated": [yes_no(t) for t in cols.anns["truncated"]], "occluded": cols.occlusion}
    return add_flag_conditions(dataset, flags, cols.anns["source_id"], report, str(paths[0]), flag_conditions)


def extra_inputs(paths: list[Path]) -> list[Path]:
    """The image folders beside label files given one by one (their sizes are read)."""
    out = []
    for path in paths:
        if path.is_file() and path.parent.name in IMAGE_FOLDERS:
            images = path.parent.parent / IMAGE_FOLDERS[path.parent.name]
            if images.is_dir() and images not in out:
                out.append(images)
    return out


# --------------------------------------------------------------------------- one file


def _kind_of(text: str, source: Source) -> Kind | None:
    first = next((line.split() for line in text.split("\n") if line.strip()), None)
    if first is not None:
        for kind, counts in _FIELDS.items():
            if len(first) in counts:
                return kind
    return source.kind


def _read_file(path: Path, source: Source, images: dict[str, Path], sizes: bool, cols: _Columns,
               report: LoadReport) -> int:
    """Add one label file's images and objects; return how many DontCare regions it had."""
    try:
        text = read_text(path, report)
    except LoadError as exc:
        report.add(path, path.name, "unreadable_file", str(exc), "skipped")
        return 0
    kind = _kind_of(text, source)
    if kind is None:
        report.add(path, path.name, "bad_file", "neither a KITTI object label (15 values a line) nor a tracking "
                   "label (17): the first line has another count, and the folder's name does not say", "skipped")
        return 0
    stem = path.stem
    rows: dict[str, int] = {}
    if kind == "object":
        row = _add_image(stem, images.get(stem), f"{stem}.png", source.split, None, path, sizes, cols, report)
        if row is None:
            return 0
        rows[stem] = row
    else:
        for rel, image in images.items():  # every frame on disk, with or without objects
            seq, _, frame = rel.partition("/")
            if seq == stem and frame.isdigit():
                _frame_row(stem, int(frame), image, source, path, sizes, rows, cols, report)
    dont_care, scored = 0, False
    low, high = _FIELDS[kind]
    for number, line in enumerate(text.split("\n"), start=1):
        parts = line.split()
        if not parts:
            continue
        record = f"{stem}:{number}"
        if len(parts) not in (low, high):
            report.add(path, record, "bad_line", f"line has {len(parts)} values; a KITTI {kind} label has {low} "
                       f"({high} with a score)", "skipped")
            continue
        if len(parts) == high and not scored:
            scored = True
            report.add(path, record, "score_column", "lines have a score: this looks like a results file",
                       "kept the boxes, ignored the scores")
        if kind == "tracking":
            if not (_is_int(parts[0]) and _is_int(parts[1])) or int(parts[0]) < 0:
                report.add(path, record, "bad_line", f"frame {parts[0]!r:.20} or track id {parts[1]!r:.20} "
                           "is not a whole number", "skipped")
                continue
            frame, parts = int(parts[0]), parts[2:]
        numbers = _numbers(parts[1:8])
        if numbers is None:
            report.add(path, record, "bad_line", f"a value is not a number: {line.strip()[:80]!r}", "skipped")
            continue
        if parts[0] == DONT_CARE:
            dont_care += 1
            continue
        if kind == "tracking":
            key = f"{stem}/{frame:06d}"
            if key not in rows and _frame_row(stem, frame, images.get(key), source, path, sizes, rows, cols,
                                              report) is None:
                continue
            image_row = rows[key]
        else:
            image_row = rows[stem]
        _add_object(parts[0], numbers, kind, image_row, record, path, cols, report)
    return dont_care


def _frame_row(seq: str, frame: int, image: Path | None, source: Source, path: Path, sizes: bool, rows: dict,
               cols: _Columns, report: LoadReport) -> int | None:
    key = f"{seq}/{frame:06d}"
    row = _add_image(key, image, f"{key}.png", source.split, seq, path, sizes, cols, report)
    if row is not None:
        rows[key] = row
    return row


def _add_image(source_id: str, image: Path | None, default_name: str, split: str, group: str | None, path: Path,
               sizes: bool, cols: _Columns, report: LoadReport) -> int | None:
    if source_id in cols.seen:
        report.add(path, source_id, "duplicate_id", f"image {source_id!r} was already read from {cols.seen[source_id]}",
                   "skipped")
        return None
    cols.seen[source_id] = str(path)
    size = image_size(image) if sizes and image is not None else None
    if sizes and image is not None and size is None:
        report.add(image, source_id, "unreadable_image", "the image header cannot be read", "kept; size unknown")
    row = len(cols.images["source_id"])
    folder = source_id.rpartition("/")[0] + "/" if group else ""  # tracking: the sequence's folder
    file_name = folder + image.name if image is not None else default_name
    for key, value in (("source_id", source_id), ("file_name", file_name), ("width", size[0] if size else None),
                       ("height", size[1] if size else None), ("split", split), ("group", group)):
        cols.images[key].append(value)
    return row


def _add_object(name: str, numbers: list[float], kind: Kind, image_row: int, record: str, path: Path, cols: _Columns,
                report: LoadReport) -> None:
    truncation, occlusion, _alpha, left, top, right, bottom = numbers
    if name not in KITTI_TYPES:
        cols.unknown[name] += 1
    truncated_ok = 0 <= truncation <= 1 if kind == "object" else truncation in (0, 1, 2)
    if not truncated_ok:
        allowed = "a fraction from 0 to 1" if kind == "object" else "0, 1 or 2"
        report.add(path, record, "bad_flag", f"truncated {truncation:g} is not {allowed}",
                   "kept with truncated unknown")
    if occlusion not in OCCLUSION:
        report.add(path, record, "bad_flag", f"occluded {occlusion:g} is not 0, 1, 2 or 3",
                   "kept with occluded unknown")
    values = (("image", image_row), ("name", name), ("source_id", record), ("x", left), ("y", top),
              ("w", right - left), ("h", bottom - top), ("truncated", truncation > 0 if truncated_ok else None),
              ("occluded", OCCLUDED.get(occlusion)))
    for key, value in values:
        cols.anns[key].append(value)
    cols.occlusion.append(OCCLUSION.get(occlusion))
    cols.files.append(str(path))


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _numbers(parts: list[str]) -> list[float] | None:
    try:
        return [float(p) for p in parts]
    except ValueError:
        return None
