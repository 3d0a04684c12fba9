"""summarize_batch and quota_needs: the figures of the Active learning page, computed by the library."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pyarrow as pa
import pytest

from imbal_core.active import Pool, select_batch
from imbal_core.active.summary import quota_needs, summarize_batch


def pool_of(rows, conditions=None) -> Pool:
    """rows: (image, uncertainty, predicted classes, group)."""
    cols = {
        "image": [r[0] for r in rows], "image_id": pa.nulls(len(rows), pa.int64()), "file_name": [r[0] for r in rows],
        "group": pa.array([r[3] for r in rows], pa.string()), **(conditions or {}),
        "predictions": [1] * len(rows), "uncertainty": pa.array([r[1] for r in rows], pa.float64()),
        "classes": pa.array([r[2] for r in rows], pa.list_(pa.string())),
        "class_scores": pa.array([[0.5] * len(r[2]) for r in rows], pa.list_(pa.float64())),
        "class_counts": pa.array([[1] * len(r[2]) for r in rows], pa.list_(pa.int64())),
    }
    return Pool(pa.table(cols), "detection", "entropy", ("A", "B"), tuple(conditions or {}))


def test_means_and_groups_used_under_a_group_cap():
    # drive g1 holds the three most uncertain frames; a cap of 2 per drive sends the third pick to g2
    pool = pool_of([("a", 0.9, ["A"], "g1"), ("b", 0.8, ["A"], "g1"), ("c", 0.7, ["A"], "g1"),
                    ("d", 0.2, [], "g2"), ("e", 0.1, [], "g3")])
    selection = select_batch(pool, 3, None, group="group", max_per_group=2)
    summary = summarize_batch(pool, selection)
    assert summary.selected == 3 and summary.pool_images == 5
    assert summary.mean_uncertainty == pytest.approx((0.9 + 0.8 + 0.2) / 3)
    assert summary.pool_mean_uncertainty == pytest.approx((0.9 + 0.8 + 0.7 + 0.2 + 0.1) / 5)
    assert summary.groups_used == 2


def test_a_condition_cap_counts_the_values_used_and_no_cap_counts_none():
    pool = pool_of([("a", 0.9, [], None), ("b", 0.8, [], None), ("c", 0.7, [], None)],
                   conditions={"weather": ["rain", "rain", "sun"]})
    capped = summarize_batch(pool, select_batch(pool, 2, None, group="weather", max_per_group=1))
    free = summarize_batch(pool, select_batch(pool, 2, None, group=None))
    assert capped.groups_used == 2  # one rainy and one sunny image
    assert free.groups_used is None and free.mean_uncertainty == pytest.approx(0.85)


def test_an_empty_batch_has_no_mean():
    pool = pool_of([])
    summary = summarize_batch(pool, select_batch(pool, 1, None, group=None))
    assert summary.selected == 0 and math.isnan(summary.mean_uncertainty) and math.isnan(summary.pool_mean_uncertainty)


def test_quota_needs_keeps_the_classes_still_short():
    progress = SimpleNamespace(classes=[SimpleNamespace(category="Wheelchair", remaining=120.0),
                                        SimpleNamespace(category="Car", remaining=0.0),
                                        SimpleNamespace(category="Bicycle", remaining=3.5)])
    assert quota_needs(progress) == {"Wheelchair": 120.0, "Bicycle": 3.5}
