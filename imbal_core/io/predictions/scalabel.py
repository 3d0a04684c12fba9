"""Scalabel / BDD100K predictions -> the canonical detection table.

The same JSON as the ground truth (:mod:`imbal_core.io.scalabel`): a list of frames, or
``{"frames": [...], "config": ...}``, or one frame; a file or a folder of them (``*.json`` in the
folder and one below). Each label with a ``score`` is one prediction:

- the image key is ``<videoName>/<name>`` (or ``name``), as the ground-truth reader's ``source_id``,
  matched to the dataset by that, then by file name, then by base name;
- the class is ``category``, matched to the dataset's class names;
- ``box2d`` (x1, y1, x2, y2 in pixels, as written: w = x2 - x1) is the box; ``poly2d`` gives the
  closed polygons as the mask (and their extent as the box, when there is no ``box2d``); an open
  polyline is a box without a mask; ``rle`` (``counts``, ``size`` [h, w]: COCO's RLE) is a mask;
- a label without ``score`` is scored 1.0 (counted in one report row per file); a label with
  another shape (``box3d`` ...) is counted per kind and file and left out; a malformed label or
  frame is reported with ``<file>:<frame>#<label id>`` and skipped.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ...dataset import Dataset
from ...report import LoadError, LoadReport, excerpt
from ..files import parse_json, read_bytes
from .matching import match_predictions
from .parsing import MAX_REPORT_ROWS, number, parse_rle
from .table import Predictions, detection_table
from .._scalabel_labels import BadShape, other_shape, shape


def scalabel_files(path: Path) -> list[Path]:
    """The JSON files of a Scalabel predictions path: the file, or ``*.json`` in the folder and one below."""
    if not path.is_dir():
        return [path]
    files = sorted(path.glob("*.json")) + sorted(path.glob("*/*.json"))
    if not files:
        raise LoadError(f"{path}: no .json prediction files here or one folder down.", file=str(path))
    return files


def read_scalabel_predictions(path: str | Path, dataset: Dataset | None = None) -> Predictions:
    """Scalabel / BDD100K predictions (see this module); matched to ``dataset`` when given."""
    root = Path(path)
    report = LoadReport()
    cols: dict[str, list] = {k: [] for k in ("image", "label", "score", "x", "y", "w", "h", "rle_counts",
                                             "rle_height", "rle_width", "polygons", "record")}
    for file in scalabel_files(root):
        _read_file(file, cols, report)
    table = detection_table(cols)
    preds = Predictions("detection", table, "scalabel", str(path), report)
    return match_predictions(preds, dataset) if dataset is not None else preds


def _frames(doc: Any, file: Path, report: LoadReport) -> list:
    if isinstance(doc, dict) and isinstance(doc.get("frames"), list):
        return doc["frames"]
    if isinstance(doc, dict) and "name" in doc and "labels" in doc:
        return [doc]
    if isinstance(doc, list):
        return doc
    kind = "an object without `frames`" if isinstance(doc, dict) else type(doc).__name__
    raise LoadError(f"{file}: not Scalabel / BDD100K predictions — the top level is {kind}, not a list of frames.",
                    report, str(file))


def _read_file(file: Path, cols: dict[str, list], report: LoadReport) -> None:
    frames = _frames(parse_json(read_bytes(file), file, report), file, report)
    unscored = 0
    bad = 0
    kinds: Counter[str] = Counter()
    for index, frame in enumerate(frames):
        where = f"{file.name}:frames[{index}]"
        name = frame.get("name") if isinstance(frame, dict) else None
        video = frame.get("videoName") if isinstance(frame, dict) else None
        labels = frame.get("labels") if isinstance(frame, dict) else None
        problem = None
        if not isinstance(frame, dict):
            problem = f"frame is {excerpt(frame)}, not an object"
        elif not isinstance(name, str) or not name.strip():
            problem = f"frame name is {'missing' if name is None else excerpt(name)}, not a file name"
        elif video is not None and not isinstance(video, str):
            problem = f"videoName {excerpt(video)} is not text"
        elif labels is not None and not isinstance(labels, list):
            problem = f"labels is {excerpt(labels)}, not a list"
        if problem is not None:
            bad += 1
            if bad <= MAX_REPORT_ROWS:
                report.add(file, where, "bad_record", problem, "skipped")
            continue
        key = f"{video}/{name}" if video else name
        for position, label in enumerate(labels or []):
            outcome = _label(label, key, f"{file.name}:{key}", position, cols)
            if outcome == "unscored":
                unscored += 1
            elif outcome is not None and outcome.startswith("shape:"):
                kinds[outcome[len("shape:"):]] += 1
            elif outcome is not None:
                bad += 1
                if bad <= MAX_REPORT_ROWS:
                    label_id = label.get("id") if isinstance(label, dict) else None
                    record = f"{file.name}:{key}#{label_id if isinstance(label_id, (str, int)) else position}"
                    report.add(file, record, "bad_record", outcome, "skipped")
    if bad > MAX_REPORT_ROWS:
        report.add(file, "…", "bad_record", f"and {bad - MAX_REPORT_ROWS:,} more (the report lists the first "
                   f"{MAX_REPORT_ROWS:,})", "skipped")
    for kind, count in kinds.items():
        report.add(file, kind, "unsupported_shape", f"{count:,} label(s) with {kind}: neither box2d, poly2d nor rle",
                   "skipped")
    if unscored:
        report.add(file, file.name, "no_score", f"{unscored:,} labels have no score", "scored 1.0")


def _label(label: Any, key: str, where: str, position: int, cols: dict[str, list]) -> str | None:
    """Append one label; return None, ``"unscored"`` (appended, scored 1.0), ``"shape:<kind>"``
    (another shape, left out) or the problem that kept it out."""
    if not isinstance(label, dict):
        return f"label is {excerpt(label)}, not an object"
    category = label.get("category")
    if not isinstance(category, str) or not category.strip():
        return f"label category is {'missing' if category is None else excerpt(category)}, not a class name"
    raw_score = label.get("score")
    score = number(raw_score)
    if raw_score is not None and score is None:
        return f"score {excerpt(raw_score)} is not a finite number"
    try:
        found = shape(label)
    except BadShape as exc:
        return str(exc)
    rle = None
    if label.get("rle") is not None:
        rle = parse_rle(label["rle"]) if isinstance(label["rle"], dict) else None
        if rle is None:
            return "rle is not an RLE with `size` [height, width] and `counts`"
    if found is None and rle is None:
        return f"shape:{other_shape(label)}"
    x = y = w = h = None
    if found is not None:
        x, y, w, h = found.box
    polygons = _closed_polygons(label.get("poly2d")) if rle is None else None
    cols["image"].append(key)
    cols["label"].append(category.strip())
    cols["score"].append(1.0 if score is None else score)
    for k, v in (("x", x), ("y", y), ("w", w), ("h", h)):
        cols[k].append(v)
    cols["rle_counts"].append(rle[0] if rle else None)
    cols["rle_height"].append(rle[1] if rle else None)
    cols["rle_width"].append(rle[2] if rle else None)
    cols["polygons"].append(polygons)
    label_id = label.get("id")
    cols["record"].append(f"{where}#{label_id if isinstance(label_id, (str, int)) else position}")
    return "unscored" if score is None else None


def _closed_polygons(polys: Any) -> list[list[float]] | None:
    """The closed polygons of a (checked) ``poly2d`` as COCO's flat ``[x1, y1, x2, y2, ...]``; None
    when there is none (no poly2d, or only open polylines)."""
    if polys is None:
        return None
    if isinstance(polys, dict):
        polys = [polys]
    out = [[float(v) for vertex in poly["vertices"] for v in vertex] for poly in polys
           if poly.get("closed", True) is not False and len(poly["vertices"]) >= 3]
    return out or None
