"""The class-level solver: per-class effective counts under a budget, a cap and a floor.

Every strategy gives each class a weight ``w(c)`` (balanced: 1; sqrt: sqrt(n); effective-number:
n / E(n); repeat-factor: n * r(c); custom: the target). The plan is the water-filling

    effective(c) = clip(lambda * w(c), lower(c), upper(c)),   sum over c = budget,

with ``lower = ceil(floor * n)`` and ``upper = floor(cap * n)``; ``lambda`` is found exactly
from the breakpoints of that piecewise-linear sum (no bisection). For ``balanced`` (equal
weights) this is the max-min fair allocation: the smallest effective counts are raised first and
no class can gain without a smaller one losing (tested against brute force). The real solution is
rounded to whole samples by largest remainder (ties to the rarer class), so effective counts are
integers that sum exactly to the budget whenever ``sum(lower) <= budget <= sum(upper)``. Outside
that range the plan is the nearest feasible one (every class at its cap, or at its floor) with a
warning saying so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from ..types import Task
from .spec import PlanSpec, make_spec

_EPS = 1e-9


@dataclass(frozen=True)
class PlanSource:
    """Where a plan's counts come from: the export's files (``dataset``), its ``format`` and ``task``,
    the ``split`` counted (``all``: every image) and the ``images`` in it."""

    dataset: tuple[str, ...]
    format: str
    task: Task
    split: str
    images: int

    @property
    def multi_label(self) -> bool:
        """Images hold several classes (detection, segmentation): models are judged by mAP, not F1."""
        return self.task in ("detection", "segmentation")

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": list(self.dataset), "format": self.format, "task": self.task, "split": self.split,
                "images": self.images}


@dataclass(frozen=True)
class ClassPlan:
    """A rebalancing plan, one entry per class in the order given.

    ``counts``: current samples per class (in ``spec.unit``). ``targets``: what the strategy asks
    for at this budget before the cap and floor (whole numbers summing to the budget).
    ``effective``: the plan — samples per epoch, whole numbers. ``capped`` / ``floored``: the cap
    or the floor bound the class (it wanted more / less). Classes with a count of 0 cannot be
    sampled: their effective count is 0 and their multiplier NaN.
    """

    spec: PlanSpec
    classes: tuple[str, ...]
    counts: np.ndarray
    targets: np.ndarray
    effective: np.ndarray
    capped: np.ndarray
    floored: np.ndarray
    budget: int
    warnings: tuple[str, ...] = ()
    #: Images the counts come from (repeat-factor frequencies); None when counts were given directly.
    total_images: int | None = None
    #: The dataset and split the counts were taken from; None when counts were given directly.
    source: PlanSource | None = None

    @property
    def multipliers(self) -> np.ndarray:
        """effective / count per class (NaN for a class with no samples)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.counts > 0, self.effective / np.maximum(self.counts, 1), np.nan)

    @property
    def total_effective(self) -> int:
        return int(self.effective.sum())

    @property
    def total_count(self) -> int:
        return int(self.counts.sum())

    @property
    def feasible(self) -> bool:
        """The budget is met exactly (False when cap or floor made it impossible)."""
        return self.total_effective == self.budget

    @property
    def imbalance_ratio_before(self) -> float:
        """Largest / smallest count over classes with samples (NaN when there are none)."""
        return _ratio(self.counts[self.counts > 0])

    @property
    def imbalance_ratio_after(self) -> float:
        """Largest / smallest effective count over classes with samples (inf if the plan drops one)."""
        return _ratio(self.effective[self.counts > 0])

    @property
    def capped_classes(self) -> list[str]:
        return [n for n, c in zip(self.classes, self.capped) if c]

    def to_arrow(self) -> pa.Table:
        return pa.table({
            "class": pa.array(self.classes, pa.string()),
            "count": pa.array(self.counts, pa.int64()),
            "target": pa.array(self.targets, pa.int64()),
            "effective": pa.array(self.effective, pa.int64()),
            "multiplier": pa.array(self.multipliers, pa.float64(), from_pandas=True),
            "capped": pa.array(self.capped, pa.bool_()),
            "floored": pa.array(self.floored, pa.bool_()),
        })

    def to_pandas(self) -> pd.DataFrame:
        return self.to_arrow().to_pandas()

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``imbal plan --json`` (multipliers rounded to 4 decimals; NaN becomes null on output)."""
        return {
            "strategy": self.spec.strategy,
            "unit": self.spec.unit,
            "budget": self.budget,
            "cap": float(self.spec.cap),
            "floor": float(self.spec.floor),
            "total_effective": self.total_effective,
            "feasible": self.feasible,
            "imbalance_ratio_before": _round(self.imbalance_ratio_before),
            "imbalance_ratio_after": _round(self.imbalance_ratio_after),
            "warnings": list(self.warnings),
            "classes": [
                {"class": n, "count": int(c), "target": int(t), "multiplier": _round(m), "effective": int(e),
                 "capped": bool(cp), "floored": bool(fl)}
                for n, c, t, m, e, cp, fl in zip(self.classes, self.counts, self.targets, self.multipliers,
                                                 self.effective, self.capped, self.floored)
            ],
        }


def _ratio(values: np.ndarray) -> float:
    if len(values) == 0:
        return math.nan
    low = float(values.min())
    return math.inf if low == 0 else float(values.max()) / low


def _round(value: float, digits: int = 4) -> float:
    return value if not math.isfinite(value) else round(float(value), digits)


# --------------------------------------------------------------------------- inputs


def _validated_counts(counts: Mapping[str, Any] | Sequence[tuple[str, Any]]) -> tuple[tuple[str, ...], np.ndarray]:
    items = list(counts.items()) if isinstance(counts, Mapping) else list(counts)
    if not items:
        raise ValueError("`counts` must name at least one class.")
    names, values = [], []
    for name, value in items:
        label = str(name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)) \
                or not math.isfinite(value) or value < 0 or value != int(value):
            raise ValueError(f"`counts[{label!r}]` must be a whole number of at least 0. Got {value!r} instead.")
        names.append(label)
        values.append(int(value))
    if len(set(names)) != len(names):
        raise ValueError(f"`counts` names a class twice: {sorted({n for n in names if names.count(n) > 1})}.")
    array = np.asarray(values, dtype=np.int64)
    if not array.any():
        raise ValueError("`counts` are all 0: there is nothing to rebalance.")
    return tuple(names), array


def strategy_weights(spec: PlanSpec, classes: Sequence[str], counts: np.ndarray,
                     image_counts: np.ndarray | None = None, total_images: int | None = None) -> np.ndarray:
    """Each class's relative target under ``spec.strategy`` (0 for a class with no samples)."""
    n = counts.astype(np.float64)
    if spec.strategy == "balanced":
        w = np.ones_like(n)
    elif spec.strategy == "sqrt":
        w = np.sqrt(n)
    elif spec.strategy == "effective-number":
        # Cui et al. 2019: E(n) = (1 - beta^n) / (1 - beta); weighting by 1 / E(n) makes a class
        # contribute n / E(n). expm1 keeps 1 - beta^n exact for beta near 1.
        if spec.beta == 0:
            w = n.copy()
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                w = n * (1 - spec.beta) / -np.expm1(n * math.log(spec.beta))
    elif spec.strategy == "repeat-factor":
        w = n * repeat_factors(image_counts if image_counts is not None else counts,
                               total_images or int(counts.sum()), spec.threshold)
    else:  # custom
        targets = spec.targets_dict
        unknown = sorted(set(targets) - set(classes))
        if unknown:
            raise ValueError(f"`targets` names classes the counts do not have: {unknown}. Known: {sorted(classes)}.")
        w = np.array([targets.get(c, float(v)) for c, v in zip(classes, counts)], dtype=np.float64)
    return np.where(counts > 0, np.nan_to_num(w, nan=0.0), 0.0)


def repeat_factors(image_counts: np.ndarray, total_images: int, threshold: float) -> np.ndarray:
    """LVIS repeat factor per class: max(1, sqrt(t / f(c))), f(c) = share of images holding c (1 if absent)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.asarray(image_counts, dtype=np.float64) / max(total_images, 1)
        return np.where(share > 0, np.maximum(1.0, np.sqrt(threshold / share)), 1.0)


# --------------------------------------------------------------------------- solving


def water_fill(weights: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: float) -> tuple[np.ndarray, float]:
    """``x = clip(lam * weights, lower, upper)`` with ``sum(x) == total``; returns ``(x, lam)``.

    Requires ``sum(lower) <= total <= sum(upper)``. ``lam`` is exact: the sum is piecewise linear
    in ``lam`` with breakpoints ``lower / w`` and ``upper / w``, evaluated all at once.
    """
    w, lo, hi = (np.asarray(a, dtype=np.float64) for a in (weights, lower, upper))
    moving = (w > 0) & (hi > lo)
    fixed_sum = float(np.where(moving, 0.0, lo).sum())
    wm, lom, him = w[moving], lo[moving], hi[moving]
    if len(wm) == 0:
        return lo.copy(), 0.0
    a, b = lom / wm, him / wm  # below a a class sits at its lower bound, above b at its upper
    a_order, b_order = np.argsort(a, kind="stable"), np.argsort(b, kind="stable")
    a_sorted, b_sorted = a[a_order], b[b_order]
    cum_lo = np.r_[0.0, np.cumsum(lom[a_order])]
    cum_wa = np.r_[0.0, np.cumsum(wm[a_order])]
    cum_hi = np.r_[0.0, np.cumsum(him[b_order])]
    cum_wb = np.r_[0.0, np.cumsum(wm[b_order])]

    def total_at(lam: np.ndarray) -> np.ndarray:
        na = np.searchsorted(a_sorted, lam, side="left")  # classes with a < lam have left their floor
        nb = np.searchsorted(b_sorted, lam, side="right")  # classes with b <= lam are at their cap
        middle_w = cum_wa[na] - cum_wb[nb]
        return fixed_sum + cum_hi[nb] + (cum_lo[-1] - cum_lo[na]) + lam * middle_w

    points = np.unique(np.r_[a_sorted, b_sorted])
    sums = total_at(points)
    k = int(np.searchsorted(sums, total - 1e-9 * max(1.0, abs(total)), side="left"))
    if k >= len(points):
        lam = float(points[-1])
    elif k == 0:
        lam = float(points[0])
    else:
        lo_lam, hi_lam = points[k - 1], points[k]
        lo_sum, hi_sum = sums[k - 1], sums[k]
        lam = float(lo_lam + (total - lo_sum) * (hi_lam - lo_lam) / (hi_sum - lo_sum)) if hi_sum > lo_sum else float(hi_lam)
    x = np.where(moving, np.clip(lam * w, lo, hi), lo)
    return x, lam


def round_to_total(x: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: int, counts: np.ndarray,
                   names: Sequence[str]) -> np.ndarray:
    """Whole numbers within [lower, upper] summing to ``total``: floor, then the largest remainders
    get one more (ties go to the class with the smaller count, then by name)."""
    base = np.clip(np.floor(x + _EPS), lower, upper).astype(np.int64)
    frac = x - base
    rest = int(total - base.sum())
    name_rank = np.argsort(np.argsort(np.asarray(names, dtype=object)))
    if rest > 0:
        room = np.flatnonzero(base < upper)
        order = room[np.lexsort((name_rank[room], counts[room], -frac[room]))]
        base[order[:rest]] += 1
    elif rest < 0:
        room = np.flatnonzero(base > lower)
        order = room[np.lexsort((name_rank[room], -counts[room], frac[room]))]
        base[order[:-rest]] -= 1
    return base


def solve(
    counts: Mapping[str, Any] | Sequence[tuple[str, Any]],
    spec: PlanSpec | None = None,
    *,
    image_counts: Sequence[int] | None = None,
    total_images: int | None = None,
    **spec_options: Any,
) -> ClassPlan:
    """Plan per-class effective counts. ``spec`` or keyword options for :func:`make_spec`.

    ``counts``: current samples per class (the order is kept). ``image_counts`` / ``total_images``
    (repeat-factor only): images holding each class and images in all, for LVIS frequencies;
    by default the counts themselves and their sum (exact for classification).
    """
    if spec is None:
        spec = make_spec(**spec_options)
    elif spec_options:
        raise ValueError(f"Give either `spec` or options, not both. Got options {sorted(spec_options)}.")
    names, n = _validated_counts(counts)
    images = None if image_counts is None else np.asarray(image_counts, dtype=np.int64)
    w = strategy_weights(spec, names, n, images, total_images)
    active = n > 0
    warnings: list[str] = []
    # Whole-number bounds; the relative tolerance absorbs float noise (0.3 * 10 = 3.0000000000000004)
    # without erasing a floor that is tiny but positive.
    low, high = spec.floor * n, spec.cap * n
    lower = np.where(active, np.ceil(low - 1e-9 * np.maximum(low, 1)), 0).astype(np.int64)
    upper = np.where(active, np.floor(high + 1e-9 * np.maximum(high, 1)), 0).astype(np.int64)
    budget = spec.budget if spec.budget is not None else _default_budget(spec, n, w)

    if not w[active].any():
        raise ValueError("Every class with samples has a target of 0: there is nothing to plan.")
    ideal = budget * w / w.sum()
    targets = round_to_total(ideal, np.zeros_like(n), np.full_like(n, budget), budget, n, names)
    if budget > upper.sum():
        effective, lam = upper.copy(), math.inf
        need = budget / n.sum()
        warnings.append(
            f"The budget of {budget:,} is more than the cap allows: every class at {spec.cap:g}x gives "
            f"{int(upper.sum()):,} samples, so the plan uses {int(upper.sum()):,}. Raise `cap` to at least "
            f"{math.ceil(need * 100) / 100:g} or lower `budget`.")
    elif budget < lower.sum():
        effective, lam = lower.copy(), 0.0
        warnings.append(
            f"The budget of {budget:,} is less than the floor keeps: {spec.floor:g} of every class is "
            f"{int(lower.sum()):,} samples, so the plan uses {int(lower.sum()):,}. Lower `floor` or raise `budget`.")
    else:
        x, lam = water_fill(w, lower, upper, budget)
        effective = round_to_total(x, lower, upper, budget, n, names)
    wanted = lam * w if math.isfinite(lam) else np.where(active, np.inf, 0.0)
    capped = active & (wanted > upper * (1 + 1e-12))
    floored = active & (wanted < lower * (1 - 1e-12))
    missing = [c for c, v in zip(names, n) if v == 0]
    if missing:
        warnings.append(
            f"No samples of {_names(missing)}: sampling cannot create what is not there — collect or annotate "
            f"{'it' if len(missing) == 1 else 'them'} first.")
    if spec.strategy == "repeat-factor":
        warnings.extend(_repeat_factor_notes(spec, names, n, images, total_images))
    return ClassPlan(
        spec=spec, classes=names, counts=n, targets=targets, effective=effective,
        capped=capped, floored=floored, budget=int(budget), warnings=tuple(warnings), total_images=total_images,
    )


def _default_budget(spec: PlanSpec, counts: np.ndarray, weights: np.ndarray) -> int:
    if spec.strategy == "custom":
        return max(1, int(round(weights.sum())))
    return int(counts.sum())


def _repeat_factor_notes(spec: PlanSpec, names: Sequence[str], n: np.ndarray, images: np.ndarray | None,
                         total: int | None) -> list[str]:
    images = images if images is not None else n
    total = total or int(n.sum())
    r = repeat_factors(images, total, spec.threshold)
    if (r[n > 0] > 1).any():
        return []
    share = np.where(n > 0, images / max(total, 1), np.inf)
    rarest = int(np.argmin(share))
    return [f"With threshold {spec.threshold:g} no class is rare enough to be repeated (the rarest, {names[rarest]}, "
            f"is in {share[rarest]:.1%} of the images): raise `threshold` above {share[rarest]:.3g} for repeat factors "
            f"to change anything."]


def _names(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
