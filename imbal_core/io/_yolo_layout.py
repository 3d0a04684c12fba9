"""Where the files of a YOLO export are: data.yaml, split entries, folder layouts (for :mod:`.yolo`).

Resolves one input (a YAML file, a Darknet ``.data`` file or a folder) into a :class:`Source`:
its items (an image and/or a label file, with a split), the folder source ids are relative to,
and the class names. See :mod:`.yolo` for the rules; this module only finds files and reads the
YAML, it parses no labels. Darknet's files: :mod:`._yolo_darknet`; lists of image paths:
:mod:`._yolo_lists`.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..dataset import SPLITS, UNASSIGNED, normalize_split
from ..report import LoadError, LoadReport, excerpt
from .files import decode_text, parse_yaml, read_bytes
from . import _yolo_darknet as darknet
from ._yolo_lists import Item, Source, is_image_list, list_items
from .paths import skip_undecodable_name
from .sniff import IMAGE_EXTENSIONS

__all__ = ["Item", "Source", "names_file", "resolve"]

YAML_SUFFIXES = (".yaml", ".yml")
#: data.yaml keys read as splits.
SPLIT_KEYS = ("train", "val", "valid", "test")
#: Class-name files written beside YOLO labels by labelImg and CVAT, used when there is no YAML.
NAMES_FILES = ("classes.txt", "obj.names")
_LABEL_SUFFIX = frozenset({".txt"})


def resolve(path: Path, report: LoadReport) -> Source:
    """The items and class names of one input: a YAML file, a Darknet ``.data`` file, or a folder
    (through its YAML, else its ``.data`` file, else its Darknet split lists, else its layout)."""
    if path.is_dir():
        found = _find_yaml(path) or darknet.find_data_file(path)
        if found is None:
            lists = darknet.root_lists(path)
            if lists:  # Darknet's split lists without their obj.data
                source = darknet.from_lists(path, lists, report)
                darknet.report_unlisted(source, report)
            else:
                source = Source(str(path), os.path.normpath(path), None)
                _folder_items(source, report)
            return source
        path = found
    if path.suffix.lower() == darknet.DATA_SUFFIX:
        return _from_darknet(path, report)
    return _from_yaml(path, report)


def _from_darknet(path: Path, report: LoadReport) -> Source:
    source, names_lists = darknet.from_data_file(path, report)
    if names_lists:
        darknet.report_unlisted(source, report)
    else:  # an obj.data naming no list: the layout says where the labels are
        _folder_items(source, report)
    return source


def _find_yaml(folder: Path) -> Path | None:
    candidates = sorted((p for p in folder.iterdir() if p.suffix.lower() in YAML_SUFFIXES),
                        key=lambda p: (p.stem.lower() != "data", p.name))
    for p in candidates:
        try:
            if b"names" in read_bytes(p):
                return p
        except LoadError:
            continue
    return None


def _from_yaml(path: Path, report: LoadReport) -> Source:
    try:
        text = decode_text(read_bytes(path), path, report)
    except LoadError as exc:
        raise LoadError(str(exc), report, str(path)) from None
    doc = parse_yaml(text, path, report)
    if not isinstance(doc, dict):
        kind = "empty" if doc is None else f"a {type(doc).__name__}"
        raise LoadError(f"{path}: not a YOLO data.yaml — the top level is {kind}, not a mapping.", report, str(path))
    names = _names(doc, path, report)
    yaml_dir = path.parent
    base = _base(doc, path, report)
    source = Source(str(path), os.path.normpath(base), names)
    if not any(doc.get(key) for key in SPLIT_KEYS):  # a YAML naming only the classes: the layout says the rest
        _folder_items(source, report)
        return source
    for key in SPLIT_KEYS:
        entries = doc.get(key)
        entries = entries if isinstance(entries, list) else [entries]
        for entry in entries:
            if entry is None or entry == "":
                continue
            if not isinstance(entry, str):
                report.add(path, key, "bad_split_entry", f"`{key}` entry {excerpt(entry)} is not a path", "split left out")
                continue
            target = _locate(entry, base, yaml_dir)
            if target is None:
                report.add(path, key, "missing_split",
                           f"`{key}` points to {entry!r}, which does not exist under {base} (nor its labels folder)",
                           "split left out")
            elif target.is_file():
                list_items(source, str(target), normalize_split(key), report, allow_absolute=True)
            else:
                _dir_items(source, target, normalize_split(key), report)
    return source


def _names(doc: dict, path: Path, report: LoadReport) -> dict[int, str] | None:
    """YOLO index -> class name; None when the YAML gives only ``nc`` (classes named by index)."""
    raw = doc.get("names")
    nc = doc.get("nc")
    if raw is None:
        if isinstance(nc, int) and not isinstance(nc, bool):
            return None
        raise LoadError(f"{path}: not a YOLO data.yaml — it has no `names`.", report, str(path))
    if isinstance(raw, list):
        pairs = list(enumerate(raw))
    elif isinstance(raw, dict):
        pairs = []
        for key, value in raw.items():
            if isinstance(key, str) and key.strip().isdecimal():
                key = int(key)
            if not isinstance(key, int) or isinstance(key, bool) or key < 0:
                report.add(path, f"names[{excerpt(key)}]", "bad_category", f"class index {excerpt(key)} is not a whole number ≥ 0",
                           "skipped")
                continue
            pairs.append((key, value))
        pairs.sort(key=lambda pair: pair[0])
    else:
        raise LoadError(f"{path}: `names` must be a list or a mapping {{index: name}}. Got {type(raw).__name__} instead.",
                        report, str(path))
    names = {}
    for index, value in pairs:
        if isinstance(value, (dict, list)):
            report.add(path, f"names[{index}]", "bad_category", f"class {index} is named by {excerpt(value)}, not text",
                       f"named {str(index)!r}")
            value = index
        elif value is None or str(value).strip() == "":
            report.add(path, f"names[{index}]", "bad_category", f"class {index} has no name", f"named {str(index)!r}")
            value = index
        names[index] = str(value)
    if nc is not None and nc != len(names):
        report.add(path, "nc", "nc_mismatch", f"`nc` is {excerpt(nc)} but `names` lists {len(names)} classes",
                   f"used the {len(names)} names")
    return names


def _base(doc: dict, path: Path, report: LoadReport) -> Path:
    """Where the split entries are relative to: ``path`` when it exists here, else the YAML's folder."""
    raw = doc.get("path")
    if raw is None or str(raw).strip() in ("", "."):
        return path.parent
    if not isinstance(raw, str):
        report.add(path, "path", "stale_path", f"`path` is a {type(raw).__name__}, not a folder name",
                   f"resolved the splits against the YAML's folder {path.parent}")
        return path.parent
    candidate = path.parent / raw  # an absolute `path` stays absolute
    if _is_dir(candidate):
        return candidate
    report.add(path, "path", "stale_path", f"`path` is {raw}, which does not exist on this machine",
               f"resolved the splits against the YAML's folder {path.parent}")
    return path.parent


def _swap(folder: Path, old: str, new: str) -> Path:
    """The Ultralytics rule: the last ``old`` component of ``folder`` becomes ``new``."""
    parts = list(folder.parts)
    i = len(parts) - 1 - parts[::-1].index(old)
    parts[i] = new
    return Path(*parts)


def _locate(entry: str, base: Path, yaml_dir: Path) -> Path | None:
    """The first existing reading of a split entry (itself, or its labels folder if it names images)."""
    if os.sep == "/":
        entry = entry.replace("\\", "/")
    tails = [entry] + ([entry[3:]] if entry.startswith("../") else [])
    for candidate in dict.fromkeys(Path(os.path.normpath(d / t)) for t in tails for d in (base, yaml_dir)):
        if _exists(candidate):
            return candidate
        if "images" in candidate.parts and _is_dir(_swap(candidate, "images", "labels")):
            return candidate
    return None


def _exists(path: Path) -> bool:
    """``Path.exists`` that says no (instead of raising) for names the OS cannot even look up."""
    try:
        return path.exists()
    except OSError:
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _folder_items(source: Source, report: LoadReport) -> None:
    root = Path(source.root)
    own_split = normalize_split(root.name) if normalize_split(root.name) in SPLITS else UNASSIGNED
    if (root / "images").is_dir() or (root / "labels").is_dir():
        _pair(source, root / "images", root / "labels", own_split, report, split_subfolders=True)
        return
    split_dirs = sorted(d for d in root.iterdir()
                        if d.is_dir() and not d.name.startswith(".") and ((d / "images").is_dir() or (d / "labels").is_dir()))
    for d in split_dirs:
        _pair(source, d / "images", d / "labels", normalize_split(d.name), report)
    if not split_dirs:
        _pair(source, root, root, own_split, report)


def _dir_items(source: Source, folder: Path, split: str, report: LoadReport) -> None:
    if (folder / "images").is_dir() or (folder / "labels").is_dir():
        _pair(source, folder / "images", folder / "labels", split, report)
    elif "images" in folder.parts:
        _pair(source, folder, _swap(folder, "images", "labels"), split, report)
    elif "labels" in folder.parts:
        _pair(source, _swap(folder, "labels", "images"), folder, split, report)
    else:
        _pair(source, folder, folder, split, report)


def _pair(source: Source, image_dir: Path, label_dir: Path, split: str, report: LoadReport,
          split_subfolders: bool = False) -> None:
    """Items of one images folder and its labels folder, matched by relative path.

    ``split_subfolders``: a first path component naming a split (``images/train/...``) sets it.
    """
    images = _walk(str(image_dir), IMAGE_EXTENSIONS, report)
    labels = _walk(str(label_dir), _LABEL_SUFFIX, report)
    image_stems = {os.path.splitext(r)[0] for r in images}
    for name in NAMES_FILES:
        if name in labels and os.path.splitext(name)[0] not in image_stems:
            labels.remove(name)
            source.names_files.append(os.path.join(label_dir, name))
    for rel in [r for r in labels if os.sep not in r and os.path.splitext(r)[0] not in image_stems]:
        path = os.path.join(label_dir, rel)
        if is_image_list(path):  # e.g. an Ultralytics autosplit list beside the labels: not labels
            labels.remove(rel)
            report.add(path, rel, "image_list", "a list of image paths, not a label file", "ignored")
    label_set, matched = set(labels), set()
    for rel in images:
        label = os.path.splitext(rel)[0] + ".txt"
        if label in label_set:
            matched.add(label)
        source.items.append(Item(_split_of(rel, split, split_subfolders), os.path.join(image_dir, rel),
                                 os.path.join(label_dir, label) if label in label_set else None))
    for rel in labels:
        if rel not in matched:
            source.items.append(Item(_split_of(rel, split, split_subfolders), None, os.path.join(label_dir, rel)))


def _split_of(rel: str, split: str, from_subfolder: bool) -> str:
    if from_subfolder and os.sep in rel:
        first = normalize_split(rel.split(os.sep, 1)[0])
        if first in SPLITS:
            return first
    return split


def _walk(folder: str, suffixes: frozenset[str], report: LoadReport) -> list[str]:
    """Paths below ``folder`` (relative, sorted) whose suffix is in ``suffixes``; hidden names skipped.

    An entry with a wanted suffix is kept even when it is a folder or a broken link, so that
    reading it fails and is reported instead of vanishing.
    """
    found: list[str] = []
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            with os.scandir(os.path.join(folder, rel_dir)) as it:
                entries = list(it)
        except FileNotFoundError:
            continue
        except OSError as exc:
            where = os.path.join(folder, rel_dir)
            report.add(where, where, "unreadable_file", f"folder cannot be listed ({exc.strerror})", "skipped")
            continue
        for e in entries:
            if e.name.startswith("."):
                continue
            rel = os.path.join(rel_dir, e.name) if rel_dir else e.name
            if skip_undecodable_name(e.path, report, rel):  # one such name must not sink the folder
                continue
            if os.path.splitext(e.name)[1].lower() in suffixes:
                found.append(rel)
            elif e.is_dir(follow_symlinks=False):
                stack.append(rel)
    found.sort()
    return found


def names_file(source: Source, report: LoadReport) -> dict[int, str] | None:
    """Class names from a ``classes.txt`` / ``obj.names`` (one a line) in the root or beside the labels."""
    for path in [os.path.join(source.root, n) for n in NAMES_FILES] + source.names_files:
        if os.path.isfile(path):
            try:
                lines = [ln.strip() for ln in decode_text(read_bytes(path), path, report).split("\n")]
            except LoadError:
                continue
            names = {i: name for i, name in enumerate(ln for ln in lines if ln)}
            if names:
                return names
    return None
