"""Daily history: from successive snapshots, from one export's timestamps, and both mixed."""
from __future__ import annotations

from datetime import date

import pytest

from imbal_core.quotas.history import build_history, working_days
from imbal_core.quotas.store import project_data

from .conftest import SAMPLE_DAYS, daily_export

MON, TUE, WED, THU, FRI = (date(2026, 1, d) for d in (5, 6, 7, 8, 9))
SAT, NEXT_MON = date(2026, 1, 10), date(2026, 1, 12)
COLUMNS = ["day", "class", "images", "instances", "pixels"]


def values(history, category="A", unit="instances"):
    return dict(history.series(category, unit).items())


def test_ten_snapshots_and_the_last_export_alone_give_the_same_history(sample_workspace):
    from_snapshots = build_history(sample_workspace.load("daily"), "snapshots")
    from_stamps = build_history(sample_workspace.load("last"), "timestamps")
    auto_daily = build_history(sample_workspace.load("daily"))
    auto_last = build_history(sample_workspace.load("last"))
    frame = from_snapshots.frame()[COLUMNS]
    assert frame.equals(from_stamps.frame()[COLUMNS])
    assert frame.equals(auto_daily.frame()[COLUMNS]) and frame.equals(auto_last.frame()[COLUMNS])
    assert from_snapshots.days == SAMPLE_DAYS
    # The README's daily totals: Wheelchair 34, 65, ... 252; Bicycle 30, 62, ... 352.
    assert list(from_stamps.series("Wheelchair", "instances")) == [34, 65, 94, 121, 146, 169, 191, 212, 232, 252]
    assert list(from_stamps.series("Bicycle", "instances")) == [30, 62, 97, 133, 171, 201, 238, 276, 316, 352]
    assert set(from_snapshots.frame()["source"]) == {"snapshot"}
    assert set(from_stamps.frame()["source"]) == {"timestamps"}


def test_images_count_on_the_day_of_their_class_first_annotation(sample_workspace, sample_exports):
    from imbal_core import class_totals

    history = build_history(sample_workspace.load("last"), "timestamps")
    for export, day in zip(sample_exports, SAMPLE_DAYS):
        totals = {r["class"]: r["images"] for r in class_totals(export).to_pylist()}
        assert {c: values(history, c, "images")[day] for c in totals} == totals


def test_as_of_cuts_the_history(sample_workspace):
    history = build_history(sample_workspace.load("daily"), as_of=date(2026, 11, 20))
    assert history.days == SAMPLE_DAYS[:5] and history.as_of == date(2026, 11, 20)
    stamps = build_history(sample_workspace.load("last"), "timestamps", as_of=date(2026, 11, 20))
    assert values(stamps, "Wheelchair") == values(history, "Wheelchair")


def test_unstamped_annotations_count_from_the_snapshot_day():
    data = project_data(daily_export({MON: {"A": 2}, TUE: {"A": 3}}, unstamped={"A": 4}), at=WED)
    history = build_history(data, "timestamps")
    assert values(history) == {MON: 2, TUE: 5, WED: 9}


def test_auto_fills_days_between_snapshots_from_the_next_export_timestamps(workspace):
    workspace.create_project("p")
    workspace.ingest("p", daily_export({MON: {"A": 2}}))
    workspace.ingest("p", daily_export({MON: {"A": 2}, TUE: {"A": 3}, WED: {"A": 1}, THU: {"A": 4}}))
    auto = build_history(workspace.load("p"))
    assert values(auto) == {MON: 2, TUE: 5, WED: 6, THU: 10}
    assert list(auto.frame()["source"][auto.frame()["class"] == "A"]) == ["snapshot", "timestamps", "timestamps",
                                                                              "snapshot"]
    carried = build_history(workspace.load("p"), "snapshots")
    assert values(carried) == {MON: 2, TUE: 2, WED: 2, THU: 10}
    assert auto.starts_at_zero and not carried.starts_at_zero


def test_without_timestamps_days_between_snapshots_are_carried(workspace):
    workspace.create_project("p")
    workspace.ingest("p", daily_export({MON: {"A": 2}}, stamped=False), at=MON)
    workspace.ingest("p", daily_export({MON: {"A": 7}}, stamped=False), at=THU)
    history = build_history(workspace.load("p"))
    assert values(history) == {MON: 2, TUE: 2, WED: 2, THU: 7}
    assert not history.starts_at_zero
    with pytest.raises(ValueError, match="needs a snapshot whose export has `annotated_at`"):
        build_history(workspace.load("p"), "timestamps")


def test_weekend_work_shows_on_the_next_working_day():
    data = project_data(daily_export({FRI: {"A": 1}, SAT: {"A": 5}, NEXT_MON: {"A": 2}}))
    assert values(build_history(data, "timestamps")) == {FRI: 1, NEXT_MON: 8}


def test_a_project_without_snapshots_has_an_empty_history(workspace):
    workspace.create_project("p")
    history = build_history(workspace.load("p"))
    assert history.table.num_rows == 0 and history.as_of is None
    with pytest.raises(ValueError, match="`history` must be one of"):
        build_history(workspace.load("p"), "guess")


@pytest.mark.parametrize("start, end, mask, expected", [
    (MON, FRI, "1111100", 5),
    (MON, NEXT_MON, "1111100", 6),
    (MON, NEXT_MON, "1111111", 8),
    (FRI, MON, "1111100", 0),
    (SAT, date(2026, 1, 11), "1111100", 0),
])
def test_working_days(start, end, mask, expected):
    assert len(working_days(start, end, mask)) == expected
