"""Progress, forecast, status, diagnosis and advice: known rates give known dates."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from imbal_core.quotas import QuotaTarget
from imbal_core.quotas.burn import burn_series
from imbal_core.quotas.progress import ALL_CLASSES, StatusRules, progress, project_progress
from imbal_core.quotas.store import project_data
from imbal_core.types import QuotaStatus

from .conftest import daily_export

MON, TUE, WED, THU, FRI = (date(2026, 1, d) for d in (5, 6, 7, 8, 9))
NEXT_FRI = date(2026, 1, 16)
WEEK = [MON, TUE, WED, THU, FRI]
DEADLINE = date(2026, 12, 10)


def steady(per_day: int = 10, cls: str = "A", **kwargs):
    """A week of ``per_day`` instances of ``cls`` a day (plus 10 of B a day)."""
    return daily_export({d: {cls: per_day, "B": 10} for d in WEEK}, **kwargs)


def one(target: int, deadline: date = NEXT_FRI, export=None, rules=None, **kwargs):
    data = project_data(export or steady(), [QuotaTarget("A", target, deadline, **kwargs)])
    return progress(data, rules=rules)["A"]


# --------------------------------------------------------------------------- the ten-day sample


@pytest.mark.parametrize("project", ["daily", "last"])
def test_the_sample_story(sample_workspace, project):
    result = project_progress(sample_workspace, project)
    assert result.as_of == date(2026, 11, 27)
    wheelchair, bicycle = result["Wheelchair"], result["Bicycle"]
    # README: Wheelchair 252 by 11-27, last-5-day pace 21.2/day -> about 443 by 12-10 (well short of 600);
    # Bicycle 352, 36.2/day -> about 678 against 500 (on track). 9 working days left.
    assert (wheelchair.current, wheelchair.remaining, wheelchair.days_left) == (252, 348, 9)
    assert wheelchair.rate_per_day == pytest.approx(21.2)
    assert wheelchair.needed_per_day == pytest.approx(348 / 9)
    assert round(wheelchair.projected_at_deadline) == 443
    assert wheelchair.projected_date == date(2026, 12, 22)  # 348 / 21.2 = 16.4 -> 17 working days
    assert wheelchair.status == "off_track" and wheelchair.diagnosis == "supply"
    assert bicycle.rate_per_day == pytest.approx(36.2) and round(bicycle.projected_at_deadline) == 678
    assert bicycle.projected_date == date(2026, 12, 4)  # 148 / 36.2 = 4.1 -> 5 working days
    assert bicycle.status == "on_track"
    assert [c.category for c in result.classes] == ["Wheelchair", "Bicycle"]  # worst first
    assert "Wheelchair needs 38.7/day to make 2026-12-10" in wheelchair.advice
    assert "the last 5 working days averaged 21.2" in wheelchair.advice
    assert "more labellers will not help" in wheelchair.advice
    assert "Bicycle is on track" in bicycle.advice and "2026-12-04" in bicycle.advice
    counts = result.status_counts  # the page's metrics: one class off track, one on track, none else
    assert counts.pop(QuotaStatus.OFF_TRACK) == 1 and counts.pop(QuotaStatus.ON_TRACK) == 1
    assert set(counts.values()) == {0}


def test_classes_are_listed_worst_first_in_the_order_of_the_status_rank():
    # A 10/day needs 10/day (on track); B has met 40 (done); C 1/day needs 19/day (off track);
    # D 10/day needs 12/day (pace 0.83: at risk); E has no data (no pace yet).
    export = daily_export({d: {"A": 10, "B": 10, "C": 1, "D": 10} for d in WEEK}, classes=("A", "B", "C", "D"))
    targets = [QuotaTarget(name, target, NEXT_FRI) for name, target in
               (("A", 100), ("B", 40), ("C", 100), ("D", 110), ("E", 10))]
    result = progress(project_data(export, targets))
    assert [(c.category, c.status) for c in result.classes] == [
        ("C", "off_track"), ("D", "at_risk"), ("E", "unknown"), ("A", "on_track"), ("B", "done")]
    assert [c.status for c in result.classes] == sorted(QuotaStatus, key=lambda s: s.rank)
    assert all(isinstance(c.status, QuotaStatus) for c in result.classes)
    assert [c["status"] for c in result.to_dict()["classes"]] == ["off_track", "at_risk", "unknown", "on_track", "done"]
    assert all(type(c["status"]) is str for c in result.to_dict()["classes"])  # plain text in JSON and tables


def test_a_status_given_as_text_becomes_a_quota_status_and_others_are_refused():
    c = one(100)
    assert replace(c, status="at_risk").status is QuotaStatus.AT_RISK
    with pytest.raises(ValueError, match=r"`status` must be one of \['done', 'on_track', 'at_risk', 'off_track', "
                                         r"'unknown'\]. Got 'late' instead."):
        replace(c, status="late")


def test_snapshots_and_timestamps_give_the_same_numbers(sample_workspace):
    daily = project_progress(sample_workspace, "daily").to_dict()
    last = project_progress(sample_workspace, "last").to_dict()
    assert daily["classes"] == last["classes"] and daily["as_of"] == last["as_of"]
    # Snapshots alone do not know the day before the first export, so only the share in the advice differs.
    snapshots = project_progress(sample_workspace, "daily", history="snapshots").to_dict()["classes"]
    assert [{k: v for k, v in c.items() if k != "advice"} for c in snapshots] == \
        [{k: v for k, v in c.items() if k != "advice"} for c in daily["classes"]]


def test_a_past_day_can_be_revisited(sample_workspace):
    monday = project_progress(sample_workspace, "last", as_of=date(2026, 11, 20))
    assert monday.as_of == date(2026, 11, 20)
    assert monday["Wheelchair"].current == 146 and monday["Wheelchair"].rate_per_day == pytest.approx(146 / 5)
    assert monday["Wheelchair"].days_left == 14


def test_status_json_shape(sample_workspace):
    data = project_progress(sample_workspace, "daily").to_dict()
    assert {"project", "as_of", "classes"} <= set(data)
    for row in data["classes"]:
        assert {"class", "target", "current", "remaining", "rate_per_day", "projected_date", "status", "advice"} <= set(row)
        assert row["status"] in ("done", "on_track", "at_risk", "off_track")


# --------------------------------------------------------------------------- rules on tiny projects


@pytest.mark.parametrize("target, status, needed", [
    (40, "done", 0.0),  # 50 made: target met
    (100, "on_track", 10.0),  # 50 to go in 5 days at 10/day: exactly on pace
    (110, "at_risk", 12.0),  # pace 10 / 12 = 0.83
    (200, "off_track", 30.0),  # pace 0.33
])
def test_status_follows_the_pace(target, status, needed):
    c = one(target)
    assert (c.current, c.rate_per_day, c.days_left) == (50, 10, 5)
    assert c.status == status and c.needed_per_day == pytest.approx(needed)


def test_rules_are_configurable():
    assert one(110, rules=StatusRules(on_track=0.8, at_risk=0.5)).status == "on_track"
    assert one(200, rules=StatusRules(on_track=0.8, at_risk=0.3)).status == "at_risk"


def test_projected_date_and_projection():
    c = one(200)  # 150 to go at 10/day: 15 working days after Fri 2026-01-09
    assert c.projected_date == date(2026, 1, 30)
    assert c.projected_at_deadline == 100


def test_done_says_when_and_to_stop():
    c = one(30)
    assert c.status == "done" and c.projected_date == WED  # 10, 20, 30: met on Wednesday
    assert "A met its target (50 of 30 instances, on 2026-01-07) — stop collecting A." == c.advice


def test_a_missed_deadline_is_off_track():
    c = one(100, deadline=THU)
    assert c.days_left == 0 and c.status == "off_track"
    assert c.advice.startswith("A missed its deadline 2026-01-08: 50 instances short")


def test_a_single_snapshot_without_timestamps_has_no_pace():
    export = daily_export({MON: {"A": 30}}, stamped=False)
    data = project_data(export, [QuotaTarget("A", 100, NEXT_FRI)], at=FRI)
    c = progress(data)["A"]
    assert c.status == "unknown" and c.rate_per_day is None and c.projected_date is None
    assert "no pace yet" in c.advice


def test_the_window_averages_over_the_history_it_has():
    c = one(100)
    assert c.rate_days == 5
    data = project_data(steady(), [QuotaTarget("A", 100, NEXT_FRI)])
    assert progress(data, window=2)["A"].rate_per_day == 10 and progress(data, window=2)["A"].rate_days == 2
    assert progress(data, window=20)["A"].rate_days == 5  # the history starts at zero on Monday


def test_units_are_counted_separately():
    export = daily_export({d: {"A": 3} for d in WEEK})  # one image of 3 instances a day
    assert one(10, export=export, unit="images").rate_per_day == 1
    assert one(10, export=export, unit="instances").rate_per_day == 3
    c = one(10, export=export, unit="pixels")
    assert c.status == "unknown" and "no pixel counts" in c.advice


def test_a_class_no_export_has_yet():
    data = project_data(steady(), [QuotaTarget("Zebra", 10, NEXT_FRI)])
    c = progress(data)["Zebra"]
    assert c.status == "unknown" and "no export of this project has it yet" in c.advice


def test_capacity_limited_classes_get_labellers():
    # Two labellers a day; A keeps its share of the output but the target needs twice the pace.
    export = daily_export({d: {"A": 10, "B": 10} for d in WEEK}, annotators=("ana", "ben"))
    c = one(150, export=export)
    assert c.diagnosis == "capacity" and c.status == "off_track"
    # 20/day needed, 10/day made by 2 labellers (5 each): 2 more labellers.
    assert c.labellers_needed == 2
    assert "add 2 labellers (one labels about 5.0 A a day)" in c.advice


def test_supply_limited_classes_are_told_labellers_will_not_help():
    days = [date(2026, 1, 5 + k) for k in range(5)] + [date(2026, 1, 12 + k) for k in range(5)]
    a_per_day = [20, 20, 20, 20, 20, 8, 8, 8, 8, 8]  # A's share falls from 20% to 8% ...
    export = daily_export({d: {"A": a, "B": 100 - a} for d, a in zip(days, a_per_day)})  # ... at a steady 100/day
    c = one(300, deadline=date(2026, 1, 23), export=export)
    assert c.diagnosis == "supply" and c.labellers_needed is None
    assert "fell from 20.0% to 8.0%" in c.advice and "more labellers will not help" in c.advice


def test_advice_names_the_condition_where_the_class_is_densest():
    days = [date(2026, 1, 5) + timedelta(days=k) for k in range(28) if (date(2026, 1, 5) + timedelta(days=k)).weekday() < 5]
    counts = {d: {"A": 8, "B": 1} for d in days}
    # Images alternate night / day in creation order: A's images are the even ones -> night.
    export = daily_export(counts, conditions={"time_of_day": ["night", "day"]})
    c = one(1200, deadline=date(2026, 2, 13), export=export)
    assert "route collection to time_of_day = night scenes (800 per 100 images, against 0 elsewhere)" in c.advice


def test_a_finished_class_hands_its_effort_to_one_behind():
    export = daily_export({d: {"A": 10, "B": 10} for d in WEEK}, annotators=("ana", "ben"))
    data = project_data(export, [QuotaTarget("A", 20, NEXT_FRI), QuotaTarget("B", 150, NEXT_FRI)])
    result = progress(data)
    assert result["A"].advice.endswith("stop collecting A; put its effort on B.")


@pytest.mark.parametrize("kwargs, match", [
    ({"window": 0}, "`window` must be a whole number of working days, at least 1. Got 0"),
    ({"as_of": "2026-01-09"}, "`as_of` must be a date"),
    ({"history": "both"}, "`history` must be one of"),
])
def test_bad_arguments(kwargs, match):
    data = project_data(steady(), [QuotaTarget("A", 100, NEXT_FRI)])
    with pytest.raises(ValueError, match=match):
        progress(data, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"on_track": 0}, "`on_track` must be a positive number"),
    ({"at_risk": 1.2}, "`at_risk` must be at most `on_track`"),
    ({"supply_drop": float("nan")}, "`supply_drop` must be a positive number"),
])
def test_bad_rules(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StatusRules(**kwargs)


# --------------------------------------------------------------------------- burn-up / burn-down


def test_burn_series_lines():
    data = project_data(steady(), [QuotaTarget("A", 100, NEXT_FRI), QuotaTarget("B", 40, NEXT_FRI)])
    table = burn_series(progress(data)).to_pandas()
    a = table[table["class"] == "A"]
    actual = a[a["series"] == "actual"]
    assert list(actual["count"]) == [10, 20, 30, 40, 50] and list(actual["remaining"]) == [90, 80, 70, 60, 50]
    projected = a[a["series"] == "projected"].sort_values("day")
    assert projected["day"].iloc[0] == FRI and projected["count"].iloc[0] == 50
    assert projected["day"].iloc[-1] == NEXT_FRI and projected["count"].iloc[-1] == 100
    needed = a[a["series"] == "needed"].sort_values("day")
    assert needed["count"].iloc[-1] == pytest.approx(100) and needed["day"].iloc[-1] == NEXT_FRI
    b = table[table["class"] == "B"]
    assert set(b["series"]) == {"actual"}  # done: nothing to project
    total = table[(table["class"] == ALL_CLASSES) & (table["series"] == "actual")]
    # B is capped at its target, so A's gap shows: min(10k, 100) + min(10k, 40).
    assert list(total["count"]) == [20, 40, 60, 80, 90] and set(total["target"]) == {140}


def test_no_aggregate_line_when_units_differ():
    data = project_data(steady(), [QuotaTarget("A", 100, NEXT_FRI), QuotaTarget("B", 9, NEXT_FRI, unit="images")])
    assert ALL_CLASSES not in set(burn_series(progress(data)).column("class").to_pylist())
