"""CVAT XML reader: the real exports (counted by hand), generated variants, hostile and broken input."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imbal_core.cli import main
from imbal_core.io import load
from imbal_core.io.cvat import read_cvat
from imbal_core.io.sniff import sniff
from imbal_core.report import LoadError, LoadReport

# --------------------------------------------------------------------------- building exports


def labels_meta(*names: str, kind: str = "task", extra: str = "") -> str:
    labels = "".join(f"<label><name>{n}</name></label>" for n in names)
    return f"<meta><{kind}><id>1</id><name>t</name>{extra}<labels>{labels}</labels></{kind}></meta>"


def doc(*children: str, meta: str | None = None) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version>'
            + (meta if meta is not None else labels_meta("car", "person")) + "".join(children) + "</annotations>")


def image(iid, *shapes: str, name=None, width=100, height=80, **attrs) -> str:
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items())
    size = "".join(f' {k}="{v}"' for k, v in (("width", width), ("height", height)) if v is not None)
    return f'<image id="{iid}" name="{name or f"img{iid}.jpg"}"{size}{extra}>{"".join(shapes)}</image>'


def attrs(**values) -> str:
    return "".join(f'<attribute name="{k}">{v}</attribute>' for k, v in values.items())


def box(label="car", xtl=10, ytl=20, xbr=40, ybr=60, inner="", **extra) -> str:
    more = "".join(f' {k}="{v}"' for k, v in extra.items())
    return f'<box label="{label}" xtl="{xtl}" ytl="{ytl}" xbr="{xbr}" ybr="{ybr}"{more}>{inner}</box>'


def shape(kind: str, label="car", points="0,0;10,0;10,10", inner="", **extra) -> str:
    more = "".join(f' {k}="{v}"' for k, v in extra.items())
    return f'<{kind} label="{label}" points="{points}"{more}>{inner}</{kind}>'


def mask(label="car", rle="1, 3, 2, 2", left=2, top=3, width=4, height=2) -> str:
    return f'<mask label="{label}" rle="{rle}" left="{left}" top="{top}" width="{width}" height="{height}"/>'


def tag(label: str, inner="") -> str:
    return f'<tag label="{label}">{inner}</tag>'


def write(folder: Path, text: str | bytes, name="annotations.xml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def read(tmp_path: Path, text: str | bytes, **options):
    return read_cvat([write(tmp_path, text)], LoadReport(), **options)


def per_class(dataset) -> dict[str, int]:
    names = dataset.class_names
    return dict(Counter(names[c] for c in dataset.annotations.column("category_id").to_pylist()))


def codes(dataset) -> list[tuple[str, str, str]]:
    return [(r.record, r.code, r.action) for r in dataset.report]


def column(dataset, table: str, name: str) -> list:
    return getattr(dataset, table).column(name).to_pylist()


# --------------------------------------------------------------------------- the real exports


@pytest.mark.realdata
def test_real_project_export(realdata):
    # Counted in for_images/export_project/annotations.xml: 6 <image>s, two per subset Test / Train /
    # Validation (ids 0 and 1 repeat in each). Every img0 holds a label1 <box> (occluded="1", with
    # attributes a1..a4) and a label2 <polyline>; every img1 a label1 <polygon> (1,2;3,4;6,5: area
    # |1*4-3*2 + 3*5-6*4 + 6*2-1*5| / 2 = 2) and label2 <points>. So label1 6 (3 boxes + 3 polygons),
    # label2 6 (3 polylines + 3 points), 2 images and 4 objects per split.
    d = load(realdata / "cvat" / "for_images" / "export_project", cache=False)
    assert d.format == "cvat" and d.task == "detection"
    assert d.num_images == 6 and d.num_annotations == 12
    assert d.class_names == ["label1", "label2"]
    assert per_class(d) == {"label1": 6, "label2": 6}
    assert Counter(column(d, "images", "split")) == {"test": 2, "train": 2, "val": 2}
    assert column(d, "images", "source_id") == ["Test/0", "Test/1", "Train/0", "Train/1", "Validation/0", "Validation/1"]
    assert column(d, "images", "width") == [8, 10, 8, 10, 8, 10]
    pixels = [p for p in column(d, "annotations", "pixels") if p is not None]
    assert pixels == [2.0, 2.0, 2.0]  # the three polygons; boxes, polylines and points have none
    boxes = [(x, y, w, h) for x, y, w, h in zip(*(column(d, "annotations", c) for c in "xywh")) if x is not None]
    assert boxes == [(0.0, 2.0, 4.0, 2.0), (1.0, 2.0, 5.0, 3.0)] * 3  # the box 0,2-4,4 and the polygon's box
    # the box is occluded="1"; the polyline, polygon and points carry no occluded attribute (unknown)
    assert column(d, "annotations", "occluded") == [True, None, None, None] * 3
    # occluded and a1..a4 sit on the one box of each img0: by the shared rule, each image gets the
    # value its objects share (img1's objects carry none of them: null)
    assert d.conditions == ("occluded", "a1", "a2", "a3", "a4")
    assert column(d, "images", "occluded") == ["yes", None] * 3
    assert column(d, "images", "a2") == ["v3", None] * 3
    assert [(r.record, r.code) for r in d.report] == [(n, "object_flag") for n in ("occluded", "a1", "a2", "a3", "a4")]
    assert "(unknown 9, yes 3)" in d.report.rows[0].problem


@pytest.mark.realdata
def test_real_task_export(realdata):
    # for_images/export_task/train.xml: img0 has a label1 <box> and a <polyline label="">, img1 a
    # <polygon label=""> and label2 <points>: the two empty labels are skipped, 2 objects remain.
    # No subset anywhere: the file name train.xml gives the split (per-subset files, as datumaro writes).
    d = load(realdata / "cvat" / "for_images" / "export_task", cache=False)
    assert d.num_images == 2 and d.num_annotations == 2
    assert per_class(d) == {"label1": 1, "label2": 1}
    assert d.splits == ("train",)
    missing = [(rec, action) for rec, code, action in codes(d) if code == "missing_label"]
    assert missing == [("0#1", "skipped"), ("1#0", "skipped")]


@pytest.mark.realdata
def test_real_video_export(realdata):
    # for_video/annotations.xml: task frames start 10, stop 19, size 4, frame_filter step=3 -> frames
    # 10, 13, 16, 19 (original_size 25 x 20). Track 0 (II): box keyframe at 10 (outside 0), then
    # outside at 13 and 16 -> 1. Track 1 (klhg): points at 10, outside at 13 -> 1. Track 2 (II):
    # polyline at 13, outside at 16 -> 1. So II 2, klhg 1, "z U k" 0; frame 19 has no object.
    d = load(realdata / "cvat" / "for_video" / "annotations.xml", cache=False)
    assert d.num_images == 4 and d.num_annotations == 3
    assert column(d, "images", "source_id") == ["10", "13", "16", "19"]
    assert column(d, "images", "file_name") == ["frame_000010", "frame_000013", "frame_000016", "frame_000019"]
    assert set(column(d, "images", "width")) == {25} and set(column(d, "images", "height")) == {20}
    assert d.class_names == ["klhg", "z U k", "II"]
    assert per_class(d) == {"II": 2, "klhg": 1}
    assert column(d, "annotations", "source_id") == ["track 0@10", "track 1@10", "track 2@13"]
    assert set(column(d, "images", "group")) == {"v1"}  # the task: one video is one group
    assert column(d, "images", "hgl") == ["hgkf", None, None, None]  # the outside shape's "jk" is not read
    # counted keyframes: track 0's box at 10 occluded="1", track 1's points at 10 and track 2's
    # polyline at 13 occluded="0": frame 10's objects differ
    assert column(d, "annotations", "occluded") == [True, False, False]
    assert column(d, "images", "occluded") == ["mixed", "no", None, None]


@pytest.mark.realdata
@pytest.mark.parametrize("relative, images, annotations, classes", [
    ("cvat/for_images/export_project", 6, 12, {"label1": 6, "label2": 6}),
    ("cvat/for_images/export_task", 2, 2, {"label1": 1, "label2": 1}),
    ("cvat/for_video", 4, 3, {"II": 2, "klhg": 1, "z U k": 0}),
    # the whole folder: the three files above, one dataset
    ("cvat", 12, 17, {"label1": 7, "label2": 7, "II": 2, "klhg": 1, "z U k": 0}),
])
def test_summary_cli_auto(realdata, capsys, relative, images, annotations, classes):
    code = main(["summary", "--json", "--no-cache", str(realdata / relative)])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out)
    assert summary["format"] == "cvat"
    assert (summary["images"], summary["annotations"]) == (images, annotations)
    assert {c["class"]: c["instances"] for c in summary["classes"]} == classes


@pytest.mark.realdata
@pytest.mark.parametrize("relative", ["cvat", "cvat/for_images", "cvat/for_images/export_project",
                                      "cvat/for_video/annotations.xml", "cvat/for_images/export_task/train.xml"])
def test_sniffed(realdata, relative):
    assert sniff([realdata / relative]) == "cvat"


# --------------------------------------------------------------------------- generated variants


def test_mask_rle_pixels(tmp_path):
    # runs 1, 3, 2, 2 in a 4 x 2 box: background 1, object 3, background 2, object 2 -> 5 pixels
    d = read(tmp_path, doc(image(0, mask(), mask(rle="0, 8", label="person"), shape("polygon", points="0,0;4,0;4,5"))))
    assert column(d, "annotations", "pixels") == [5.0, 8.0, 10.0]
    assert [column(d, "annotations", c)[0] for c in "xywh"] == [2.0, 3.0, 4.0, 2.0]
    assert d.task == "segmentation"


@pytest.mark.parametrize("rle, problem", [
    ("1, 3, 2", "add up to 6 pixels"),
    ("1, x, 2", "not a list of whole numbers"),
    ("9, -1", "negative run"),
])
def test_bad_mask_is_reported(tmp_path, rle, problem):
    d = read(tmp_path, doc(image(0, mask(rle=rle), box())))
    assert d.num_annotations == 1
    row = next(r for r in d.report if r.code == "bad_mask")
    assert problem in row.problem and row.record == "0#0" and row.action == "skipped"


def test_per_subset_files_become_splits(tmp_path):
    # datumaro's per-subset layout: one task export per subset, named after it
    write(tmp_path, doc(image(0, box()), image(1, box(), box("person"))), "train.xml")
    write(tmp_path, doc(image(0, box("person"))), "validation.xml")
    write(tmp_path, "<annotation><object/></annotation>", "notes/voc.xml")  # not CVAT: reported, left out
    d = load(tmp_path, cache=False)
    assert d.format == "cvat"
    assert column(d, "images", "source_id") == ["train:0", "train:1", "validation:0"]
    assert column(d, "images", "split") == ["train", "train", "val"]
    assert per_class(d) == {"car": 2, "person": 2}
    assert ("voc.xml", "not_cvat", "ignored") in codes(d)


def test_project_task_subsets(tmp_path):
    # a project export whose images name their task, not a subset: the task's <subset> decides
    tasks = ("<tasks><task><id>7</id><name>a</name><subset>Train</subset></task>"
             "<task><id>8</id><name>b</name><subset>Test</subset></task></tasks>")
    meta = f"<meta><project><id>1</id>{tasks}<labels><label><name>car</name></label></labels></project></meta>"
    d = read(tmp_path, doc(image(0, box(), task_id=7), image(1, box(), task_id=8), image(2, task_id=9), meta=meta))
    assert column(d, "images", "split") == ["train", "test", "unassigned"]


def test_tags_are_conditions_when_there_are_shapes(tmp_path):
    meta = labels_meta("car", "night", "day", "scene")
    d = read(tmp_path, doc(image(0, box(), tag("night"), tag("scene", attrs(weather="rain"))),
                           image(1, box(), tag("day"), tag("scene", attrs(weather="snow"))),
                           image(2, box()), meta=meta))
    assert d.task == "detection" and d.class_names == ["car"]  # tag-only labels are not classes
    assert d.conditions == ("tag", "weather")
    assert column(d, "images", "tag") == ["night + scene", "day + scene", None]
    assert column(d, "images", "weather") == ["rain", "snow", None]


def test_tags_alone_are_classes(tmp_path):
    d = read(tmp_path, doc(image(0, tag("car")), image(1, tag("car"), tag("person")), image(2)))
    assert d.task == "classification"
    assert per_class(d) == {"car": 2, "person": 1}
    assert column(d, "annotations", "x") == [None, None, None]


@pytest.mark.parametrize("mode, task, conditions", [("classes", "detection", ()), ("conditions", "classification", ("tag",))])
def test_tags_option(tmp_path, mode, task, conditions):
    text = doc(image(0, box(), tag("person")), image(1, tag("car"))) if mode == "classes" else \
        doc(image(0, tag("person")), image(1, tag("car")))
    d = read(tmp_path, text, tags=mode)
    assert d.conditions == conditions
    if mode == "classes":
        assert per_class(d) == {"car": 2, "person": 1}  # the box and both tags
    else:
        assert d.num_annotations == 0 and column(d, "images", "tag") == ["person", "car"]
        assert d.task == "detection"  # no rows at all: not classification


def test_object_attributes_are_conditions_shared_value_or_mixed(tmp_path):
    # the rule of every reader with per-object values (io/_object_flags.py): the value the image's
    # objects share, else "mixed"; an image whose objects lack the attribute: null
    d = read(tmp_path, doc(
        image(0, box(inner=attrs(camera="front", color="red")), box(inner=attrs(camera="front", color="blue"))),
        image(1, box(inner=attrs(camera="rear", color="red"))), image(2, box())))
    assert d.conditions == ("camera", "color")
    assert column(d, "images", "camera") == ["front", "rear", None]
    assert column(d, "images", "color") == ["mixed", "red", None]
    row = next(r for r in d.report if r.code == "object_flag" and r.record == "color")
    assert "(red 2, blue 1, unknown 1)" in row.problem and "the objects of 1 of 2 images differ" in row.problem
    assert "annotation_attribute" not in d.report.codes()


def test_flag_conditions_false_only_counts(tmp_path):
    d = read(tmp_path, doc(image(0, box(inner=attrs(color="red"), occluded="1"), box(occluded="0"))),
             flag_conditions=False)
    assert d.conditions == ()
    assert column(d, "annotations", "occluded") == [True, False]  # the column is kept either way
    rows = [(r.record, r.action) for r in d.report if r.code == "object_flag"]
    assert rows == [(n, "counted here only (flag_conditions=False)") for n in ("occluded", "color")]  # no truncated


def test_truncated_and_occluded_attributes_are_flags(tmp_path):
    d = read(tmp_path, doc(image(0, box(inner=attrs(truncated="true")), box(inner=attrs(Truncated="0"), occluded="1"),
                                 box(inner=attrs(truncated="maybe"))),
                           image(1, box(occluded="0", inner=attrs(truncated="no")))))
    assert column(d, "annotations", "truncated") == [True, False, None, False]
    assert column(d, "annotations", "occluded") == [None, True, None, False]
    # flags say how an object is seen: image conditions by the shared rule (attributes removed)
    assert d.conditions == ("occluded", "truncated")
    assert column(d, "images", "occluded") == ["yes", "no"]
    assert column(d, "images", "truncated") == ["mixed", "no"]
    assert ("0#2", "bad_flag", "kept with truncated unknown") in codes(d)


def test_a_skipped_shape_does_not_count_in_the_image_condition(tmp_path):
    # the first box lies wholly outside the 100x80 image: not counted, so the image's objects agree
    d = read(tmp_path, doc(image(0, box(xtl=500, xbr=600, occluded="1"), box(occluded="0"))))
    assert d.num_annotations == 1
    assert column(d, "images", "occluded") == ["no"]


def test_ellipse_and_rotated_box(tmp_path):
    ellipse = '<ellipse label="car" cx="50" cy="40" rx="10" ry="5"/>'
    # a 20 x 10 box about the centre (30, 25), turned a quarter: 10 x 20 about the same centre
    d = read(tmp_path, doc(image(0, ellipse, box(xtl=20, ytl=20, xbr=40, ybr=30, rotation="90"))))
    assert column(d, "annotations", "pixels")[0] == pytest.approx(3.141592653589793 * 50)
    assert [column(d, "annotations", c)[0] for c in "xywh"] == [40.0, 35.0, 20.0, 10.0]
    assert [column(d, "annotations", c)[1] for c in "xywh"] == pytest.approx([25.0, 15.0, 10.0, 20.0])
    assert ("0#1", "rotated_box", "kept the axis-aligned box around it") in codes(d)


def test_unsupported_shapes_reported_once_per_kind(tmp_path):
    cuboid = '<cuboid label="car" xtl1="0" ytl1="0"/>'
    skeleton = '<skeleton label="car"><points label="nose" points="1,1"/></skeleton>'
    d = read(tmp_path, doc(image(0, cuboid, cuboid, skeleton, box())))
    assert d.num_annotations == 1  # the skeleton's own points are not read as an object
    rows = [(r.record, r.problem) for r in d.report if r.code == "unsupported_shape"]
    assert [rec for rec, _ in rows] == ["<cuboid>", "<skeleton>"] and rows[0][1].startswith("2 <cuboid>")


def test_unknown_label_is_kept_and_reported(tmp_path):
    d = read(tmp_path, doc(image(0, box("bus"), box("car"))))
    assert d.class_names == ["car", "person", "bus"]
    assert ("bus", "unknown_class", "kept as an extra class") in codes(d)


# --------------------------------------------------------------------------- video


def video(*tracks: str, size=5, step=1, start=0) -> str:
    meta = (f"<meta><task><id>4</id><name>clip</name><mode>interpolation</mode><size>{size}</size>"
            f"<start_frame>{start}</start_frame><stop_frame>{start + (size - 1) * step}</stop_frame>"
            f"<frame_filter>step={step}</frame_filter><labels><label><name>car</name></label></labels>"
            "<original_size><width>64</width><height>48</height></original_size></task></meta>")
    return doc(*tracks, meta=meta)


def track(tid, *frames: tuple[int, int, int], label="car") -> str:
    """``frames``: (frame, outside, keyframe)."""
    shapes = "".join(f'<box frame="{f}" outside="{o}" keyframe="{k}" occluded="0" xtl="1" ytl="1" xbr="9" ybr="9"/>'
                      for f, o, k in frames)
    return f'<track id="{tid}" label="{label}">{shapes}</track>'


def test_interpolated_shapes_count_only_when_asked(tmp_path):
    text = video(track(0, (0, 0, 1), (1, 0, 0), (2, 0, 0), (3, 0, 1), (4, 1, 1)))
    d = read(tmp_path, text)
    assert d.num_images == 5 and d.num_annotations == 2  # keyframes 0 and 3
    assert ("tracks", "interpolated_shape", "not counted") in codes(d)
    d = read(tmp_path, text, interpolated=True)
    assert d.num_annotations == 4 and not any(r.code == "interpolated_shape" for r in d.report)


def test_frames_follow_the_frame_filter(tmp_path):
    d = read(tmp_path, video(track(0, (20, 0, 1)), size=3, step=10, start=10))
    assert column(d, "images", "source_id") == ["10", "20", "30"]
    assert column(d, "annotations", "image_id") == [1]


def test_video_groups(tmp_path):
    text = video(track(0, (0, 0, 1), (1, 0, 1)), track(1, (1, 0, 1), (2, 0, 1), (3, 1, 1)), track(2, (4, 0, 1)), size=6)
    assert set(column(read(tmp_path, text), "images", "group")) == {"clip"}
    groups = column(read(tmp_path, text, video_group="tracks"), "images", "group")
    # tracks 0 and 1 share frame 1: frames 0-2 are one run; track 2 is frame 4 alone; frame 5 none
    assert groups == ["clip frames 0-2"] * 3 + [None, "clip frames 4-4", None]


def test_track_without_keyframe_is_reported(tmp_path):
    d = read(tmp_path, video(track(0, (0, 0, 0), (1, 0, 0)), track(1, (0, 1, 1)), track(2, (2, 0, 1))))
    assert d.num_annotations == 1
    rows = {r.record: r.problem for r in d.report if r.code == "track_without_keyframe"}
    assert set(rows) == {"track 0", "track 1"}
    assert "2 visible shape(s) are interpolated" in rows["track 0"] and "every shape is outside" in rows["track 1"]


# --------------------------------------------------------------------------- broken and hostile input


@pytest.mark.parametrize("text, match", [
    (doc(image(0, box()))[:-30], "not well-formed XML"),
    (b"", "the file is empty"),
    ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
     '<annotations><meta/><image id="0" name="&b;"/></annotations>', "declares entities"),
    ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><annotations><meta/>&x;</annotations>',
     "declares entities"),
    ("<annotation><object/></annotation>", "root element is <annotation>"),
])
def test_unusable_file_is_a_load_error(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(LoadError, match=match) as info:
        read_cvat([path], LoadReport())
    assert info.value.report.rows[-1].code == "bad_xml"


def test_unusable_file_exits_2(tmp_path, capsys):
    path = write(tmp_path, doc(image(0, box()))[:-30])
    assert main(["summary", "--json", "--no-cache", "--format", "cvat", str(path)]) == 2
    assert "not well-formed XML" in capsys.readouterr().err


def test_one_bad_file_among_good_ones_is_skipped(tmp_path):
    write(tmp_path, doc(image(0, box())), "a.xml")
    write(tmp_path, doc(image(0, box()))[:-30], "b.xml")
    d = read_cvat([tmp_path], LoadReport())
    assert d.num_images == 1
    assert ("b.xml", "bad_xml", "skipped") in codes(d)


@pytest.mark.parametrize("encoding, bytes_as, label, code", [
    ("Shift_JIS", "shift_jis", "\u732b", None),  # multi-byte: expat cannot, Python decodes it
    ("x-martian", "utf-8", "cat", "unknown_encoding"),  # nobody knows it: read as UTF-8, reported
])
def test_declared_encodings(tmp_path, encoding, bytes_as, label, code):
    text = doc(image(0, box(label))).replace('encoding="utf-8"', f'encoding="{encoding}"')
    d = read(tmp_path, text.encode(bytes_as))
    assert per_class(d) == {label: 1}
    assert [r.code for r in d.report if r.code != "unknown_class"] == ([code] if code else [])


def test_latin1_without_declaration_is_replaced_and_reported(tmp_path):
    d = read(tmp_path, doc(image(0, box("caf\u00e9"))).encode("latin-1"))
    assert d.class_names[-1] == "caf\ufffd"
    assert {r.code for r in d.report} >= {"not_utf8", "unknown_class"}


@pytest.mark.parametrize("shapes, expected", [
    # box missing a corner, polygon of 2 points, polyline of text, NaN in a polygon: skipped
    ((box().replace(' xbr="40"', ""),), [("0#0", "bad_shape", "skipped")]),
    ((shape("polygon", points="0,0;1,1"),), [("0#0", "bad_points", "skipped")]),
    ((shape("polyline", points="a,b;c,d"),), [("0#0", "bad_points", "skipped")]),
    ((shape("polygon", points="0,0;nan,1;3,3"),), [("0#0", "bad_points", "skipped")]),
    # x2 < x1: kept and reported by the dataset's box check, as for every format
    ((box(xtl=40, xbr=10),), [("0#0", "non_positive_box", "kept")]),
    # NaN box: skipped; a negative corner: clipped; wholly left of the image: skipped
    ((box(xtl="nan"),), [("0#0", "non_finite_box", "skipped")]),
    ((box(xtl=-5),), [("0#0", "box_clipped", "clipped")]),
    ((box(xtl=-50, xbr=-10),), [("0#0", "box_outside_image", "skipped")]),
    ((box(label=""),), [("0#0", "missing_label", "skipped")]),
])
def test_bad_shapes(tmp_path, shapes, expected):
    d = read(tmp_path, doc(image(0, *shapes)))
    assert codes(d) == expected


def test_bad_images(tmp_path):
    d = read(tmp_path, doc(image(0, box(xbr=400), width=None), image(0, box()), '<image name="" width="5" height="5"/>',
                           image(1, width="wide")))
    assert column(d, "images", "width") == [None, None]
    assert column(d, "annotations", "w") == [390.0]  # unknown size: the box stays in pixels, unclipped
    assert codes(d) == [("0", "bad_image_size", "set to unknown"), ("0", "duplicate_id", "skipped the later one"),
                        ("image ''", "bad_record", "skipped"), ("1", "bad_image_size", "set to unknown")]


def test_folder_without_cvat_is_a_load_error(tmp_path):
    write(tmp_path, "<annotation/>", "a.xml")
    with pytest.raises(LoadError, match="no CVAT XML file"):
        read_cvat([tmp_path], LoadReport())


@pytest.mark.parametrize("options, match", [
    ({"tags": "maybe"}, "`tags` must be one of 'auto', 'classes', 'conditions'. Got 'maybe' instead."),
    ({"video_group": "scene"}, "`video_group` must be one of 'task', 'tracks'. Got 'scene' instead."),
    ({"interpolated": "yes"}, "`interpolated` must be true or false. Got 'yes' instead."),
])
def test_bad_options(tmp_path, options, match):
    with pytest.raises(ValueError, match=match):
        read(tmp_path, doc(image(0)), **options)


def test_unknown_option_exits_2(tmp_path, capsys):
    path = write(tmp_path, doc(image(0, box())))
    assert main(["summary", "--no-cache", "--opt", "colour=red", str(path)]) == 2
    assert "takes no option `colour`" in capsys.readouterr().err


# --------------------------------------------------------------------------- property


LABELS = ("car", "person", "bike")
SUBSETS = ("Train", "Validation", "Test")


@st.composite
def exports(draw):
    """Random images of random shapes; what each should count is returned beside the XML."""
    images, expected, pixels = [], Counter(), Counter()
    for i in range(draw(st.integers(0, 6))):
        subset = draw(st.sampled_from(SUBSETS))
        shapes = []
        for _ in range(draw(st.integers(0, 5))):
            kind = draw(st.sampled_from(("box", "polygon", "polyline", "points", "mask")))
            label = draw(st.sampled_from(LABELS))
            x, y = draw(st.integers(0, 50)), draw(st.integers(0, 50))
            w, h = draw(st.integers(1, 30)), draw(st.integers(1, 30))
            if kind == "box":
                shapes.append(box(label, x, y, x + w, y + h))
            elif kind == "polygon":  # an axis-aligned rectangle: its shoelace area is w * h
                shapes.append(shape("polygon", label, f"{x},{y};{x + w},{y};{x + w},{y + h};{x},{y + h}"))
                pixels[label] += w * h
            elif kind == "mask":
                ones = draw(st.integers(0, w * h))
                shapes.append(mask(label, f"{w * h - ones}, {ones}", x, y, w, h))
                pixels[label] += ones
            else:
                shapes.append(shape(kind, label, f"{x},{y};{x + w},{y + h}"))
            expected[(label, subset)] += 1
        images.append(image(i, *shapes, width=100, height=100, subset=subset))
    return doc(*images, meta=labels_meta(*LABELS)), expected, pixels


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exports())
def test_counts_equal_what_was_generated(tmp_path, generated):
    text, expected, pixels = generated
    if "<image" not in text:
        with pytest.raises(LoadError):
            load(write(tmp_path, text), cache=False)
        return
    d = read(tmp_path, text)
    assert not d.report
    names, splits = d.class_names, column(d, "images", "split")
    got = Counter((names[c], splits[i]) for c, i in zip(column(d, "annotations", "category_id"),
                                                          column(d, "annotations", "image_id")))
    split_of = {"Train": "train", "Validation": "val", "Test": "test"}
    assert got == Counter({(label, split_of[s]): n for (label, s), n in expected.items()})
    got_pixels = Counter()
    for c, p in zip(column(d, "annotations", "category_id"), column(d, "annotations", "pixels")):
        if p is not None:
            got_pixels[names[c]] += p
    assert +got_pixels == +Counter({k: float(v) for k, v in pixels.items()})
