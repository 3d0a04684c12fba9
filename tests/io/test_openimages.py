"""Open Images reader: the real V5 / V6 samples, a generated V7 folder (point labels, boxable classes,
repeated display names), both levels, the hierarchy, every report case and `imbal summary` in-process."""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from imbal_core.cli import main
from imbal_core.cube import cube
from imbal_core.hierarchy import from_supercategories
from imbal_core.io import load
from imbal_core.io.openimages import read_openimages
from imbal_core.io.sniff import sniff
from imbal_core.report import LoadError, LoadReport

BOX_HEADER = "ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,IsOccluded,IsTruncated,IsGroupOf,IsDepiction,IsInside"
LABEL_HEADER = "ImageID,Source,LabelName,Confidence"


def box(image="x1", label="/m/a", coords=("0.1", "0.5", "0.2", "0.6"), flags=("0", "0", "0", "0", "0")) -> str:
    return ",".join([image, "xclick", label, "1", *coords, *flags])


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith((".jpg", ".png")):
            Image.new("RGB", tuple(int(v) for v in text.split("x"))).save(path)
        else:
            path.write_text(text, encoding="utf-8")
    return root


def v7(**overrides: str) -> dict[str, str]:
    """A small V7-style export: two described classes and two more, boxes in train and validation."""
    files = {
        "annotations/oidv7-class-descriptions.csv": "LabelName,DisplayName\n/m/a,Cat\n/m/b,Dog\n/m/c,Bat\n/m/d,Bat\n",
        "annotations/oidv7-class-descriptions-boxable.csv": "LabelName,DisplayName\n/m/a,Cat\n/m/b,Dog\n",
        "annotations/oidv6-train-annotations-bbox.csv": "\n".join(
            [BOX_HEADER, box("x1", "/m/a"), box("x1", "/m/a", flags=("1", "0", "1", "0", "0")), box("x2", "/m/b")]),
        "annotations/validation-annotations-bbox.csv": "\n".join([BOX_HEADER, box("v1", "/m/b", flags=("1",) * 5)]),
        "annotations/oidv7-train-annotations-human-imagelabels.csv": "\n".join(
            [LABEL_HEADER, "x1,verification,/m/a,1", "x1,crowdsource-verification,/m/a,1", "x1,verification,/m/c,1",
             "x2,verification,/m/a,0", "x3,verification,/m/d,1", "x3,verification,/m/b,0"]),
        "annotations/oidv7-train-annotations-point-labels.csv":
            "ImageId,X,Y,Label,EstimatedYesNo,Source,YesVotes,NoVotes,UnsureVotes\nx1,0.2,0.3,/m/a,yes,ih,3,0,0\n",
        "images/train/x1.jpg": "200x100",
        "images/validation/v1.jpg": "40x30",
    }
    files.update(overrides)
    return files


def read(root: Path, files: dict[str, str], where: str = ".", **options):
    write(root, files)
    report = LoadReport()
    return read_openimages([root / where], report, **options), report


def instances(dataset) -> dict[str, int]:
    counted = cube(dataset, ())
    return dict(zip(counted.column("class").to_pylist(), counted.column("instances").to_pylist()))


def codes(report: LoadReport) -> Counter:
    return Counter(r.code for r in report)


# --------------------------------------------------------------------------- the real samples


@pytest.mark.realdata
def test_real_v6_boxes(realdata):
    # Counted by hand from open_images/v6/annotations: oidv6-train-annotations-bbox.csv has one box (image b,
    # /m/0, flags -1), test-annotations-bbox.csv one (image c, /m/3, IsOccluded 1, IsGroupOf 1, others 0).
    # image_ids_and_rotation.csv lists a, b (train), c (test) and d, whose row has 11 fields for 12 columns;
    # d.png is in images/validation. oidv6-class-descriptions.csv names /m/0../m/3 "Generic label #0..#3";
    # the hierarchy puts /m/1 under /m/0 under the root /m/x. b.jpg is 8 x 2 and c.jpg 5 x 10 (`file`).
    dataset = read_openimages([realdata / "open_images" / "v6"])
    assert (dataset.task, dataset.num_images, dataset.num_annotations) == ("detection", 4, 2)
    assert dataset.images.column("source_id").to_pylist() == ["a", "b", "c", "d"]
    split = dataset.images.column("split").combine_chunks().dictionary_decode().to_pylist()
    assert split == ["train", "train", "test", "val"]
    assert dataset.class_names == [f"Generic label #{i}" for i in range(4)]
    assert instances(dataset) == {"Generic label #0": 1, "Generic label #3": 1}
    assert from_supercategories(dataset).parents == {"Generic label #1": "Generic label #0"}
    b, c = dataset.annotations.to_pylist()
    assert (b["x"], b["y"], b["w"], b["h"]) == pytest.approx((1.6, 0.6, 6.4, 0.4))  # 0.2..1 x 0.3..0.5 of 8 x 2
    assert (c["x"], c["y"], c["w"], c["h"]) == pytest.approx((3.5, 0.0, 0.5, 5.0))  # 0.7..0.8 x 0..0.5 of 5 x 10
    assert (b["iscrowd"], c["iscrowd"], c["truncated"]) == (None, True, False)
    assert (b["occluded"], c["occluded"]) == (None, True)  # IsOccluded -1 (unknown) and 1
    assert dataset.images.column("occluded").to_pylist() == [None, None, "yes", None]
    report = codes(dataset.report)
    assert report["ragged_row"] == 1 and report["not_read"] == 4  # segmentation, images.meta, two label files


@pytest.mark.realdata
def test_real_v6_image_level_labels(realdata):
    # oidv6-train-annotations-human-imagelabels.csv: a /m/0 1, b /m/0 0; test-...: c /m/1 1, c /m/3 1.
    dataset = read_openimages([realdata / "open_images" / "v6"], level="labels")
    assert (dataset.task, dataset.num_annotations) == ("classification", 3)
    assert instances(dataset) == {"Generic label #0": 1, "Generic label #1": 1, "Generic label #3": 1}
    negative = [r for r in dataset.report if r.code == "verified_negative"]
    assert len(negative) == 1 and negative[0].problem.startswith("1 rows with Confidence 0")


@pytest.mark.realdata
def test_real_v5_images_and_classes_only(realdata):
    # v5: train-images-with-labels-with-rotation.csv lists aa (train), test-images-with-rotation.csv cc (test);
    # class-descriptions.csv (no header) /m/0, /m/1; no box or label file.
    dataset = read_openimages([realdata / "open_images" / "v5"])
    assert (dataset.num_images, dataset.num_annotations) == (2, 0)
    assert sorted(dataset.images.column("source_id").to_pylist()) == ["aa", "cc"]
    assert dataset.class_names == ["Generic label #0", "Generic label #1"]
    assert codes(dataset.report) == {"no_annotations": 1}


@pytest.mark.realdata
@pytest.mark.parametrize("where", ["v5", "v6", "v6/annotations/oidv6-train-annotations-bbox.csv",
                                   "v5/annotations/class-descriptions.csv", "v6/annotations/bbox_labels_600_hierarchy.json"])
def test_sniffed(realdata, where):
    assert sniff([realdata / "open_images" / where]) == "openimages"


@pytest.mark.realdata
@pytest.mark.parametrize("version, images, annotations", [("v5", 2, 0), ("v6", 4, 2)])
def test_imbal_summary_reads_the_real_folders(realdata, capsys, version, images, annotations):
    code = main(["summary", str(realdata / "open_images" / version), "--json", "--no-cache"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["format"], doc["images"], doc["annotations"]) == ("openimages", images, annotations)


# --------------------------------------------------------------------------- a generated V7 export


def test_v7_boxes(tmp_path):
    dataset, report = read(tmp_path, v7())
    assert dataset.class_names == ["Cat", "Dog"]  # the boxable descriptions declare the classes
    assert instances(dataset) == {"Cat": 2, "Dog": 2}
    images = dict(zip(dataset.images.column("source_id").to_pylist(),
                      dataset.images.column("split").combine_chunks().dictionary_decode().to_pylist()))
    assert images == {"x1": "train", "x2": "train", "v1": "val"}  # x3 is only in the label file: not read
    first = dataset.annotations.slice(0, 1).to_pylist()[0]  # 0.1..0.5 x 0.2..0.6 of 200 x 100
    assert (first["x"], first["y"], first["w"], first["h"]) == pytest.approx((20, 20, 80, 40))
    assert dataset.annotations.column("iscrowd").to_pylist() == [False, True, False, True]
    occluded = dict(zip(dataset.images.column("source_id").to_pylist(), dataset.images.column("occluded").to_pylist()))
    assert occluded == {"x1": "mixed", "x2": "no", "v1": "yes"}
    not_read = {r.record: r.problem for r in report if r.code == "not_read"}
    assert set(not_read) == {"oidv7-train-annotations-point-labels.csv", "oidv7-train-annotations-human-imagelabels.csv"}
    assert not_read["oidv7-train-annotations-human-imagelabels.csv"].startswith("6 image-level label rows")


def test_v7_labels(tmp_path):
    dataset, report = read(tmp_path, v7(), level="labels")
    assert dataset.task == "classification"
    assert dataset.class_names == ["Cat", "Dog", "Bat (/m/c)", "Bat (/m/d)"]  # all described; Bat made unique
    assert instances(dataset) == {"Cat": 1, "Bat (/m/c)": 1, "Bat (/m/d)": 1}
    found = codes(report)
    assert found["verified_negative"] == 1 and found["duplicate_label"] == 1 and found["duplicate_name"] == 1
    assert "2 rows with Confidence 0 (verified absent) over 2 classes" in next(
        r.problem for r in report if r.code == "verified_negative")


def test_hierarchy_gives_the_supercategory(tmp_path):
    tree = {"LabelName": "/m/root", "Subcategory": [
        {"LabelName": "/m/animal", "Subcategory": [{"LabelName": "/m/a"}, {"LabelName": "/m/b"}]},
        {"LabelName": "/m/pet", "Subcategory": [{"LabelName": "/m/a"}], "Part": [{"LabelName": "/m/b"}]}]}
    dataset, report = read(tmp_path, v7(**{"annotations/bbox_labels_600_hierarchy.json": json.dumps(tree)}))
    assert from_supercategories(dataset).parents == {"Cat": "/m/animal", "Dog": "/m/animal"}  # undescribed parent: its id
    assert [r.record for r in report if r.code == "second_parent"] == ["/m/a"]


def test_csv_files_given_one_by_one(tmp_path):
    write(tmp_path, v7())
    csvs = [tmp_path / "annotations" / n for n in ("oidv7-class-descriptions.csv", "validation-annotations-bbox.csv")]
    dataset = load(csvs, cache=False)
    assert dataset.format == "openimages" and instances(dataset) == {"Dog": 1}
    assert dataset.images.column("width").to_pylist() == [40]  # images/ beside annotations/


def test_undescribed_class_and_split_conflict(tmp_path):
    files = v7(**{"annotations/validation-annotations-bbox.csv": "\n".join([BOX_HEADER, box("x1", "/m/zz")])})
    dataset, report = read(tmp_path, files)
    assert [r.record for r in report if r.code == "unknown_class"] == ["/m/zz"]
    assert "/m/zz" in dataset.class_names
    conflict = [r for r in report if r.code == "split_conflict"]
    assert len(conflict) == 1 and conflict[0].record == "x1" and conflict[0].action == "kept in train"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("row, code, action", [
    (box(coords=("zero", "0.5", "0.2", "0.6")), "bad_box", "skipped"),
    (box(coords=("nan", "0.5", "0.2", "0.6")), "non_finite_box", "skipped"),
    (box(coords=("0.6", "0.1", "0.2", "0.6")), "non_positive_box", "kept"),  # XMax < XMin
    (box(coords=("-0.2", "0.5", "0.2", "0.6")), "box_clipped", "clipped"),
    (box(label=""), "bad_line", "skipped"),
    (box(flags=("2", "0", "0", "0", "0")), "bad_flag", "kept with IsOccluded unknown"),
    ("x1,xclick,/m/a,1,0.1", "ragged_row", "skipped"),
])
def test_bad_box_rows_are_reported(tmp_path, row, code, action):
    files = v7(**{"annotations/validation-annotations-bbox.csv": "\n".join([BOX_HEADER, box("v1", "/m/b"), row])})
    dataset, report = read(tmp_path, files)
    rows = [r for r in report if r.code == code]
    assert len(rows) == 1 and rows[0].action == action, report.rows
    assert rows[0].record.endswith("validation-annotations-bbox.csv:3")


def test_bad_confidence_is_reported(tmp_path):
    files = v7(**{"annotations/oidv7-train-annotations-human-imagelabels.csv": f"{LABEL_HEADER}\nx1,machine,/m/a,0.7\n"})
    dataset, report = read(tmp_path, files, level="labels")
    assert dataset.num_annotations == 0 and codes(report)["bad_confidence"] == 1


@pytest.mark.parametrize("name, text, code", [
    ("annotations/validation-annotations-bbox.csv", "ImageID,LabelName,XMin,XMax,YMin,YMax,IsGroupOf\nv1,/m/b,0,1,0,1,0,9\n",
     "ragged_row"),
    ("annotations/validation-annotations-bbox.csv", f"{BOX_HEADER}\nv1,xclick,\"/m/b,1,0,1,0,1\n", "ragged_row"),  # open quote
    ("annotations/oidv7-class-descriptions.csv", "LabelName,DisplayName\n\"/m/a,Cat\n/m/b,Dog\n", "bad_line"),  # open quote
    ("annotations/oidv7-class-descriptions.csv", "LabelName,DisplayName\n/m/a,Cat\n/m/a,Kitten\n", "duplicate_class"),
])
def test_malformed_rows_are_reported(tmp_path, name, text, code):
    dataset, report = read(tmp_path, v7(**{name: text}))
    assert codes(report)[code] == 1, report.rows
    assert dataset.num_images == 3


@pytest.mark.parametrize("text, match", [
    ('{"LabelName": "/m/x", "Subcategory": [', "ends early"),
    ("[1, 2]", "not an Open Images hierarchy"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_an_unusable_hierarchy_raises(tmp_path, text, match):
    with pytest.raises(LoadError, match=match):
        read(tmp_path, v7(**{"annotations/bbox_labels_600_hierarchy.json": text}))


def test_a_box_file_without_its_columns_exits_2(tmp_path, capsys):
    write(tmp_path, {"annotations/train-annotations-bbox.csv": "ImageID,Source,LabelName,Confidence,XMin\nx,a,/m/a,1,0\n",
                     "annotations/oidv7-class-descriptions.csv": "LabelName,DisplayName\n/m/a,Cat\n"})
    assert main(["summary", str(tmp_path), "--format", "openimages"]) == 2
    _, err = capsys.readouterr()
    assert "lacks the column(s) XMax, YMin, YMax" in err and "Traceback" not in err


def test_unknown_level_is_refused(tmp_path):
    with pytest.raises(ValueError, match="`level` must be one of"):
        read(tmp_path, v7(), level="masks")


def test_a_csv_whose_name_is_not_utf8_is_skipped(tmp_path):
    write(tmp_path, v7())
    Path(os.fsdecode(bytes(tmp_path / "annotations") + b"/test\xff-annotations-bbox.csv")).write_text(f"{BOX_HEADER}\n{box('t1')}\n")
    dataset, report = read(tmp_path, {})
    assert codes(report)["undecodable_name"] == 1 and "t1" not in dataset.images.column("source_id").to_pylist()
    report.to_arrow()
