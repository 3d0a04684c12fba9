"""Where KITTI label files and their images are: used by :mod:`.kitti`.

A label folder is ``label_2/`` (object) or ``label_02/`` (tracking); its images are in
``image_2/`` / ``image_02/`` beside it, and its split is the name of the folder holding it when
that is one (``training`` -> train, ``testing`` -> test).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from ..dataset import SPLITS, normalize_split
from ..report import LoadError
from .files import safe_name
from .sniff import IMAGE_EXTENSIONS

Kind = Literal["object", "tracking"]
LABEL_FOLDERS: dict[str, Kind] = {"label_2": "object", "label_02": "tracking"}
IMAGE_FOLDERS: dict[str, str] = {"label_2": "image_2", "label_02": "image_02"}


@dataclass
class Source:
    """Label files of one folder, with where their images are and their split."""

    labels: list[Path]
    kind: Kind | None  # from the folder's name; a file's first line decides first
    images: Path | None
    split: str


def _split_of(folder: Path) -> str:
    split = normalize_split(folder.name)
    return split if split in SPLITS else "unassigned"


def _txt_files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".txt" and p.is_file())
    except OSError as exc:
        raise LoadError(f"{folder}: cannot be listed ({exc.strerror or exc}).", file=str(folder)) from None


def _label_source(folder: Path) -> Source:
    name = folder.name.lower()
    images = folder.parent / IMAGE_FOLDERS[name] if name in IMAGE_FOLDERS else None
    return Source(_txt_files(folder), LABEL_FOLDERS.get(name), images if images and images.is_dir() else None,
                   _split_of(folder.parent))


def resolve(paths: Sequence[str | Path]) -> list[Source]:
    sources: list[Source] = []
    loose: dict[Path, Source] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            sources.extend(_resolve_dir(path))
        elif path.suffix.lower() == ".txt":
            folder = path.parent
            if folder not in loose:
                loose[folder] = _label_source(folder)
                loose[folder].labels = []
                sources.append(loose[folder])
            if path not in loose[folder].labels:
                loose[folder].labels.append(path)
        elif not path.exists():
            raise LoadError(f"{path}: no such file or folder.", file=str(path))
        else:
            raise LoadError(f"{path}: not a KITTI label file (.txt) or folder.", file=str(path))
    return sources


def _resolve_dir(folder: Path) -> list[Source]:
    direct = [folder / n for n in LABEL_FOLDERS if (folder / n).is_dir()]
    if direct:
        return [_label_source(d) for d in direct]
    if folder.name.lower() in LABEL_FOLDERS:
        return [_label_source(folder)]
    below = sorted(sub / n for sub in folder.iterdir() if sub.is_dir() for n in LABEL_FOLDERS if (sub / n).is_dir())
    if below:
        return [_label_source(d) for d in below]
    if _txt_files(folder):
        return [_label_source(folder)]
    raise LoadError(f"{folder}: not a KITTI folder — no label_2/ or label_02/ folder here or one level down, "
                    "and no label .txt files.", file=str(folder))


def image_files(folder: Path) -> dict[str, Path]:
    """Images below ``folder`` by their path relative to it without the extension (``000001``,
    ``0000/000001``)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).with_suffix("").as_posix()
        if path.suffix.lower() in IMAGE_EXTENSIONS and safe_name(key) == key:  # an undecodable name matches no label
            found[key] = path
    return found
