"""KITTI reader: the real datumaro sample, generated object and tracking folders, every report case,
`imbal summary` in-process, and a property test (random label files -> the counts written)."""
from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from imbal_core.cli import main
from imbal_core.cube import cube
from imbal_core.io import load
from imbal_core.io.kitti import read_kitti
from imbal_core.io.sniff import sniff
from imbal_core.report import LoadError, LoadReport


def obj(kind="Car", truncated="0.00", occluded="0", box=(10, 20, 110, 70), score=None) -> str:
    """One KITTI object line: type, truncated, occluded, alpha, box, 3-D size, location, rotation."""
    fields = [kind, str(truncated), str(occluded), "-1.57", *map(str, box), "1.5", "1.6", "3.9", "1.0", "1.7", "8.4",
              "0.01"]
    return " ".join(fields + ([str(score)] if score is not None else []))


def track(frame, track_id, kind="Car", truncated="0", occluded="0", box=(10, 20, 110, 70)) -> str:
    return f"{frame} {track_id} " + obj(kind, truncated, occluded, box)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".png"):
            Image.new("RGB", tuple(int(v) for v in text.split("x"))).save(path)
        else:
            path.write_text(text, encoding="utf-8")
    return root


def read(root: Path, files: dict[str, str], where: str = ".", **options):
    write(root, files)
    report = LoadReport()
    return read_kitti([root / where], report, **options), report


def codes(report: LoadReport) -> Counter:
    return Counter(r.code for r in report)


# --------------------------------------------------------------------------- the real sample


@pytest.mark.realdata
def test_real_kitti_sample(realdata):
    # Counted by hand from kitti/training/label_2: 000030_10.txt has a Truck and a Van, 000030_11.txt three
    # Vans; truncated 1.0 on the first line of each file (2 objects), occluded 1 on lines 1 and 3 of 000030_11.
    # The PNGs in image_2 are 10 x 10 (`file` says so).
    dataset = read_kitti([realdata / "kitti"])
    assert dataset.num_images == 2 and dataset.num_annotations == 5
    assert dataset.class_names == ["Truck", "Van"]
    assert cube(dataset, ()).to_pydict()["instances"] == [1, 4]
    assert dataset.splits == ("train",)  # the folder holding label_2 is `training`
    assert dataset.images.column("width").to_pylist() == [10, 10]
    assert dataset.annotations.column("truncated").to_pylist() == [True, False, True, False, False]
    assert dataset.annotations.column("occluded").to_pylist() == [False, False, True, False, True]  # 0 0 / 1 0 1
    truck = dataset.annotations.slice(0, 1).to_pylist()[0]  # Truck 1.0 0 -1 0 1 2 3: left 0, top 1, right 2, bottom 3
    assert (truck["x"], truck["y"], truck["w"], truck["h"]) == (0, 1, 2, 2)
    images = dataset.images.to_pydict()
    assert images["occluded"] == ["fully visible", "mixed"]  # 0, 0 / 1, 0, 1
    assert images["truncated"] == ["mixed", "mixed"]  # 1.0, 0.0 / 1.0, 0.0, 0.0
    assert codes(dataset.report) == {"object_flag": 2}


@pytest.mark.realdata
@pytest.mark.parametrize("where", ["kitti", "kitti/training", "kitti/training/label_2",
                                   "kitti/training/label_2/000030_10.txt"])
def test_sniffed_from_every_level(realdata, where):
    assert sniff([realdata / where]) == "kitti"


@pytest.mark.realdata
def test_imbal_summary_reads_the_real_folder(realdata, capsys):
    code = main(["summary", str(realdata / "kitti"), "--json", "--no-cache"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["format"], doc["images"], doc["annotations"]) == ("kitti", 2, 5)
    assert {c["class"]: c["instances"] for c in doc["classes"]} == {"Truck": 1, "Van": 4}
    assert doc["conditions"] == ["truncated", "occluded"]


# --------------------------------------------------------------------------- generated folders


def test_object_folder_with_dont_care_unknown_types_and_sizes(tmp_path):
    dataset, report = read(tmp_path, {
        "training/label_2/000000.txt": "\n".join([obj("Car"), obj("DontCare", "-1", "-1"), obj("Pedestrian", "0.3", "2"),
                                                  obj("car")]),
        "training/label_2/000001.txt": "",  # an image without objects
        "training/image_2/000000.png": "200x100",
        "testing/image_2/000009.png": "200x100",  # unlabelled: not read
    })
    assert dataset.num_images == 2 and dataset.num_annotations == 3
    assert dataset.class_names == ["Car", "Pedestrian", "car"]
    assert codes(report)["dont_care"] == 1 and "1 DontCare" in next(r.problem for r in report if r.code == "dont_care")
    assert [r.record for r in report if r.code == "unknown_class"] == ["car"]
    assert dataset.images.column("width").to_pylist() == [200, None]
    assert dataset.images.column("file_name").to_pylist() == ["000000.png", "000001.png"]
    # box 10..110 x 20..70 reaches past the 200 x 100 image? No: it fits, nothing clipped.
    assert "box_clipped" not in codes(report)
    assert dataset.images.column("occluded").to_pylist() == ["mixed", None]


def test_tracking_sequences_are_groups(tmp_path):
    dataset, report = read(tmp_path, {
        "training/label_02/0000.txt": "\n".join([track(0, 1), track(0, -1, "DontCare", "-1", "-1"), track(2, 1),
                                                 track(2, 2, "Cyclist", "1", "1")]),
        "training/label_02/0001.txt": track(0, 5, "Van", "2", "3"),
        "training/image_02/0000/000000.png": "50x40",
        "training/image_02/0000/000001.png": "50x40",  # a frame without objects, on disk
    })
    images = dataset.images.to_pydict()
    assert images["source_id"] == ["0000/000000", "0000/000001", "0000/000002", "0001/000000"]
    assert images["group"] == ["0000", "0000", "0000", "0001"]
    assert images["width"] == [50, 50, None, None]
    assert dataset.num_annotations == 4 and codes(report)["dont_care"] == 1
    assert dataset.annotations.column("truncated").to_pylist() == [False, False, True, True]
    assert images["occluded"] == ["fully visible", None, "mixed", None]  # occluded 3 is KITTI's "unknown"
    assert dataset.annotations.column("occluded").to_pylist() == [False, False, True, None]  # 0, 0, 1, 3
    by_group = cube(dataset, ("group",)).to_pydict()
    assert list(zip(by_group["group"], by_group["class"], by_group["instances"])) == [
        ("0000", "Car", 2), ("0000", "Cyclist", 1), ("0001", "Van", 1)]


def test_flag_conditions_can_be_turned_off(tmp_path):
    dataset, report = read(tmp_path, {"label_2/a.txt": obj()}, flag_conditions=False)
    assert dataset.conditions == ()
    assert [r.action for r in report if r.code == "object_flag"] == ["counted here only (flag_conditions=False)"] * 2


def test_load_auto_reads_a_label_file(tmp_path):
    write(tmp_path, {"label_2/000000.txt": obj() + "\n" + obj("Van")})
    dataset = load(tmp_path / "label_2" / "000000.txt", cache=False)
    assert dataset.format == "kitti" and dataset.num_annotations == 2


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("line, code, action", [
    ("Car 0 0 -1 10 20 110", "bad_line", "skipped"),  # 7 values
    (obj(box=("a", 20, 110, 70)), "bad_line", "skipped"),
    (obj(box=("nan", 20, 110, 70)), "non_finite_box", "skipped"),
    (obj(box=(110, 20, 10, 70)), "non_positive_box", "kept"),  # right < left
    (obj(box=(-5, 20, 110, 70)), "box_clipped", "clipped"),  # the image is 200 x 100
    (obj(box=(300, 20, 400, 70)), "box_outside_image", "skipped"),
    (obj(truncated="1.5"), "bad_flag", "kept with truncated unknown"),
    (obj(occluded="7"), "bad_flag", "kept with occluded unknown"),
    (obj(score="0.9"), "score_column", "kept the boxes, ignored the scores"),
])
def test_bad_lines_are_reported(tmp_path, line, code, action):
    dataset, report = read(tmp_path, {"training/label_2/000000.txt": obj() + "\n" + line,
                                      "training/image_2/000000.png": "200x100"})
    rows = [r for r in report if r.code == code]
    assert len(rows) == 1 and rows[0].action == action, report.rows
    assert rows[0].record == "000000:2"
    assert dataset.num_images == 1


def test_a_file_of_neither_kind_is_skipped(tmp_path):
    dataset, report = read(tmp_path, {"labels/a.txt": obj(), "labels/b.txt": "hello world\n"}, where="labels")
    assert dataset.num_images == 1 and [r.record for r in report if r.code == "bad_file"] == ["b.txt"]


def test_undecodable_text_is_replaced_and_reported(tmp_path):
    (tmp_path / "label_2").mkdir()
    (tmp_path / "label_2" / "a.txt").write_bytes(obj("Caf\xe9").encode("latin-1"))
    dataset = read_kitti([tmp_path])
    assert "not_utf8" in codes(dataset.report) and dataset.num_annotations == 1


def test_a_folder_without_labels_is_refused(tmp_path):
    (tmp_path / "image_2").mkdir()
    with pytest.raises(LoadError, match="not a KITTI folder"):
        read_kitti([tmp_path])


def test_imbal_summary_exits_2_without_a_traceback(tmp_path, capsys):
    (tmp_path / "image_2").mkdir()
    assert main(["summary", str(tmp_path), "--format", "kitti"]) == 2
    _, err = capsys.readouterr()
    assert "not a KITTI folder" in err and "Traceback" not in err


# --------------------------------------------------------------------------- property


_types = st.sampled_from(["Car", "Van", "Pedestrian", "DontCare"])
_boxes = st.tuples(st.integers(0, 80), st.integers(0, 80), st.integers(1, 20), st.integers(1, 20))
_objects = st.lists(st.tuples(_types, _boxes, st.sampled_from(["0", "1", "2", "3"])), max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_objects, min_size=1, max_size=5))
def test_counts_equal_what_was_written(images):
    with tempfile.TemporaryDirectory() as tmp:
        files = {f"label_2/{i:06d}.txt": "\n".join(obj(t, "0", o, (x, y, x + w, y + h)) for t, (x, y, w, h), o in objects)
                 for i, objects in enumerate(images)}
        dataset, report = read(Path(tmp), files)
        written = Counter(t for objects in images for t, _, _ in objects if t != "DontCare")
        assert dataset.num_images == len(images)
        assert dict(zip(dataset.class_names, cube(dataset, ()).to_pydict()["instances"])) == dict(written)
        dont_care = sum(t == "DontCare" for objects in images for t, _, _ in objects)
        assert codes(report)["dont_care"] == (1 if dont_care else 0)


def test_a_label_file_whose_name_is_not_utf8_is_skipped(tmp_path):
    write(tmp_path, {"label_2/a.txt": obj()})
    (Path(os.fsdecode(bytes(tmp_path / "label_2") + b"/b\xff.txt"))).write_bytes(obj().encode())
    dataset = read_kitti([tmp_path])
    assert dataset.num_images == 1 and codes(dataset.report)["undecodable_name"] == 1
    dataset.report.to_arrow()  # every row is valid text


def test_a_skipped_box_does_not_count_in_the_image_condition(tmp_path):
    # the first object (largely occluded) has a NaN box: skipped, so the image's objects all agree
    dataset, report = read(tmp_path, {"label_2/a.txt": obj(occluded="2", box=("nan", 1, 2, 3)) + "\n" + obj(occluded="0")})
    assert dataset.num_annotations == 1 and codes(report)["non_finite_box"] == 1
    assert dataset.images.column("occluded").to_pylist() == ["fully visible"]
