"""Class x condition tables, residuals and tests (parity with scipy and Agresti), and the hidden-subgroup finder:
planted gaps found and ranked first, silence on independent data."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.stats.contingency import association, expected_freq

import imbal_core
from imbal_core.dataset import build_dataset
from imbal_core.strata import OTHER, _independence, cell_counts, hidden_subgroups, strata_table

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
STREET = ROOT / "sample_data" / "street" / "annotations.json"


def make(rows, conditions=("time_of_day",), classes=None, splits=None, groups=None, task="detection"):
    """A dataset from ``rows`` = one tuple per image: (condition values..., [class names of its objects])."""
    classes = classes or sorted({c for r in rows for c in r[-1]})
    n = len(rows)
    images = {"file_name": [f"img_{i:05d}.jpg" for i in range(n)], "width": [640] * n, "height": [480] * n}
    for k, name in enumerate(conditions):
        images[name] = [r[k] for r in rows]
    if splits is not None:
        images["split"] = splits
    if groups is not None:
        images["group"] = groups
    image, category = [], []
    for i, r in enumerate(rows):
        for c in r[-1]:
            image.append(i)
            category.append(classes.index(c))
    m = len(image)
    annotations = {"image": np.array(image, dtype=np.int64), "category": np.array(category, dtype=np.int64),
                   "x": [1.0] * m, "y": [1.0] * m, "w": [10.0] * m, "h": [10.0] * m}
    return build_dataset(images=images, annotations=annotations, categories={"name": classes}, task=task,
                         format="coco", sources=["test"], conditions=conditions)


def independent(seed, n=3000, classes=("Car", "Person", "Bike", "Bus", "Rare"), values=("day", "night", "dusk"),
                p_class=(0.5, 0.3, 0.1, 0.07, 0.03), p_value=(0.6, 0.3, 0.1), splits=True):
    """Images whose condition is drawn independently of their classes (1-4 objects each)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        k = rng.integers(1, 5)
        objects = list(rng.choice(classes, size=k, p=p_class))
        rows.append((str(rng.choice(values, p=p_value)), objects))
    split = list(rng.choice(["train", "val", "test"], size=n, p=[0.7, 0.15, 0.15])) if splits else None
    return make(rows, classes=list(classes), splits=split)


@pytest.fixture(scope="module")
def street():
    return imbal_core.load(STREET, cache=False)


# --------------------------------------------------------------------------- tables against references


def test_adjusted_residuals_match_agresti():
    # rows = gender, cols = party (Agresti, Categorical Data Analysis: adjusted residuals 4.50, 0.70, -5.32)
    observed = np.array([[762, 327, 468], [484, 239, 477]], dtype=float)
    expected, residuals, test = _independence(observed, 1.0, "party", None)
    assert np.allclose(residuals.round(2), [[4.50, 0.70, -5.32], [-4.50, -0.70, 5.32]])
    assert expected == pytest.approx(expected_freq(observed))
    assert test.chi2 == pytest.approx(30.07, abs=0.01) and test.dof == 2


@pytest.mark.parametrize("observed", [
    [[10, 20, 30], [20, 20, 20]],
    [[5, 0, 12], [7, 9, 3], [1, 2, 30]],
    [[100, 1], [3, 50]],
])
def test_chi_square_and_cramers_v_match_scipy(observed):
    observed = np.array(observed, dtype=float)
    expected, residuals, test = _independence(observed, 1.0, "c", None)
    chi2, p, dof, exp = stats.chi2_contingency(observed, correction=False)
    assert (test.chi2, test.p_value, test.dof) == (pytest.approx(chi2), pytest.approx(p), dof)
    assert test.cramers_v == pytest.approx(association(observed.astype(int), method="cramer"))
    assert expected == pytest.approx(exp)
    # adjusted residuals from their definition on scipy's expected counts
    n, rows, cols = observed.sum(), observed.sum(1, keepdims=True), observed.sum(0, keepdims=True)
    reference = (observed - exp) / np.sqrt(exp * (1 - rows / n) * (1 - cols / n))
    assert residuals == pytest.approx(reference)


def test_table_from_a_tiny_dataset():
    # 4 day images (Car, Car+Bus, Car, Bus) and 2 night images (Car, Car+Car)
    ds = make([("day", ["Car"]), ("day", ["Car", "Bus"]), ("day", ["Car"]), ("day", ["Bus"]),
               ("night", ["Car"]), ("night", ["Car", "Car"])])
    t = strata_table(ds, "time_of_day", "instances")
    assert t.classes == ("Car", "Bus") and t.labels == ["day", "night"]
    assert t.counts.tolist() == [[3, 3], [2, 0]]
    assert t.row_shares()[1].tolist() == [1.0, 0.0] and t.column_shares()[:, 1].tolist() == [1.0, 0.0]
    images = strata_table(ds, "time_of_day", "images")
    assert images.counts.tolist() == [[3, 2], [2, 0]]  # the Car+Car image counts once
    long = t.to_pandas()
    assert list(long.columns) == ["class", "time_of_day", "count", "expected", "residual", "share_of_class",
                                  "share_of_value"]
    assert len(long) == 4


@pytest.mark.parametrize("rows, expect_tested", [
    ([("day", ["Car"]), ("night", ["Car"])], False),  # one class: nothing to test
    ([("day", ["Car"]), ("day", ["Bus"])], False),  # one value
])
def test_degenerate_tables_do_not_test(rows, expect_tested):
    t = strata_table(make(rows), "time_of_day")
    assert math.isnan(t.test.chi2) == (not expect_tested) and t.test.dof == 0


def test_no_annotations_gives_an_empty_table_and_no_findings():
    ds = make([("day", []), ("night", [])], classes=["Car"])
    result = hidden_subgroups(ds, "time_of_day")
    assert result.table.counts.size == 0 and result.findings == () and math.isnan(result.table.test.p_value)


def test_many_values_keep_the_largest_and_fold_the_rest():
    rows = [(f"cam_{i % 20:02d}" if i % 3 else "cam_00", ["Car"] if i % 2 else ["Bus"]) for i in range(400)]
    t = strata_table(make(rows, conditions=("camera",)), "camera", max_values=5)
    assert len(t.values) == 5 and t.values[-1] == (OTHER,) and len(t.folded) == 16
    assert t.labels[0] == "cam_00"  # the largest first
    sizes = t.counts.sum(axis=0)[:-1]
    assert list(sizes) == sorted(sizes, reverse=True)
    assert t.counts.sum() == 400


def test_unknown_condition_values_are_left_out_and_counted():
    ds = make([("day", ["Car"]), (None, ["Car", "Bus"]), ("night", ["Bus"])])
    t = strata_table(ds, "time_of_day")
    assert t.unknown == 2 and t.counts.sum() == 2


def test_a_pair_of_conditions_is_one_axis_of_combinations():
    rows = [("day", "rain", ["Car"]), ("day", "clear", ["Car", "Bus"]), ("night", "clear", ["Bus"])] * 5
    t = strata_table(make(rows, conditions=("time_of_day", "weather")), ("time_of_day", "weather"))
    assert set(t.labels) == {"day · rain", "day · clear", "night · clear"}
    assert t.labels.index("night · clear") == 2  # grouped by the first condition (day first: larger)


def test_pixels_use_mask_pixels_and_test_on_instance_counts():
    ds = imbal_core.load(ROOT / "sample_data" / "lanes" / "annotations.json", cache=False)
    t = strata_table(ds, "time_of_day", "pixels")
    assert t.counts.sum() == pytest.approx(sum(x for x in ds.annotations.column("pixels").to_pylist() if x))
    assert t.test_scale == pytest.approx(ds.num_annotations / t.counts.sum())
    assert t.test.n == pytest.approx(ds.num_annotations)


@pytest.mark.parametrize("kwargs, match", [
    ({"by": "season"}, r"`by` may be a condition: \['time_of_day'\]. Got 'season' instead."),
    ({"by": "sequence"}, r"`by` may be a condition: \['time_of_day'\]. Got 'sequence' instead."),  # a group is no condition
    ({"by": ("time_of_day", "time_of_day")}, "two different conditions"),
    ({"by": "time_of_day", "unit": "boxes"}, r"`unit` must be one of \['images', 'instances', 'pixels'\]"),
    ({"by": "time_of_day", "max_ratio": 1.5}, r"`max_ratio` must be a number between 0.0 and 1.0. Got 1.5"),
    ({"by": "time_of_day", "critical": ["Tank"]}, r"`critical` names classes the dataset does not have: \['Tank'\]"),
    ({"by": "time_of_day", "critical": "Car"}, "must be a list of class names"),
])
def test_bad_arguments_are_refused_with_a_message(kwargs, match):
    ds = make([("day", ["Car"]), ("night", ["Bus"])])
    with pytest.raises(ValueError, match=match):
        hidden_subgroups(ds, **kwargs)


def test_a_split_the_dataset_lacks_is_refused_with_the_splits_it_has():
    ds = make([("day", ["Car"]), ("night", ["Bus"])], splits=["train", "val"])
    assert strata_table(ds, "time_of_day", split="val").total == 1
    with pytest.raises(ValueError, match=r"`split` must be one of \['train', 'val'\] or None. Got 'test' instead."):
        strata_table(ds, "time_of_day", split="test")


def test_no_conditions_says_where_they_come_from():
    ds = make([("day", ["Car"])], conditions=())
    with pytest.raises(ValueError, match="no conditions .* sidecar"):
        hidden_subgroups(ds, "time_of_day")


# --------------------------------------------------------------------------- findings


def test_street_names_wheelchair_at_night_first_with_its_numbers(street):
    result = hidden_subgroups(street, "time_of_day")
    top = result.findings[0]
    assert (top.class_name, dict(top.condition), top.split, top.kind) == ("Wheelchair", {"time_of_day": "night"}, None,
                                                                          "under_represented")
    # counted from the JSON with pandas: Wheelchair 200 (191 day, 9 night) of 19,270 instances, 4,903 of them at
    # night (14,367 by day); expected under independence = 200 x 4,903 / 19,270 = 50.9
    assert top.count == 9 and top.expected == pytest.approx(200 * 4903 / 19270)
    assert top.share == pytest.approx(9 / 4903) and top.share_elsewhere == pytest.approx(191 / 14367)
    assert top.text == "Wheelchair at night: 9 instances, 0.2% of night instances vs 1.3% of day; expected 51."
    doc = result.to_dict()
    assert set(doc["findings"][0]) >= {"class", "condition", "count", "expected", "share", "share_elsewhere",
                                       "residual", "split", "text"}
    assert doc["findings"][0]["count"] == 9 and doc["tests"][0]["condition"] == "time_of_day"


def planted(seed=0, n=4000):
    """Independent data plus three planted gaps: Rare absent at night, Bike rare in cam_3, Bus missing from val."""
    rng = np.random.default_rng(seed)
    rows, splits = [], []
    for _ in range(n):
        tod = str(rng.choice(["day", "night"], p=[0.7, 0.3]))
        cam = str(rng.choice(["cam_1", "cam_2", "cam_3"], p=[0.4, 0.3, 0.3]))
        split = str(rng.choice(["train", "val", "test"], p=[0.7, 0.15, 0.15]))
        objects = list(rng.choice(["Car", "Person", "Bike", "Bus", "Rare"], size=rng.integers(1, 4),
                                  p=[0.45, 0.3, 0.1, 0.1, 0.05]))
        objects = [o for o in objects if not (o == "Rare" and tod == "night")]
        objects = [o for o in objects if not (o == "Bike" and cam == "cam_3" and rng.random() < 0.9)]
        objects = [o for o in objects if not (o == "Bus" and split == "val")]
        rows.append((tod, cam, objects))
        splits.append(split)
    return make(rows, conditions=("time_of_day", "camera"), classes=["Car", "Person", "Bike", "Bus", "Rare"],
                splits=splits)


@pytest.mark.parametrize("by, expected", [
    ("time_of_day", ("Rare", {"time_of_day": "night"}, None, "absent")),
    ("camera", ("Bike", {"camera": "cam_3"}, None, "under_represented")),
])
def test_planted_gaps_are_found_and_ranked_first(by, expected):
    result = hidden_subgroups(planted(), by)
    top = result.findings[0]
    assert (top.class_name, dict(top.condition), top.split, top.kind) == expected
    assert top.ratio <= 0.2


def test_a_class_missing_from_a_split_is_one_finding_for_the_split():
    result = hidden_subgroups(planted(), "time_of_day")
    in_val = [f for f in result.findings if f.split == "val"]
    assert [(f.class_name, dict(f.condition), f.kind) for f in in_val] == [("Bus", {}, "absent")]
    assert in_val[0].text.startswith("Bus in val: 0 instances")
    assert result.findings.index(in_val[0]) > 0  # whole-data gaps rank before split gaps


def test_critical_classes_rank_first():
    result = hidden_subgroups(planted(), "camera", critical=["Bus"])
    assert result.findings[0].class_name == "Bus" and result.findings[0].critical
    assert not any(f.critical for f in result.findings if f.class_name != "Bus")


def test_below_minimum_is_listed_after_the_gaps_and_only_when_asked():
    ds = planted()
    quiet = hidden_subgroups(ds, "time_of_day")
    assert not any(f.kind == "below_minimum" for f in quiet.findings)
    loud = hidden_subgroups(ds, "time_of_day", min_count=600)
    floors = [f for f in loud.findings if f.kind == "below_minimum"]
    assert floors and all(f.count < 600 for f in floors)
    assert loud.findings[-len(floors):] == tuple(floors)
    assert floors[0].text.endswith("fewer than the minimum of 600.")


@settings(max_examples=12, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1))
def test_independent_class_and_condition_give_no_findings(seed):
    # Bonferroni over every tested cell (whole data and per split) keeps the family-wise false-alarm rate under alpha
    result = hidden_subgroups(independent(seed), "time_of_day", unit="instances")
    assert result.findings == (), [f.text for f in result.findings]
    assert result.cells_tested > 20


def test_independent_data_stay_quiet_in_images_too():
    for seed in range(3):
        assert hidden_subgroups(independent(seed), "time_of_day", unit="images").findings == ()


def test_cell_counts_keep_null_values():
    ds = make([("day", ["Car"]), (None, ["Car"])])
    cells = cell_counts(ds, ("time_of_day",), "instances").to_pylist()
    assert {(r["time_of_day"], r["count"]) for r in cells} == {("day", 1.0), (None, 1.0)}
