"""Split health: shares, divergence and chi-square against scipy, missing classes, and leakage (groups that
straddle splits, file names found in several splits) flagged on a deliberately leaky split."""
from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

import imbal_core
from imbal_core.dataset import DICT_STRING, build_dataset
from imbal_core.splits import check_splits, js_divergence, label_distribution_error


def make(objects, splits, groups=None, file_names=None, classes=None):
    """One image per entry of ``objects`` (a list of class names), with its split (and group, file name)."""
    classes = classes or sorted({c for o in objects for c in o})
    n = len(objects)
    image = [i for i, o in enumerate(objects) for _ in o]
    category = [classes.index(c) for o in objects for c in o]
    return build_dataset(
        images={"file_name": file_names or [f"f{i}.jpg" for i in range(n)], "split": splits, "group": groups},
        annotations={"image": np.array(image, dtype=np.int64), "category": np.array(category, dtype=np.int64)},
        categories={"name": classes}, task="classification", format="csv", sources=["test"])


def with_splits(ds, splits):
    images = ds.images.set_column(ds.images.schema.get_field_index("split"), "split",
                                  pa.array(splits, pa.string()).dictionary_encode().cast(DICT_STRING))
    from dataclasses import replace
    return replace(ds, images=images, key=None)


@pytest.mark.parametrize("counts, expected", [
    ([[10, 10], [5, 5]], 0.0),  # same shares
    ([[8, 2], [2, 8]], 0.3),  # whole 50/50; splits 80/20 and 20/80: |0.3| everywhere
    ([[10, 0], [0, 0]], 0.0),  # an empty split is left out
    ([[4, 0, 0], [0, 4, 0]], 0.5),  # class 3 has no data: left out; whole 50/50, splits 100/0 and 0/100
])
def test_label_distribution_error(counts, expected):
    assert label_distribution_error(np.array(counts)) == pytest.approx(expected)


def test_label_distribution_error_refuses_a_vector():
    with pytest.raises(ValueError, match="must be a 2-D array"):
        label_distribution_error(np.array([1, 2]))


def test_js_divergence_is_base_2_and_bounded():
    assert js_divergence([1, 0], [0, 1]) == pytest.approx(1.0)
    assert js_divergence([3, 3], [1, 1]) == pytest.approx(0.0)
    p, q = np.array([0.7, 0.2, 0.1]), np.array([0.5, 0.3, 0.2])
    m = (p + q) / 2
    assert js_divergence(p, q) == pytest.approx((stats.entropy(p, m, base=2) + stats.entropy(q, m, base=2)) / 2)
    assert math.isnan(js_divergence([0, 0], [1, 1]))


def test_shares_chi_square_and_missing_classes_on_a_tiny_dataset():
    # train: A A A B C; val: A B  (C is missing from val but has 1 image: too rare for every split)
    ds = make([["A"], ["A"], ["A"], ["B"], ["C"], ["A"], ["B"]], ["train"] * 5 + ["val"] * 2)
    health = check_splits(ds, group_by=None)  # 2 val images: too few for the class shares to be judged
    rows = {(r["class"], r["split"]): r for r in health.classes.to_pylist()}
    assert rows[("A", "val")]["share"] == pytest.approx(0.5) and rows[("A", "val")]["whole_share"] == pytest.approx(4 / 7)
    val = health.verdict("val")
    assert val.missing == ("C",) and val.status == "warn" and "too rare for every split" in val.reasons[0]
    assert "too few images to judge the class shares" in val.reasons[1] and health.stratification.status == "warn"
    chi2, p, _, _ = stats.chi2_contingency(np.array([[1, 1, 0], [3, 1, 1]]), correction=False)
    assert (val.chi2, val.p_value) == (pytest.approx(chi2), pytest.approx(p))


def test_a_class_that_could_be_everywhere_but_is_missing_fails():
    ds = make([["A", "B"]] * 6 + [["A"]] * 4, ["train"] * 6 + ["val"] * 4)
    health = check_splits(ds, group_by=None)
    assert health.verdict("val").status == "fail" and health.verdict("val").missing == ("B",)
    assert not health.passed and health.status == "fail"


def test_the_street_splits_do_not_leak_but_val_is_not_stratified(street):
    health = check_splits(street)
    assert health.leaks.num_rows == 0 and health.duplicates.num_rows == 0
    assert {v.split for v in health.verdicts} == {"train", "val", "test"}
    # Truck is on 99 of val's 430 images against 316 of train's 2,096: +53%, 4 sd beyond chance (as `imbal check`)
    val, test = health.verdict("val"), health.verdict("test")
    assert not health.passed and val.status == "fail" and health.stratification.status == "fail"
    assert any("Truck +53%" in r for r in val.reasons) and val.worst[0] == "Truck 23.0% vs 15.1% (+53%)"
    assert test.status == "warn" and any("Traffic light -27%" in r for r in test.reasons)
    assert health.verdict("train").status == "warn" and health.verdict("train").worst == ()  # the reference
    # 0.00751 computed with pandas from the JSON: the mean over the 3 splits and 10 classes of
    # |class share of the split's instances - class share of all instances|
    assert health.label_distribution_error == pytest.approx(0.00751, abs=1e-5)


def test_a_deliberately_leaky_split_is_flagged(street):
    splits = street.images.column("split").combine_chunks().dictionary_decode().to_pylist()
    groups = street.images.column("group").to_pylist()
    names = street.images.column("file_name").to_pylist()
    train_drive = next(g for g, s in zip(groups, splits) if s == "train")
    frames = [i for i, g in enumerate(groups) if g == train_drive]
    for i in frames[: len(frames) // 2]:  # half of a training drive goes to test
        splits[i] = "test"
    val_image = splits.index("val")
    names[val_image] = names[frames[-1]]  # a training frame duplicated into val
    leaky = with_splits(street, splits)
    from dataclasses import replace
    images = leaky.images.set_column(leaky.images.schema.get_field_index("file_name"), "file_name", pa.array(names))
    leaky = replace(leaky, images=images)
    health = check_splits(leaky)
    assert not health.passed
    assert health.leaks.to_pylist()[0]["group"] == train_drive and health.leaks.to_pylist()[0]["splits"] == "train, test"
    assert health.duplicates.to_pylist() == [{"file_name": names[frames[-1]], "splits": "train, val", "images": 2}]
    train, val, test = (health.verdict(s) for s in ("train", "val", "test"))
    assert (train.status, val.status, test.status) == ("fail", "fail", "fail")
    assert train.leaked_groups == 1 and test.leaked_groups == 1 and val.leaked_groups == 0
    assert val.duplicate_files == 1 and any("file names also in another split" in r for r in val.reasons)
    assert any("group groups also in another split" in r for r in test.reasons)


def test_a_skewed_split_warns_and_names_the_worst_class():
    # val: 100 A images and 50 B (A on 66.7%) against train's 400 A and 450 B (A on 47.1%): +42%, 4.4 sd
    objects = [["A"]] * 500 + [["B"]] * 500
    splits = ["train"] * 400 + ["val"] * 100 + ["train"] * 450 + ["val"] * 50
    health = check_splits(make(objects, splits), group_by=None)
    val = health.verdict("val")
    assert val.status == "warn" and val.worst[0] == "A 66.7% vs 47.1% (+42%)"
    assert val.reasons == ("class share of images off train's beyond ±25%: A +42%, B -37%",)
    assert check_splits(make(objects, splits), group_by=None, tolerance=0.5).verdict("val").status == "pass"


def test_fewer_than_two_splits_is_said_not_checked():
    health = check_splits(make([["A"], ["B"]], ["unassigned", "unassigned"]), group_by=None)
    assert health.verdicts == () and health.passed and "every image is unassigned" in health.message
    one = check_splits(make([["A"], ["B"], ["A"]], ["train", "train", "unassigned"]), group_by=None)
    assert "Only one split (train)" in one.message and "1 images are unassigned" in one.message


@pytest.mark.parametrize("kwargs, match", [
    ({"group_by": "season"}, r"`group_by` may be 'group' \(or the export's own name for it: sequence, video, site "
                             r"\.\.\.\) or a condition \(it has none\). Got 'season' instead."),
    ({"group_by": "drive"}, r"`group_by` names the group field 'drive', but no image of this export has a group"),
    ({"js_warn": 2.0}, r"`js_warn` must be a number between 0 and 1. Got 2.0 instead."),
    ({"tolerance": -1}, r"`tolerance` must be a number of at least 0. Got -1 instead."),
    ({"tolerance": 0.3, "fail_tolerance": 0.2}, r"`fail_tolerance` must be at least `tolerance` \(0.3\). Got 0.2"),
    ({"unit": "pixels"}, "needs masks or boxes"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_splits(make([["A"], ["B"]], ["train", "val"]), **kwargs)


def test_the_group_and_conditions_go_by_the_exports_own_names(street):
    # the street export's group field is `sequence` (it became `group`); its conditions are `time_of_day` ...
    by_name = check_splits(street, group_by="sequence")
    assert by_name.group_by == "group" and by_name.to_dict() == check_splits(street).to_dict()
    assert check_splits(street, group_by="Time of day").group_by == "time_of_day"
    with pytest.raises(ValueError, match=r"`group_by` may be 'group' .* or a condition: \['time_of_day', 'weather', "
                                         r"'camera'\]. Got 'season' instead."):
        check_splits(street, group_by="season")


def test_condition_shares_and_divergence(street):
    health = check_splits(street)
    rows = [r for r in health.conditions.to_pylist() if r["condition"] == "time_of_day" and r["split"] == "val"]
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    assert set(health.verdict("val").condition_divergence) == {"time_of_day", "weather", "camera"}
    doc = health.to_dict()
    assert doc["status"] == health.status and len(doc["verdicts"]) == 3 and doc["leaks"] == []


@pytest.mark.realdata
def test_roboflow_copies_stay_in_one_split(realdata):
    ds = imbal_core.load(realdata / "garbage_yolo" / "data.yaml")
    health = check_splits(ds)
    assert health.group_by == "group" and health.leaks.num_rows == 0
    assert {v.split for v in health.verdicts} == {"train", "val"}
