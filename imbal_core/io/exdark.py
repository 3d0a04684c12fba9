"""ExDark ``imageclasslist.txt`` -> canonical classification dataset.

The file (given itself, or a folder holding it) has a header line ``Name | Class | Light |
In/Out | Train/Val/Test`` and then one whitespace-separated row per image, every field after the
name an integer code: ``2015_00001.png 1 2 1 1``. The code tables below are taken from the
dataset's ``README_groundtruth.md`` (cs-chan/Exclusively-Dark-Image-Dataset, Groundtruth/).

Each row becomes one image (``source_id`` and ``file_name`` = the name as written) and one
annotation (``source_id`` = ``imageclasslist.txt:line``); the conditions ``light`` and
``indoor_outdoor`` hold the code's name (``Low``, ``Indoor`` ...); the split code gives train /
val / test. All 12 classes of the code table are categories, in code order (which is also
alphabetical), with the code as ``source_id``, even when a class has no image in the file.

Decisions on bad rows (each reported with ``file:line``):

- a wrong number of fields, or a code that is not a whole number: ``bad_line``, skipped;
- an unknown class code: ``unknown_class``, skipped (the label is what the row is for);
- an unknown lighting or indoor/outdoor code: ``unknown_code``, kept with that condition null;
- an unknown split code: ``unknown_code``, kept as ``unassigned``;
- an image name already seen: ``duplicate_id``, the later row skipped.

Blank lines are ignored. The header is the first non-blank line when its first word is ``Name``;
a file without it is read from its first line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..dataset import UNASSIGNED, Dataset, build_dataset
from ..report import LoadError, LoadReport, excerpt
from .files import read_text

FILE_NAME = "imageclasslist.txt"

#: Class codes (2nd column), from README_groundtruth.md.
CLASSES: dict[int, str] = {
    1: "Bicycle", 2: "Boat", 3: "Bottle", 4: "Bus", 5: "Car", 6: "Cat",
    7: "Chair", 8: "Cup", 9: "Dog", 10: "Motorbike", 11: "People", 12: "Table",
}
#: Lighting type codes (3rd column), from README_groundtruth.md.
LIGHTING: dict[int, str] = {
    1: "Low", 2: "Ambient", 3: "Object", 4: "Single", 5: "Weak",
    6: "Strong", 7: "Screen", 8: "Window", 9: "Shadow", 10: "Twilight",
}
#: Indoor / outdoor codes (4th column), from README_groundtruth.md.
INDOOR_OUTDOOR: dict[int, str] = {1: "Indoor", 2: "Outdoor"}
#: Experiment set codes (5th column), from README_groundtruth.md: Training, Validation, Testing.
SPLITS: dict[int, str] = {1: "train", 2: "val", 3: "test"}

_CLASS_ROW = {code: row for row, code in enumerate(sorted(CLASSES))}
FIELDS = ("name", "class", "light", "indoor_outdoor", "split")
CONDITIONS = ("light", "indoor_outdoor")


def read_exdark(paths: Sequence[str | Path], report: LoadReport | None = None) -> Dataset:
    """Read one or several ExDark image class lists into one classification dataset."""
    report = report if report is not None else LoadReport()
    if not paths:
        raise LoadError(f"No input: give {FILE_NAME} or the folder holding it.")
    files = [_resolve(Path(p)) for p in paths]
    images: dict[str, list] = {k: [] for k in ("source_id", "file_name", "split", *CONDITIONS)}
    anns: dict[str, list] = {"image": [], "category": [], "source_id": []}
    seen: dict[str, str] = {}
    for path in files:
        _read_file(path, images, anns, seen, report)
    codes = sorted(CLASSES)
    return build_dataset(
        images=images,
        annotations=anns,
        categories={"name": [CLASSES[c] for c in codes], "source_id": [str(c) for c in codes]},
        task="classification",
        format="exdark",
        sources=[str(p) for p in files],
        report=report,
        conditions=CONDITIONS,
    )


def _resolve(path: Path) -> Path:
    if not path.is_dir():
        return path  # read_text raises LoadError naming it when it cannot be read
    try:
        found = sorted(p for p in path.iterdir() if p.name.lower() == FILE_NAME and p.is_file())
    except OSError as exc:
        raise LoadError(f"{path}: cannot be listed ({exc.strerror or exc}).", file=str(path)) from None
    if not found:
        raise LoadError(f"{path}: no {FILE_NAME} in this folder.", file=str(path))
    return found[0]


def _read_file(path: Path, images: dict, anns: dict, seen: dict[str, str], report: LoadReport) -> None:
    text = read_text(path, report)
    header_checked = False
    for line_no, line in enumerate(text.split("\n"), start=1):
        tokens = line.split()
        if not tokens:
            continue
        if not header_checked:
            header_checked = True
            if tokens[0].split("|")[0].lower() == "name":
                continue
        record = f"{path.name}:{line_no}"
        row = _parse_row(tokens, line, record, path, report)
        if row is None:
            continue
        name, class_code, light, place, split = row
        if name in seen:
            report.add(path, record, "duplicate_id", f"image {excerpt(name)} is already listed at {seen[name]}", "skipped")
            continue
        seen[name] = record
        anns["image"].append(len(images["source_id"]))
        anns["category"].append(_CLASS_ROW[class_code])
        anns["source_id"].append(record)
        for key, value in (("source_id", name), ("file_name", name), ("split", split),
                           ("light", light), ("indoor_outdoor", place)):
            images[key].append(value)


def _parse_row(tokens: list[str], line: str, record: str, path: Path, report: LoadReport):
    """(name, class code, light, indoor/outdoor, split) of a row, or None when it is skipped."""
    if len(tokens) != len(FIELDS):
        report.add(path, record, "bad_line",
                   f"line {line.strip()!r:.80} has {len(tokens)} fields; expected {len(FIELDS)} ({', '.join(FIELDS)})",
                   "skipped")
        return None
    codes = []
    for field_name, token in zip(FIELDS[1:], tokens[1:]):
        if not (token.isascii() and token.isdigit()):
            report.add(path, record, "bad_line", f"{field_name} code {excerpt(token)} is not a whole number", "skipped")
            return None
        codes.append(int(token) if len(token) <= 18 else token)  # a longer one is no code (and int() may refuse it)
    class_code, light_code, place_code, split_code = codes
    if class_code not in CLASSES:
        report.add(path, record, "unknown_class",
                   f"class code {_code_text(class_code)} is not one of 1..{len(CLASSES)}", "skipped")
        return None
    values = []
    for field_name, code, table, fallback in (
        ("light", light_code, LIGHTING, None),
        ("indoor_outdoor", place_code, INDOOR_OUTDOOR, None),
        ("split", split_code, SPLITS, UNASSIGNED),
    ):
        if code not in table:
            report.add(path, record, "unknown_code",
                       f"{field_name} code {_code_text(code)} is not one of {min(table)}..{max(table)}",
                       f"kept with {field_name} {fallback or 'unknown'}")
        values.append(table.get(code, fallback))
    return (tokens[0], class_code, *values)


def _code_text(code: int | str) -> str:
    return str(code) if isinstance(code, int) else excerpt(code, 24)
