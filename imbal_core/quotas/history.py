"""Per-class counts day by day, from successive snapshots or rebuilt from one export's timestamps.

Days are UTC calendar days; a day's count is the count as of the end of that day. The series
has one point per working day from the first day with data to ``as_of`` (and ``as_of`` itself
when it is not a working day); work done on a day off shows up on the next working day.

Three ways to get the counts (``mode``):

``"snapshots"``
    Each day takes the totals of the latest snapshot taken on or before it.
``"timestamps"``
    Everything comes from the latest snapshot with ``annotated_at``: a day's count is the number
    of its annotations stamped on or before that day (images count on the day of their class's
    first annotation). Annotations without a stamp count from the snapshot's own day, so the
    series ends exactly at the snapshot's totals.
``"auto"`` (the default)
    A day with a snapshot takes that snapshot's totals; a day without one is filled from the
    timestamps of the next snapshot when it has them (it knows what existed then), else carried
    over from the previous snapshot. Ten daily exports and the last of them alone give the same
    series.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Literal, get_args

import numpy as np
import pandas as pd
import pyarrow as pa

from .records import UNITS, ProjectData

HistoryMode = Literal["auto", "snapshots", "timestamps"]
HISTORY_MODES: tuple[HistoryMode, ...] = get_args(HistoryMode)

HISTORY_SCHEMA = pa.schema([
    pa.field("day", pa.date32()), pa.field("class", pa.string()), pa.field("images", pa.float64()),
    pa.field("instances", pa.float64()), pa.field("pixels", pa.float64()), pa.field("source", pa.string()),
])


@dataclass(frozen=True, eq=False)
class History:
    """Cumulative counts per working day and class (see the module docstring)."""

    #: ``day``, ``class``, ``images``, ``instances``, ``pixels`` (cumulative; pixels NaN for box-only
    #: data), ``source`` (``snapshot``, ``timestamps`` or ``carried``).
    table: pa.Table
    #: Whether the count before the first day is known to be zero (the first data came with timestamps).
    starts_at_zero: bool
    mode: HistoryMode
    as_of: date | None

    def series(self, category: str, unit: str) -> pd.Series:
        """The cumulative counts of one class in one unit, indexed by day (empty when the class is unknown)."""
        wide = self.wide(unit)
        if category not in wide.columns:
            return pd.Series(dtype=float)
        return wide[category]

    def wide(self, unit: str) -> pd.DataFrame:
        """One column per class, one row per day, in ``unit`` (computed once per unit)."""
        cache = self._wide
        if unit not in cache:
            frame = self.frame()
            cache[unit] = frame.pivot(index="day", columns="class", values=unit) if len(frame) else pd.DataFrame()
        return cache[unit]

    def team(self, unit: str) -> pd.Series:
        """All classes together, per day."""
        return self.wide(unit).sum(axis=1, min_count=1) if len(self.table) else pd.Series(dtype=float)

    @cached_property
    def _wide(self) -> dict[str, pd.DataFrame]:
        return {}

    def frame(self) -> pd.DataFrame:
        return self._frame

    @cached_property
    def _frame(self) -> pd.DataFrame:
        return self.table.to_pandas()

    @property
    def categories(self) -> list[str]:
        return sorted(set(self.table.column("class").to_pylist()))

    @property
    def days(self) -> list[date]:
        return sorted(set(self.table.column("day").to_pylist()))


def working_days(start: date, end: date, workdays: str) -> list[date]:
    """Working days from ``start`` to ``end`` inclusive (``workdays``: NumPy weekmask, Monday first)."""
    if end < start:
        return []
    days = np.arange(np.datetime64(start), np.datetime64(end) + 1, dtype="datetime64[D]")
    mask = np.is_busday(days, weekmask=workdays)
    return [d.astype(object) for d in days[mask]]


def busday_count(start: date, end: date, workdays: str) -> int:
    """Working days in [start, end) (0 when end <= start)."""
    return max(0, int(np.busday_count(np.datetime64(start), np.datetime64(end), weekmask=workdays)))


def shift_workdays(day: date, n: int, workdays: str) -> date:
    """The n-th working day after ``day`` (n > 0) or before it (n < 0); a day off first rolls back to a working day."""
    return np.busday_offset(np.datetime64(day), n, roll="backward", weekmask=workdays).astype(object)


def last_workday(day: date, workdays: str) -> date:
    """``day`` when it is a working day, else the working day before it."""
    return shift_workdays(day, 0, workdays)


def build_history(data: ProjectData, mode: HistoryMode = "auto", as_of: date | None = None) -> History:
    """The project's per-class cumulative counts up to ``as_of`` (default: the latest snapshot's day).

    Counts after ``as_of`` are never used; the timestamps of an export taken later may still
    say what existed by then (the last export alone rebuilds any earlier day).
    """
    if mode not in HISTORY_MODES:
        raise ValueError(f"`history` must be one of {list(HISTORY_MODES)}. Got {mode!r} instead.")
    snaps = list(data.snapshots)
    if not snaps:
        return History(HISTORY_SCHEMA.empty_table(), False, mode, as_of)
    as_of = as_of or snaps[-1].day
    workdays = data.project.workdays
    counts = _Counts(data)
    last_of_day: dict[date, int] = {}
    for snap in snaps:  # the last snapshot of each day
        last_of_day[snap.day] = snap.snapshot_id
    stamped = {snap.snapshot_id: snap for snap in snaps if snap.has_timestamps}
    if mode == "timestamps":
        if not stamped:
            raise ValueError("`history='timestamps'` needs a snapshot whose export has `annotated_at` timestamps; "
                             "this project has none. Use history='snapshots'.")
        # The latest export with timestamps up to ``as_of``; else the first one after it (it looks back).
        upto = [sid for sid in stamped if stamped[sid].day <= as_of]
        source_sid = max(upto, key=lambda sid: (stamped[sid].taken_at, sid)) if upto else \
            min(stamped, key=lambda sid: (stamped[sid].taken_at, sid))
        first_day = counts.first_stamped_day(source_sid) or stamped[source_sid].day
        starts_at_zero = True
    else:
        first_snap = snaps[0]
        stamped_first = mode == "auto" and first_snap.has_timestamps
        first_day = (counts.first_stamped_day(first_snap.snapshot_id) if stamped_first else None) or first_snap.day
        first_day = min(first_day, first_snap.day)
        starts_at_zero = stamped_first
    days = working_days(first_day, as_of, workdays)
    if not days or days[-1] != as_of:
        days.append(as_of)
    snap_days = sorted(last_of_day)
    rows: list[np.ndarray] = []  # per output day: (units, classes)
    kept_days: list[date] = []
    sources: list[str] = []
    for day in days:
        if mode == "timestamps":
            values, source = counts.by_stamps(source_sid, stamped[source_sid].day, day), "timestamps"
        else:
            k = bisect_right(snap_days, day)
            before = snap_days[k - 1] if k else None
            after = snap_days[k] if k < len(snap_days) else None
            if before == day:
                values, source = counts.totals(last_of_day[day]), "snapshot"
            elif mode == "auto" and after is not None and last_of_day[after] in stamped:
                sid = last_of_day[after]
                values, source = counts.by_stamps(sid, stamped[sid].day, day), "timestamps"
            elif before is not None:
                values, source = counts.totals(last_of_day[before]), "carried"
            else:
                continue
        rows.append(values)
        kept_days.append(day)
        sources.append(source)
    if not rows:
        return History(HISTORY_SCHEMA.empty_table(), starts_at_zero, mode, as_of)
    cube = np.stack(rows)  # days x units x classes
    n_days, n_classes = len(kept_days), len(counts.categories)
    table = pa.table({
        "day": pa.array(np.repeat(np.array(kept_days, dtype="datetime64[D]"), n_classes), pa.date32()),
        "class": pa.array(counts.categories * n_days, pa.string()),
        **{unit: pa.array(cube[:, u, :].reshape(-1), pa.float64()) for u, unit in enumerate(UNITS)},
        "source": pa.array(np.repeat(np.array(sources, dtype=object), n_classes), pa.string()),
    })
    return History(table, starts_at_zero, mode, as_of)


class _Counts:
    """A project's snapshot totals and timestamp histories as arrays (units x classes), for fast lookups."""

    def __init__(self, data: ProjectData) -> None:
        totals = data.totals.to_pandas()
        self.categories: list[str] = sorted(set(totals["class"]))
        index = {c: k for k, c in enumerate(self.categories)}
        self._totals: dict[int, np.ndarray] = {}
        for sid, group in totals.groupby("snapshot_id"):
            values = np.full((len(UNITS), len(self.categories)), np.nan)
            cols = group["class"].map(index).to_numpy()
            for u, unit in enumerate(UNITS):
                values[u, cols] = group[unit].to_numpy(dtype=float)
            values[:2] = np.nan_to_num(values[:2])  # images and instances: absent means 0
            self._totals[int(sid)] = values
        self._daily = data.daily.to_pandas()
        self._stamps: dict[int, tuple[list[date], np.ndarray]] = {}
        self._index = index

    def totals(self, sid: int) -> np.ndarray:
        return self._totals[sid]

    def first_stamped_day(self, sid: int) -> date | None:
        days = self._daily.loc[(self._daily["snapshot_id"] == sid) & self._daily["day"].notna(), "day"]
        return min(days) if len(days) else None

    def by_stamps(self, sid: int, snapshot_day: date, day: date) -> np.ndarray:
        """Counts on ``day`` by the timestamps of snapshot ``sid`` (unstamped rows count from its own day)."""
        if day >= snapshot_day:
            return self._totals[sid]
        if sid not in self._stamps:
            rows = self._daily[(self._daily["snapshot_id"] == sid) & self._daily["day"].notna()]
            days = sorted(set(rows["day"]))
            at = {d: k for k, d in enumerate(days)}
            grid = np.zeros((len(days), len(UNITS), len(self.categories)))
            seen = np.zeros((len(days), len(self.categories)), dtype=bool)  # pixels: null until one is counted
            d_idx = rows["day"].map(at).to_numpy()
            c_idx = rows["class"].map(self._index).to_numpy()
            for u, unit in enumerate(UNITS):
                np.add.at(grid[:, u, :], (d_idx, c_idx), np.nan_to_num(rows[unit].to_numpy(dtype=float)))
            np.logical_or.at(seen, (d_idx, c_idx), rows["pixels"].notna().to_numpy())
            grid = np.cumsum(grid, axis=0)
            grid[:, 2, :] = np.where(np.cumsum(seen, axis=0) > 0, grid[:, 2, :], np.nan)
            self._stamps[sid] = (days, grid)
        days, grid = self._stamps[sid]
        k = bisect_right(days, day)
        if k == 0:
            out = np.zeros((len(UNITS), len(self.categories)))
            out[2] = np.nan
            return out
        return grid[k - 1]
