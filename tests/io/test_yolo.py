"""YOLO / Ultralytics reader: layouts, data.yaml, label lines, reports, the real garbage_yolo export.

Fixtures are written in ``tmp_path`` by :func:`_tree` from a dict {relative path: content}:
text or bytes is written as is, a ``(width, height)`` tuple becomes a real PNG (``.jpg``: a
JPEG) made with Pillow, a dict becomes YAML.
"""
from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import imbal_core
from imbal_core.io.yolo import read_yolo
from imbal_core.report import LoadError, LoadReport

BOX = "0 0.5 0.5 0.2 0.4"  # normalised: x 0.4, y 0.3, w 0.2, h 0.4
SQUARE = "0 0.1 0.1 0.5 0.1 0.5 0.5 0.1 0.5"  # polygon, extent 0.1..0.5, area 0.16


def _tree(root: Path, files: dict[str, object]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple):
            fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
            Image.new("RGB", content, (10, 120, 30)).save(path, fmt)
        elif isinstance(content, dict):
            path.write_text(yaml.safe_dump(content))
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(str(content))
    return root


def _read(path: Path, **options) -> tuple:
    report = LoadReport()
    dataset = read_yolo([path], report, **options)
    return dataset, report


def _split_counts(dataset) -> dict[str, int]:
    return dict(Counter(dataset.images.column("split").to_pylist()))


def _records(report: LoadReport, code: str) -> list[str]:
    return [r.record for r in report if r.code == code]


# --------------------------------------------------------------------------- layouts


LAYOUTS = [
    # (files, input path, images per split, annotations, report codes)
    pytest.param({"data.yaml": {"names": ["a"], "train": "images/train", "val": "images/val"},
                  "images/train/1.png": (20, 10), "labels/train/1.txt": BOX,
                  "images/val/2.png": (20, 10), "labels/val/2.txt": BOX},
                 "data.yaml", {"train": 1, "val": 1}, 2, set(), id="yaml images/<split>"),
    pytest.param({"data.yaml": {"names": ["a"], "train": "images/train"}, "images/train/1.png": (20, 10),
                  "labels/train/1.txt": BOX}, ".", {"train": 1}, 1, set(), id="folder holding a yaml"),
    pytest.param({"images/1.png": (20, 10), "labels/1.txt": BOX, "images/2.png": (8, 8)},
                 ".", {"unassigned": 2}, 1, {"no_class_names"}, id="images/ + labels/, no yaml"),
    pytest.param({"labels/1.txt": BOX, "labels/2.txt": BOX + "\n" + BOX}, ".", {"unassigned": 2}, 3,
                 {"no_class_names"}, id="labels/ only"),
    pytest.param({"images/train/1.png": (4, 4), "labels/train/1.txt": BOX, "labels/val/2.txt": BOX,
                  "labels/test/3.txt": BOX}, ".", {"train": 1, "val": 1, "test": 1}, 3, {"no_class_names"},
                 id="labels/<split>/ without yaml"),
    pytest.param({"train/labels/1.txt": BOX, "valid/labels/2.txt": BOX, "test/images/3.png": (4, 4)},
                 ".", {"train": 1, "val": 1, "test": 1}, 2, {"no_class_names"}, id="Roboflow split folders"),
    pytest.param({"train/images/1.png": (4, 4), "train/labels/1.txt": BOX}, "train", {"train": 1}, 1,
                 {"no_class_names"}, id="one split folder given"),
    pytest.param({"1.png": (4, 4), "1.txt": BOX, "2.png": (4, 4)}, ".", {"unassigned": 2}, 1,
                 {"no_class_names"}, id="flat folder"),
    pytest.param({"data.yaml": {"names": ["a"], "train": ["a/images", "b/images"]}, "a/labels/1.txt": BOX,
                  "b/labels/2.txt": BOX}, "data.yaml", {"train": 2}, 2, set(), id="entry is a list"),
    pytest.param({"data.yaml": {"names": ["a"], "train": "train/labels"}, "train/labels/1.txt": BOX,
                  "train/images/1.png": (4, 4)}, "data.yaml", {"train": 1}, 1, set(), id="entry is a labels folder"),
    pytest.param({"data.yaml": {"names": ["a"], "train": "train"}, "train/labels/1.txt": BOX},
                 "data.yaml", {"train": 1}, 1, set(), id="entry is a split folder"),
    pytest.param({"data.yaml": {"names": ["a"], "train": "train.txt"},
                  "train.txt": "./images/1.png\nimages/2.png\n\nimages/gone.png\n",
                  "images/1.png": (4, 4), "labels/1.txt": BOX, "images/2.png": (4, 4), "labels/gone.txt": BOX},
                 "data.yaml", {"train": 3}, 2, {"missing_image"}, id="entry is a .txt list"),
    pytest.param({"sub/data.yaml": {"names": ["a"], "path": "..", "train": "train/images"},
                  "train/labels/1.txt": BOX}, "sub/data.yaml", {"train": 1}, 1, set(), id="relative path"),
    pytest.param({"data.yaml": {"names": ["a"], "path": "/nowhere/at/all", "train": "train/images"},
                  "train/labels/1.txt": BOX}, "data.yaml", {"train": 1}, 1, {"stale_path"}, id="stale absolute path"),
    pytest.param({"data.yaml": {"names": ["a"], "path": "C:\\Users\\me\\data", "train": "train\\images"},
                  "train/labels/1.txt": BOX}, "data.yaml", {"train": 1}, 1, {"stale_path"}, id="Windows path"),
    pytest.param({"data.yaml": {"names": ["a"], "train": "../train/images", "val": "../valid/images"},
                  "train/labels/1.txt": BOX, "valid/labels/2.txt": BOX}, "data.yaml", {"train": 1, "val": 1}, 2,
                 set(), id="Roboflow ../ entries"),
    pytest.param({"data.yaml": {"names": ["a"], "train": "train/images", "test": "test/images"},
                  "train/labels/1.txt": BOX}, "data.yaml", {"train": 1}, 1, {"missing_split"}, id="missing split"),
    pytest.param({"data.yaml": {"names": ["a"], "train": "images", "val": "images"}, "images/1.png": (4, 4)},
                 "data.yaml", {"train": 1}, 0, {"duplicate_image"}, id="one folder in two splits"),
    pytest.param({"data.yaml": {"names": ["a"], "train": 5}}, "data.yaml", {}, 0, {"bad_split_entry"},
                 id="entry not a path"),
    pytest.param({"data.yaml": {"names": ["a"]}, "train/labels/1.txt": BOX, "valid/images/2.png": (4, 4)},
                 "data.yaml", {"train": 1, "val": 1}, 1, set(), id="yaml without splits: layout"),
    pytest.param({}, ".", {}, 0, {"no_class_names"}, id="empty folder"),
    pytest.param({"data.yaml": {"names": ["a"], "train": "train/images"}}, "data.yaml", {}, 0, {"missing_split"},
                 id="yaml, no files"),
]


@pytest.mark.parametrize(("files", "given", "splits", "n_annotations", "codes"), LAYOUTS)
def test_layouts(tmp_path, files, given, splits, n_annotations, codes):
    _tree(tmp_path, files)
    dataset, report = _read(tmp_path / given)
    assert _split_counts(dataset) == splits
    assert dataset.num_annotations == n_annotations
    assert report.codes() == codes
    assert dataset.format == "yolo"


def test_empty_dataset_is_a_load_error_through_load(tmp_path):
    with pytest.raises(LoadError, match="no images found in this yolo export"):
        imbal_core.load(tmp_path, format="yolo", cache=False)


# --------------------------------------------------------------------------- data.yaml


@pytest.mark.parametrize(
    ("doc", "names", "source_ids", "codes"),
    [
        ({"names": ["cat", "dog"]}, ["cat", "dog"], ["0", "1"], set()),
        ({"names": {0: "cat", 2: "bird"}}, ["cat", "bird"], ["0", "2"], set()),
        ({"names": {"1": "dog", "0": "cat"}}, ["cat", "dog"], ["0", "1"], set()),
        ({"names": ["cat", "dog"], "nc": 2}, ["cat", "dog"], ["0", "1"], set()),
        ({"names": ["cat", "dog"], "nc": 3}, ["cat", "dog"], ["0", "1"], {"nc_mismatch"}),
        ({"names": ["cat", "cat"]}, ["cat"], ["0"], {"duplicate_name"}),
        ({"names": [None, "dog"]}, ["0", "dog"], ["0", "1"], {"bad_category"}),
        ({"names": {"x": "cat", 1: "dog"}}, ["dog"], ["1"], {"bad_category"}),
        # "¹" is a digit to str.isdigit but no number to int(): reported, not a ValueError (hypothesis found it)
        ({"names": {"¹": "cat", 1: "dog"}}, ["dog"], ["1"], {"bad_category"}),
        ({"names": [1, 2.5]}, ["1", "2.5"], ["0", "1"], set()),
        ({"nc": 2}, [], [], {"no_class_names"}),  # no line uses a class: no class seen
        ({"names": {0: "cat", 10**11: "eel", 2**70: "fox"}}, ["cat", "eel", "fox"], ["0", str(10**11), str(2**70)], set()),
        ({"names": ["cat", {"deep": [1, 2]}, ["a", "b"]]}, ["cat", "1", "2"], ["0", "1", "2"], {"bad_category"}),
    ],
)
def test_names(tmp_path, doc, names, source_ids, codes):
    _tree(tmp_path, {"data.yaml": doc, "labels/1.txt": ""})
    dataset, report = _read(tmp_path / "data.yaml")
    assert dataset.class_names == names
    assert dataset.categories.column("source_id").to_pylist() == source_ids
    assert report.codes() == codes


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("names: [a, b\n", r"data\.yaml: not valid YAML — .* at line 2, column 1"),
        ("names: a\n  b: c\n", r"data\.yaml: not valid YAML — mapping values are not allowed here at line 2"),
        ("- a\n- b\n", r"data\.yaml: not a YOLO data.yaml — the top level is a list"),
        ("", r"data\.yaml: not a YOLO data.yaml — the top level is empty"),
        ("train: images\n", r"data\.yaml: not a YOLO data.yaml — it has no `names`"),
        ("names: cat\n", r"data\.yaml: `names` must be a list or a mapping \{index: name\}. Got str instead"),
        ("names: " + "[" * 600 + "]" * 600 + "\n", r"data\.yaml: not valid YAML — nested too deeply"),
        # a 300-byte alias bomb: 9^9 values once expanded (before: gigabytes, then MemoryError)
        ("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n"
                                                          for a, b in zip("abcdefgh", "bcdefghi")) + "names: *i\n",
         r"data\.yaml: not usable YAML — its aliases expand it to more than 1,000,000 values"),
        ("names: &n [cat, *n]\n", r"data\.yaml: not usable YAML — an alias refers to a value that holds it"),
        ("names: [cat]\nnc: 1" + "0" * 5000 + "\n", r"data\.yaml: not usable YAML — a number has more than 4,300 digits"),
    ],
)
def test_bad_yaml_is_a_load_error(tmp_path, text, match):
    (tmp_path / "data.yaml").write_text(text)
    with pytest.raises(LoadError, match=match) as caught:
        read_yolo([tmp_path / "data.yaml"], LoadReport())
    assert caught.value.file == str(tmp_path / "data.yaml")


def test_corrupt_yaml_in_a_folder_is_a_load_error(tmp_path):
    _tree(tmp_path, {"data.yaml": "names: [a\n", "labels/1.txt": BOX})
    with pytest.raises(LoadError, match="data.yaml: not valid YAML"):
        read_yolo([tmp_path], LoadReport())


def test_non_utf8_yaml_is_replaced_and_reported(tmp_path):
    _tree(tmp_path, {"data.yaml": b"names: [caf\xe9, dog]\n", "labels/1.txt": "1 0.5 0.5 0.1 0.1"})
    dataset, report = _read(tmp_path / "data.yaml")
    assert dataset.class_names == ["caf\ufffd", "dog"]
    assert report.codes() == {"not_utf8"}


def test_missing_split_and_stale_path_are_described(tmp_path):
    _tree(tmp_path, {"data.yaml": {"names": ["a"], "path": "/gone/data", "train": "t/images", "test": "./test/images"},
                     "t/labels/1.txt": BOX})
    _, report = _read(tmp_path / "data.yaml")
    rows = {r.code: r for r in report}
    assert rows["missing_split"].record == "test"
    assert "'./test/images'" in rows["missing_split"].problem and rows["missing_split"].action == "split left out"
    assert rows["stale_path"].problem == "`path` is /gone/data, which does not exist on this machine"
    assert str(tmp_path) in rows["stale_path"].action


@pytest.mark.parametrize("names_file", ["labels/classes.txt", "classes.txt", "obj.names"])
def test_classes_txt_names_classes_without_yaml(tmp_path, names_file):
    _tree(tmp_path, {names_file: "cat\n\ndog\n", "labels/1.txt": "1 0.5 0.5 0.1 0.1\n2 0.5 0.5 0.1 0.1"})
    dataset, report = _read(tmp_path)
    assert dataset.class_names == ["cat", "dog"]
    assert dataset.num_images == 1  # classes.txt is not a label file
    assert report.codes() == {"unknown_class"}


def test_index_names_without_yaml_are_numeric_in_order(tmp_path):
    _tree(tmp_path, {"labels/1.txt": "10 0.5 0.5 0.1 0.1\n2 0.5 0.5 0.1 0.1\n2.0 0.5 0.5 0.1 0.1",
                     "labels/2.txt": "-3 0.5 0.5 0.1 0.1"})
    dataset, report = _read(tmp_path)
    assert dataset.class_names == ["2", "10"]
    assert dataset.categories.column("source_id").to_pylist() == ["2", "10"]
    assert pc.value_counts(dataset.annotations.column("category_id")).to_pylist() == [
        {"values": 1, "counts": 1}, {"values": 0, "counts": 2}]
    assert [r.code for r in report] == ["no_class_names", "unknown_class"]  # no_class_names once, not per file
    assert report.rows[1].problem == "class index -3 is negative"


# --------------------------------------------------------------------------- boxes, polygons, sizes


@pytest.mark.parametrize(
    ("image", "line", "box", "pixels", "size"),
    [
        # rows: image on disk (PNG or JPEG) or absent; boxes in pixels or normalised
        ((200, 100), BOX, (80.0, 30.0, 40.0, 40.0), None, (200, 100)),
        ("jpg", BOX, (80.0, 30.0, 40.0, 40.0), None, (200, 100)),
        (None, BOX, (0.4, 0.3, 0.2, 0.4), None, (None, None)),
        ((200, 100), SQUARE, (20.0, 10.0, 80.0, 40.0), 3200.0, (200, 100)),
        (None, SQUARE, (0.1, 0.1, 0.4, 0.4), None, (None, None)),
        # a triangle: 7 values, area 0.5 * 0.4 * 0.4
        ((10, 10), "0 0.1 0.1 0.5 0.1 0.1 0.5", (1.0, 1.0, 4.0, 4.0), 8.0, (10, 10)),
        ((200, 100), BOX + " 0.87", (80.0, 30.0, 40.0, 40.0), None, (200, 100)),
    ],
)
def test_boxes_and_polygons(tmp_path, image, line, box, pixels, size):
    files = {"data.yaml": {"names": ["a"], "train": "images"}, "labels/1.txt": line}
    if image == "jpg":
        files["images/1.jpg"] = (200, 100)
    elif image is not None:
        files["images/1.png"] = image
    dataset, _ = _read(_tree(tmp_path, files) / "data.yaml")
    ann = dataset.annotations.to_pylist()[0]
    assert (ann["x"], ann["y"], ann["w"], ann["h"]) == pytest.approx(box)
    assert ann["pixels"] == (pytest.approx(pixels) if pixels is not None else None)
    row = dataset.images.to_pylist()[0]
    assert (row["width"], row["height"]) == size


@pytest.mark.parametrize(
    ("lines", "task"),
    [([SQUARE, SQUARE, BOX], "segmentation"), ([SQUARE, BOX], "detection"), ([BOX], "detection"), ([], "detection")],
)
def test_task_follows_the_majority(tmp_path, lines, task):
    dataset, _ = _read(_tree(tmp_path, {"labels/1.txt": "\n".join(lines)}))
    assert dataset.task == task


def test_sources_ids_file_names_and_backgrounds(tmp_path):
    _tree(tmp_path, {
        "data.yaml": {"names": ["a"], "train": "train/images"},
        "train/images/sub/1.png": (4, 4), "train/labels/sub/1.txt": "\n" + BOX,
        "train/images/2.png": (4, 4),  # no label file: a background image
        "train/images/3.png": (4, 4), "train/labels/3.txt": "",  # empty label file: background too
        "train/labels/4.txt": BOX,  # no image: file name guessed with the export's image extension
    })
    dataset, report = _read(tmp_path / "data.yaml")
    images = dataset.images.to_pydict()
    assert images["source_id"] == ["train/images/2.png", "train/images/3.png", "train/images/sub/1.png",
                                   "train/labels/4.txt"]
    assert images["file_name"] == ["2.png", "3.png", "1.png", "4.png"]
    assert images["width"] == [4, 4, 4, None]
    assert dataset.annotations.column("source_id").to_pylist() == ["train/labels/sub/1.txt:2", "train/labels/4.txt:1"]
    assert dataset.annotations.column("image_id").to_pylist() == [2, 3]
    assert not report


def test_roboflow_copies_share_a_group(tmp_path):
    hash_a, hash_b = "0" * 32, "abcdef0123456789" * 2
    _tree(tmp_path, {
        f"train/labels/000267_jpg.rf.{hash_a}.txt": BOX,
        f"train/labels/000267_jpg.rf.{hash_b}.txt": BOX,
        f"train/images/000300_png.rf.{hash_a}.jpg": (8, 8),
        "train/labels/plain.txt": BOX,
    })
    dataset, _ = _read(tmp_path)
    images = dataset.images.to_pydict()
    # rows in path order: train/images/... before train/labels/...
    assert images["group"] == ["000300_png", "000267_jpg", "000267_jpg", None]
    assert images["file_name"] == [f"000300_png.rf.{hash_a}.jpg", f"000267_jpg.rf.{hash_a}.jpg",
                                   f"000267_jpg.rf.{hash_b}.jpg", "plain.jpg"]


def test_unreadable_image_keeps_normalised_boxes(tmp_path):
    _tree(tmp_path, {"images/1.png": b"not a png", "labels/1.txt": BOX, "images/2.png": (10, 10),
                     "labels/2.txt": BOX})
    dataset, report = _read(tmp_path)
    assert _records(report, "unreadable_image") == ["images/1.png"]
    assert dataset.images.column("width").to_pylist() == [None, 10]
    assert dataset.annotations.column("x").to_pylist() == pytest.approx([0.4, 4.0])


def test_sizes_false_keeps_boxes_normalised(tmp_path):
    _tree(tmp_path, {"images/1.png": (10, 10), "labels/1.txt": BOX})
    dataset, report = _read(tmp_path, sizes=False)
    assert dataset.images.column("width").to_pylist() == [None]
    assert dataset.annotations.column("w").to_pylist() == pytest.approx([0.2])


# --------------------------------------------------------------------------- bad lines and files


@pytest.mark.parametrize(
    ("line", "code", "problem"),
    [
        ("0 0.5 0.5", "bad_line", "line has 3 values"),
        ("0", "bad_line", "line has 1 values"),
        ("0 0.1 0.2 0.3 0.4 0.5 0.6 0.7", "bad_line", "line has 8 values"),
        ("car 0.5 0.5 0.1 0.1", "bad_line", "a value is not a number: 'car 0.5 0.5 0.1 0.1'"),
        ("0 0.5 0,5 0.1 0.1", "bad_line", "a value is not a number"),
        ("0 nan 0.5 0.1 0.1", "bad_line", "NaN or infinite"),
        ("0 0.5 0.5 inf 0.1", "bad_line", "NaN or infinite"),
        ("1.5 0.5 0.5 0.1 0.1", "bad_line", "class index '1.5' is not a whole number"),
        ("-1 0.5 0.5 0.1 0.1", "unknown_class", "class index -1 is not declared in `names` (indices 0..1)"),
        ("2 0.5 0.5 0.1 0.1", "unknown_class", "class index 2 is not declared in `names` (indices 0..1)"),
        ("1 0.1 0.1 0.5 0.1 0.5 0.5 0.1 nan", "bad_line", "NaN or infinite"),
        # build_dataset's box checks, on normalised boxes
        ("1 1.5 1.5 0.2 0.2", "box_outside_image", "lies wholly outside the normalised 1x1 image"),
    ],
)
def test_bad_lines_are_skipped_and_reported(tmp_path, line, code, problem):
    _tree(tmp_path, {"data.yaml": {"names": ["a", "b"], "train": "labels"},
                     "labels/1.txt": f"{BOX}\n\n{line}\n1.0 0.5 0.5 0.1 0.1\n"})
    dataset, report = _read(tmp_path / "data.yaml")
    assert dataset.annotations.column("source_id").to_pylist() == ["labels/1.txt:1", "labels/1.txt:4"]
    assert dataset.annotations.column("category_id").to_pylist() == [0, 1]
    [row] = report.rows
    assert (row.file, row.record, row.code, row.action) == (str(tmp_path / "labels/1.txt"), "labels/1.txt:3", code, "skipped")
    assert problem in row.problem


def test_score_column_is_reported_once_per_file(tmp_path):
    _tree(tmp_path, {"labels/1.txt": f"{BOX} 0.9\n{BOX} 0.8\n", "labels/2.txt": f"{BOX}\n{BOX} 0.1\n"})
    dataset, report = _read(tmp_path)
    assert dataset.num_annotations == 4
    assert _records(report, "score_column") == ["labels/1.txt:1", "labels/2.txt:2"]
    assert {r.action for r in report if r.code == "score_column"} == {"kept the boxes, ignored the scores"}


def test_non_utf8_label_file_is_replaced_and_reported(tmp_path):
    _tree(tmp_path, {"labels/1.txt": BOX.encode() + b"\n\xff\xfe 0.5\n" + BOX.encode() + b"\n"})
    dataset, report = _read(tmp_path)
    assert dataset.num_annotations == 2
    assert [(r.code, r.record) for r in report if r.code != "no_class_names"] == [
        ("not_utf8", "byte 18"), ("bad_line", "labels/1.txt:2")]


def test_crlf_and_bom_label_file(tmp_path):
    _tree(tmp_path, {"labels/1.txt": b"\xef\xbb\xbf" + f"{BOX}\r\n\r\n{BOX}\r\n".encode()})
    dataset, report = _read(tmp_path)
    assert dataset.annotations.column("source_id").to_pylist() == ["labels/1.txt:1", "labels/1.txt:3"]
    assert report.codes() == {"no_class_names"}


def test_unreadable_label_files_are_reported_not_fatal(tmp_path):
    # chmod 000 does not stop root: a folder named like a label file and a broken link do
    _tree(tmp_path, {"images/1.png": (4, 4), "labels/1.txt/inside": "x", "labels/2.txt": BOX,
                     "labels/sub/3.txt/x": "x"})
    os.symlink(tmp_path / "nowhere.txt", tmp_path / "labels" / "4.txt")
    dataset, report = _read(tmp_path)
    assert dataset.images.column("source_id").to_pylist() == ["labels/2.txt"]  # 1.png's objects are unknown
    rows = [r for r in report if r.code == "unreadable_file"]
    assert [(r.record, r.action) for r in rows] == [
        ("images/1.png", "skipped"), ("labels/4.txt", "skipped"), ("labels/sub/3.txt", "skipped")]
    assert "is a folder, not a file" in rows[0].problem and "no such file" in rows[1].problem


def test_truncated_label_file_keeps_whole_lines(tmp_path):
    _tree(tmp_path, {"labels/1.txt": f"{BOX}\n{BOX}\n0 0.5 0."})
    dataset, report = _read(tmp_path)
    assert dataset.num_annotations == 2
    assert _records(report, "bad_line") == ["labels/1.txt:3"]


# --------------------------------------------------------------------------- property: nothing is lost


_number = st.one_of(st.floats(-0.5, 1.5), st.sampled_from([float("nan"), float("inf"), 0.0, 1.0]))
_line = st.one_of(
    st.builds(lambda c, v: " ".join([str(c)] + [f"{x:.4g}" for x in v]), st.integers(-2, 4), st.lists(_number, min_size=4, max_size=5)),
    st.builds(lambda c, v: " ".join([str(c)] + [f"{x:.4g}" for x in v]), st.integers(0, 3), st.lists(_number, min_size=6, max_size=12)),
    st.text(max_size=30),
    st.sampled_from(["", "   ", "1.5 0 0 1 1", "0 0.5 0.5 0.1 0.1 0.9", "\t0\t0.5 0.5 0.1 0.1\r"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(st.lists(_line, max_size=8), min_size=1, max_size=4), with_yaml=st.booleans())
def test_every_line_is_an_annotation_or_a_report_row(files, with_yaml):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "labels").mkdir()
        if with_yaml:
            (root / "data.yaml").write_text(yaml.safe_dump({"names": ["a", "b", "c"], "train": "labels"}))
        expected = set()
        for i, lines in enumerate(files):
            text = "\n".join(lines)
            (root / "labels" / f"{i}.txt").write_bytes(text.encode("utf-8", "surrogatepass"))
            expected |= {f"labels/{i}.txt:{n}" for n, line in enumerate(text.split("\n"), 1) if line.split()}
        report = LoadReport()
        try:
            dataset = read_yolo([root], report)
        except LoadError:
            return
        annotated = set(dataset.annotations.column("source_id").to_pylist())
        dropped = {r.record for r in report if r.action == "skipped"}
        assert annotated <= expected
        assert annotated | dropped >= expected
        assert not annotated & dropped
        assert dataset.num_images == len(files)


# no "/" or ".": an entry such as "/" or ".." would send the reader through the whole disk
_yaml_text = st.text(st.characters(blacklist_characters="/.", blacklist_categories=("Cs",)), max_size=12)
_yaml_value = st.recursive(st.none() | st.booleans() | st.integers(-3, 5) | _yaml_text | st.just("labels"),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_yaml_text | st.integers(-1, 3), inner, max_size=3),
                           max_leaves=8)


@settings(max_examples=60, deadline=None)
@given(doc=st.dictionaries(st.sampled_from(["names", "nc", "path", "train", "val", "test"]), _yaml_value))
def test_any_yaml_gives_a_dataset_or_a_load_error(doc):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "labels").mkdir()
        (root / "labels" / "1.txt").write_text(BOX)
        (root / "data.yaml").write_text(yaml.safe_dump(doc))
        try:
            dataset = read_yolo([root / "data.yaml"], LoadReport())
        except LoadError as exc:
            assert "data.yaml" in str(exc)
            return
        assert dataset.num_images <= 1


# --------------------------------------------------------------------------- the real export


@pytest.mark.realdata
@pytest.mark.parametrize("given", ["data.yaml", "."])
def test_garbage_yolo(realdata, given):
    dataset, report = _read(realdata / "garbage_yolo" / given)
    assert _split_counts(dataset) == {"train": 5358, "val": 670}
    per_split = Counter(pc.take(dataset.images.column("split"), dataset.annotations.column("image_id")).to_pylist())
    assert per_split == {"train": 14300, "val": 1840}
    assert dataset.class_names == ["garbage", "garbage_bin", "overflow"]
    assert dataset.categories.column("source_id").to_pylist() == ["0", "1", "2"]
    assert dataset.task == "detection"
    assert report.codes() == {"missing_split", "stale_path"}
    assert _records(report, "missing_split") == ["test"]
    assert "C:\\Users\\atanu" in next(r.problem for r in report if r.code == "stale_path")
    assert dataset.images.column("width").null_count == dataset.num_images  # no images in the export
    for column in ("x", "y", "w", "h"):
        values = dataset.annotations.column(column)
        assert pc.min(values).as_py() >= 0 and pc.max(values).as_py() <= 1
    groups = Counter(dataset.images.column("group").to_pylist())
    assert None not in groups
    assert len(groups) == 3349 and sum(1 for n in groups.values() if n == 2) == 2679
    assert groups["000001_jpg"] == 2
    assert dataset.images.column("source_id")[0].as_py().startswith("train/labels/000001_jpg.rf.")


@pytest.mark.realdata
def test_garbage_yolo_through_load(realdata):
    dataset = imbal_core.load(realdata / "garbage_yolo", cache=False)
    assert dataset.format == "yolo"
    assert dataset.num_annotations == 16140


# --------------------------------------------------------------------------- Darknet (obj.data, train.txt)

OBJ_DATA = "classes = 2\ntrain = data/train.txt\nvalid = data/valid.txt\nnames = data/obj.names\nbackup = backup/\n"


def _darknet(root: Path, extra: dict[str, object] | None = None, **lists: str) -> Path:
    """A CVAT-style Darknet export: obj.data, obj.names, lists and obj_<split>_data/ folders."""
    files: dict[str, object] = {"obj.data": OBJ_DATA, "obj.names": "cat\ndog\n",
                                "obj_train_data/1.jpg": (20, 10), "obj_train_data/1.txt": BOX,
                                "obj_valid_data/2.jpg": (20, 10), "obj_valid_data/2.txt": "1 0.5 0.5 0.2 0.4",
                                "train.txt": "data/obj_train_data/1.jpg\n", "valid.txt": "data/obj_valid_data/2.jpg\n"}
    files.update({f"{k}.txt": v for k, v in lists.items()})
    files.update(extra or {})
    return _tree(root, {k: v for k, v in files.items() if v is not None})


@pytest.mark.realdata
@pytest.mark.parametrize("given", [".", "obj.data"])
def test_real_darknet_yolo(realdata, given):
    # Counted by hand from ../shared/realdata/darknet_yolo: obj.names lists label_0 .. label_9; train.txt
    # lists one image, data/obj_train_data/1.jpg (a 15x10 JPEG, there as obj_train_data/1.jpg); its
    # 1.txt holds 2 boxes, of classes 2 and 4. obj.data's paths (data/train.txt, data/obj.names) point
    # at data/..., as Darknet writes them. 0.133333 - 0.266667 / 2 is a hair below 0: one box_clipped.
    dataset, report = _read(realdata / "darknet_yolo" / given)
    assert dataset.num_images == 1 and dataset.num_annotations == 2
    assert _split_counts(dataset) == {"train": 1}
    assert dataset.class_names == [f"label_{i}" for i in range(10)]
    assert dataset.categories.column("source_id").to_pylist() == [str(i) for i in range(10)]
    names = dataset.class_names
    assert sorted(names[c] for c in dataset.annotations.column("category_id").to_pylist()) == ["label_2", "label_4"]
    assert dataset.images.column("source_id").to_pylist() == ["obj_train_data/1.jpg"]
    assert (dataset.images.column("width")[0].as_py(), dataset.images.column("height")[0].as_py()) == (15, 10)
    assert report.codes() == {"box_clipped"}


@pytest.mark.realdata
@pytest.mark.parametrize("fmt", ["auto", "yolo"])
def test_real_darknet_yolo_through_load(realdata, fmt):
    # before: sniffed as an image folder (auto), or train.txt read as a label file (yolo: 2 images, 1 bad line)
    dataset = imbal_core.load(realdata / "darknet_yolo", format=fmt, cache=False)
    assert (dataset.format, dataset.num_images, dataset.num_annotations) == ("yolo", 1, 2)
    assert "bad_line" not in dataset.report.codes()


@pytest.mark.realdata
@pytest.mark.parametrize("given", [".", "obj.data"])
def test_darknet_is_sniffed_as_yolo(realdata, given):
    from imbal_core.io.sniff import sniff

    assert sniff([realdata / "darknet_yolo" / given]) == "yolo"


DARKNET_CASES = [
    # (obj.data and files changed, images per split, annotations, report codes)
    pytest.param({}, {"train": 1, "val": 1}, 2, set(), id="valid.txt is the val split"),
    pytest.param({"obj.data": OBJ_DATA.replace("data/", "")}, {"train": 1, "val": 1}, 2, set(), id="paths as they are"),
    pytest.param({"train.txt": "/home/someone/darknet/data/obj_train_data/1.jpg\n",
                  "valid.txt": "C:\\darknet\\data\\obj_valid_data\\2.jpg\n"},
                 {"train": 1, "val": 1}, 2, set(), id="absolute and Windows paths"),
    pytest.param({"obj_train_data/1.jpg": None}, {"train": 1, "val": 1}, 2, {"missing_image"},
                 id="exported without the image: kept with its labels"),
    pytest.param({"train.txt": "data/obj_train_data/1.jpg\ndata/obj_train_data/9.jpg\n"},
                 {"train": 1, "val": 1}, 2, {"missing_image"}, id="listed image and label not there: left out"),
    pytest.param({"obj_train_data/3.txt": BOX}, {"train": 1, "val": 1}, 2, {"unlisted_label"},
                 id="a label no list names"),
    pytest.param({"obj.data": "classes = 2\ntrain = data/train.txt\nvalid = data/gone.txt\nnames = data/obj.names\n"},
                 {"train": 1}, 1, {"missing_split", "unlisted_label"}, id="valid list not there"),
    pytest.param({"obj.data": OBJ_DATA.replace("names = data/obj.names", "names = data/other.names")},
                 {"train": 1, "val": 1}, 2, {"missing_file"}, id="names file not there: obj.names beside"),
    pytest.param({"obj.data": OBJ_DATA.replace("classes = 2", "classes = 3")}, {"train": 1, "val": 1}, 2,
                 {"nc_mismatch"}, id="classes disagrees with the names"),
    pytest.param({"obj.data": "# CVAT\nclasses = 2\nthis line has no equals sign\ntrain = data/train.txt\n"
                              "valid = data/valid.txt\nnames = data/obj.names\n"},
                 {"train": 1, "val": 1}, 2, {"bad_line"}, id="a line that is not key = value"),
    pytest.param({"obj.data": None}, {"train": 1, "val": 1}, 2, set(), id="lists without obj.data"),
    pytest.param({"obj.data": "classes = 2\nnames = obj.names\n", "train.txt": None, "valid.txt": None},
                 {"unassigned": 2}, 2, set(), id="obj.data naming no list: the layout"),
]


@pytest.mark.parametrize(("changes", "splits", "n_annotations", "codes"), DARKNET_CASES)
def test_darknet_layouts(tmp_path, changes, splits, n_annotations, codes):
    _darknet(tmp_path, changes)
    dataset, report = _read(tmp_path)
    assert _split_counts(dataset) == splits
    assert dataset.num_annotations == n_annotations
    assert report.codes() == codes
    assert dataset.class_names == ["cat", "dog"]


def test_darknet_missing_files_are_described(tmp_path):
    _darknet(tmp_path, {"obj_train_data/1.jpg": None, "obj_train_data/3.txt": BOX,
                        "train.txt": "data/obj_train_data/1.jpg\ndata/obj_train_data/9.jpg\n",
                        "obj.data": OBJ_DATA.replace("data/obj.names", "data/other.names")})
    dataset, report = _read(tmp_path / "obj.data")
    rows = {(r.code, r.action): r.problem for r in report}
    assert rows[("missing_image", "kept with their labels; sizes unknown, boxes normalised")].startswith(
        "1 listed images are not on disk (first: 'data/obj_train_data/1.jpg')")
    assert "(first: 'data/obj_train_data/9.jpg')" in rows[("missing_image", "left out")]
    assert "'data/other.names'" in rows[("missing_file", "used obj.names or classes.txt beside it")]
    assert "1 label files in obj_train_data/ are in no image list (first: '3.txt')" in next(
        p for (code, _), p in rows.items() if code == "unlisted_label")
    # the image without its file: normalised box, unknown size, file name from the list
    row = dataset.images.column("file_name").to_pylist().index("1.jpg")
    assert dataset.images.column("width")[row].as_py() is None


def test_darknet_never_reads_outside_its_folder(tmp_path):
    outside = _tree(tmp_path / "elsewhere", {"secret.jpg": (4, 4), "secret.txt": BOX, "list.txt": "secret.jpg\n"})
    export = _darknet(tmp_path / "export", {"obj.data": OBJ_DATA.replace("data/valid.txt", str(outside / "list.txt")),
                                            "train.txt": f"{outside / 'secret.jpg'}\n../elsewhere/secret.jpg\n"})
    dataset, report = _read(export)
    assert dataset.num_images == 0  # the files outside are there, but not under the export's folder
    assert report.codes() == {"missing_split", "missing_image", "unlisted_label"}
    assert "2 listed images and their label files are not under" in next(r.problem for r in report
                                                                         if r.code == "missing_image")


def test_darknet_data_file_that_is_not_darknet_is_a_load_error(tmp_path):
    path = _tree(tmp_path, {"obj.data": "hello\nworld\n"}) / "obj.data"
    with pytest.raises(LoadError, match="not a Darknet .data file"):
        _read(path)


def test_darknet_naming_nothing_that_exists_exits_2_without_a_traceback(tmp_path, capsys):
    from imbal_core.cli import main

    _tree(tmp_path, {"obj.data": "classes = 1\ntrain = data/train.txt\nnames = data/obj.names\n"})
    assert main(["summary", "--no-cache", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no images found in this yolo export" in err and "Traceback" not in err


def test_image_list_beside_flat_labels_is_not_a_label_file(tmp_path):
    # an Ultralytics autosplit list in a flat folder: before, read as labels (bad lines)
    _tree(tmp_path, {"1.png": (4, 4), "1.txt": BOX, "autosplit_train.txt": "./1.png\n"})
    dataset, report = _read(tmp_path)
    assert (dataset.num_images, dataset.num_annotations) == (1, 1)
    assert _records(report, "image_list") == ["autosplit_train.txt"]


def test_yaml_given_alone_is_keyed_by_its_folder(tmp_path):
    # the parse cache must see the label files a data.yaml names, not only the YAML's bytes
    _tree(tmp_path, {"data.yaml": {"names": ["a"], "train": "labels"}, "labels/1.txt": BOX})
    assert imbal_core.load(tmp_path / "data.yaml").num_annotations == 1
    (tmp_path / "labels" / "1.txt").write_text(BOX + "\n" + BOX)
    assert imbal_core.load(tmp_path / "data.yaml").num_annotations == 2


@pytest.mark.parametrize("changes", [
    pytest.param({}, id="obj.data"),
    pytest.param({"obj.data": None}, id="lists and obj.names"),
    pytest.param({"obj.data": None, "obj.names": None}, id="lists only"),
    pytest.param({"obj.data": None, "train.txt": None, "valid.txt": None}, id="obj.names only"),
])
def test_generated_darknet_is_sniffed_as_yolo(tmp_path, changes):
    from imbal_core.io.sniff import sniff

    _darknet(tmp_path, changes)
    assert sniff([tmp_path]) == "yolo"
    assert imbal_core.load(tmp_path, cache=False).num_annotations == 2


def test_path_label_lists_are_not_darknet_lists(tmp_path):
    from imbal_core.io.sniff import sniff

    _tree(tmp_path, {"train.txt": "a/1.jpg 0\na/2.jpg 1\n", "a/1.jpg": (4, 4), "a/2.jpg": (4, 4)})
    assert sniff([tmp_path]) == "list"
