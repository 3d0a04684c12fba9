"""Conditions sidecar: a CSV / TSV / Parquet keyed by file name or image id, joined onto a dataset.

- The key column is found among :data:`KEY_FIELDS` (case-insensitive), or named by ``key_column``.
- Each row is matched, in this order, against ``images.file_name``; then by base name (the key's
  last path part against the file names' last parts, used only when it points to one file name);
  then against ``images.source_id`` (the export's own image id). A key naming one file found in
  several splits applies to each of those images. When any row matched other than by file name,
  or matched nothing, one ``sidecar_matched`` row says how many matched by which rule.
- Other columns become conditions by the rule every reader uses (:func:`pick_conditions`). A
  ``split`` column and a group-like column (``GROUP_FIELDS``) instead replace the image's split /
  group where they hold a value (``split_overridden`` / ``group_overridden``, one row each); a
  column named like an existing condition replaces its values where the sidecar has one
  (``condition_overridden``).
- ``sidecar_unmatched``: a row matching no image (ignored); ``no_sidecar_row``: an image no row
  names (its conditions stay unknown); ``duplicate_key``: a second row for an image (the first
  is kept).

The input dataset is never changed (it may be cached): the result is a new :class:`Dataset`
with its own report (the old rows, then the new ones) and no cache ``key`` (its content differs
from the parse the key named; :func:`imbal_core.io.load` sets a new one).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import DICT_STRING, IMAGE_SCHEMA, UNASSIGNED, Dataset, condition_name, validate
from ..report import LoadError, LoadReport
from ._conditions import GROUP_FIELDS, as_text, find_field, pick_conditions
from ._labels import normalized_splits
from ._tables import detect_column, read_any_table, text_column, typed

KEY_FIELDS = ("file_name", "filename", "image", "image_path", "path", "image_id", "id", "name")
_RULES = ("file name", "base name", "source id")


def join_conditions(dataset: Dataset, path: str | Path, key_column: str | None = None) -> Dataset:
    """``dataset`` with the sidecar's columns as conditions (see the module docstring).

    ``key_column`` (None: found among :data:`KEY_FIELDS`) names the column holding the file name
    or image id. Raises :class:`LoadError` naming the file when it cannot be read or has no key.
    """
    report = LoadReport(list(dataset.report.rows))
    file = str(path)
    raw = read_any_table(path, report)
    names = raw.table.schema.names
    key = detect_column(names, KEY_FIELDS, key_column, "key", file, report)
    if key is None:
        raise LoadError(f"{file}: no column names the images. Columns found: {names}. Name it with "
                        f"`key_column=` (recognised names: {', '.join(KEY_FIELDS)}).", report, file)
    keys = text_column(raw, key, report)
    row_image, rule = _match(dataset.images, keys.to_pylist(), raw.records.to_pylist(), file, report)

    n = dataset.num_images
    group_col = find_field([c for c in names if c != key], GROUP_FIELDS)
    split_col = find_field([c for c in names if c != key], ("split", "subset"))
    images = dataset.images
    values = {c: _per_image(typed(text_column(raw, c)) if pa.types.is_string(raw.table.column(c).type)
                            else raw.table.column(c).combine_chunks(), row_image, n)
              for c in names if c != key}
    if split_col is not None:
        images = _override(images, "split", normalized_splits_keep_null(values.pop(split_col)), file, split_col,
                           "split_overridden", report)
    if group_col is not None:
        images = _override(images, "group", as_text(values.pop(group_col)), file, group_col,
                           "group_overridden", report)
    existing = {c for c in dataset.conditions}
    replacing = {c: values.pop(c) for c in list(values) if condition_name(c) in existing}
    picked = pick_conditions(values, n, report, file)
    conditions = list(dataset.conditions)
    for raw_name, column in replacing.items():
        name = condition_name(raw_name)
        images = _override(images, name, as_text(column), file, raw_name, "condition_overridden", report)
    for name, column in picked.items():
        images = images.append_column(pa.field(name, DICT_STRING), _dict(column))
        conditions.append(name)
    validate(images, dataset.annotations, dataset.categories)
    return replace(dataset, images=images, conditions=tuple(conditions), report=report,
                   sources=(*dataset.sources, file), key=None)


def normalized_splits_keep_null(values: pa.Array) -> pa.Array:
    """Split spellings unified; a missing value stays missing (the image keeps its split)."""
    mapped = normalized_splits(as_text(values))
    return pc.if_else(pc.is_null(values), pa.scalar(None, pa.string()), mapped)


def _match(images: pa.Table, keys: list, records: list[str], file: str,
           report: LoadReport) -> tuple[np.ndarray, list[int]]:
    """Sidecar row of every image (-1: none), and how many rows matched by each rule."""
    file_names = images.column("file_name").to_pylist()
    by_name: dict[str, list[int]] = {}
    for i, name in enumerate(file_names):
        if name is not None:
            by_name.setdefault(name, []).append(i)
    by_base: dict[str, set[str]] = {}
    for name in by_name:
        by_base.setdefault(_base(name), set()).add(name)
    by_source: dict[str, list[int]] = {}
    for i, sid in enumerate(images.column("source_id").to_pylist()):
        by_source.setdefault(sid, []).append(i)

    row_image = np.full(images.num_rows, -1, dtype=np.int64)
    counts = [0, 0, 0]
    seen: dict[str, int] = {}
    unmatched = 0
    for row, (value, record) in enumerate(zip(keys, records)):
        if value is None:
            report.add(file, record, "sidecar_unmatched", "the key cell is empty", "ignored")
            unmatched += 1
            continue
        if value in seen:
            report.add(file, record, "duplicate_key", f"key {value!r} is given again (first at {records[seen[value]]})",
                       "ignored; the first row is kept")
            continue
        seen[value] = row
        targets, how = by_name.get(value), 0
        if targets is None:
            bases = by_base.get(_base(value), set())
            targets, how = (by_name[next(iter(bases))], 1) if len(bases) == 1 else (None, 1)
        if targets is None:
            targets, how = by_source.get(value), 2
        if targets is None:
            bases = sorted(by_base.get(_base(value), ()))
            problem = (f"key {value!r} matches no image" if len(bases) < 2 else
                       f"key {value!r} is the base name of several files ({', '.join(bases[:3])}); none is picked")
            report.add(file, record, "sidecar_unmatched", problem, "ignored")
            unmatched += 1
            continue
        taken = [t for t in targets if row_image[t] >= 0]
        if taken:
            report.add(file, record, "duplicate_key",
                       f"key {value!r} names an image another row already gave ({records[row_image[taken[0]]]})",
                       "ignored; the first row is kept")
            continue
        row_image[targets] = row
        counts[how] += 1
    if counts[1] or counts[2] or unmatched:
        how = ", ".join(f"{c:,} by {r}" for c, r in zip(counts, _RULES) if c)
        report.add(file, "", "sidecar_matched",
                   f"{sum(counts):,} of {len(keys):,} rows matched images ({how or 'none'}); {unmatched:,} matched none",
                   "joined the matched rows")
    missing = np.flatnonzero(row_image < 0)
    if len(missing):
        label = [n if n is not None else s for n, s in zip(file_names, images.column("source_id").to_pylist())]
        report.add_many(file, [label[i] for i in missing], "no_sidecar_row", "no sidecar row names this image",
                        "conditions left unknown")
    return row_image, counts


def _base(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _per_image(values: pa.Array, row_image: np.ndarray, n: int) -> pa.Array:
    if len(values) == 0:
        return pa.nulls(n, values.type)
    return pc.take(values, pa.array(row_image, mask=row_image < 0))


def _dict(values: pa.Array) -> pa.Array:
    return pc.cast(values, pa.string()).dictionary_encode().cast(DICT_STRING)


def _override(images: pa.Table, column: str, new: pa.Array, file: str, raw_name: str, code: str,
              report: LoadReport) -> pa.Table:
    """``images.column`` replaced where ``new`` has a value (one report row with the count)."""
    index = images.schema.get_field_index(column)
    old = images.column(column).combine_chunks()
    old_text = old.dictionary_decode() if pa.types.is_dictionary(old.type) else old
    merged = pc.coalesce(new, old_text)
    differs = pc.or_kleene(pc.not_equal(merged, old_text), pc.and_(pc.is_valid(merged), pc.is_null(old_text)))
    changed = int(pc.sum(pc.fill_null(differs, False)).as_py() or 0)
    if column == "split":
        merged = pc.fill_null(merged, UNASSIGNED)
    what = f"the {column}" if column in IMAGE_SCHEMA.names else f"the condition `{column}`"
    report.add(file, raw_name, code, f"column `{raw_name}` replaces {what} of images where it has a value "
               f"(images changed: {changed:,})", "replaced")
    typ = images.schema.field(index).type
    values = _dict(merged) if typ == DICT_STRING else pc.cast(merged, typ)
    return images.set_column(index, pa.field(column, typ, nullable=images.schema.field(index).nullable), values)
