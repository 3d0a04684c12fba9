"""Rebalancing plans: class-level targets, per-image sampling weights, epoch quotas, augmentation, exports.

>>> from imbal_core.plan import solve
>>> plan = solve({"Car": 6000, "Pedestrian": 2500, "Bicycle": 1200, "Wheelchair": 300}, budget=8000, cap=5)
>>> plan.effective.tolist()
[2166, 2167, 2167, 1500]
"""
from .compare import compare_weights
from .document import PlanDocument, build_document, weights_csv, weights_parquet, weights_table
from .epochs import EpochQuotas, epoch_quotas
from .incidence import Incidence, incidence, incidence_from_pairs
from .policy import DEFAULT_TIERS, AugmentationPolicy, AugmentationTier, augmentation_policy
from .reach import TOLERANCE, best_worst_error
from .scope import dataset_counts, default_split, default_strategy, plan_for_dataset
from .solver import ClassPlan, PlanSource, solve
from .spec import DESCRIPTIONS, STRATEGIES, UNITS, PlanSpec, make_spec, parse_counts, read_targets
from .weights import ImageWeights, fit_weights, repeat_factor_weights, suggested_threshold

__all__ = [
    "AugmentationPolicy", "AugmentationTier", "ClassPlan", "DEFAULT_TIERS", "DESCRIPTIONS", "EpochQuotas",
    "ImageWeights", "Incidence", "PlanDocument", "PlanSource", "PlanSpec", "STRATEGIES", "TOLERANCE", "UNITS", "augmentation_policy",
    "best_worst_error", "build_document", "compare_weights", "dataset_counts", "default_split", "default_strategy", "epoch_quotas", "fit_weights",
    "incidence", "incidence_from_pairs", "make_spec", "parse_counts", "plan_for_dataset", "read_targets",
    "repeat_factor_weights", "solve", "suggested_threshold", "weights_csv", "weights_parquet", "weights_table",
]
