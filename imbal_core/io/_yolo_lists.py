"""Lists of image paths in a YOLO export (for :mod:`._yolo_layout` and :mod:`._yolo_darknet`).

A split may be a ``.txt`` file listing image paths, one a line: a data.yaml entry (Ultralytics),
Darknet's ``train.txt`` / ``valid.txt``. The paths inside are often not where the files are now:
Darknet writes them as seen from its own folder (``data/obj_train_data/1.jpg``), other tools as
absolute paths on the machine that made the export. :func:`locate` finds the file under the
export's folder, and never outside it: the path as written (relative to the list's folder, then
to the export's), else its trailing components under the export's folder (``data/`` and any
other leading folders stripped). The label of an image is Darknet's: ``images`` becomes
``labels`` and the extension ``.txt``, else the ``.txt`` beside the image.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..report import LoadError, LoadReport, excerpt
from .files import decode_text, read_bytes
from .sniff import looks_like_image_list

_SEP_IMAGES, _SEP_LABELS = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"


@dataclass
class Item:
    """One image of the export: its image file, its label file, or both."""

    split: str
    image: str | None  # image path (may be absent from disk when listed in a .txt)
    label: str | None  # label path
    on_disk: bool = True  # whether ``image`` exists


@dataclass
class Source:
    """One input: its items, where source ids are relative to, and what the indices are called."""

    file: str
    root: str
    names: dict[int, str] | None
    items: list[Item] = field(default_factory=list)
    names_files: list[str] = field(default_factory=list)  # classes.txt met beside the labels
    lists: list[str] = field(default_factory=list)  # the image lists read


class Locator:
    """Finds the files a list names under ``root`` (see the module doc).

    Remembers how many leading components the last match dropped and tries that first: a list
    written by one tool names all its files the same way.
    """

    def __init__(self, root: str, allow_absolute: bool = False):
        self.root = os.path.normpath(root)
        self._prefix = self.root + os.sep
        self._dropped = 0
        # An Ultralytics data.yaml's lists may name images anywhere on this machine by absolute path
        # (imbal's own split export writes them so); Darknet's never do.
        self.allow_absolute = allow_absolute
        self.outside = 0  # absolute paths accepted outside the root

    def inside(self, path: str) -> bool:
        return path == self.root or path.startswith(self._prefix)

    def locate(self, entry: str, base: str | None = None) -> str | None:
        """The existing file ``entry`` names under the root, or None. ``base``: the list's folder."""
        parts = [p for p in entry.strip().replace("\\", "/").split("/") if p not in ("", ".")]
        if not parts:
            return None
        absolute = entry.strip().startswith(("/", "\\")) or (len(parts[0]) == 2 and parts[0][1] == ":")  # C:\...
        candidates: list[tuple[str, int | None]] = []
        if absolute:  # as written, when it is inside the export's folder on this machine
            candidates.append((os.path.normpath(os.path.join(os.sep, *parts)), None))
        else:
            candidates += [(os.path.normpath(os.path.join(d, *parts)), None) for d in (base, self.root) if d]
        order = [self._dropped] + [k for k in range(len(parts)) if k != self._dropped]
        candidates += [(os.path.normpath(os.path.join(self.root, *parts[k:])), k) for k in order if k < len(parts)]
        tried: set[str] = set()
        for candidate, dropped in candidates:
            if candidate in tried:
                continue
            tried.add(candidate)
            if dropped is None and absolute and self.allow_absolute and not self.inside(candidate) \
                    and os.path.isfile(candidate):
                self.outside += 1
                return candidate
            if self.inside(candidate) and os.path.isfile(candidate):
                if dropped is not None:
                    self._dropped = dropped
                return candidate
        return None


def label_of(image: str) -> str:
    """Darknet's label path of an image: ``images`` -> ``labels``, the extension -> ``.txt``."""
    head, sep, tail = image.rpartition(_SEP_IMAGES)
    return os.path.splitext(head + _SEP_LABELS + tail if sep else image)[0] + ".txt"


def list_items(source: Source, list_file: str, split: str, report: LoadReport, allow_absolute: bool = False) -> None:
    """Append the items of a ``.txt`` list of image paths to ``source`` (see the module doc).

    ``allow_absolute`` (False): absolute paths that exist are read as written even outside the
    export's folder (a data.yaml's lists, as Ultralytics reads them); each list says how many.

    A listed image not on disk whose label file is there is kept with its labels (an export
    without its images); one with neither is left out. Each is reported once per list.
    """
    try:
        text = decode_text(read_bytes(list_file), list_file, report)
    except LoadError as exc:
        report.add(list_file, "", "unreadable_file", str(exc), "split left out")
        return
    source.lists.append(os.path.normpath(list_file))
    locator = Locator(source.root, allow_absolute)
    base = os.path.dirname(os.path.normpath(list_file))
    missing: list[str] = []
    absent: list[str] = []
    for line in text.split("\n"):
        entry = line.strip()
        if not entry:
            continue
        image = locator.locate(entry, base)
        if image is not None:
            label = label_of(image)
            source.items.append(Item(split, image, label if os.path.lexists(label) else None))
            continue
        label = locator.locate(_label_entry(entry), base)
        if label is None and allow_absolute and os.path.isabs(entry) and os.path.isfile(label_of(os.path.normpath(entry))):
            label = label_of(os.path.normpath(entry))  # an image elsewhere on this machine, not on disk, its label is
            locator.outside += 1
        if label is None:
            absent.append(entry)
            continue
        missing.append(entry)
        image = os.path.join(os.path.dirname(label), os.path.basename(entry.replace("\\", "/")))
        source.items.append(Item(split, image, label, on_disk=False))
    if locator.outside:
        report.add(list_file, "", "outside_export",
                   f"{locator.outside:,} listed images are outside {source.root}, named by absolute path",
                   "read as written")
    if missing:
        report.add(list_file, excerpt(missing[0]), "missing_image",
                   f"{len(missing):,} listed images are not on disk (first: {excerpt(missing[0])})",
                   "kept with their labels; sizes unknown, boxes normalised")
    if absent:
        report.add(list_file, excerpt(absent[0]), "missing_image",
                   f"{len(absent):,} listed images and their label files are not under {source.root} "
                   f"(first: {excerpt(absent[0])})", "left out")


def _label_entry(entry: str) -> str:
    """The label path a listed image path implies, as written (relative stays relative)."""
    parts = [p for p in entry.strip().replace("\\", "/").split("/") if p not in ("", ".")]
    return label_of(os.sep + os.path.join(*parts))[len(os.sep):] if parts else ""


def is_image_list(path: str) -> bool:
    """Whether a ``.txt`` file is a list of image paths (its first line names an image), not labels."""
    try:
        with open(path, "rb") as f:
            return looks_like_image_list(f.read(4096))
    except OSError:
        return False
