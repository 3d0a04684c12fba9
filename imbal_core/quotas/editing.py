"""Targets as an editable table (the Quotas page's editor) and back, validated once, row by row."""
from __future__ import annotations

import math
from datetime import date, datetime
from typing import Iterable

import pandas as pd

from .records import UNITS, ProjectData, QuotaTarget

COLUMNS = ["class", "target", "unit", "deadline", "priority", "critical"]


def targets_frame(data: ProjectData, classes: Iterable[str] = ()) -> pd.DataFrame:
    """One row per class: the project's targets first (their order), then every other known class with no target.

    Known classes: those of the project's snapshots and ``classes`` (e.g. the loaded export's).
    Rows without a target have ``target`` empty and the latest deadline pre-filled.
    """
    default_deadline = max((t.deadline for t in data.targets), default=None)
    rows = [{"class": t.category, "target": t.target, "unit": t.unit, "deadline": t.deadline, "priority": t.priority,
             "critical": t.critical} for t in data.targets]
    have = {t.category for t in data.targets}
    known = set(data.totals.column("class").to_pylist()) | set(classes)
    for name in sorted(known - have):
        rows.append({"class": name, "target": None, "unit": "instances", "deadline": default_deadline, "priority": 1,
                     "critical": False})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["target"] = frame["target"].astype("Int64")
    frame["priority"] = frame["priority"].astype("Int64")
    frame["critical"] = frame["critical"].astype(bool)
    return frame


def _blank(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) or \
        (isinstance(value, str) and not value.strip()) or value is pd.NaT


def parse_targets_frame(frame: pd.DataFrame) -> tuple[list[QuotaTarget], list[str]]:
    """The edited table -> (targets to save, classes whose target was cleared).

    A row with an empty or zero target means "no quota for this class". Raises ``ValueError``
    naming the class and the column for anything else that is not usable.
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"The targets table lacks the columns {missing}.")
    targets, cleared = [], []
    seen: set[str] = set()
    for row in frame.to_dict("records"):
        name = row["class"]
        if _blank(name):
            if not _blank(row["target"]):
                raise ValueError("A row has a target but no class name; fill in the class.")
            continue
        name = str(name).strip()
        if name in seen:
            raise ValueError(f"{name!r} appears twice in the targets table; keep one row per class.")
        seen.add(name)
        raw = row["target"]
        if _blank(raw) or (not isinstance(raw, str) and float(raw) == 0):
            cleared.append(name)
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"`target` of {name} must be a whole number. Got {raw!r} instead.") from None
        if not value.is_integer() or value < 1:
            raise ValueError(f"`target` of {name} must be a whole number of at least 1. Got {raw!r} instead.")
        deadline = row["deadline"]
        if _blank(deadline):
            raise ValueError(f"`deadline` of {name} is empty; give the date its target is due.")
        if isinstance(deadline, (pd.Timestamp, datetime)):
            deadline = deadline.date()
        elif isinstance(deadline, str):
            try:
                deadline = date.fromisoformat(deadline.strip())
            except ValueError:
                raise ValueError(f"`deadline` of {name} must be a date like 2026-12-10. Got {deadline!r} instead.") from None
        unit = row["unit"] if not _blank(row["unit"]) else "instances"
        if unit not in UNITS:
            raise ValueError(f"`unit` of {name} must be one of {list(UNITS)}. Got {unit!r} instead.")
        priority = 1 if _blank(row["priority"]) else row["priority"]
        try:
            rank = float(priority)
        except (TypeError, ValueError):
            rank = math.nan
        if not rank.is_integer() or rank < 1:
            raise ValueError(f"`priority` of {name} must be a whole number of at least 1. Got {priority!r} instead.")
        critical = False if _blank(row["critical"]) else bool(row["critical"])
        targets.append(QuotaTarget(name, int(value), deadline, unit, int(rank), critical))
    return targets, cleared
