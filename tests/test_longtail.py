"""Long-tail metrics against hand-computed values, per-class tables on hand-built data, the street sample."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import imbal_core
from imbal_core.cube import cube
from imbal_core.dataset import build_dataset
from imbal_core.longtail import (
    FrequencyThresholds, available_units, class_split_counts, effective_classes, evenness, gini, head_tail,
    imbalance_ratio, long_tail, lorenz_curve, pixel_source, tail_metrics, unit_label,
)
from imbal_core.samples import SAMPLES

NAN = math.nan


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    "values, ratio, gini_value, evenness_value, effective",
    [
        ([10], 1.0, 0.0, NAN, 1.0),  # one class: balanced with itself; evenness undefined
        ([5, 5], 1.0, 0.0, 1.0, 2.0),  # two equal classes
        ([0, 5, 5], 1.0, 0.0, 1.0, 2.0),  # a class without data is left out
        ([1, 3], 3.0, 0.25, 0.8112781244591328, 1.7547653506033232),  # H = -(.25 ln .25 + .75 ln .75) = 0.5623
        ([1, 1, 1, 97], 97.0, 0.72, 0.12097036642660543, 1.1825824177485913),  # Gini: sum|xi-xj| = 576 over 2 n^2 mean = 800
        ([0, 0], NAN, NAN, NAN, NAN),  # an empty split
        ([], NAN, NAN, NAN, NAN),
    ],
)
def test_metrics_by_hand(values, ratio, gini_value, evenness_value, effective):
    assert same(imbalance_ratio(values), ratio)
    assert same(gini(values), gini_value)
    assert same(evenness(values), evenness_value)
    assert same(effective_classes(values), effective)


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40))
@settings(max_examples=200, deadline=None)
def test_gini_is_one_minus_twice_the_area_under_the_lorenz_curve(values):
    x, y = lorenz_curve(values)
    if len(x) == 0:
        assert math.isnan(gini(values))
        return
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))
    assert gini(values) == pytest.approx(1 - 2 * area, abs=1e-9)
    assert 0 <= gini(values) < 1
    assert 1 <= effective_classes(values) <= np.count_nonzero(values) + 1e-9


@pytest.mark.parametrize(
    "values, share, head, tail",
    [
        ([50, 30, 15, 5], 0.8, ("a", "b"), ("c", "d")),  # 50 + 30 is exactly 80%
        ([50, 30, 15, 5], 0.81, ("a", "b", "c"), ("d",)),
        ([5, 15, 30, 50], 0.5, ("d",), ("c", "b", "a")),  # largest first whatever the input order
        ([10, 0, 0, 0], 0.8, ("a",), ()),  # classes without data are in neither
        ([0, 0, 0, 0], 0.8, (), ()),
        ([25, 25, 25, 25], 1.0, ("a", "b", "c", "d"), ()),
    ],
)
def test_head_tail_cut(values, share, head, tail):
    assert head_tail(list("abcd"), values, share) == (head, tail)


@pytest.mark.parametrize("share", [0, -0.1, 1.5, "0.8"])
def test_head_share_is_validated(share):
    with pytest.raises(ValueError, match=r"`head_share` must be in \(0, 1\]"):
        head_tail(["a"], [1], share)


@pytest.mark.parametrize(
    "training_images, group",
    [(0, "unseen"), (1, "rare"), (10, "rare"), (11, "common"), (100, "common"), (101, "frequent")],
)
def test_lvis_groups(training_images, group):
    assert FrequencyThresholds().group(training_images) == group


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rare_max": 0}, r"`rare_max` must be a whole number of at least 1. Got 0 instead."),
        ({"rare_max": 2.5}, r"`rare_max` must be a whole number"),
        ({"rare_max": 10, "common_max": 10}, r"`common_max` must be larger than `rare_max` \(10\). Got 10 instead."),
    ],
)
def test_thresholds_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FrequencyThresholds(**kwargs)


def make(images, annotations, classes, *, boxes=None, pixels=None, task="detection", sizes=(100, 50)):
    """images: (split, time_of_day) per image; annotations: (image, class index)."""
    n = len(annotations)
    box = boxes or [(0.0, 0.0, 10.0, 10.0)] * n
    return build_dataset(
        images={"source_id": [str(i) for i in range(len(images))], "split": [s for s, _ in images],
                "time_of_day": [t for _, t in images], "width": [sizes[0]] * len(images),
                "height": [sizes[1]] * len(images)},
        annotations={"image": [a for a, _ in annotations], "category": [c for _, c in annotations],
                     "x": [b[0] for b in box] if task != "classification" else None,
                     "y": [b[1] for b in box] if task != "classification" else None,
                     "w": [b[2] for b in box] if task != "classification" else None,
                     "h": [b[3] for b in box] if task != "classification" else None,
                     "pixels": pixels},
        categories={"name": classes, "supercategory": ["vehicle", "person", "vehicle"][: len(classes)]},
        task=task, format="test", sources=[], conditions=["time_of_day"],
    )


@pytest.fixture
def tiny():
    # images: 0, 1 train (day, night); 2 val (day); 3 test (night) with no annotation: an empty split.
    images = [("train", "day"), ("train", "night"), ("val", "day"), ("test", "night")]
    # Car: 3 in image 0, 1 in image 1 (train only); Wheelchair: image 0 and image 2; Bus declared, unused.
    annotations = [(0, 0), (0, 0), (0, 0), (1, 0), (0, 1), (2, 1)]
    boxes = [(0, 0, 10, 10)] * 4 + [(0, 0, 2, 5), (0, 0, 4, 5)]
    return make(images, annotations, ["Car", "Wheelchair", "Bus"], boxes=boxes)


def rows(lt):
    return {r["class"]: r for r in lt.classes.to_pylist()}


def test_long_tail_of_instances(tiny):
    lt = long_tail(tiny, "instances")
    r = rows(lt)
    assert [r["class"] for r in lt.classes.to_pylist()] == ["Car", "Wheelchair", "Bus"]  # largest first
    assert (r["Car"]["count"], r["Wheelchair"]["count"], r["Bus"]["count"]) == (4, 2, 0)
    assert r["Car"]["share"] == pytest.approx(4 / 6) and r["Wheelchair"]["ratio_to_largest"] == 0.5
    assert (r["Car"]["count_train"], r["Car"]["count_val"], r["Car"]["count_test"]) == (4, 0, 0)
    assert r["Car"]["absent_from"] == ["val", "test"] and r["Wheelchair"]["absent_from"] == ["test"]
    assert r["Bus"]["absent_from"] == [] and r["Bus"]["part"] == "absent"
    # groups by training images: Car in images 0 and 1, Wheelchair in image 0 only
    assert (r["Car"]["training_images"], r["Wheelchair"]["training_images"], r["Bus"]["training_images"]) == (2, 1, 0)
    assert (r["Car"]["group"], r["Bus"]["group"]) == ("rare", "unseen")
    m = lt.metrics
    assert (m.classes, m.present, m.largest, m.smallest, m.absent) == (3, 2, "Car", "Wheelchair", ("Bus",))
    assert m.imbalance_ratio == 2.0 and m.gini == pytest.approx(1 / 6)
    assert lt.absent_from() == {"train": [], "val": ["Car"], "test": ["Car", "Wheelchair"]}
    assert lt.rarest["class"] == "Wheelchair"


def test_images_and_box_area_units(tiny):
    assert rows(long_tail(tiny, "images"))["Car"]["count"] == 2  # distinct images, not instances
    lt = long_tail(tiny, "pixels")
    assert lt.pixel_source == "boxes" and lt.unit_label == "box area (px²)"
    assert rows(lt)["Car"]["count"] == 400.0 and rows(lt)["Wheelchair"]["count"] == 10.0 + 20.0


def test_one_split_and_an_empty_split(tiny):
    val = long_tail(tiny, "instances", split="val")
    assert rows(val)["Wheelchair"]["count"] == 1 and val.metrics.imbalance_ratio == 1.0
    empty = long_tail(tiny, "instances", split="test")
    assert empty.metrics.present == 0 and math.isnan(empty.metrics.gini) and empty.rarest is None
    assert all(math.isnan(s) for s in empty.classes.column("share").to_pylist())


def test_a_subset_of_conditions(tiny):
    night = long_tail(tiny, "instances", where={"time_of_day": ["night"]})
    assert {n: r["count"] for n, r in rows(night).items()} == {"Car": 1, "Wheelchair": 0, "Bus": 0}
    assert rows(night)["Car"]["training_images"] == 1
    boxes = long_tail(tiny, "pixels", where={"time_of_day": "day"})  # one value may be given as text
    assert rows(boxes)["Car"]["count"] == 300.0


def test_class_split_counts_fill_zeros_and_add_up_to_the_cube(tiny):
    counts = class_split_counts(tiny)
    assert counts.num_rows == 3 * 3  # every class x every split
    totals = cube(tiny, ()).to_pylist()
    for t in totals:
        mine = [r for r in counts.to_pylist() if r["class"] == t["class"]]
        assert sum(r["instances"] for r in mine) == t["instances"]
        assert sum(r["images"] for r in mine) == t["images"]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda ds: long_tail(ds, "boxes"), r"`unit` must be one of \['images', 'instances', 'pixels'\]. Got 'boxes'"),
        (lambda ds: long_tail(ds, split="dev"), r"`split` must be one of \['train', 'val', 'test'\] or None. Got 'dev'"),
        (lambda ds: long_tail(ds, where={"weather": ["fog"]}), r"`where` may name the conditions \['time_of_day'\]. Got 'weather'"),
        (lambda ds: long_tail(ds, where={"time_of_day": []}), r"`where\['time_of_day'\]` must name at least one value"),
    ],
)
def test_bad_arguments_are_named(tiny, call, match):
    with pytest.raises(ValueError, match=match):
        call(tiny)


def test_pixels_unit_for_each_kind_of_data():
    masks = make([("train", "day")], [(0, 0), (0, 1)], ["road", "lane"], pixels=[900.0, 30.0], task="segmentation")
    assert pixel_source(masks) == "masks" and rows(long_tail(masks, "pixels"))["lane"]["count"] == 30.0
    labels = make([("train", "day")], [(0, 0)], ["cat"], task="classification")
    assert pixel_source(labels) == "none" and available_units(labels) == ("images", "instances")
    with pytest.raises(ValueError, match="`unit` 'pixels' is not available for this dataset: classification labels"):
        long_tail(labels, "pixels")
    assert unit_label("pixels", "masks") == "pixels" and unit_label("images", "boxes") == "images"


def test_tail_metrics_checks_lengths():
    with pytest.raises(ValueError, match=r"`values` must have one count per name \(2\). Got 1 instead."):
        tail_metrics(["a", "b"], [1])


# Figures of the street sample counted from sample_data/street/annotations.json with pandas:
# distinct images, instances and summed box w x h per class over all splits, and train images holding it.
STREET_WHEELCHAIR = {"images": 166, "instances": 200, "pixels": 731_474.15}
STREET_RUNNER_UP = {"images": ("Stroller", 303), "instances": ("Stroller", 360), "pixels": ("Stroller", 1_369_981.01)}


@pytest.mark.parametrize("unit", ["images", "instances", "pixels"])
def test_street_wheelchair_is_the_rare_class_in_all_three_units(unit):
    ds = imbal_core.load(SAMPLES["street"].files())
    lt = long_tail(ds, unit)  # all splits; pixels = box area for this box-only sample
    rarest = lt.rarest
    assert rarest["class"] == "Wheelchair" and lt.metrics.smallest == "Wheelchair"
    assert rarest["count"] == pytest.approx(STREET_WHEELCHAIR[unit], abs=0.01)
    # its LVIS group: 121 training images holding a Wheelchair, > 100, so frequent like every class
    assert rarest["group"] == "frequent" and rarest["training_images"] == 121
    assert set(lt.classes.column("group").to_pylist()) == {"frequent"}
    # by a margin: the next smallest class has at least 1.2x as much
    others = [r for r in lt.classes.to_pylist() if r["class"] != "Wheelchair"]
    runner_up = min(others, key=lambda r: r["count"])
    name, count = STREET_RUNNER_UP[unit]
    assert (runner_up["class"], runner_up["count"]) == (name, pytest.approx(count, abs=0.01))
    assert runner_up["count"] >= 1.2 * rarest["count"]


def test_street_long_tail_metrics_and_the_night_subset():
    ds = imbal_core.load(SAMPLES["street"].files())
    whole = long_tail(ds, "instances")
    assert whole.metrics.imbalance_ratio == pytest.approx(10300 / 200)  # Car / Wheelchair = 51.5
    # Car + Person = 14,800 of 19,270 (76.8%) < 80%; with Traffic sign 15,840 (82.2%)
    assert "Wheelchair" in whole.metrics.tail and whole.metrics.head == ("Car", "Person", "Traffic sign")
    # at night it is rarer still: 9 instances in 9 images, 4 of them train images (Stroller, next, has 60 in 56);
    # box area 37,228.87 against Stroller's 232,319.57 (counted from the JSON with pandas)
    night = {"images": 9, "instances": 9, "pixels": 37_228.87}
    for unit in ("images", "instances", "pixels"):
        rarest = long_tail(ds, unit, where={"time_of_day": ["night"]}).rarest
        assert rarest["class"] == "Wheelchair", unit
        assert rarest["count"] == pytest.approx(night[unit], abs=0.01), unit
        assert rarest["group"] == "rare" and rarest["training_images"] == 4  # LVIS rare: 1-10 training images


def test_critical_classes_are_marked(tiny):
    assert not any(long_tail(tiny).classes.column("critical").to_pylist())  # the export flags none
    assert rows(long_tail(tiny, critical=["Bus"]))["Bus"]["critical"]
    with pytest.raises(ValueError, match=r"`critical` names classes the dataset does not have: \['Tram'\]"):
        long_tail(tiny, critical=["Tram"])


def test_to_dict_is_plain(tiny):
    d = long_tail(tiny, "instances").to_dict()
    assert d["metrics"]["largest"] == "Car" and d["classes"][0]["class"] == "Car" and d["group_basis"] == "train"


def test_chart_builders(tiny):
    from imbal_core.charts.longtail import class_bars, lorenz_figure

    lt = long_tail(tiny, "instances", head_share=0.5)  # head: Car (4 of 6); tail: Wheelchair
    fig = class_bars(lt, minimum=3)
    assert [t.name for t in fig.data] == ["rare", "unseen"]  # LVIS groups: Car and Wheelchair rare, Bus unseen
    assert list(fig.data[0].x) == ["Car", "Wheelchair"] and list(fig.data[0].y) == [4, 2]
    shapes = {s.type: s for s in fig.layout.shapes}
    assert shapes["rect"].x0 == 0.5 and shapes["line"].y0 == 3  # the tail shading (after Car), the minimum line
    stacked = class_bars(lt, colour="split")
    assert [t.name for t in stacked.data] == ["train", "val", "test"] and list(stacked.data[1].y) == [0, 1, 0]
    facets = class_bars(lt, facet_split=True, log_scale=True)
    assert len({t.yaxis for t in facets.data}) == 3 and facets.layout.yaxis.type == "log"
    lorenz = lorenz_figure(lt)
    assert list(lorenz.data[1].y) == [0.0, pytest.approx(1 / 3), 1.0] and "Gini 0.17" in lorenz.layout.title.text
    with pytest.raises(ValueError, match="`colour` must be 'group' or 'split'. Got 'rainbow' instead."):
        class_bars(lt, colour="rainbow")


def test_hierarchy_chart_builders(tiny):
    from imbal_core.charts.hierarchy import before_after_bars, hierarchy_treemap
    from imbal_core.hierarchy import from_supercategories, roll_up, what_if

    treemap = hierarchy_treemap(roll_up(tiny, from_supercategories(tiny)))
    values = dict(zip(treemap.data[0].labels, treemap.data[0].values))
    assert values == {"all classes": 6, "vehicle": 4, "person": 2, "Car": 4, "Wheelchair": 2}  # Bus has no data
    bars = before_after_bars(what_if(tiny, {"Wheelchair": "vehicle"}))
    after = dict(zip(bars.data[1].x, bars.data[1].y))
    assert after == {"vehicle": 2, "Car": 4, "Wheelchair": 0, "Bus": 0}
