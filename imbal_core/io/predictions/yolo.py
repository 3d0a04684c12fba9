"""YOLO prediction ``.txt`` files -> the canonical detection table (format described in :mod:`imbal_core.io.predictions`).

A line's columns follow a layout (:func:`yolo_layout`): Ultralytics' ``cls x y w h conf`` by
default, where ``x y`` is the box centre and ``conf`` may be left out (the line is scored 1.0,
reported once per file). Coordinates are fractions of the image size (``coords="normalized"``,
the default) or pixels (``coords="pixels"``).

Normalised boxes are checked against the 0..1 image as the ground-truth reader checks its own: a
box reaching past the border (``box_past_border``), lying wholly outside the image
(``box_outside_image``: pixel coordinates give these; the message suggests ``coords=pixels``) or
of non-positive size (``non_positive_box``) is reported with its file and line. Pixel boxes are
checked for their size only, and a folder whose every box lies within 0..1 in pixel mode is
reported (``coords_look_normalized``). All boxes are kept and evaluated as given, as pycocotools
evaluates results: a box outside the image is a false alarm.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from ...dataset import Dataset
from ...report import LoadError, LoadReport, excerpt
from ..files import decode_text, read_bytes
from .matching import match_predictions
from .parsing import MAX_REPORT_ROWS, parse_float, whole
from .table import Predictions, detection_table

YOLO_SKIP = {"classes.txt", "notes.txt", "readme.txt", "labels.txt"}
_KEPT = "kept, evaluated as given"

Coords = Literal["normalized", "pixels"]
COORDS: tuple[str, ...] = ("normalized", "pixels")
#: The columns a layout orders: class index, box centre x and y, width, height, confidence.
LAYOUT_COLUMNS: tuple[str, ...] = ("cls", "x", "y", "w", "h", "conf")
DEFAULT_LAYOUT: tuple[str, ...] = ("cls", "x", "y", "w", "h", "conf")  # Ultralytics' `save_txt` with `save_conf`
_ALIASES = {"class": "cls", "score": "conf", "confidence": "conf", "cx": "x", "cy": "y",
            "width": "w", "height": "h", "normalised": "normalized"}


@dataclass(frozen=True)
class YoloLayout:
    """The columns of a prediction line, in order, and what the coordinates are in."""

    columns: tuple[str, ...] = DEFAULT_LAYOUT
    coords: Coords = "normalized"

    @property
    def conf_optional(self) -> bool:
        """A line may leave out ``conf`` when it is the last column (scored 1.0)."""
        return self.columns[-1] == "conf"

    def text(self) -> str:
        """``cls x y w h [conf]``: the line this layout reads, for messages."""
        if self.conf_optional:
            return " ".join(self.columns[:-1]) + " [conf]"
        return " ".join(self.columns)


def yolo_layout(layout: str | Sequence[str] | None = None, coords: str = "normalized") -> YoloLayout:
    """The layout from ``layout`` (``"cls,conf,x,y,w,h"``, commas or spaces; each of cls, x, y, w, h
    once and conf at most once; default :data:`DEFAULT_LAYOUT`) and ``coords`` (``normalized`` or
    ``pixels``). Raises ValueError naming what is wrong."""
    if coords is None or str(coords).strip().lower() not in (*COORDS, "normalised"):
        raise ValueError(f"`coords` must be one of {list(COORDS)}. Got {excerpt(coords)} instead.")
    mode = _ALIASES.get(str(coords).strip().lower(), str(coords).strip().lower())
    if layout is None:
        return YoloLayout(DEFAULT_LAYOUT, mode)
    parts = layout.replace(",", " ").split() if isinstance(layout, str) else [str(p) for p in layout]
    columns = tuple(_ALIASES.get(p.strip().lower(), p.strip().lower()) for p in parts)
    required = [c for c in LAYOUT_COLUMNS if c != "conf"]
    if (any(c not in LAYOUT_COLUMNS for c in columns) or any(columns.count(c) != 1 for c in required)
            or columns.count("conf") > 1):
        raise ValueError(f"`layout` must name each of cls, x, y, w, h once and conf at most once, in the file's order "
                         f"(e.g. cls,conf,x,y,w,h). Got {excerpt(layout)} instead.")
    return YoloLayout(columns, mode)


def read_yolo_predictions(path: str | Path, dataset: Dataset | None = None, *,
                          names: Sequence[str] | None = None, layout: str | Sequence[str] | None = None,
                          coords: str = "normalized") -> Predictions:
    """A folder of YOLO prediction ``.txt`` files (or one file); see :mod:`imbal_core.io.predictions`.

    The image key is the file's path below the folder without its suffix (``val/img_01``),
    matched to the dataset by file name, then by stem. ``names`` maps class indices to names.
    ``layout`` (``cls x y w h conf``) and ``coords`` (``normalized``): see :func:`yolo_layout`.
    """
    spec = yolo_layout(layout, coords)
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
    within_unit = True  # every coordinate read lies in 0..1 (pixel mode: they look normalised)
    for file in files:
        key = file.relative_to(root).with_suffix("").as_posix()
        text = decode_text(read_bytes(file), file, report)
        unscored = 0
        for number, line in enumerate(text.splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            where = f"{file.name}:{number}"
            fields = _fields(parts, spec)
            if fields is None:
                report.add(file, where, "bad_line",
                           f"line {line.strip()!r:.60} is not `{spec.text()}` with numbers", "skipped")
                continue
            index = fields["cls"]
            label = label_of.get(index, index) if label_of is not None else index
            if label_of is not None and index not in label_of:
                report.add(file, where, "unknown_class", f"class index {index} is beyond the {len(label_of)} names", "skipped")
                continue
            cx, cy, w, h = (fields[k] for k in ("x", "y", "w", "h"))
            within_unit = within_unit and all(0 <= v <= 1 for v in (cx, cy, w, h))
            problem = box_problem(cx, cy, w, h) if spec.coords == "normalized" else size_problem(cx, cy, w, h)
            if problem is not None:
                box_problems[problem[0]] += 1
                if box_problems[problem[0]] <= MAX_REPORT_ROWS:
                    report.add(file, where, *problem, _KEPT)
            score = fields.get("conf")
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
    if spec.coords == "pixels" and within_unit and cols["image"]:
        report.add(root, "coords=pixels", "coords_look_normalized",
                   f"every one of the {len(cols['image']):,} boxes lies within 0..1: fractions of the image size? "
                   f"Read them with coords=normalized (the default; `--pred-opt coords=normalized`)", _KEPT)
    for k in ("rle_counts", "rle_height", "rle_width", "polygons"):
        cols[k] = [None] * len(cols["image"])
    table = detection_table(cols)
    preds = Predictions("detection", table, "yolo", str(path), report, normalized=spec.coords == "normalized")
    return match_predictions(preds, dataset) if dataset is not None else preds


def _fields(parts: list[str], spec: YoloLayout) -> dict[str, float | str] | None:
    """The line's values by column name (``cls`` as an index text); None when the line does not fit."""
    columns = spec.columns
    if len(parts) == len(columns) - 1 and spec.conf_optional:
        columns = columns[:-1]
    elif len(parts) != len(columns):
        return None
    out: dict[str, float | str] = {}
    for name, part in zip(columns, parts):
        value = parse_float(part)
        if value is None:
            return None
        if name == "cls":
            index = whole(value)
            if index is None:
                return None
            out[name] = index
        else:
            out[name] = value
    return out


def box_problem(cx: float, cy: float, w: float, h: float) -> tuple[str, str] | None:
    """``(code, problem)`` of a normalised YOLO box that does not fit the 0..1 image, else None:
    the ground-truth reader's checks (:func:`imbal_core.dataset.build_dataset`), in the file's terms."""
    box = f"box (cx {cx:g}, cy {cy:g}, w {w:g}, h {h:g})"
    if w <= 0 or h <= 0:
        return "non_positive_box", f"{box} of non-positive size"
    x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    if x1 >= 1 or y1 >= 1 or x2 <= 0 or y2 <= 0:
        return "box_outside_image", (f"{box} lies wholly outside the normalised 1x1 image (pixel coordinates? "
                                     f"read them with coords=pixels: `--pred-opt coords=pixels`)")
    if x1 < 0 or y1 < 0 or x2 > 1 or y2 > 1:
        return "box_past_border", f"{box} reaches past the border of the normalised 1x1 image"
    return None


def size_problem(cx: float, cy: float, w: float, h: float) -> tuple[str, str] | None:
    """``(code, problem)`` of a pixel box of non-positive size, else None."""
    if w <= 0 or h <= 0:
        return "non_positive_box", f"box (cx {cx:g}, cy {cy:g}, w {w:g}, h {h:g}) of non-positive size"
    return None
