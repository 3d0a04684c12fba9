"""Labelme JSON reader: the real examples (counted by hand), generated variants, broken input."""
from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imbal_core.cli import main
from imbal_core.io import cache, load
from imbal_core.io.labelme import read_labelme
from imbal_core.io.sniff import sniff
from imbal_core.report import LoadError, LoadReport

VOC_CLASSES = ["aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
               "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa", "train", "tv/monitor"]


def shape(label="cat", points=((10, 20), (40, 60)), shape_type="rectangle", group_id=None, **extra) -> dict:
    return {"label": label, "points": [list(p) for p in points], "group_id": group_id, "shape_type": shape_type,
            "flags": {}, **extra}


def labelme(*shapes: dict, image="a.jpg", width=100, height=80, flags=None, **extra) -> dict:
    out = {"version": "5.2.1", "flags": flags or {}, "shapes": list(shapes), "imagePath": image,
           "imageData": "iVBORw0KGgo=", "imageHeight": height, "imageWidth": width}
    out.update(extra)
    return {k: v for k, v in out.items() if v is not None}


def write(folder: Path, doc: Any, name="a.json") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(doc if isinstance(doc, bytes) else json.dumps(doc).encode())
    return path


def read(tmp_path: Path, *docs: Any, **options):
    for i, d in enumerate(docs):
        write(tmp_path, d, f"{i:03d}.json")
    return read_labelme([tmp_path], LoadReport(), **options)


def per_class(dataset) -> dict[str, int]:
    names = dataset.class_names
    return dict(Counter(names[c] for c in dataset.annotations.column("category_id").to_pylist()))


def column(dataset, table: str, name: str) -> list:
    return getattr(dataset, table).column(name).to_pylist()


def codes(dataset) -> list[tuple[str, str, str]]:
    return [(r.record, r.code, r.action) for r in dataset.report]


# --------------------------------------------------------------------------- the real examples


@pytest.mark.realdata
def test_real_bbox_detection(realdata):
    # Counted in bbox_detection/data_annotated/*.json: 2011_000003 has 2 person rectangles,
    # 2011_000006 4 person, 2011_000025 2 bus and 1 car: 9 rectangles. labels.txt (beside
    # data_annotated/) lists __ignore__, _background_ and the 20 VOC classes, in that order.
    d = load(realdata / "labelme" / "bbox_detection", cache=False)
    assert d.format == "labelme" and d.task == "detection"
    assert d.num_images == 3 and d.num_annotations == 9
    assert d.class_names == VOC_CLASSES
    assert per_class(d) == {"person": 6, "bus": 2, "car": 1}
    assert column(d, "images", "file_name") == ["2011_000003.jpg", "2011_000006.jpg", "2011_000025.jpg"]
    assert column(d, "images", "height") == [338, 375, 375] and set(column(d, "images", "width")) == {500}
    # 2011_000025's first bus: points [84.0, 20.3846...] and [435.0, 373.3846...]
    first_bus = column(d, "annotations", "source_id").index("data_annotated/2011_000025#0")
    assert [column(d, "annotations", c)[first_bus] for c in "xywh"] == pytest.approx([84.0, 20.384615, 351.0, 353.0])
    assert not d.report


@pytest.mark.realdata
def test_real_instance_segmentation(realdata):
    # instance_segmentation/data_annotated: 18 polygons. 2011_000003: person, person (group 0),
    # person (group 0), bottle, __ignore__. 2011_000006: person x3, chair, person, __ignore__, sofa x4
    # (all group 0). 2011_000025: bus, bus, car. The two __ignore__ are not classes; shapes sharing
    # label and group_id are one object (Labelme's labelme2coco merges them): person 2+4, bottle 1,
    # chair 1, sofa 1, bus 2, car 1 = 12 objects from 16 class polygons.
    d = load(realdata / "labelme" / "instance_segmentation", cache=False)
    assert d.task == "segmentation"
    assert d.num_images == 3 and d.num_annotations == 12
    assert per_class(d) == {"person": 6, "bottle": 1, "chair": 1, "sofa": 1, "bus": 2, "car": 1}
    ids = column(d, "annotations", "source_id")
    assert "data_annotated/2011_000003#1+2" in ids and "data_annotated/2011_000006#6+7+8+9" in ids
    # the bottle's 9 points, less (369.814..., 159.336...): (5,0) (0,11) (0,51) (6,53) (18,50) (16,26)
    # (16,9) (16,6) (13,0); shoelace |55 - 306 - 654 - 332 - 272 - 48 - 78| / 2 = 817.5; box 18 x 53
    bottle = ids.index("data_annotated/2011_000003#3")
    assert column(d, "annotations", "pixels")[bottle] == pytest.approx(817.5)
    assert [column(d, "annotations", c)[bottle] for c in "wh"] == pytest.approx([18.0, 53.0])
    ignored = [(r.record, r.code) for r in d.report if r.code == "not_a_class"]
    assert ignored == [("data_annotated/2011_000003", "not_a_class"), ("data_annotated/2011_000006", "not_a_class")]
    # the merge is said: 2 person parts + 4 sofa parts (6 shapes) became 2 objects
    merged = next(r for r in d.report if r.code == "merged_shapes")
    assert merged.problem.startswith("16 polygons merged into 12 objects by group_id (6 shapes ")
    assert "became 2 objects" in merged.problem


@pytest.mark.realdata
def test_real_classification(realdata):
    # classification/data_annotated: no shapes; 0001.json flags cat (true), dog and __ignore__ (false);
    # 0002.json dog. So flags are the classes: cat 1, dog 1; __ignore__ is not one.
    d = load(realdata / "labelme" / "classification", cache=False)
    assert d.task == "classification" and d.num_images == 2
    assert d.class_names == ["cat", "dog"] and per_class(d) == {"cat": 1, "dog": 1}
    assert column(d, "annotations", "source_id") == ["data_annotated/0001#flag cat", "data_annotated/0002#flag dog"]


@pytest.mark.realdata
def test_real_video_annotation(realdata):
    # video_annotation/data_annotated: frames 00000100..00000104, each with track, track, car
    # polygons (group_id null): 5 images, track 10, car 5. labels.txt: __ignore__, _background_, car, track.
    d = load(realdata / "labelme" / "video_annotation", cache=False)
    assert d.num_images == 5 and d.num_annotations == 15
    assert d.class_names == ["car", "track"] and per_class(d) == {"track": 10, "car": 5}
    assert set(column(d, "images", "width")) == {1000} and set(column(d, "images", "height")) == {563}


@pytest.mark.realdata
@pytest.mark.parametrize("relative, images, annotations, used", [
    ("labelme/bbox_detection", 3, 9, {"person": 6, "bus": 2, "car": 1}),
    ("labelme/instance_segmentation", 3, 12, {"person": 6, "bottle": 1, "chair": 1, "sofa": 1, "bus": 2, "car": 1}),
    ("labelme/classification", 2, 2, {"cat": 1, "dog": 1}),
    ("labelme/video_annotation", 5, 15, {"track": 10, "car": 5}),
    # all four: shapes exist, so the classification files' flags are a condition, not classes
    ("labelme", 13, 36, {"person": 12, "bottle": 1, "chair": 1, "sofa": 1, "bus": 4, "car": 7, "track": 10}),
])
def test_summary_cli_auto(realdata, capsys, relative, images, annotations, used):
    code = main(["summary", "--json", "--no-cache", str(realdata / relative)])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out)
    assert summary["format"] == "labelme"
    assert (summary["images"], summary["annotations"]) == (images, annotations)
    assert {c["class"]: c["instances"] for c in summary["classes"] if c["instances"]} == used


@pytest.mark.realdata
def test_whole_folder_flags_become_a_condition(realdata):
    d = load(realdata / "labelme", cache=False)
    assert d.conditions == ("flags",)
    flags = dict(zip(column(d, "images", "source_id"), column(d, "images", "flags")))
    assert flags["classification/data_annotated/0001"] == "cat" and flags["classification/data_annotated/0002"] == "dog"


@pytest.mark.realdata
@pytest.mark.parametrize("relative", ["labelme", "labelme/bbox_detection", "labelme/classification/data_annotated",
                                      "labelme/video_annotation/data_annotated/00000100.json"])
def test_sniffed(realdata, relative):
    assert sniff([realdata / relative]) == "labelme"


# --------------------------------------------------------------------------- generated variants


def test_circles_lines_points_and_masks(tmp_path):
    d = read(tmp_path, labelme(
        shape("ball", [(50, 40), (50, 30)], "circle"),  # centre (50, 40), radius 10
        shape("lane", [(0, 0), (30, 40)], "line"),
        shape("lane", [(0, 0), (10, 5), (30, 40)], "linestrip"),
        shape("nose", [(5, 5)], "point"),
        shape("cat", [(10, 10), (30, 20)], "mask", mask="iVBORw0KGgo="),
        shape("cat", [(40, 60), (10, 20)], "rectangle"),  # corners in either order
    ))
    assert per_class(d) == {"ball": 1, "lane": 2, "nose": 1, "cat": 2}
    assert [column(d, "annotations", c)[0] for c in "xywh"] == [40.0, 30.0, 20.0, 20.0]
    assert column(d, "annotations", "pixels") == [pytest.approx(math.pi * 100), None, None, None, None, None]
    assert column(d, "annotations", "x")[1:4] == [None, None, None]  # lines and points: no box
    assert [column(d, "annotations", c)[5] for c in "xywh"] == [10.0, 20.0, 30.0, 40.0]
    assert ("000", "mask_not_decoded", "counted with their box, without pixels") in codes(d)


def test_group_id_merges_parts_of_one_object(tmp_path):
    square = [(0, 0), (10, 0), (10, 10), (0, 10)]
    d = read(tmp_path, labelme(
        shape("cat", square, "polygon", group_id=1),
        shape("cat", [(20, 20), (30, 20), (30, 30)], "polygon", group_id=1),
        shape("dog", square, "polygon", group_id=1),  # same group, other label: another object
        shape("cat", square, "polygon"),
    ))
    assert column(d, "annotations", "source_id") == ["000#0+1", "000#2", "000#3"]
    assert column(d, "annotations", "pixels") == [150.0, 100.0, 100.0]
    assert [column(d, "annotations", c)[0] for c in "xywh"] == [0.0, 0.0, 30.0, 30.0]
    assert [r.problem for r in d.report if r.code == "merged_shapes"] == [
        "4 polygons merged into 3 objects by group_id (2 shapes sharing a label and group_id in one image became "
        "1 objects)"]


def test_no_merge_no_merged_row(tmp_path):
    d = read(tmp_path, labelme(shape("cat", group_id=1), shape("dog", group_id=1), shape("cat")))
    assert d.num_annotations == 3 and "merged_shapes" not in d.report.codes()


def test_flags_are_classes_without_shapes_and_conditions_with_them(tmp_path):
    flags = [{"cat": True, "dog": False, "bird": False}, {"cat": True, "dog": True, "bird": False}]
    d = read(tmp_path, *(labelme(flags=f) for f in flags))
    assert d.task == "classification"
    assert d.class_names == ["cat", "dog", "bird"] and per_class(d) == {"cat": 2, "dog": 1}
    docs = [labelme(shape(), flags={"night": True, "rain": True}), labelme(shape(), flags={"night": False, "rain": False})]
    d = read(tmp_path / "shapes", *docs)
    assert d.conditions == ("flags",) and column(d, "images", "flags") == ["night + rain", None]


@pytest.mark.parametrize("mode, task, conditions", [("classes", "detection", ()), ("conditions", "detection", ("flags",))])
def test_flags_option(tmp_path, mode, task, conditions):
    d = read(tmp_path, labelme(shape("dog"), flags={"cat": True}), flags=mode)
    assert d.task == task and d.conditions == conditions
    assert per_class(d) == ({"dog": 1, "cat": 1} if mode == "classes" else {"dog": 1})


def test_shape_flags_are_attributes(tmp_path):
    d = read(tmp_path, labelme(shape(flags={"occluded": True, "truncated": True, "blurry": True}),
                               shape(flags={"occluded": False, "truncated": False, "blurry": True})),
             labelme(shape(flags={"blurry": False})), labelme(shape(flags={"occluded": True}), shape()))
    assert column(d, "annotations", "truncated") == [True, False, None, None, None]
    assert column(d, "annotations", "occluded") == [True, False, None, True, None]
    # per-object flags become image conditions by the rule every reader shares: the value the
    # image's shapes share (a shape without the flag does not count), else "mixed"
    assert d.conditions == ("occluded", "truncated", "blurry")
    assert column(d, "images", "occluded") == ["mixed", None, "yes"]
    assert column(d, "images", "truncated") == ["mixed", None, None]
    assert column(d, "images", "blurry") == ["true", "false", None]
    d = read(tmp_path / "off", labelme(shape(flags={"occluded": True, "blurry": True})), flag_conditions=False)
    assert d.conditions == () and column(d, "annotations", "occluded") == [True]


def test_not_classes_and_labels_file(tmp_path):
    (tmp_path / "labels.txt").write_text("__ignore__\n_background_\ndog\ncat\n")
    d = read(tmp_path / "data", labelme(shape("cat"), shape("__ignore__"), shape("_background_"), shape("fox"),
                                        flags={"__ignore__": True}))
    assert d.class_names == ["dog", "cat", "fox"]
    assert per_class(d) == {"cat": 1, "fox": 1}
    assert sorted(codes(d)) == [("000", "not_a_class", "ignored"), ("000", "not_a_class", "skipped"),
                                ("000", "not_a_class", "skipped"), ("fox", "unknown_class", "kept as an extra class")]


def test_split_folders(tmp_path):
    write(tmp_path, labelme(shape()), "train/a.json")
    write(tmp_path, labelme(shape()), "valid/sub/b.json")
    write(tmp_path, labelme(shape()), "other/c.json")
    d = load(tmp_path, cache=False)
    assert column(d, "images", "source_id") == ["other/c", "train/a", "valid/sub/b"]
    assert column(d, "images", "split") == ["unassigned", "train", "val"]


def test_image_data_is_never_decoded(tmp_path):
    d = read(tmp_path, labelme(shape(), imageData="this is not an image at all"))
    assert d.num_annotations == 1 and not d.report


def test_labels_file_is_part_of_the_cache_key(tmp_path):
    # the labels file sits one folder above the folder given: only extra_inputs puts it in the key
    folder = tmp_path / "export"
    write(folder, labelme(shape("cat")), "data/a.json")
    (folder / "labels.txt").write_text("cat\n")
    assert load(folder / "data").class_names == ["cat"]
    cache.wait_for_writes()  # the first parse is in the cache before the labels change
    (folder / "labels.txt").write_text("cat\ndog\n")
    assert load(folder / "data").class_names == ["cat", "dog"]


# --------------------------------------------------------------------------- broken input


def test_malformed_json_is_skipped_and_reported(tmp_path):
    write(tmp_path, b'{"shapes": [{"label": "cat", ', "bad.json")
    write(tmp_path, labelme(shape()), "good.json")
    d = read_labelme([tmp_path / "bad.json", tmp_path / "good.json"], LoadReport())
    assert d.num_images == 1
    assert [(rec, code) for rec, code, _ in codes(d)] == [("bad", "bad_json")]


@pytest.mark.parametrize("content, match", [
    (b'{"shapes": [{"label": "cat", ', "not valid JSON"),
    (b'{"imagePath": "a.jpg"}', "no `shapes` list"),
    (b"[1, 2]", "JSON list, not an object"),
])
def test_unusable_file_is_a_load_error(tmp_path, capsys, content, match):
    path = write(tmp_path, content)
    with pytest.raises(LoadError, match=match):
        read_labelme([path], LoadReport())
    assert main(["summary", "--no-cache", "--format", "labelme", str(path)]) == 2
    assert match.split()[0] in capsys.readouterr().err


def test_folder_without_labelme_is_a_load_error(tmp_path):
    write(tmp_path, {"images": [], "annotations": []}, "coco.json")
    with pytest.raises(LoadError, match="no Labelme JSON file"):
        read_labelme([tmp_path], LoadReport())


def test_other_json_beside_is_reported(tmp_path):
    write(tmp_path, {"images": [], "annotations": []}, "coco.json")
    write(tmp_path, labelme(shape()), "x/a.json")
    d = read_labelme([tmp_path], LoadReport())
    assert ("coco.json", "not_labelme", "ignored") in codes(d) and d.num_images == 1


@pytest.mark.parametrize("bad, code", [
    ({"label": "", "points": [[1, 1], [2, 2]], "shape_type": "rectangle"}, "missing_label"),
    ({"points": [[1, 1], [2, 2]], "shape_type": "rectangle"}, "missing_label"),
    ({"label": "cat", "points": [[1, 1]], "shape_type": "rectangle"}, "bad_points"),
    ({"label": "cat", "points": [[1, 1], [2, 2]]}, "bad_points"),  # no shape_type: a polygon, too few points
    ({"label": "cat", "points": [[1, "a"], [2, 2]], "shape_type": "line"}, "bad_points"),
    ({"label": "cat", "points": "1,2", "shape_type": "point"}, "bad_points"),
    ({"label": "cat", "points": [[1, 1], [2, 2]], "shape_type": "cuboid"}, "unsupported_shape"),
    ({"label": "cat", "points": [[1, 1], [2, 2]], "shape_type": ["rectangle"]}, "unsupported_shape"),
    ("a shape", "bad_shape"),
])
def test_bad_shapes(tmp_path, bad, code):
    d = read(tmp_path, labelme(bad, shape()))
    assert d.num_annotations == 1
    assert [c for _, c, _ in codes(d)] == [code]


def test_shape_flags_not_an_object_are_ignored(tmp_path):
    d = read(tmp_path, labelme(shape(flags=[1]), shape()))
    assert d.num_annotations == 2 and codes(d) == [("000#0", "bad_flags", "ignored")]


def test_nan_and_negative_coordinates(tmp_path):
    doc = json.dumps(labelme(shape(points=((-5, 10), (20, 30))), shape(points=((-50, 0), (-10, 10))))).encode()
    doc = doc.replace(b"}]", b'}, {"label": "cat", "points": [[NaN, 1], [2, 2]], "shape_type": "rectangle"}]', 1)
    d = read(tmp_path, doc)
    assert [column(d, "annotations", c)[0] for c in "xywh"] == [0.0, 10.0, 20.0, 20.0]
    assert codes(d) == [("000#2", "bad_points", "skipped"), ("000#1", "box_outside_image", "skipped"),
                        ("000#0", "box_clipped", "clipped")]


@pytest.mark.parametrize("fields, expected", [
    ({"imageHeight": None}, [("000", "bad_image_size", "set to unknown")]),
    ({"imageWidth": 0}, [("000", "bad_image_size", "set to unknown")]),
    ({"imageWidth": "100"}, [("000", "bad_image_size", "set to unknown")]),
    ({"imagePath": None}, [("000", "no_image", "kept without a file name")]),
    ({"flags": ["cat"]}, [("000", "bad_flags", "ignored")]),
])
def test_bad_image_fields(tmp_path, fields, expected):
    doc = labelme(shape())
    doc.update(fields)
    d = read(tmp_path, {k: v for k, v in doc.items() if v is not None})
    assert d.num_images == 1 and d.num_annotations == 1
    assert codes(d) == expected


def test_bad_option(tmp_path):
    with pytest.raises(ValueError, match="`flags` must be one of 'auto', 'classes', 'conditions'. Got 'all' instead."):
        read(tmp_path, labelme(shape()), flags="all")


# --------------------------------------------------------------------------- property


LABELS = ("cat", "dog", "__ignore__")


@st.composite
def folders(draw):
    """Random Labelme files; the counts (objects per label, pixels per label) they should give."""
    docs, expected, pixels = [], Counter(), Counter()
    for _ in range(draw(st.integers(1, 5))):
        shapes, groups = [], set()
        for _ in range(draw(st.integers(0, 5))):
            kind = draw(st.sampled_from(("rectangle", "polygon", "circle", "line", "point")))
            label = draw(st.sampled_from(LABELS))
            group = draw(st.sampled_from((None, None, 1, 2)))
            x, y, w, h = (draw(st.integers(0, 40)) for _ in range(4))
            w, h = w + 1, h + 1
            points = {"rectangle": [(x, y), (x + w, y + h)],
                      "polygon": [(x, y), (x + w, y), (x + w, y + h), (x, y + h)],
                      "circle": [(x + 10, y + 10), (x + 10, y + 10 + min(w, 10))],
                      "line": [(x, y), (x + w, y + h)], "point": [(x, y)]}[kind]
            shapes.append(shape(label, points, kind, group_id=group))
            if label == "__ignore__":
                continue
            if group is None or (label, group) not in groups:
                expected[label] += 1
            if group is not None:
                groups.add((label, group))
            pixels[label] += w * h if kind == "polygon" else math.pi * min(w, 10) ** 2 if kind == "circle" else 0
        docs.append(labelme(*shapes))
    return docs, expected, pixels


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(folders())
def test_counts_equal_what_was_generated(tmp_path_factory, generated):
    docs, expected, pixels = generated
    d = read(tmp_path_factory.mktemp("labelme"), *docs)
    assert per_class(d) == +expected
    assert d.num_images == len(docs)
    got = Counter()
    for c, p in zip(column(d, "annotations", "category_id"), column(d, "annotations", "pixels")):
        got[d.class_names[c]] += p or 0.0
    for label in ("cat", "dog"):
        assert got[label] == pytest.approx(pixels[label])
