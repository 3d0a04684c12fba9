"""The health checklist: every rule in pass, warn and fail on crafted data; settings; the street sample."""
from __future__ import annotations

import math

import pytest

import imbal_core
from imbal_core.dataset import build_dataset
from imbal_core.health import RULES, HealthConfig, check, config_from
from imbal_core.samples import SAMPLES


def make(counts: dict[str, dict[str, int]], empty: dict[str, int] | None = None, classes: list[str] | None = None,
         critical: list[str] | None = None):
    """counts: split -> class -> instances, each in an image of its own (so images = instances);
    empty: split -> images without annotations; classes: the declared classes (default: those named)."""
    names = classes or sorted({c for per in counts.values() for c in per})
    splits, image, category = [], [], []
    for split, per in counts.items():
        for name, n in per.items():
            for _ in range(n):
                image.append(len(splits))
                category.append(names.index(name))
                splits.append(split)
    for split, n in (empty or {}).items():
        splits += [split] * n
    return build_dataset(
        images={"source_id": [str(i) for i in range(len(splits))], "split": splits},
        annotations={"image": image, "category": category},
        categories={"name": names, "critical": [n in (critical or []) for n in names]},
        task="detection", format="test", sources=[],
    )


def balanced(n: int = 200, **more):
    """Two classes with n instances each, split 70 / 15 / 15 with equal shares everywhere."""
    train, val = int(n * 0.7), int(n * 0.15)
    per = {"train": train, "val": val, "test": n - train - val}
    return make({s: {"A": k, "B": k, **more.get(s, {})} for s, k in per.items()})


def status(ds, rule, **settings):
    result = check(ds, **settings).rule(rule)
    return result.status, result


def test_a_healthy_dataset_passes_every_rule():
    report = check(balanced(200))
    assert report.statuses() == {r: "pass" for r in RULES}
    assert report.exit_code == 0 and report.passed


# --------------------------------------------------------------------------- per-split counts


@pytest.mark.parametrize(
    "ds, expected, words",
    [
        (balanced(200), "pass", "Counted for 3 splits: train 280 images / 280 instances"),
        (make({"train": {"A": 5}, "val": {"A": 2}}, empty={"unassigned": 3}), "warn", "3 of 10 images have no split"),
        (make({"train": {"A": 5}}), "warn", "neither a val nor a test split"),
        (make({"val": {"A": 5}, "test": {"A": 5}}), "warn", "There is no train split"),
        (make({"unassigned": {"A": 5}}), "fail", "No image has a split"),
    ],
)
def test_split_counts(ds, expected, words):
    got, result = status(ds, "split_counts")
    assert got == expected and words in result.detail


# --------------------------------------------------------------------------- every class in every split


def test_classes_in_every_split():
    assert status(balanced(200), "classes_in_every_split")[0] == "pass"
    got, result = status(make({"train": {"A": 60, "B": 60}, "val": {"A": 10}, "test": {"A": 10}}), "classes_in_every_split")
    assert got == "fail" and result.classes == ("B",) and "B has none in val, test" in result.detail
    got, result = status(make({"train": {"A": 60}, "val": {"A": 10}}, classes=["A", "Ghost"]), "classes_in_every_split")
    assert got == "warn" and result.classes == ("Ghost",) and "1 declared class without annotations: Ghost" in result.detail
    assert status(make({"unassigned": {"A": 5}}), "classes_in_every_split")[0] == "warn"  # nothing to check


# --------------------------------------------------------------------------- stratification


def skewed(val_b: int, train: int = 1000, val: int = 200):
    # train: `train` images, half A and half B; val: `val` images, val_b of them B (an image holds one class).
    return make({"train": {"A": train // 2, "B": train // 2}, "val": {"A": val - val_b, "B": val_b}})


@pytest.mark.parametrize(
    "val_b, expected, deviation",
    [
        (100, "pass", 0.0),  # B on half of val's images, as in train
        (130, "warn", 0.3),  # 65% vs 50%: +30%, beyond the 25% tolerance and 3.9 sd from chance
        (160, "fail", 0.6),  # 80% vs 50%: +60%, beyond twice it
        (40, "fail", -0.6),
    ],
)
def test_splits_stratified(val_b, expected, deviation):
    got, result = status(skewed(val_b), "splits_stratified")
    cells = {c["class"]: c for c in result.numbers["cells"]}
    # A mirrors B (an image holds one or the other), so both deviate by the same amount
    assert got == expected and cells["B"]["deviation"] == pytest.approx(deviation)
    assert cells["A"]["deviation"] == pytest.approx(-deviation)
    if expected != "pass":
        assert set(result.classes) == {"A", "B"}
        assert f"{cells['B']['deviation']:+.0%}" in result.detail


def test_a_deviation_within_chance_is_not_a_finding():
    # The same +30% on 40 val images (26 of them B against half of train's 200): random assignment of the
    # 240 images gives B 21 of val's 40 on average, sd 2.9, so 26 is 1.7 sd off: noise, not a skewed split.
    got, result = status(skewed(26, train=200, val=40), "splits_stratified")
    cell = next(c for c in result.numbers["cells"] if c["class"] == "B")
    assert got == "pass" and cell["deviation"] == pytest.approx(0.3) and cell["status"] == "pass"
    assert cell["z"] == pytest.approx(5 / math.sqrt(40 * (126 / 240) * (114 / 240) * 200 / 239))
    assert "within chance" in result.detail


def test_stratification_tolerances_are_settings():
    assert status(skewed(130), "splits_stratified", share_tolerance=0.35, share_fail=0.7)[0] == "pass"
    assert status(skewed(160), "splits_stratified", share_tolerance=0.35, share_fail=0.7)[0] == "warn"


def test_too_small_cells_are_listed_not_judged():
    # C expects 40 x 3/203 = 0.6 images in val: any count there is noise
    ds = make({"train": {"A": 100, "B": 100, "C": 3}, "val": {"A": 20, "B": 20, "C": 3}})
    got, result = status(ds, "splits_stratified")
    assert got == "pass" and "C in val" in result.numbers["too_small"] and "Too few to judge: C in val" in result.detail


def test_a_split_too_small_to_judge_warns():
    ds = make({"train": {"A": 100, "B": 100}, "val": {"A": 20, "B": 20}, "test": {"A": 2, "B": 2}})
    got, result = status(ds, "splits_stratified")
    assert got == "warn" and "Not judged in test" in result.detail


def test_stratification_needs_two_splits():
    got, result = status(make({"train": {"A": 5}}), "splits_stratified")
    assert got == "warn" and result.detail.startswith("Not checked")
    # without a train split the largest split is the reference
    got, result = status(make({"val": {"A": 100, "B": 100}, "test": {"A": 40, "B": 10}}), "splits_stratified")
    assert got == "fail" and result.numbers["reference"] == "val" and "of val images" in result.detail


# --------------------------------------------------------------------------- minimum instances


@pytest.mark.parametrize(
    "n_b, expected, classes",
    [(120, "pass", ()), (60, "warn", ("B",)), (30, "fail", ("B",))],
)
def test_min_instances(n_b, expected, classes):
    ds = make({"train": {"A": 200, "B": n_b}})
    got, result = status(ds, "min_instances")
    assert got == expected and result.classes == classes
    assert result.numbers["instances"]["B"] == n_b


def test_a_dataset_without_annotations_fails_the_gate():
    ds = make({"train": {}}, empty={"train": 3, "val": 2}, classes=["A"])
    report = check(ds)
    assert report.rule("min_instances").status == "fail" and report.rule("long_tail_ratio").status == "warn"
    assert report.rule("classes_in_every_split").classes == ("A",) and report.exit_code == 1


def test_min_instances_floor_and_comfortable_are_settings():
    ds = make({"train": {"A": 200, "B": 30}})
    assert status(ds, "min_instances", min_instances=20, comfortable_instances=25)[0] == "pass"
    got, result = status(ds, "min_instances", min_instances=40, comfortable_instances=100)
    assert got == "fail" and result.detail == "1 class below 40 instances: B 30."


# --------------------------------------------------------------------------- critical classes


@pytest.mark.parametrize(
    "n_b, expected",
    [(600, "pass"), (400, "warn"), (100, "fail")],
)
def test_critical_classes_meet_their_own_minimum(n_b, expected):
    ds = make({"train": {"A": 1000, "B": n_b}})
    got, result = status(ds, "critical_min_instances", critical=["B"])
    assert got == expected and result.numbers["floor"] == 300
    assert status(ds, "min_instances")[0] == "pass"  # the ordinary floor is met either way


def test_critical_flags_come_from_the_export_unless_given():
    ds = make({"train": {"A": 1000, "B": 100}}, critical=["B"])
    assert status(ds, "critical_min_instances")[0] == "fail"
    assert status(ds, "critical_min_instances", critical=[])[0] == "pass"
    got, result = status(make({"train": {"A": 10}}), "critical_min_instances")
    assert got == "pass" and "No class is flagged critical" in result.detail


def test_unknown_critical_classes_are_named():
    with pytest.raises(ValueError, match=r"`critical` names classes the dataset does not have: \['Nope'\]"):
        check(balanced(), critical=["Nope"])


# --------------------------------------------------------------------------- long-tail ratio


@pytest.mark.parametrize(
    "n_small, expected, driving",
    [(600, "pass", ()), (200, "warn", ("B", "A")), (50, "fail", ("B", "A"))],
)
def test_long_tail_ratio(n_small, expected, driving):
    # A 3,000 against B: ratio 5 (pass), 15 (warn, above 10), 60 (fail, above 50)
    ds = make({"train": {"A": 3000, "B": n_small, "C": 2500}})
    got, result = status(ds, "long_tail_ratio")
    assert got == expected and result.classes == driving
    assert result.numbers["ratio"] == pytest.approx(3000 / n_small)


def test_the_ratio_lists_every_class_below_the_cut():
    ds = make({"train": {"A": 6000, "B": 100, "C": 110, "D": 5000}})
    got, result = status(ds, "long_tail_ratio", max_ratio=50)
    assert got == "fail" and result.classes == ("B", "C", "A")  # below 6000 / 50 = 120
    assert "Below 1/50 of A (120 instances): B 100, C 110." in result.detail


# --------------------------------------------------------------------------- settings and output


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"min_instances": 0}, r"`min_instances` must be a whole number of at least 1. Got 0 instead."),
        ({"min_instances": 2.5}, r"`min_instances` must be a whole number of at least 1. Got 2.5 instead."),
        ({"min_instances": 200}, r"`comfortable_instances` must be at least `min_instances` \(200\). Got 100 instead."),
        ({"max_ratio": 0.5, "warn_ratio": 0.5}, r"`max_ratio` must be a number of at least 1. Got 0.5 instead."),
        ({"share_tolerance": -0.1}, r"`share_tolerance` must be a number of at least 0. Got -0.1 instead."),
        ({"critical": "Wheelchair"}, r"`critical` must be a list of class names. Got the text 'Wheelchair' instead."),
    ],
)
def test_settings_are_validated(settings, match):
    with pytest.raises(ValueError, match=match):
        HealthConfig(**settings)


def test_unknown_settings_are_named():
    with pytest.raises(ValueError, match=r"Unknown health settings \['min'\]"):
        check(balanced(), min=3)
    with pytest.raises(ValueError, match=r"Unknown health settings \['x'\]"):
        config_from({"x": 1})


def test_from_limits_derives_the_rest():
    c = HealthConfig.from_limits(min_instances=80, max_ratio=8, share_tolerance=0.3, critical_min_instances=700)
    assert (c.comfortable_instances, c.warn_ratio, c.share_fail, c.critical_comfortable_instances) == (160, 8, 0.6, 700)
    assert HealthConfig.from_limits() == HealthConfig()


def test_report_shapes():
    report = check(make({"train": {"A": 3000, "B": 30}, "val": {"A": 10}}))
    d = report.to_dict()
    assert d["status"] == "fail" and [r["rule"] for r in d["rules"]] == list(RULES)
    assert set(d["rules"][0]) >= {"rule", "status", "detail", "classes"}
    assert report.exit_code == 1 and report.to_pandas()["status"].tolist() == [r["status"] for r in d["rules"]]


def test_street_sample_verdicts():
    ds = imbal_core.load(SAMPLES["street"].files())
    report = check(ds)
    assert report.statuses() == {
        "split_counts": "pass", "classes_in_every_split": "pass", "splits_stratified": "fail",
        "min_instances": "pass", "critical_min_instances": "pass", "long_tail_ratio": "fail",
    }
    assert report.exit_code == 1
    # Counted from sample_data/street/annotations.json with pandas (images holding the class per split).
    # Worst cell: Truck in 99 of 430 val images vs 316 of 2,096 train images, +52.7% (fail beyond 50%), 4.1 sd
    # from random assignment; Traffic light in test (88 of 479 vs 527 of 2,096: -27%, 3.1 sd) warns. Stroller in
    # test (-36%, 2.6 sd) and Bus in val (-26%, 1.8 sd) are beyond 25% but within chance.
    stratified = report.rule("splits_stratified")
    assert stratified.classes == ("Truck", "Traffic light")
    worst = stratified.numbers["cells"][0]
    assert (worst["class"], worst["split"], worst["status"]) == ("Truck", "val", "fail")
    assert worst["deviation"] == pytest.approx((99 / 430) / (316 / 2096) - 1) and worst["deviation"] > 0.5
    pooled = (99 + 316) / (430 + 2096)
    sd = math.sqrt(430 * pooled * (1 - pooled) * 2096 / (430 + 2096 - 1))
    assert worst["z"] == pytest.approx((99 - 430 * pooled) / sd)
    stroller = next(c for c in stratified.numbers["cells"] if (c["class"], c["split"]) == ("Stroller", "test"))
    assert stroller["deviation"] < -0.25 and abs(stroller["z"]) < 3 and stroller["status"] == "pass"
    # Car 10,300 / Wheelchair 200 = 51.5: above 50 (fail); only Wheelchair is below 10,300 / 50 = 206
    ratio = report.rule("long_tail_ratio")
    assert ratio.numbers["ratio"] == pytest.approx(10300 / 200)
    assert ratio.classes == ("Wheelchair", "Car")
    assert report.rule("min_instances").detail == "Every class has at least 100 instances (smallest: Wheelchair 200)."
    flagged = check(ds, critical=["Wheelchair"]).rule("critical_min_instances")
    assert flagged.status == "fail" and flagged.detail == "1 critical class below 300 instances: Wheelchair 200."
