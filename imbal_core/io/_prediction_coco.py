"""COCO results JSON -> the canonical detection table (format described in :mod:`imbal_core.io.predictions`)."""
from __future__ import annotations

from pathlib import Path

from ..dataset import Dataset
from ..report import LoadError, LoadReport
from ._files import parse_json, read_bytes
from ._prediction_matching import match_predictions
from ._prediction_parsing import coco_record
from ._prediction_table import Predictions, detection_table


def read_coco_results(path: str | Path, dataset: Dataset | None = None) -> Predictions:
    """A COCO results JSON (see :mod:`imbal_core.io.predictions`); matched to ``dataset`` when given."""
    path = str(path)
    report = LoadReport()
    doc = parse_json(read_bytes(path), path, report)
    if isinstance(doc, dict) and isinstance(doc.get("annotations"), list):
        records = doc["annotations"]
    elif isinstance(doc, list):
        records = doc
    else:
        raise LoadError(f"{path}: not a COCO results file — expected a list of detections, found a "
                        f"{type(doc).__name__}.", report, path)
    cols: dict[str, list] = {k: [] for k in ("image", "label", "score", "x", "y", "w", "h", "rle_counts",
                                             "rle_height", "rle_width", "polygons", "record")}
    for i, rec in enumerate(records):
        where = f"{Path(path).name}[{i}]"
        problem = coco_record(rec, cols, where)
        if problem:
            report.add(path, where, "bad_record", problem, "skipped")
    table = detection_table(cols)
    preds = Predictions("detection", table, "coco", path, report)
    return match_predictions(preds, dataset) if dataset is not None else preds
