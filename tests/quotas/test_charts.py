"""Quota charts: checked on their data, without a browser."""
from __future__ import annotations

from datetime import date

import pytest

from imbal_core.charts.quotas import burn_chart, progress_bars
from imbal_core.quotas import QuotaTarget
from imbal_core.quotas.burn import burn_series
from imbal_core.quotas.progress import ALL_CLASSES, progress
from imbal_core.quotas.store import project_data
from imbal_core.types import QuotaStatus

from .conftest import daily_export

WEEK = [date(2026, 1, d) for d in (5, 6, 7, 8, 9)]
DEADLINE = date(2026, 1, 16)


@pytest.fixture(scope="module")
def result():
    export = daily_export({d: {"A": 10, "B": 10, "C": 1} for d in WEEK})
    targets = [QuotaTarget("A", 100, DEADLINE), QuotaTarget("B", 40, DEADLINE), QuotaTarget("C", 100, DEADLINE)]
    return progress(project_data(export, targets))


def test_progress_bars_are_coloured_by_status_and_stop_at_100(result):
    fig = progress_bars(result)
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"done — stop collecting", "on track", "off track"}
    done = by_name["done — stop collecting"]
    assert list(done.y) == ["B"] and list(done.x) == [100.0] and done.marker.color == QuotaStatus.DONE.colour == "#1b7837"
    assert "50 / 40 instances (125%)" in done.text[0]
    assert list(by_name["off track"].y) == ["C"] and list(by_name["off track"].x) == [5.0]
    assert list(fig.layout.yaxis.categoryarray)[-1] == "C"  # worst on top


@pytest.mark.parametrize("mode, first_actual, target_trace", [("up", 10, True), ("down", 90, False)])
def test_burn_chart(result, mode, first_actual, target_trace):
    fig = burn_chart(burn_series(result), "A", mode)
    names = [t.name for t in fig.data]
    assert names[:3] == ["actual", "projected at the current pace", "pace needed"]
    assert fig.data[0].y[0] == first_actual and len(fig.data[0].x) == 5
    assert ("target 100" in names) is target_trace
    assert names[-1] == "deadline 2026-01-16" and list(fig.data[-1].x) == [DEADLINE, DEADLINE]


def test_burn_chart_of_all_classes_and_errors(result):
    fig = burn_chart(burn_series(result), ALL_CLASSES)
    assert fig.data[0].y[-1] == 50 + 40 + 5  # B capped at its target
    with pytest.raises(ValueError, match="`category` 'Zebra' has no burn series"):
        burn_chart(burn_series(result), "Zebra")
    with pytest.raises(ValueError, match="`mode` must be 'up' or 'down'"):
        burn_chart(burn_series(result), "A", "sideways")
