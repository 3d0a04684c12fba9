"""The lake on disk: its layout, its manifest, and the checks that say a folder is a usable lake.

A lake is a folder (format version :data:`VERSION`)::

    LAKE/
      manifest.json           the commit point: which sources the lake holds
      categories.parquet      category_id int64 (dense, lake-wide), name, supercategory, critical
      images/source=<SID>/part-<n>.parquet       one partition per copied source
      annotations/source=<SID>/part-<n>.parquet

Only what the manifest lists is part of the lake: a partition folder it does not name (left by
an add that was killed before its commit) is ignored by readers and removed by the next add.
``categories.parquet`` is append-only (a row is never changed or moved; new names go at the end)
and the manifest's ``classes`` says how many of its rows are committed: an add killed between
replacing the categories and replacing the manifest leaves extra rows, which readers ignore
(``category_id < classes``). Registered sources point at the user's own Parquet files instead of
partitions. The full specification is kept with the project's notes (lake_format.md).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from .layout import (ANNOTATION_COLUMNS, CATEGORIES, CATEGORY_COLUMNS, IMAGE_COLUMNS, LAYOUT_NAMES, MANIFEST,
                     PARTITION_KEY, RESERVED_NAMES, TABLES, VERSION, LakeError)
from .table import check_registered

__all__ = ["ANNOTATION_COLUMNS", "CATEGORIES", "CATEGORY_COLUMNS", "IMAGE_COLUMNS", "LAYOUT_NAMES", "MANIFEST",
           "PARTITION_KEY", "RESERVED_NAMES", "TABLES", "VERSION", "Lake", "LakeError", "LakeSource", "is_lake",
           "open_lake", "read_manifest", "write_json_atomic"]

SourceKind = Literal["copied", "registered"]


@dataclass(frozen=True)
class LakeSource:
    """One source of a lake, as its manifest records it.

    ``id``: the first 16 hex digits of ``content_hash``, the partition name (``source=<id>``);
    ``kind``: "copied" (rows in the lake's partitions) or "registered" (the user's Parquet files,
    ``table`` = ``{"glob": absolute glob, "map": {lake column: table column}}``).
    """

    id: str
    name: str
    path: str
    format: str
    kind: SourceKind
    content_hash: str
    images: int
    annotations: int
    conditions: tuple[str, ...] = ()
    added: str = ""
    table: Mapping[str, Any] | None = None
    paths: tuple[str, ...] = field(default=())
    #: The task the export was read as (classification / detection / segmentation); None when not recorded.
    task: str | None = None

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> "LakeSource":
        return cls(
            id=str(entry["id"]), name=str(entry["name"]), path=str(entry["path"]), format=str(entry["format"]),
            kind=entry["kind"], content_hash=str(entry["content_hash"]), images=int(entry["images"]),
            annotations=int(entry["annotations"]), conditions=tuple(entry.get("conditions", ())),
            added=str(entry.get("added", "")), table=entry.get("table"), paths=tuple(entry.get("paths", ())),
            task=entry.get("task"),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "name": self.name, "path": self.path, "format": self.format, "kind": self.kind,
            "content_hash": self.content_hash, "images": self.images, "annotations": self.annotations,
            "conditions": list(self.conditions), "added": self.added,
        }
        if self.task is not None:
            out["task"] = self.task
        if self.paths:
            out["paths"] = list(self.paths)
        if self.table is not None:
            out["table"] = {"glob": self.table["glob"], "map": dict(self.table["map"])}
        return out


@dataclass(frozen=True)
class Lake:
    """An opened (and checked) lake: its manifest as objects, and where its files are."""

    path: Path
    sources: tuple[LakeSource, ...]
    conditions: tuple[str, ...]
    #: How many rows of categories.parquet are committed (ids 0..classes-1).
    classes: int
    created: str
    updated: str
    version: int = VERSION

    @property
    def categories_path(self) -> Path:
        return self.path / CATEGORIES

    def partition(self, table: str, source_id: str) -> Path:
        """The folder of a copied source's rows: ``LAKE/<table>/source=<id>``."""
        return self.path / table / f"{PARTITION_KEY}={source_id}"

    def files(self, table: str, source_id: str | None = None) -> list[Path]:
        """The Parquet files of ``table`` ("images" / "annotations") of the committed copied sources
        (or of one of them): what a reader reads, never an uncommitted partition."""
        if table not in TABLES:
            raise ValueError(f"`table` must be one of {list(TABLES)}. Got {table!r} instead.")
        out: list[Path] = []
        for s in self.sources:
            if s.kind == "copied" and (source_id is None or s.id == source_id):
                out += sorted(self.partition(table, s.id).glob("part-*.parquet"), key=_part_number)
        return out

    def source(self, source_id: str) -> LakeSource:
        for s in self.sources:
            if s.id == source_id:
                return s
        raise KeyError(source_id)

    def find(self, content_hash: str) -> LakeSource | None:
        return next((s for s in self.sources if s.content_hash == content_hash), None)

    def read_categories(self):
        """The committed categories (:data:`CATEGORY_COLUMNS`), ``category_id`` 0..classes-1."""
        import pyarrow.parquet as pq

        return pq.read_table(self.categories_path).slice(0, self.classes)

    def to_manifest(self) -> dict[str, Any]:
        return {"imbal_lake": self.version, "sources": [s.to_dict() for s in self.sources],
                "conditions": list(self.conditions), "classes": self.classes,
                "created": self.created, "updated": self.updated}


def _part_number(path: Path) -> int:
    digits = path.stem.rpartition("-")[2]
    return int(digits) if digits.isdigit() else -1


def is_lake(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder with a lake manifest (not checked further)."""
    return (Path(path) / MANIFEST).is_file()


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest of the lake at ``root``, its version and shape checked (:class:`LakeError`)."""
    path = root / MANIFEST
    if not root.is_dir():
        raise LakeError(f"{root}: not a lake: no such folder.")
    if not path.is_file():
        raise LakeError(f"{root}: not a lake: it has no {MANIFEST}.")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LakeError(f"{path}: the lake manifest cannot be read: {exc}.") from None
    if not isinstance(doc, dict) or "imbal_lake" not in doc:
        raise LakeError(f"{path}: not a lake manifest (no `imbal_lake` version).")
    version = doc["imbal_lake"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise LakeError(f"{path}: `imbal_lake` must be a format version (1, 2 ...). Got {version!r} instead.")
    if version > VERSION:
        raise LakeError(f"{path}: this lake has format version {version}, newer than this imbal reads "
                        f"(up to {VERSION}); upgrade imbal to read it.")
    for key, kind in (("sources", list), ("conditions", list), ("classes", int)):
        if not isinstance(doc.get(key), kind) or isinstance(doc.get(key), bool):
            raise LakeError(f"{path}: `{key}` must be a {kind.__name__}. Got {doc.get(key)!r} instead.")
    return doc


def open_lake(path: str | os.PathLike, check_files: bool = True) -> Lake:
    """Open the lake at ``path``; with ``check_files`` (True) check that every file it needs is
    there and readable (Parquet footers, row counts, columns). Raises :class:`LakeError`."""
    root = Path(path)
    doc = read_manifest(root)
    where = root / MANIFEST
    try:
        sources = tuple(LakeSource.from_dict(e) for e in doc["sources"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LakeError(f"{where}: a source entry is malformed ({type(exc).__name__}: {exc}).") from None
    for s in sources:
        if s.kind not in ("copied", "registered"):
            raise LakeError(f"{where}: source {s.id}: `kind` must be 'copied' or 'registered'. Got {s.kind!r} instead.")
    lake = Lake(path=root, sources=sources, conditions=tuple(doc["conditions"]), classes=doc["classes"],
                created=str(doc.get("created", "")), updated=str(doc.get("updated", "")), version=doc["imbal_lake"])
    if check_files:
        check_lake_files(lake)
    return lake


def check_lake_files(lake: Lake) -> None:
    """Every file the manifest needs: categories, each copied source's partitions (footers, row
    counts and columns), each registered table (see :mod:`.table`)."""
    _check_categories(lake)
    for s in lake.sources:
        if s.kind == "copied":
            expected = {"images": s.images, "annotations": s.annotations}
            for table, base in (("images", IMAGE_COLUMNS), ("annotations", ANNOTATION_COLUMNS)):
                columns = dict(base, **({c: "string" for c in s.conditions} if table == "images" else {}))
                _check_partition(lake, s, table, columns, expected[table])
        else:
            check_registered(s.table, f"source {s.name!r} ({s.id})")


def _read_schema(path: Path):
    """The file's Arrow schema and row count from its footer (:class:`LakeError` when unreadable)."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
        return meta.schema.to_arrow_schema(), meta.num_rows
    except FileNotFoundError:
        raise LakeError(f"{path}: missing: the lake manifest needs this file.") from None
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        raise LakeError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc}).") from None


def _check_columns(path: Path, schema, columns: Mapping[str, str]) -> None:
    for name, type_name in columns.items():
        if name not in schema.names:
            raise LakeError(f"{path}: lacks column `{name}` ({type_name}).")
        found = str(schema.field(name).type)
        if found != type_name:
            raise LakeError(f"{path}: column `{name}` must be {type_name}. Got {found} instead.")


def _check_partition(lake: Lake, s: LakeSource, table: str, columns: Mapping[str, str], rows: int) -> None:
    folder = lake.partition(table, s.id)
    files = lake.files(table, s.id)
    if not files:
        raise LakeError(f"{folder}: missing: source {s.name!r} ({s.id}) has no {table} Parquet file (part-*.parquet) there.")
    total = 0
    for f in files:
        schema, n = _read_schema(f)
        _check_columns(f, schema, columns)
        total += n
    if total != rows:
        raise LakeError(f"{folder}: holds {total:,} {table} rows; the manifest says source {s.name!r} has "
                        f"{rows:,} (a part file missing or replaced?).")


def _check_categories(lake: Lake) -> None:
    import pyarrow.parquet as pq

    path = lake.categories_path
    schema, n = _read_schema(path)
    _check_columns(path, schema, CATEGORY_COLUMNS)
    if n < lake.classes:
        raise LakeError(f"{path}: holds {n:,} classes; the manifest says {lake.classes:,}.")
    try:
        table = pq.read_table(path, columns=["category_id", "name"]).slice(0, lake.classes)
    except Exception as exc:  # noqa: BLE001 - a damaged page past a good footer
        raise LakeError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc}).") from None
    ids = table.column("category_id").to_pylist()
    if ids != list(range(lake.classes)):
        raise LakeError(f"{path}: `category_id` must be dense, 0..{lake.classes - 1} in row order.")
    names = table.column("name").to_pylist()
    if None in names or len(set(names)) != len(names):
        raise LakeError(f"{path}: `name` must be unique and never null.")


def write_json_atomic(path: Path, doc: Mapping[str, Any]) -> None:
    """Write ``doc`` to ``path`` so that a reader sees the old file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
