"""Split generation: the optimiser's move scores are exact, groups never straddle, sizes follow the ratios, the same
seed gives the same splits, the label-distribution error beats a random split; the conditions left free are named."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from imbal_core.dataset import build_dataset
from imbal_core.splits import _search, blocks_of, check_ratios, label_distribution_error, make_splits
from imbal_core.splits._search import Family, Search

from .conftest import split_of


def generated(seed, n=600, groups=40, classes=6):
    """Multi-label detection data: 1-5 objects per image from a long tail, a condition, and sequences."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, classes + 1) ** 1.3
    p /= p.sum()
    k = rng.integers(1, 6, n)
    image = np.repeat(np.arange(n), k)
    category = rng.choice(classes, size=len(image), p=p)
    group = rng.integers(0, groups, n)
    return build_dataset(
        images={"file_name": [f"img_{i}.jpg" for i in range(n)], "group": [f"seq_{g}" for g in group],
                "time_of_day": [["day", "night"][g % 2] for g in group]},
        annotations={"image": image, "category": category},
        categories={"name": [f"class_{c}" for c in range(classes)]},
        task="detection", format="coco", sources=["generated"], conditions=("time_of_day",))


def instance_error(ds, names):
    ic = ds.image_classes
    splits = np.array(split_of(ds), dtype=object)
    counts = np.zeros((len(names), ds.categories.num_rows))
    for row, name in enumerate(names):
        mask = splits[ic.column("image_id").to_numpy()] == name
        np.add.at(counts[row], ic.column("category_id").to_numpy()[mask], ic.column("instances").to_numpy()[mask])
    return label_distribution_error(counts)


# --------------------------------------------------------------------------- the optimiser


@settings(max_examples=20, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), dense=st.booleans())
def test_vectorised_move_scores_equal_exact_recomputation(seed, dense):
    # the dense path (small problems) and the sparse one (prefix sums over breakpoints) against brute force
    rng = np.random.default_rng(seed)
    blocks, features = 30, 7
    matrix = sp.csr_matrix(rng.poisson(0.8, (blocks, features)).astype(float))
    families = [Family("a", matrix, 1.0, guard_missing=True), Family("b", sp.csr_matrix(np.eye(3)[rng.integers(0, 3, blocks)]))]
    old = _search.DENSE_CELLS
    _search.DENSE_CELLS = 10**9 if dense else 0
    try:
        search = Search(families, rng.integers(1, 4, blocks).astype(float), np.array([0.6, 0.2, 0.2]), 0.01,
                        rng.integers(0, 3, blocks))
        for s, t in [(0, 1), (2, 0), (1, 2)]:
            rows = np.flatnonzero(search.assign == s)
            if not len(rows):
                continue
            fast = search._move_deltas(rows, s, t)
            before = search.cost() * search.S
            exact = []
            for b in rows:
                trial = Search(families, search.sizes, search.ratios, search.tolerance, search.assign)
                trial._apply_move(int(b), s, t)
                exact.append(trial.cost() * trial.S - before)
            assert fast == pytest.approx(np.array(exact), abs=1e-9)
    finally:
        _search.DENSE_CELLS = old


def test_local_search_never_makes_the_objective_worse():
    rng = np.random.default_rng(1)
    matrix = sp.csr_matrix(rng.poisson(1.0, (200, 10)).astype(float))
    families = [Family("a", matrix, 1.0, guard_missing=True)]
    sizes = np.ones(200)
    start = _search.initial_assignment(families, sizes, np.array([0.8, 0.1, 0.1]), np.random.default_rng(0))
    search = Search(families, sizes, np.array([0.8, 0.1, 0.1]), 0.005, start)
    first = search.cost()
    search.run(50, np.random.default_rng(0))
    assert search.cost() < first


# --------------------------------------------------------------------------- make_splits



@pytest.mark.parametrize("seed", [3, 5, 9])  # 5 and 9 stopped short when only the best 16 blocks a side were swapped
def test_with_few_blocks_the_search_ends_where_no_move_or_swap_helps(seed):
    # a few dozen groups (the street sample has 73 drives): every swap is scored, so the result is a local optimum
    # for single moves and for swaps, checked here by brute force over every move and every pair of blocks
    rng = np.random.default_rng(seed)
    blocks = 70
    families = [Family("a", sp.csr_matrix(rng.poisson(1.5, (blocks, 10)).astype(float)), 1.0, guard_missing=True)]
    sizes = rng.integers(5, 60, blocks).astype(float)
    ratios = np.array([0.8, 0.1, 0.1])
    start = _search.initial_assignment(families, sizes, ratios, np.random.default_rng(seed))
    search = Search(families, sizes, ratios, 0.005, start)
    search.run(400, np.random.default_rng(seed))
    final = search.cost()

    def cost_of(assign):
        return Search(families, sizes, ratios, 0.005, assign).cost()

    for b in range(blocks):
        for t in range(3):
            if t != search.assign[b]:
                moved = search.assign.copy()
                moved[b] = t
                assert cost_of(moved) >= final - 1e-12
    for i in range(blocks):
        for j in range(i + 1, blocks):
            if search.assign[i] != search.assign[j]:
                swapped = search.assign.copy()
                swapped[i], swapped[j] = swapped[j], swapped[i]
                assert cost_of(swapped) >= final - 1e-12

@settings(max_examples=6, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000))
def test_groups_never_straddle_and_sizes_follow_the_ratios(seed):
    ds = generated(seed)
    result = make_splits(ds, (0.7, 0.2, 0.1), ("class", "time_of_day"), seed=seed, rounds=2)
    groups = ds.images.column("group").to_pylist()
    seen: dict[str, str] = {}
    for g, s in zip(groups, split_of(result.dataset)):
        assert seen.setdefault(g, s) == s, f"group {g} is in {seen[g]} and {s}"
    shares = dict(zip(result.sizes.column("split").to_pylist(), result.sizes.column("share").to_pylist()))
    # groups of ~15 images: a split may be off by about one group
    assert shares == pytest.approx({"train": 0.7, "val": 0.2, "test": 0.1}, abs=0.03)
    assert result.health.leaks.num_rows == 0 and result.blocks == len(set(groups))


@settings(max_examples=6, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000))
def test_beats_a_random_split_on_label_distribution_error(seed):
    ds = generated(seed, groups=10**6)  # no shared groups: every image its own
    result = make_splits(ds, (0.8, 0.1, 0.1), seed=seed, group_by=None, rounds=2)
    rng = np.random.default_rng(seed)
    random = replace(ds, images=ds.images)  # the same images, randomly split at the same ratios
    order = rng.permutation(ds.num_images)
    names = np.empty(ds.num_images, dtype=object)
    cut = np.round(np.cumsum([0.8, 0.1]) * ds.num_images).astype(int)
    for name, part in zip(("train", "val", "test"), np.split(order, cut)):
        names[part] = name
    from imbal_core.splits import apply_splits
    random = apply_splits(ds, names)
    mine = result.label_distribution_error["instances"]
    assert mine == pytest.approx(instance_error(result.dataset, ("train", "val", "test")))
    assert mine < instance_error(random, ("train", "val", "test"))


def test_the_same_seed_gives_the_same_splits(street):
    a = make_splits(street, "0.8,0.1,0.1", seed=3, rounds=2)
    b = make_splits(street, [0.8, 0.1, 0.1], seed=3, rounds=2)
    assert split_of(a.dataset) == split_of(b.dataset)
    # The seed only breaks ties in the starting stratification (and picks the kicks, with more rounds): with 73
    # drives to place, two seeds may reach the same optimum (3 and 4 do), but the seed must matter: four seeds
    # do not all give one split.
    others = [make_splits(street, [0.8, 0.1, 0.1], seed=s, rounds=2) for s in (4, 5, 6)]
    assert len({tuple(split_of(r.dataset)) for r in [a, *others]}) > 1


def test_street_is_split_by_drive_and_beats_its_own_splits(street):
    result = make_splits(street, (0.8, 0.1, 0.1), seed=0)
    assert result.group_by == "group" and result.blocks == 73
    assert result.health.leaks.num_rows == 0 and result.health.passed
    # the sample's own per-drive splits: 0.00751 (computed with pandas in test_check.py); the optimiser, moving the
    # same 73 drives, gets under a third of that
    assert result.label_distribution_error["instances"] < 0.0025 < result.before["instances"] / 3
    assert not any(v.missing for v in result.health.verdicts)
    doc = result.to_dict()
    assert doc["splits"] == ["train", "val", "test"] and doc["group_by"] == "group" and len(doc["sizes"]) == 3


def test_two_ratios_name_train_and_val(street):
    result = make_splits(street, (0.9, 0.1), seed=0, rounds=1)
    assert set(split_of(result.dataset)) == {"train", "val"}


def test_images_with_the_same_file_name_stay_together():
    ds = generated(0, n=60)
    names = ds.images.column("file_name").to_pylist()
    names[5] = names[50]  # a duplicate in another sequence
    import pyarrow as pa
    ds = replace(ds, images=ds.images.set_column(ds.images.schema.get_field_index("file_name"), "file_name", pa.array(names)))
    block = blocks_of(ds, None)
    assert block[5] == block[50] and len(set(block)) == 59
    groups = ds.images.column("group").to_pylist()
    linked = blocks_of(ds, "group")
    assert linked[5] == linked[50] and all(linked[i] == linked[5] for i, g in enumerate(groups) if g in (groups[5], groups[50]))


@pytest.mark.parametrize("kwargs, match", [
    ({"ratios": (0.8, 0.3)}, r"`ratios` must add up to 1. Got 0.8 \+ 0.3 = 1.1 instead."),
    ({"ratios": (1.0,)}, "between 2 and 10 splits"),
    ({"ratios": (0.5, 0.0, 0.5)}, r"each be a number between 0 and 1 \(exclusive\). Got 0.0"),
    ({"ratios": "0.8,x"}, "numbers separated by commas"),
    ({"ratios": (0.5, 0.5), "names": ("a", "a")}, "must be distinct"),
    ({"ratios": (0.25,) * 4}, "`names` must be given for 4 splits"),
    ({"stratify_by": ("class", "season")}, r"`stratify_by` may be 'class' or a condition: \['time_of_day'\]. Got 'season'"),
    ({"stratify_by": ("class", "group")}, r"`stratify_by` may be 'class' or a condition: \['time_of_day'\]. Got 'group'"),
    ({"group_by": "season"}, r"`group_by` may be 'group' \(or the export's own name for it: sequence, video, site "
                             r"\.\.\.\) or a condition: \['time_of_day'\]. Got 'season'"),
    ({"seed": -1}, "`seed` must be a whole number of at least 0. Got -1"),
    ({"tolerance": 1.5}, r"`tolerance` must be a number from 0 up to 1. Got 1.5"),
    ({"group_by": "time_of_day", "ratios": (0.5, 0.25, 0.25)}, "form only 2 group"),
])
def test_bad_arguments_are_refused_with_a_message(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_splits(generated(0, n=50), **kwargs)


def test_the_exports_own_names_for_the_group_and_conditions():
    # `generated` data keeps its sequences in `group`; an export would have called the field `sequence` (or
    # `video_id` ...), and its condition `Time of day`: those names give the same splits
    ds = generated(0, n=200)
    own = make_splits(ds, (0.8, 0.2), ("class", "Time of day"), group_by="sequence", seed=0, rounds=1)
    canonical = make_splits(ds, (0.8, 0.2), ("class", "time_of_day"), group_by="group", seed=0, rounds=1)
    assert (own.group_by, own.stratify_by) == ("group", ("class", "time_of_day"))
    assert split_of(own.dataset) == split_of(canonical.dataset)
    assert make_splits(ds, (0.8, 0.2), group_by="Video_ID", seed=0, rounds=1).group_by == "group"


def test_check_ratios_names_the_splits():
    assert check_ratios("0.8, 0.2") == ((0.8, 0.2), ("train", "val"))
    assert check_ratios([0.5, 0.5], ["a", "b"])[1] == ("a", "b")




# --------------------------------------------------------------------------- conditions left free


def with_divergences(result, divergences):
    """``result`` with each new split's condition divergences replaced (one dict per split)."""
    verdicts = tuple(replace(v, condition_divergence=d) for v, d in zip(result.health.verdicts, divergences))
    return replace(result, health=replace(result.health, verdicts=verdicts))


def test_drifting_conditions_are_the_free_ones_beyond_the_checks_limit():
    result = make_splits(generated(0, n=200), (0.5, 0.5), ("class", "time_of_day"), seed=0, rounds=1)
    assert result.health.settings["js_warn"] == 0.01
    # rows = the two new splits; time_of_day is kept in proportion, so it never counts as drifting;
    # weather is at the limit (not beyond it), region has no values in the first split (NaN)
    hand_made = with_divergences(result, [
        {"time_of_day": 0.5, "camera": 0.0, "weather": 0.01, "region": math.nan},
        {"time_of_day": 0.5, "camera": 0.02, "weather": 0.0, "region": 0.3},
    ])
    assert hand_made.drifting_conditions() == ("camera", "region")
    assert with_divergences(result, [{"camera": 0.001}, {"camera": 0.0}]).drifting_conditions() == ()


def test_street_conditions_drift_unless_kept_in_proportion(street):
    # each drive is filmed by one camera, and drives are placed whole: left free, val's camera mix is off (JS ~0.06)
    free = make_splits(street, (0.8, 0.1, 0.1), seed=0, rounds=1)
    assert "camera" in free.drifting_conditions()
    kept = make_splits(street, (0.8, 0.1, 0.1), ("class", "camera"), seed=0, rounds=1)
    assert "camera" not in kept.drifting_conditions()
    every = make_splits(street, (0.8, 0.1, 0.1), ("class", *street.conditions), seed=0, rounds=1)
    assert every.drifting_conditions() == ()
