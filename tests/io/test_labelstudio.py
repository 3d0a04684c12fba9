"""Label Studio reader: hand-made exports for every report case, the real exports, a property test."""
from __future__ import annotations

import json
import math
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imbal_core.dataset import condition_name
from imbal_core.io._labelstudio_geometry import rotated_bounds
from imbal_core.io._labelstudio_tasks import file_name
from imbal_core.io.labelstudio import parse_label_config, read_labelstudio, task_predictions
from imbal_core.report import LoadError, LoadReport

CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="zebra"/><Label value="ant"/><Label value="unused"/>
  </RectangleLabels>
  <Choices name="weather" toName="image"><Choice value="sunny"/><Choice value="rain"/></Choices>
</View>"""


def rect(*labels: str, x=10, y=20, width=30, height=40, rotation=0, size=(200, 100), rid=None, **extra) -> dict:
    """A rectanglelabels result; ``size`` None leaves original_width/height out."""
    value = {"x": x, "y": y, "width": width, "height": height, "rotation": rotation,
             "rectanglelabels": list(labels or ("ant",))}
    for key in [k for k, v in value.items() if v is None]:
        del value[key]
    res: dict[str, Any] = {"type": "rectanglelabels", "value": value, "from_name": "label", "to_name": "image"}
    if size is not None:
        res["original_width"], res["original_height"] = size
    if rid is not None:
        res["id"] = rid
    res.update(extra)
    return res


def poly(points, *labels: str, size=(200, 100)) -> dict:
    res = {"type": "polygonlabels", "value": {"points": points, "polygonlabels": list(labels or ("ant",))}}
    if size is not None:
        res["original_width"], res["original_height"] = size
    return res


def choice(*values: str, from_name="weather") -> dict:
    return {"type": "choices", "from_name": from_name, "value": {"choices": list(values)}}


def ann(*results, aid=1, cancelled=False, created="2024-01-01T10:00:00Z", updated=None, who=7, **extra) -> dict:
    out = {"id": aid, "result": list(results), "was_cancelled": cancelled, "created_at": created, "completed_by": who}
    if updated is not None:
        out["updated_at"] = updated
    out.update(extra)
    return out


def task(tid=1, *annotations, image="/data/upload/1/a.jpg", **data) -> dict:
    return {"id": tid, "data": {"image": image, **data}, "annotations": list(annotations), "predictions": []}


def write(tmp_path: Path, doc: Any, name="export.json") -> Path:
    path = tmp_path / name
    path.write_bytes(doc if isinstance(doc, bytes) else json.dumps(doc).encode())
    return path


def read(tmp_path: Path, doc: Any, **options):
    return read_labelstudio([write(tmp_path, doc)], LoadReport(), **options)


# --------------------------------------------------------------------------- input that cannot be used


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "the file is empty"),
        (b'[{"id": 1, "data": {"image": "a.jpg"}, "annotations": [', "ends early"),
        (b'{"images": [], "annotations": [], "categories": []}', "COCO file"),
        (b'"just text"', "top level is text, not a list of tasks"),
        (b"42", "top level is 42"),
        (b'[{"image": "a.jpg", "label": []}]', "no task has `data`.*JSON-MIN"),
        (b'{"id": 1, "annotations": []}', "an object without `data`"),
        (b'[{"id": 1' + b"0" * 5000 + b', "data": {}}]', "not valid JSON"),
    ],
)
def test_unusable_file_raises_load_error_naming_it(tmp_path, content, match):
    path = write(tmp_path, content)
    with pytest.raises(LoadError, match=match) as info:
        read_labelstudio([path], LoadReport())
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("make", "match"), [(lambda p: p, "is a folder"), (lambda p: p / "missing.json", "no such file")])
def test_unreadable_path_raises(tmp_path, make, match):
    with pytest.raises(LoadError, match=match):
        read_labelstudio([make(tmp_path)], LoadReport())


@pytest.mark.parametrize(
    ("config", "match"),
    [("<View><Label value='a'></View>", "not a valid Label Studio label config"), ("no/such/config.xml", "no such file")],
)
def test_bad_label_config_raises(tmp_path, config, match):
    with pytest.raises(LoadError, match=match):
        read(tmp_path, [task()], label_config=config)


def test_unknown_option_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"takes only `label_config`. Got \['engine'\]"):
        read(tmp_path, [task()], engine="fast")


# --------------------------------------------------------------------------- every report case

GOOD = rect("ant", rid="r1")

# rows: input tasks -> (images, annotations, report codes)
REPORT_CASES = {
    "empty export": ([], 0, 0, {}),
    "clean task": ([task(1, ann(GOOD))], 1, 1, {}),
    "task without annotations": ([task(1)], 1, 0, {}),
    "task not an object": ([task(1, ann(GOOD)), "oops"], 1, 1, {"bad_record": 1}),
    "task without id": ([{"data": {"image": "a.jpg"}}], 0, 0, {"bad_id": 1}),
    "task id not a number": ([{"id": "abc", "data": {"image": "a.jpg"}}], 0, 0, {"bad_id": 1}),
    "task data not an object": ([{"id": 1, "data": "a.jpg"}, task(2)], 1, 0, {"bad_record": 1}),
    "no image in data": ([task(1, ann(GOOD), image=None)], 1, 1, {"no_image": 1}),
    "same task twice": ([task(1, ann(GOOD)), task(1, ann(GOOD))], 1, 1, {"duplicate_id": 1}),
    "task id reused for other data": ([task(1, ann(GOOD)), task(1, ann(GOOD), image="b.jpg")], 2, 2, {"duplicate_id": 1}),
    "annotations not a list": ([{"id": 1, "data": {"image": "a.jpg"}, "annotations": {"id": 3}}], 1, 0, {"bad_record": 1}),
    "annotation not an object": ([task(1, "x", ann(GOOD))], 1, 1, {"bad_record": 1}),
    "all cancelled": ([task(1, ann(GOOD, cancelled=True), ann(GOOD, aid=2, cancelled=True))], 1, 0, {"cancelled_annotation": 2}),
    "cancelled beside a usable one": ([task(1, ann(GOOD, aid=1), ann(GOOD, GOOD, aid=2, cancelled=True))], 1, 1, {"cancelled_annotation": 1}),
    "three annotators": ([task(1, ann(GOOD, aid=1), ann(GOOD, aid=2), ann(GOOD, aid=3))], 1, 1, {"duplicate_annotation": 2}),
    "result not a list": ([task(1, ann(result={"x": 1}))], 1, 0, {"bad_record": 1}),
    "result not an object": ([task(1, ann("junk", GOOD))], 1, 1, {"bad_result": 1}),
    "value missing": ([task(1, ann({"type": "rectanglelabels"}, GOOD))], 1, 1, {"bad_result": 1}),
    "type missing, not inferable": ([task(1, ann({"value": {"x": 1}}))], 1, 0, {"bad_result": 1}),
    "type missing, inferred": ([task(1, ann({k: v for k, v in GOOD.items() if k != "type"}))], 1, 1, {}),
    "rectangle without width": ([task(1, ann(rect(width=None)))], 1, 0, {"bad_box": 1}),
    "rectangle x not a number": ([task(1, ann(rect(x="left")))], 1, 0, {"bad_box": 1}),
    "rectangle rotation not a number": ([task(1, ann(rect(rotation=[1])))], 1, 0, {"bad_box": 1}),
    "rectangle of zero size": ([task(1, ann(rect(width=0)))], 1, 1, {"non_positive_box": 1}),
    "rectangle past the border": ([task(1, ann(rect(x=90, width=20)))], 1, 1, {"box_clipped": 1}),
    "rectangle outside the image": ([task(1, ann(rect(x=120)))], 1, 0, {"box_outside_image": 1}),
    "rotated rectangle": ([task(1, ann(rect(x=20, rotation=30)))], 1, 1, {"rotated_box": 1}),
    "region without label": ([task(1, ann({**GOOD, "value": {**GOOD["value"], "rectanglelabels": [""]}}))], 1, 0, {"no_label": 1}),
    "polygon of two points": ([task(1, ann(poly([[1, 1], [5, 5]])))], 1, 0, {"bad_polygon": 1}),
    "polygon with text": ([task(1, ann(poly([[1, 1], [5, "a"], [3, 9]])))], 1, 0, {"bad_polygon": 1}),
    "unsupported types, once per type": (
        [task(1, ann({"type": "brushlabels", "value": {"rle": [1]}}, {"type": "brushlabels", "value": {}},
                     {"type": "keypointlabels", "value": {"x": 1}}, GOOD))], 1, 1, {"unsupported_result": 2}),
    "bad original size": ([task(1, ann(rect(size=(0, 100))))], 1, 1, {"bad_image_size": 1}),
    "results disagree on the size": ([task(1, ann(rect(size=(200, 100)), rect(size=(300, 100))))], 1, 2, {"bad_image_size": 1}),
    "rejected review": ([task(1, ann(GOOD, reviews=[{"accepted": True, "created_at": "2024-01-01T00:00:00Z"},
                                                    {"accepted": False, "created_at": "2024-01-02T00:00:00Z"}]))],
                        1, 1, {"rejected_annotation": 1}),
    "accepted review": ([task(1, ann(GOOD, reviews=[{"accepted": False, "created_at": "2024-01-01T00:00:00Z"},
                                                    {"accepted": True, "created_at": "2024-01-02T00:00:00Z"}]))], 1, 1, {}),
    "predictions present": ([task(1, ann(GOOD)) | {"predictions": [{"result": [GOOD]}, {"result": []}]}], 1, 1, {"predictions_ignored": 1}),
    "choice with several values": ([task(1, ann(GOOD, choice("sunny", "rain")))], 1, 1, {"multi_valued_condition": 1}),
    "choice without value": ([task(1, ann(GOOD, choice()))], 1, 1, {"no_label": 1}),
    "data field named like a choice": ([task(1, ann(GOOD, choice("sunny")), weather="dry")], 1, 1, {"condition_ignored": 1}),
    "nested data field": ([task(1, ann(GOOD), meta={"a": 1})], 1, 1, {"condition_ignored": 1}),
    "split not a name": ([task(1, ann(GOOD), split=["train"])], 1, 1, {"bad_split": 1}),
}


@pytest.mark.parametrize(("tasks", "n_images", "n_annotations", "codes"), REPORT_CASES.values(), ids=REPORT_CASES.keys())
def test_report_cases(tmp_path, tasks, n_images, n_annotations, codes):
    ds = read(tmp_path, tasks)
    assert (ds.num_images, ds.num_annotations) == (n_images, n_annotations)
    assert ds.report.counts() == Counter(codes)
    assert all(r.file == str(tmp_path / "export.json") for r in ds.report)


def test_non_finite_box_is_skipped(tmp_path):
    path = write(tmp_path, json.dumps([task(1, ann(rect(x=float("nan")), GOOD))]).encode())
    ds = read_labelstudio([path], LoadReport())
    assert ds.num_annotations == 1
    assert ds.report.counts() == Counter({"non_finite_box": 1})


def test_not_utf8_is_replaced_and_reported(tmp_path):
    text = json.dumps([task(1, ann(GOOD), image="caf\u00e9.jpg")], ensure_ascii=False).encode()
    ds = read(tmp_path, text.replace("é".encode(), b"\xe9"))
    assert ds.report.counts() == Counter({"not_utf8": 1})
    assert ds.images.column("file_name").to_pylist() == ["caf\ufffd.jpg"]


def test_single_task_object_is_one_image(tmp_path):
    ds = read(tmp_path, task(5, ann(GOOD, GOOD)))
    assert ds.images.column("source_id").to_pylist() == ["5"]
    assert ds.num_annotations == 2


# --------------------------------------------------------------------------- what is read


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/image1", "image1"),
        ("https://host/a/b.jpg?token=1&x=2", "b.jpg"),
        ("/data/local-files/?d=dir/sub/c.png", "c.png"),
        ("s3://bucket/k/d.jpeg", "d.jpeg"),
        ("/data/upload/3/e97d-a%20b.jpg", "e97d-a b.jpg"),
        ("C:\\data\\x.jpg", "x.jpg"),
        ("/data/local-files/?d=C:\\pics\\y.jpg", "y.jpg"),
    ],
)
def test_file_name(value, expected):
    assert file_name(value) == expected


@pytest.mark.parametrize(
    ("data", "config", "expected"),
    [
        ({"image": "/x/a.jpg", "other": "b.png"}, None, "a.jpg"),
        ({"text": "hello", "img": "s3://b/k/c.webp?v=2"}, None, "c.webp"),
        ({"photo": "/p/d.jpg", "image": "/x/a.jpg"}, '<View><Image name="i" value="$photo"/></View>', "d.jpg"),
        ({"text": "no image here", "n": 3}, None, None),
    ],
)
def test_image_of_a_task(tmp_path, data, config, expected):
    ds = read(tmp_path, [{"id": 1, "data": data, "annotations": []}], label_config=config)
    assert ds.images.column("file_name").to_pylist() == [expected]


def test_box_in_pixels_and_image_size(tmp_path):
    ds = read(tmp_path, [task(1, ann(rect(x=10, y=20, width=30, height=40, size=(200, 100))))])
    a = ds.annotations.to_pylist()[0]
    assert (a["x"], a["y"], a["w"], a["h"]) == pytest.approx((20, 20, 60, 40))
    assert ds.images.select(["width", "height"]).to_pylist() == [{"width": 200, "height": 100}]


def test_box_normalised_when_size_unknown(tmp_path):
    ds = read(tmp_path, [task(1, ann(rect(x=10, y=20, width=30, height=40, size=None)))])
    a = ds.annotations.to_pylist()[0]
    assert (a["x"], a["y"], a["w"], a["h"]) == pytest.approx((0.1, 0.2, 0.3, 0.4))
    assert ds.images.select(["width", "height"]).to_pylist() == [{"width": None, "height": None}]


def test_result_without_size_uses_the_image_size_of_its_siblings(tmp_path):
    ds = read(tmp_path, [task(1, ann(rect(size=None, x=50, y=50, width=10, height=10), rect(size=(200, 100))))])
    assert ds.annotations.column("x").to_pylist()[0] == pytest.approx(100)


@pytest.mark.parametrize(
    ("box", "degrees", "expected"),
    [
        ((10, 10, 4, 2), 90, (8, 10, 2, 4)),  # clockwise about the top-left corner: the box swings left
        ((10, 10, 4, 2), 180, (6, 8, 4, 2)),
        ((10, 10, 4, 2), 360, (10, 10, 4, 2)),
        ((0, 0, 2, 2), 45, (-math.sqrt(2), 0, 2 * math.sqrt(2), 2 * math.sqrt(2))),
    ],
)
def test_rotated_bounds(box, degrees, expected):
    assert rotated_bounds(*box, degrees) == pytest.approx(expected, abs=1e-9)


def test_rotated_rectangle_keeps_its_bounding_box(tmp_path):
    ds = read(tmp_path, [task(1, ann(rect(x=50, y=10, width=10, height=20, rotation=90, size=(100, 100))))])
    a = ds.annotations.to_pylist()[0]
    assert (a["x"], a["y"], a["w"], a["h"]) == pytest.approx((30, 10, 20, 10))
    assert "rotated by 90°" in ds.report.rows[0].problem


def test_polygon_box_and_pixel_area(tmp_path):
    square = [[10, 10], [60, 10], [60, 60], [10, 60]]  # 50% x 50% of 200 x 100 -> 100 x 50 px
    ds = read(tmp_path, [task(1, ann(poly(square), poly(square), rect()))])
    assert ds.task == "segmentation"
    a = ds.annotations.to_pylist()[0]
    assert (a["x"], a["y"], a["w"], a["h"], a["pixels"]) == pytest.approx((20, 10, 100, 50, 5000))
    assert ds.annotations.column("pixels").to_pylist()[2] is None  # the rectangle


def test_polygon_without_size_has_no_pixel_count(tmp_path):
    ds = read(tmp_path, [task(1, ann(poly([[10, 10], [60, 10], [60, 60]], size=None)))])
    assert ds.annotations.column("pixels").to_pylist() == [None]
    assert ds.annotations.column("w").to_pylist() == [pytest.approx(0.5)]


def test_one_region_with_several_labels_is_one_annotation_per_label(tmp_path):
    ds = read(tmp_path, [task(1, ann(rect("ant", "zebra", rid="r9")))])
    assert ds.annotations.column("source_id").to_pylist() == ["task 1 / annotation 1 / result r9"] * 2
    assert sorted(ds.class_names[c] for c in ds.annotations.column("category_id").to_pylist()) == ["ant", "zebra"]


# rows: annotations of one task (id, updated_at, created_at, cancelled) -> id kept
RECENCY = [
    ([(1, "2024-01-02T00:00:00Z", "2024-01-01T00:00:00Z", False), (2, "2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z", False)], 1),
    ([(1, None, "2024-01-01T00:00:00Z", False), (2, None, "2024-01-01T00:00:01Z", False)], 2),
    ([(5, None, None, False), (3, None, None, False)], 5),
    ([(1, "2024-01-01T00:00:00+02:00", None, False), (2, "2023-12-31T23:00:00Z", None, False)], 2),  # time zones
    ([(1, "2024-01-02T00:00:00Z", None, True), (2, "2024-01-01T00:00:00Z", None, False)], 2),  # cancelled never counts
    ([(1, "not a time", None, False), (2, "2020-01-01T00:00:00Z", None, False)], 2),
]


@pytest.mark.parametrize(("annotations", "kept"), RECENCY)
def test_most_recent_annotation_counts(tmp_path, annotations, kept):
    anns = [ann(rect(rid=f"of{aid}"), aid=aid, updated=up, created=cr, cancelled=c) for aid, up, cr, c in annotations]
    ds = read(tmp_path, [task(1, *anns)])
    assert ds.annotations.column("source_id").to_pylist() == [f"task 1 / annotation {kept} / result of{kept}"]
    ignored = {r.record for r in ds.report if r.code in ("duplicate_annotation", "cancelled_annotation")}
    assert ignored == {f"task 1 / annotation {aid}" for aid, *_ in annotations if aid != kept}


def test_all_cancelled_says_the_task_is_kept_without_labels(tmp_path):
    ds = read(tmp_path, [task(1, ann(GOOD, cancelled=True))])
    assert [(r.record, r.action) for r in ds.report] == [("task 1 / annotation 1", "ignored: task kept with no labels")]
    assert ds.num_images == 1 and ds.num_annotations == 0


@pytest.mark.parametrize(
    ("who", "expected"),
    [(7, "7"), ({"id": 3, "email": "a@b.c"}, "a@b.c"), ({"id": 3, "email": ""}, "3"), (None, None), ("kim", "kim"),
     ({"id": {"id": {"id": 3}}}, None), ({"email": ["x"], "id": [3]}, None)],
)
def test_annotator_and_annotated_at(tmp_path, who, expected):
    ds = read(tmp_path, [task(1, ann(GOOD, who=who, created="2024-03-04T05:06:07.5Z"))])
    assert ds.images.column("annotator").to_pylist() == [expected]
    assert ds.annotations.column("annotator").to_pylist() == [expected]
    stamp = ds.annotations.column("annotated_at")[0].as_py()
    assert (stamp.isoformat(), ds.images.column("annotated_at")[0].as_py()) == ("2024-03-04T05:06:07.500000+00:00", stamp)


def test_split_group_and_conditions_from_data(tmp_path):
    tasks = [task(i, ann(GOOD), split=s, video=f"v{i % 2}", camera=c, score=0.5)
             for i, (s, c) in enumerate([("train", "A"), ("valid", "B"), (None, "A")], start=1)]
    ds = read(tmp_path, tasks)
    assert ds.images.column("split").to_pylist() == ["train", "val", "unassigned"]
    assert ds.images.column("group").to_pylist() == ["v1", "v0", "v1"]
    assert ds.conditions == ("camera",)  # score holds floats: reported, not a condition
    assert ds.images.column("camera").to_pylist() == ["A", "B", "A"]
    assert [(r.record, r.code) for r in ds.report] == [("score", "condition_ignored")]


def test_choices_beside_regions_are_conditions(tmp_path):
    tasks = [task(1, ann(GOOD, choice("sunny"))), task(2, ann(choice("rain", from_name="Time of day"))), task(3)]
    ds = read(tmp_path, tasks)
    assert ds.task == "detection" and ds.class_names == ["ant"]
    assert ds.conditions == ("weather", condition_name("Time of day"))
    assert ds.images.column("weather").to_pylist() == ["sunny", None, None]
    assert ds.images.column("time_of_day").to_pylist() == [None, "rain", None]


def test_choices_alone_are_classification(tmp_path):
    ds = read(tmp_path, [task(1, ann(choice("cat", "dog", from_name="label"))), task(2, ann(choice("cat", from_name="label")))])
    assert ds.task == "classification" and ds.class_names == ["cat", "dog"]
    assert ds.annotations.column("image_id").to_pylist() == [0, 0, 1]
    assert ds.annotations.column("x").null_count == 3


def test_label_config_orders_classes_and_reports_unknown_ones(tmp_path):
    config_path = tmp_path / "config.xml"
    config_path.write_text(CONFIG)
    for config in (CONFIG, config_path, str(config_path)):
        ds = read(tmp_path, [task(1, ann(rect("ant"), rect("moth"), rect("moth"), choice("rain")))], label_config=config)
        assert ds.class_names == ["zebra", "ant", "unused", "moth"]
        assert [(r.record, r.code, r.action) for r in ds.report] == [("moth", "unknown_class", "kept as an extra class")]
        assert "2 annotation(s)" in ds.report.rows[0].problem


def test_label_config_with_regions_makes_choices_conditions(tmp_path):
    ds = read(tmp_path, [task(1, ann(choice("rain")))], label_config=CONFIG)
    assert (ds.task, ds.num_annotations, ds.conditions) == ("detection", 0, ("weather",))


def test_parse_label_config():
    config = parse_label_config(CONFIG)
    assert (config.labels, config.choices, config.image_key, config.has_regions) == (
        ("zebra", "ant", "unused"), ("sunny", "rain"), "image", True)


def test_task_predictions_seam():
    preds = [{"model_version": "m", "result": [GOOD]}, "junk"]
    assert task_predictions({"predictions": preds}) == [preds[0]]
    assert task_predictions({"predictions": None}) == task_predictions("x") == []


def test_load_sniffs_the_format_and_passes_the_config(tmp_path):
    from imbal_core.io import load

    ds = load(write(tmp_path, [task(1, ann(GOOD))]), label_config=CONFIG)
    assert (ds.format, ds.class_names) == ("labelstudio", ["zebra", "ant", "unused"])


def test_several_files_name_their_file_in_reports(tmp_path):
    a = write(tmp_path, [task(1, ann(GOOD))], "a.json")
    b = write(tmp_path, [task(2, ann(rect(x=95, width=10)))], "b.json")
    ds = read_labelstudio([a, b], LoadReport())
    assert ds.num_images == 2 and ds.sources == (str(a), str(b))
    assert [(r.file, r.code) for r in ds.report] == [(str(b), "box_clipped")]


# --------------------------------------------------------------------------- the real exports


@pytest.mark.realdata
def test_real_doubly_annotated_task_counts_once(realdata):
    path = realdata / "labelstudio" / "test_export_yolo_data.json"
    raw = json.loads(path.read_text())
    # independent expectation: per task, the annotation with the latest updated_at
    kept = {t["id"]: max(t["annotations"], key=lambda a: a["updated_at"]) for t in raw}
    others = [(t["id"], a["id"]) for t in raw for a in t["annotations"] if a is not kept[t["id"]]]
    ds = read_labelstudio([path], LoadReport(), label_config=realdata / "labelstudio" / "test_export_yolo_label_config.xml")
    assert ds.num_images == len(raw) == 2
    assert ds.num_annotations == sum(len(a["result"]) for a in kept.values()) == 4
    assert others == [(1, 1)]
    dup = [r for r in ds.report if r.code == "duplicate_annotation"]
    assert [(r.record, r.action) for r in dup] == [("task 1 / annotation 1", "ignored: task counted once")]
    assert len(ds.report) == 1
    assert ds.class_names == ["parasites", "white"]
    counts = Counter(ds.class_names[c] for c in ds.annotations.column("category_id").to_pylist())
    expected = Counter(label for a in kept.values() for r in a["result"] for label in r["value"]["rectanglelabels"])
    assert counts == expected == Counter({"white": 3, "parasites": 1})
    first = kept[1]["result"][0]
    a = ds.annotations.to_pylist()[0]
    assert a["x"] == pytest.approx(first["value"]["x"] / 100 * first["original_width"])
    assert ds.images.column("width").to_pylist() == [2800, 2800]


@pytest.mark.realdata
def test_real_polygon_export_is_segmentation(realdata):
    path = realdata / "labelstudio" / "test_export_yolo_data_polygons.json"
    raw = json.loads(path.read_text())
    results = [r for t in raw for r in t["annotations"][0]["result"]]
    ds = read_labelstudio([path], LoadReport())
    assert ds.task == "segmentation"
    assert (ds.num_images, ds.num_annotations) == (1, len(results)) == (1, 1)
    r = results[0]
    xs = [p[0] / 100 * r["original_width"] for p in r["value"]["points"]]
    ys = [p[1] / 100 * r["original_height"] for p in r["value"]["points"]]
    area = 0.5 * abs(sum(xs[i - 1] * ys[i] - xs[i] * ys[i - 1] for i in range(len(xs))))
    pixels = ds.annotations.column("pixels").to_pylist()
    assert all(p > 0 for p in pixels)
    assert pixels == [pytest.approx(area)]
    assert ds.annotations.column("w").to_pylist() == [pytest.approx(max(xs) - min(xs))]
    assert ds.class_names == ["Airplane"] and not ds.report


@pytest.mark.realdata
def test_real_export_with_user_objects_gives_emails(realdata):
    path = realdata / "labelstudio" / "test_export_csv_csv_test.json"
    raw = json.loads(path.read_text())
    ds = read_labelstudio([path], LoadReport())
    emails = [t["annotations"][0]["completed_by"]["email"] for t in raw]
    assert ds.images.column("annotator").to_pylist() == emails == ["hakan@heartex.com"] * 2
    assert set(ds.annotations.column("annotator").to_pylist()) == {"hakan@heartex.com"}
    assert ds.num_annotations == sum(len(t["annotations"][0]["result"]) for t in raw) == 3
    assert ds.images.column("file_name").to_pylist() == [t["data"]["image"].rsplit("/", 1)[1] for t in raw]
    assert ds.images.select(["width", "height"]).to_pylist() == [{"width": 768, "height": 576}, {"width": 768, "height": 510}]
    # data.text (tweets) and data.audio (a link) are free text, not conditions
    assert ds.report.counts() == Counter({"rejected_annotation": 2, "predictions_ignored": 1, "box_clipped": 1,
                                          "condition_ignored": 2})
    assert ds.conditions == ()


# --------------------------------------------------------------------------- property: nothing is lost

_number = st.one_of(st.floats(-50, 150, allow_nan=False), st.integers(-10, 200), st.just("12"), st.just("x"), st.none())
_label_list = st.lists(st.sampled_from(["ant", "bee", "cow", ""]), max_size=2)
_size = st.one_of(st.none(), st.tuples(st.sampled_from([0, 64, 640, "wide"]), st.sampled_from([48, 480])))
_point = st.one_of(st.tuples(st.floats(0, 100), st.floats(0, 100)).map(list), st.just(["a", 1]))


@st.composite
def _result(draw) -> Any:
    kind = draw(st.sampled_from(["rectanglelabels", "polygonlabels", "choices", "brushlabels", None, "junk", "novalue"]))
    if kind == "junk":
        return draw(st.one_of(st.integers(), st.text(max_size=3), st.none()))
    res: dict[str, Any] = {"type": kind, "from_name": draw(st.sampled_from(["weather", "label"]))}
    if kind == "novalue":
        res["type"] = "rectanglelabels"
        return res
    if kind in ("rectanglelabels", None):
        value = {k: draw(_number) for k in ("x", "y", "width", "height") if draw(st.integers(0, 9))}
        value["rotation"] = draw(st.sampled_from([0, 0, 15, "r"]))
        value["rectanglelabels"] = draw(_label_list)
    elif kind == "polygonlabels":
        value = {"points": draw(st.lists(_point, max_size=5)), "polygonlabels": draw(_label_list)}
    elif kind == "choices":
        value = {"choices": draw(_label_list)}
    else:
        value = {"rle": [1, 2]}
    res["value"] = value
    size = draw(_size)
    if size is not None:
        res["original_width"], res["original_height"] = size
    return res


_time = st.one_of(st.none(), st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-02T00:00:00+01:00", "garbage"]))
_annotation = st.fixed_dictionaries(
    {"was_cancelled": st.booleans(), "updated_at": _time, "created_at": _time,
     "completed_by": st.one_of(st.integers(0, 3), st.fixed_dictionaries({"email": st.sampled_from(["a@x", ""])}), st.none()),
     "result": st.lists(_result(), max_size=4)}
)
_task_data = st.fixed_dictionaries(
    {"image": st.sampled_from(["/a/b.jpg", "https://h/c.png?x=1", ""]), "weather": st.sampled_from(["dry", "wet"])},
    optional={"split": st.sampled_from(["train", "val", None, 3]), "site": st.integers(0, 2), "meta": st.just({"k": 1})},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tasks=st.lists(st.tuples(_task_data, st.lists(_annotation, max_size=3)), max_size=6),
       junk=st.lists(st.one_of(st.integers(), st.text(max_size=2)), max_size=2))
def test_nothing_is_lost(tasks, junk):
    doc = []
    for t, (data, anns) in enumerate(tasks):
        for a, annotation in enumerate(anns):
            annotation["id"] = 10 * t + a
            for r, res in enumerate(annotation["result"]):
                if isinstance(res, dict):
                    res["id"] = f"r{r}"
        doc.append({"id": t, "data": data, "annotations": anns})
    doc.extend(junk)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.json"
        path.write_text(json.dumps(doc))
        try:
            ds = read_labelstudio([path], LoadReport())
        except LoadError:
            return
    rows = {r.record: r for r in ds.report}
    ignored = {r.record for r in ds.report if r.code in ("duplicate_annotation", "cancelled_annotation")}
    codes_of: dict[str, set[str]] = {}
    for r in ds.report:
        codes_of.setdefault(r.record, set()).add(r.code)
    assert ds.num_images == len(tasks)
    assert ds.images.column("source_id").to_pylist() == [str(t) for t in range(len(tasks))]
    assert sum(1 for r in ds.report if r.code == "bad_record" and r.record.startswith("tasks[")) == len(junk)
    ann_sources = Counter(ds.annotations.column("source_id").to_pylist())
    images = ds.images.to_pylist()
    for t, (data, anns) in enumerate(tasks):
        names = {f"task {t} / annotation {10 * t + a}": x for a, x in enumerate(anns)}
        unreported = [n for n in names if n not in ignored]
        # every annotation but at most one (the kept one) is reported; the kept one is never cancelled
        assert len(unreported) == (1 if any(not x["was_cancelled"] for x in anns) else 0)
        assert all(not names[n]["was_cancelled"] for n in unreported)
        for name in unreported:
            for r, res in enumerate(names[name]["result"]):
                record = f"{name} / result r{r}" if isinstance(res, dict) else f"{name} / result[{r}]"
                kind = res.get("type") if isinstance(res, dict) else None
                if record in ann_sources or record in rows or f"type {kind}" in rows:
                    continue
                # a choice beside regions: a condition value, or a report row about the condition
                assert kind == "choices", (record, res)
                column = condition_name(res["from_name"])
                assert images[t].get(column) is not None or "condition_ignored" in codes_of.get(res["from_name"], set())
        assert all(not s.startswith(f"task {t} / ") or s.rsplit(" / ", 1)[0] in unreported for s in ann_sources)


_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=4),
              st.sampled_from(["rectanglelabels", "polygonlabels", "choices", "2024-01-01T00:00:00Z", "a.jpg"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(
        st.sampled_from(["id", "data", "image", "annotations", "result", "value", "type", "x", "y", "width", "height",
                         "points", "rectanglelabels", "polygonlabels", "choices", "was_cancelled", "original_width",
                         "original_height", "rotation", "completed_by", "created_at", "updated_at", "reviews", "split"]),
        inner, max_size=6)),
    max_leaves=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.one_of(_json, st.lists(st.fixed_dictionaries({"id": st.integers(0, 3), "data": _json, "annotations": _json}), max_size=4)))
def test_arbitrary_json_raises_only_load_error(doc):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.json"
        path.write_text(json.dumps(doc))
        try:
            ds = read_labelstudio([path], LoadReport())
        except LoadError:
            return
    assert ds.num_images <= (len(doc) if isinstance(doc, list) else 1)
