"""Per-epoch quotas (exact, seeded, covering every item before repeating) and the augmentation policy."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imbal_core.plan import DEFAULT_TIERS, augmentation_policy, epoch_quotas, solve
from imbal_core.plan.epochs import epoch_items
from imbal_core.plan.policy import normalize_tiers

EXERCISE = {"Car": 6000, "Pedestrian": 2500, "Bicycle": 1200, "Wheelchair": 300}


def test_every_epoch_draws_exactly_the_plan():
    quotas = epoch_quotas(solve(EXERCISE, budget=8000, cap=5), epochs=4, seed=7)
    table = quotas.to_pandas()
    assert len(table) == 16 and table.groupby("epoch")["samples"].sum().tolist() == [8000] * 4
    car = table[table["class"] == "Car"]
    # 2,166 of 6,000 per epoch: seen fully after ceil(6000 / 2166) = 3 epochs
    assert car["new"].tolist() == [2166, 2166, 1668, 0] and car["coverage"].iloc[2] == 1.0
    assert quotas.epochs_to_cover().tolist() == [3, 2, 1, 1]  # Pedestrian: 2,500 at 2,167 per epoch
    wheelchair = table[table["class"] == "Wheelchair"]
    assert wheelchair["distinct"].tolist() == [300] * 4 and wheelchair["samples"].tolist() == [1500] * 4


def test_items_are_reproducible_and_match_the_table():
    quotas = epoch_quotas(solve(EXERCISE, budget=8000, cap=5), epochs=4, seed=7)
    first, again = quotas.items("Bicycle"), quotas.items("Bicycle")
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    other = epoch_quotas(solve(EXERCISE, budget=8000, cap=5), epochs=4, seed=8).items("Bicycle")
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    assert [len(e) for e in first] == [2167] * 4
    car = quotas.items("Car")
    seen = set()
    for epoch, drawn in enumerate(car, start=1):
        seen |= set(drawn.tolist())
        assert len(seen) == quotas.covered_after(epoch)[0]
    with pytest.raises(ValueError, match="`class_name` must be one of the plan's classes"):
        quotas.items("Truck")


@settings(max_examples=200, deadline=None)
@given(count=st.integers(1, 60), per_epoch=st.integers(0, 200), epochs=st.integers(1, 8), seed=st.integers(0, 99))
def test_epoch_items_cover_before_repeating(count, per_epoch, epochs, seed):
    drawn = epoch_items(count, per_epoch, epochs, np.random.default_rng(seed))
    passes, rest = divmod(per_epoch, count)
    seen: set[int] = set()
    for i, items in enumerate(drawn, start=1):
        assert len(items) == per_epoch
        values, times = np.unique(items, return_counts=True)
        assert times.max(initial=0) <= passes + 1 and times.min(initial=passes) >= passes  # no item twice in the extra part
        seen |= set(items.tolist())
        assert len(seen) == min(count, i * per_epoch) if per_epoch < count else len(seen) == count


@pytest.mark.parametrize("epochs, seed, match", [
    (0, 0, r"`epochs` must be a whole number from 1 to 10,000\. Got 0 instead\."),
    (2.5, 0, r"`epochs` must be a whole number"),
    (3, -1, r"`seed` must be a whole number of at least 0\. Got -1 instead\."),
])
def test_epoch_quota_errors(epochs, seed, match):
    with pytest.raises(ValueError, match=match):
        epoch_quotas(solve(EXERCISE), epochs, seed)


def test_the_policy_follows_the_multipliers():
    policy = augmentation_policy(solve(EXERCISE, budget=8000, cap=5))
    assert policy.assigned == ("none", "none", "moderate", "strong")
    assert policy.classes_in("strong") == ["Wheelchair"]
    assert policy.tiers_for(np.array([0.2, 1.0, 1.2, 1.6, 3.0, 9.0, np.nan])) == \
        ["none", "none", "light", "moderate", "strong", "strong", "none"]
    tiers = policy.tier_table().to_pylist()
    assert [t["tier"] for t in tiers] == ["strong", "moderate", "none"] and "cutout" in tiers[0]["augmentations"]


def test_custom_tiers_are_validated_and_completed():
    tiers = normalize_tiers([("heavy", 2, ["mosaic"]), {"name": "some", "min_multiplier": 1.2, "augmentations": "flip"}])
    assert [t.name for t in tiers] == ["heavy", "some", "none"] and tiers[1].augmentations == ("flip",)
    assert augmentation_policy(solve(EXERCISE, budget=8000, cap=5), tiers).assigned == ("none", "none", "some", "heavy")


@pytest.mark.parametrize("tiers, match", [
    ([], r"`tiers` must hold at least one tier"),
    ([("a", -1, [])], r"`tiers\[0\]\.min_multiplier` must be a number of at least 0"),
    ([("", 1, [])], r"`tiers\[0\]\.name` must be a non-empty text"),
    ([("a", 1, []), ("a", 2, [])], r"`tiers` names must be unique"),
    ([("a", 1, []), ("b", 1, [])], r"`tiers` must start at different multipliers"),
    (["oops"], r"`tiers\[0\]` must be \(name, min_multiplier, augmentations\)"),
])
def test_invalid_tiers_raise(tiers, match):
    with pytest.raises(ValueError, match=match):
        normalize_tiers(tiers)


def test_default_tiers_start_at_zero():
    assert DEFAULT_TIERS[-1].min_multiplier == 0 and [t.min_multiplier for t in DEFAULT_TIERS] == sorted(
        (t.min_multiplier for t in DEFAULT_TIERS), reverse=True)
