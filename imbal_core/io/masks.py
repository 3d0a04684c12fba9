"""Semantic-mask PNG folders -> canonical segmentation dataset.

A semantic mask is a single-channel PNG (8- or 16-bit grey, or palette) holding one class index
per pixel; a class-names file says which index is which class.

- Layout: a folder holding ``masks/`` (or the PNG masks themselves), optionally one subfolder per
  split (``masks/train/*.png``, named train / val / test ...); otherwise images are
  ``unassigned`` — unless the mask folder itself is named like a split. Hidden files are skipped.
- Class names: ``classes`` names the file; by default the first of :data:`CLASS_FILES` found in
  the mask folder, the folder given, or their parent. Either one name per line (line i names
  index i), or lines ``index name`` / ``index,name`` / ``index: name`` when every line starts
  with an index (a header line and ``#`` comments are skipped; Pascal ``labelmap.txt`` lines
  ``name:r,g,b::`` give the name before the first colon).
- ``background`` ("auto"): the index not counted as a class — "auto" takes every index named
  like background (:data:`BACKGROUND_NAMES`), an index or a name picks one, None counts every
  named index. ``ignore_index`` (255) is never counted (void pixels), whatever its name.
- Each mask is read and counted with NumPy, one image at a time (nothing but the counts is kept),
  in strips of rows (:mod:`.rasters`): a histogram of each strip, added up. Per image and class
  present, one annotation: ``pixels`` = the class's pixel count (also ``area``), the box = the
  extent of those pixels, no iscrowd. A semantic mask has no instances, so "instances" of a class
  are the images holding it.
- Size: a mask of up to :data:`MAX_MASK_PIXELS` pixels (1,073,741,824 = 32768 x 32768, the
  :data:`.rasters.MAX_LABEL_PIXELS` limit; ``max_pixels`` sets another) is read, far past
  Pillow's decompression-bomb limit of about 179 million: a 20000 x 20000 aerial mask is
  legitimate. It holds its stored size in memory while read (1 byte a pixel for 8-bit masks, so
  400 MB for that one) plus one strip; a larger mask is skipped (``mask_too_large``).
- Counts are in mask pixels: masks stored at a lower resolution than their images (as the lanes
  sample's, at half size) count proportionally fewer pixels.
- Problems: a PNG that is not single-channel (an RGB colour mask) or cannot be read (empty,
  truncated, not a PNG) is skipped (``not_a_label_mask`` / ``unreadable_image``), and so is a file
  whose name is not valid UTF-8 (``undecodable_name``); pixels of an index the names file does not name
  are left out (``unknown_class_index``, one row per file with the indices and pixels); a
  repeated class name keeps its first index (``duplicate_class``, the later index is skipped).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..dataset import SPLITS, UNASSIGNED, Dataset, build_dataset, normalize_split
from ..report import LoadError, LoadReport
from .files import read_text
from .paths import skip_undecodable_name
from .rasters import MAX_LABEL_PIXELS, ImageError, ImageTooLarge, LabelImage, open_label_image

CLASS_FILES = ("classes.txt", "class_names.txt", "classnames.txt", "labels.txt", "labelmap.txt", "names.txt",
               "classes.csv")
BACKGROUND_NAMES = frozenset({"background", "_background_", "bg", "unlabeled", "unlabelled", "void", "ignore"})
MASK_DIR = "masks"
#: The most pixels a mask may have (32768 x 32768); ``max_pixels`` sets another limit per call.
MAX_MASK_PIXELS = MAX_LABEL_PIXELS
#: The largest class index a mask can hold (16-bit PNG); a names file naming a larger one is reported.
MAX_CLASS_INDEX = 2**16 - 1
_INDEXED = re.compile(r"^\s*(\d+)\s*[:,;\t ]\s*(.+?)\s*$")
_LABEL_MODES = frozenset({"L", "P", "I", "I;16", "I;16B", "I;16L"})


@dataclass(frozen=True)
class MaskItem:
    """One decoded mask: its name (path below the mask folder, without extension), split and
    ``image`` (read it with ``image.strips()``; open only until the iteration moves on);
    ``names`` are the class names by index and ``counted`` the indices that are classes."""

    name: str
    path: Path
    relative: str
    split: str
    image: LabelImage
    names: tuple[str, ...]
    counted: tuple[int, ...]


@dataclass(frozen=True)
class _Layout:
    root: Path
    files: tuple[tuple[Path, str], ...]  # (mask file, split)
    names_file: Path


def mask_folder(path: Path) -> Path:
    """The folder holding the masks: ``path/masks`` when it exists, else ``path``."""
    sub = path / MASK_DIR
    return sub if sub.is_dir() else path


def find_class_file(path: Path) -> Path | None:
    """The class-names file for masks given as ``path`` (a folder or a PNG), if there is one."""
    start = path if path.is_dir() else path.parent
    for folder in dict.fromkeys([mask_folder(start), start, start.parent, mask_folder(start).parent]):
        for name in CLASS_FILES:
            if (folder / name).is_file():
                return folder / name
    return None


def _layout(path: Path, classes: str | Path | None, report: LoadReport) -> _Layout:
    if not path.exists():
        raise LoadError(f"{path}: no such file or folder.", file=str(path))
    names_file = Path(classes) if classes is not None else find_class_file(path)
    if names_file is None:
        raise LoadError(f"{path}: no class-names file found (looked for {', '.join(CLASS_FILES)} beside the masks "
                        "and one folder up); name it with `classes=`.", report, str(path))
    if not names_file.is_file():
        raise LoadError(f"{names_file}: the class-names file does not exist.", report, str(names_file))
    if path.is_file():
        return _Layout(path.parent, ((path, UNASSIGNED),), names_file)
    root = mask_folder(path)
    own_split = normalize_split(root.name) if normalize_split(root.name) in SPLITS else UNASSIGNED
    files = []
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not file.is_file() or file.suffix.lower() != ".png":
            continue
        if skip_undecodable_name(file, report, rel.as_posix()):
            continue
        split = own_split
        if len(rel.parts) > 1 and normalize_split(rel.parts[0]) in SPLITS:
            split = normalize_split(rel.parts[0])
        files.append((file, split))
    return _Layout(root, tuple(files), names_file)


def read_class_names(path: Path, report: LoadReport) -> dict[int, str]:
    """Index -> class name from a names file (see the module docstring for the formats)."""
    lines = read_text(path, report).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    body = [(i, ln) for i, ln in enumerate(lines, start=1) if ln.strip() and not ln.lstrip().startswith("#")]
    indexed = [(i, _INDEXED.match(ln)) for i, ln in body]
    if body and sum(m is not None for _, m in indexed) >= max(1, len(body) - 1) and (indexed[0][1] or len(body) > 1):
        names: dict[int, str] = {}
        for line, m in indexed:
            if m is None:
                if line == body[0][0]:
                    continue  # a header line
                report.add(path, f"{path.name}:{line}", "bad_line", "line does not start with a class index", "skipped")
                continue
            if len(m.group(1).lstrip("0")) > 5 or int(m.group(1)) > MAX_CLASS_INDEX:  # no mask pixel can hold it
                report.add(path, f"{path.name}:{line}", "bad_line", f"class index {m.group(1)[:20]} is beyond "
                           f"{MAX_CLASS_INDEX:,}, the largest a 16-bit mask holds", "skipped")
                continue
            names[int(m.group(1))] = m.group(2).split(":", 1)[0].strip() if path.name == "labelmap.txt" else m.group(2)
        return names
    out = {}
    index = 0
    for line, text in enumerate(lines, start=1):
        if text.lstrip().startswith("#"):
            continue
        name = text.strip()
        if path.name == "labelmap.txt" and ":" in name:
            name = name.split(":", 1)[0].strip()
        if name:
            out[index] = name
        index += 1
    return out


def _background(names: dict[int, str], background: Any, path: Path) -> set[int]:
    if background is None:
        return set()
    if background == "auto":
        return {i for i, n in names.items() if n.strip().lower() in BACKGROUND_NAMES}
    if isinstance(background, (int, np.integer)) and not isinstance(background, bool):
        if int(background) not in names:
            raise LoadError(f"`background` index {background} is not named in {path}. Named: {sorted(names)}.", file=str(path))
        return {int(background)}
    matches = {i for i, n in names.items() if n == str(background)}
    if not matches:
        raise LoadError(f"`background` {background!r} is not a class in {path}. Classes: {list(names.values())}.", file=str(path))
    return matches


def _names(layout: _Layout, background: Any, ignore_index: int | None, report: LoadReport) -> tuple[tuple[str, ...], tuple[int, ...]]:
    named = read_class_names(layout.names_file, report)
    if not named:
        raise LoadError(f"{layout.names_file}: the class-names file names no class.", report, str(layout.names_file))
    size = max(named) + 1
    names = tuple(named.get(i, "") for i in range(size))
    skip = _background(named, background, layout.names_file) | ({ignore_index} if ignore_index is not None else set())
    seen: dict[str, int] = {}
    counted = []
    for i in sorted(named):
        if i in skip:
            continue
        if named[i] in seen:
            report.add(layout.names_file, f"index {i}", "duplicate_class",
                       f"class {named[i]!r} is named again (first at index {seen[named[i]]})", "skipped")
            continue
        seen[named[i]] = i
        counted.append(i)
    return names, tuple(counted)


def _check_options(ignore_index: Any) -> None:
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer))
                                     or ignore_index < 0):
        raise ValueError(f"`ignore_index` must be a whole number of at least 0, or None. Got {ignore_index!r} instead.")


def iter_masks(paths: Sequence[str | Path], report: LoadReport, classes: str | Path | None = None,
               ignore_index: int | None = 255, background: Any = "auto",
               max_pixels: int | None = MAX_MASK_PIXELS) -> Iterator[MaskItem]:
    """Decode the masks one at a time (see the module docstring for the layout and options)."""
    _check_options(ignore_index)
    for given in paths:
        layout = _layout(Path(given), classes, report)
        names, counted = _names(layout, background, ignore_index, report)
        for file, split in layout.files:
            rel = file.relative_to(layout.root).as_posix()
            try:
                with open_label_image(file, max_pixels) as image:
                    if image.mode not in _LABEL_MODES:
                        report.add(file, rel, "not_a_label_mask",
                                   f"mask is {image.mode}, not a single channel of class indices (a colour mask?)", "skipped")
                        continue
                    image.load()
                    yield MaskItem(rel.rsplit(".", 1)[0], file, rel, split, image, names, counted)
            except ImageError as exc:
                code = "mask_too_large" if isinstance(exc, ImageTooLarge) else "unreadable_image"
                report.add(file, rel, code, f"mask cannot be read: {exc}", "skipped")


def _regions(item: MaskItem, report: LoadReport, ignore_index: int | None) -> list[tuple[int, int, tuple[int, int, int, int]]]:
    """(class index, pixels, box x, y, w, h) of every counted class present in the mask, counted
    strip by strip (a histogram and the rows and columns each class reaches)."""
    totals: dict[int, int] = {}
    extent: dict[int, list[int]] = {}  # index -> [x0, y0, x1, y1], inclusive
    counted = set(item.counted)
    for top, strip, values, pixels in item.image.counted_strips():
        for value, n in zip(values.tolist(), pixels.tolist()):
            totals[value] = totals.get(value, 0) + n
            if value not in counted:
                continue
            hit = strip == value
            rows = np.flatnonzero(hit.any(axis=1))
            cols = np.flatnonzero(hit.any(axis=0))
            box = [int(cols[0]), top + int(rows[0]), int(cols[-1]), top + int(rows[-1])]
            old = extent.setdefault(value, box)
            if old is not box:
                extent[value] = [min(old[0], box[0]), min(old[1], box[1]), max(old[2], box[2]), max(old[3], box[3])]
    stray = sorted(v for v in totals if v != ignore_index and not (0 <= v < len(item.names) and item.names[v]))
    if stray:
        pixels = sum(totals[v] for v in stray)
        report.add(item.path, item.relative, "unknown_class_index",
                   f"{pixels:,} pixels hold indices the class-names file does not name: {stray[:10]}", "skipped")
    out = []
    for index in item.counted:
        if totals.get(index):
            x0, y0, x1, y1 = extent[index]
            out.append((index, totals[index], (x0, y0, x1 - x0 + 1, y1 - y0 + 1)))
    return out


def read_masks(paths: Sequence[str | Path], report: LoadReport | None = None, classes: str | Path | None = None,
               ignore_index: int | None = 255, background: Any = "auto", max_pixels: int | None = MAX_MASK_PIXELS) -> Dataset:
    """Read folders of semantic-mask PNGs into one segmentation dataset (see the module docstring).

    ``classes`` (None: found beside the masks): the class-names file; ``ignore_index`` (255): the
    void index, never counted; ``background`` ("auto"): the index (or name) that is not a class;
    ``max_pixels`` (:data:`MAX_MASK_PIXELS`): the largest mask read, in pixels (None: no limit).
    """
    report = report if report is not None else LoadReport()
    if not paths:
        raise LoadError("No input: give a folder of mask PNGs (or one holding masks/).")
    images: dict[str, list] = {k: [] for k in ("source_id", "file_name", "width", "height", "split")}
    anns: dict[str, list] = {k: [] for k in ("image", "category", "source_id", "x", "y", "w", "h", "area", "pixels", "iscrowd")}
    files: list[str] = []
    rows: dict[str, int] = {}
    names_seen: tuple[str, ...] | None = None
    sources = []
    for given in paths:
        sources.append(str(given))
        for item in iter_masks([given], report, classes, ignore_index, background, max_pixels):
            if names_seen is None:
                names_seen = item.names
                for index in item.counted:
                    rows[item.names[index]] = len(rows)
            elif item.names != names_seen:
                raise LoadError(f"{given}: its class-names file differs from the first input's; load one layout at a time.",
                                report, str(given))
            image = len(images["source_id"])
            images["source_id"].append(item.name)
            images["file_name"].append(item.relative)
            images["height"].append(item.image.height)
            images["width"].append(item.image.width)
            images["split"].append(item.split)
            for index, pixels, (x, y, w, h) in _regions(item, report, ignore_index):
                anns["image"].append(image)
                anns["category"].append(rows[item.names[index]])
                anns["source_id"].append(f"{item.relative}:{index}")
                for key, value in (("x", x), ("y", y), ("w", w), ("h", h), ("area", pixels), ("pixels", pixels)):
                    anns[key].append(float(value))
                anns["iscrowd"].append(False)
                files.append(str(item.path))
    names = list(rows)
    index_of: dict[str, int] = {}
    for i, n in enumerate(names_seen or ()):
        index_of.setdefault(n, i)
    return build_dataset(
        images=images,
        annotations=anns,
        categories={"name": names, "source_id": [str(index_of.get(n, "")) for n in names]},
        task="segmentation",
        format="masks",
        sources=sources,
        report=report,
        annotation_files=files,
    )


def extra_inputs(paths: list[Path]) -> list[Path]:
    """Files read besides ``paths`` (the class-names file may sit one folder up): they belong in
    the cache key, so that editing them is noticed."""
    found = (find_class_file(p) for p in paths)
    return [f for f in found if f is not None]
