"""Where an image's file is: found from the export's own paths, and only inside allowed folders.

An export names its images in its own way: COCO ``file_name`` (relative to the JSON's folder, or
to a sibling ``images/`` or ``val2017/``), VOC ``JPEGImages/<filename>``, YOLO ``images/`` beside
``labels/``, Labelme ``imagePath`` beside the JSON, CVAT ``images/<subset>/<name>``, KITTI
``image_2/``, MOT ``<sequence>/img1/`` ... :class:`ImageResolver` tries those places in order,
then the folder the user gives (``images_dir``, ``--images DIR``), then a search by base name
below the images folder and the export's folder (used only when the name is unique there, or
unique within the image's split folder; not for MOT, whose frame names repeat per sequence).

**Safety.** The allowed folders are the export's folders (the folder read, or the folder of the
file read; for a file inside ``annotations/`` or ``labels/``, the folder above), the images folder
and the data root (when given). A candidate path is resolved (symbolic links followed, without
opening anything) before it is used; one that lands outside every allowed folder is never opened
nor checked for existence. A ``file_name`` that is absolute (``/home/x.jpg``, ``C:\\x.jpg``) or a
URL is never joined as given: only its base name is looked for inside; one that climbs out
(``../../secret.jpg``) is joined and kept only if it lands inside. An image whose only candidates lay outside is ``refused``: one report
row (code ``image_outside_folders``) says so, and it is drawn as missing.

Bundled samples have no photographs: their images are ``rendered`` stand-in frames (see
:mod:`.frames`), marked as such.
"""
from __future__ import annotations

import logging
import os
import re
import weakref
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from ..report import LoadReport, ReportRow
from . import frames

if TYPE_CHECKING:
    from ..dataset import Dataset

log = logging.getLogger(__name__)

Status = Literal["found", "rendered", "missing", "refused"]
STATUSES: tuple[Status, ...] = ("found", "rendered", "missing", "refused")
#: Files looked at, at most, when searching a folder by base name (a bigger tree is searched in part).
MAX_INDEX_FILES = 300_000
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".jfif"})
#: A file read inside one of these folders belongs to the export above it (COCO ``annotations/``).
ANNOTATION_FOLDERS = frozenset({"annotations", "annotation", "labels", "label", "anns", "ann", "json"})
_COMMON_FOLDERS = ("images", "JPEGImages", "img", "imgs", "image", "data")
_IMAGE_FOLDER_NAMES = frozenset({"jpegimages", "images", "image_2", "image_02"})
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
CODE_OUTSIDE = "image_outside_folders"
#: Formats whose image names repeat across their folders (frame numbers): never searched by name.
_NO_SEARCH = frozenset({"mot"})
#: A relative name that goes up past its folder: joined all the same, then kept only if it lands inside.
CLIMBS = "it climbs out of its folder (..)"


@dataclass(frozen=True)
class ImageSource:
    """Where one image's pixels come from.

    ``status``: ``found`` (``path`` is the real path of the file, inside an allowed folder),
    ``rendered`` (a bundled sample: ``path`` is the stand-in frame in the cache folder),
    ``missing`` (no file found: drawn as a blank canvas) or ``refused`` (its path leads outside the
    allowed folders: never opened, drawn as missing; ``problem`` is the report row).
    ``note``: a short text for a caption ("" when found).
    """

    image_id: int
    status: Status
    path: Path | None = None
    note: str = ""
    problem: ReportRow | None = None

    @property
    def has_pixels(self) -> bool:
        return self.path is not None


def unsafe_reason(file_name: str) -> str | None:
    """Why ``file_name`` may not be joined to a folder as given (absolute, a URL, climbing out,
    a NUL byte), or None when it is a plain relative path."""
    text = file_name.replace("\\", "/")
    if "\0" in text:
        return "it holds a NUL character"
    if _URL.match(text):
        return "it is a URL"
    if text.startswith("/") or _DRIVE.match(file_name) or text.startswith("~"):
        return "it is an absolute path"
    depth = 0
    for part in PurePosixPath(text).parts:
        depth = depth - 1 if part == ".." else depth + (part not in (".", ""))
        if depth < 0:
            return CLIMBS
    return None


def base_name(file_name: str) -> str:
    """The last component of a path written with / or \\ (``C:\\a\\b.jpg`` -> ``b.jpg``)."""
    return re.split(r"[\\/]", file_name.rstrip("/\\"))[-1] if file_name else ""


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def export_folders(dataset: Dataset) -> tuple[list[Path], list[Path]]:
    """(roots, file folders): the real folders the export was read from. A folder read is a root;
    a file read has its folder, and as root that folder or, inside ``annotations/`` or
    ``labels/``, the folder above it."""
    roots: list[Path] = []
    folders: list[Path] = []
    for source in dataset.sources:
        try:
            real = Path(source).resolve()
        except (OSError, RuntimeError, ValueError):
            continue
        if real.is_dir():
            roots.append(real)
            folders.append(real)
            continue
        folders.append(real.parent)
        roots.append(real.parent.parent if real.parent.name.lower() in ANNOTATION_FOLDERS else real.parent)
    return list(dict.fromkeys(roots)), list(dict.fromkeys(folders))


class ImageResolver:
    """Finds the file of each image of ``dataset`` (see the module docstring); results are kept.

    ``images_dir`` (None): a folder the user names where images may be (searched too, by base
    name). ``data_root`` (None): a further allowed folder (the app passes its data root).
    ``sample_frames`` (True): render stand-in frames for a bundled sample's images.
    Build one per dataset and reuse it (:func:`resolver_for` keeps one).
    """

    def __init__(self, dataset: Dataset, images_dir: str | Path | None = None, data_root: str | Path | None = None,
                 *, sample_frames: bool = True):
        self.dataset = dataset
        self.export_roots, self.file_folders = export_folders(dataset)
        self.images_dir = Path(images_dir).resolve() if images_dir is not None else None
        if self.images_dir is not None and not self.images_dir.is_dir():
            raise ValueError(f"`images_dir` must be a folder. Got {str(images_dir)!r}, which is not one.")
        allowed = [*self.export_roots, *([self.images_dir] if self.images_dir else [])]
        if data_root is not None:
            allowed.append(Path(data_root).resolve())
        self.allowed: tuple[Path, ...] = tuple(dict.fromkeys(allowed))
        self.sample = frames.sample_name(dataset) if sample_frames else None
        self.report = LoadReport()
        self._found: dict[int, ImageSource] = {}
        self._indexes: dict[Path, dict[str, list[Path]]] = {}
        self._named_folders: list[Path] | None = None
        self._columns = {c: dataset.images.column(c) for c in ("source_id", "file_name", "split")}

    # ------------------------------------------------------------------ public

    def resolve(self, image_id: int) -> ImageSource:
        """The :class:`ImageSource` of ``image_id`` (dense id)."""
        image_id = int(image_id)
        if not 0 <= image_id < self.dataset.num_images:
            raise ValueError(f"`image_id` must be between 0 and {self.dataset.num_images - 1}. Got {image_id} instead.")
        if image_id not in self._found:
            self._found[image_id] = self._resolve(image_id)
        return self._found[image_id]

    def counts(self) -> dict[str, int]:
        """How many images resolved so far have each status."""
        out = dict.fromkeys(STATUSES, 0)
        for source in self._found.values():
            out[source.status] += 1
        return out

    # ------------------------------------------------------------------ internals

    def _row(self, image_id: int) -> tuple[str, str | None, str]:
        split = self._columns["split"][image_id]
        split = split.as_py() if split.is_valid else ""
        return self._columns["source_id"][image_id].as_py(), self._columns["file_name"][image_id].as_py(), split or ""

    def _resolve(self, image_id: int) -> ImageSource:
        source_id, file_name, split = self._row(image_id)
        if self.sample is not None:
            path = frames.sample_frame(self.dataset, image_id)
            if path is not None:
                return ImageSource(image_id, "rendered", path, "rendered sample frame")
        name = file_name or ""
        reason = unsafe_reason(name) if name else None
        refused: list[Path] = []
        tried: set[Path] = set()
        for candidate in self._candidates(source_id, name, split, direct=reason in (None, CLIMBS)):
            if candidate in tried:
                continue
            tried.add(candidate)
            try:
                real = candidate.resolve()
            except (OSError, RuntimeError, ValueError):
                continue
            if not _inside(real, self.allowed):
                refused.append(real)
                continue  # never opened, not even checked for existence
            if real.is_file():
                return ImageSource(image_id, "found", real)
        # MOT frame names repeat in every sequence: a name found elsewhere would be another sequence's frame
        searchable = self.dataset.format not in _NO_SEARCH
        found = self._search(base_name(name) or base_name(source_id), split, refused) if searchable else None
        if found is not None:
            return ImageSource(image_id, "found", found)
        if reason in (None, CLIMBS) and refused:
            reason = (reason + " and " if reason else "it ") + \
                "leads outside the export's folder, the images folder and the data root"
        elif reason == CLIMBS:
            reason = None  # it went up and stayed inside: merely not found
        if reason is not None:
            text = f"image file {name!r} is not opened: {reason}"
            self.report.add(self.dataset.sources[0] if self.dataset.sources else "", source_id, CODE_OUTSIDE, text,
                            "not opened; drawn as missing")
            return ImageSource(image_id, "refused", None, "image refused (outside the allowed folders)",
                               self.report.rows[-1])
        return ImageSource(image_id, "missing", None, "image not found")

    def _candidates(self, source_id: str, name: str, split: str, *, direct: bool):
        """Paths to try, in order (may repeat; the caller stops at the first file)."""
        names = [name] if direct and name else []
        short = base_name(name)
        if short and short != name:
            names.append(short)
        fmt = self.dataset.format
        bases: list[tuple[Path, list[str]]] = []
        if fmt in ("voc", "kitti"):  # JPEGImages/, image_2/ (MOT's img1/ is per sequence: see _format_bases)
            bases.extend((folder, names) for folder in self._image_folders())
        for root in self.export_roots:
            bases.extend(_format_bases(fmt, root, source_id, names, split))
            if fmt == "coco":
                sets = _coco_sets(self.dataset.sources)
                bases.extend((root / sub / folder, names) for folder in sets for sub in ("", "images"))
        for folder in self.file_folders:
            bases.append((folder, names))
            bases.extend((folder / sub, names) for sub in _COMMON_FOLDERS)
        for root in self.export_roots:
            bases.append((root, names))
            bases.extend((root / sub, names) for sub in _COMMON_FOLDERS)
            if split:
                bases.extend([(root / split, names), (root / split / "images", names), (root / "images" / split, names)])
        if self.images_dir is not None:
            bases.append((self.images_dir, names))
            if split:
                bases.append((self.images_dir / split, [short] if short else []))
        for base, rels in bases:
            for rel in rels:
                yield base / rel.replace("\\", "/")

    def _image_folders(self) -> list[Path]:
        """Folders below the export roots (three levels at most) named like image folders."""
        if self._named_folders is None:
            found: list[Path] = []
            for root in self.export_roots:
                for dirpath, dirnames, _ in _walk(root, depth=3):
                    found.extend(Path(dirpath) / d for d in dirnames if d.lower() in _IMAGE_FOLDER_NAMES)
            self._named_folders = found
        return self._named_folders

    def _search(self, short: str, split: str, refused: list[Path]) -> Path | None:
        """The one file named ``short`` below the images folder, then the export roots."""
        if not short or unsafe_reason(short):
            return None
        for root in ([self.images_dir] if self.images_dir else []) + self.export_roots:
            matches = self._index(root).get(short.lower(), [])
            if len(matches) > 1 and split:
                matches = [m for m in matches if split.lower() in (p.lower() for p in m.relative_to(root).parts)] or matches
            if len(matches) != 1:
                continue
            real = matches[0].resolve()
            if not _inside(real, self.allowed):
                refused.append(real)
                continue
            if real.is_file():
                return real
        return None

    def _index(self, root: Path) -> dict[str, list[Path]]:
        if root not in self._indexes:
            index: dict[str, list[Path]] = {}
            seen = 0
            for dirpath, _, filenames in _walk(root, depth=None):
                for name in filenames:
                    if os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
                        index.setdefault(name.lower(), []).append(Path(dirpath) / name)
                seen += len(filenames)
                if seen > MAX_INDEX_FILES:
                    log.info("%s: more than %d files; the search by name stopped there", root, MAX_INDEX_FILES)
                    break
            self._indexes[root] = index
        return self._indexes[root]


def _walk(root: Path, depth: int | None):
    """os.walk without hidden folders and without following folder links, at most ``depth`` levels."""
    base = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if depth is not None and len(Path(dirpath).parts) - base >= depth:
            dirnames[:] = []
        yield dirpath, dirnames, filenames


def _format_bases(fmt: str, root: Path, source_id: str, names: list[str], split: str) -> list[tuple[Path, list[str]]]:
    """The export's own places for an image, by format (see the module docstring)."""
    sid = source_id.replace("\\", "/")
    safe = unsafe_reason(sid) is None
    parent = str(PurePosixPath(sid).parent) if safe else "."
    out: list[tuple[Path, list[str]]] = []
    if fmt == "yolo" and safe:
        parts = list(PurePosixPath(sid).parts)
        if os.path.splitext(sid)[1].lower() in IMAGE_SUFFIXES:  # Darknet lists: the id is the image path
            out.append((root, [sid]))
        elif "labels" in parts:
            k = len(parts) - 1 - parts[::-1].index("labels")
            out.append((root.joinpath(*parts[:k], "images", *parts[k + 1:-1]), names))
        out.append((root / parent, names))
    elif fmt in ("labelme", "mot") and safe:
        out.append((root / parent, names))
    elif fmt == "cvat":
        prefix, _, rest = sid.rpartition(":")
        folder = root / str(PurePosixPath(prefix).parent) if prefix and unsafe_reason(prefix) is None else root
        subset = rest.split("/")[0] if "/" in rest else split
        out.extend([(folder / "images" / subset, names), (folder / "images", names), (folder, names)])
    elif fmt == "scalabel" and safe:
        out.extend([(root, [sid]), (root / "images", [sid])])
    return out


def _coco_sets(sources: tuple[str, ...]) -> list[str]:
    """Image folders a COCO file's name suggests: ``instances_val2017.json`` -> ``val2017``."""
    out = []
    for source in sources:
        stem = PurePosixPath(source.replace("\\", "/")).stem
        out.extend([stem.rsplit("_", 1)[-1], stem])
    return [s for s in dict.fromkeys(out) if s and unsafe_reason(s) is None]


_RESOLVERS: "weakref.WeakKeyDictionary[Any, dict[tuple, ImageResolver]]" = weakref.WeakKeyDictionary()


def resolver_for(dataset: Dataset, images_dir: str | Path | None = None, data_root: str | Path | None = None) -> ImageResolver:
    """The :class:`ImageResolver` of ``dataset`` with these folders, made once and kept while the
    dataset lives (what :func:`~imbal_core.gallery.render` uses when not given one)."""
    key = (str(images_dir) if images_dir is not None else None, str(data_root) if data_root is not None else None)
    per_dataset = _RESOLVERS.setdefault(dataset, {})
    if key not in per_dataset:
        per_dataset[key] = ImageResolver(dataset, images_dir, data_root)
    return per_dataset[key]
