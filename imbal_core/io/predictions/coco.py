"""COCO results JSON -> the canonical detection table (format described in :mod:`imbal_core.io.predictions`).

Besides the detections, the file names of the images are kept when the file gives them — a full
COCO file's ``images`` (``id`` -> ``file_name``), or a ``file_name`` on each result — and so are a
full file's ``categories`` (``id`` -> ``name``): with them a file whose ids are its own is matched
to the dataset by file name and class name (:mod:`.names`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ...dataset import Dataset
from ...report import LoadError, LoadReport, excerpt
from ..files import parse_json, read_bytes, safe_name
from .matching import match_predictions
from .parsing import coco_record, whole
from .table import Predictions, detection_table


def read_coco_results(path: str | Path, dataset: Dataset | None = None) -> Predictions:
    """A COCO results JSON (see :mod:`imbal_core.io.predictions`); matched to ``dataset`` when given."""
    path = str(path)
    report = LoadReport()
    doc = parse_json(read_bytes(path), path, report)
    image_names = _Names("image", "file_name", path, report)
    label_names = _Names("category", "name", path, report)
    if isinstance(doc, dict) and isinstance(doc.get("annotations"), list):
        records = doc["annotations"]
        image_names.add_records(doc.get("images"), "images")
        label_names.add_records(doc.get("categories"), "categories")
    elif isinstance(doc, list):
        records = doc
    else:
        raise LoadError(f"{path}: not a COCO results file — expected a list of detections, found a "
                        f"{type(doc).__name__}.", report, path)
    cols: dict[str, list] = {k: [] for k in ("image", "label", "score", "x", "y", "w", "h", "rle_counts",
                                             "rle_height", "rle_width", "polygons", "record")}
    for i, rec in enumerate(records):
        where = f"{safe_name(Path(path).name)}[{i}]"
        problem = coco_record(rec, cols, where)
        if problem:
            report.add(path, where, "bad_record", problem, "skipped")
        elif isinstance(rec.get("file_name"), str) and rec["file_name"].strip():
            image_names.add(cols["image"][-1], rec["file_name"], where)
    table = detection_table(cols)
    preds = Predictions("detection", table, "coco", path, report, image_names=image_names.result(),
                        label_names=label_names.result())
    return match_predictions(preds, dataset) if dataset is not None else preds


class _Names:
    """Ids to names (images to file names, categories to names); an id named two ways is reported
    and left unnamed — which of the two is meant cannot be known."""

    def __init__(self, what: str, field: str, file: str, report: LoadReport):
        self.what, self.field, self.file, self.report = what, field, file, report
        self.names: dict[str, str] = {}
        self.conflicts: set[str] = set()

    def add(self, key: str, name: str, where: str) -> None:
        name = name.strip()
        old = self.names.setdefault(key, name)
        if old != name and key not in self.conflicts:
            self.conflicts.add(key)
            self.report.add(self.file, where, "conflicting_name",
                            f"{self.what} {excerpt(key, 20)} is named both {excerpt(old, 60)} and {excerpt(name, 60)}",
                            f"not matched by {self.field}")

    def add_records(self, records: Any, section: str) -> None:
        """A full COCO file's ``images`` or ``categories`` list; a record without an id or a name is reported."""
        if records is None:
            return
        if not isinstance(records, list):
            self.report.add(self.file, section, "bad_record", f"`{section}` is {excerpt(records, 40)}, not a list",
                            "ignored")
            return
        bad = 0
        for i, rec in enumerate(records):
            key = whole(rec.get("id")) if isinstance(rec, dict) else None
            name = rec.get(self.field) if isinstance(rec, dict) else None
            if key is None or not isinstance(name, str) or not name.strip():
                bad += 1
                if bad == 1:
                    self.report.add(self.file, f"{section}[{i}]", "bad_record",
                                    f"{self.what} record {excerpt(rec, 60)} lacks a whole-number `id` or a "
                                    f"`{self.field}`", "ignored")
                continue
            self.add(key, name, f"{section}[{i}]")
        if bad > 1:
            self.report.add(self.file, section, "bad_record", f"{bad:,} {self.what} records in `{section}` lack a "
                            f"whole-number `id` or a `{self.field}` (the first is reported above)", "ignored")

    def result(self) -> dict[str, str]:
        return {k: v for k, v in self.names.items() if k not in self.conflicts}
