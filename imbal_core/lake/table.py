"""Registered tables: the user's own Parquet annotation rows, read in place through a column mapping.

A registered table holds one row per annotation with at least ``image_id`` (integers) and
``category`` (a class name); ``split``, ``group`` and condition columns are text, ``pixels`` and
``area`` numbers. The mapping names, for each lake column, the table's column
(``{"image_id": "frame_id", "category": "label", "time_of_day": "tod"}``); a key that is not one
of :data:`CANONICAL` is a condition named by the key. Rows are never copied: at registration the
distinct class names are scanned (DuckDB) and the mapping is recorded.
"""
from __future__ import annotations

import glob as globbing
import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .layout import RESERVED_NAMES, LakeError

if TYPE_CHECKING:
    import pyarrow as pa

#: Lake column -> what the table's column must hold.
CANONICAL = {"image_id": "integers", "category": "text", "split": "text", "group": "text",
             "pixels": "numbers", "area": "numbers"}
REQUIRED = ("image_id", "category")
_CONDITION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_mapping(text: str) -> dict[str, str]:
    """``"image_id=frame_id,category=label"`` -> ``{"image_id": "frame_id", "category": "label"}``."""
    mapping: dict[str, str] = {}
    for pair in (p.strip() for p in str(text).split(",")):
        if not pair:
            continue
        key, sep, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise LakeError(f"`map` entries must be KEY=COLUMN (e.g. category=label). Got {pair!r} instead.")
        if key in mapping:
            raise LakeError(f"`map` names `{key}` twice: {mapping[key]!r} and {value!r}.")
        mapping[key] = value
    return mapping


def resolve_glob(pattern: str | os.PathLike) -> str:
    """The absolute glob of ``pattern``; a folder stands for every Parquet file below it."""
    text = os.path.expanduser(str(pattern))
    if os.path.isdir(text):
        text = os.path.join(text, "**", "*.parquet")
    return os.path.abspath(text)


def table_files(pattern: str) -> list[Path]:
    """The files the (absolute) glob matches, sorted; :class:`LakeError` when none."""
    files = sorted(Path(p) for p in globbing.glob(pattern, recursive=True) if os.path.isfile(p))
    if not files:
        raise LakeError(f"`table` {pattern!r} matches no file.")
    return files


def files_hash(files: Sequence[Path]) -> str:
    """SHA-256 of the sorted file list with each file's size and modification time."""
    digest = hashlib.sha256()
    for f in sorted(files):
        st = f.stat()
        digest.update(f"{f.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def table_schema(files: Sequence[Path]) -> "pa.Schema":
    """The columns of all ``files`` together (each file's footer read; :class:`LakeError` if one is unreadable)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = []
    for f in files:
        try:
            schemas.append(pq.read_schema(f))
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged file
            raise LakeError(f"{f}: not a readable Parquet file ({type(exc).__name__}: {exc}).") from None
    try:
        return pa.unify_schemas(schemas)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise LakeError(f"the files of the table disagree on a column's type: {exc}.") from None


def _kind(type_: "pa.DataType") -> str:
    import pyarrow as pa

    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    if pa.types.is_integer(type_):
        return "integers"
    if pa.types.is_floating(type_):
        return "numbers"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_) or getattr(pa.types, "is_string_view", lambda t: False)(type_):
        return "text"
    return str(type_)


def check_mapping(mapping: Mapping[str, str], schema: "pa.Schema", where: str = "table") -> dict[str, str]:
    """The mapping, checked against the table's columns: required keys present, every column named
    exists and holds what its key needs, condition keys are valid names. Raises :class:`LakeError`."""
    mapping = dict(mapping)
    missing = [k for k in REQUIRED if k not in mapping]
    if missing:
        raise LakeError(f"`map` must name the table's column for {', '.join(f'`{k}`' for k in missing)} "
                        f"(e.g. --map image_id=frame_id,category=label). Got {mapping} instead.")
    for key, column in mapping.items():
        if key not in CANONICAL:
            if not _CONDITION_NAME.match(key) or key in RESERVED_NAMES:
                raise LakeError(f"`map` key {key!r} is neither a lake column ({', '.join(CANONICAL)}) nor a usable "
                                f"condition name (lower-case letters, digits and _, not {sorted(RESERVED_NAMES)}).")
        if column not in schema.names:
            raise LakeError(f"`map` names column {column!r} for `{key}`, but the {where} has no such column. "
                            f"Its columns: {', '.join(schema.names)}.")
        wanted = CANONICAL.get(key, "text")
        found = _kind(schema.field(column).type)
        if found != wanted and not (wanted == "numbers" and found == "integers"):
            raise LakeError(f"`map` column {column!r} (for `{key}`) must hold {wanted}. "
                            f"Got {schema.field(column).type} instead.")
    return mapping


def conditions_of(mapping: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(k for k in mapping if k not in CANONICAL)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def scan(files: Sequence[Path], mapping: Mapping[str, str], spill: Path | None = None) -> tuple[list[str], int, int]:
    """DuckDB over the files: (distinct class names sorted, distinct images, annotation rows with a class)."""
    import duckdb

    con = duckdb.connect(config={"memory_limit": "1GB"})
    try:
        if spill is not None:
            con.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
        source = "read_parquet($files, union_by_name = true)"
        category, image = _quote(mapping["category"]), _quote(mapping["image_id"])
        params = {"files": [str(f) for f in files]}
        names = [r[0] for r in con.execute(
            f"SELECT DISTINCT CAST({category} AS VARCHAR) FROM {source} WHERE {category} IS NOT NULL ORDER BY 1",
            params).fetchall()]
        images, annotations = con.execute(f"SELECT count(DISTINCT {image}), count({category}) FROM {source}",
                                          params).fetchone()
    except duckdb.Error as exc:
        raise LakeError(f"the table cannot be scanned: {type(exc).__name__}: {exc}.") from None
    finally:
        con.close()
    return names, int(images), int(annotations)


def check_registered(table: Mapping[str, Any] | None, label: str) -> None:
    """A registered source's files (``table``: its manifest ``{"glob", "map"}``) are there, readable,
    and still have the mapped columns; ``label`` names the source in messages."""
    table = table or {}
    if "glob" not in table or "map" not in table:
        raise LakeError(f"{label} is registered but its manifest entry has no table glob and map.")
    try:
        files = table_files(table["glob"])
    except LakeError:
        raise LakeError(f"{table['glob']}: the registered table of {label} matches no file any more.") from None
    check_mapping(table["map"], table_schema(files), where=f"registered table {table['glob']!r}")
