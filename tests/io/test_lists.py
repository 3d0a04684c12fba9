""""path label" lists (Places-LT style): imbal_core.io.classification.read_lists."""
from __future__ import annotations

import time
from pathlib import Path

import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imbal_core.cube import class_totals, cube
from imbal_core.io.classification import read_lists
from imbal_core.report import LoadError, LoadReport


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def load(folder: Path, files: dict[str, str | bytes], **options):
    report = LoadReport()
    dataset = read_lists([write(folder, n, c) for n, c in files.items()], report, **options)
    return dataset, report


def per_class(dataset) -> dict[str, int]:
    totals = class_totals(dataset)
    return dict(zip(totals.column("class").to_pylist(), totals.column("images").to_pylist()))


# files, expected: images, {class: images}, report codes
CASES = {
    "folders name classes": (
        {"x_train.txt": "train/cat/1.jpg 0\ntrain/dog/2.jpg 1\ntrain/cat/3.jpg 0\n"},
        (3, {"cat": 2, "dog": 1}, {})),
    "index order, not name order": (
        {"x_train.txt": "a/zebra/1.jpg 0\na/ant/2.jpg 10\na/bee/3.jpg 2\n"},
        (3, {"zebra": 1, "bee": 1, "ant": 1}, {})),
    "paths with spaces": (
        {"x_train.txt": "my photos/cat/a b.jpg  3\r\nmy photos/dog/c.jpg\t4\n"},
        (2, {"cat": 1, "dog": 1}, {})),
    "bad lines": (
        {"x_train.txt": "c/1.jpg 0\nno_label.jpg\nc/2.jpg cat\nc/3.jpg 1.5\nc/4.jpg 99999999999999999999\n\n   \nc/5.jpg 0\n"},
        (2, {"c": 2}, {"bad_line": 4})),
    "folder holds two indices": (
        {"x_train.txt": "c/1.jpg 0\nc/2.jpg 1\n"},
        (2, {"0": 1, "1": 1}, {"class_names_from_index": 1})),
    "index in two folders": (
        {"x_train.txt": "c/1.jpg 0\nd/2.jpg 0\n"},
        (2, {"0": 2}, {"class_names_from_index": 1})),
    "no folders at all": (
        {"x_train.txt": "1.jpg 0\n2.jpg 1\n"},
        (2, {"0": 1, "1": 1}, {})),
    "same path in two splits": (
        {"x_train.txt": "t/cat/1.jpg 0\nt/cat/2.jpg 0\n", "x_val.txt": "t/cat/1.jpg 0\n"},
        (3, {"cat": 3}, {"image_in_two_splits": 1})),
    "same line twice": (
        {"x_train.txt": "t/cat/1.jpg 0\nt/cat/1.jpg 0\n"},
        (1, {"cat": 1}, {"duplicate_label": 1})),
    "one path, two labels": (
        {"x_train.txt": "1.jpg 0\n1.jpg 1\n"},
        (1, {"0": 1, "1": 1}, {"several_labels": 1})),
    "no split in the name": (
        {"list.txt": "c/1.jpg 0\n"},
        (1, {"c": 1}, {"missing_split": 1})),
    "an empty list beside others": (
        {"x_train.txt": "c/1.jpg 0\n", "x_test.txt": ""},
        (1, {"c": 1}, {"empty_file": 1})),
    "not utf-8": (
        {"x_train.txt": "caf\xe9/1.jpg 0\n".encode("latin-1")},
        (1, {"caf\ufffd": 1}, {"not_utf8": 1})),
    "bom": (
        {"x_train.txt": "\ufeffc/1.jpg 0\n"},
        (1, {"c": 1}, {})),
    "negative index": (
        {"x_train.txt": "1.jpg -1\n2.jpg 0\n"},
        (2, {"-1": 1, "0": 1}, {})),
}


@pytest.mark.parametrize("files, expected", CASES.values(), ids=CASES.keys())
def test_lists(tmp_path, files, expected):
    n_images, classes, codes = expected
    dataset, report = load(tmp_path, files)
    assert dataset.num_images == n_images
    assert per_class(dataset) == classes
    assert dataset.class_names == list(classes)
    assert dict(report.counts()) == codes
    assert dataset.task == "classification" and dataset.format == "list"


def test_report_rows_name_file_and_line(tmp_path):
    _, report = load(tmp_path, {"x_train.txt": "c/1.jpg 0\n\nc/2.jpg cat\nonly\n"})
    path = tmp_path / "x_train.txt"
    assert [(r.record, r.problem, r.action) for r in report] == [
        (f"{path}:3", "label 'cat' is not a whole number", "skipped"),
        (f"{path}:4", "no label after the path 'only'", "skipped"),
    ]


def test_overlap_keeps_both_images_and_says_where(tmp_path):
    dataset, report = load(tmp_path, {"a_train.txt": "t/c/1.jpg 0\n", "a_val.txt": "t/c/0.jpg 0\nt/c/1.jpg 0\n"})
    assert dataset.images.column("split").to_pylist() == ["train", "val", "val"]
    (row,) = list(report)
    assert row.record == "t/c/1.jpg"
    assert row.problem == (f"the same file is listed in several splits: train ({tmp_path / 'a_train.txt'}:1), "
                           f"val ({tmp_path / 'a_val.txt'}:2)")


# names file content, expected class names (in index order), report codes
NAMES = [
    ("airfield\nairport\nalley\n", ["airfield", "airport", "alley"], {}),
    ("0 airfield\n2 alley\n1 airport\n", ["airfield", "airport", "alley"], {}),
    ("/a/airfield 0\n/a/airport 1\n/a/alley 2\n", ["/a/airfield", "/a/airport", "/a/alley"], {}),
    ("0 airfield\n0 other\n1 airport\n2 alley\n", ["airfield", "airport", "alley"], {"duplicate_id": 1}),
    ("x\nx\ny\n", ["x", "x (1)", "y"], {"duplicate_name": 1}),
    ("airfield\nairport\n", ["airfield", "airport", "2"], {"unknown_class": 1}),
    ("airfield\nairport\nalley\nbeach\n", ["airfield", "airport", "alley", "beach"], {}),  # beach: declared, no images
    # indices no label can be (past 18 digits; before: OverflowError / ValueError) are reported; 10^11 is declared
    (f"0 airfield\n1 airport\n2 alley\n{10**11} beach\n{2**70} cave\n1{'0' * 5000} dune\n",
     ["airfield", "airport", "alley", "beach"], {"bad_line": 2}),
]


@pytest.mark.parametrize("names, expected, codes", NAMES)
def test_names_file(tmp_path, names, expected, codes):
    names_file = write(tmp_path, "names.txt", names)
    dataset, report = load(tmp_path, {"x_train.txt": "1.jpg 0\n2.jpg 1\n3.jpg 2\n"}, names_file=names_file)
    assert dataset.class_names == expected
    assert dict(report.counts()) == codes
    assert dataset.categories.column("source_id").to_pylist()[:3] == ["0", "1", "2"]


# files, options, error match
ERRORS = [
    ({"x_train.txt": ""}, {}, r"x_train\.txt: the file is empty"),
    ({"x_train.txt": "\n \n", "x_val.txt": ""}, {}, r"every list is empty"),
    ({"x_train.txt": "a 0\n"}, {"colour": 1}, r"unknown options \['colour'\]"),
]


@pytest.mark.parametrize("files, options, match", ERRORS)
def test_errors(tmp_path, files, options, match):
    with pytest.raises((LoadError, TypeError), match=match):
        load(tmp_path, files, **options)


def test_unreadable_inputs(tmp_path):
    with pytest.raises(LoadError, match=r"missing_train\.txt: no such file"):
        read_lists([tmp_path / "missing_train.txt"], LoadReport())
    with pytest.raises(LoadError, match=r"names\.txt: the names file is empty"):
        load(tmp_path, {"x_train.txt": "a 0\n"}, names_file=write(tmp_path, "names.txt", "\n"))


# --------------------------------------------------------------------------- property: nothing is lost

LINE = st.text(alphabet=st.sampled_from(list("ab/ .-\t\r") + ["0", "1", "7", "é", "\x0c"]), max_size=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(train=st.lists(LINE, max_size=10), val=st.lists(LINE, max_size=6))
def test_every_line_is_an_annotation_or_a_report_row(tmp_path, train, val):
    files = {"l_train.txt": "\n".join(train), "l_val.txt": "\n".join(val)}
    report = LoadReport()
    try:
        dataset = read_lists([write(tmp_path, n, c) for n, c in files.items()], report)
    except LoadError:
        assert not any(line.strip() for line in train + val)
        return
    expected = {f"{tmp_path / name}:{i}" for name, lines in (("l_train.txt", train), ("l_val.txt", val))
                for i, line in enumerate(lines, 1) if line.strip()}
    found = set(dataset.annotations.column("source_id").to_pylist())
    reported = {r.record for r in report if r.code in ("bad_line", "duplicate_label")}
    assert found | reported == expected
    assert not found & {r.record for r in report if r.code == "bad_line"}


# --------------------------------------------------------------------------- the real Places-LT lists


@pytest.fixture(scope="module")
def places(realdata):
    root = realdata / "places_lt"
    paths = [root / f"Places_LT_{s}.txt" for s in ("train", "val", "test")]
    report = LoadReport()
    start = time.perf_counter()
    dataset = read_lists(paths, report)
    return dataset, report, time.perf_counter() - start


@pytest.mark.realdata
def test_places_lt_figures(places):
    dataset, report, _ = places
    assert len(report) == 0
    assert dataset.splits == ("train", "val", "test")
    counts = cube(dataset, ("split",))
    per_split = {}
    for split in ("train", "val", "test"):
        rows = counts.filter(pc.equal(counts.column("split"), split))
        images = rows.column("images").to_pylist()
        per_split[split] = (sum(images), rows.num_rows, max(images), min(images))
    assert per_split == {"train": (62_500, 365, 4_980, 5), "val": (7_300, 365, 20, 20), "test": (36_500, 365, 100, 100)}
    assert dataset.num_images == 106_300
    assert dataset.categories.num_rows == 365
    assert dataset.class_names[0] == "airfield"
    assert dataset.categories.column("source_id")[0].as_py() == "0"
    train = cube(dataset, ("split",)).filter(pc.equal(pc.field("split"), "train"))
    by_class = dict(zip(train.column("class").to_pylist(), train.column("images").to_pylist()))
    assert by_class["airfield"] == 219
    assert max(by_class, key=by_class.get) == dataset.class_names[7] == "amusement_park"  # 4,980 images
    assert sorted(by_class.values()).count(5) == 3
    totals = class_totals(dataset)
    assert totals.column("images").to_pylist()[0] == 219 + 20 + 100  # airfield over the three splits


@pytest.mark.realdata
def test_places_lt_is_fast(realdata):
    path = realdata / "places_lt" / "Places_LT_train.txt"
    read_lists([path], LoadReport())  # warm imports
    start = time.perf_counter()
    dataset = read_lists([path], LoadReport())
    assert time.perf_counter() - start < 1.0
    assert dataset.num_images == 62_500


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=120))
def test_arbitrary_bytes_raise_only_load_error(tmp_path, data):
    path = write(tmp_path, "b_train.txt", data)
    report = LoadReport()
    try:
        dataset = read_lists([path], report)
    except LoadError:
        return
    n_lines = data.count(b"\n") + 1
    records = dataset.annotations.column("source_id").to_pylist() + [r.record for r in report if r.code == "bad_line"]
    assert all(1 <= int(r.rsplit(":", 1)[1]) <= n_lines for r in records)
    assert dataset.num_annotations + report.counts()["bad_line"] + report.counts()["duplicate_label"] \
        == sum(1 for line in data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace").split("\n") if line.strip())
