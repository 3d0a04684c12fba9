"""Per-image sampling weights that carry a class plan to images holding several classes.

A class multiplier cannot be applied to an image with a Wheelchair *and* three Persons: repeating
the image repeats all of them. :func:`fit_weights` chooses each image's expected repeats per epoch,
within ``[floor, cap]``, so the expected per-class counts match the plan's targets as closely as
possible. The method is *bounded raking* (calibration with the raking distance, Deville & Särndal
1992), solved in its dual:

    minimise  sum_i (r_i log r_i - r_i)  +  1/(2 mu) * sum_c (achieved_c - target_c)^2 / target_c
    over      floor <= r_i <= cap,      achieved = A^T r     (A: images x classes, 1 or instances)

Why this one: the entropy term picks, among all weights that hit the targets, the ones closest to
uniform — repeats change no more than the targets demand and images with the same classes get the
same weight. Its optimality conditions give ``r_i = clip(exp(sum_c A_ic theta_c), floor, cap)``: one
log-factor per class, so the optimisation has as many unknowns as classes, not images. The
chi-square penalty (instead of hard constraints) keeps the problem solvable when the targets
cannot all be met together — common in detection, where a rare class's images are full of a
frequent one — and then decides the compromise. The concave dual is maximised with L-BFGS
(2 sparse products per step); images with identical rows are merged first. When the targets are
reachable the fit is within ``mu * |theta_c|`` (about 0.1%) of them. When every image holds at
most one class, the answer is exact and closed-form: each image gets its class's multiplier.

:func:`repeat_factor_weights` is the classic alternative (LVIS, Gupta et al. 2019): an image
repeats ``max over its classes of r(c) = max(1, sqrt(t / f(c)))`` times. Both report achieved vs
target per class the same way. The image x class matrix comes from :mod:`.incidence`, the optimiser
lives in :mod:`.raking`; :mod:`.reach` says, by linear programming, how close any weights within the
bounds could get, and which class pulls a missed one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from . import reach
from .incidence import Incidence
from .raking import fit_log_factors
from .solver import ClassPlan, repeat_factors

if TYPE_CHECKING:
    from ..dataset import Dataset
    from .policy import AugmentationPolicy

Method = Literal["fitted", "repeat-factor"]


@dataclass(frozen=True, eq=False)
class ImageWeights:
    """Expected repeats per image for one epoch, and what they give per class.

    ``repeats``: expected draws of each image per epoch (one per ``image_ids``). ``weights``: the
    same normalised to sum to 1 (for a weighted sampler). ``targets`` / ``achieved``: per class,
    in the plan's unit. ``best_worst_error``: the smallest worst-class relative error any weights
    within the bounds could reach (linear programming; None when not checked).
    """

    method: Method
    unit: str
    image_ids: np.ndarray
    repeats: np.ndarray
    classes: tuple[str, ...]
    counts: np.ndarray
    targets: np.ndarray
    achieved: np.ndarray
    floor: float
    cap: float
    iterations: int = 0
    converged: bool = True
    best_worst_error: float | None = None
    warnings: tuple[str, ...] = ()

    @property
    def weights(self) -> np.ndarray:
        total = self.repeats.sum()
        return self.repeats / total if total > 0 else self.repeats

    @property
    def epoch_images(self) -> int:
        """Images drawn per epoch (the sampler's ``num_samples``)."""
        return int(round(float(self.repeats.sum())))

    @property
    def relative_error(self) -> np.ndarray:
        """achieved / target - 1 per class (NaN where the target is 0)."""
        return reach.relative_error(self.achieved, self.targets)

    @property
    def worst_error(self) -> float:
        errors = np.abs(self.relative_error)
        return float(np.nanmax(errors)) if np.isfinite(errors).any() else 0.0

    def within(self, tolerance: float = reach.TOLERANCE) -> np.ndarray:
        """Per class: achieved within ``tolerance`` of the target (classes with no samples count as within)."""
        return reach.within(self.relative_error, self.counts, tolerance)

    def class_table(self) -> pa.Table:
        return pa.table({
            "class": pa.array(self.classes, pa.string()),
            "count": pa.array(self.counts, pa.int64()),
            "target": pa.array(self.targets, pa.int64()),
            "achieved": pa.array(np.round(self.achieved, 1), pa.float64()),
            "relative_error": pa.array(self.relative_error, pa.float64(), from_pandas=True),
            "within_5pct": pa.array(self.within(), pa.bool_()),
        })

    def to_arrow(self, dataset: "Dataset | None" = None, policy: "AugmentationPolicy | None" = None) -> pa.Table:
        """One row per image: ``image_id``, ``file_name``, ``split`` (with ``dataset``), ``weight``,
        ``expected_repeats`` (and ``augmentation`` with ``policy``) — rows in dataset order."""
        columns: dict[str, Any] = {"image_id": pa.array(self.image_ids, pa.int64())}
        if dataset is not None:
            images = dataset.images
            columns["file_name"] = images.column("file_name").take(pa.array(self.image_ids))
            split = images.column("split").take(pa.array(self.image_ids)).combine_chunks()
            columns["split"] = split.dictionary_decode() if pa.types.is_dictionary(split.type) else split
        columns["weight"] = pa.array(self.weights, pa.float64())
        columns["expected_repeats"] = pa.array(np.round(self.repeats, 6), pa.float64())
        if policy is not None:
            columns["augmentation"] = pa.array(policy.tiers_for(self.repeats), pa.string())
        return pa.table(columns)

    def to_pandas(self, dataset: "Dataset | None" = None) -> pd.DataFrame:
        return self.to_arrow(dataset).to_pandas()

    def to_dict(self) -> dict[str, Any]:
        """Summary and per-class achieved vs target (the per-image rows are in :meth:`to_arrow`)."""
        return {
            "method": self.method, "unit": self.unit, "images": int(len(self.image_ids)),
            "epoch_images": self.epoch_images, "floor": self.floor, "cap": self.cap,
            "iterations": self.iterations, "converged": self.converged,
            "worst_error": round(self.worst_error, 4), "best_worst_error":
                None if self.best_worst_error is None else round(self.best_worst_error, 4),
            "warnings": list(self.warnings),
            "classes": [
                {"class": r["class"], "count": r["count"], "target": r["target"], "achieved": r["achieved"],
                 "relative_error": None if r["relative_error"] is None or math.isnan(r["relative_error"])
                 else round(r["relative_error"], 4), "within_5pct": r["within_5pct"]}
                for r in self.class_table().to_pylist()
            ],
        }


def _check(inc: Incidence, plan: ClassPlan) -> None:
    if tuple(plan.classes) != tuple(inc.classes):
        raise ValueError("`plan` and `incidence` must list the same classes in the same order "
                         f"(plan: {len(plan.classes)} classes, incidence: {len(inc.classes)}).")
    if plan.spec.unit != inc.unit:
        raise ValueError(f"`plan` counts {plan.spec.unit} but `incidence` counts {inc.unit}; build both with one unit.")


def fit_weights(inc: Incidence, plan: ClassPlan, *, penalty: float = 1e-3, tolerance: float = 1e-3,
                max_iterations: int = 500, check_reachable: int = 20_000) -> ImageWeights:
    """Per-image expected repeats within ``[plan floor, plan cap]`` matching ``plan.effective`` per class.

    penalty (1e-3): ``mu`` above; smaller follows reachable targets more tightly but converges
        more slowly when they are not reachable.
    tolerance (1e-3): stop when every class's optimality residual is below this share of its target.
    max_iterations (500): L-BFGS iterations at most.
    check_reachable (20,000): when some class misses by more than :data:`~.reach.TOLERANCE` and there
        are at most this many distinct image rows, compute :func:`~.reach.best_worst_error` (0 disables).
    """
    _check(inc, plan)
    lo, hi = float(plan.spec.floor), float(plan.spec.cap)
    targets = plan.effective.astype(np.float64)
    rows, multiplicity, group = inc.groups
    iterations, converged = 0, True
    if len(multiplicity) == 0:
        group_repeats = np.zeros(0)
    elif inc.classes_per_image.max() <= 1:
        # one class per image: its multiplier is exact (the plan already respects floor and cap)
        per_class = np.where(inc.counts > 0, targets / np.maximum(inc.counts, 1), 1.0)
        group_repeats = np.clip(per_class[rows.indices], lo, hi) if rows.nnz else np.zeros(0)
    else:
        group_repeats, iterations, converged = fit_log_factors(rows, multiplicity, targets, inc.counts, lo, hi,
                                                               penalty, tolerance, max_iterations)
    repeats = _spread(group, group_repeats, multiplicity, lo, hi)
    achieved = np.asarray(inc.matrix.T @ repeats).ravel()
    errors = reach.relative_error(achieved, plan.effective)
    notes = reach.miss_notes(inc, plan, errors, lo, hi, group_repeats, check_reachable)
    return ImageWeights("fitted", inc.unit, inc.image_ids, repeats, inc.classes, inc.counts, plan.effective,
                        achieved, lo, hi, iterations, converged, notes.best_worst_error, notes.warnings)


def _spread(group: np.ndarray, group_repeats: np.ndarray, multiplicity: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Per-image repeats from per-group ones; images without annotations get the mean repeats of the
    annotated ones, so backgrounds keep their share of the epoch."""
    annotated = group >= 0
    repeats = np.empty(len(group), dtype=np.float64)
    repeats[annotated] = group_repeats[group[annotated]]
    if (~annotated).any():
        mean = float(group_repeats @ multiplicity / multiplicity.sum()) if len(multiplicity) else 1.0
        repeats[~annotated] = min(max(mean, lo), hi)
    return repeats


def suggested_threshold(inc: Incidence) -> float:
    """A repeat-factor threshold that matters for this data: the median class's image share (rounded
    to 2 significant digits), so the rarer half of the classes is repeated. LVIS's own 0.001 repeats
    nothing in a dataset whose rarest class is in more than 0.1% of the images."""
    shares = inc.image_counts[inc.image_counts > 0] / max(inc.num_images, 1)
    if len(shares) == 0:
        return 0.001
    value = float(np.median(shares))
    return float(f"{min(max(value, 1e-4), 1.0):.2g}")


def repeat_factor_weights(inc: Incidence, plan: ClassPlan, threshold: float | None = None) -> ImageWeights:
    """LVIS repeat-factor sampling: image repeats = max over its classes of ``max(1, sqrt(t / f(c)))``,
    ``f(c)`` the share of images (in scope) holding ``c``. ``t`` is ``threshold``; None means the
    plan's own when its strategy is repeat-factor, else :func:`suggested_threshold`.

    The repeats are scaled so the epoch holds as many class samples as the plan, which makes
    achieved vs target comparable; LVIS has no cap or floor and none is applied.
    """
    _check(inc, plan)
    if threshold is None:
        threshold = plan.spec.threshold if plan.spec.strategy == "repeat-factor" else suggested_threshold(inc)
    t = float(threshold)
    if not 0 < t <= 1:
        raise ValueError(f"`threshold` must be above 0 and at most 1. Got {threshold!r} instead.")
    per_class = repeat_factors(inc.image_counts, inc.num_images, t)
    matrix = inc.matrix
    per_image = np.ones(inc.num_images)
    if matrix.nnz:
        annotated = inc.classes_per_image > 0
        per_image[annotated] = np.maximum.reduceat(per_class[matrix.indices], matrix.indptr[:-1][annotated])
    natural = np.asarray(matrix.T @ per_image).ravel()
    scale = plan.total_effective / natural.sum() if natural.sum() > 0 else 1.0
    repeats = per_image * scale
    notes = [f"LVIS repeat factors with t = {t:g}, scaled by {scale:.3g} so the epoch holds the plan's "
             f"{plan.total_effective:,} class samples; no cap or floor applies."]
    if not (per_class[inc.image_counts > 0] > 1).any():
        notes.append(f"With t = {t:g} no class is in fewer than {t:.2%} of the images, so every image repeats "
                     "the same number of times: raise the threshold to favour rare classes.")
    return ImageWeights("repeat-factor", inc.unit, inc.image_ids, repeats, inc.classes, inc.counts, plan.effective,
                        np.asarray(matrix.T @ repeats).ravel(), 0.0, math.inf, warnings=tuple(notes))
