"""The data-health checklist: the rules a careful engineer checks before training (``imbal check``).

Each rule returns ``pass``, ``warn`` or ``fail`` with the numbers behind the verdict and the
classes concerned (:class:`RuleResult`). A dataset passes when no rule fails; warnings are allowed.

============================  ==========================================================================
rule                          verdict
============================  ==========================================================================
``split_counts``              per-class counts are computed for every split. *fail*: no image has a
                              split; *warn*: some images are unassigned, or there is no train split,
                              or neither val nor test.
``classes_in_every_split``    every class with data appears in every assigned split. *fail*: a class
                              is missing from a split; *warn*: declared classes have no data at all.
``splits_stratified``         each class holds the same share of every split's images as of train's
                              (the one definition of :mod:`imbal_core.splits.stratification`, which split
                              health uses too): relative share deviation, images holding the class,
                              judged where train's share predicts at least 5 images and counted only
                              beyond chance (3 standard deviations). *warn* beyond ``share_tolerance``
                              (0.25), *fail* beyond ``share_fail`` (0.5); *warn* when nothing could
                              be judged. Cells too small to judge are listed.
``min_instances``             every class with data has at least ``min_instances`` (50) instances over
                              all splits (*fail* below, or when no class has any instance),
                              ``comfortable_instances`` (100) to pass (*warn* between).
``critical_min_instances``    critical classes (flagged by the user, or in the export) meet their own,
                              higher floor: ``critical_min_instances`` (300; *fail* below) and
                              ``critical_comfortable_instances`` (500; *warn* below).
``long_tail_ratio``           the imbalance ratio of instances (largest / smallest class with data):
                              *fail* above ``max_ratio`` (50, as Datumaro's validator), *warn* above
                              ``warn_ratio`` (10); the classes driving it are those below
                              largest / threshold.
============================  ==========================================================================
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Mapping, Sequence

import pyarrow as pa

from .cube import image_counts
from .dataset import UNASSIGNED, Dataset
from .longtail import class_split_counts
from .splits.stratification import FAIL_TOLERANCE, TOLERANCE, stratification

Status = Literal["pass", "warn", "fail"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail")
RULES = ("split_counts", "classes_in_every_split", "splits_stratified", "min_instances",
         "critical_min_instances", "long_tail_ratio")
TITLES = {
    "split_counts": "Per-class counts for every split",
    "classes_in_every_split": "Every class in every split",
    "splits_stratified": "Splits stratified",
    "min_instances": "Minimum instances per class",
    "critical_min_instances": "Critical classes meet their minimum",
    "long_tail_ratio": "Long-tail ratio",
}
_SHOWN = 5


@dataclass(frozen=True)
class HealthConfig:
    """Thresholds of the checklist (see the module docstring for what each rule does with them).

    ``critical`` (None): the critical class names; None takes the export's own ``critical`` flags.
    """

    min_instances: int = 50
    comfortable_instances: int = 100
    critical: tuple[str, ...] | None = None
    critical_min_instances: int = 300
    critical_comfortable_instances: int = 500
    max_ratio: float = 50.0
    warn_ratio: float = 10.0
    share_tolerance: float = TOLERANCE
    share_fail: float = FAIL_TOLERANCE

    def __post_init__(self) -> None:
        for name in ("min_instances", "comfortable_instances", "critical_min_instances", "critical_comfortable_instances"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a whole number of at least 1. Got {value!r} instead.")
        for name in ("max_ratio", "warn_ratio"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or math.isnan(value) or value < 1:
                raise ValueError(f"`{name}` must be a number of at least 1. Got {value!r} instead.")
        for name in ("share_tolerance", "share_fail"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
                raise ValueError(f"`{name}` must be a number of at least 0. Got {value!r} instead.")
        for low, high in (("min_instances", "comfortable_instances"),
                          ("critical_min_instances", "critical_comfortable_instances"),
                          ("warn_ratio", "max_ratio"), ("share_tolerance", "share_fail")):
            if getattr(self, high) < getattr(self, low):
                raise ValueError(f"`{high}` must be at least `{low}` ({getattr(self, low)}). Got {getattr(self, high)} instead.")
        if self.critical is not None:
            if isinstance(self.critical, str):
                raise ValueError(f"`critical` must be a list of class names. Got the text {self.critical!r} instead.")
            object.__setattr__(self, "critical", tuple(str(c) for c in self.critical))

    @classmethod
    def from_limits(cls, *, min_instances: int = 50, comfortable_instances: int | None = None,
                    critical: Sequence[str] | None = None, critical_min_instances: int = 300,
                    max_ratio: float = 50.0, share_tolerance: float = 0.25) -> "HealthConfig":
        """The settings ``imbal check`` and the Long tail page expose, the others derived from them:
        ``comfortable_instances`` (None) = max(100, 2 x ``min_instances``); the critical comfortable
        level = max(500, ``critical_min_instances``); ``warn_ratio`` = min(10, ``max_ratio``);
        ``share_fail`` = 2 x ``share_tolerance``."""
        base = cls()
        if comfortable_instances is None and isinstance(min_instances, int):
            comfortable_instances = max(base.comfortable_instances, 2 * min_instances)
        numeric_ratio = isinstance(max_ratio, (int, float)) and not math.isnan(max_ratio)
        numeric_tolerance = isinstance(share_tolerance, (int, float)) and not math.isnan(share_tolerance)
        return cls(
            min_instances=min_instances,
            comfortable_instances=comfortable_instances,
            critical=None if critical is None else tuple(critical),
            critical_min_instances=critical_min_instances,
            critical_comfortable_instances=max(base.critical_comfortable_instances, critical_min_instances)
            if isinstance(critical_min_instances, int) else critical_min_instances,
            max_ratio=max_ratio,
            warn_ratio=min(base.warn_ratio, max_ratio) if numeric_ratio else base.warn_ratio,
            share_tolerance=share_tolerance,
            share_fail=2 * share_tolerance if numeric_tolerance else share_tolerance,
        )


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict: ``status``, a sentence ``detail``, the ``classes`` concerned (worst
    first) and the ``numbers`` behind it."""

    rule: str
    title: str
    status: Status
    detail: str
    classes: tuple[str, ...] = ()
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "title": self.title, "status": self.status, "detail": self.detail,
                "classes": list(self.classes), "numbers": self.numbers}


@dataclass(frozen=True)
class HealthReport:
    rules: tuple[RuleResult, ...]
    config: HealthConfig
    critical: tuple[str, ...]

    @property
    def status(self) -> Status:
        """The worst status of any rule."""
        return max((r.status for r in self.rules), key=STATUSES.index, default="pass")

    @property
    def passed(self) -> bool:
        return self.status != "fail"

    @property
    def exit_code(self) -> int:
        """0 when no rule fails (warnings allowed), 1 otherwise: the ``imbal check`` exit code."""
        return 0 if self.passed else 1

    def rule(self, name: str) -> RuleResult:
        for r in self.rules:
            if r.rule == name:
                return r
        raise KeyError(f"No rule {name!r}; rules: {[r.rule for r in self.rules]}.")

    def statuses(self) -> dict[str, Status]:
        return {r.rule: r.status for r in self.rules}

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``imbal check --json``."""
        config = asdict(self.config)
        config["critical"] = list(self.critical)
        return {"status": self.status, "rules": [r.to_dict() for r in self.rules], "config": config}

    def to_arrow(self) -> pa.Table:
        return pa.table({
            "rule": [r.rule for r in self.rules],
            "title": [r.title for r in self.rules],
            "status": [r.status for r in self.rules],
            "detail": [r.detail for r in self.rules],
            "classes": pa.array([list(r.classes) for r in self.rules], pa.list_(pa.string())),
        })

    def to_pandas(self):
        return self.to_arrow().to_pandas()


def check(dataset: Dataset, config: HealthConfig | None = None, **overrides: Any) -> HealthReport:
    """Run every rule of the checklist on ``dataset``.

    ``config`` (defaults: :class:`HealthConfig`) and keyword ``overrides`` of its fields, e.g.
    ``check(ds, min_instances=20, critical=["Wheelchair"])``. Critical names the dataset does not
    have raise ``ValueError`` naming them.
    """
    config = config or HealthConfig()
    if overrides:
        unknown = sorted(set(overrides) - set(HealthConfig.__dataclass_fields__))
        if unknown:
            raise ValueError(f"Unknown health settings {unknown}. Known: {sorted(HealthConfig.__dataclass_fields__)}.")
        config = replace(config, **overrides)
    critical = tuple(dataset.critical_classes) if config.critical is None else config.critical
    unknown = sorted(set(critical) - set(dataset.class_names))
    if unknown:
        raise ValueError(f"`critical` names classes the dataset does not have: {unknown}. Known: {sorted(dataset.class_names)}.")
    counts = class_split_counts(dataset)
    facts = _Facts.of(dataset, counts)
    rules = (
        _split_counts(facts),
        _classes_in_every_split(facts),
        _splits_stratified(dataset, config),
        _min_instances(facts, config),
        _critical_min(facts, config, critical),
        _long_tail_ratio(facts, config),
    )
    return HealthReport(rules=rules, config=config, critical=critical)


# --------------------------------------------------------------------------- the rules


@dataclass(frozen=True)
class _Facts:
    names: list[str]
    splits: tuple[str, ...]
    #: (class, split) -> {"images", "instances", "pixels"}
    cells: dict[tuple[str, str], dict[str, float]]
    split_images: dict[str, int]
    instances: dict[str, int]

    @classmethod
    def of(cls, dataset: Dataset, counts: pa.Table) -> "_Facts":
        cells = {(r["class"], r["split"]): r for r in counts.to_pylist()}
        per_split = image_counts(dataset, ("split",))
        found = dict(zip(per_split.column("split").to_pylist(), per_split.column("images").to_pylist()))
        split_images = {s: found.get(s, 0) for s in dataset.splits}
        instances = {n: sum(int(cells[(n, s)]["instances"]) for s in dataset.splits) for n in dataset.class_names}
        return cls(dataset.class_names, dataset.splits, cells, split_images, instances)

    @property
    def assigned(self) -> tuple[str, ...]:
        return tuple(s for s in self.splits if s != UNASSIGNED)

    def used(self) -> list[str]:
        return [n for n in self.names if self.instances[n] > 0]


def _fmt(n: float) -> str:
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"


def _count(n: int, noun: str) -> str:
    """``1 class``, ``3 classes``, ``1 critical class``."""
    plural = noun + ("es" if noun.endswith(("s", "sh", "ch")) else "s")
    return f"{n:,} {noun if n == 1 else plural}"


def _listing(items: Sequence[str], shown: int = _SHOWN) -> str:
    items = list(items)
    if len(items) <= shown:
        return ", ".join(items)
    return ", ".join(items[:shown]) + f" and {len(items) - shown} more"


def _split_counts(f: _Facts) -> RuleResult:
    per_split = {s: {"images": f.split_images[s], "instances": sum(int(f.cells[(n, s)]["instances"]) for n in f.names)}
                 for s in f.splits}
    numbers = {"splits": per_split}
    summary = " · ".join(f"{s} {_fmt(v['images'])} images / {_fmt(v['instances'])} instances" for s, v in per_split.items())
    rule, title = "split_counts", TITLES["split_counts"]
    if not f.assigned:
        return RuleResult(rule, title, "fail", "No image has a split, so per-class counts cannot be made per split. "
                          "Assign train / val / test (an image field `split`, file or folder names, or a sidecar).",
                          numbers=numbers)
    problems = []
    unassigned = f.split_images.get(UNASSIGNED, 0)
    if unassigned:
        problems.append(f"{_fmt(unassigned)} of {_fmt(sum(f.split_images.values()))} images have no split")
    if "train" not in f.splits:
        problems.append("there is no train split")
    if "val" not in f.splits and "test" not in f.splits:
        problems.append("there is neither a val nor a test split")
    if problems:
        return RuleResult(rule, title, "warn", "; ".join(problems).capitalize() + f". Counts: {summary}.", numbers=numbers)
    return RuleResult(rule, title, "pass", f"Counted for {len(f.splits)} splits: {summary}.", numbers=numbers)


def _classes_in_every_split(f: _Facts) -> RuleResult:
    rule, title = "classes_in_every_split", TITLES["classes_in_every_split"]
    unused = [n for n in f.names if f.instances[n] == 0]
    missing = {n: [s for s in f.assigned if f.cells[(n, s)]["instances"] == 0] for n in f.used()}
    missing = {n: s for n, s in missing.items() if s}
    numbers = {"missing": missing, "unused": unused}
    if not f.assigned:
        return RuleResult(rule, title, "warn", "Not checked: no image has a split.", tuple(unused), numbers)
    if missing:
        worst = sorted(missing, key=lambda n: (-len(missing[n]), f.instances[n]))
        text = "; ".join(f"{n} has none in {', '.join(missing[n])}" for n in worst[:_SHOWN])
        more = f" (and {len(worst) - _SHOWN} more classes)" if len(worst) > _SHOWN else ""
        return RuleResult(rule, title, "fail", f"{_count(len(missing), 'class')} {'is' if len(missing) == 1 else 'are'} missing from a split: {text}{more}.",
                          tuple(worst), numbers)
    if unused:
        return RuleResult(rule, title, "warn",
                          f"Every class with data is in {', '.join(f.assigned)}, but {_count(len(unused), 'declared class')} "
                          f"without annotations: {_listing(unused)}.", tuple(unused), numbers)
    return RuleResult(rule, title, "pass", f"All {len(f.names)} classes appear in {', '.join(f.assigned)}.", (), numbers)


def _splits_stratified(dataset: Dataset, config: HealthConfig) -> RuleResult:
    rule, title = "splits_stratified", TITLES["splits_stratified"]
    result = stratification(dataset, tolerance=config.share_tolerance, fail_tolerance=config.share_fail)
    numbers = result.to_dict()
    if result.message:
        return RuleResult(rule, title, "warn", result.message, numbers=numbers)
    ref = result.reference
    beyond = result.beyond
    parts = []
    if beyond:
        worst = beyond[0]
        parts.append(f"Worst: {worst.text}.")
        also = [f"{c.category} in {c.split} ({c.deviation:+.0%})" for c in beyond[1:]]
        parts.append(f"Beyond ±{result.tolerance:.0%} of the {ref} share and beyond chance: "
                     f"{_count(len(beyond), 'class-split pair')}" + (f", also {_listing(also)}." if also else "."))
    elif result.cells:
        largest = result.cells[0]
        parts.append(f"Every class within ±{result.tolerance:.0%} of its {ref} share of images, or within chance. "
                     f"Largest: {largest.text}.")
    unjudged = result.unjudged_splits
    if unjudged:
        parts.append(f"Not judged in {', '.join(unjudged)}: no class expects 5 images there.")
    if result.too_small:
        parts.append(f"Too few to judge: {_listing([f'{c} in {s}' for c, s in result.too_small], 3)}.")
    return RuleResult(rule, title, result.status, " ".join(parts), result.classes, numbers)


def _floor_rule(rule: str, f: _Facts, names: Sequence[str], floor: int, comfortable: int, kind: str) -> RuleResult:
    title = TITLES[rule]
    counts = {n: f.instances[n] for n in names}
    below = sorted((n for n in names if counts[n] < floor), key=lambda n: counts[n])
    thin = sorted((n for n in names if floor <= counts[n] < comfortable), key=lambda n: counts[n])
    numbers = {"floor": floor, "comfortable": comfortable, "instances": counts}
    def items(group: list[str]) -> str:
        return _listing([f"{n} {_fmt(counts[n])}" for n in group])
    if below:
        text = f"{_count(len(below), kind)} below {_fmt(floor)} instances: {items(below)}."
        if thin:
            text += f" Below the comfortable {_fmt(comfortable)}: {items(thin)}."
        return RuleResult(rule, title, "fail", text, tuple(below + thin), numbers)
    if thin:
        return RuleResult(rule, title, "warn", f"{_count(len(thin), kind)} between {_fmt(floor)} and the comfortable "
                          f"{_fmt(comfortable)} instances: {items(thin)}.", tuple(thin), numbers)
    smallest = min(names, key=lambda n: counts[n]) if names else None
    extra = f" (smallest: {smallest} {_fmt(counts[smallest])})" if smallest else ""
    return RuleResult(rule, title, "pass", f"Every {kind} has at least "
                      f"{_fmt(comfortable)} instances{extra}.", (), numbers)


def _min_instances(f: _Facts, config: HealthConfig) -> RuleResult:
    if not f.used():
        return RuleResult("min_instances", TITLES["min_instances"], "fail",
                          "No class has any instance: there is nothing to train on.")
    return _floor_rule("min_instances", f, f.used(), config.min_instances, config.comfortable_instances, "class")


def _critical_min(f: _Facts, config: HealthConfig, critical: Sequence[str]) -> RuleResult:
    if not critical:
        return RuleResult("critical_min_instances", TITLES["critical_min_instances"], "pass",
                          "No class is flagged critical (flag rare but important classes to hold them to "
                          f"{_fmt(config.critical_min_instances)} instances).",
                          numbers={"floor": config.critical_min_instances,
                                   "comfortable": config.critical_comfortable_instances, "instances": {}})
    return _floor_rule("critical_min_instances", f, list(critical), config.critical_min_instances,
                       config.critical_comfortable_instances, "critical class")


def _long_tail_ratio(f: _Facts, config: HealthConfig) -> RuleResult:
    rule, title = "long_tail_ratio", TITLES["long_tail_ratio"]
    used = f.used()
    if not used:
        return RuleResult(rule, title, "warn", "Not checked: no class has instances.")
    largest = max(used, key=lambda n: f.instances[n])
    smallest = min(used, key=lambda n: f.instances[n])
    ratio = f.instances[largest] / f.instances[smallest]
    status: Status = "fail" if ratio > config.max_ratio else "warn" if ratio > config.warn_ratio else "pass"
    threshold = config.max_ratio if status == "fail" else config.warn_ratio
    cut = f.instances[largest] / threshold
    driving = sorted((n for n in used if f.instances[n] < cut), key=lambda n: f.instances[n])
    numbers = {"ratio": ratio, "largest": largest, "smallest": smallest, "max_ratio": config.max_ratio,
               "warn_ratio": config.warn_ratio, "below": {n: f.instances[n] for n in driving}}
    text = (f"{largest} {_fmt(f.instances[largest])} / {smallest} {_fmt(f.instances[smallest])} = {ratio:,.1f}")
    if status == "pass":
        return RuleResult(rule, title, "pass", text + f", within {_fmt(config.warn_ratio)}.", (), numbers)
    text += (f", above {_fmt(threshold)}. Below 1/{_fmt(threshold)} of {largest} ({_fmt(cut)} instances): "
             f"{_listing([f'{n} {_fmt(f.instances[n])}' for n in driving])}.")
    return RuleResult(rule, title, status, text, (*driving, largest), numbers)


def config_from(values: Mapping[str, Any]) -> HealthConfig:
    """A :class:`HealthConfig` from a mapping (unknown keys raise, naming the known ones)."""
    unknown = sorted(set(values) - set(HealthConfig.__dataclass_fields__))
    if unknown:
        raise ValueError(f"Unknown health settings {unknown}. Known: {sorted(HealthConfig.__dataclass_fields__)}.")
    return HealthConfig(**values)
