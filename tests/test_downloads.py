"""Downloads: CSV cells that a spreadsheet would run as formulas are neutralised."""
from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
import pytest

from imbal_core.downloads import csv_bytes, json_bytes, neutralize


@pytest.mark.parametrize(
    "value, expected",
    [("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
     ("car", "car"), ("", ""), (-2, -2), (None, None)],
)
def test_neutralize(value, expected):
    assert neutralize(value) == expected


def test_csv_neutralises_text_but_keeps_numbers():
    table = pa.table({"name": ["=HYPERLINK(\"http://x\")", "Car"], "count": [-3, 4], "=head": ["a", "b"]})
    rows = list(csv.reader(io.StringIO(csv_bytes(table).decode())))
    assert rows[0] == ["name", "count", "'=head"]
    assert rows[1] == ["'=HYPERLINK(\"http://x\")", "-3", "a"]
    assert rows[2] == ["Car", "4", "b"]


def test_json_writes_nan_as_null():
    assert json.loads(json_bytes({"a": float("nan"), "b": [1.5, float("inf")]})) == {"a": None, "b": [1.5, None]}
