"""What a shared report holds: the library's own results, gathered once (no analysis of its own).

Each section calls the function its page and its command call, with the same defaults, so the
report's numbers are the numbers of ``imbal check``, ``imbal strata``, ``imbal split``, ``imbal
plan`` and ``imbal eval``:

============================  ==========================================================================
section                       computed by
============================  ==========================================================================
header                        :func:`imbal_core.summary.summarize`, :func:`imbal_core.fingerprint.dataset_key`
health checklist              :func:`imbal_core.health.check` (``imbal check``)
long tail, per unit           :func:`imbal_core.longtail.long_tail` for every unit the dataset has
subgroup findings             :func:`imbal_core.strata.hidden_subgroups` per condition (``imbal strata --by``)
split health                  :func:`imbal_core.splits.check_splits` (``imbal split`` without ``--ratios``)
rebalancing plan (asked)      :func:`imbal_core.plan.plan_for_dataset` (``imbal plan --budget --cap``)
evaluation (predictions)      :func:`imbal_core.evaluate.evaluate`, :func:`~imbal_core.evaluate.by_condition`
load report                   ``dataset.report`` and the predictions' report
============================  ==========================================================================
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from ..dataset import Dataset
from ..health import HealthConfig, HealthReport, check
from ..report import LoadError

#: Conditions crossed with the classes when the caller names none: the dataset's first ones.
MAX_DEFAULT_CONDITIONS = 6
#: The unit of the subgroup findings (the default of ``imbal strata``).
STRATA_UNIT = "instances"


@dataclass(frozen=True)
class PlanSettings:
    """A rebalancing plan to summarise, as ``imbal plan --budget N --cap C`` makes it.

    ``budget`` (None: the current total), ``cap`` (5.0), ``strategy`` (None: the dataset's
    default, ``sqrt`` for detection and segmentation, ``balanced`` for classification),
    ``unit`` ("images"), ``split`` (None: ``train`` when there is one; ``"all"`` for every
    image), ``floor`` (0.0), ``beta`` (0.999, effective-number) and ``threshold`` (0.001,
    repeat-factor): as :func:`imbal_core.plan.make_spec` takes them.
    """

    budget: int | None = None
    cap: float = 5.0
    strategy: str | None = None
    unit: str = "images"
    split: str | None = None
    floor: float = 0.0
    beta: float = 0.999
    threshold: float = 0.001


@dataclass(frozen=True)
class ReportSettings:
    """The choices a report is made with.

    ``title`` (None: "imbal report — <first file>"); ``critical`` (None: the export's own
    flags); ``by``: the conditions to cross with the classes, each one name or a pair
    (``("time_of_day", ("time_of_day", "weather"))``; None: the dataset's conditions, the first
    :data:`MAX_DEFAULT_CONDITIONS`, one at a time); ``health`` (None: ``imbal check``'s
    defaults; its own ``critical`` is replaced by ``critical``); ``plan`` (None: no plan
    section); ``predictions``: a predictions file to evaluate (None: no evaluation section).
    """

    title: str | None = None
    critical: tuple[str, ...] | None = None
    by: tuple[str | tuple[str, ...], ...] | None = None
    health: HealthConfig | None = None
    plan: PlanSettings | None = None
    predictions: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.critical, str):
            raise ValueError(f"`critical` must be a list of class names. Got the text {self.critical!r} instead.")
        if self.critical is not None:
            object.__setattr__(self, "critical", tuple(str(c) for c in self.critical))
        if isinstance(self.by, str):
            raise ValueError(f"`by` must be a list of conditions. Got the text {self.by!r} instead.")
        if self.by is not None:
            object.__setattr__(self, "by", tuple(b if isinstance(b, str) else tuple(b) for b in self.by))
        if self.predictions is not None:
            object.__setattr__(self, "predictions", str(self.predictions))


@dataclass(frozen=True)
class Evaluated:
    """The evaluation section: the predictions read, their evaluation and its condition slices."""

    predictions: Any
    evaluation: Any
    slices: tuple[Any, ...]


@dataclass(frozen=True, eq=False)
class ReportData:
    """Every result the report shows, each from the library function named in the module docstring."""

    dataset: Dataset
    settings: ReportSettings
    key: str
    summary: Any
    health: HealthReport
    long_tails: dict[str, Any]
    strata: tuple[Any, ...]
    splits: Any
    plan: Any | None = None
    evaluated: Evaluated | None = None
    left_out: tuple[str, ...] = field(default_factory=tuple)

    @property
    def critical(self) -> tuple[str, ...]:
        return self.health.critical

    @property
    def title(self) -> str:
        if self.settings.title:
            return self.settings.title
        first = Path(self.dataset.sources[0]).name if self.dataset.sources else "dataset"
        return f"imbal report — {first}"


def conditions_of(dataset: Dataset, by: Sequence[str | Sequence[str]] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the conditions to cross, the dataset's conditions left out by default). Names are
    checked later, by :func:`imbal_core.strata.hidden_subgroups` itself."""
    if by is not None:
        return tuple((b,) if isinstance(b, str) else tuple(b) for b in by), ()
    shown = dataset.conditions[:MAX_DEFAULT_CONDITIONS]
    return tuple((c,) for c in shown), tuple(dataset.conditions[MAX_DEFAULT_CONDITIONS:])


def collect(dataset: Dataset, settings: ReportSettings | None = None) -> ReportData:
    """Run every analysis the report shows on ``dataset`` with ``settings`` (defaults: :class:`ReportSettings`).

    Invalid settings raise ``ValueError`` naming the setting (a critical class or a condition the
    dataset does not have, a cap below 1); an unusable predictions file raises :class:`LoadError`.
    """
    from ..fingerprint import dataset_key
    from ..longtail import available_units, class_split_counts, long_tail
    from ..strata import hidden_subgroups
    from ..summary import summarize

    settings = settings or ReportSettings()
    config = settings.health or HealthConfig()
    if settings.critical is not None:
        config = replace(config, critical=settings.critical)
    health = check(dataset, config)
    critical = list(health.critical)
    counts = class_split_counts(dataset)
    long_tails = {unit: long_tail(dataset, unit, counts=counts, critical=critical) for unit in available_units(dataset)}
    bys, left_out = conditions_of(dataset, settings.by)
    strata = tuple(hidden_subgroups(dataset, by if len(by) > 1 else by[0], STRATA_UNIT, critical=critical)
                   for by in bys)
    return ReportData(
        dataset=dataset, settings=settings, key=dataset_key(dataset), summary=summarize(dataset), health=health,
        long_tails=long_tails, strata=strata, splits=_split_health(dataset),
        plan=_plan(dataset, settings.plan) if settings.plan is not None else None,
        evaluated=_evaluated(dataset, settings.predictions, bys) if settings.predictions else None,
        left_out=left_out,
    )


def _split_health(dataset: Dataset):
    """``imbal split PATH`` (no ``--ratios``): instances, the export's groups when it has them."""
    from ..columns import has_groups
    from ..splits import check_splits

    return check_splits(dataset, "instances", group_by="group" if has_groups(dataset) else None)


def _plan(dataset: Dataset, plan: PlanSettings):
    """``imbal plan PATH --budget N --cap C [--strategy S] [--unit U] [--split S] [--floor F]``."""
    from ..plan import default_split, default_strategy, make_spec, plan_for_dataset
    from ..types import ALL_SPLITS

    spec = make_spec(plan.strategy or default_strategy(dataset), budget=plan.budget, cap=plan.cap, floor=plan.floor,
                     unit=plan.unit, beta=plan.beta, threshold=plan.threshold)
    split = default_split(dataset) if plan.split is None else (None if plan.split == ALL_SPLITS else plan.split)
    if split is not None and split not in dataset.splits:
        raise ValueError(f"`plan split` must be one of {list(dataset.splits)} or '{ALL_SPLITS}'. Got {split!r} instead.")
    return plan_for_dataset(dataset, spec, split)


def slice_conditions(dataset: Dataset, bys: Sequence[Sequence[str]]) -> list[str]:
    """What the evaluation is sliced by: each single condition of the report (pairs give both of
    theirs), or ``split`` when there are none and the dataset has several splits."""
    from ..evaluate import slice_columns

    allowed = set(slice_columns(dataset))
    names = list(dict.fromkeys(c for by in bys for c in by if c in allowed))
    if not names and len(dataset.splits) > 1:
        names = ["split"]
    return names


def _evaluated(dataset: Dataset, path: str, bys: Sequence[Sequence[str]]) -> Evaluated:
    """``imbal eval PATH --pred FILE --by C ...`` with its defaults (IoU 0.5, score 0.5, all splits)."""
    from ..evaluate import by_condition, evaluate
    from ..io.predictions import read_predictions

    predictions = read_predictions(path, dataset)
    problem = predictions.unusable()
    if problem:
        raise LoadError(problem, predictions.report, path)
    evaluation = evaluate(dataset, predictions)
    slices = tuple(by_condition(evaluation, dataset, c) for c in slice_conditions(dataset, bys))
    return Evaluated(predictions, evaluation, slices)
