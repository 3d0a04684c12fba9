"""Pascal VOC XML (``Annotations/*.xml`` + ``ImageSets/Main`` split lists) -> canonical dataset.

Input: a VOC root (holding ``Annotations/``), the annotation folder itself, a folder holding VOC
roots one level down (``bccd_voc/BCCD/``, ``VOCdevkit/VOC2007/``: every one found is read), or
``.xml`` files. Folder names are matched without regard to case.

Per XML file (parsed with :mod:`xml.etree.ElementTree`):

- the image's ``source_id`` is the file's stem, its ``file_name`` the ``<filename>`` text (null
  when absent); a stem already read from another folder is reported and the later file skipped;
- ``<size>`` gives ``width`` / ``height``. When it is missing, not a number or not positive, the
  size is read from the image's header (``JPEGImages/<filename>`` or beside the XML) when the
  image is there; otherwise the image keeps a null size and its boxes stay in pixels (they cannot
  be normalised). Such boxes are only checked where no image size is needed: a box reaching above
  or left of 0 is clipped there, one wholly there is skipped, a non-positive one is reported;
- each ``<object>`` becomes one annotation: ``name`` (stripped), the box from ``bndbox``
  (x = xmin, y = ymin, w = xmax - xmin, h = ymax - ymin, pixels, as written: no 1-based shift),
  ``difficult`` and ``truncated`` (0/1, true/false; null when absent). Its ``source_id`` is
  ``stem#index``, the index counting every ``<object>`` of the file from 0. An object without a
  name or with a missing or non-numeric box coordinate is skipped; other object fields are ignored.

Splits come from ``ImageSets/Main/{train,val,test}.txt`` (one image id per line; class lists such
as ``cat_train.txt`` are ignored). ``trainval.txt`` is used, as the split ``trainval``, only when
both ``train.txt`` and ``val.txt`` are absent. An image listed in several lists keeps the first of
train, val, test and is reported; a listed id with no XML file on disk is reported; an image in no
list is ``unassigned``. Categories are the object names, sorted; ``source_id`` is the name.
"""
from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence


from ..dataset import UNASSIGNED, Dataset, build_dataset
from ..report import LoadError, LoadReport
from .files import BadXML, as_float, parse_xml, read_bytes, read_text
from .imagesize import image_size
from .paths import skip_undecodable_name

log = logging.getLogger(__name__)

#: Split lists read from ImageSets/Main, in the order that wins when an image is in several.
SPLIT_LISTS = ("train", "val", "test")
TRAINVAL = "trainval"
MAX_SIZE = 2**31 - 1  # width / height are int32
_FLAGS = {"0": False, "false": False, "no": False, "1": True, "true": True, "yes": True}
_COORDS = ("xmin", "ymin", "xmax", "ymax")


@dataclass
class _Root:
    """One annotation folder and the split lists that apply to it."""

    annotations: Path  # the folder holding the XML files
    voc_root: Path | None  # the folder holding ImageSets/ and JPEGImages/, when known
    files: list[Path] = field(default_factory=list)


def _lists(*keys: str) -> dict[str, list]:
    return {k: [] for k in keys}


@dataclass
class _Columns:
    """The tables being built: one list per column."""

    images: dict[str, list] = field(default_factory=lambda: _lists("source_id", "file_name", "width", "height", "split"))
    anns: dict[str, list] = field(default_factory=lambda: _lists(
        "image", "name", "source_id", "x", "y", "w", "h", "difficult", "truncated"))
    files: list[str] = field(default_factory=list)  # the XML file of each annotation


def read_voc(paths: Sequence[str | Path], report: LoadReport | None = None, read_image_sizes: bool = True) -> Dataset:
    """Read Pascal VOC annotations into one dataset.

    ``read_image_sizes`` (True): when an XML file has no usable ``<size>``, read the size from the
    image's header (Pillow) if the image is found.
    """
    report = report if report is not None else LoadReport()
    roots = _resolve(paths)
    cols = _Columns()
    seen: dict[str, Path] = {}
    for root in roots:
        splits = _split_lists(root, report)
        for path in root.files:
            if skip_undecodable_name(path, report, path.name):  # one such name must not sink the folder
                continue
            stem = path.stem
            if stem in seen:
                report.add(path, stem, "duplicate_id", f"image id {stem!r} was already read from {seen[stem]}", "skipped")
                continue
            if _read_file(path, root, splits.get(stem, UNASSIGNED), cols, report, read_image_sizes):
                seen[stem] = path
    names = sorted(set(cols.anns["name"]))
    row_of = {n: i for i, n in enumerate(names)}
    anns = dict(cols.anns)
    anns["category"] = [row_of[n] for n in anns.pop("name")]
    # Boxes of images whose size stays unknown are pixels: only the top / left border is checked.
    return build_dataset(
        images=dict(cols.images), annotations=anns, categories={"name": names, "source_id": names},
        task="detection", format="voc", sources=[str(p) for p in paths], report=report,
        annotation_files=cols.files, unsized_boxes_normalised=False,
    )


# --------------------------------------------------------------------------- finding the files


def _listdir(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError as exc:
        raise LoadError(f"{folder}: cannot be listed ({exc.strerror or exc}).", file=str(folder)) from None


def _child(folder: Path, name: str) -> Path | None:
    """The sub-folder ``name`` of ``folder``, matched without regard to case."""
    if (folder / name).is_dir():
        return folder / name
    try:
        return next((p for p in _listdir(folder) if p.name.lower() == name.lower() and p.is_dir()), None)
    except LoadError:  # an unreadable folder holds no VOC parts we can use
        return None


def _xml_files(folder: Path) -> list[Path]:
    return [p for p in _listdir(folder) if p.suffix.lower() == ".xml" and not p.is_dir()]


def _root_of(annotations: Path) -> Path | None:
    return annotations.parent if annotations.name.lower() == "annotations" else None


def _resolve(paths: Sequence[str | Path]) -> list[_Root]:
    if not paths:
        raise LoadError("No input: give a VOC folder or .xml files.")
    roots: list[_Root] = []
    loose: dict[Path, _Root] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            roots.extend(_resolve_dir(path))
        elif path.suffix.lower() == ".xml":
            folder = path.parent
            if folder not in loose:
                loose[folder] = _Root(folder, _root_of(folder))
                roots.append(loose[folder])
            loose[folder].files.append(path)  # existence is checked when the file is read
        elif not path.exists():
            raise LoadError(f"{path}: no such file or folder.", file=str(path))
        else:
            raise LoadError(f"{path}: not a VOC annotation file (.xml) or folder.", file=str(path))
    return roots


def _resolve_dir(folder: Path) -> list[_Root]:
    annotations = _child(folder, "Annotations")
    if annotations is not None:
        return [_Root(annotations, folder, _xml_files(annotations))]
    files = _xml_files(folder)
    if files:
        return [_Root(folder, _root_of(folder), files)]
    below = [sub for sub in _listdir(folder) if sub.is_dir() and _child(sub, "Annotations") is not None]
    if below:
        return [root for sub in below for root in _resolve_dir(sub)]
    raise LoadError(
        f"{folder}: not a VOC folder — it has no Annotations/ folder, no .xml files, and no VOC folder one level down.",
        file=str(folder),
    )


# --------------------------------------------------------------------------- split lists


def _split_lists(root: _Root, report: LoadReport) -> dict[str, str]:
    """Image id -> split, from ImageSets/Main of the root (empty when there is none)."""
    if root.voc_root is None:
        return {}
    sets = _child(root.voc_root, "ImageSets")
    main = _child(sets, "Main") if sets is not None else None
    if main is None:
        return {}
    lists = {name: main / f"{name}.txt" for name in (*SPLIT_LISTS, TRAINVAL)}
    present = {name for name, p in lists.items() if p.exists() or p.is_symlink()}
    order = [s for s in SPLIT_LISTS if s in present]
    if TRAINVAL in present and "train" not in present and "val" not in present:
        order.insert(0, TRAINVAL)
    split_of: dict[str, str] = {}
    listed_in: dict[str, Path] = {}
    for name in order:
        path = lists[name]
        try:
            text = read_text(path, report)
        except LoadError as exc:
            report.add(path, path.name, "unreadable_file", str(exc), "ignored")
            continue
        for line_no, line in enumerate(text.split("\n"), start=1):
            record, tokens = f"{path.name}:{line_no}", line.split()
            if not tokens:
                continue
            image_id = tokens[0]
            if len(tokens) > 1:
                report.add(path, record, "bad_line", f"line {line!r:.80} has {len(tokens)} fields; a split list "
                           "has one image id per line", f"kept the first, {image_id!r}")
            if image_id in split_of:
                if listed_in[image_id] == path:
                    report.add(path, record, "duplicate_id", f"image id {image_id!r} is listed twice in {path.name}", "ignored")
                else:
                    report.add(path, record, "split_conflict", f"image {image_id!r} is listed in "
                               f"{listed_in[image_id].name} and {path.name}", f"kept in {split_of[image_id]}")
            elif not (root.annotations / f"{image_id}.xml").is_file():
                report.add(path, record, "missing_xml",
                           f"image id {image_id!r} has no file {image_id}.xml in {root.annotations}", "ignored")
            else:
                split_of[image_id], listed_in[image_id] = name, path
    return split_of


# --------------------------------------------------------------------------- one XML file


def _parse_xml(path: Path, report: LoadReport) -> ET.Element | None:
    try:
        return parse_xml(read_bytes(path), path, report)
    except BadXML as exc:
        report.add(path, path.stem, "bad_xml", exc.reason, "skipped")
    except LoadError as exc:
        report.add(path, path.stem, "unreadable_file", str(exc), "skipped")
    return None


def _read_file(path: Path, root: _Root, split: str, cols: _Columns, report: LoadReport, read_sizes: bool) -> bool:
    """Append one XML file's image and objects to ``cols``; False when the file is skipped."""
    element = _parse_xml(path, report)
    if element is None:
        return False
    stem = path.stem
    if element.tag != "annotation":
        report.add(path, stem, "bad_xml", f"not a VOC annotation: the root element is <{element.tag}>, not <annotation>", "skipped")
        return False
    file_name = (element.findtext("filename") or "").strip() or None
    width, height, problem = _size(element)
    if problem:
        found = _size_from_image(path, root, file_name) if read_sizes and file_name else None
        if found:
            width, height, image_path = found
            action = f"read {width}x{height} from the header of {image_path}"
        else:
            action = "set to unknown; its boxes stay in pixels, unchecked against the right and bottom border"
        report.add(path, stem, "bad_image_size", f"image size is {problem}, not two positive numbers", action)
    row = len(cols.images["source_id"])
    for key, value in (("source_id", stem), ("file_name", file_name), ("width", width), ("height", height), ("split", split)):
        cols.images[key].append(value)
    for index, obj in enumerate(element.findall("object")):
        _read_object(obj, f"{stem}#{index}", row, path, cols, report)
    return True


def _size(element: ET.Element) -> tuple[int | None, int | None, str | None]:
    """(width, height, None) from ``<size>``, or (None, None, what was found)."""
    size = element.find("size")
    if size is None:
        return None, None, "missing"
    texts = [size.findtext(k) for k in ("width", "height")]
    values = [as_float(t.strip()) if t is not None else None for t in texts]
    if all(v is not None and math.isfinite(v) and 1 <= v <= MAX_SIZE for v in values):
        return round(values[0]), round(values[1]), None
    return None, None, f"width {texts[0]!r}, height {texts[1]!r}"


def _size_from_image(path: Path, root: _Root, file_name: str) -> tuple[int, int, Path] | None:
    """The size in the image's header, when the image is in JPEGImages/ or beside the XML. Only
    the header is read (:func:`.imagesize.image_size`): an image past Pillow's decompression-bomb
    limit (a large aerial scene) has its size like any other."""
    folders = [path.parent]
    if root.voc_root is not None and (images := _child(root.voc_root, "JPEGImages")) is not None:
        folders.insert(0, images)
    for folder in folders:
        candidate = folder / Path(file_name).name  # never a path the XML points elsewhere with
        if not candidate.is_file():
            continue
        size = image_size(candidate)  # None: unreadable (or no Pillow); the size stays unknown
        if size is None:
            log.info("%s: no size from %s", path, candidate)
            continue
        return size[0], size[1], candidate
    return None


def _read_object(obj: ET.Element, record: str, row: int, path: Path, cols: _Columns, report: LoadReport) -> None:
    name_text = obj.findtext("name")
    name = (name_text or "").strip()
    if not name:
        what = "has no <name>" if name_text is None else "has an empty <name>"
        report.add(path, record, "missing_name", f"object {what}", "skipped")
        return
    box = obj.find("bndbox")
    if box is None:
        report.add(path, record, "bad_box", f"object {name!r} has no <bndbox>", "skipped")
        return
    texts = [box.findtext(k) for k in _COORDS]
    values = [as_float(t.strip()) if t is not None else None for t in texts]
    if any(v is None for v in values):
        found = ", ".join(f"{k}={t!r}" for k, t in zip(_COORDS, texts))
        report.add(path, record, "bad_box", f"object {name!r} has a missing or non-numeric box coordinate: {found}", "skipped")
        return
    xmin, ymin, xmax, ymax = values
    flags = [_flag(obj, key, record, path, report) for key in ("difficult", "truncated")]
    box_values = (xmin, ymin, xmax - xmin, ymax - ymin)  # inf - inf is NaN: build_dataset reports it
    for key, value in (("image", row), ("name", name), ("source_id", record), *zip("xywh", box_values),
                       ("difficult", flags[0]), ("truncated", flags[1])):
        cols.anns[key].append(value)
    cols.files.append(str(path))


def _flag(obj: ET.Element, key: str, record: str, path: Path, report: LoadReport) -> bool | None:
    text = obj.findtext(key)
    if text is None or not text.strip():
        return None
    value = _FLAGS.get(text.strip().lower())
    if value is None:
        report.add(path, record, "bad_flag", f"{key} {text!r} is not 0 or 1", f"kept with {key} unknown")
    return value
