"""Quota fixtures: tiny hand-built daily exports and the ten-day street sample in a temporary workspace."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping, Sequence

import pytest

import imbal_core
from imbal_core.dataset import Dataset, build_dataset
from imbal_core.quotas import Workspace, targets_from_mapping

ROOT = Path(__file__).resolve().parents[2]
DAILY = ROOT / "sample_data" / "street_daily"
#: The sample's working days: Mon 2026-11-16 .. Fri 2026-11-27, weekend skipped.
SAMPLE_DAYS = [date(2026, 11, 16) + timedelta(days=k) for k in range(12)
               if (date(2026, 11, 16) + timedelta(days=k)).weekday() < 5]


def daily_export(days: Mapping[date, Mapping[str, int]], classes: Sequence[str] = ("A", "B", "C"),
                 annotators: Sequence[str] = ("ana",), stamped: bool = True, unstamped: Mapping[str, int] | None = None,
                 conditions: Mapping[str, Sequence[str]] | None = None) -> Dataset:
    """An export holding, for each day, the given number of instances per class (one image per day and class).

    Annotations are stamped at noon UTC of their day (``stamped``), made by ``annotators`` in turn;
    ``unstamped`` adds annotations without a time. ``conditions``: per condition, the value of the
    image of each day and class in turn.
    """
    images = {"file_name": [], "split": [], "annotated_at": [], "annotator": []}
    cond_values = {name: [] for name in (conditions or {})}
    anns = {"image": [], "category": [], "annotated_at": [], "annotator": []}
    k = 0
    items = [(day, counts) for day, counts in sorted(days.items())] + ([(None, unstamped)] if unstamped else [])
    for day, counts in items:
        for name, n in counts.items():
            if n <= 0:
                continue
            when = datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc) if day and stamped else None
            who = annotators[k % len(annotators)]
            image = len(images["file_name"])
            images["file_name"].append(f"img_{image:04d}.jpg")
            images["split"].append(["train", "val"][image % 2])
            images["annotated_at"].append(when)
            images["annotator"].append(who)
            for cond, values in (conditions or {}).items():
                cond_values[cond].append(values[image % len(values)])
            for _ in range(n):
                anns["image"].append(image)
                anns["category"].append(list(classes).index(name))
                anns["annotated_at"].append(when)
                anns["annotator"].append(who)
            k += 1
    return build_dataset(images={**images, **cond_values}, annotations=anns, categories={"name": list(classes)},
                         task="detection", format="test", sources=["daily.json"], conditions=tuple(cond_values))


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    return Workspace(tmp_path / "ws.duckdb")


@pytest.fixture(scope="session")
def sample_exports() -> list[Dataset]:
    return [imbal_core.load(DAILY / f"day{k:02d}.json") for k in range(1, 11)]


@pytest.fixture(scope="session")
def sample_workspace(tmp_path_factory, sample_exports) -> Workspace:
    """Two projects: "daily" (day01..day10, each ingested with --at its day) and "last" (day10 alone)."""
    ws = Workspace(tmp_path_factory.mktemp("quota") / "sample.duckdb")
    for name in ("daily", "last"):
        ws.create_project(name)
        ws.set_targets(name, targets_from_mapping({"Bicycle": 500, "Wheelchair": 600},
                                                  date(2026, 12, 10)))
    for day, export in zip(SAMPLE_DAYS, sample_exports):
        ws.ingest("daily", export, at=day)
    ws.ingest("last", sample_exports[-1])
    return ws
