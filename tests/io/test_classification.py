"""Classification tables (CSV / TSV / Parquet): imbal_core.io.classification.read_table."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imbal_core.cube import class_totals
from imbal_core.dataset import DICT_STRING
from imbal_core.io import reader
from imbal_core.io.classification import read_folder, read_lists, read_table
from imbal_core.report import LoadError, LoadReport


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def load(folder: Path, name: str, content: str | bytes, **options):
    report = LoadReport()
    dataset = read_table([write(folder, name, content)], report, **options)
    return dataset, report


def images_per_class(dataset) -> dict[str, int]:
    totals = class_totals(dataset)
    return dict(zip(totals.column("class").to_pylist(), totals.column("images").to_pylist()))


def test_the_registry_finds_all_three_readers_here():
    assert reader("csv") is read_table
    assert reader("list") is read_lists
    assert reader("folder") is read_folder


# name, content, expected: images, annotations, {class: images}, report codes
CASES = [
    ("plain.csv", "image,label\na.jpg,cat\nb.jpg,dog\nc.jpg,cat\n",
     (3, 3, {"cat": 2, "dog": 1}, {})),
    ("semicolon.csv", "file_name;class;split\na.jpg;0;train\nb.jpg;1;val\n",
     (2, 2, {"0": 1, "1": 1}, {})),
    ("tabs.tsv", "path\ttarget\na b.jpg\tx\n",
     (1, 1, {"x": 1}, {})),
    ("pipes.csv", "img|y\na.jpg|cat\n",
     (1, 1, {"cat": 1}, {})),
    ("multi_cell.csv", "image,label\na.jpg,cat|dog\nb.jpg,\"dog; bird\"\n",
     (2, 4, {"bird": 1, "cat": 1, "dog": 2}, {})),
    ("multi_rows.csv", "image,label\na.jpg,cat\na.jpg,dog\n",
     (1, 2, {"cat": 1, "dog": 1}, {})),
    ("ragged.csv", "image,label\na.jpg,cat\nb.jpg\nc.jpg,dog,extra\nd.jpg,dog\n",
     (2, 2, {"cat": 1, "dog": 1}, {"ragged_row": 2})),
    ("empty_label.csv", "image,label\na.jpg,\nb.jpg,cat\nc.jpg,|\n",
     (3, 1, {"cat": 1}, {"empty_label": 2})),
    ("duplicates.csv", "image,label\na.jpg,cat\na.jpg,cat\na.jpg,cat|cat\n",
     (1, 1, {"cat": 1}, {"duplicate_label": 3})),  # row 4 repeats it twice
    ("missing_image.csv", "image,label\n,cat\n  ,dog\nb.jpg,dog\n",
     (1, 1, {"dog": 1}, {"missing_image": 2})),
    ("bom.csv", "\ufeffimage,label\na.jpg,cat\n",
     (1, 1, {"cat": 1}, {})),
    ("latin1.csv", "image,label\na.jpg,café\n".encode("latin-1"),
     (1, 1, {"caf\ufffd": 1}, {"not_utf8": 1})),
    ("quoted.csv", 'image,label\n"a,1.jpg","big ""cat"""\n"b\nc.jpg",dog\n',
     (2, 2, {'big "cat"': 1, "dog": 1}, {})),
    ("numbers.csv", "image,label\na,10\nb,2\nc,1\nd,b\ne,A\n",
     (5, 5, {"1": 1, "2": 1, "10": 1, "A": 1, "b": 1}, {})),
    ("blank_lines.csv", "image,label\n\na.jpg,cat\n,\n\nb.jpg,dog\n",
     (2, 2, {"cat": 1, "dog": 1}, {})),
    ("header_only.csv", "image,label\n",
     (0, 0, {}, {})),
    ("two_splits.csv", "image,label,split\na.jpg,cat,train\na.jpg,cat,valid\n",
     (2, 2, {"cat": 2}, {"image_in_two_splits": 1})),
    ("dup_columns.csv", "image,label,x,x\na.jpg,cat,1,2\n",
     (1, 1, {"cat": 1}, {"duplicate_column": 1})),
    ("crlf.csv", "image,label\r\na.jpg,cat\r\nb.jpg,dog\r\n",
     (2, 2, {"cat": 1, "dog": 1}, {})),
]


@pytest.mark.parametrize("name, content, expected", CASES, ids=[c[0] for c in CASES])
def test_tables(tmp_path, name, content, expected):
    n_images, n_annotations, classes, codes = expected
    dataset, report = load(tmp_path, name, content)
    assert (dataset.num_images, dataset.num_annotations) == (n_images, n_annotations)
    assert images_per_class(dataset) == classes
    assert dataset.class_names == list(classes)  # sorted: numbers by value, then names
    assert dict(report.counts()) == codes
    assert dataset.task == "classification" and dataset.format == "csv"


# name, content, code, record (line), action
REPORT_ROWS = [
    ("ragged.csv", "image,label\na.jpg,cat\nb.jpg\n", "ragged_row", 3, "skipped"),
    ("ragged_after_blank.csv", "image,label\n\na.jpg,cat\n\nb.jpg,1,2\n", "ragged_row", 5, "skipped"),
    ("after_quoted_newline.csv", 'image,label\n"a\n\nb",cat\n,dog\n', "missing_image", 5, "skipped"),
    ("empty_label.csv", "image,label\na.jpg,cat\nb.jpg,\n", "empty_label", 3, "image kept without a label from this row"),
    ("duplicate.csv", "image,label\na.jpg,cat\n\na.jpg,cat\n", "duplicate_label", 4, "kept once"),
    ("size.csv", "image,label,width,height\na.jpg,cat,-3,10\n", "bad_image_size", 2, "set to unknown"),
    # past int32 (before: "PyLong is too large to fit int64", no file named)
    ("huge_size.csv", "image,label,width,height\na.jpg,cat,1e20,10\n", "bad_image_size", 2, "set to unknown"),
]


@pytest.mark.parametrize("name, content, code, line, action", REPORT_ROWS, ids=[r[0] for r in REPORT_ROWS])
def test_report_rows_name_the_line(tmp_path, name, content, code, line, action):
    _, report = load(tmp_path, name, content)
    rows = [r for r in report if r.code == code]
    assert len(rows) == 1
    assert rows[0].record == f"{tmp_path / name}:{line}"
    assert rows[0].action == action


# content, options, error match
ERRORS = [
    ("foo,bar\n1,2\n", {}, r"cannot tell which column holds the image\. Columns found: \['foo', 'bar'\]\. Name it with `image_column=`"),
    ("image,bar\na,2\n", {}, r"cannot tell which column holds the label\. Columns found: \['image', 'bar'\]"),
    ("image\na.jpg\n", {}, r"holds the label"),
    ("", {}, r"the file is empty"),
    (" \n\n", {}, r"the file is empty"),
    ("\ufeff", {}, r"the file is empty"),
    ("image,label\na,b\n", {"image_column": "nope"}, r"`image_column` names 'nope', which is not a column\. Columns found: \['image', 'label'\]"),
    ("image,label\na,b\n", {"label_column": "image"}, r"cannot tell which column holds the image"),
    ("image,label\na,b\n", {"colour": "red"}, r"unknown options \['colour'\]"),
]


@pytest.mark.parametrize("content, options, match", ERRORS)
def test_errors(tmp_path, content, options, match):
    with pytest.raises((LoadError, TypeError), match=match):
        load(tmp_path, "t.csv", content, **options)


def test_error_names_the_file(tmp_path):
    with pytest.raises(LoadError, match=r"t\.csv: the file is empty") as info:
        load(tmp_path, "t.csv", "")
    assert info.value.file == str(tmp_path / "t.csv")


@pytest.mark.parametrize("make, match", [
    (lambda p: p, r"no such file"),
    (lambda p: p.mkdir() or p, r"is a folder"),
    (lambda p: p.write_bytes(b"not parquet at all") and p, r"not a readable Parquet file"),
    (lambda p: p.write_bytes(b"") or p, r"the file is empty"),
])
def test_unreadable_files(tmp_path, make, match):
    path = make(tmp_path / "t.parquet")
    with pytest.raises(LoadError, match=match):
        read_table([path], LoadReport())


def test_overridden_columns(tmp_path):
    content = "id,file,tag,part\n1,a.jpg,cat,train\n2,b.jpg,dog,test\n"
    dataset, report = load(tmp_path, "t.csv", content, image_column="file", label_column="tag", split_column="part")
    assert dataset.images.column("file_name").to_pylist() == ["a.jpg", "b.jpg"]
    assert dataset.splits == ("train", "test")
    assert dataset.class_names == ["cat", "dog"]


def test_conditions_group_and_annotator(tmp_path):
    content = (
        "image,label,split,lighting,site,annotator,annotated_at,brightness,weird\n"
        "a.jpg,crack,train,day,s1,ann,2024-01-02T03:04:05Z,0.5,x\n"
        "b.jpg,intact,train,night,s1,bob,2024-01-03,0.25,y\n"
        "b.jpg,crack,train,day,s2,bob,2024-01-03,0.25,y\n"
        "c.jpg,intact,val,,s2,,,0.75,\n"
    )
    dataset, report = load(tmp_path, "surface.csv", content)
    assert dataset.conditions == ("lighting", "weird")
    images = dataset.images
    assert images.schema.field("lighting").type == DICT_STRING
    assert images.column("lighting").to_pylist() == ["day", "night", None]
    assert images.column("group").to_pylist() == ["s1", "s1", "s2"]
    assert images.column("annotator").to_pylist() == ["ann", "bob", None]
    assert dataset.annotations.column("annotator").to_pylist() == ["ann", "bob", "bob", None]
    assert str(images.column("annotated_at")[0].as_py()) == "2024-01-02 03:04:05+00:00"
    # the second row of b.jpg disagrees on lighting and site: the first value stays, reported
    conflicts = [r for r in report if r.code == "multi_valued_condition"]
    assert [(r.record.rsplit(":", 1)[1], r.action) for r in conflicts] == [("4", "kept 's1'"), ("4", "kept 'night'")]
    # a column of fractions is a measurement, not a condition
    assert [r.record for r in report if r.code == "condition_ignored"] == ["brightness"]


def test_split_from_file_names_and_several_tables(tmp_path):
    train = write(tmp_path, "labels_train.csv", "image,label\na.jpg,cat\nb.jpg,dog\n")
    val = write(tmp_path, "labels_val.csv", "image,label,split\nc.jpg,cat,\nd.jpg,dog,test\n")
    empty = write(tmp_path, "labels_test.csv", "")
    report = LoadReport()
    dataset = read_table([train, val, empty], report)
    assert dataset.images.column("split").to_pylist() == ["train", "train", "val", "test"]
    assert dataset.sources == (str(train), str(val), str(empty))
    assert [(r.code, r.file) for r in report] == [("empty_file", str(empty))]


def test_every_table_empty_is_an_error(tmp_path):
    paths = [write(tmp_path, "a.csv", ""), write(tmp_path, "b.csv", "\n")]
    with pytest.raises(LoadError, match=r"every table is empty"):
        read_table(paths, LoadReport())


def test_image_sizes(tmp_path):
    content = "image,label,width,height\na.jpg,cat,640,480\nb.jpg,cat,wide,480\nc.jpg,cat,,\n"
    dataset, report = load(tmp_path, "t.csv", content)
    assert dataset.images.column("width").to_pylist() == [640, None, None]
    assert dataset.images.column("height").to_pylist() == [480, 480, None]
    assert [r.code for r in report] == ["bad_image_size"]


def test_separators_can_be_turned_off(tmp_path):
    dataset, _ = load(tmp_path, "t.csv", "image,label\na.jpg,a|b\n", label_separators="")
    assert dataset.class_names == ["a|b"]


def test_parquet(tmp_path):
    path = tmp_path / "labels.parquet"
    pq.write_table(pa.table({
        "image_id": pa.array([7, 8, 9, 9], pa.int64()),
        "label": pa.array([0, 1, 1, 2], pa.int64()),
        "subset": ["train", "train", "val", "val"],
        "camera": pa.array([1, 2, 1, 1], pa.int64()),
        "score": [0.1, 0.2, 0.3, 0.3],
    }), path)
    report = LoadReport()
    dataset = read_table([path], report)
    assert dataset.images.column("file_name").to_pylist() == ["7", "8", "9"]
    assert dataset.class_names == ["0", "1", "2"]
    assert dataset.splits == ("train", "val")
    assert dataset.conditions == ("camera",)
    assert dataset.images.column("camera").to_pylist() == ["1", "2", "1"]
    assert dataset.annotations.column("source_id").to_pylist()[-1] == f"{path}:row 4"
    assert report.codes() == {"condition_ignored"}  # score: fractions


# --------------------------------------------------------------------------- property: nothing is lost

CELL = st.text(alphabet=st.sampled_from(list('ab c,;|"\n\r\t') + ["é", "0", "1"]), max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(CELL, CELL, st.sampled_from(["", "train", "val", "test"])), max_size=12),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
def test_every_row_is_an_annotation_or_a_report_row(tmp_path, rows, quoting):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=quoting)  # "\r\n": a lone "\r" gets quoted
    writer.writerow(["image", "label", "split"])
    line, expected = 2, set()
    for row in rows:
        writer.writerow(row)
        if any(row):
            expected.add(line)
        line += 1 + sum(len(re.findall(r"\r\n|\r|\n", cell)) for cell in row)
    path = write(tmp_path, "t.csv", buffer.getvalue())
    report = LoadReport()
    try:
        dataset = read_table([path], report)
    except LoadError:
        return
    found = {int(r.split(":")[-1]) for r in dataset.annotations.column("source_id").to_pylist()}
    reported = {int(r.record.split(":")[-1]) for r in report if r.record.startswith(str(path))}
    assert found | reported == expected
    dataset_images = set(dataset.images.column("file_name").to_pylist())
    assert dataset_images == {row[0].strip() for row in rows if row[0].strip()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), header=st.sampled_from([b"image,label\n", b"image;label;split\n", b""]))
def test_arbitrary_bytes_raise_only_load_error(tmp_path, data, header):
    path = write(tmp_path, "t.csv", header + data)
    report = LoadReport()
    try:
        dataset = read_table([path], report)
    except LoadError:
        return
    n_lines = len(re.split(rb"\r\n|\r|\n", header + data))
    records = [r.record for r in report if r.record.startswith(f"{path}:")]
    records += dataset.annotations.column("source_id").to_pylist()
    assert all(1 < int(r.rsplit(":", 1)[1]) <= n_lines for r in records)


def test_columns_named_like_internal_ones_do_not_clash(tmp_path):
    content = "file,tag,record,split,part\na.jpg,cat,r1,x,train\nb.jpg,dog,r2,y,val\n"
    dataset, report = load(tmp_path, "t.csv", content, image_column="file", label_column="tag", split_column="part")
    assert dataset.splits == ("train", "val")
    assert dataset.conditions == ("record",)
    assert dataset.annotations.column("source_id").to_pylist() == [f"{tmp_path / 't.csv'}:2", f"{tmp_path / 't.csv'}:3"]
    assert [(r.code, r.record) for r in report] == [("condition_ignored", "split")]


def test_parquet_list_labels_and_nested_columns(tmp_path):
    path = tmp_path / "multi.parquet"
    pq.write_table(pa.table({
        "image": ["a.jpg", "b.jpg", "c.jpg"],
        "labels": pa.array([["cat", "dog"], [], None], pa.list_(pa.string())),
        "boxes": pa.array([[1.0], [2.0], [3.0]], pa.list_(pa.float64())),
    }), path)
    report = LoadReport()
    dataset = read_table([path], report, label_column="labels")
    assert (dataset.num_images, dataset.num_annotations, dataset.class_names) == (3, 2, ["cat", "dog"])
    assert sorted(r.code for r in report) == ["condition_ignored", "empty_label", "empty_label"]
    bad = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"image": pa.array([{"a": 1}]), "label": ["cat"]}), bad)
    with pytest.raises(LoadError, match=r"nested\.parquet: column `image` holds struct<a: int64> values"):
        read_table([bad], LoadReport())
