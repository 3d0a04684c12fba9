"""The bytes of files people download (every page's download buttons, the CLI's JSON and files):
CSV that is safe to open in a spreadsheet (:func:`csv_bytes`), Parquet (:func:`parquet_bytes`),
JSON (:func:`json_bytes`). Generic: what a result puts in its files is the result's own module
(``plan/document.py``, ``splits/export.py``, ``hierarchy/export.py`` ...).

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and tab or carriage
return) as a formula; a file name or class name from an export can be crafted to do that.
Every text cell written by :func:`csv_bytes` that starts so is prefixed with ``'``, which
spreadsheets show as text. Numbers are written as numbers.

Text that is not valid Unicode — a path whose bytes are not UTF-8 (Python holds them as
surrogate escapes), a lone surrogate read from a JSON ``"\\udcff"`` — is written with its bad
bytes as ``\\xff`` escapes (:func:`~imbal_core.report.safe_text`) in JSON, CSV and Parquet
alike, instead of failing the whole file.
"""
from __future__ import annotations

import io
import json
import math
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from .report import safe_text

if TYPE_CHECKING:
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: Any) -> Any:
    """``'=cmd()`` for ``=cmd()``; non-text values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(data: pa.Table | pd.DataFrame) -> bytes:
    """UTF-8 CSV with a header row; text cells neutralised against formula injection."""
    import pandas as pd  # heavy: only for the files people download, not for `imbal ... --json`

    df = data.to_pandas() if isinstance(data, pa.Table) else data.copy()
    for col in df.columns:
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]) or isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(object).map(_cell)
    df.columns = [_cell(str(c)) for c in df.columns]
    buffer = io.StringIO()
    df.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def _cell(value: Any) -> Any:
    """A text cell neutralised, and encodable (a path that is not UTF-8 with ``\\xff`` escapes)."""
    return neutralize(safe_text(value)) if isinstance(value, str) else value


def parquet_bytes(table: pa.Table | pd.DataFrame) -> bytes:
    if not isinstance(table, pa.Table):  # a pandas DataFrame
        try:
            table = pa.Table.from_pandas(table, preserve_index=False)
        except UnicodeEncodeError:  # text columns holding paths that are not UTF-8
            table = pa.Table.from_pandas(_safe_frame(table), preserve_index=False)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = df[col].map(lambda v: safe_text(v) if isinstance(v, str) else v)
    df.columns = [safe_text(c) if isinstance(c, str) else c for c in df.columns]
    return df


def _clean(value: Any, text: bool = False) -> Any:
    """NaN and infinities as None; with ``text``, every string (keys too) made encodable."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {(safe_text(str(k)) if text else str(k)): _clean(v, text) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v, text) for v in value]
    if text and isinstance(value, str):
        return safe_text(value)
    return value


def _safe_str(value: Any) -> str:
    return safe_text(str(value))


def json_bytes(obj: Any, indent: int | None = 2) -> bytes:
    """JSON where NaN and infinities become null (JSON has no NaN). Text that is not valid
    Unicode (a path whose bytes are not UTF-8) is written with ``\\xff`` escapes."""
    options: dict[str, Any] = {"indent": indent, "ensure_ascii": False, "allow_nan": False}
    try:
        return json.dumps(_clean(obj), default=str, **options).encode("utf-8")
    except UnicodeEncodeError:  # rare: cleaned again, string by string, only when needed
        return json.dumps(_clean(obj, text=True), default=_safe_str, **options).encode("utf-8")
