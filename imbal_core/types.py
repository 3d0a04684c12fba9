"""Names shared across the library, defined once: the task, the counting units, the split names,
the one split check, and the quota statuses with how each is shown.

Depends on nothing else in ``imbal_core`` (every package may import it).
"""
from __future__ import annotations

from enum import StrEnum
from typing import Iterable, Literal, get_args

Task = Literal["classification", "detection", "segmentation"]
TASKS: tuple[Task, ...] = get_args(Task)

#: What a class is counted in: distinct images holding it, its annotations, or the pixels they cover.
Unit = Literal["images", "instances", "pixels"]
UNITS: tuple[Unit, ...] = get_args(Unit)
#: The units a rebalancing plan counts in (sampling repeats images, so pixels cannot be planned).
PlanUnit = Literal["images", "instances"]
PLAN_UNITS: tuple[PlanUnit, ...] = get_args(PlanUnit)

#: Canonical split names in display order; other names an export uses sort after them.
SPLITS = ("train", "val", "test")
#: The split of images an export puts in no split.
UNASSIGNED = "unassigned"
#: The word for "every image" where a split is chosen from a list (pages, ``imbal plan --split all``).
ALL_SPLITS = "all"


def check_split(name: str | None, available: Iterable[str], parameter: str = "split", *,
                allow_all: bool = False) -> str | None:
    """``name`` when it is one of the ``available`` splits; None (every split) for None, and for
    ``"all"`` when ``allow_all`` (False). Anything else raises ``ValueError`` naming ``parameter``
    and the splits there are.
    """
    if name is None or (allow_all and name == ALL_SPLITS):
        return None
    choices = list(available)
    if name not in choices:
        every = f"'{ALL_SPLITS}'" if allow_all else "None"
        raise ValueError(f"`{parameter}` must be one of {choices} or {every}. Got {name!r} instead.")
    return name


class QuotaStatus(StrEnum):
    """Where a quota class stands (:mod:`imbal_core.quotas.progress` says when each applies).

    A member equals its name as text (``QuotaStatus.ON_TRACK == "on_track"``), which is what JSON
    and tables hold. Each carries ``label`` (how it reads: "on track"), ``legend`` (the chart's
    legend entry: the label, and for ``done`` what to do), ``colour`` (hex, for charts), ``badge``
    (the dashboard's Streamlit badge) and ``rank`` (0 is the worst; progress lists the worst first).
    Declared best first, the order of the chart legend.
    """

    label: str
    legend: str
    colour: str
    badge: str
    rank: int

    def __new__(cls, value: str, label: str, colour: str, badge_colour: str, rank: int,
                legend: str | None = None) -> "QuotaStatus":
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.legend = legend or label
        member.colour = colour
        member.badge = f":{badge_colour}-badge[{label}]"
        member.rank = rank
        return member

    DONE = "done", "done", "#1b7837", "green", 4, "done — stop collecting"
    ON_TRACK = "on_track", "on track", "#5aae61", "green", 3
    AT_RISK = "at_risk", "at risk", "#f1a340", "orange", 1
    OFF_TRACK = "off_track", "off track", "#d73027", "red", 0
    UNKNOWN = "unknown", "no pace yet", "#9e9e9e", "gray", 2

    def at_least_as_bad_as(self, other: "QuotaStatus | str") -> bool:
        """This status ranks at or below ``other`` (``at_risk`` is at least as bad as ``at_risk``; ``off_track`` too)."""
        return self.rank <= QuotaStatus(other).rank
