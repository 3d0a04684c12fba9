"""Labelme JSON (one file per image) -> canonical dataset.

Input: Labelme ``.json`` files, or folders searched (with their sub-folders) for them; other
JSON files there are reported and left out. Per file:

- the image: ``source_id`` the file's path below the folder given, without ``.json``;
  ``file_name`` the ``imagePath`` as written; ``width`` / ``height`` from ``imageWidth`` /
  ``imageHeight`` (missing or not positive: unknown, reported; boxes stay in pixels). The
  embedded ``imageData`` is never decoded. ``split``: the first folder on the way to the file
  named like a split (``train/``, ``val/``, ``test/`` ...), else ``unassigned``. No ``group``:
  Labelme records no sequence.
- each of ``shapes`` is an object of ``label``, by ``shape_type`` (missing: ``polygon``, as
  Labelme reads it): ``rectangle`` (the box of its two corners, in any order), ``polygon`` (at
  least 3 points; pixels by shoelace), ``circle`` (centre and a point on the rim; pixels
  pi * r**2), ``mask`` (its box; the embedded mask image is not decoded, so no pixels:
  reported), and ``line``, ``linestrip``, ``point``, ``points`` (counted, no box, no pixels).
  Other shape types are reported once per file and type. Object ``source_id``: ``file#index``.
- shapes of one image with the same ``label`` and ``group_id`` are one object, as Labelme's own
  converters merge them (``labelme2coco``): the box around all parts, the pixels summed; its
  ``source_id`` joins the indexes (``file#1+2``). Shapes without ``group_id`` stand alone. One
  report row says how many shapes made how many objects (``merged_shapes``).
- ``__ignore__`` and ``_background_`` are not classes: their shapes (and checked flags) are
  reported once per file and left out.
- a shape's ``flags`` are attributes: ``occluded`` / ``truncated`` / ``difficult`` fill the
  annotation flags; with ``flag_conditions`` (True) ``occluded``, ``truncated`` and the other
  flags become image conditions, the value the image's objects share, else ``mixed``
  (:mod:`.._objects`, :mod:`.._object_flags`).
- the image's ``flags`` (checkboxes): ``flags="auto"`` makes them the classes when no file has
  shapes (classification: one row per checked flag; every flag name, checked or not, is a
  declared class), else one condition ``flags`` holding the checked names joined by `` + ``;
  ``"classes"`` / ``"conditions"`` choose.

Classes: the names in ``labels.txt`` (Labelme's ``--labels`` file: looked for beside the JSON
files and one folder up; ``__ignore__`` / ``_background_`` skipped) in their order, then labels
used but not listed (reported); without a labels file, the used labels sorted by name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

from ...dataset import SPLITS, Dataset, normalize_split
from ...report import LoadError, LoadReport
from ..files import parse_json, read_bytes, read_text
from .._objects import IMAGE_LABEL, ImageRecord, ObjectRecord, assemble
from ..sniff import looks_like_labelme
from ._shapes import NOT_CLASSES, Merges, finite, flag_dict, read_shapes

__all__ = ["extra_inputs", "read_labelme"]

FlagMode = Literal["auto", "classes", "conditions"]
FLAG_MODES: tuple[FlagMode, ...] = ("auto", "classes", "conditions")
LABEL_FILE = "labels.txt"
MAX_SIDE = 2**31 - 1
_HEAD = 1 << 16


@dataclass
class _Files:
    files: list[tuple[Path, Path]] = field(default_factory=list)  # (json file, the folder given or the file's own)
    label_files: list[Path] = field(default_factory=list)


def extra_inputs(paths: Sequence[Path]) -> list[Path]:
    """The ``labels.txt`` files read besides the JSON files (part of the cache key)."""
    return _find(paths, LoadReport()).label_files


def read_labelme(paths: Sequence[str | Path], report: LoadReport | None = None, flags: FlagMode = "auto",
                 flag_conditions: bool = True) -> Dataset:
    """Read Labelme JSON files into one dataset.

    ``flags`` ("auto"): the images' flags as ``classes``, as ``conditions``, or ``auto``
    (classes when no file has shapes). ``flag_conditions`` (True): make the shapes' flags image
    conditions.
    """
    if flags not in FLAG_MODES:
        raise ValueError(f"`flags` must be one of {', '.join(map(repr, FLAG_MODES))}. Got {flags!r} instead.")
    if not isinstance(flag_conditions, bool):
        raise ValueError(f"`flag_conditions` must be true or false. Got {flag_conditions!r} instead.")
    report = report if report is not None else LoadReport()
    found = _find(paths, report)
    declared = _declared(found.label_files, report)
    images: list[ImageRecord] = []
    objects: list[ObjectRecord] = []
    checked: list[list[str]] = []  # per image, its checked flags
    flag_names: dict[str, None] = {}
    seen: set[str] = set()
    merges = Merges()
    for path, root in found.files:
        row = _read_file(path, root, len(images), objects, seen, report, merges)
        if row is not None:
            image, image_flags = row
            images.append(image)
            checked.append([n for n, v in image_flags.items() if v is True])
            flag_names.update(dict.fromkeys(image_flags))
    if not images:
        first = report.rows[-1].problem if report.rows else "no Labelme file"
        raise LoadError(f"{', '.join(map(str, paths))}: no usable Labelme file — {first}.", report)
    if merges.groups:
        report.add(", ".join(map(str, paths)), "group_id", "merged_shapes", merges.sentence(),
                   "counted as one object each, as labelme2coco does")
    mode = flags if flags != "auto" else ("conditions" if objects else "classes")
    for row, (image, names) in enumerate(zip(images, checked)):
        ignored = [n for n in names if n in NOT_CLASSES]
        if ignored:
            report.add(image.file, image.source_id, "not_a_class", f"flag {', '.join(ignored)} is set: not a class "
                       "or a condition", "ignored")
        kept = [n for n in names if n not in NOT_CLASSES]
        if mode == "conditions":
            image.labels.extend(kept)
        else:
            objects.extend(ObjectRecord(row, n, f"{image.source_id}#flag {n}", image.file, IMAGE_LABEL) for n in kept)
    if mode == "classes":
        declared += [n for n in flag_names if n not in NOT_CLASSES and n not in declared]
    return assemble(images, objects, declared, fmt="labelme", label_condition="flags",
                    sources=[str(p) for p in paths], report=report, flag_conditions=flag_conditions)


# --------------------------------------------------------------------------- files


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(_HEAD)
    except OSError:
        return b""


def _find(paths: Sequence[str | Path], report: LoadReport) -> _Files:
    if not paths:
        raise LoadError("No input: give Labelme .json files or a folder holding them.")
    out = _Files()
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            if not path.exists():
                raise LoadError(f"{path}: no such file or folder.", report, str(path))
            out.files.append((path, path.parent))
            continue
        before = len(out.files)
        for candidate in sorted(p for p in path.rglob("*.json") if p.is_file()):
            if looks_like_labelme(_head(candidate)):
                out.files.append((candidate, path))
            else:
                report.add(candidate, candidate.name, "not_labelme", "JSON file without Labelme `shapes`", "ignored")
        if len(out.files) == before:
            raise LoadError(f"{path}: no Labelme JSON file (an object with `shapes` and `imagePath`) in this "
                            "folder or below.", report, str(path))
    folders = dict.fromkeys(f.parent for f, _ in out.files)
    candidates = dict.fromkeys(c for d in folders for c in (d / LABEL_FILE, d.parent / LABEL_FILE))
    out.label_files = [c for c in candidates if c.is_file()]
    return out


def _declared(files: list[Path], report: LoadReport) -> list[str]:
    names: dict[str, None] = {}
    for path in files:
        try:
            text = read_text(path, report)
        except LoadError as exc:
            report.add(path, path.name, "unreadable_file", str(exc), "ignored")
            continue
        names.update(dict.fromkeys(n for n in (line.strip() for line in text.splitlines()) if n and n not in NOT_CLASSES))
    return list(names)


def _split(path: Path, root: Path) -> str | None:
    for part in path.relative_to(root).parts[:-1]:
        if normalize_split(part) in SPLITS:
            return part
    return None


# --------------------------------------------------------------------------- one file


def _read_file(path: Path, root: Path, row: int, objects: list[ObjectRecord], seen: set[str],
               report: LoadReport, merges: Merges) -> tuple[ImageRecord, dict[str, Any]] | None:
    source_id = path.relative_to(root).with_suffix("").as_posix()
    file = str(path)
    try:
        doc = parse_json(read_bytes(path), path, report)
    except LoadError as exc:
        report.add(path, source_id, "bad_json", str(exc), "skipped")
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
        what = "has no `shapes` list" if isinstance(doc, dict) else f"is a JSON {type(doc).__name__}, not an object"
        report.add(path, source_id, "bad_record", f"not a Labelme file: it {what}", "skipped")
        return None
    if source_id in seen:
        report.add(path, source_id, "duplicate_id", f"image {source_id!r:.60} was already read", "skipped the later one")
        return None
    seen.add(source_id)
    image_path = doc.get("imagePath")
    if not isinstance(image_path, str) or not image_path.strip():
        report.add(path, source_id, "no_image", f"`imagePath` is {image_path!r:.40}, not a path", "kept without a file name")
        image_path = None
    width, height = _side(doc.get("imageWidth")), _side(doc.get("imageHeight"))
    if width is None or height is None:
        report.add(path, source_id, "bad_image_size", f"imageWidth {doc.get('imageWidth')!r:.20}, imageHeight "
                   f"{doc.get('imageHeight')!r:.20} are not two positive whole numbers", "set to unknown")
        width = height = None
    image_flags = flag_dict(doc.get("flags"), file, source_id, "image", report)
    image = ImageRecord(source_id, file, image_path, width, height, _split(path, root))
    read_shapes(doc["shapes"], row, source_id, file, objects, report, merges)
    return image, image_flags


def _side(value: Any) -> int | None:
    number = finite(value)
    if number is None or not (1 <= number <= MAX_SIDE) or number != int(number):
        return None
    return int(number)
