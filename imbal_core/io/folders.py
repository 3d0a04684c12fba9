"""Image folder trees ``root/[split/]class/image`` -> canonical classification dataset.

- Images are files ending in one of :data:`IMAGE_EXTENSIONS` (any case). Other files, and
  hidden entries (``.DS_Store``, ``.ipynb_checkpoints``), are ignored and counted in one
  ``ignored_files`` report row.
- Split layout: when a top-level folder is named like a split (train / training / val / valid /
  validation / dev / test ...), the top level holds splits; other top-level folders are then
  skipped and reported (``not_a_split_folder``). Otherwise the root holds classes and images are
  ``unassigned`` — unless the root itself is named like a split (``dataset/train`` given alone).
- The class is the image's folder below the split (or the root): its path when classes nest
  (``a/apartment_building/outdoor``), so equal leaf names in different branches stay apart.
  Images with no class folder (directly in the root or a split folder) are skipped
  (``no_class_folder``). A class folder with nothing in it is a declared class with no images.
- A file or folder whose name is not valid UTF-8 is skipped with one ``undecodable_name`` row
  (its name shown with ``\\x`` escapes); the rest of the tree is read.
- Symbolic links are followed only while they stay inside the root (``symlink_outside_root``
  otherwise: skipped); a link loop is visited once.
- Sizes are read from image headers with Pillow, without decoding (about 50 µs per image from a
  warm disk cache, far more from a cold or network disk). ``read_sizes`` ("auto") reads them for
  trees of up to :data:`SIZE_READ_LIMIT` images and otherwise leaves them unknown with one
  ``sizes_not_read`` row: sizes matter little for classification, and a first look at a big tree
  should not wait on a million header reads. ``True`` / ``False`` force it. An unreadable header
  leaves the size unknown (``unreadable_image``). Only headers are read, so images past Pillow's
  decompression-bomb limit (a 20000 x 20000 aerial photo) have their size like any other.
- Classes are sorted by name (numbers by value); ``file_name`` is the path below the root.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

from ..dataset import SPLITS, UNASSIGNED, Dataset, build_dataset, normalize_split
from ..report import LoadError, LoadReport
from .files import split_from_name
from ._labels import class_sort_key
from .paths import safe_name, skip_undecodable_name
from .rasters import ImageError, open_header

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
SIZE_READ_LIMIT = 20_000
_EXAMPLES = 5


@dataclass
class _Tree:
    """What a walk of one root found: images and empty leaf folders as relative parts."""

    root: Path
    images: list[tuple[tuple[str, ...], str, str]] = field(default_factory=list)  # (folders, file, full path)
    empty_dirs: list[tuple[str, ...]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def read_folder(
    paths: Sequence[str | Path], report: LoadReport | None = None,
    read_sizes: bool | Literal["auto"] = "auto", **options: Any,
) -> Dataset:
    """Read one or several image-folder trees into one dataset (see the module docstring)."""
    if options:
        raise TypeError(f"read_folder() got unknown options {sorted(options)}.")
    if read_sizes not in (True, False, "auto"):
        raise ValueError(f"`read_sizes` must be True, False or 'auto'. Got {read_sizes!r} instead.")
    report = report if report is not None else LoadReport()
    images: dict[str, list] = {"file_name": [], "path": [], "split": [], "class": []}
    declared: set[str] = set()
    ignored: list[str] = []
    for root in map(Path, paths):
        if not root.is_dir():
            raise LoadError(f"{root}: not a folder (an image folder tree is read from its root folder).",
                            report, str(root))
        tree = _walk(root, report)
        ignored.extend(tree.ignored)
        _layout(tree, images, declared, report)
    if ignored:
        examples = ", ".join(ignored[:_EXAMPLES]) + (", ..." if len(ignored) > _EXAMPLES else "")
        report.add(paths[0], "", "ignored_files", f"{len(ignored):,} files are not images ({examples})", "ignored")
    names = sorted(declared | set(images["class"]), key=class_sort_key)
    row_of = {name: i for i, name in enumerate(names)}
    widths, heights = _sizes(images["path"], images["file_name"], read_sizes, report)
    n = len(images["file_name"])
    return build_dataset(
        images={"source_id": images["file_name"], "file_name": images["file_name"], "split": images["split"],
                "width": widths, "height": heights},
        annotations={"image": list(range(n)), "category": [row_of[c] for c in images["class"]],
                     "source_id": images["file_name"]},
        categories={"name": names, "source_id": names},
        task="classification", format="folder", sources=[str(p) for p in paths], report=report,
        check_boxes=False,
    )


def _walk(root: Path, report: LoadReport) -> _Tree:
    tree = _Tree(root)
    real_root = os.path.realpath(root)
    visited = {real_root}
    stack: list[tuple[str, tuple[str, ...]]] = [(str(root), ())]
    while stack:
        folder, parts = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            report.add(folder, folder, "unreadable_file", f"folder cannot be listed ({exc.strerror or exc})", "skipped")
            continue
        has_content = False
        subfolders = []
        for entry in entries:
            rel = "/".join((*parts, entry.name))
            if skip_undecodable_name(entry.path, report, rel):
                continue
            if entry.name.startswith("."):
                tree.ignored.append(rel)
                continue
            has_content = True
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if os.path.commonpath([real_root, target]) != real_root:
                    report.add(root, rel, "symlink_outside_root", f"link points outside the root, to {safe_name(target)}", "skipped")
                    continue
                if os.path.isdir(target):
                    if target in visited:
                        continue
                    visited.add(target)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                subfolders.append((entry.path, (*parts, entry.name)))
            elif os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
                tree.images.append((parts, entry.name, entry.path))
            else:
                tree.ignored.append(rel)
        if not has_content and parts:
            tree.empty_dirs.append(parts)
        stack.extend(reversed(subfolders))
    tree.images.sort(key=lambda t: (t[0], t[1]))
    return tree


def _layout(tree: _Tree, images: dict[str, list], declared: set[str], report: LoadReport) -> None:
    """Split and class of every image of one tree, by the folder layout."""
    top = {parts[0] for parts, _, _ in tree.images if parts} | {parts[0] for parts in tree.empty_dirs}
    split_folders = {name for name in top if normalize_split(name) in SPLITS}
    root_split = split_from_name(tree.root.name) or UNASSIGNED
    depth = 1 if split_folders else 0  # folders above the class
    skipped_top: dict[str, int] = {}
    for parts, file, full in tree.images:
        rel = "/".join((*parts, file))
        if depth and parts and parts[0] not in split_folders:
            skipped_top[parts[0]] = skipped_top.get(parts[0], 0) + 1
            continue
        if len(parts) <= depth:
            where = "the root" if not parts else f"the split folder {parts[0]!r}"
            report.add(tree.root, rel, "no_class_folder", f"image lies directly in {where}, not in a class folder", "skipped")
            continue
        images["file_name"].append(rel)
        images["path"].append(full)
        images["split"].append(normalize_split(parts[0]) if depth else root_split)
        images["class"].append("/".join(parts[depth:]))
    for name, count in sorted(skipped_top.items()):
        report.add(tree.root, name, "not_a_split_folder",
                   f"top-level folder {name!r} is not a split (beside {', '.join(sorted(split_folders))}); "
                   f"its {count:,} image{'s' if count != 1 else ''} left out", "skipped")
    for parts in tree.empty_dirs:
        if len(parts) > depth and not (depth and parts[0] not in split_folders):
            declared.add("/".join(parts[depth:]))


def _sizes(paths: list[str], names: list[str], read_sizes: bool | str, report: LoadReport) -> tuple[list, list]:
    n = len(paths)
    if read_sizes is False or n == 0:
        return [None] * n, [None] * n
    if read_sizes == "auto" and n > SIZE_READ_LIMIT:
        report.add("", "", "sizes_not_read",
                   f"{n:,} images: more than {SIZE_READ_LIMIT:,}, so their headers were not read",
                   "sizes left unknown (pass read_sizes=True to read them)")
        return [None] * n, [None] * n
    widths: list[int | None] = []
    heights: list[int | None] = []
    for path, name in zip(paths, names):
        try:
            with open_header(path) as image:
                width, height = image.size
        except ImageError as exc:  # the image stays, its size unknown
            report.add(path, name, "unreadable_image", f"image header cannot be read ({exc})", "kept, size unknown")
            width = height = None
        widths.append(width)
        heights.append(height)
    return widths, heights
