"""Quota progress per class: where each class stands, its pace, a forecast, a status and advice.

For each class with a target, as of a day (``as_of``: the latest snapshot's day unless given —
never the wall clock):

- ``current``: its count in the target's unit; ``remaining`` = max(target - current, 0);
  ``percent`` = current / target x 100.
- ``rate_per_day``: the average daily increase over the last ``window`` working days
  (default: the project's, 5). When the history is shorter, over the days it has; with a single
  day and no timestamps there is no rate (None).
- ``days_left``: working days after ``as_of`` up to and including the deadline.
- ``needed_per_day`` = remaining / days_left; ``pace`` = rate_per_day / needed_per_day.
- ``projected_at_deadline`` = current + rate_per_day x days_left; ``projected_date``: the working
  day the target is reached at the current rate (for a class already done: the day it got there).
- ``status`` (:class:`StatusRules`, configurable): ``done`` when current >= target (stop
  collecting); ``on_track`` when pace >= ``on_track`` (1.0); ``at_risk`` when pace >= ``at_risk``
  (0.8); ``off_track`` below that, when nothing was added in the window, or when the deadline has
  passed; ``unknown`` when there is no rate yet.
- ``diagnosis`` for classes behind: ``supply`` when the class's share of the team's output over the
  window fell below ``supply_drop`` (0.8) x its share over the window before while the team's
  output did not fall (the frames that show it are running out: more labellers will not help),
  else ``capacity`` (more labelling time will help; the advice says how many labellers).
- ``advice``: one sentence with its numbers.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import pyarrow as pa

from ..types import QuotaStatus
from .history import History, HistoryMode, build_history, busday_count, last_workday, shift_workdays, working_days
from .records import ProjectData, QuotaTarget

if TYPE_CHECKING:
    from .store import Workspace

#: The former names of :class:`imbal_core.types.QuotaStatus` and its members.
Status = QuotaStatus
STATUSES: tuple[QuotaStatus, ...] = tuple(QuotaStatus)
Diagnosis = Literal["supply", "capacity"]
ALL_CLASSES = "All quota classes"
DAY = timedelta(days=1)
#: Condition values with fewer images are not named in sourcing advice.
MIN_CONDITION_IMAGES = 20


@dataclass(frozen=True)
class StatusRules:
    """The thresholds behind ``status`` and ``diagnosis`` (see the module docstring).

    ``on_track`` (1.0): pace (rate / needed rate) at or above this is on track. ``at_risk`` (0.8): at
    or above this (and below ``on_track``) is at risk; below is off track. ``supply_drop`` (0.8): a
    class whose share of the team's output fell below this fraction of its earlier share is
    supply-limited.
    """

    on_track: float = 1.0
    at_risk: float = 0.8
    supply_drop: float = 0.8

    def __post_init__(self) -> None:
        for name in ("on_track", "at_risk", "supply_drop"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"`{name}` must be a positive number. Got {value!r} instead.")
        if self.at_risk > self.on_track:
            raise ValueError(f"`at_risk` must be at most `on_track` ({self.on_track}). Got {self.at_risk} instead.")

    def status(self, pace: float) -> QuotaStatus:
        if pace >= self.on_track:
            return QuotaStatus.ON_TRACK
        return QuotaStatus.AT_RISK if pace >= self.at_risk else QuotaStatus.OFF_TRACK


@dataclass(frozen=True)
class ClassProgress:
    """One quota class as of a day (fields: see the module docstring)."""

    category: str
    unit: str
    target: int
    deadline: date
    priority: int
    critical: bool
    current: float
    remaining: float
    percent: float
    rate_per_day: float | None
    #: Working days the rate was averaged over (shorter than the window when the history is).
    rate_days: int
    days_left: int
    needed_per_day: float | None
    projected_at_deadline: float | None
    projected_date: date | None
    #: A :class:`~imbal_core.types.QuotaStatus`; its name as text is accepted and turned into one.
    status: QuotaStatus
    diagnosis: Diagnosis | None
    #: Extra labellers that would close the gap (capacity-limited classes with annotator data), else None.
    labellers_needed: int | None
    advice: str

    def __post_init__(self) -> None:
        if self.status not in set(QuotaStatus):
            raise ValueError(f"`status` must be one of {[s.value for s in QuotaStatus]}. Got {self.status!r} instead.")
        object.__setattr__(self, "status", QuotaStatus(self.status))

    @property
    def pace(self) -> float | None:
        if self.rate_per_day is None or not self.needed_per_day:
            return None
        return self.rate_per_day / self.needed_per_day

    def to_dict(self) -> dict[str, Any]:
        return {
            "class": self.category, "unit": self.unit, "target": self.target, "current": _count(self.current),
            "remaining": _count(self.remaining), "percent": round(self.percent, 1),
            "rate_per_day": None if self.rate_per_day is None else round(self.rate_per_day, 2),
            "rate_days": self.rate_days, "needed_per_day": None if self.needed_per_day is None else round(self.needed_per_day, 2),
            "days_left": self.days_left, "deadline": self.deadline.isoformat(),
            "projected_at_deadline": None if self.projected_at_deadline is None else round(self.projected_at_deadline),
            "projected_date": self.projected_date.isoformat() if self.projected_date else None,
            "status": self.status.value, "diagnosis": self.diagnosis, "labellers_needed": self.labellers_needed,
            "priority": self.priority, "critical": self.critical, "advice": self.advice,
        }


def _count(value: float) -> int | float:
    """A count for JSON: whole as an int, else to one decimal."""
    return int(value) if float(value).is_integer() else round(float(value), 1)


@dataclass(frozen=True, eq=False)
class QuotaProgress:
    """Progress of every quota class of a project as of a day, with the history it was computed from."""

    project: str
    as_of: date | None
    window: int
    workdays: str
    classes: tuple[ClassProgress, ...]
    history: History
    #: Average distinct annotators per working day over the window (None without annotator data).
    labellers_per_day: float | None
    rules: StatusRules = field(default_factory=StatusRules)

    def __getitem__(self, category: str) -> ClassProgress:
        for c in self.classes:
            if c.category == category:
                return c
        raise KeyError(f"{category!r} has no quota in project {self.project!r}; quota classes: "
                       f"{[c.category for c in self.classes]}")

    @property
    def advice(self) -> list[str]:
        return [c.advice for c in self.classes]

    @property
    def status_counts(self) -> dict[QuotaStatus, int]:
        """How many quota classes stand in each status (every status, 0 where none)."""
        return {s: sum(1 for c in self.classes if c.status == s) for s in QuotaStatus}

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``imbal quota status --json``."""
        return {
            "project": self.project, "as_of": self.as_of.isoformat() if self.as_of else None,
            "window_days": self.window, "history": self.history.mode,
            "labellers_per_day": None if self.labellers_per_day is None else round(self.labellers_per_day, 2),
            "classes": [c.to_dict() for c in self.classes],
        }

    def to_arrow(self) -> pa.Table:
        rows = [c.to_dict() for c in self.classes]
        if not rows:
            return pa.table({"class": pa.array([], pa.string())})
        return pa.Table.from_pylist(rows)

    def to_pandas(self) -> pd.DataFrame:
        return self.to_arrow().to_pandas()


# --------------------------------------------------------------------------- computing


def project_progress(workspace: "Workspace", project: str, *, as_of: date | None = None, window: int | None = None,
                     history: HistoryMode = "auto", rules: StatusRules | None = None) -> QuotaProgress:
    """:func:`progress` of a project read from a workspace."""
    return progress(workspace.load(project), as_of=as_of, window=window, history=history, rules=rules)


def progress(data: ProjectData, *, as_of: date | None = None, window: int | None = None,
             history: HistoryMode = "auto", rules: StatusRules | None = None) -> QuotaProgress:
    """Per-class progress, forecast, status and advice (see the module docstring).

    ``as_of`` (None): the day to stand on; None means the latest snapshot's day. ``window`` (None:
    the project's, 5): working days the rate averages over. ``history`` ("auto"): how the daily
    counts are obtained (:mod:`.history`). ``rules``: the status thresholds.
    """
    rules = rules or StatusRules()
    window = data.project.window_days if window is None else window
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"`window` must be a whole number of working days, at least 1. Got {window!r} instead.")
    if as_of is not None and not isinstance(as_of, date):
        raise ValueError(f"`as_of` must be a date. Got {as_of!r} instead.")
    hist = build_history(data, history, as_of)
    as_of = hist.as_of
    workdays = data.project.workdays
    labellers = _labellers_per_day(data, as_of, window, workdays)
    conditions = data.of_snapshot(data.conditions, data.latest_on(as_of))
    classes = _rank(tuple(
        _class_progress(t, hist, as_of, window, workdays, rules, labellers, conditions) for t in data.targets
    ))
    behind = [c.category for c in classes if c.diagnosis == "capacity"]
    if behind:  # a finished class frees effort: say where it should go
        classes = tuple(replace(c, advice=c.advice[:-1] + f"; put its effort on {behind[0]}.") if c.status == QuotaStatus.DONE
                        else c for c in classes)
    return QuotaProgress(data.project.name, as_of, window, workdays, classes, hist, labellers, rules)


def _rank(classes: tuple[ClassProgress, ...]) -> tuple[ClassProgress, ...]:
    """Worst first: status (:attr:`QuotaStatus.rank`), then critical, then priority, then pace (slowest first),
    then name."""
    return tuple(sorted(classes, key=lambda c: (c.status.rank, not c.critical, c.priority,
                                                c.pace if c.pace is not None else math.inf, c.category)))


def _value_on(series: pd.Series, day: date) -> float | None:
    """The count as of the end of ``day``: the latest point on or before it (the index is sorted by day)."""
    k = bisect_right(list(series.index), day)
    return float(series.iloc[k - 1]) if k else None


def _windowed_rate(series: pd.Series, as_of: date, window: int, workdays: str,
                   starts_at_zero: bool) -> tuple[float | None, int, date | None]:
    """(rate per working day, working days averaged over, baseline day) over the last ``window`` days."""
    current = _value_on(series, as_of)
    if current is None:
        return None, 0, None
    baseline_day = shift_workdays(last_workday(as_of, workdays), -window, workdays)
    base = _value_on(series, baseline_day)
    if base is None:
        first = min(series.index)
        if starts_at_zero:
            base, baseline_day = 0.0, shift_workdays(first, -1, workdays)
        else:
            base, baseline_day = float(series[first]), first
    span = busday_count(baseline_day + DAY, as_of + DAY, workdays)
    if span <= 0:
        return None, 0, None
    return (current - base) / span, span, baseline_day


def _labellers_per_day(data: ProjectData, as_of: date | None, window: int, workdays: str) -> float | None:
    if as_of is None or data.labellers.num_rows == 0:
        return None
    df = data.labellers.to_pandas()
    start = shift_workdays(last_workday(as_of, workdays), -window, workdays)
    recent = df[(df["day"] > start) & (df["day"] <= as_of)]
    if recent.empty:
        return None
    return float(recent["labellers"].sum()) / max(1, len(working_days(start + DAY, as_of, workdays)))


def _class_progress(target: QuotaTarget, hist: History, as_of: date | None, window: int, workdays: str,
                    rules: StatusRules, labellers: float | None, conditions: pa.Table) -> ClassProgress:
    name, unit = target.category, target.unit
    series = hist.series(name, unit).dropna() if as_of is not None else pd.Series(dtype=float)
    base = dict(category=name, unit=unit, target=target.target, deadline=target.deadline, priority=target.priority,
                critical=target.critical)
    days_left = busday_count(as_of + DAY, target.deadline + DAY, workdays) if as_of else 0
    if series.empty:
        why = ("the exports carry no pixel counts (box-only data); set the target in instances or images"
               if unit == "pixels" and name in hist.categories else
               "no export of this project has it yet" if as_of is not None else "nothing has been ingested yet")
        return ClassProgress(**base, current=0.0, remaining=float(target.target), percent=0.0, rate_per_day=None,
                             rate_days=0, days_left=days_left, needed_per_day=None, projected_at_deadline=None,
                             projected_date=None, status=QuotaStatus.UNKNOWN, diagnosis=None, labellers_needed=None,
                             advice=f"{name}: no count yet — {why}.")
    current = float(_value_on(series, as_of))
    remaining = max(target.target - current, 0.0)
    percent = 100.0 * current / target.target
    rate, span, baseline_day = _windowed_rate(series, as_of, window, workdays, hist.starts_at_zero)
    needed = remaining / days_left if days_left > 0 else None
    projected_at_deadline = current + rate * days_left if rate is not None else None
    if remaining <= 0:
        met = next((d for d in series.index if series[d] >= target.target), as_of)
        return ClassProgress(**base, current=current, remaining=0.0, percent=percent, rate_per_day=rate, rate_days=span,
                             days_left=days_left, needed_per_day=0.0, projected_at_deadline=projected_at_deadline,
                             projected_date=met, status=QuotaStatus.DONE, diagnosis=None, labellers_needed=None,
                             advice=(f"{name} met its target ({_fmt(current)} of {target.target:,} {unit}, on "
                                     f"{met.isoformat()}) — stop collecting {name}."))
    projected_date = shift_workdays(as_of, math.ceil(remaining / rate - 1e-9), workdays) if rate and rate > 0 else None
    if days_left == 0:
        status = QuotaStatus.OFF_TRACK
    elif rate is None:
        status = QuotaStatus.UNKNOWN
    else:
        status = rules.status(rate / needed) if rate > 0 else QuotaStatus.OFF_TRACK
    diagnosis, extra, share = None, None, None
    if status in (QuotaStatus.AT_RISK, QuotaStatus.OFF_TRACK) and days_left > 0 and rate is not None:
        share = _share_change(hist, name, unit, as_of, span, workdays)
        if share is not None and share[1] < rules.supply_drop * share[0] and share[3] >= share[2]:
            diagnosis = "supply"
        else:
            diagnosis = "capacity"
            if labellers and rate > 0:
                per_labeller = rate / labellers
                extra = max(1, math.ceil((needed - rate) / per_labeller - 1e-9))
    advice = _advice(name, unit, target, current, remaining, rate, span, needed, days_left, projected_date,
                     projected_at_deadline, status, diagnosis, extra, labellers, share, _where(conditions, name), as_of)
    return ClassProgress(**base, current=current, remaining=remaining, percent=percent, rate_per_day=rate,
                         rate_days=span, days_left=days_left, needed_per_day=needed,
                         projected_at_deadline=projected_at_deadline, projected_date=projected_date, status=status,
                         diagnosis=diagnosis, labellers_needed=extra, advice=advice)


def _share_change(hist: History, name: str, unit: str, as_of: date, span: int,
                  workdays: str) -> tuple[float, float, float, float] | None:
    """(earlier share, recent share, earlier team output, recent team output) over the last ``span`` working
    days and the ``span`` before them (fewer when a snapshot-only history is shorter); None when unknown."""
    if span <= 0:
        return None
    team = hist.team(unit)
    mine = hist.series(name, unit)
    end = as_of
    mid = shift_workdays(last_workday(end, workdays), -span, workdays)
    start = shift_workdays(mid, -span, workdays)

    first = min(mine.index) if len(mine) else None
    if first is not None and start < first and not hist.starts_at_zero:
        start = first  # snapshots only: the earlier window is what the history has
    if first is None or start >= mid:
        return None

    def at(series: pd.Series, day: date) -> float | None:
        value = _value_on(series, day)
        if value is None and hist.starts_at_zero and len(series) and day < min(series.index):
            return 0.0
        return value

    points = [(at(mine, d), at(team, d)) for d in (start, mid, end)]
    if any(v is None or t is None for v, t in points):
        return None
    (m0, t0), (m1, t1), (m2, t2) = points
    earlier_team, recent_team = t1 - t0, t2 - t1
    if earlier_team <= 0 or recent_team <= 0:
        return None
    return (m1 - m0) / earlier_team, (m2 - m1) / recent_team, earlier_team, recent_team


def _where(conditions: pa.Table, name: str) -> str | None:
    """The condition value where the class is clearly densest, or None.

    For each condition, the value with the most instances per image is compared with all other
    values pooled: named when it is at least 1.5 times as dense and a one-sided binomial test of
    its share of the class's instances against its share of the images gives p < 0.01. Values
    with fewer than :data:`MIN_CONDITION_IMAGES` images are left out.
    """
    if conditions.num_rows == 0:
        return None
    from scipy.stats import binomtest

    df = conditions.to_pandas()
    totals = df[df["class"].isna()].set_index(["condition", "value"])["images"]
    mine = df[df["class"] == name].set_index(["condition", "value"])["instances"]
    best = None
    for condition in totals.index.get_level_values(0).unique():
        images = totals[condition]
        images = images[images >= MIN_CONDITION_IMAGES]
        if len(images) < 2:
            continue
        found = mine[condition].reindex(images.index).fillna(0) if condition in mine.index.get_level_values(0) \
            else pd.Series(0.0, index=images.index)
        density = found / images
        top = density.idxmax()
        rest_images, rest_found = images.sum() - images[top], found.sum() - found[top]
        if found.sum() == 0 or rest_images == 0:
            continue
        rest_density = rest_found / rest_images
        ratio = density[top] / rest_density if rest_density > 0 else math.inf
        p_value = binomtest(int(found[top]), int(found.sum()), images[top] / images.sum(), alternative="greater").pvalue
        if ratio >= 1.5 and p_value < 0.01 and (best is None or ratio > best[0]):
            best = (ratio, condition, top, 100 * density[top], 100 * rest_density)
    if best is None:
        return None
    _, condition, top, dense, thin = best
    return f"{condition} = {top} scenes ({dense:.0f} per 100 images, against {thin:.0f} elsewhere)"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or float(value).is_integer() else f"{value:,.1f}"


def _advice(name: str, unit: str, target: QuotaTarget, current: float, remaining: float, rate: float | None, span: int,
            needed: float | None, days_left: int, projected_date: date | None, projected_at_deadline: float | None,
            status: QuotaStatus, diagnosis: Diagnosis | None, extra: int | None, labellers: float | None,
            share: tuple[float, float, float, float] | None, where: str | None, as_of: date) -> str:
    deadline = target.deadline.isoformat()
    if days_left == 0:
        return (f"{name} missed its deadline {deadline}: {_fmt(remaining)} {unit} short of {target.target:,} — "
                f"set a new deadline or a new target.")
    if status == QuotaStatus.UNKNOWN:
        return (f"{name}: {_fmt(current)} of {target.target:,} {unit}, {_fmt(remaining)} to go by {deadline}; no pace yet "
                f"— ingest the next export (or one with annotated_at timestamps) to forecast.")
    assert rate is not None and needed is not None
    averaged = f"the last {span} working day{'s' if span != 1 else ''} averaged {rate:.1f}"
    if status == QuotaStatus.ON_TRACK:
        ahead = busday_count(projected_date, target.deadline, "1111111") if projected_date else 0
        when = f"reaches {target.target:,} on {projected_date.isoformat()}" if projected_date else "keeps its pace"
        slack = f", {ahead} day{'s' if ahead != 1 else ''} before the deadline" if ahead > 0 else ""
        return f"{name} is on track: needs {needed:.1f}/day and {averaged}; at this pace it {when}{slack}."
    head = (f"{name} needs {needed:.1f}/day to make {deadline} ({_fmt(remaining)} {unit} to go in {days_left} working "
            f"day{'s' if days_left != 1 else ''}); {averaged}")
    if projected_at_deadline is not None:
        head += f", which reaches about {_fmt(projected_at_deadline)} by then"
    route = f"route collection to {where}" if where else f"route collection to scenes that show {name}"
    if diagnosis == "supply" and share is not None:
        return (f"{head} — its share of the team's output fell from {share[0]:.1%} to {share[1]:.1%} while the team's "
                f"output held up, so the frames that show {name} are running out: more labellers will not help; "
                f"{route}, or run an active-learning batch for {name}.")
    if extra is not None and labellers:
        per = rate / labellers
        return (f"{head} — add {extra} labeller{'s' if extra != 1 else ''} (one labels about {per:.1f} {name} a day) "
                f"or {route}.")
    return f"{head} — raise the pace by {needed - rate:.1f}/day (+{(needed - rate) / max(rate, 1e-9):.0%}) or {route}."
