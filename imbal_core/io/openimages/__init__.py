"""Open Images (V5, V6, V7) CSVs -> canonical detection or classification dataset.

Input: an Open Images folder (CSVs in it or in ``annotations/``, images in ``images/<subset>/``
beside them), or the CSV files (the hierarchy JSON beside them is read too). Each CSV's kind is
read from its header (:mod:`._layout`), so V5's, V6's (``oidv6-...``) and V7's names all work.

- ``level`` ("auto"): "boxes" reads the box files (``*-annotations-bbox.csv``) as a detection
  dataset; "labels" reads the human-verified image-level labels
  (``*-annotations-human-imagelabels.csv``) as a classification dataset, one annotation per
  (image, class) with ``Confidence`` 1. "auto" is "boxes" when there is a box file, else "labels".
  The other level's files are not counted; one report row per file says what they hold.
- ``Confidence`` 0 is a *verified absent* class: a verified negative, never a label; such rows are
  counted in one report row per file (``verified_negative``). A pair listed twice is counted once.
- Boxes: ``XMin .. YMax`` are fractions of the image: times the image size where it is known, else
  kept normalised (0..1). ``IsGroupOf`` sets ``iscrowd`` (a box around a group, as COCO's crowd),
  ``IsTruncated`` and ``IsOccluded`` the canonical ``truncated`` and ``occluded``. ``IsOccluded``,
  ``IsTruncated``, ``IsDepiction`` and ``IsInside`` are per box while conditions are per image: with
  ``flag_conditions`` (True) they become the image conditions ``occluded``, ``truncated``,
  ``depiction`` and ``inside`` (yes / no, ``mixed`` where an image's boxes differ:
  :mod:`.._object_flags`). -1 is unknown.
- Images: the image lists (``image_ids_and_rotation.csv``, ``*-images-with-rotation.csv``), the
  ids in the files read, and the image files in ``images/<subset>/``. The split is the list's
  ``Subset``, else the file name's (``validation-annotations-bbox.csv`` -> val), else the image
  folder's; disagreements are reported (``split_conflict``, the first kept). Sizes are read from
  the image headers when the images are there (``sizes``).
- Classes: the class descriptions (``LabelName,DisplayName``) give the names (:mod:`._classes`);
  at level "boxes" a ``*boxable*`` descriptions file, when given, declares the classes, else every
  described class is declared. A class id no description names is reported (``unknown_class``)
  and kept under its id. ``bbox_labels_600_hierarchy.json`` gives each class's parent as its
  ``supercategory`` (the label hierarchy the Hierarchy page rolls up and merges along).
- Not read, one report row each: segmentation index, V7 point labels, relationships,
  machine-generated labels, unknown CSVs, other files (``not_read``).
"""
from __future__ import annotations

from itertools import chain
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...dataset import Dataset, build_dataset
from ...report import LoadError, LoadReport
from .._object_flags import add_flag_conditions
from ._classes import read_descriptions, read_hierarchy, unique_names
from ._images import Images
from ._layout import NOT_READ, Files, find
from ._rows import FLAGS, Rows, read_boxes, read_labels

Level = Literal["auto", "boxes", "labels"]
LEVELS: tuple[Level, ...] = ("auto", "boxes", "labels")
#: Flags kept as image conditions (``IsGroupOf`` is ``iscrowd``).
CONDITION_FLAGS = ("IsOccluded", "IsTruncated", "IsDepiction", "IsInside")

__all__ = ["LEVELS", "extra_inputs", "read_openimages"]


def read_openimages(paths: Sequence[str | Path], report: LoadReport | None = None, *, level: Level = "auto",
                    sizes: bool = True, flag_conditions: bool = True) -> Dataset:
    """Read Open Images CSVs into one dataset.

    ``level`` ("auto"): "boxes", "labels" or "auto" (see the module doc). ``sizes`` (True): read
    image sizes from the image headers. ``flag_conditions`` (True): make the box flags conditions.
    """
    if level not in LEVELS:
        raise ValueError(f"`level` must be one of {list(LEVELS)}. Got {level!r} instead.")
    report = report if report is not None else LoadReport()
    if not paths:
        raise LoadError("No input: give an Open Images folder or its CSV files.")
    files = find(paths, report)
    if level == "auto":
        level = "boxes" if files.of("boxes") else "labels"
    if not files.of("boxes") and not files.of("labels"):
        report.add(str(paths[0]), "", "no_annotations", "no box file and no human-verified image-level label file",
                   "read the images and classes only")
    _report_not_read(files, level, report)
    read = [read_boxes(p, report) for p in files.of("boxes")] if level == "boxes" else \
        [read_labels(p, report) for p in files.of("labels")]
    if level == "labels":
        read = [_positive_labels(rows, report) for rows in read]
    images = Images(files, read, report, sizes)
    categories, row_of = _categories(files, level, read, report)
    anns: dict[str, object] = {}
    n = sum(len(r) for r in read)
    if n:
        image_ids = pa.concat_arrays([r.columns["ImageID"] for r in read])
        labels = pa.concat_arrays([r.columns["LabelName"] for r in read])
        anns = {"image": images.rows(image_ids), "category": pc.index_in(labels, value_set=row_of).to_numpy(),
                "source_id": pa.concat_arrays([r.records for r in read])}
        if level == "boxes":
            anns.update(_boxes(read, anns["image"], images))
    dataset = build_dataset(
        images=images.columns(), annotations=anns, categories=categories,
        task="detection" if level == "boxes" else "classification", format="openimages",
        sources=[str(p) for p in paths], report=report,
        annotation_files=list(chain.from_iterable([str(r.path)] * len(r) for r in read)) if n else None,
    )
    if level != "boxes" or not n:
        return dataset
    flags = {FLAGS[c]: _yes_no(pa.concat_arrays([r.columns[c] for r in read])) for c in CONDITION_FLAGS}
    return add_flag_conditions(dataset, flags, anns["source_id"], report, str(paths[0]), flag_conditions)


def extra_inputs(paths: list[Path]) -> list[Path]:
    """The hierarchy JSON and image folders read beside CSV files given one by one."""
    files = find([p for p in paths if p.is_file()]) if any(p.is_file() for p in paths) else Files()
    return files.hierarchies + files.image_folders


# --------------------------------------------------------------------------- what is not read


def _report_not_read(files: Files, level: str, report: LoadReport) -> None:
    for kind, what in NOT_READ.items():
        for path in files.of(kind):
            report.add(path, path.name, "not_read", f"{what}", "ignored")
    for path in files.other:
        report.add(path, path.name, "not_read", "not an Open Images CSV or hierarchy", "ignored")
    other = "labels" if level == "boxes" else "boxes"
    what = "image-level label rows (verified present or absent)" if other == "labels" else "boxes"
    for path in files.of(other):
        report.add(path, path.name, "not_read", f"{_data_lines(path):,} {what}: not counted, the dataset holds "
                   f"the {level}", f"ignored (read it with level='{other}')")


def _data_lines(path: Path) -> int:
    """Lines after the header (a last line without a newline counts), without parsing the file."""
    count, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            count, last = count + chunk.count(b"\n"), chunk[-1:]
    return max(count + (last != b"\n") - 1, 0)


def _positive_labels(rows: Rows, report: LoadReport) -> Rows:
    """The verified-present labels, each (image, class) once; negatives and repeats counted in the report."""
    present = rows.columns["present"]
    negatives = len(rows) - int(pc.sum(present).as_py() or 0)
    if negatives:
        classes = pc.count_distinct(pc.filter(rows.columns["LabelName"], pc.invert(present))).as_py()
        report.add(rows.path, rows.path.name, "verified_negative",
                   f"{negatives:,} rows with Confidence 0 (verified absent) over {classes:,} classes: verified "
                   "negatives, not labels", "counted here only")
    keep = {k: v.filter(present) for k, v in rows.columns.items() if k != "present"}
    records = rows.records.filter(present)
    pairs = pc.binary_join_element_wise(keep["ImageID"], keep["LabelName"], "\x1f")
    _, first = np.unique(pc.dictionary_encode(pairs).indices.to_numpy(zero_copy_only=False), return_index=True)
    if len(first) < len(pairs):
        report.add(rows.path, rows.path.name, "duplicate_label",
                   f"{len(pairs) - len(first):,} (image, class) pairs are listed again", "counted once")
        take = pa.array(np.sort(first))
        keep, records = {k: v.take(take) for k, v in keep.items()}, records.take(take)
    return Rows(rows.path, keep, records)


# --------------------------------------------------------------------------- classes and boxes


def _categories(files: Files, level: str, read: list[Rows], report: LoadReport) -> tuple[dict, pa.Array]:
    described: dict[str, str] = {}
    declared: list[str] = []
    boxable = [p for p in files.of("descriptions") if "boxable" in p.name.lower()]
    for path in files.of("descriptions"):
        names = read_descriptions(path, report)
        for label, name in names.items():
            described.setdefault(label, name)
        if level != "boxes" or not boxable or path in boxable:
            declared += [label for label in names if label not in declared]
    if not files.of("descriptions"):
        report.add(str(read[0].path) if read else "", "", "no_class_names",
                   "no class descriptions file: classes are named by their ids", "kept")
    used = pc.unique(pa.concat_arrays([r.columns["LabelName"] for r in read])).to_pylist() if read else []
    known = set(declared)
    unknown = sorted(label for label in used if label not in known)
    for label in unknown:
        if files.of("descriptions") and label not in described:
            report.add(str(read[0].path), label, "unknown_class", f"class id {label!r} is in no class description",
                       "kept, named by its id")
    ids = declared + unknown
    parents: dict[str, str] = {}
    for path in files.hierarchies:
        for child, parent in read_hierarchy(path, report).items():
            parents.setdefault(child, parent)
    names = unique_names(ids, described, str(next(iter(files.of("descriptions")), "")), report)
    name_of = dict(zip(ids, names))
    supers = [name_of.get(parents[i], described.get(parents[i], parents[i])) if i in parents else None for i in ids]
    return {"name": names, "source_id": ids, "supercategory": supers}, pa.array(ids, pa.string())


def _boxes(read: list[Rows], image: np.ndarray, images: Images) -> dict[str, object]:
    """Boxes in pixels where the image size is known, else as fractions; the crowd, truncated, occluded flags."""
    width, height = images.sizes(image)
    x_min, x_max, y_min, y_max = (np.concatenate([r.columns[c].to_numpy(zero_copy_only=False) for r in read])
                                  for c in ("XMin", "XMax", "YMin", "YMax"))
    return {"x": x_min * width, "y": y_min * height, "w": (x_max - x_min) * width, "h": (y_max - y_min) * height,
            "iscrowd": pa.concat_arrays([r.columns["IsGroupOf"] for r in read]),
            "truncated": pa.concat_arrays([r.columns["IsTruncated"] for r in read]),
            "occluded": pa.concat_arrays([r.columns["IsOccluded"] for r in read])}


def _yes_no(flags: pa.Array) -> pa.Array:
    return pc.if_else(flags, "yes", "no")
