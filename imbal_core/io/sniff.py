"""Which format an export is in, from its names and first bytes (``format="auto"``).

Cheap checks only: file extensions, folder layout, the first few kilobytes of a file. When
nothing matches, :class:`LoadError` lists what is supported.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

from ..report import LoadError
from .formats import supported_formats

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
_HEAD = 1 << 16
_LIST_LINE = re.compile(rb"^\S.*\s+-?\d+\s*$")
_EXDARK_HEADER = re.compile(rb"^\s*name\s*\|\s*class\s*\|", re.IGNORECASE)
_FIRST_TAG = re.compile(rb"<([A-Za-z_][\w.-]*)")  # skips <?xml ...?>, <!-- --> and <!DOCTYPE>
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?", re.IGNORECASE)  # a value in a KITTI / MOT line
_BELOW_LIMIT = 5000  # entries looked at when searching a folder's sub-folders for CVAT / Labelme files
_DARKNET_KEY = re.compile(rb"^\s*(classes|train|valid|names)\s*=", re.MULTILINE)
#: Darknet split lists (image paths, one a line) read when a folder has no ``obj.data``.
DARKNET_LISTS = ("train.txt", "valid.txt", "val.txt", "test.txt")


def looks_like_cvat(head: bytes) -> bool:
    """The first bytes of a CVAT XML export: root ``<annotations>`` (VOC's is ``<annotation>``)
    with ``<version>`` or ``<meta>``."""
    first = _FIRST_TAG.search(head)
    return first is not None and first.group(1) == b"annotations" and (b"<version" in head or b"<meta" in head)


def looks_like_labelme(head: bytes) -> bool:
    """The first bytes of a Labelme JSON file: an object with ``shapes`` and ``imagePath`` (or,
    when the shapes come first and are long, the first shape's ``shape_type``)."""
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and b'"shapes"' in head and (b'"imagePath"' in head or b'"shape_type"' in head)


def looks_like_darknet_data(head: bytes) -> bool:
    """The first bytes of a Darknet ``.data`` file (``obj.data``): ``key = value`` lines naming
    the classes, the split lists or the names file."""
    return _DARKNET_KEY.search(head) is not None


def looks_like_image_list(head: bytes) -> bool:
    """The first bytes of a list of image paths (Darknet's ``train.txt``): the first line names an image."""
    first = next((ln.strip() for ln in head.lstrip(b"\xef\xbb\xbf").splitlines() if ln.strip()), b"")
    return os.path.splitext(first.decode("utf-8", "replace"))[1].lower() in IMAGE_EXTENSIONS


def _head(path: Path, size: int = _HEAD) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError as exc:
        raise LoadError(f"{path}: cannot be read ({exc.strerror or exc}).", file=str(path)) from None


def sniff(paths: Sequence[Path]) -> str:
    """The format name of ``paths`` (all must be of one format)."""
    kinds = {p: _sniff_one(p) for p in paths}
    if len(set(kinds.values())) == 1:
        return next(iter(kinds.values()))
    first = next(iter(kinds))
    raise LoadError(
        f"{first}: the inputs look like different formats ("
        + ", ".join(f"{p}: {kind}" for p, kind in kinds.items())
        + "); load one format at a time, or pass `format`.",
        file=str(first),
    )


def _unsupported(path: Path, why: str) -> LoadError:
    return LoadError(f"{path}: {why}. Supported formats:\n{supported_formats()}", file=str(path))


def _sniff_one(path: Path) -> str:
    if path.is_dir():
        return _sniff_dir(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yolo"
    if suffix == ".data" and looks_like_darknet_data(_head(path, 4096)):
        return "yolo"  # Darknet's obj.data
    if suffix == ".xml":
        return "cvat" if looks_like_cvat(_head(path)) else "voc"
    if suffix == ".csv" and _is_open_images_csv(path):
        return "openimages"
    if suffix in (".csv", ".tsv", ".parquet", ".pq"):
        return "csv"
    if suffix == ".json":
        return _sniff_json(path)
    if suffix == ".txt":
        return _sniff_txt(path)
    raise _unsupported(path, f"no reader for {suffix or 'files without an extension'}")


def _sniff_json(path: Path) -> str:
    head = _head(path).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise LoadError(f"{path}: the file is empty.", file=str(path))
    if head.startswith(b"{"):
        if looks_like_labelme(head):
            return "labelme"
        if b'"frames"' in head and b'"images"' not in head:
            return "scalabel"  # Scalabel's dataset object: {"frames": [...], "config": ...}
        if b'"LabelName"' in head and b'"Subcategory"' in head:
            return "openimages"  # the class hierarchy JSON
        if b'"data"' in head and (b'"annotations"' in head or b'"predictions"' in head) and b'"images"' not in head:
            return "labelstudio"  # a single Label Studio task
        return "coco"
    if head.startswith(b"["):
        if b'"score"' in head and b'"image_id"' in head and b'"data"' not in head:
            raise LoadError(
                f"{path}: this is a COCO results (predictions) file, not a dataset; "
                "load the ground truth and pass this file as predictions.",
                file=str(path),
            )
        if looks_like_scalabel(head):
            return "scalabel"
        return "labelstudio"
    raise _unsupported(path, "this JSON is neither a COCO object nor a Label Studio task list")


def _sniff_txt(path: Path) -> str:
    head = _head(path)
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    if _EXDARK_HEADER.match(first):
        return "exdark"
    tracking = _kitti_or_mot_line(first)
    if tracking is not None:
        return tracking
    lines = [ln for ln in head.splitlines()[:20] if ln.strip()]
    if lines and all(_LIST_LINE.match(ln.rstrip(b"\r")) for ln in lines[:-1] or lines):
        return "list"
    raise _unsupported(path, "this text file is neither a 'path label' list nor an ExDark image list")


def _sniff_dir(root: Path) -> str:
    try:
        names = {p.name.lower(): p for p in root.iterdir()}
    except OSError as exc:
        raise LoadError(f"{root}: the folder cannot be listed ({exc.strerror or exc}).", file=str(root)) from None
    if any(n.endswith((".yaml", ".yml")) for n in names) and _has_yolo_yaml(root):
        return "yolo"
    if _is_darknet(root, names):
        return "yolo"
    if "annotations" in names and names["annotations"].is_dir() and any(names["annotations"].glob("*.xml")):
        return "voc"
    if "imageclasslist.txt" in names:
        return "exdark"
    tracking = _kitti_mot_or_open_images(root, names)
    if tracking is not None:
        return tracking
    if "labels" in names and names["labels"].is_dir():
        return "yolo"
    subdirs = [p for p in names.values() if p.is_dir() and not p.name.startswith(".")]
    for sub in subdirs:  # split folders holding labels/ (Roboflow) or a VOC root one level down
        if (sub / "labels").is_dir():
            return "yolo"
        if (sub / "Annotations").is_dir():
            return "voc"
    jsons = [p for n, p in names.items() if n.endswith(".json") and not _is_results(p)]
    if jsons:  # e.g. Label Studio exports beside their label-config XML
        return sniff(jsons)
    below = _annotation_files_below(root)  # CVAT XML or Labelme JSON, in the folder or a few levels down
    if below is not None:
        return below
    if _looks_like_masks(root):
        return "masks"
    if any(n.endswith(".xml") for n in names):
        return "voc"
    if _list_files(root):
        return "list"
    if _has_images_below(root):
        return "folder"
    raise _unsupported(root, "no annotation files recognised in this folder")


def _annotation_files_below(root: Path, depth: int = 3) -> str | None:
    """``cvat`` or ``labelme`` when an XML / JSON file of that format is in ``root`` or up to
    ``depth`` folders below (exports unpacked beside their images: ``export/annotations.xml``,
    ``project/data_annotated/*.json``); the first found in name order decides."""
    seen = 0
    for folder, dirs, files in os.walk(root):
        level = len(Path(folder).relative_to(root).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if level < depth else []
        for name in sorted(files):
            seen += 1
            if seen > _BELOW_LIMIT:
                return None
            suffix = name.lower().rsplit(".", 1)[-1]
            if suffix not in ("xml", "json"):
                continue
            try:
                head = _head(Path(folder) / name)
            except LoadError:  # an unreadable file decides nothing; the reader reports it
                continue
            if suffix == "xml" and looks_like_cvat(head):
                return "cvat"
            if suffix == "json" and looks_like_labelme(head):
                return "labelme"
    return None


def looks_like_scalabel(head: bytes) -> bool:
    """The first bytes of a Scalabel / BDD100K frame list: objects with ``name`` and ``labels``
    (or ``videoName``), and none of a Label Studio task's keys."""
    return (b'"name"' in head and (b'"labels"' in head or b'"videoName"' in head)
            and b'"data"' not in head and b'"annotations"' not in head)


def _is_open_images_csv(path: Path) -> bool:
    from .openimages._layout import csv_kind

    return csv_kind(path) != "unknown"


def _kitti_or_mot_line(line: bytes) -> str | None:
    """``kitti`` for a KITTI object (15 / 16 values: a type, then numbers) or tracking line (17 / 18:
    frame, track id, type, numbers); ``mot`` for a MOT line (6 to 10 comma-separated numbers)."""
    text = line.decode("utf-8", errors="replace").strip()
    fields = text.split()
    if len(fields) in (15, 16) and not _NUMBER.fullmatch(fields[0]) and all(_NUMBER.fullmatch(f) for f in fields[1:]):
        return "kitti"
    if len(fields) in (17, 18) and all(_NUMBER.fullmatch(f) for f in fields[:2] + fields[3:]):
        return "kitti"
    cells = [c.strip() for c in text.split(",")]
    if 6 <= len(cells) <= 10 and all(_NUMBER.fullmatch(c) for c in cells):
        return "mot"
    return None


def _kitti_mot_or_open_images(root: Path, names: dict[str, Path]) -> str | None:
    """``kitti`` (``label_2/`` or ``label_02/`` here or one folder down), ``mot`` (``gt/gt.txt`` here,
    one folder down, or below a split folder), ``openimages`` (Open Images CSVs here or in ``annotations/``) or
    ``scalabel`` (Scalabel JSON in split folders one down)."""
    subdirs = sorted(p for p in names.values() if p.is_dir() and not p.name.startswith("."))
    if root.name.lower() in ("label_2", "label_02") or any(
            (d / n).is_dir() for d in [root, *subdirs] for n in ("label_2", "label_02")):
        return "kitti"
    splits = [d for d in subdirs if d.name.lower() in ("train", "val", "test", "training", "testing")]
    if (root / "gt" / "gt.txt").is_file() or any((d / "gt" / "gt.txt").is_file() for d in subdirs) \
            or any(next(d.glob("*/gt/gt.txt"), None) is not None for d in splits):  # MOT17/train/<sequence>
        return "mot"
    annotations = names.get("annotations")
    folder = annotations if annotations is not None and annotations.is_dir() else root
    if any(_is_open_images_csv(p) for p in sorted(folder.glob("*.csv"))[:50]):
        return "openimages"
    for sub in subdirs:
        first = next(iter(sorted(sub.glob("*.json"))), None)
        head = _head(first).lstrip(b"\xef\xbb\xbf \t\r\n") if first is not None else b""
        if head.startswith(b"[") and looks_like_scalabel(head):
            return "scalabel"
    return None


def _looks_like_masks(root: Path) -> bool:
    """Single-channel PNGs (in ``masks/``, the folder itself, or split folders below either) and a
    class-names file beside them or one folder up: semantic masks."""
    from ..dataset import SPLITS, normalize_split
    from .masks import find_class_file, mask_folder

    folder = mask_folder(root)
    first = next(folder.glob("*.png"), None)
    if first is None:  # split folders only: grey PNGs in class folders are an image-folder tree (MNIST-like)
        splits = (d for d in folder.iterdir() if d.is_dir() and normalize_split(d.name) in SPLITS)
        first = next((p for d in splits for p in d.glob("*.png")), None)
    return first is not None and _single_channel_png(first) and find_class_file(root) is not None


def _single_channel_png(path: Path) -> bool:
    """The PNG header's colour type is grey (0) or palette (3): class indices, not a photo."""
    head = _head(path, 32)
    return head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) > 25 and head[25] in (0, 3)


def _is_results(path: Path) -> bool:
    """A COCO results (predictions) file, which may sit beside the export it scores."""
    try:
        _sniff_json(path)
    except LoadError as exc:
        return "results (predictions)" in str(exc)
    return False


def _has_yolo_yaml(root: Path) -> bool:
    for p in list(root.glob("*.yaml")) + list(root.glob("*.yml")):
        if b"names" in _head(p):
            return True
    return False


def _is_darknet(root: Path, names: dict[str, Path]) -> bool:
    """A Darknet YOLO export: a ``.data`` file, ``obj.names``, or split lists of image paths."""
    if "obj.names" in names and names["obj.names"].is_file():
        return True
    for name, path in names.items():
        try:
            if name.endswith(".data") and path.is_file() and looks_like_darknet_data(_head(path, 4096)):
                return True
            if name in DARKNET_LISTS and path.is_file() and looks_like_image_list(_head(path, 4096)):
                return True
        except LoadError:  # unreadable: decides nothing
            continue
    return False


def _has_images_below(root: Path, limit: int = 2000) -> bool:
    for i, p in enumerate(root.rglob("*")):
        if p.suffix.lower() in IMAGE_EXTENSIONS:
            return True
        if i > limit:
            break
    return False


def _list_files(root: Path) -> list[Path]:
    """The 'path label' list files directly in ``root`` (Places-LT: one per split)."""
    found = []
    for f in sorted(root.glob("*.txt")):
        try:
            if _sniff_txt(f) == "list":
                found.append(f)
        except LoadError:
            continue
    return found


def expand(paths: Sequence[Path], fmt: str) -> list[Path]:
    """Folders given for a file-based format become their files: a folder of COCO files becomes
    its ``*.json`` (COCO results files beside them are left out: they are predictions), a folder
    of list files its lists."""
    if fmt == "list":
        return [f for p in paths for f in (_list_files(p) if p.is_dir() else [p])]
    if fmt not in ("coco", "labelstudio"):
        return list(paths)
    out: list[Path] = []
    for p in paths:
        if not p.is_dir():
            out.append(p)
            continue
        for f in sorted(p.glob("*.json")):
            try:
                if _sniff_json(f) == fmt:
                    out.append(f)
            except LoadError:
                continue  # results files and other JSON beside the export
    return out
