"""The class-level solver: the seed's exercise, every strategy, errors, and properties for any input."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from imbal_core.plan import make_spec, parse_counts, read_targets, solve
from imbal_core.plan.solver import water_fill

EXERCISE = {"Car": 6000, "Pedestrian": 2500, "Bicycle": 1200, "Wheelchair": 300}


def by_class(plan):
    return dict(zip(plan.classes, plan.effective.tolist()))


def test_the_seed_exercise_comes_out_exactly():
    plan = solve(EXERCISE, budget=8000, cap=5)
    effective = by_class(plan)
    assert effective["Wheelchair"] == 1500 and plan.capped.tolist() == [False, False, False, True]
    assert all(effective[c] in (2166, 2167) for c in ("Car", "Pedestrian", "Bicycle"))
    assert plan.total_effective == 8000 and plan.feasible and plan.warnings == ()
    assert np.round(plan.multipliers, 2).tolist() == [0.36, 0.87, 1.81, 5.0]
    # the two extra units go to the rarer classes; the strategy's own target is 8,000 / 4
    assert effective == {"Car": 2166, "Pedestrian": 2167, "Bicycle": 2167, "Wheelchair": 1500}
    assert plan.targets.tolist() == [2000] * 4
    assert plan.imbalance_ratio_before == 20.0 and plan.imbalance_ratio_after == pytest.approx(2167 / 1500)


def test_to_dict_has_the_cli_shape():
    doc = solve(EXERCISE, budget=8000, cap=5).to_dict()
    assert {"strategy", "budget", "cap", "total_effective", "imbalance_ratio_before", "imbalance_ratio_after",
            "warnings", "classes"} <= set(doc)
    assert doc["cap"] == 5.0 and isinstance(doc["budget"], int)
    assert set(doc["classes"][0]) >= {"class", "count", "target", "multiplier", "effective", "capped"}
    assert doc["classes"][3] == {"class": "Wheelchair", "count": 300, "target": 2000, "multiplier": 5.0,
                                 "effective": 1500, "capped": True, "floored": False}


def test_to_arrow_has_one_row_per_class():
    table = solve(EXERCISE, budget=8000, cap=5).to_arrow()
    assert table.column_names == ["class", "count", "target", "effective", "multiplier", "capped", "floored"]
    assert table.column("effective").to_pylist() == [2166, 2167, 2167, 1500]


def test_a_budget_above_every_cap_gives_the_largest_plan_and_says_so():
    plan = solve(EXERCISE, budget=80_000, cap=5)
    assert plan.effective.tolist() == [30_000, 12_500, 6_000, 1_500]
    assert plan.total_effective == 50_000 and not plan.feasible and plan.capped.all()
    assert "more than the cap allows" in plan.warnings[0] and "50,000" in plan.warnings[0]
    assert "at least 8" in plan.warnings[0]  # 80,000 / 10,000 samples


def test_a_budget_below_the_floor_keeps_the_floor_and_says_so():
    plan = solve(EXERCISE, budget=1000, cap=5, floor=0.5)
    assert plan.effective.tolist() == [3000, 1250, 600, 150]
    assert "less than the floor keeps" in plan.warnings[0]


def test_the_floor_binds_the_largest_class():
    plan = solve(EXERCISE, budget=8000, cap=5, floor=0.5)
    assert by_class(plan)["Car"] == 3000 and plan.floored.tolist() == [True, False, False, False]
    assert plan.total_effective == 8000 and (plan.multipliers >= 0.5).all()


def test_a_class_with_no_samples_is_reported_not_planned():
    plan = solve({"Car": 100, "Ghost": 0, "Bike": 10}, cap=5)
    assert by_class(plan)["Ghost"] == 0 and math.isnan(plan.multipliers[1])
    assert any("No samples of Ghost" in w for w in plan.warnings)
    assert plan.total_effective == 110
    assert plan.to_dict()["classes"][1]["multiplier"] is None or math.isnan(plan.to_dict()["classes"][1]["multiplier"])


def test_one_class_takes_the_whole_budget_within_its_cap():
    assert by_class(solve({"Car": 100}, budget=300, cap=5)) == {"Car": 300}
    plan = solve({"Car": 100}, budget=900, cap=5)
    assert by_class(plan) == {"Car": 500} and plan.warnings


def test_sqrt_is_proportional_to_the_square_root_when_nothing_binds():
    plan = solve({"a": 400, "b": 100}, strategy="sqrt", budget=300, cap=5)
    assert plan.effective.tolist() == [200, 100]  # sqrt: 20 : 10


def test_effective_number_interpolates_between_no_change_and_balanced():
    counts = {"a": 1000, "b": 100, "c": 10}
    unchanged = solve(counts, strategy="effective-number", beta=0.0, cap=100)
    assert unchanged.effective.tolist() == [1000, 100, 10]
    near_balanced = solve(counts, strategy="effective-number", beta=0.999999, cap=100)
    balanced = solve(counts, strategy="balanced", cap=100)
    assert np.abs(near_balanced.effective - balanced.effective).max() <= 2
    middle = solve(counts, strategy="effective-number", beta=0.99, cap=100)
    assert middle.effective[0] < 1000 and middle.effective[2] > 10


def test_effective_number_matches_cui_et_al():
    beta, n = 0.99, np.array([1000, 100, 10])
    expected = n * (1 - beta) / (1 - beta ** n)  # n / E(n)
    plan = solve(dict(zip("abc", n.tolist())), strategy="effective-number", beta=beta, cap=1000, budget=10_000)
    assert plan.effective / plan.effective.sum() == pytest.approx(expected / expected.sum(), abs=1e-3)


def test_repeat_factor_follows_lvis():
    # f = 0.9, 0.09, 0.01 of 1,000 images; t = 0.04: r = 1, 1, 2
    plan = solve({"a": 900, "b": 90, "c": 10}, strategy="repeat-factor", threshold=0.04, budget=1010, cap=5,
                 total_images=1000)
    assert plan.effective.tolist() == [900, 90, 20]


def test_repeat_factor_says_when_the_threshold_repeats_nothing():
    plan = solve({"a": 900, "b": 100}, strategy="repeat-factor")
    assert plan.effective.tolist() == [900, 100]
    assert "no class is rare enough" in plan.warnings[0] and "raise `threshold` above 0.1" in plan.warnings[0]


def test_custom_targets_are_met_and_unnamed_classes_keep_their_count():
    plan = solve({"a": 1000, "b": 100, "c": 10}, targets={"b": 300, "c": 50}, cap=5)
    assert plan.spec.strategy == "custom" and plan.budget == 1350
    assert plan.effective.tolist() == [1000, 300, 50]
    capped = solve({"a": 1000, "b": 100, "c": 10}, targets={"b": 300, "c": 200}, cap=5)
    assert capped.effective[2] == 50 and capped.capped[2] and capped.total_effective == 1500


@pytest.mark.parametrize("options, match", [
    ({"cap": 0.5}, r"`cap` must be at least 1\. Got 0\.5 instead\."),
    ({"budget": 0}, r"`budget` must be a positive whole number\. Got 0 instead\."),
    ({"budget": 12.5}, r"`budget` must be a positive whole number"),
    ({"budget": "many"}, r"`budget` must be a number"),
    ({"floor": 1.5}, r"`floor` must be between 0 and 1"),
    ({"strategy": "magic"}, r"`strategy` must be one of \['balanced'"),
    ({"strategy": "effective-number", "beta": 1.0}, r"`beta` must be at least 0 and below 1"),
    ({"strategy": "repeat-factor", "threshold": 0}, r"`threshold` must be above 0"),
    ({"strategy": "custom"}, r"The `custom` strategy needs `targets`"),
    ({"strategy": "sqrt", "targets": {"Car": 1}}, r"`targets` are for the `custom` strategy only"),
    ({"targets": {"Truck": 5}}, r"`targets` names classes the counts do not have: \['Truck'\]"),
    ({"targets": {"Car": -5}}, r"`targets\['Car'\]` must be at least 0"),
    ({"unit": "pixels"}, r"`unit` must be one of \['images', 'instances'\]"),
])
def test_invalid_input_raises_a_clear_error(options, match):
    with pytest.raises(ValueError, match=match):
        solve(EXERCISE, **options)


@pytest.mark.parametrize("counts, match", [
    ({}, r"`counts` must name at least one class"),
    ({"a": -1}, r"`counts\['a'\]` must be a whole number of at least 0"),
    ({"a": 1.5}, r"`counts\['a'\]` must be a whole number"),
    ({"a": 0, "b": 0}, r"`counts` are all 0"),
])
def test_invalid_counts_raise(counts, match):
    with pytest.raises(ValueError, match=match):
        solve(counts)


@pytest.mark.parametrize("name, expected", [
    ("Balanced", "balanced"), ("effective_number", "effective-number"), ("Effective number", "effective-number"),
    ("LVIS", "repeat-factor"), ("repeat_factor", "repeat-factor"), ("square root", "sqrt"),
])
def test_strategy_spellings_are_normalised_once(name, expected):
    assert make_spec(name).strategy == expected


def test_a_mapping_as_strategy_means_custom_targets():
    spec = make_spec({"b": 3, "a": 1})
    assert spec.strategy == "custom" and spec.targets == (("a", 1.0), ("b", 3.0))


@pytest.mark.parametrize("text, expected", [
    ("Car=6000,Pedestrian=2500", {"Car": 6000, "Pedestrian": 2500}),
    (" Car = 6000 , Traffic light=3,", {"Car": 6000, "Traffic light": 3}),
])
def test_parse_counts(text, expected):
    assert parse_counts(text) == expected


@pytest.mark.parametrize("text, match", [
    ("Car:6000", r"`counts` must look like 'Car=6000"), ("Car=-1", r"at least 0"), ("Car=1,Car=2", r"names 'Car' twice"),
    ("", r"must name at least one class"), ("Car=lots", r"must be a number"),
])
def test_parse_counts_errors(text, match):
    with pytest.raises(ValueError, match=match):
        parse_counts(text)


def test_water_fill_is_exact():
    x, lam = water_fill(np.ones(3), np.zeros(3), np.array([10, 100, 100]), 110.0)
    assert x.tolist() == [10, 50, 50] and lam == 50


# --------------------------------------------------------------------------- properties

counts_lists = st.lists(st.integers(0, 5000), min_size=1, max_size=12).filter(lambda c: sum(c) > 0)
strategies = st.sampled_from(["balanced", "sqrt", "effective-number", "repeat-factor"])


@settings(max_examples=300, deadline=None)
@given(counts=counts_lists, strategy=strategies, cap=st.floats(1, 20), floor=st.floats(0, 1),
       budget_share=st.floats(0.01, 25))
@example(counts=[1, 1], strategy="balanced", cap=1.0, floor=1.192092896e-07, budget_share=0.5)  # a floor that rounds away
def test_bounds_hold_and_the_budget_is_met_exactly_when_feasible(counts, strategy, cap, floor, budget_share):
    names = [f"c{i}" for i in range(len(counts))]
    budget = max(1, int(sum(counts) * budget_share))
    plan = solve(dict(zip(names, counts)), strategy=strategy, cap=cap, floor=floor, budget=budget, threshold=0.3)
    n = plan.counts
    with np.errstate(invalid="ignore"):
        assert (plan.effective <= cap * n + 1e-9).all(), "no multiplier above the cap"
        assert (plan.effective >= floor * n - 1e-9).all(), "no multiplier below the floor"
    # whole-number bounds: at least ceil(floor * n) (a tiny positive floor still means 1), at most floor(cap * n)
    low, high = floor * n, cap * n
    lower = np.ceil(low - 1e-9 * np.maximum(low, 1)).sum()
    upper = np.floor(high + 1e-9 * np.maximum(high, 1)).sum()
    if lower <= budget <= upper:
        assert plan.total_effective == budget and plan.feasible
    else:
        assert plan.total_effective == (upper if budget > upper else lower) and plan.warnings
    assert plan.targets.sum() == budget and (plan.effective >= 0).all()
    assert plan.effective.dtype.kind == "i"


def brute_force_maxmin(counts, cap, budget):
    """The lexicographically largest sorted allocation among all integer ones within [0, cap * n]."""
    uppers = [math.floor(cap * n) for n in counts]
    best = None
    for alloc in itertools.product(*(range(u + 1) for u in uppers)):
        if sum(alloc) == budget:
            key = sorted(alloc)
            if best is None or key > best:
                best = key
    return best


@settings(max_examples=150, deadline=None)
@given(counts=st.lists(st.integers(1, 6), min_size=1, max_size=4), cap=st.sampled_from([1, 1.5, 2, 3]),
       data=st.data())
def test_balanced_is_max_min_optimal_against_brute_force(counts, cap, data):
    upper = sum(math.floor(cap * n) for n in counts)
    budget = data.draw(st.integers(1, upper))
    plan = solve({f"c{i}": n for i, n in enumerate(counts)}, strategy="balanced", cap=cap, budget=budget)
    assert sorted(plan.effective.tolist()) == brute_force_maxmin(counts, cap, budget)


@settings(max_examples=200, deadline=None)
@given(counts=st.lists(st.integers(1, 3000), min_size=2, max_size=10), cap=st.floats(1, 10),
       extra=st.floats(0, 10), budget_share=st.floats(0.1, 4))
def test_raising_the_cap_never_lowers_the_smallest_effective_count(counts, cap, extra, budget_share):
    names = [f"c{i}" for i in range(len(counts))]
    budget = max(1, int(sum(counts) * budget_share))
    low = solve(dict(zip(names, counts)), strategy="balanced", cap=cap, budget=budget)
    high = solve(dict(zip(names, counts)), strategy="balanced", cap=cap + extra, budget=budget)
    assert high.effective.min() >= low.effective.min()


@settings(max_examples=100, deadline=None)
@given(counts=st.lists(st.integers(0, 3000), min_size=2, max_size=8).filter(lambda c: sum(c) > 0),
       strategy=strategies, seed=st.integers(0, 1000))
def test_the_plan_does_not_depend_on_the_order_of_the_classes(counts, strategy, seed):
    names = [f"c{i}" for i in range(len(counts))]
    order = np.random.default_rng(seed).permutation(len(counts))
    a = by_class(solve(dict(zip(names, counts)), strategy=strategy, cap=3, threshold=0.2))
    b = by_class(solve({names[i]: counts[i] for i in order}, strategy=strategy, cap=3, threshold=0.2))
    assume(len(set(names)) == len(names))
    assert a == b


@pytest.mark.parametrize("name, data, expected", [
    ("t.csv", b"class,target\nCar,3000\nWheelchair,1200\n", {"Car": 3000.0, "Wheelchair": 1200.0}),
    ("t.csv", b"Name;Target\nCar;3000\n", {"Car": 3000.0}),
    ("t.json", b'{"Car": 3000}', {"Car": 3000.0}),
])
def test_read_targets(name, data, expected):
    assert read_targets(data, name) == expected


@pytest.mark.parametrize("name, data, match", [
    ("t.csv", b"label_name,goal\nCar,3\n", r"needs a class column .* and a `target` column"),
    ("t.csv", b"class,target\nCar,3\nCar,4\n", r"t\.csv:3: 'Car' appears twice"),
    ("t.csv", b"class,target\nCar,-3\n", r"`targets\['Car'\]` must be at least 0"),
    ("t.json", b'{"Car": 3', r"t\.json: not valid JSON"),
    ("t.json", b'[1, 2]', r"must be an object mapping class names to targets"),
])
def test_read_targets_errors(name, data, match):
    with pytest.raises(ValueError, match=match):
        read_targets(data, name)


def test_balanced_without_a_cap_matches_scikit_learn_class_weights():
    from sklearn.utils.class_weight import compute_class_weight

    counts = {"Background": 5712, "Crack": 173, "Spalling": 60, "Efflorescence": 35, "Exposed rebar": 20}
    labels = np.repeat(list(counts), list(counts.values()))
    expected = compute_class_weight("balanced", classes=np.array(list(counts)), y=labels)
    plan = solve(counts, strategy="balanced", cap=1000)
    # whole samples: each multiplier is off by less than one sample of its class
    assert (np.abs(plan.multipliers - expected) < 1 / plan.counts + 1e-12).all()
