"""Classification tables (CSV / TSV / Parquet) -> canonical dataset; home of the three
classification readers (:func:`read_table` here, :func:`read_lists` in :mod:`.lists`,
:func:`read_folder` in :mod:`.folders`).

A table has one row per (image, label): ``image,label[,split][,group][,condition...]``.

- Columns are found by name (case-insensitive): the image among :data:`IMAGE_FIELDS`, the label
  among :data:`LABEL_FIELDS`, the split among :data:`SPLIT_FIELDS`, the group among
  ``GROUP_FIELDS``, plus ``annotated_at`` / ``annotator`` and ``width`` / ``height``. Override
  with ``image_column`` / ``label_column`` / ``split_column``. When the image or label column
  cannot be found, :class:`LoadError` lists the columns found and how to name them.
- Every other column is a condition candidate (:func:`pick_conditions`); a column whose every
  value is a number with a fraction is a measurement, not a condition.
- Multi-label: several rows for one image, a label cell holding ``a|b`` or ``a;b``
  (``label_separators``, default ``"|;"``; ``""`` keeps cells whole), or a Parquet list cell
  give one annotation per label.
- Labels are text: ``0`` / ``1`` stay names. Classes are sorted by name, numbers by value
  (:func:`._labels.class_sort_key`), not by first appearance, so the order is stable across files.
- Split: the split column, else the file's name (``train.csv``), else ``unassigned``. One image
  is one (image, split) pair: the same file in two splits is two images and a leak, reported
  (``image_in_two_splits``). With several files, all are read as one table.
- Image-level values (split, group, conditions, size) come from the image's first row that has
  one; a later row disagreeing is reported (``multi_valued_condition``) and loses.

Report cases: ``missing_image`` (empty image cell: row skipped), ``empty_label`` (empty label
cell: the image is kept, without a label from that row — an unlabelled image is still part of
its split, e.g. an annotation queue; it is not turned into a "background" class),
``duplicate_label`` (the same (image, label) again: kept once), ``ragged_row``,
``duplicate_column``, ``not_utf8``, ``bad_image_size``, ``empty_file`` (with several files).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import Dataset, build_dataset, condition_name
from ..report import LoadError, LoadReport, excerpt
from ._conditions import ANNOTATED_AT_FIELDS, ANNOTATOR_FIELDS, GROUP_FIELDS, find_field, pick_conditions
from .files import split_from_name
from ._labels import class_sort_key, codes, first_rows, normalized_splits, report_split_overlaps
from ._tables import LIST_SEPARATOR, RawTable, detect_column, is_empty_error, read_any_table, text_column, typed

IMAGE_FIELDS = ("image", "file_name", "filename", "file", "path", "image_path", "img", "image_id", "name")
LABEL_FIELDS = ("label", "class", "category", "class_name", "target", "y")
SPLIT_FIELDS = ("split", "subset", "set")
#: Image sides are int32 in the canonical schema; a larger one is no image size.
MAX_SIDE = 2**31 - 1
_CORE = ("image", "label", "split", "group", "annotated_at", "annotator", "width", "height", "record")
_EXTRA = "extra:"  # prefix of the other columns while rows are assembled: no clash with _CORE


def read_table(
    paths: Sequence[str | Path],
    report: LoadReport | None = None,
    image_column: str | None = None,
    label_column: str | None = None,
    split_column: str | None = None,
    label_separators: str = "|;",
    **options: Any,
) -> Dataset:
    """Read one or several classification tables into one dataset.

    ``image_column`` / ``label_column`` / ``split_column`` (None: found by name) name the
    columns; ``label_separators`` ("|;") are the characters splitting a multi-label cell.
    """
    if options:
        raise TypeError(f"read_table() got unknown options {sorted(options)}.")
    report = report if report is not None else LoadReport()
    parts: list[pa.Table] = []
    empty: list[str] = []
    for path in paths:
        try:
            raw = read_any_table(path, report)
        except LoadError as exc:
            if len(paths) > 1 and is_empty_error(exc):
                empty.append(str(path))
                report.add(path, "", "empty_file", "the file is empty", "skipped")
                continue
            raise
        parts.append(_rows(raw, report, image_column, label_column, split_column))
    if not parts:
        raise LoadError(f"{', '.join(empty) or 'no input'}: every table is empty.", report, empty[0] if empty else None)
    rows = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]
    return _assemble(rows, [str(p) for p in paths], report, label_separators)


def _rows(raw: RawTable, report: LoadReport, image_column: str | None, label_column: str | None,
          split_column: str | None) -> pa.Table:
    """One file's rows as the columns of :data:`_CORE` plus its other columns (prefixed :data:`_EXTRA`)."""
    names = raw.table.schema.names
    image = detect_column(names, IMAGE_FIELDS, image_column, "image", raw.file, report)
    label = detect_column(names, LABEL_FIELDS, label_column, "label", raw.file, report)
    if image is None or label is None or image == label:
        missing = "image" if image is None or image == label else "label"
        fields = IMAGE_FIELDS if missing == "image" else LABEL_FIELDS
        raise LoadError(
            f"{raw.file}: cannot tell which column holds the {missing}. Columns found: {names}. "
            f"Name it with `{missing}_column=` (recognised names: {', '.join(fields)}).", report, raw.file)
    split = detect_column(names, SPLIT_FIELDS, split_column, "split", raw.file, report)
    found = {"image": image, "label": label, "split": split,
             "group": find_field(names, GROUP_FIELDS),
             "annotated_at": find_field(names, ANNOTATED_AT_FIELDS),
             "annotator": find_field(names, ANNOTATOR_FIELDS),
             "width": find_field(names, ("width",)), "height": find_field(names, ("height",))}
    n = raw.num_rows
    columns: dict[str, pa.Array] = {}
    for key in _CORE[:8]:
        col = found.get(key)
        columns[key] = text_column(raw, col, report) if col is not None else pa.nulls(n, pa.string())
    from_name = split_from_name(raw.file)
    if from_name is not None:
        columns["split"] = pc.fill_null(columns["split"], from_name)
    columns["record"] = raw.records
    used = {c for c in found.values() if c is not None}
    for name in names:
        if name not in used:
            values = raw.table.column(name).combine_chunks()
            columns[_EXTRA + name] = typed(values) if pa.types.is_string(values.type) else values
    return pa.table(columns)


def _assemble(rows: pa.Table, sources: list[str], report: LoadReport, separators: str) -> Dataset:
    records = rows.column("record").combine_chunks()
    missing = pc.is_null(rows.column("image")).to_numpy(zero_copy_only=False)
    if missing.any():
        for record in pc.filter(records, pa.array(missing)).to_pylist():
            report.add(_file(record), record, "missing_image", "the image cell is empty", "skipped")
        rows = rows.filter(pa.array(~missing))
        records = rows.column("record").combine_chunks()
    col = {name: rows.column(name).combine_chunks() for name in rows.schema.names}
    split = normalized_splits(col["split"])
    image_of_row, first = first_rows(col["image"], split)
    names = pc.take(col["image"], pa.array(first))
    image_split = pc.take(split, pa.array(first))
    report_split_overlaps(names, image_split.to_pylist(), lambda i: records[int(first[i])].as_py(),
                          lambda i: _file(records[int(first[i])].as_py()), report)

    ann_row, label_idx, label_names = _labels(col["label"], records, separators, report)
    ann_image = image_of_row[ann_row]
    key = ann_image * (len(label_names) + 1) + label_idx
    _, keep = np.unique(key, return_index=True)
    keep.sort()
    if len(keep) < len(key):
        dup = np.ones(len(key), bool)
        dup[keep] = False
        first_of = dict(zip(key[keep].tolist(), keep.tolist()))
        rec = records.to_pylist()
        for i in np.flatnonzero(dup):
            r = ann_row[i]
            report.add(_file(rec[r]), rec[r], "duplicate_label",
                       f"image {names[int(ann_image[i])].as_py()!r} already has label {label_names[label_idx[i]]!r} "
                       f"({rec[ann_row[first_of[key[i]]]]})", "kept once")
    ann_row, ann_image, label_idx = ann_row[keep], ann_image[keep], label_idx[keep]
    used = sorted({label_names[i] for i in np.unique(label_idx)}, key=class_sort_key)
    row_of_label = {name: i for i, name in enumerate(used)}
    category_of = np.array([row_of_label.get(n, -1) for n in label_names], dtype=np.int64)

    per_image = _image_values(rows, col, image_of_row, first, report)
    take_rows = pa.array(ann_row)
    return build_dataset(
        images={"source_id": names, "file_name": names, "split": image_split, **per_image["columns"]},
        annotations={
            "image": ann_image, "category": category_of[label_idx] if len(label_idx) else np.zeros(0, np.int64),
            "source_id": pc.take(records, take_rows),
            "annotated_at": pc.take(col["annotated_at"], take_rows),
            "annotator": pc.take(col["annotator"], take_rows),
        },
        categories={"name": used, "source_id": used},
        task="classification", format="csv", sources=sources, report=report,
        conditions=per_image["conditions"], check_boxes=False,
    )


def _labels(labels: pa.Array, records: pa.Array, separators: str,
            report: LoadReport) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(row, label code) for every label a cell names, and the label names; empty cells reported.

    Cells are split once per distinct cell, not once per row: a table of a million rows has
    only as many distinct label cells as label combinations.
    """
    cell_of_row, cells = codes(labels)
    pattern = re.compile("[" + re.escape(separators + LIST_SEPARATOR) + "]")
    code_of: dict[str, int] = {}
    per_cell: list[list[int]] = []
    for cell in cells:
        parts = pattern.split(cell)
        per_cell.append([code_of.setdefault(p, len(code_of)) for p in (x.strip() for x in parts) if p])
    label_names = list(code_of)
    counts = np.array([len(c) for c in per_cell] + [0], dtype=np.int64)  # the last: a null cell
    flat = np.array([code for c in per_cell for code in c], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts[:-1])]).astype(np.int64)
    n_per_row = counts[cell_of_row]
    empty = np.flatnonzero(n_per_row == 0)
    if len(empty):
        raw = pc.take(labels, pa.array(empty)).to_pylist()
        for r, value in zip(empty.tolist(), raw):
            record = records[r].as_py()
            what = "empty" if not (value or "").strip() else f"{value!r}, which names no label"
            report.add(_file(record), record, "empty_label", f"the label cell is {what}",
                       "image kept without a label from this row")
    rows = np.repeat(np.arange(len(labels), dtype=np.int64), n_per_row)
    within = np.arange(len(rows), dtype=np.int64) - np.repeat(np.cumsum(n_per_row) - n_per_row, n_per_row)
    return rows, flat[starts[cell_of_row[rows]] + within] if len(rows) else np.zeros(0, np.int64), label_names


def _file(record: str) -> str:
    """The file of a ``file:line`` (or ``file:row N``) record."""
    return record.rsplit(":", 1)[0]


def _image_values(rows: pa.Table, col: dict[str, pa.Array], image_of_row: np.ndarray, first: np.ndarray,
                  report: LoadReport) -> dict:
    """Group, time, annotator, size and conditions per image: the first row that has a value."""
    n_images = len(first)
    extra = {n[len(_EXTRA):]: col[n] for n in rows.schema.names if n.startswith(_EXTRA)}
    chosen = {name: _first_valid(col[name], image_of_row, n_images)
              for name in ("group", "annotated_at", "annotator", "width", "height")}
    chosen_extra = {name: _first_valid(values, image_of_row, n_images) for name, values in extra.items()}
    first_file = _file(col["record"][0].as_py()) if len(col["record"]) else ""
    conditions = pick_conditions(chosen_extra, n_images, report, first_file)
    _report_conflicts("group", col["group"], chosen["group"], image_of_row, col["record"], report)
    for name in extra:
        if condition_name(name) in conditions:
            _report_conflicts(name, extra[name], chosen_extra[name], image_of_row, col["record"], report)
    columns: dict[str, Any] = {"group": chosen["group"], "annotated_at": chosen["annotated_at"],
                               "annotator": chosen["annotator"]}
    for key in ("width", "height"):
        columns[key] = _sizes(chosen[key], key, pc.take(col["record"], pa.array(first)), report)
    columns.update(conditions)
    return {"columns": columns, "conditions": list(conditions)}


def _first_valid(values: pa.Array, image_of_row: np.ndarray, n_images: int) -> pa.Array:
    valid = pc.is_valid(values).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(valid)
    images, at = np.unique(image_of_row[rows], return_index=True)
    pick = np.full(n_images, -1, dtype=np.int64)
    pick[images] = rows[at]
    return pc.take(values, pa.array(pick, mask=pick < 0))


def _report_conflicts(name: str, values: pa.Array, chosen: pa.Array, image_of_row: np.ndarray,
                      records: pa.Array, report: LoadReport) -> None:
    if len(values) == 0:
        return
    text = pc.cast(values, pa.string()) if not pa.types.is_string(values.type) else values
    kept = pc.cast(chosen, pa.string()) if not pa.types.is_string(chosen.type) else chosen
    per_row = pc.take(kept, pa.array(image_of_row))
    differs = pc.fill_null(pc.and_(pc.is_valid(text), pc.not_equal(text, per_row)), False)
    for i in np.flatnonzero(differs.to_numpy(zero_copy_only=False)):
        record = records[int(i)].as_py()
        report.add(_file(record), record, "multi_valued_condition",
                   f"`{name}` is {text[i].as_py()!r} here but {per_row[i].as_py()!r} on an earlier row of the image",
                   f"kept {per_row[i].as_py()!r}")


def _sizes(values: pa.Array, key: str, records: pa.Array, report: LoadReport) -> pa.Array:
    """Image widths / heights as numbers; anything not a positive number becomes unknown (reported)."""
    if values.null_count == len(values):
        return pa.nulls(len(values), pa.float64())
    out = []
    for value, record in zip(values.to_pylist(), records.to_pylist()):
        try:
            number = None if value is None else float(value)
        except ValueError:
            number = float("nan")
        if number is not None and not (0 < number <= MAX_SIDE):
            report.add(_file(record), record, "bad_image_size",
                       f"image {key} {excerpt(value)} is not a positive number of at most {MAX_SIDE:,} pixels",
                       "set to unknown")
            number = None
        out.append(None if number is None else round(number))
    return pa.array(out, pa.float64())


from .folders import read_folder  # noqa: E402  (re-exported: the registry imports all three from here)
from .lists import read_lists  # noqa: E402

__all__ = ["read_table", "read_lists", "read_folder", "IMAGE_FIELDS", "LABEL_FIELDS", "SPLIT_FIELDS"]
