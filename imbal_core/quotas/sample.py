"""The ten-day sample as a ready quota project, so a first look at the Quotas page has something to show.

``street push (sample)``: 600 Wheelchairs and 500 Bicycles by 2026-12-10 (the targets the sample was
planted for, see sample_data/README.md), with the last daily export ingested; its ``annotated_at``
stamps rebuild the nine days before, so the history and forecast equal ingesting the ten files one a day.
"""
from __future__ import annotations

from datetime import date

from ..io import load
from ..samples import SAMPLES
from .records import targets_from_mapping
from .store import Workspace

SAMPLE_PROJECT = "street push (sample)"
SAMPLE_TARGETS = {"Wheelchair": 600, "Bicycle": 500}
SAMPLE_DEADLINE = date(2026, 12, 10)


def add_sample_project(workspace: Workspace, name: str = SAMPLE_PROJECT) -> str:
    """Create (or complete) the sample project in ``workspace`` and return its name.

    Idempotent: an existing project of that name keeps its settings, its targets for the two sample
    classes are set again, and the export is not ingested twice (same content).
    """
    workspace.create_project(name, exist_ok=True)
    workspace.set_targets(name, targets_from_mapping(SAMPLE_TARGETS, SAMPLE_DEADLINE))
    workspace.ingest(name, load(SAMPLES["street_daily"].files()))
    return name
