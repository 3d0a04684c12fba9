"""YOLO prediction ``.txt`` files -> the canonical detection table (format described in :mod:`imbal_core.io.predictions`).

Boxes are checked against the normalised image (0..1) as the ground-truth reader checks its
own: a box reaching past the border (``box_past_border``), lying wholly outside the image
(``box_outside_image``: pixel coordinates give these) or of non-positive size
(``non_positive_box``) is reported with its file and line. All are kept and evaluated as given,
as pycocotools evaluates results: a box outside the image is a false alarm.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

from ..dataset import Dataset
from ..report import LoadError, LoadReport
from ._files import decode_text, read_bytes
from ._prediction_matching import match_predictions
from ._prediction_parsing import MAX_REPORT_ROWS, parse_float, whole
from ._prediction_table import Predictions, detection_table

YOLO_SKIP = {"classes.txt", "notes.txt", "readme.txt", "labels.txt"}
_KEPT = "kept, evaluated as given"


def read_yolo_predictions(path: str | Path, dataset: Dataset | None = None, *,
                          names: Sequence[str] | None = None) -> Predictions:
    """A folder of YOLO prediction ``.txt`` files (or one file); see :mod:`imbal_core.io.predictions`.

    The image key is the file's path below the folder without its suffix (``val/img_01``),
    matched to the dataset by file name, then by stem. ``names`` maps class indices to names.
    """
    root = Path(path)
    report = LoadReport()
    if root.is_dir():
        files = sorted(p for p in root.rglob("*.txt") if p.name.lower() not in YOLO_SKIP and not p.name.startswith("."))
        if not files:
            raise LoadError(f"{root}: no .txt prediction files in this folder.", report, str(root))
    else:
        files, root = [root], root.parent
    label_of = {str(i): str(n) for i, n in enumerate(names)} if names is not None else None
    cols: dict[str, list] = {k: [] for k in ("image", "label", "score", "x", "y", "w", "h", "record")}
    box_problems: Counter[str] = Counter()
    for file in files:
        key = file.relative_to(root).with_suffix("").as_posix()
        text = decode_text(read_bytes(file), file, report)
        unscored = 0
        for number, line in enumerate(text.splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            where = f"{file.name}:{number}"
            values = [parse_float(v) for v in parts[1:]]
            if len(parts) not in (5, 6) or any(v is None for v in values) or whole(parse_float(parts[0])) is None:
                report.add(file, where, "bad_line",
                           f"line {line.strip()!r:.60} is not `class cx cy w h [conf]` with numbers", "skipped")
                continue
            index = whole(parse_float(parts[0]))
            label = label_of.get(index, index) if label_of is not None else index
            if label_of is not None and index not in label_of:
                report.add(file, where, "unknown_class", f"class index {index} is beyond the {len(label_of)} names", "skipped")
                continue
            cx, cy, w, h = values[:4]
            problem = box_problem(cx, cy, w, h)
            if problem is not None:
                box_problems[problem[0]] += 1
                if box_problems[problem[0]] <= MAX_REPORT_ROWS:
                    report.add(file, where, *problem, _KEPT)
            score = values[4] if len(values) == 5 else None
            if score is None:
                unscored += 1
                score = 1.0
            cols["image"].append(key)
            cols["label"].append(label)
            cols["score"].append(score)
            for k, v in (("x", cx - w / 2), ("y", cy - h / 2), ("w", w), ("h", h)):
                cols[k].append(v)
            cols["record"].append(where)
        if unscored:
            report.add(file, file.name, "no_score", f"{unscored} lines have no confidence", "scored 1.0")
    for code, count in box_problems.items():
        if count > MAX_REPORT_ROWS:
            report.add(root, "…", code, f"and {count - MAX_REPORT_ROWS:,} more lines (the report lists the first "
                       f"{MAX_REPORT_ROWS:,})", _KEPT)
    for k in ("rle_counts", "rle_height", "rle_width", "polygons"):
        cols[k] = [None] * len(cols["image"])
    table = detection_table(cols)
    preds = Predictions("detection", table, "yolo", str(path), report)
    return match_predictions(preds, dataset) if dataset is not None else preds


def box_problem(cx: float, cy: float, w: float, h: float) -> tuple[str, str] | None:
    """``(code, problem)`` of a normalised YOLO box that does not fit the 0..1 image, else None:
    the ground-truth reader's checks (:func:`imbal_core.dataset.build_dataset`), in the file's terms."""
    box = f"box (cx {cx:g}, cy {cy:g}, w {w:g}, h {h:g})"
    if w <= 0 or h <= 0:
        return "non_positive_box", f"{box} of non-positive size"
    x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    if x1 >= 1 or y1 >= 1 or x2 <= 0 or y2 <= 0:
        return "box_outside_image", (f"{box} lies wholly outside the normalised 1x1 image (pixel coordinates? "
                                     f"YOLO coordinates are fractions of the image size)")
    if x1 < 0 or y1 < 0 or x2 > 1 or y2 > 1:
        return "box_past_border", f"{box} reaches past the border of the normalised 1x1 image"
    return None
