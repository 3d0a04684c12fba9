"""YOLO prediction ``.txt`` files -> the canonical detection table (format described in :mod:`imbal_core.io.predictions`)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..dataset import Dataset
from ..report import LoadError, LoadReport
from ._files import decode_text, read_bytes
from ._prediction_matching import match_predictions
from ._prediction_parsing import parse_float, whole
from ._prediction_table import Predictions, detection_table

YOLO_SKIP = {"classes.txt", "notes.txt", "readme.txt", "labels.txt"}


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
    for k in ("rle_counts", "rle_height", "rle_width", "polygons"):
        cols[k] = [None] * len(cols["image"])
    table = detection_table(cols)
    preds = Predictions("detection", table, "yolo", str(path), report)
    return match_predictions(preds, dataset) if dataset is not None else preds
