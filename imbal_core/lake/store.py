"""Adding to a lake and describing it: exports copied as partitions, Parquet tables registered.

Every add is atomic. The new partitions, categories and manifest are written into
``LAKE/.tmp-<uuid>/``, the partition folders are renamed into place, then ``categories.parquet``
and last ``manifest.json`` are replaced (``os.replace``): the manifest is the commit point. A
process killed at any moment leaves the lake readable with its previous content; what it left
(the temporary folder, partitions the manifest does not name, uncommitted category rows) is
ignored by readers and removed by the next add. Adds to one lake take turns (a lock file).
Every check runs before anything is written: an add that fails leaves the lake as it was.
"""
from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from .manifest import (CATEGORIES, LAYOUT_NAMES, MANIFEST, PARTITION_KEY, RESERVED_NAMES, TABLES, Lake, LakeError,
                       LakeSource, open_lake, write_json_atomic)

if TYPE_CHECKING:
    import pyarrow as pa

    from ..dataset import Dataset

#: Rows per Parquet row group, and per part file of a partition.
ROW_GROUP_ROWS = 1 << 20
PART_ROWS = 32 << 20
COMPRESSION = "zstd"


@dataclass(frozen=True)
class AddResult:
    """What an add did: ``added`` False when the lake held the same content already (a no-op)."""

    lake: Path
    source: LakeSource
    added: bool
    new_classes: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        s = self.source
        if not self.added:
            return (f"{s.path}: already in the lake as source {s.name!r} ({s.id}, added {s.added}) "
                    f"with the same content; nothing to do.")
        news = f", {len(self.new_classes):,} new classes" if self.new_classes else ""
        how = "registered" if s.kind == "registered" else "added"
        return f"{how} source {s.name!r} ({s.id}): {s.images:,} images, {s.annotations:,} annotations{news}."

    def to_dict(self) -> dict[str, Any]:
        return {"lake": str(self.lake), "added": self.added, "source": self.source.to_dict(),
                "new_classes": list(self.new_classes), "message": self.message}


@dataclass(frozen=True)
class LakeInfo:
    """What a lake holds: its sources, rows (``images``, ``annotations``), classes and conditions."""

    path: Path
    version: int
    sources: tuple[LakeSource, ...]
    images: int
    annotations: int
    classes: tuple[str, ...]
    conditions: tuple[str, ...]
    created: str
    updated: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "version": self.version, "sources": [s.to_dict() for s in self.sources],
                "images": self.images, "annotations": self.annotations, "classes": list(self.classes),
                "conditions": list(self.conditions), "created": self.created, "updated": self.updated}


def info(lake: str | os.PathLike) -> LakeInfo:
    """Open and check the lake (:class:`LakeError` when it is not usable) and describe it."""
    opened = open_lake(lake)
    classes = tuple(opened.read_categories().column("name").to_pylist())
    return LakeInfo(path=opened.path, version=opened.version, sources=opened.sources,
                    images=sum(s.images for s in opened.sources), annotations=sum(s.annotations for s in opened.sources),
                    classes=classes, conditions=opened.conditions, created=opened.created, updated=opened.updated)


# --------------------------------------------------------------------------- adding an export


def add(lake: str | os.PathLike, paths: str | os.PathLike | Sequence[str | os.PathLike], format: str | None = None,
        conditions: str | os.PathLike | None = None, *, name: str | None = None, cache: bool = True,
        **options: Any) -> AddResult:
    """Parse an export with imbal's readers and add it to ``lake`` as one copied source.

    ``paths``: the export's file(s) or folder(s), one dataset as :func:`imbal_core.load` reads
    them; ``format`` (None: sniffed), ``conditions`` (a sidecar file), ``cache`` and reader
    ``options`` as for :func:`imbal_core.load`. ``name`` (default: from the path) is shown by
    ``info``. A ``lake`` folder that does not exist (or is empty) becomes a new lake. Adding the
    same content again (the same content hash) is a no-op. Raises :class:`LakeError` (the lake
    is not usable) or :class:`imbal_core.LoadError` (the export is not), having written nothing.
    """
    from ..io import load

    root = Path(lake)
    current = _open_or_new(root)  # an unusable lake fails before the parse
    path_list = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    content_hash = input_key(path_list, format or "auto", conditions, options)
    found = current.find(content_hash) if current is not None and content_hash else None
    if found is not None:  # known content: not even parsed
        return AddResult(root, found, added=False)
    dataset = load(path_list, format=format or "auto", conditions=conditions, cache=cache, **options)
    return add_dataset(root, dataset, name=name, path=[str(p) for p in path_list], content_hash=content_hash)


def input_key(paths: Sequence[str | os.PathLike], format: str, conditions: str | os.PathLike | None,
              options: Mapping[str, Any]) -> str | None:
    """The parse cache's key of these inputs (:class:`imbal_core.io.cache.InputKey`, built as
    :func:`imbal_core.load` builds it), or None when it cannot be had (a path missing, a format not
    recognised: the parse then says why)."""
    import importlib

    from ..io import cache as cache_mod
    from ..io.formats import READERS
    from ..io.sniff import expand, sniff

    try:
        path_list = [Path(p) for p in paths]
        fmt = sniff(path_list) if format == "auto" else format
        path_list = expand(path_list, fmt)
        extra = [Path(conditions)] if conditions is not None else []
        module = importlib.import_module(READERS[fmt][0])
        if hasattr(module, "extra_inputs"):
            extra += module.extra_inputs(path_list)
        key = cache_mod.InputKey(path_list + extra, fmt, dict(options))
    except Exception:  # noqa: BLE001 - the parse that follows reports the problem properly
        return None
    try:
        return key.result()
    finally:
        key.close()


def add_dataset(lake: str | os.PathLike, dataset: "Dataset", *, name: str | None = None,
                path: str | Sequence[str] | None = None, content_hash: str | None = None) -> AddResult:
    """Add an in-memory :class:`Dataset` to ``lake`` as one copied source (see :func:`add`).

    Its content hash is ``content_hash`` if given, else ``dataset.key`` (set by
    :func:`imbal_core.load`), else a hash of its tables.
    """
    from ..fingerprint import CONTENT_PREFIX, dataset_key

    root = Path(lake)
    paths = [path] if isinstance(path, str) else list(path or dataset.sources or ["(in memory)"])
    content_hash = content_hash or dataset_key(dataset)
    entry = LakeSource(id=content_hash.removeprefix(CONTENT_PREFIX)[:16], name=name or _display_name(paths),
                       path=paths[0], format=dataset.format, kind="copied", content_hash=content_hash,
                       images=dataset.num_images, annotations=dataset.num_annotations,
                       conditions=tuple(dataset.conditions), paths=tuple(paths) if len(paths) > 1 else (),
                       task=dataset.task)
    for c in entry.conditions:
        if c in RESERVED_NAMES:
            raise LakeError(f"condition `{c}` has the name of a lake column ({sorted(RESERVED_NAMES)}); rename it "
                            f"in the export or the conditions file.")

    def stage(staging: Path, current: Lake, remap: Any) -> None:
        for table_name, table in (("images", _image_rows(dataset)), ("annotations", _annotation_rows(dataset, remap))):
            _write_parts(table, staging / table_name / f"{PARTITION_KEY}={entry.id}")

    return _add_source(root, entry, dataset.categories, stage)


def _display_name(paths: Sequence[str]) -> str:
    first = Path(paths[0])
    name = first.name if first.is_dir() or not first.parent.name else f"{first.parent.name}/{first.name}"
    return name + (f" (+{len(paths) - 1} more)" if len(paths) > 1 else "")


def _image_rows(dataset: "Dataset") -> "pa.Table":
    import pyarrow as pa

    images = dataset.images
    columns = {"image_id": pa.int64(), "source_id": pa.string(), "file_name": pa.string(), "width": pa.int64(),
               "height": pa.int64(), "split": pa.string(), "group": pa.string()}
    columns.update({c: pa.string() for c in dataset.conditions})
    arrays = []
    for name, type_ in columns.items():
        col = images.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        arrays.append(col.cast(type_))
    return pa.Table.from_arrays(arrays, names=list(columns))


def _annotation_rows(dataset: "Dataset", remap: Any) -> "pa.Table":
    import numpy as np
    import pyarrow as pa

    anns = dataset.annotations
    category = np.asarray(remap, dtype=np.int64)[anns.column("category_id").to_numpy()]
    return pa.table({"image_id": anns.column("image_id").cast(pa.int64()), "category_id": pa.array(category),
                     "area": anns.column("area").cast(pa.float64()), "pixels": anns.column("pixels").cast(pa.float64())})


# --------------------------------------------------------------------------- registering a table


def register_table(lake: str | os.PathLike, table: str | os.PathLike, mapping: Mapping[str, str] | str, *,
                   name: str | None = None) -> AddResult:
    """Register the user's Parquet annotation table (a glob, or a folder) with ``lake`` without copying it.

    ``mapping``: lake column -> table column (``{"image_id": "frame_id", "category": "label"}``,
    or the text ``"image_id=frame_id,category=label"``), checked against the files' columns; see
    :mod:`.table`. New class names are added to the lake's categories. Registering the same files
    (same paths, sizes and times) again is a no-op.
    """
    from .table import check_mapping, conditions_of, files_hash, parse_mapping, resolve_glob, scan, table_files, table_schema

    root = Path(lake)
    _open_or_new(root)
    mapping = parse_mapping(mapping) if isinstance(mapping, str) else dict(mapping)
    pattern = resolve_glob(table)
    files = table_files(pattern)
    mapping = check_mapping(mapping, table_schema(files), where=f"table {str(table)!r}")
    content_hash = files_hash(files)
    found = _find(root, content_hash)
    if found is not None:
        return AddResult(root, found, added=False)
    names, images, annotations = scan(files, mapping)
    entry = LakeSource(id=content_hash[:16], name=name or str(table), path=str(table), format="parquet",
                       kind="registered", content_hash=content_hash, images=images, annotations=annotations,
                       conditions=conditions_of(mapping), table={"glob": pattern, "map": mapping})
    import pyarrow as pa

    categories = pa.table({"name": pa.array(names, pa.string()), "supercategory": pa.nulls(len(names), pa.string()),
                           "critical": pa.array([False] * len(names), pa.bool_())})
    return _add_source(root, entry, categories, lambda staging, current, remap: None)


# --------------------------------------------------------------------------- the commit


def _open_or_new(root: Path) -> Lake | None:
    """The lake at ``root`` (checked), or None when ``root`` can become a new one (absent, empty,
    or holding only what an add killed before its first commit left)."""
    if root.exists() and not root.is_dir():
        raise LakeError(f"{root}: not a lake: it is a file, not a folder.")
    if (root / MANIFEST).exists() or not root.exists():
        return open_lake(root) if root.exists() else None
    others = sorted(p.name for p in root.iterdir() if p.name not in LAYOUT_NAMES and not p.name.startswith(".tmp-"))
    if others:
        raise LakeError(f"{root}: not a lake: it has no {MANIFEST} and holds other files (e.g. {others[0]!r}); "
                        f"give a new or empty folder.")
    return None


def _find(root: Path, content_hash: str) -> LakeSource | None:
    current = _open_or_new(root)
    return current.find(content_hash) if current is not None else None


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Adds to one lake take turns: an exclusive lock on ``LAKE/.lock`` (released if the process dies)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with open(root / ".lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _add_source(root: Path, entry: LakeSource, categories: "pa.Table", stage) -> AddResult:
    """Merge ``categories`` (``name``, ``supercategory``, ``critical``) by name, let ``stage``
    write the source's partitions into the staging folder, and commit."""
    found = _find(root, entry.content_hash)
    if found is not None:
        return AddResult(root, found, added=False)
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        current = _open_or_new(root)  # again, under the lock: another add may have committed meanwhile
        if current is not None and current.find(entry.content_hash) is not None:
            return AddResult(root, current.find(entry.content_hash), added=False)
        now = _now()
        if current is None:
            current = Lake(path=root, sources=(), conditions=(), classes=0, created=now, updated=now)
        if any(s.id == entry.id for s in current.sources):
            raise LakeError(f"{root}: source id {entry.id} is taken by another content (a hash prefix collision).")
        _clean(root, current)
        entry = replace(entry, added=now)
        staging = root / f".tmp-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            merged, remap, new_names = _merge_categories(current, categories)
            stage(staging, current, remap)
            write_categories = bool(new_names) or not (root / CATEGORIES).exists() or _rows(root / CATEGORIES) != merged.num_rows
            if write_categories:
                _write_table(merged, staging / CATEGORIES)
            conditions = tuple(dict.fromkeys([*current.conditions, *entry.conditions]))
            committed = replace(current, sources=(*current.sources, entry), conditions=conditions,
                                classes=merged.num_rows, updated=now)
            write_json_atomic(staging / MANIFEST, committed.to_manifest())
            _commit(root, staging, entry, write_categories)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return AddResult(root, entry, added=True, new_classes=tuple(new_names))


def _commit(root: Path, staging: Path, entry: LakeSource, write_categories: bool) -> None:
    """Partitions into place, then the categories, then the manifest (the commit point)."""
    for table in TABLES:
        built = staging / table / f"{PARTITION_KEY}={entry.id}"
        if built.exists():
            (root / table).mkdir(exist_ok=True)
            os.rename(built, root / table / built.name)
    if write_categories:
        os.replace(staging / CATEGORIES, root / CATEGORIES)
    os.replace(staging / MANIFEST, root / MANIFEST)
    _fsync_dir(root)


def _clean(root: Path, current: Lake) -> None:
    """Remove what killed adds left: temporary folders and partitions the manifest does not name."""
    keep = {f"{PARTITION_KEY}={s.id}" for s in current.sources if s.kind == "copied"}
    for p in root.glob(".tmp-*"):
        shutil.rmtree(p, ignore_errors=True)
    for table in TABLES:
        folder = root / table
        if folder.is_dir():
            for p in folder.iterdir():
                if p.is_dir() and p.name.startswith(f"{PARTITION_KEY}=") and p.name not in keep:
                    shutil.rmtree(p, ignore_errors=True)


def _merge_categories(current: Lake, categories: "pa.Table") -> tuple["pa.Table", list[int], list[str]]:
    """The lake's committed categories with the new names appended (ids never change), each
    incoming row's lake id, and the new names. A name already there keeps its row as it is."""
    import pyarrow as pa

    if current.classes:
        old = current.read_categories()
        names = old.column("name").to_pylist()
        supers = old.column("supercategory").to_pylist()
        critical = old.column("critical").to_pylist()
    else:
        names, supers, critical = [], [], []
    index = {n: i for i, n in enumerate(names)}
    remap, new_names = [], []
    incoming = zip(*(categories.column(c).to_pylist() for c in ("name", "supercategory", "critical")))
    for name, supercategory, is_critical in incoming:
        if name not in index:
            index[name] = len(names)
            names.append(name)
            supers.append(supercategory)
            critical.append(bool(is_critical))
            new_names.append(name)
        remap.append(index[name])
    merged = pa.table({"category_id": pa.array(range(len(names)), pa.int64()), "name": pa.array(names, pa.string()),
                       "supercategory": pa.array(supers, pa.string()), "critical": pa.array(critical, pa.bool_())})
    return merged, remap, new_names


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.read_metadata(path).num_rows


def _write_table(table: "pa.Table", path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression=COMPRESSION, row_group_size=ROW_GROUP_ROWS)
    _fsync(path)


def _write_parts(table: "pa.Table", folder: Path) -> None:
    """``folder/part-<n>.parquet``, :data:`PART_ROWS` rows each (one file, part-0, for most sources)."""
    folder.mkdir(parents=True)
    starts = range(0, max(table.num_rows, 1), PART_ROWS)
    for n, start in enumerate(starts):
        _write_table(table.slice(start, PART_ROWS), folder / f"part-{n}.parquet")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        _fsync(path)
    except OSError:  # some file systems cannot sync a folder
        pass
