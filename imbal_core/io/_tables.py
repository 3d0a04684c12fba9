"""Reading one CSV / TSV / Parquet table for the table readers (classification tables, sidecars).

- CSV and TSV are read with ``pyarrow.csv``; the delimiter is sniffed from the header line (the
  most frequent of comma, semicolon, tab and pipe; comma when none occurs). Every column is read
  as text, so ``007`` stays ``007`` and labels ``0`` / ``1`` stay names; :func:`typed` turns a
  column whose every value is a number into numbers where a caller wants that.
- A BOM is dropped; bytes that are not UTF-8 are replaced and reported (:func:`decode_text`).
- Empty cells are null; rows with every cell empty (blank lines, ``,,,``) are not records and are
  dropped without a report row.
- Rows with more or fewer fields than the header are skipped, one ``ragged_row`` report row each
  with its line number. Quoted fields may hold delimiters, quotes and newlines.
- Header names are stripped of spaces; a repeated name gets a ``_2`` suffix (reported).
- Parquet is read with ``pyarrow.parquet``, columns as stored.

Each row keeps its record name for reports: ``file:line`` (the physical line, counting the
header as line 1) for text tables, ``file:row N`` for Parquet.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..report import LoadError, LoadReport
from .files import decode_text, read_bytes

DELIMITERS = (",", ";", "\t", "|")
_LINE_BREAK = "\r\n|\r|\n"
PARQUET_SUFFIXES = (".parquet", ".pq")
#: Joins the items of a list cell (a Parquet ``list<string>`` of labels) into one text cell.
LIST_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class RawTable:
    """One table as read: ``table`` (columns as found), ``records`` (one ``file:line`` per row)."""

    file: str
    table: pa.Table
    records: pa.Array

    @property
    def num_rows(self) -> int:
        return self.table.num_rows


def read_any_table(path: str | Path, report: LoadReport) -> RawTable:
    """A CSV, TSV or Parquet file as a :class:`RawTable`; :class:`LoadError` when it cannot be read.

    An empty file raises too (``LoadError`` whose message says ``empty``); callers reading
    several files may catch it and carry on.
    """
    path = Path(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return _read_parquet(path, report)
    return _read_csv(path, report)


def is_empty_error(exc: LoadError) -> bool:
    return str(exc).endswith("the file is empty.")


def _read_parquet(path: Path, report: LoadReport) -> RawTable:
    import pyarrow.parquet as pq

    data = read_bytes(path)
    if not data:
        raise LoadError(f"{path}: the file is empty.", report, str(path))
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise LoadError(f"{path}: not a readable Parquet file ({exc}).", report, str(path)) from None
    table = _unique_names(table, str(path), report)
    return RawTable(str(path), table, _records(f"{path}:row ", np.arange(1, table.num_rows + 1)))


def sniff_delimiter(header: str) -> str:
    """The most frequent of :data:`DELIMITERS` in the header line (ties: earlier wins; none: comma)."""
    counts = [header.count(d) for d in DELIMITERS]
    best = max(range(len(DELIMITERS)), key=lambda i: (counts[i], -i))
    return DELIMITERS[best] if counts[best] else ","


def _read_csv(path: Path, report: LoadReport) -> RawTable:
    import pyarrow.csv as pcsv

    data = read_bytes(path)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise LoadError(f"{path}: the file is empty.", report, str(path))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        data = decode_text(data, path, report).encode("utf-8")
    header = re.split(rb"\r\n|\r|\n", data, maxsplit=1)[0].decode("utf-8")
    delimiter = sniff_delimiter(header)
    try:
        names = next(csv.reader([header], delimiter=delimiter), [])
    except csv.Error:  # a NUL or stray quote: pyarrow reads the header itself
        names = []
    invalid: list[tuple[int, int, str]] = []  # (record number, embedded newlines, problem)

    def on_invalid(row) -> str:
        invalid.append((row.number or 0, _breaks(row.text),
                        f"row has {row.actual_columns} fields; the header has {row.expected_columns}"))
        return "skip"

    try:
        table = pcsv.read_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(use_threads=False),  # record numbers for the report
            parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                             ignore_empty_lines=False, invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                strings_can_be_null=True, null_values=[""]),
        )
    except (pa.ArrowException, UnicodeDecodeError) as exc:
        raise LoadError(f"{path}: not a readable {_kind(delimiter)} table ({exc}).", report, str(path)) from None
    table = _unique_names(table, str(path), report, stringify=True)
    lines = _line_numbers(table, invalid, quoted=b'"' in data)
    for number, _, problem in invalid:
        report.add(path, f"{path}:{lines['invalid'][number]}", "ragged_row", problem, "skipped")
    records = _records(f"{path}:", lines["rows"])
    blank = _blank_rows(table)
    if blank is not None:
        keep = pa.array(~blank)
        table, records = table.filter(keep), records.filter(keep)
    return RawTable(str(path), table, records)


def _records(prefix: str, numbers: np.ndarray) -> pa.Array:
    """``prefix`` + number, for every number (``file:12``)."""
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(numbers, pa.int64()), pa.string()), "")


def _kind(delimiter: str) -> str:
    return {",": "CSV", ";": "semicolon-separated", "\t": "TSV", "|": "pipe-separated"}[delimiter]


def _unique_names(table: pa.Table, file: str, report: LoadReport, stringify: bool = False) -> pa.Table:
    """Strip header names; rename repeated ones ``name_2``, ``name_3`` (reported)."""
    seen: dict[str, int] = {}
    names = []
    for raw in table.schema.names:
        name = raw.strip()
        if name in seen:
            seen[name] += 1
            new = f"{name}_{seen[name]}"
            report.add(file, raw, "duplicate_column", f"column `{name}` appears more than once", f"renamed `{new}`")
            name = new
        else:
            seen[name] = 1
        names.append(name)
    table = table.rename_columns(names)
    if stringify:
        table = pa.table({n: (c if pa.types.is_string(c.type) else pc.cast(c, pa.string()))
                          for n, c in zip(table.schema.names, table.columns)})
    return table


def _line_numbers(table: pa.Table, invalid: list[tuple[int, int, str]], quoted: bool) -> dict:
    """Physical line of each kept row and of each skipped record (header = line 1).

    pyarrow numbers records (a quoted newline does not start a new one); physical lines add
    the newlines held inside earlier records (only quoted values can hold one).
    """
    n_rows = table.num_rows
    total = n_rows + len(invalid) + 1  # records, the header included
    newlines = np.zeros(total + 1, dtype=np.int64)  # index = record number (1-based)
    row_numbers = np.setdiff1d(np.arange(2, total + 1, dtype=np.int64),
                               np.array([number for number, _, _ in invalid], dtype=np.int64))
    embedded = np.zeros(n_rows, dtype=np.int64)
    for column in table.columns if quoted else ():
        if n_rows and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            counts = pc.count_substring_regex(column, _LINE_BREAK)
            embedded += pc.fill_null(counts, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    if embedded.any() or any(n for _, n, _ in invalid):
        newlines[row_numbers] = embedded
        for number, count, _ in invalid:
            if 0 < number <= total:
                newlines[number] = count
        before = np.concatenate([[0], np.cumsum(newlines)[:-1]])
    else:
        before = np.zeros(total + 1, dtype=np.int64)
    return {
        "rows": row_numbers + before[row_numbers],
        "invalid": {number: int(number + before[number]) if 0 < number <= total else "?" for number, _, _ in invalid},
    }


def _breaks(text: str) -> int:
    """Line breaks in ``text`` as pyarrow counts them: ``\\r\\n``, ``\\r`` or ``\\n``."""
    return len(re.findall(_LINE_BREAK, text))


def _blank_rows(table: pa.Table) -> np.ndarray | None:
    if not table.num_rows or not table.num_columns:
        return None
    blank = np.ones(table.num_rows, dtype=bool)
    for column in table.columns:
        blank &= pc.is_null(column).to_numpy(zero_copy_only=False)
        if not blank.any():
            return None
    return blank


def text_column(raw: RawTable, name: str, report: LoadReport | None = None) -> pa.Array:
    """A column as stripped text (numbers without ``.0``); empty text becomes null.

    A list column (Parquet) becomes its items joined by :data:`LIST_SEPARATOR`; a column of
    any other nested type raises :class:`LoadError` naming the file and column.
    """
    from ._conditions import as_text

    values = raw.table.column(name).combine_chunks()
    try:
        if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
            values = pc.binary_join(pc.cast(values, pa.list_(pa.string())), LIST_SEPARATOR)
        text = pc.utf8_trim_whitespace(as_text(values))
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        raise LoadError(f"{raw.file}: column `{name}` holds {values.type} values, not text or numbers.",
                        report, raw.file) from None
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def typed(values: pa.Array) -> pa.Array:
    """Text whose every value is a number becomes float64 (whole numbers stay text, as names)."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)) or values.null_count == len(values):
        return values
    try:
        numbers = pc.cast(pc.utf8_trim_whitespace(values), pa.float64())
    except pa.ArrowInvalid:
        return values
    whole = pc.all(pc.or_kleene(pc.is_null(numbers), pc.equal(pc.floor(numbers), numbers))).as_py()
    return values if whole else numbers


def detect_column(names: list[str], candidates: tuple[str, ...], override: str | None, role: str,
                  file: str, report: LoadReport) -> str | None:
    """The column for ``role`` (``override`` when given, else the first name among ``candidates``)."""
    if override is not None:
        if override not in names:
            raise LoadError(
                f"{file}: `{role}_column` names {override!r}, which is not a column. Columns found: {names}.",
                report, file)
        return override
    lowered = {n.lower(): n for n in reversed(names)}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    return None
