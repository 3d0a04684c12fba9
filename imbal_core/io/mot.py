"""MOTChallenge ground truth (``gt/gt.txt``) -> canonical detection dataset.

Input: a sequence folder (holding ``gt/gt.txt``), a folder of sequences up to two levels down
(``MOT17/train/MOT17-02/gt/gt.txt``), or ``gt.txt`` files.

- A sequence's name is ``name`` in its ``seqinfo.ini``, else its folder's name; it is the
  ``group`` of its frames, so a sequence stays in one split. Its split is the name of the folder
  above it when that is train / val / test (``MOT17/train/...``), else ``unassigned``.
- Frames (images): ``1 .. seqLength`` when ``seqinfo.ini`` gives it, else the numbered images in
  the image folder (``imDir``, default ``img1``), else the frames ``gt.txt`` names; a frame named in
  ``gt.txt`` beyond those is added and reported (``frame_outside``). ``source_id`` is
  ``<sequence>/<frame, 6 digits>``, ``file_name`` ``<imDir>/<frame, 6 digits><imExt>``.
- Image size: ``imWidth`` / ``imHeight`` of ``seqinfo.ini``, else the header of the sequence's
  first image (every frame of a sequence has one size); else unknown, and boxes stay in pixels.
- Lines ``frame, id, left, top, width, height, consider, class, visibility`` (MOT16 / 17 / 20).
  The class is the 1-based line of ``gt/labels.txt`` when there is one, else of MOT's own list
  (:data:`MOT_CLASSES`); a class it does not name is reported and the box skipped
  (``unknown_class``). A line of 6 or 7 values, or of 10 (MOT15: world coordinates follow), has
  no class: every box of MOT15 is a pedestrian, and is counted as one (reported once per file).
- ``consider`` 0 marks a box the benchmark ignores in evaluation: it is kept, with the canonical
  ``difficult`` flag set (VOC's "left out of evaluation"). ``visibility`` (0..1) is per box; with
  ``flag_conditions`` (True) it becomes the image condition ``visibility``: ``full`` (1),
  ``partial`` (at least :data:`PARTLY_VISIBLE`), ``low`` (below), ``mixed`` where an image's
  boxes differ (:mod:`._object_flags`). A value out of range is reported and taken as unknown.
- A line with fewer than 6 values or a value that is not a number is skipped (``bad_line``,
  ``sequence/gt/gt.txt:line``); the track id is not needed (the sequence is the group).
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..dataset import SPLITS, Dataset, build_dataset, normalize_split
from ..report import LoadError, LoadReport, excerpt
from .files import read_text, skip_undecodable_name
from ._object_flags import add_flag_conditions
from .imagesize import image_size
from .sniff import IMAGE_EXTENSIONS

#: MOT16 / 17's classes, line k naming class k (1-based), used when a sequence has no labels.txt.
MOT_CLASSES = (
    "pedestrian", "person on vehicle", "car", "bicycle", "motorbike", "non motorized vehicle", "static person",
    "distractor", "occluder", "occluder on the ground", "occluder full", "reflection",
)
#: Visibility from which a box counts as ``partial`` rather than ``low``.
PARTLY_VISIBLE = 0.5
_MOT15_CLASS = "pedestrian"
MAX_SIZE = 2**31 - 1  # width / height are int32
#: The longest ``seqLength`` taken (MOT's longest sequences have a few thousand frames); a longer
#: one is reported and ignored rather than making that many images.
MAX_FRAMES = 1_000_000


@dataclass
class _Sequence:
    gt: Path
    root: Path
    name: str
    split: str
    image_dir: str = "img1"
    ext: str = ".jpg"
    frames: dict[int, str] = field(default_factory=dict)  # frame -> file name
    size: tuple[int, int] | None = None
    names: list[str] | None = None  # from labels.txt


@dataclass
class _Columns:
    images: dict[str, list] = field(default_factory=lambda: {k: [] for k in (
        "source_id", "file_name", "width", "height", "split", "group")})
    anns: dict[str, list] = field(default_factory=lambda: {k: [] for k in (
        "image", "name", "source_id", "x", "y", "w", "h", "difficult")})
    visibility: list = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    declared: dict[str, str] = field(default_factory=dict)  # class name -> its 1-based line, as text


def read_mot(
    paths: Sequence[str | Path], report: LoadReport | None = None, *, sizes: bool = True, flag_conditions: bool = True
) -> Dataset:
    """Read MOTChallenge sequences into one dataset.

    ``sizes`` (True): without ``seqinfo.ini``, read the size from the first image's header.
    ``flag_conditions`` (True): make the boxes' ``visibility`` an image condition.
    """
    report = report if report is not None else LoadReport()
    if not paths:
        raise LoadError("No input: give a MOT sequence folder or gt.txt files.")
    cols = _Columns()
    used: dict[str, Path] = {}
    for gt in _resolve(paths):
        if skip_undecodable_name(gt, report):
            continue
        seq = _sequence(gt, report, sizes)
        if seq.name in used:
            key = seq.root.as_posix()
            report.add(gt, seq.name, "duplicate_id", f"sequence name {seq.name!r} is also the name of {used[seq.name]}",
                       f"named {excerpt(key)} instead")
            seq.name = key
        used[seq.name] = seq.root
        _read_sequence(seq, cols, report)
    names = list(dict.fromkeys([*cols.declared, *cols.anns["name"]]))
    row_of = {n: i for i, n in enumerate(names)}
    anns = dict(cols.anns)
    anns["category"] = [row_of[n] for n in anns.pop("name")]
    categories = {"name": names, "source_id": [cols.declared.get(n, n) for n in names]}
    dataset = build_dataset(
        images=cols.images, annotations=anns, categories=categories, task="detection",
        format="mot", sources=[str(p) for p in paths], report=report, annotation_files=cols.files,
        unsized_boxes_normalised=False,
    )
    return add_flag_conditions(dataset, {"visibility": cols.visibility}, cols.anns["source_id"], report,
                               str(paths[0]), flag_conditions)


def extra_inputs(paths: list[Path]) -> list[Path]:
    """``labels.txt`` and ``seqinfo.ini`` beside ``gt.txt`` files given one by one."""
    out = []
    for path in paths:
        if path.is_file():
            out += [p for p in (path.parent / "labels.txt", path.parent.parent / "seqinfo.ini") if p.is_file()]
    return out


# --------------------------------------------------------------------------- finding the sequences


def _resolve(paths: Sequence[str | Path]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            gts = [g for g in (path / "gt" / "gt.txt", *sorted(path.glob("*/gt/gt.txt")),
                               *sorted(path.glob("*/*/gt/gt.txt"))) if g.is_file()]
            if not gts:
                raise LoadError(f"{path}: not a MOT folder — no gt/gt.txt here or up to two levels down.",
                                file=str(path))
            found += gts
        elif path.is_file():
            found.append(path)
        else:
            raise LoadError(f"{path}: no such file or folder.", file=str(path))
    return list(dict.fromkeys(found))


def _sequence(gt: Path, report: LoadReport, sizes: bool) -> _Sequence:
    root = gt.parent.parent if gt.parent.name == "gt" else gt.parent
    split = normalize_split(root.parent.name)
    seq = _Sequence(gt, root, root.name, split if split in SPLITS else "unassigned")
    info = _seqinfo(root / "seqinfo.ini", report)
    seq.image_dir, seq.ext = info.get("imdir") or seq.image_dir, info.get("imext") or seq.ext
    image_dir = root / seq.image_dir
    seq.name = info.get("name") or seq.name
    length, width, height = (_positive(info, k, most, root / "seqinfo.ini", report)
                             for k, most in (("seqlength", MAX_FRAMES), ("imwidth", MAX_SIZE), ("imheight", MAX_SIZE)))
    if length is not None:
        seq.frames = {f: f"{seq.image_dir}/{f:06d}{seq.ext}" for f in range(1, length + 1)}
    elif image_dir.is_dir():
        for image in sorted(image_dir.iterdir()):
            if image.suffix.lower() in IMAGE_EXTENSIONS and image.stem.isdigit():
                seq.frames[int(image.stem)] = f"{seq.image_dir}/{image.name}"
    if width is not None and height is not None:
        seq.size = (width, height)
    elif sizes and image_dir.is_dir():
        first = next((p for p in sorted(image_dir.iterdir()) if p.suffix.lower() in IMAGE_EXTENSIONS), None)
        seq.size = image_size(first) if first is not None else None
    labels = gt.parent / "labels.txt"
    if labels.is_file():
        try:
            seq.names = [line.strip() for line in read_text(labels, report).splitlines() if line.strip()]
        except LoadError as exc:
            report.add(labels, labels.name, "unreadable_file", str(exc), "used MOT's own classes")
    return seq


def _seqinfo(path: Path, report: LoadReport) -> dict[str, str]:
    if not path.is_file():
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(read_text(path, report))
    except (configparser.Error, LoadError) as exc:
        report.add(path, path.name, "bad_seqinfo", f"not readable as an INI file ({str(exc).splitlines()[0]})",
                   "ignored")
        return {}
    if not parser.has_section("Sequence"):
        report.add(path, path.name, "bad_seqinfo", "no [Sequence] section", "ignored")
        return {}
    return {k: v.strip() for k, v in parser.items("Sequence")}


def _positive(info: dict[str, str], key: str, most: int, path: Path, report: LoadReport) -> int | None:
    text = info.get(key)
    if text is None:
        return None
    if text.isdigit() and len(text) < 20 and 0 < int(text) <= most:
        return int(text)
    report.add(path, key, "bad_seqinfo", f"{key} {excerpt(text)} is not a whole number from 1 to {most:,}", "ignored")
    return None


# --------------------------------------------------------------------------- one sequence


def _read_sequence(seq: _Sequence, cols: _Columns, report: LoadReport) -> None:
    try:
        text = read_text(seq.gt, report)
    except LoadError as exc:
        report.add(seq.gt, seq.name, "unreadable_file", str(exc), "skipped")
        return
    names = seq.names if seq.names is not None else list(MOT_CLASSES)
    for index, name in enumerate(names, start=1):
        cols.declared.setdefault(name, str(index))
    rows = {frame: _add_frame(seq, frame, file, cols) for frame, file in sorted(seq.frames.items())}
    known_frames = bool(rows)
    classless = False
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        record = f"{seq.name}/gt/gt.txt:{number}"
        values = _values(line)
        if values is None or len(values) < 6:
            found = "fewer than 6 values" if values is not None else "a value that is not a number"
            report.add(seq.gt, record, "bad_line", f"line has {found}: {excerpt(line.strip())}", "skipped")
            continue
        frame = values[0]
        if not frame.is_integer() or frame < 1:
            report.add(seq.gt, record, "bad_line", f"frame {frame:g} is not a whole number from 1", "skipped")
            continue
        name = _class_name(values, names, seq, record, report)
        if name is None:
            continue
        if _classless(values) and not classless:
            classless = True
            report.add(seq.gt, record, "no_class", f"lines have {len(values)} values: no class column (MOT15)",
                       f"counted as {_MOT15_CLASS}")
        frame = int(frame)
        if frame not in rows:
            if known_frames:
                report.add(seq.gt, record, "frame_outside", f"frame {frame} is not one of the sequence's "
                           f"{len(seq.frames):,} frames", "added the frame")
            rows[frame] = _add_frame(seq, frame, f"{seq.image_dir}/{frame:06d}{seq.ext}", cols)
        consider = values[6] if len(values) > 6 else None
        if consider is not None and consider not in (0, 1):
            report.add(seq.gt, record, "bad_flag", f"consider flag {consider:g} is not 0 or 1",
                       "kept with difficult unknown")
            consider = None
        for key, value in (("image", rows[frame]), ("name", name), ("source_id", record), ("x", values[2]),
                           ("y", values[3]), ("w", values[4]), ("h", values[5]),
                           ("difficult", None if consider is None else consider == 0)):
            cols.anns[key].append(value)
        cols.visibility.append(_visibility(values, seq, record, report))
        cols.files.append(str(seq.gt))


def _add_frame(seq: _Sequence, frame: int, file_name: str, cols: _Columns) -> int:
    row = len(cols.images["source_id"])
    for key, value in (("source_id", f"{seq.name}/{frame:06d}"), ("file_name", file_name),
                       ("width", seq.size[0] if seq.size else None), ("height", seq.size[1] if seq.size else None),
                       ("split", seq.split), ("group", seq.name)):
        cols.images[key].append(value)
    return row


def _values(line: str) -> list[float] | None:
    try:
        return [float(v) for v in line.split(",")]
    except ValueError:
        return None


def _class_name(values: list[float], names: list[str], seq: _Sequence, record: str, report: LoadReport) -> str | None:
    if _classless(values):
        return _MOT15_CLASS
    index = values[7]
    if index.is_integer() and 1 <= index <= len(names):
        return names[int(index) - 1]
    where = "gt/labels.txt" if seq.names is not None else "MOT's classes"
    report.add(seq.gt, record, "unknown_class", f"class {index:g} is not a line of {where} (1..{len(names)})",
               "skipped")
    return None


def _classless(values: list[float]) -> bool:
    """A line without a class column: 6 or 7 values, or MOT15's 10 (world x, y, z after the flag)."""
    return len(values) < 8 or len(values) == 10


def _visibility(values: list[float], seq: _Sequence, record: str, report: LoadReport) -> str | None:
    if len(values) < 9 or len(values) == 10:
        return None
    visibility = values[8]
    if not 0 <= visibility <= 1:
        report.add(seq.gt, record, "bad_flag", f"visibility {visibility:g} is not from 0 to 1",
                   "kept with visibility unknown")
        return None
    if visibility >= 1:
        return "full"
    return "partial" if visibility >= PARTLY_VISIBLE else "low"
