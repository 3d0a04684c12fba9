"""Two sets of per-image weights side by side: what each achieves per class against the plan's targets.

The Rebalancing plan page compares the fitted weights (:func:`~.weights.fit_weights`) with LVIS
repeat factors (:func:`~.weights.repeat_factor_weights`) computed for the same plan.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from .weights import ImageWeights


def compare_weights(fitted: ImageWeights, alternative: ImageWeights) -> pa.Table:
    """One row per class, the largest count first (ties keep the plan's order).

    Columns: ``class``, ``count`` (the plan's current count), ``target`` (planned samples),
    ``achieved`` and ``relative_error`` (the expected count under ``fitted`` and achieved / target
    - 1, null where the target is 0), ``alternative_achieved`` and ``alternative_error`` (the same
    under ``alternative``). Achieved counts are rounded to one decimal.
    """
    if fitted.classes != alternative.classes or not np.array_equal(fitted.targets, alternative.targets):
        raise ValueError("`alternative` must carry the same plan as `fitted` (the same classes and targets). "
                         f"Got classes {list(alternative.classes)[:5]} instead of {list(fitted.classes)[:5]}.")
    order = np.argsort(-np.asarray(fitted.counts), kind="stable")
    table = pa.table({
        "class": pa.array(fitted.classes, pa.string()),
        "count": pa.array(fitted.counts, pa.int64()),
        "target": pa.array(fitted.targets, pa.int64()),
        "achieved": pa.array(np.round(fitted.achieved, 1), pa.float64()),
        "relative_error": pa.array(fitted.relative_error, pa.float64(), from_pandas=True),
        "alternative_achieved": pa.array(np.round(alternative.achieved, 1), pa.float64()),
        "alternative_error": pa.array(alternative.relative_error, pa.float64(), from_pandas=True),
    })
    return table.take(pa.array(order))
