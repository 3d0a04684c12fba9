"""The rows of Open Images CSVs as Arrow columns: image lists, boxes and image-level labels.

Each reader returns the rows it could use and reports the others, one row each with
``file:line``: a missing ``ImageID`` / ``LabelName`` / coordinate (``bad_line``), a coordinate
that is not a number (``bad_box``), a flag other than 0, 1 or -1 (``bad_flag``: kept, unknown), a
``Confidence`` other than 0 or 1 in a human-verified label file (``bad_confidence``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...report import LoadError, LoadReport
from .._tables import RawTable, read_any_table, text_column

COORDINATES = ("XMin", "XMax", "YMin", "YMax")
#: Box flags kept, by the column that holds them (1 true, 0 false, -1 unknown).
FLAGS = {"IsOccluded": "occluded", "IsTruncated": "truncated", "IsGroupOf": "group_of",
         "IsDepiction": "depiction", "IsInside": "inside"}


@dataclass(frozen=True)
class Rows:
    """Usable rows of one file: ``columns`` (Arrow arrays of equal length) and their ``records``."""

    path: Path
    columns: dict[str, pa.Array]
    records: pa.Array  # ``file name:line``

    def __len__(self) -> int:
        return len(self.records)


def _table(path: Path, required: tuple[str, ...], report: LoadReport) -> tuple[RawTable, pa.Array]:
    raw = read_any_table(path, report)
    missing = [c for c in required if c not in raw.table.schema.names]
    if missing:
        raise LoadError(f"{path}: lacks the column(s) {', '.join(missing)} of its kind "
                        f"(found: {', '.join(raw.table.schema.names[:12])}).", report, str(path))
    records = pc.replace_substring(raw.records, f"{path}:", f"{path.name}:", max_replacements=1)
    return raw, records


def _keep(path: Path, columns: dict[str, pa.Array], records: pa.Array, bad: np.ndarray) -> Rows:
    if bad.any():
        mask = pa.array(~bad)
        columns = {k: v.filter(mask) for k, v in columns.items()}
        records = records.filter(mask)
    return Rows(path, columns, records)


def _report_rows(report: LoadReport, path: Path, records: pa.Array, mask: np.ndarray, code: str, problem: str,
                 action: str) -> None:
    if mask.any():
        report.add_many(path, pc.filter(records, pa.array(mask)).to_pylist(), code, problem, action)


def _missing(columns: dict[str, pa.Array], names: tuple[str, ...]) -> np.ndarray:
    out = np.zeros(len(next(iter(columns.values()))), dtype=bool)
    for name in names:
        out |= pc.is_null(columns[name]).to_numpy(zero_copy_only=False)
    return out


def numbers(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(floats, not_a_number)``: NaN where a value is null or not a number; the mask marks the latter."""
    try:
        parsed = pc.cast(values, pa.float64())
        return parsed.to_numpy(zero_copy_only=False), np.zeros(len(values), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), dtype=bool)
    for i, text in enumerate(values.to_pylist()):
        if text is None:
            continue
        try:
            out[i] = float(text)
        except ValueError:
            bad[i] = True
    return out, bad


def read_images(path: Path, report: LoadReport) -> Rows:
    """``ImageID`` and ``Subset`` of an image list (rows without an id are reported)."""
    raw, records = _table(path, ("ImageID", "Subset"), report)
    columns = {k: text_column(raw, k, report) for k in ("ImageID", "Subset")}
    bad = _missing(columns, ("ImageID",))
    _report_rows(report, path, records, bad, "bad_line", "row has no ImageID", "skipped")
    return _keep(path, columns, records, bad)


def read_boxes(path: Path, report: LoadReport) -> Rows:
    """``ImageID``, ``LabelName``, the four coordinates (float64) and the flags (bool, null unknown)."""
    raw, records = _table(path, ("ImageID", "LabelName", *COORDINATES), report)
    columns = {k: text_column(raw, k, report) for k in ("ImageID", "LabelName")}
    texts = {k: text_column(raw, k, report) for k in COORDINATES}
    missing = _missing({**columns, **texts}, ("ImageID", "LabelName", *COORDINATES))
    _report_rows(report, path, records, missing, "bad_line", "row lacks ImageID, LabelName or a coordinate", "skipped")
    bad = missing.copy()
    for name, text in texts.items():
        values, not_number = numbers(text)
        not_number &= ~missing
        _report_rows(report, path, records, not_number, "bad_box", f"{name} is not a number", "skipped")
        bad |= not_number
        columns[name] = pa.array(values, pa.float64())
    for name in FLAGS:
        columns[name] = _flag(raw, name, records, path, report)
    return _keep(path, columns, records, bad)


def _flag(raw: RawTable, name: str, records: pa.Array, path: Path, report: LoadReport) -> pa.Array:
    if name not in raw.table.schema.names:
        return pa.nulls(raw.num_rows, pa.bool_())
    text = text_column(raw, name, report)
    known = pc.is_in(text, value_set=pa.array(["0", "1", "-1"]))
    odd = pc.and_(pc.invert(known), pc.is_valid(text)).to_numpy(zero_copy_only=False)
    _report_rows(report, path, records, odd, "bad_flag", f"{name} is not 0, 1 or -1", f"kept with {name} unknown")
    return pc.if_else(pc.equal(text, "1"), True, pc.if_else(pc.equal(text, "0"), False, pa.scalar(None, pa.bool_())))


def read_labels(path: Path, report: LoadReport) -> Rows:
    """``ImageID``, ``LabelName`` and ``present`` (Confidence 1 true, 0 false: verified absent)."""
    raw, records = _table(path, ("ImageID", "LabelName", "Confidence"), report)
    columns = {k: text_column(raw, k, report) for k in ("ImageID", "LabelName")}
    confidence, _ = numbers(text_column(raw, "Confidence", report))
    missing = _missing(columns, ("ImageID", "LabelName"))
    _report_rows(report, path, records, missing, "bad_line", "row lacks ImageID or LabelName", "skipped")
    with np.errstate(invalid="ignore"):
        odd = ~missing & ~np.isin(confidence, (0.0, 1.0))
    _report_rows(report, path, records, odd, "bad_confidence",
                 "Confidence is not 0 or 1, as in a human-verified label file", "skipped")
    columns["present"] = pa.array(confidence == 1.0)
    return _keep(path, columns, records, missing | odd)
