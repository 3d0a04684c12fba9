"""The targets table of the Quotas page: shown with every known class, parsed back with clear errors."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from imbal_core.quotas import QuotaTarget
from imbal_core.quotas.editing import parse_targets_frame, targets_frame
from imbal_core.quotas.store import project_data

from .conftest import daily_export

D = date(2026, 12, 10)


def frame(*rows):
    return pd.DataFrame(rows, columns=["class", "target", "unit", "deadline", "priority", "critical"])


def test_every_known_class_gets_a_row_targets_first():
    data = project_data(daily_export({date(2026, 1, 5): {"A": 1, "B": 2}}), [QuotaTarget("B", 5, D, critical=True)])
    table = targets_frame(data, ["Z"])
    assert list(table["class"]) == ["B", "A", "C", "Z"]
    assert table.loc[0, "target"] == 5 and bool(table.loc[0, "critical"])
    assert pd.isna(table.loc[1, "target"]) and table.loc[1, "deadline"] == D  # the latest deadline pre-filled


def test_parsing_keeps_targets_and_clears_empty_rows():
    targets, cleared = parse_targets_frame(frame(
        ["A", 10, "instances", D, 1, False],
        ["B", None, "instances", D, 1, False],
        ["C", 0, "images", None, 1, False],
        ["D", 7.0, "images", pd.Timestamp("2026-12-01"), 2.0, True],
        ["E", "12", None, "2026-12-03", None, None],
    ))
    assert targets == [QuotaTarget("A", 10, D), QuotaTarget("D", 7, date(2026, 12, 1), "images", 2, True),
                       QuotaTarget("E", 12, date(2026, 12, 3))]
    assert cleared == ["B", "C"]


@pytest.mark.parametrize("row, match", [
    (["A", 10, "instances", None, 1, False], "`deadline` of A is empty"),
    (["A", 2.5, "instances", D, 1, False], "`target` of A must be a whole number of at least 1. Got 2.5"),
    (["A", -3, "instances", D, 1, False], "`target` of A must be a whole number of at least 1. Got -3"),
    (["A", "ten", "instances", D, 1, False], "`target` of A must be a whole number. Got 'ten'"),
    (["A", 10, "boxes", D, 1, False], "`unit` of A must be one of"),
    (["A", 10, "instances", "10/12/2026", 1, False], "`deadline` of A must be a date like 2026-12-10"),
    (["A", 10, "instances", D, 0, False], "`priority` of A must be a whole number of at least 1. Got 0"),
    ([None, 10, "instances", D, 1, False], "A row has a target but no class name"),
])
def test_bad_rows_are_named(row, match):
    with pytest.raises(ValueError, match=match):
        parse_targets_frame(frame(row))


def test_a_class_twice_is_refused():
    with pytest.raises(ValueError, match="'A' appears twice"):
        parse_targets_frame(frame(["A", 1, "instances", D, 1, False], ["A", 2, "instances", D, 1, False]))
