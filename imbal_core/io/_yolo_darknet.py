"""Darknet YOLO exports (``obj.data``, ``obj.names``, ``train.txt``): where their files are.

What CVAT's and Roboflow's "YOLO 1.1 / Darknet" export writes::

    obj.data            classes = 3 / train = data/train.txt / valid = data/valid.txt / names = data/obj.names
    obj.names           one class name a line, in index order
    train.txt           image paths, one a line: data/obj_train_data/1.jpg
    obj_train_data/     1.jpg (when exported with images) and 1.txt (its labels)

The paths in ``obj.data`` and the lists are as Darknet sees them from its own folder (``data/``
is where the export is unpacked); they are found under the export's folder by
:class:`._yolo_lists.Locator`. ``train`` / ``valid`` / ``test`` name the splits. A ``names``
file that is not there is reported (``missing_file``) and the ``obj.names`` / ``classes.txt``
beside ``obj.data`` used instead; a split list that is not there is reported (``missing_split``)
and left out. Label files in the lists' folders that no list names are reported
(``unlisted_label``) and left out, as Darknet leaves them out of training (also a whole
``obj_<subset>_data/`` folder whose list is missing). A folder with
``train.txt`` / ``valid.txt`` / ``test.txt`` lists of image paths but no ``obj.data`` is read the
same way, the lists' names giving the splits.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..dataset import normalize_split
from ..report import LoadError, LoadReport, excerpt
from .files import decode_text, read_bytes
from ._yolo_lists import Locator, Source, is_image_list, list_items
from .sniff import DARKNET_LISTS, looks_like_darknet_data

DATA_SUFFIX = ".data"
#: obj.data keys read as split lists (Darknet's own are ``train`` and ``valid``).
SPLIT_KEYS = ("train", "valid", "val", "test")


def find_data_file(folder: Path) -> Path | None:
    """The Darknet ``.data`` file in ``folder`` (``obj.data`` first), or None."""
    try:
        candidates = sorted((p for p in folder.iterdir() if p.suffix.lower() == DATA_SUFFIX and p.is_file()),
                            key=lambda p: (p.name.lower() != "obj.data", p.name))
    except OSError:
        return None
    for path in candidates:
        try:
            with open(path, "rb") as f:
                if looks_like_darknet_data(f.read(4096)):
                    return path
        except OSError:
            continue
    return None


def root_lists(folder: Path) -> dict[str, Path]:
    """``train.txt`` / ``valid.txt`` / ``test.txt`` in ``folder`` that list image paths, by split key."""
    found = {}
    for name in DARKNET_LISTS:
        path = folder / name
        if path.is_file() and is_image_list(str(path)):
            found[name[: -len(".txt")]] = path
    return found


def from_data_file(path: Path, report: LoadReport) -> tuple[Source, bool]:
    """The items and class names an ``obj.data`` describes (see the module doc), and whether it
    names any split list (when not, the folder's layout says where the labels are)."""
    try:
        text = decode_text(read_bytes(path), path, report)
    except LoadError as exc:
        raise LoadError(str(exc), report, str(path)) from None
    entries = _entries(text, path, report)
    if not any(k in entries for k in ("train", "valid", "val", "test", "names", "classes")):
        raise LoadError(f"{path}: not a Darknet .data file — no `train`, `valid`, `names` or `classes` line.",
                        report, str(path))
    root = os.path.normpath(path.parent)
    locator = Locator(root)
    source = Source(str(path), root, None)
    if "names" in entries:
        found = locator.locate(entries["names"][1])
        if found is None:
            report.add(path, f"line {entries['names'][0]}", "missing_file",
                       f"`names` points to {excerpt(entries['names'][1])}, which is not under {root}",
                       "used obj.names or classes.txt beside it")
        else:
            source.names = _read_names(found, report)
    if source.names is None:
        source.names = next((n for n in (_read_names(p, report) for p in _beside(root)) if n), None)
    _check_classes(entries, source.names, path, report)
    for key in SPLIT_KEYS:
        if key not in entries:
            continue
        entry = entries[key][1]
        found = locator.locate(entry)
        if found is None:
            report.add(path, key, "missing_split", f"`{key}` points to {excerpt(entry)}, which is not under {root}",
                       "split left out")
            continue
        list_items(source, found, normalize_split(key), report)
    return source, any(key in entries for key in SPLIT_KEYS)


def from_lists(folder: Path, lists: dict[str, Path], report: LoadReport) -> Source:
    """A Darknet folder without ``obj.data``: its split lists, classes from ``obj.names`` / ``classes.txt``."""
    root = os.path.normpath(folder)
    source = Source(str(folder), root, None)
    source.names = next((n for n in (_read_names(p, report) for p in _beside(root)) if n), None)
    for key, path in lists.items():
        list_items(source, str(path), normalize_split(key), report)
    return source


def report_unlisted(source: Source, report: LoadReport) -> None:
    """One ``unlisted_label`` row per folder holding label files no list names: the folders of the
    listed labels and the export's ``obj_<subset>_data/`` folders (CVAT's)."""
    used = {os.path.normpath(i.label) for i in source.items if i.label}
    lists = set(source.lists)
    folders = {os.path.dirname(u) for u in used}
    try:
        folders |= {e.path for e in os.scandir(source.root)
                    if e.is_dir() and e.name.startswith("obj_") and e.name.endswith("_data")}
    except OSError:
        pass
    for folder in sorted(folders):
        try:
            names = sorted(n for n in os.listdir(folder) if n.lower().endswith(".txt") and not n.startswith("."))
        except OSError:
            continue
        unlisted = [n for n in names if os.path.join(folder, n) not in used and os.path.join(folder, n) not in lists
                    and n not in ("classes.txt", "obj.names")]
        if unlisted:
            rel = os.path.relpath(folder, source.root).replace(os.sep, "/")
            report.add(folder, rel, "unlisted_label",
                       f"{len(unlisted):,} label files in {rel}/ are in no image list (first: {excerpt(unlisted[0])})",
                       "left out, as Darknet leaves them out of training")


def _entries(text: str, path: Path, report: LoadReport) -> dict[str, tuple[int, str]]:
    """``key = value`` lines (``#`` starts a comment) as {key: (line number, value)}; the first of a key wins."""
    entries: dict[str, tuple[int, str]] = {}
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or not key:
            report.add(path, f"line {lineno}", "bad_line", f"not a `key = value` line: {excerpt(line)}", "skipped")
            continue
        entries.setdefault(key, (lineno, value))
    return entries


def _beside(root: str) -> list[str]:
    return [p for p in (os.path.join(root, n) for n in ("obj.names", "classes.txt")) if os.path.isfile(p)]


def _read_names(path: str, report: LoadReport) -> dict[int, str] | None:
    try:
        text = decode_text(read_bytes(path), path, report)
    except LoadError as exc:
        report.add(path, "", "unreadable_file", str(exc), "used obj.names or classes.txt beside it")
        return None
    names = {i: name for i, name in enumerate(n for n in (ln.strip() for ln in text.split("\n")) if n)}
    return names or None


def _check_classes(entries: dict[str, tuple[int, str]], names: dict[int, str] | None, path: Path,
                   report: LoadReport) -> None:
    if "classes" not in entries or names is None:
        return
    line, value = entries["classes"]
    if value.strip() != str(len(names)):
        report.add(path, f"line {line}", "nc_mismatch",
                   f"`classes` is {excerpt(value)} but the names file lists {len(names)} classes",
                   f"used the {len(names)} names")
