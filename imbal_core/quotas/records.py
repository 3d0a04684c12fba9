"""The quota workspace's records: projects, per-class targets, snapshots (frozen, validated on creation)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Mapping

import pyarrow as pa

from ..types import UNITS, Unit

#: Mon-Fri are working days; one character per weekday, Monday first (NumPy's busday weekmask).
DEFAULT_WORKDAYS = "1111100"
DEFAULT_WINDOW = 5


class WorkspaceError(ValueError):
    """The workspace file cannot be used (busy, not a workspace, newer schema); the message says which and why."""


@dataclass(frozen=True)
class Project:
    name: str
    #: Working days over which the daily rate is averaged (``window_days`` (5)).
    window_days: int = DEFAULT_WINDOW
    #: Working days as NumPy's weekmask: ``"1111100"`` is Monday to Friday.
    workdays: str = DEFAULT_WORKDAYS
    created_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "window_days": self.window_days, "workdays": self.workdays,
                "created_at": self.created_at.isoformat() if self.created_at else None}


@dataclass(frozen=True)
class QuotaTarget:
    """One class's quota: ``target`` units of ``unit`` by ``deadline``.

    ``priority`` (1): lower comes first when capacity is short. ``critical`` (False): a rare class
    the playbook front-loads and the active-learning selection favours.
    """

    category: str
    target: int
    deadline: date
    unit: Unit = "instances"
    priority: int = 1
    critical: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.category, str) or not self.category.strip():
            raise ValueError(f"`category` must be a class name. Got {self.category!r} instead.")
        if isinstance(self.target, bool) or not isinstance(self.target, int) or self.target < 1:
            raise ValueError(f"`target` of {self.category} must be a whole number of at least 1. Got {self.target!r} instead.")
        if self.unit not in UNITS:
            raise ValueError(f"`unit` of {self.category} must be one of {list(UNITS)}. Got {self.unit!r} instead.")
        if not isinstance(self.deadline, date) or isinstance(self.deadline, datetime):
            raise ValueError(f"`deadline` of {self.category} must be a date. Got {self.deadline!r} instead.")
        if isinstance(self.priority, bool) or not isinstance(self.priority, int) or self.priority < 1:
            raise ValueError(f"`priority` of {self.category} must be a whole number of at least 1. Got {self.priority!r} instead.")

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.category, "target": self.target, "unit": self.unit,
                "deadline": self.deadline.isoformat(), "priority": self.priority, "critical": self.critical}


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: int
    project: str
    content_hash: str
    #: The moment the export stands for (UTC, naive): ``--at``, else its latest ``annotated_at``.
    taken_at: datetime
    source: str
    images: int
    annotations: int
    #: Whether the export carried ``annotated_at`` on its annotations (history can be rebuilt from it).
    has_timestamps: bool = False

    @property
    def day(self) -> date:
        return self.taken_at.date()

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot_id": self.snapshot_id, "project": self.project, "content_hash": self.content_hash,
                "taken_at": self.taken_at.isoformat(), "day": self.day.isoformat(), "source": self.source,
                "images": self.images, "annotations": self.annotations, "has_timestamps": self.has_timestamps}


@dataclass(frozen=True)
class IngestResult:
    snapshot: Snapshot
    #: False when the project already had an export with this content (nothing was written).
    created: bool


@dataclass(frozen=True, eq=False)
class ProjectData:
    """Everything progress needs from one project, read in one go (:meth:`Workspace.load`)."""

    project: Project
    targets: tuple[QuotaTarget, ...]
    #: In the order of the time they stand for.
    snapshots: tuple[Snapshot, ...]
    #: ``snapshot_id``, ``class``, ``images``, ``instances``, ``pixels``: each snapshot's totals over splits.
    totals: pa.Table
    #: ``snapshot_id``, ``day`` (null: no ``annotated_at``), ``class``, ``images``, ``instances``, ``pixels``:
    #: what each snapshot's export says was made on each day, summed over annotators.
    daily: pa.Table
    #: ``day``, ``labellers``: distinct annotators per day, from the latest snapshot with timestamps.
    labellers: pa.Table
    #: ``snapshot_id``, ``class``, ``split``, ``images``, ``instances``, ``pixels`` of every snapshot.
    splits: pa.Table
    #: ``snapshot_id``, ``condition``, ``value``, ``class`` (null: all images of that value), ``images``,
    #: ``instances`` of every snapshot.
    conditions: pa.Table

    @property
    def latest(self) -> Snapshot | None:
        return self.snapshots[-1] if self.snapshots else None

    def latest_on(self, day: date | None) -> Snapshot | None:
        """The latest snapshot taken on or before ``day`` (None: the latest of all)."""
        eligible = [s for s in self.snapshots if day is None or s.day <= day]
        return eligible[-1] if eligible else None

    def of_snapshot(self, table: pa.Table, snapshot: Snapshot | None) -> pa.Table:
        """The rows of ``table`` (``splits`` or ``conditions``) that belong to ``snapshot``, without its id."""
        import pyarrow.compute as pc

        sid = snapshot.snapshot_id if snapshot else -1
        return table.filter(pc.equal(table.column("snapshot_id"), sid)).drop_columns(["snapshot_id"])

    def target(self, category: str) -> QuotaTarget | None:
        return next((t for t in self.targets if t.category == category), None)


def targets_from_mapping(mapping: Mapping[str, int], deadline: date, unit: Unit = "instances",
                         critical: Iterable[str] = (), priority: Mapping[str, int] | None = None) -> list[QuotaTarget]:
    """``{"Wheelchair": 600, "Bicycle": 500}`` and one deadline -> targets (validated)."""
    critical = set(critical)
    priority = dict(priority or {})
    return [QuotaTarget(name, value, deadline, unit, priority.get(name, 1), name in critical)
            for name, value in mapping.items()]
