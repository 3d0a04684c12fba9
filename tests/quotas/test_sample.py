"""The ten-day sample as a ready project: the same forecast as ingesting the ten days, and idempotent."""
from __future__ import annotations

from imbal_core.quotas.progress import progress
from imbal_core.quotas.sample import SAMPLE_PROJECT, add_sample_project


def test_the_sample_project_forecasts_like_the_ten_days_ingested_one_a_day(workspace, sample_workspace):
    assert add_sample_project(workspace) == SAMPLE_PROJECT
    mine, daily = progress(workspace.load(SAMPLE_PROJECT)), progress(sample_workspace.load("daily"))
    assert mine.as_of == daily.as_of
    assert [c.category for c in mine.classes] == [c.category for c in daily.classes]
    fields = ("current", "target", "rate_per_day", "needed_per_day", "projected_date", "status")
    for name in ("Wheelchair", "Bicycle"):
        assert [getattr(mine[name], f) for f in fields] == [getattr(daily[name], f) for f in fields], name
    assert (mine["Wheelchair"].status, mine["Bicycle"].status) == ("off_track", "on_track")


def test_adding_it_again_changes_nothing(workspace):
    add_sample_project(workspace)
    before = (workspace.targets(SAMPLE_PROJECT), workspace.snapshots(SAMPLE_PROJECT))
    add_sample_project(workspace)
    assert (workspace.targets(SAMPLE_PROJECT), workspace.snapshots(SAMPLE_PROJECT)) == before
    assert len(before[1]) == 1 and [p.name for p in workspace.projects()] == [SAMPLE_PROJECT]
