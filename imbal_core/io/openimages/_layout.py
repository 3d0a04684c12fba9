"""Which Open Images files are where: the annotation folder, the images folder, each CSV's kind.

A CSV's kind comes from its header (the first line), not its name, so renamed files still read;
V5's class-descriptions file has no header, its first field is a class id (``/m/...``).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

from ...report import LoadError, LoadReport
from ..files import skip_undecodable_name

CsvKind = Literal["descriptions", "images", "boxes", "labels", "machine_labels", "segmentation", "points",
                  "relationships", "unknown"]
#: What the kinds this reader does not read hold, for the report.
NOT_READ: dict[str, str] = {
    "machine_labels": "machine-generated image-level labels (not human-verified)",
    "segmentation": "the instance-mask index (masks are not read; the boxes are)",
    "points": "V7 point-level labels (sparse points per class, not instances)",
    "relationships": "visual relationships between boxes",
    "unknown": "a CSV without Open Images column names",
}
_CLASS_ID = ("/m/", "/g/")
_HEAD = 1 << 16


@dataclass
class Files:
    """The files of one or several Open Images exports, by kind, and the image folders."""

    csvs: dict[str, list[Path]] = field(default_factory=dict)
    hierarchies: list[Path] = field(default_factory=list)
    image_folders: list[Path] = field(default_factory=list)
    #: The images on disk are images of the dataset (a folder was given); else they only give sizes.
    images_on_disk: bool = False
    other: list[Path] = field(default_factory=list)  # neither CSV nor hierarchy: reported

    def of(self, kind: str) -> list[Path]:
        return self.csvs.get(kind, [])


def header_fields(path: Path) -> list[str]:
    """The first line's fields, stripped (a BOM dropped); [] when unreadable or empty."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD)
    except OSError:
        return []
    line = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace")
    try:
        return [cell.strip() for cell in next(csv.reader([line]), [])]
    except csv.Error:
        return []


def csv_kind(path: Path) -> CsvKind:
    """The kind of an Open Images CSV from its header; a name that says ``bbox`` or ``imagelabels``
    decides when the header is short of its kind's columns (the reader then names the missing ones)."""
    kind = _kind_of_header(header_fields(path), path.name.lower())
    if kind in ("unknown", "labels", "machine_labels") and "bbox" in path.name.lower():
        return "boxes"
    if kind == "unknown" and "imagelabels" in path.name.lower():
        return "machine_labels" if "machine" in path.name.lower() else "labels"
    return kind


def _kind_of_header(fields: list[str], name: str) -> CsvKind:
    names = set(fields)
    if fields and fields[0].startswith(_CLASS_ID):
        return "descriptions"  # V5: no header row
    if {"LabelName", "DisplayName"} <= names:
        return "descriptions"
    if {"ImageID", "LabelName", "XMin", "XMax", "YMin", "YMax"} <= names and "MaskPath" not in names:
        return "boxes"
    if "MaskPath" in names:
        return "segmentation"
    if "EstimatedYesNo" in names or {"ImageId", "Label", "X", "Y"} <= names:
        return "points"
    if {"LabelName1", "LabelName2"} <= names:
        return "relationships"
    if {"ImageID", "LabelName", "Confidence"} <= names:
        return "machine_labels" if "machine" in name else "labels"
    if {"ImageID", "Subset"} <= names:
        return "images"
    return "unknown"


def is_hierarchy(path: Path) -> bool:
    return path.suffix.lower() == ".json" and "hierarchy" in path.name.lower()


def find(paths: Sequence[str | Path], report: LoadReport | None = None) -> Files:
    """Classify the inputs: folders (an Open Images root with ``annotations/`` and ``images/``,
    or a folder of CSVs) and files (CSVs, the hierarchy JSON). A file whose name is not UTF-8 is
    reported and left out."""
    report = report if report is not None else LoadReport()
    files = Files()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            annotations = path / "annotations" if (path / "annotations").is_dir() else path
            found = sorted(p for p in annotations.iterdir() if p.is_file() and not p.name.startswith("."))
            if not any(p.suffix.lower() == ".csv" for p in found):
                raise LoadError(f"{path}: not an Open Images folder — no CSV files in it or in annotations/.",
                                file=str(path))
            _add_images_folder(files, annotations)
            files.images_on_disk = True
            for file in found:
                if not skip_undecodable_name(file, report, file.name):
                    _add(files, file)
        elif path.is_file():
            _add_images_folder(files, path.parent)
            if not skip_undecodable_name(path, report, path.name):
                _add(files, path)
            for beside in sorted(path.parent.glob("*.json")):  # the hierarchy, when only CSVs are given
                if is_hierarchy(beside) and beside not in files.hierarchies:
                    files.hierarchies.append(beside)
        else:
            raise LoadError(f"{path}: no such file or folder.", file=str(path))
    return files


def _add(files: Files, path: Path) -> None:
    if path.suffix.lower() == ".csv":
        bucket = files.csvs.setdefault(csv_kind(path), [])
        if path not in bucket:
            bucket.append(path)
    elif is_hierarchy(path):
        if path not in files.hierarchies:
            files.hierarchies.append(path)
    elif path not in files.other:
        files.other.append(path)


def _add_images_folder(files: Files, annotations: Path) -> None:
    """``images/`` beside the CSVs, or beside the ``annotations/`` folder holding them."""
    candidates = [annotations / "images"]
    if annotations.name.lower() == "annotations":
        candidates.append(annotations.parent / "images")
    for candidate in candidates:
        if candidate.is_dir() and candidate not in files.image_folders:
            files.image_folders.append(candidate)
            return
