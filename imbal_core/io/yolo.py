"""YOLO / Ultralytics / Darknet labels -> canonical dataset.

Input: a ``data.yaml`` (any YAML with ``names``), a Darknet ``obj.data``, or a folder. A folder
holding such a YAML is read through it, else through its ``.data`` file, else through its Darknet
split lists (``train.txt`` / ``valid.txt`` / ``test.txt`` of image paths); otherwise its layout
says where things are: ``images/`` + ``labels/`` (with optional split subfolders
``images/train`` ...), split folders ``train/`` ``valid/`` ``test/`` each with ``images/`` and/or
``labels/``, or a flat folder of images beside their ``.txt`` (a ``.txt`` there that lists image
paths is not a label file: reported ``image_list`` and ignored).

data.yaml
    ``names`` is a list or a mapping {index: name}; ``nc`` is checked against it. ``train`` /
    ``val`` / ``test`` are relative to ``path`` when it exists here, else to the YAML's folder
    (a stale ``path``, e.g. a Windows one, is reported). An entry is an images folder (labels
    found by the Ultralytics rule: the last ``images`` component becomes ``labels``), a labels
    folder, a split folder, a ``.txt`` list of image paths, or a list of these. A split named
    but absent is reported (``missing_split``) and left out; a YAML with no split entries
    leaves them to the folder layout. The same image listed in two splits stays in the first.
Darknet (CVAT's and Roboflow's "YOLO 1.1" export)
    ``obj.data`` names the class-names file (``names``), the split lists (``train``, ``valid``:
    val, ``test``) and ``classes`` (checked against the names). The paths in it and in the lists
    are as Darknet writes them (``data/obj_train_data/1.jpg``): they are found under the export's
    folder, never outside it (:mod:`._yolo_lists`). Files it names that are not there are
    reported (``missing_file``, ``missing_split``, ``missing_image``); label files no list names
    are reported (``unlisted_label``) and left out (:mod:`._yolo_darknet`).
Items
    Every image is an item (one without a label file is a background image); a label file
    without an image is an item too (``file_name`` guessed from its stem, size unknown, boxes
    normalised). Image sizes come from the headers (:mod:`.imagesize`), and boxes are then
    converted to pixels. A label file that cannot be read is reported and its item left out.
Lines
    ``class cx cy w h`` is a box; a 6th value (a score: a prediction file) is ignored and
    reported once per file; ``class x1 y1 x2 y2 ...`` (an odd count of at least 7) is a polygon:
    the box is its extent, ``pixels`` its area when the size is known. Any other line is
    reported (``bad_line`` or ``unknown_class``) with ``file:line`` and skipped.
Classes
    Categories keep the YOLO index as ``source_id``. Without a YAML, a ``classes.txt`` or
    ``obj.names`` beside the labels (labelImg, CVAT) names them; without either (or with only
    ``nc``), the indices seen are the names, in numeric order (reported once).
Groups
    Roboflow names augmented copies ``<stem>_<ext>.rf.<hash>``: copies of one source image
    share ``group`` = ``<stem>_<ext>``, so they stay in one split. Otherwise ``group`` is null.
"""
from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from ..dataset import Dataset, build_dataset, split_sort_key
from ..report import LoadError, LoadReport
from .files import decode_text, read_bytes
from ._yolo_layout import Source, names_file, resolve
from .imagesize import image_size

_ROBOFLOW_COPY = re.compile(r"^(?P<source>.+)\.rf\.[0-9a-fA-F]{8,}$")
_BAD_COUNT = "expected 5 (class cx cy w h), 6 (with a score) or an odd number of at least 7 (class and polygon)"


def extra_inputs(paths: Sequence[Path]) -> list[Path]:
    """The folders a YAML or ``.data`` file given by itself reads from (part of the cache key):
    its own folder and the root its entries are relative to."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            continue
        folders = [path.parent]
        try:
            folders.append(Path(resolve(path, LoadReport()).root))
        except LoadError:
            pass
        out += [f for f in folders if f.is_dir() and f not in out]
    return out


def read_yolo(paths: Sequence[str | Path], report: LoadReport | None = None, *, sizes: bool = True) -> Dataset:
    """Read YOLO labels (data.yaml files or folders) into one dataset.

    ``sizes`` (True): read image sizes from the image headers and convert boxes to pixels;
    False keeps every box normalised (faster on slow disks).
    """
    report = report if report is not None else LoadReport()
    sources = [resolve(Path(p), report) for p in paths]
    return replace(_assemble(sources, report, sizes), origin=_origin([s.file for s in sources]))


def _origin(files: list[str]) -> dict[str, Any] | None:
    """Where the export is laid out (:attr:`Dataset.origin`), for writers of YOLO files: of the
    first input that is a data.yaml or a folder, ``root`` (the folder image ids are relative to)
    and ``data_yaml`` (the YAML as read, None without one); ``inputs``: how many such inputs."""
    from .files import parse_yaml
    from ._yolo_layout import YAML_SUFFIXES, _base, _find_yaml

    inputs = [Path(f) for f in files if Path(f).suffix.lower() in YAML_SUFFIXES or Path(f).is_dir()]
    if not inputs:
        return None
    path = inputs[0]
    yaml_path = _find_yaml(path) if path.is_dir() else path
    root, doc = os.path.normpath(path), None
    if yaml_path is not None:
        try:
            doc = parse_yaml(decode_text(read_bytes(yaml_path), yaml_path, LoadReport()), yaml_path)
        except LoadError:
            doc = None
        doc = doc if isinstance(doc, dict) else None
        base = _base(doc, yaml_path, LoadReport()) if doc is not None else yaml_path.parent
        root = os.path.normpath(base)
    return {"root": root, "data_yaml": doc, "inputs": len(inputs)}


# --------------------------------------------------------------------------- reading the labels


class _Classes:
    """Categories of all sources by name; per source, YOLO index -> category row."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}
        self.source_ids: list[str] = []
        self.sort_keys: list[tuple[int, int]] = []

    def row(self, name: str, index: int, declared: bool) -> int:
        if name not in self.rows:
            self.rows[name] = len(self.source_ids)
            self.source_ids.append(str(index))
            self.sort_keys.append((0 if declared else 1, index if not declared else len(self.sort_keys)))
        return self.rows[name]

    def declare(self, names: dict[int, str], file: str, report: LoadReport) -> dict[int, int]:
        lookup, first = {}, {}
        for index, name in names.items():
            if name in first:
                report.add(file, f"names[{index}]", "duplicate_name",
                           f"class name {name!r} is given to indices {first[name]} and {index}", "merged into one class")
            first.setdefault(name, index)
            lookup[index] = self.row(name, index, True)
        return lookup


def _assemble(sources: list[Source], report: LoadReport, read_sizes: bool) -> Dataset:
    classes = _Classes()
    img: dict[str, list[Any]] = {k: [] for k in ("source_id", "file_name", "width", "height", "split", "group")}
    ann: dict[str, list[Any]] = {k: [] for k in ("image", "category", "source_id", "x", "y", "w", "h", "pixels")}
    files: list[str] = []
    seen: dict[str, str] = {}
    n_polygons = 0
    for source in sources:
        names = source.names
        if names is None:
            names = names_file(source, report)
        if names is None:
            report.add(source.file, "", "no_class_names", "no class names: no `names` in a data.yaml, no classes.txt",
                       "classes named by their YOLO index")
            lookup = None
        else:
            lookup = classes.declare(names, source.file, report)
        extensions = Counter(os.path.splitext(i.image)[1] for i in source.items if i.image and i.on_disk)
        default_ext = extensions.most_common(1)[0][0] if extensions else ".jpg"
        prefix = source.root.rstrip(os.sep) + os.sep
        source.items.sort(key=lambda i: (split_sort_key(i.split), i.image or i.label or ""))
        for item in source.items:
            path = item.image or item.label or ""
            rel = _relative(path, prefix)
            if path in seen:
                report.add(path, rel, "duplicate_image", f"listed in split {seen[path]} and again in {item.split}",
                           f"kept in {seen[path]} only")
                continue
            text = ""
            if item.label is not None:
                try:
                    text = decode_text(_read(item.label), item.label, report)
                except LoadError as exc:  # the image's objects are unknown: leave the image out too
                    report.add(item.label, rel, "unreadable_file", str(exc), "skipped")
                    continue
            seen[path] = item.split
            size = image_size(item.image) if read_sizes and item.image and item.on_disk else None
            if size is None and read_sizes and item.image and item.on_disk:
                report.add(item.image, rel, "unreadable_image", "the image header cannot be read",
                           "kept; size unknown, boxes normalised")
            stem = os.path.splitext(os.path.basename(path))[0]
            roboflow = _ROBOFLOW_COPY.match(stem)
            row = len(img["source_id"])
            img["source_id"].append(rel)
            img["file_name"].append(os.path.basename(item.image) if item.image else stem + (".jpg" if roboflow else default_ext))
            img["width"].append(size[0] if size else None)
            img["height"].append(size[1] if size else None)
            img["split"].append(item.split)
            img["group"].append(roboflow.group("source") if roboflow else None)
            if item.label is not None:
                label_rel = _relative(item.label, prefix) if item.image else rel
                before = len(ann["image"])
                n_polygons += _parse_lines(text, item.label, label_rel, row, size, lookup, classes, report, ann)
                files.extend([item.label] * (len(ann["image"]) - before))
    return _build(sources, img, ann, classes, files, n_polygons, report)


def _read(path: str) -> bytes:
    try:  # the plain call is the fast path; read_bytes words the error when it fails
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return read_bytes(path)


def _relative(path: str, root_prefix: str) -> str:
    """``path`` relative to the dataset root (``root_prefix`` ends with a separator), with ``/``."""
    rel = path[len(root_prefix):] if path.startswith(root_prefix) else os.path.relpath(path, root_prefix)
    return rel.replace(os.sep, "/")


def _parse_lines(text: str, file: str, rel: str, image: int, size: tuple[int, int] | None,
                 lookup: dict[int, int] | None, classes: _Classes, report: LoadReport, ann: dict[str, list]) -> int:
    """Append one label file's annotations to ``ann``; return how many were polygons."""
    width, height = size if size else (1, 1)
    polygons = 0
    scored = False
    isfinite = math.isfinite
    for lineno, line in enumerate(text.split("\n"), 1):
        parts = line.split()
        n = len(parts)
        if not n:
            continue
        record = f"{rel}:{lineno}"
        if n < 5 or (n > 6 and n % 2 == 0):
            report.add(file, record, "bad_line", f"line has {n} values; {_BAD_COUNT}", "skipped")
            continue
        try:
            values = [float(p) for p in parts]
        except ValueError:
            report.add(file, record, "bad_line", f"a value is not a number: {line.strip()[:80]!r}", "skipped")
            continue
        if not all(map(isfinite, values)):
            report.add(file, record, "bad_line", f"a value is NaN or infinite: {line.strip()[:80]!r}", "skipped")
            continue
        if not values[0].is_integer():
            report.add(file, record, "bad_line", f"class index {parts[0]!r} is not a whole number", "skipped")
            continue
        index = int(values[0])
        if lookup is None:
            category = classes.row(str(index), index, False) if index >= 0 else None
        else:
            category = lookup.get(index)
        if category is None:
            if lookup is None:
                problem = f"class index {index} is negative"
            else:
                declared = f"{min(lookup)}..{max(lookup)}" if lookup else "none"
                problem = f"class index {index} is not declared in `names` (indices {declared})"
            report.add(file, record, "unknown_class", problem, "skipped")
            continue
        if n <= 6:
            cx, cy, w, h = values[1:5]
            x, y, pixels = cx - w / 2, cy - h / 2, None
            if n == 6 and not scored:
                scored = True
                report.add(file, record, "score_column",
                           "lines have a 6th value (a confidence score): this looks like a prediction file",
                           "kept the boxes, ignored the scores")
        else:
            xs, ys = values[1::2], values[2::2]
            x, y = min(xs), min(ys)
            w, h = max(xs) - x, max(ys) - y
            twice_area = sum(xs[i - 1] * ys[i] - xs[i] * ys[i - 1] for i in range(len(xs)))
            pixels = abs(twice_area) / 2 * width * height if size else None
            polygons += 1
        ann["image"].append(image)
        ann["category"].append(category)
        ann["source_id"].append(record)
        ann["x"].append(x * width)
        ann["y"].append(y * height)
        ann["w"].append(w * width)
        ann["h"].append(h * height)
        ann["pixels"].append(pixels)
    return polygons


def _build(sources: list[Source], img: dict, ann: dict, classes: _Classes, files: list[str],
           n_polygons: int, report: LoadReport) -> Dataset:
    # Declared classes first in index order, then the index-named ones numerically.
    order = sorted(range(len(classes.source_ids)), key=classes.sort_keys.__getitem__)
    new_row = np.empty(len(order), dtype=np.int64)
    new_row[order] = np.arange(len(order))
    names = list(classes.rows)
    category = new_row[np.asarray(ann["category"], dtype=np.int64)] if ann["category"] else np.zeros(0, np.int64)
    n_ann = len(ann["image"])
    return build_dataset(
        images={k: (v if k not in ("width", "height") else pa.array(v, pa.int32())) for k, v in img.items()},
        annotations={**ann, "image": np.asarray(ann["image"], dtype=np.int64), "category": category},
        categories={"name": [names[i] for i in order], "source_id": [classes.source_ids[i] for i in order]},
        task="segmentation" if n_ann and n_polygons * 2 > n_ann else "detection",
        format="yolo",
        sources=[s.file for s in sources],
        report=report,
        annotation_files=files,
    )
