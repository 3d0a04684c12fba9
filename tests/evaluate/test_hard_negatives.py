"""Hard negatives: confident mistakes ranked per class, with the class they were confused with."""
from __future__ import annotations

import pytest

from imbal_core.evaluate import evaluate_detection, hard_negatives
from imbal_core.downloads import csv_bytes


def test_hand_built_detections(scene):
    ds, preds = scene
    hn = hard_negatives(evaluate_detection(ds, preds, coco_ap=False), ds)
    rows = hn.table.select(["predicted", "rank", "score", "confused_with"]).to_pylist()
    # the duplicate (its object was found), the person on the crowd and the low-score one are not listed
    assert rows == [
        {"predicted": "Wheelchair", "rank": 1, "score": 0.95, "confused_with": "background"},
        {"predicted": "Wheelchair", "rank": 2, "score": 0.6, "confused_with": "Person"},
        {"predicted": "Person", "rank": 1, "score": 0.7, "confused_with": "Wheelchair"},
    ]
    assert hn.per_class() == {"Wheelchair": 2, "Person": 1}
    first = hn.table.slice(0, 1).to_pylist()[0]
    assert (first["image"], first["file_name"], first["x"], first["w"], first["time_of_day"]) == ("1", "a.jpg", 70.0, 10.0, "night")


@pytest.mark.parametrize("kwargs, predicted", [
    ({"min_score": 0.9}, ["Wheelchair"]),
    ({"min_score": 0.2}, ["Wheelchair", "Wheelchair", "Person"]),  # 0.3 is the missed person's own box: correct class
    ({"limit_per_class": 1}, ["Wheelchair", "Person"]),
    ({"overlap": 0.9}, ["Wheelchair", "Wheelchair", "Person"]),
])
def test_options(scene, kwargs, predicted):
    ds, preds = scene
    hn = hard_negatives(evaluate_detection(ds, preds, coco_ap=False), ds, **kwargs)
    assert hn.table.column("predicted").to_pylist() == predicted
    if "overlap" in kwargs:  # an overlap of 0.68 no longer names the person
        assert hn.table.column("confused_with").to_pylist()[1] == "background"


@pytest.mark.parametrize("kwargs, message", [
    ({"overlap": 2}, r"`overlap` must be between 0 and 1. Got 2 instead."),
    ({"limit_per_class": 0}, "`limit_per_class` must be a whole number of at least 1. Got 0 instead."),
    ({"min_score": -1}, "`min_score` must be at least 0. Got -1.0 instead."),
])
def test_bad_options_name_the_parameter(scene, kwargs, message):
    ds, preds = scene
    with pytest.raises(ValueError, match=message):
        hard_negatives(evaluate_detection(ds, preds, coco_ap=False), ds, **kwargs)


def test_the_planted_wheelchair_false_alarms(street):
    ds, _, ev = street
    hn = hard_negatives(ev, ds)
    assert next(iter(hn.per_class())) == "Wheelchair"  # the class with the most confident mistakes comes first
    wheelchair = hn.to_pandas().query("predicted == 'Wheelchair'")
    assert len(wheelchair) >= 67  # the sample plants 67 at score 0.5 or above
    assert set(wheelchair["confused_with"]) <= {"Person", "Stroller", "background"}
    assert (wheelchair["confused_with"] != "background").mean() > 0.9
    assert list(wheelchair["rank"]) == list(range(1, len(wheelchair) + 1))
    assert wheelchair["score"].is_monotonic_decreasing
    text = csv_bytes(hn.table.drop_columns(["image_id"])).decode()
    assert text.splitlines()[0].startswith("predicted,rank,score,confused_with,iou,image,file_name,split,x,y,w,h,time_of_day")


def test_classification_hard_negatives(surface):
    ds, ev = surface
    hn = hard_negatives(ev, ds)
    df = hn.to_pandas()
    assert len(df) and (df["score"] >= 0.5).all() and (df["predicted"] != df["confused_with"]).all()
    assert df["iou"].isna().all() and df["x"].isna().all()
    wrong = ev.items.to_pandas().query("true != predicted and score >= 0.5")
    assert len(df) == len(wrong)


def test_segmentation_uses_the_instances(lanes):
    ds, ev = lanes
    hn = hard_negatives(ev, ds)
    assert set(hn.per_class()) <= set(ds.class_names) and len(hn) > 0
