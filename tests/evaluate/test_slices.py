"""Per-condition slices: cells add up to the totals exactly, small cells are flagged, AP per slice is COCOeval's."""
from __future__ import annotations

import numpy as np
import pytest

from imbal_core.evaluate import by_condition, evaluate_detection, slice_columns
from imbal_core.evaluate.slices import gaps

def assert_sums_to_totals(ds, ev, by):
    slices = by_condition(ev, ds, by, ranked=False)
    df = slices.to_pandas()
    totals = ev.classes.to_pandas().set_index("class")
    summed = df.groupby("class")[["support", "predicted", "tp", "fp", "fn"]].sum()
    for column in ("support", "predicted", "tp", "fp", "fn"):
        assert summed[column].to_dict() == totals[column].to_dict(), column
    assert df.drop_duplicates("value")["images"].sum() == ev.images
    assert len(df) == len(slices.values) * len(ev.class_names)  # every cell, empty ones too


@pytest.mark.parametrize("by", ["split", "time_of_day", "weather", "camera"])
def test_street_slices_sum_back_to_the_totals(street, by):
    ds, _, ev = street
    assert_sums_to_totals(ds, ev, by)


@pytest.mark.parametrize("by", ["split", "lighting"])
def test_surface_slices_sum_back_to_the_totals(surface, by):
    assert_sums_to_totals(*surface, by)


@pytest.mark.parametrize("by", ["split", "time_of_day", "weather"])
def test_lanes_pixel_slices_sum_back_to_the_totals(lanes, by):
    assert_sums_to_totals(*lanes, by)


def test_the_night_weakness_of_the_street_detector(street):
    ds, _, ev = street
    slices = by_condition(ev, ds, "time_of_day", ranked=False)
    recall = slices.pivot("recall")
    assert slices.values == ("day", "night")  # most images first
    assert (recall["night"] < recall["day"]).all()  # every class, weaker at night
    cell = slices.to_pandas().set_index(["value", "class"]).loc[("night", "Wheelchair")]
    assert (cell["support"], bool(cell["small_support"])) == (9, True)  # 9 wheelchairs at night: flagged, not hidden
    assert cell["recall"] == pytest.approx(3 / 9)
    widest = gaps(slices, "recall")
    assert widest and all(g.best == "day" and g.worst == "night" and not g.small_support for g in widest)
    assert "night" in widest[0].text()


def test_ap_per_slice_is_cocoevals_on_those_images(street):
    ds, preds, ev = street
    slices = by_condition(ev, ds, "split")
    val = evaluate_detection(ds, preds, split="val")
    ours = slices.to_pandas().query("value == 'val'").set_index("class")["ap"]
    expected = dict(zip(val.classes.column("class").to_pylist(), val.classes.column("ap").to_pylist()))
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value, abs=1e-12)
    full = ev.coco.per_class_for(ev.image_ids)
    np.testing.assert_allclose(full["ap"], ev.coco.ap, atol=1e-12)  # all images: the run itself


def test_pr_auc_per_slice(surface):
    ds, ev = surface
    slices = by_condition(ev, ds, "lighting")
    df = slices.to_pandas()
    low = df[df["value"] == "low"].set_index("class")
    assert low.loc["Background", "pr_auc"] > low.loc["Crack", "pr_auc"] > 0
    assert slices.to_dict()[0]["condition"] == "lighting"


def test_iou_per_slice_and_nan_as_none(lanes):
    ds, ev = lanes
    slices = by_condition(ev, ds, "time_of_day", ranked=False)
    iou = slices.pivot("iou")
    assert iou.loc["lane_solid", "night"] < iou.loc["lane_solid", "day"]
    rows = slices.to_dict()
    assert all(r["ap"] is None for r in rows)  # not computed: null, never NaN
    assert set(slice_columns(ds)) == {"split", "time_of_day", "weather"}


@pytest.mark.parametrize("kwargs, message", [
    ({"by": "sequence"}, r"`by` must be one of \['split', 'time_of_day', 'weather', 'camera'\]. Got 'sequence' instead."),
    ({"by": "split", "min_support": -1}, "`min_support` must be a whole number of at least 0. Got -1 instead."),
])
def test_bad_slices_name_the_parameter(street, kwargs, message):
    ds, _, ev = street
    with pytest.raises(ValueError, match=message):
        by_condition(ev, ds, **kwargs)


def test_a_missing_condition_value_is_its_own_cell(scene):
    ds, preds = scene
    ev = evaluate_detection(ds, preds, coco_ap=False)
    slices = by_condition(ev, ds, "time_of_day")
    assert set(slices.values) == {"night", "day"}
    df = slices.to_pandas().set_index(["value", "class"])
    assert df.loc[("night", "Person"), "support"] == 2 and df.loc[("day", "Person"), "support"] == 0
    assert np.isnan(df.loc[("day", "Person"), "recall"])
    with pytest.raises(ValueError, match="`metric` must be one of"):
        slices.pivot("accuracy")
