"""Files people download: CSV that is safe to open in a spreadsheet, Parquet, JSON.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and tab or carriage
return) as a formula; a file name or class name from an export can be crafted to do that.
Every text cell written by :func:`csv_bytes` that starts so is prefixed with ``'``, which
spreadsheets show as text. Numbers are written as numbers.
"""
from __future__ import annotations

import io
import json
import math
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

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
            df[col] = df[col].astype(object).map(neutralize)
    df.columns = [neutralize(str(c)) for c in df.columns]
    buffer = io.StringIO()
    df.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def parquet_bytes(table: pa.Table | pd.DataFrame) -> bytes:
    if not isinstance(table, pa.Table):  # a pandas DataFrame
        table = pa.Table.from_pandas(table, preserve_index=False)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def json_bytes(obj: Any, indent: int | None = 2) -> bytes:
    """JSON where NaN and infinities become null (JSON has no NaN)."""
    return json.dumps(_clean(obj), indent=indent, ensure_ascii=False, allow_nan=False, default=str).encode("utf-8")
