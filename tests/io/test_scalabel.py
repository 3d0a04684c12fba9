"""Scalabel / BDD100K reader: the real bdd100k test cases, generated frames with weather / scene /
time-of-day attributes (conditions), configs, every report case, `imbal summary` in-process, and a
property test (random frames -> the counts written)."""
from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imbal_core.cli import main
from imbal_core.cube import cube
from imbal_core.hierarchy import from_supercategories
from imbal_core.io import load
from imbal_core.io.scalabel import read_scalabel
from imbal_core.io.sniff import sniff
from imbal_core.report import LoadError, LoadReport


def box(x1=10.0, y1=20.0, x2=110.0, y2=70.0) -> dict:
    return {"x1": x1, "y1": y1, "x2": x2, "y2": y2}


def label(category="car", id_=None, shape="box", **attributes) -> dict:
    out = {"category": category, "attributes": attributes}
    if id_ is not None:
        out["id"] = id_
    if shape == "box":
        out["box2d"] = box()
    elif shape == "square":  # a closed 10 x 10 square: 100 pixels
        out["poly2d"] = [{"vertices": [[0, 0], [10, 0], [10, 10], [0, 10]], "types": "LLLL", "closed": True}]
    elif shape == "lane":
        out["poly2d"] = [{"vertices": [[0, 0], [50, 80]], "types": "LL", "closed": False}]
    return out


def frame(name="a.jpg", labels=(), video=None, **attributes) -> dict:
    out = {"name": name, "labels": list(labels)}
    if video is not None:
        out["videoName"] = video
    if attributes:
        out["attributes"] = attributes
    return out


def read(tmp_path: Path, doc, name: str = "labels.json", **options):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    report = LoadReport()
    return read_scalabel([path], report, **options), report


def instances(dataset) -> dict[str, int]:
    counted = cube(dataset, ())
    return dict(zip(counted.column("class").to_pylist(), counted.column("instances").to_pylist()))


def codes(report: LoadReport) -> Counter:
    return Counter(r.code for r in report)


# --------------------------------------------------------------------------- the real test cases


@pytest.mark.realdata
def test_real_bdd100k_test_cases(realdata):
    # Counted by hand: example_annotation.json has 1 frame with 4 labels, all `car` with poly2d, ids a, b, a, c
    # (a repeated), occluded false / true / false / true, truncated and crowd false. example_ignore_annotation.json
    # has 2 frames of video 00091078-875c1f73: the first with an `other person` and a `person` box2d, both
    # Occluded true, Truncated false; the second with labels null.
    dataset = read_scalabel([realdata / "bdd100k"])
    assert dataset.num_images == 3 and dataset.num_annotations == 6
    assert instances(dataset) == {"car": 4, "other person": 1, "person": 1}
    assert dataset.task == "segmentation"  # 4 closed polygons of 6 labels
    images = dataset.images.to_pydict()
    assert images["group"] == ["b1c81faa-3df17267", "00091078-875c1f73", "00091078-875c1f73"]
    assert images["occluded"] == ["mixed", "yes", None]
    assert images["truncated"] == ["no", "no", None]
    # the per-label flags are kept in the annotations too (Occluded spelled with a capital: read alike)
    assert dataset.annotations.column("occluded").to_pylist() == [False, True, False, True, True, True]
    assert set(dataset.annotations.column("iscrowd").to_pylist()) == {False}
    assert [r.record for r in dataset.report if r.code == "duplicate_id"] == [
        "b1c81faa-3df17267/b1c81faa-3df17267-0000001.jpg#a"]
    pixels = dataset.annotations.column("pixels").to_pylist()
    assert all(p > 0 for p in pixels[:4]) and pixels[4:] == [None, None]
    person = dataset.annotations.slice(5, 1).to_pylist()[0]  # box2d x1 68.05.., x2 108.72..: w = x2 - x1
    assert person["w"] == pytest.approx(108.7226195720182 - 68.051474568342)


@pytest.mark.realdata
@pytest.mark.parametrize("where", ["bdd100k", "bdd100k/example_annotation.json", "bdd100k/example_ignore_annotation.json"])
def test_sniffed(realdata, where):
    assert sniff([realdata / where]) == "scalabel"


@pytest.mark.realdata
def test_imbal_summary_reads_the_real_folder(realdata, capsys):
    code = main(["summary", str(realdata / "bdd100k"), "--json", "--no-cache"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["format"], doc["images"], doc["annotations"]) == ("scalabel", 3, 6)
    assert {c["class"]: c["instances"] for c in doc["classes"]} == {"car": 4, "other person": 1, "person": 1}


# --------------------------------------------------------------------------- generated frames


def test_weather_scene_and_time_of_day_become_conditions(tmp_path):
    frames = [frame("1.jpg", [label("car"), label("pedestrian")], video="v1", weather="rainy", scene="highway",
                    timeofday="night"),
              frame("2.jpg", [label("car")], video="v1", weather="rainy", scene="highway", timeofday="night"),
              frame("3.jpg", [label("car"), label("car")], video="v2", weather="clear", scene="city street",
                    timeofday="daytime")]
    dataset, report = read(tmp_path, frames, name="det_train.json")
    assert set(dataset.conditions) >= {"weather", "scene", "time_of_day"}
    counted = cube(dataset, ("time_of_day", "weather")).to_pydict()
    assert list(zip(counted["time_of_day"], counted["weather"], counted["class"], counted["instances"])) == [
        ("daytime", "clear", "car", 2), ("night", "rainy", "car", 2), ("night", "rainy", "pedestrian", 1)]
    assert dataset.splits == ("train",)  # from the file name
    assert dataset.images.column("group").to_pylist() == ["v1", "v1", "v2"]
    assert load(tmp_path / "det_train.json", cache=False).conditions == dataset.conditions  # sniffed


def test_dataset_object_with_config_categories(tmp_path):
    config = {"imageSize": {"width": 1280, "height": 720},
              "categories": [{"name": "human", "subcategories": [{"name": "pedestrian"}, {"name": "rider"}]},
                             {"name": "vehicle", "subcategories": [{"name": "car"}, {"name": "bus"}]}]}
    doc = {"config": config, "frames": [frame("1.jpg", [label("car"), label("rider"), label("tram")])]}
    dataset, report = read(tmp_path, doc)
    assert dataset.class_names == ["human", "pedestrian", "rider", "vehicle", "car", "bus", "tram"]
    assert from_supercategories(dataset).parents == {"pedestrian": "human", "rider": "human", "car": "vehicle",
                                                     "bus": "vehicle"}
    assert [r.record for r in report if r.code == "unknown_class"] == ["tram"]
    assert dataset.images.column("width").to_pylist() == [1280]


def test_shapes_flags_and_other_attributes(tmp_path):
    labels = [label("area", shape="square", crowd=True, occluded=False, truncated=True),
              label("lane", shape="lane"),
              {"category": "car", "box3d": {"location": [1, 2, 3]}},
              {"category": "tag"},
              label("light", trafficLightColor="green"), label("light", trafficLightColor="red"),
              label("light", trafficLightColor="green")]
    dataset, report = read(tmp_path, [frame("1.jpg", labels)])
    assert dataset.num_annotations == 5
    rows = dataset.annotations.to_pylist()
    assert rows[0]["pixels"] == 100 and rows[0]["iscrowd"] is True and rows[0]["truncated"] is True
    assert rows[1]["pixels"] is None and (rows[1]["w"], rows[1]["h"]) == (50, 80)  # an open polyline
    assert sorted(r.record for r in report if r.code == "unsupported_shape") == ["box3d", "no shape"]
    assert [r["occluded"] for r in rows] == [False, None, None, None, None]
    # other label attributes follow the rule of every per-object value: an image condition, the
    # value the image's labels share, else "mixed"; the counts by value in the report
    assert dataset.conditions == ("occluded", "truncated", "trafficlightcolor")  # a condition's column name
    assert dataset.images.column("trafficlightcolor").to_pylist() == ["mixed"]
    colour = next(r for r in report if r.code == "object_flag" and r.record == "trafficLightColor")
    assert "(green 2, unknown 2, red 1)" in colour.problem  # the 2 labels before carry no colour
    _, report = read(tmp_path / "off", [frame("1.jpg", labels)], flag_conditions=False)
    colour = next(r for r in report if r.code == "object_flag" and r.record == "trafficLightColor")
    assert colour.action == "counted here only (flag_conditions=False)"


def test_a_folder_of_per_video_files_in_split_folders(tmp_path):
    for split, video in (("train", "v1"), ("train", "v2"), ("val", "v3")):
        path = tmp_path / split / f"{video}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([frame(f"{video}-{i}.jpg", [label()], video=video) for i in range(2)]))
    assert sniff([tmp_path]) == "scalabel"
    dataset = load(tmp_path, cache=False)
    split = dataset.images.column("split").combine_chunks().dictionary_decode().to_pylist()
    assert Counter(split) == {"train": 4, "val": 2}  # from the folder names
    assert sorted(set(dataset.images.column("group").to_pylist())) == ["v1", "v2", "v3"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad_label, code, action", [
    ({"box2d": box()}, "missing_category", "skipped"),
    ({"category": 7, "box2d": box()}, "missing_category", "skipped"),
    ({"category": "car", "box2d": {"x1": 1, "y1": 2, "x2": 3}}, "bad_shape", "skipped"),
    ({"category": "car", "box2d": {"x1": 1, "y1": 2, "x2": "3", "y2": 4}}, "bad_shape", "skipped"),
    ({"category": "car", "poly2d": [{"vertices": [[1, 2, 3]]}]}, "bad_shape", "skipped"),
    ({"category": "car", "box2d": box(x1=110.0, x2=10.0)}, "non_positive_box", "kept"),  # x2 < x1
    ({"category": "car", "box2d": box(x1=-10.0)}, "box_clipped", "clipped"),  # negative, size unknown: clipped at 0
    ({"category": "car", "box2d": box(), "attributes": {"occluded": "maybe"}}, "bad_flag", "kept with the flag unknown"),
    ({"category": "car", "box2d": box(), "score": 0.9}, "score_column", "kept the labels, ignored the scores"),
    ("a string", "bad_record", "skipped"),
])
def test_bad_labels_are_reported(tmp_path, bad_label, code, action):
    dataset, report = read(tmp_path, [frame("1.jpg", [label(), bad_label])])
    rows = [r for r in report if r.code == code]
    assert len(rows) == 1 and rows[0].action == action, report.rows
    assert dataset.num_images == 1


def test_nan_coordinates_are_skipped(tmp_path):
    text = '[{"name": "1.jpg", "labels": [{"category": "car", "box2d": {"x1": NaN, "y1": 1, "x2": 5, "y2": 5}}]}]'
    dataset, report = read(tmp_path, text)
    assert dataset.num_annotations == 0 and codes(report)["non_finite_box"] == 1


@pytest.mark.parametrize("bad_frame, code", [
    ({"labels": []}, "missing_name"),
    ({"name": "", "labels": []}, "missing_name"),
    (["not", "a", "frame"], "bad_record"),
    ({"name": "1.jpg", "labels": []}, "duplicate_id"),  # the first frame is 1.jpg too
    ({"name": "2.jpg", "labels": {"not": "a list"}}, "bad_record"),
])
def test_bad_frames_are_reported(tmp_path, bad_frame, code):
    dataset, report = read(tmp_path, [frame("1.jpg", [label()]), bad_frame])
    assert codes(report)[code] == 1, report.rows


@pytest.mark.parametrize("text, match", [
    ('[{"name": "a.jpg", "labels": [', "ends early"),
    ("42", "not a Scalabel / BDD100K export"),
    ('{"config": {}}', "an object without `frames`"),
    ("", "empty"),
])
def test_unusable_files_raise(tmp_path, text, match):
    with pytest.raises(LoadError, match=match):
        read(tmp_path, text)


def test_imbal_summary_exits_2_on_malformed_json(tmp_path, capsys):
    path = tmp_path / "det_val.json"
    path.write_text('[{"name": "a.jpg", "labels": [{"category": ')
    assert main(["summary", str(path), "--format", "scalabel"]) == 2
    _, err = capsys.readouterr()
    assert str(path) in err and "Traceback" not in err


# --------------------------------------------------------------------------- property


_labels = st.lists(st.tuples(st.sampled_from(["car", "bus", "person"]), st.sampled_from(["box", "square", "lane"]),
                             st.booleans()), max_size=5)
_frames = st.lists(st.tuples(_labels, st.sampled_from(["day", "night", None])), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_frames)
def test_counts_equal_what_was_written(frames):
    doc = [frame(f"{i}.jpg", [label(c, shape=s, occluded=o) for c, s, o in labels],
                 **({"timeofday": t} if t else {})) for i, (labels, t) in enumerate(frames)]
    with tempfile.TemporaryDirectory() as tmp:
        dataset, report = read(Path(tmp), doc)
    assert dataset.num_images == len(frames)
    assert instances(dataset) == Counter(c for labels, _ in frames for c, _, _ in labels)
    assert dataset.annotations.column("pixels").to_pylist() == [
        100.0 if s == "square" else None for labels, _ in frames for _, s, _ in labels]
    if any(t for _, t in frames):
        by_time = cube(dataset, ("time_of_day",)).to_pydict()
        night = sum(n for t, n in zip(by_time["time_of_day"], by_time["instances"]) if t == "night")
        assert night == sum(len(labels) for labels, t in frames if t == "night")


def test_numbers_too_large_for_a_float_are_reported(tmp_path):
    huge = "1" + "0" * 400
    text = ('[{"name": "1.jpg", "size": {"width": %s, "height": 5}, "labels": [{"id": %s, "category": "car", '
            '"box2d": {"x1": %s, "y1": 1, "x2": 5, "y2": 5}}]}]' % (huge, huge, huge))
    dataset, report = read(tmp_path, text)
    assert dataset.num_annotations == 0 and [r.record for r in report if r.code == "bad_shape"] == ["1.jpg#0"]
    assert dataset.images.column("width").to_pylist() == [None]  # not a usable size


def test_a_file_whose_name_is_not_utf8_is_skipped(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([frame("1.jpg", [label()])]))
    Path(os.fsdecode(bytes(tmp_path) + b"/b\xff.json")).write_text(json.dumps([frame("2.jpg", [label()])]))
    dataset = read_scalabel([tmp_path])
    assert dataset.num_images == 1 and codes(dataset.report)["undecodable_name"] == 1
    dataset.report.to_arrow()
