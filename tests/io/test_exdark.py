"""ExDark image class list reader: hand-made lists for every report case, the real list, a property test."""
from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imbal_core.io.exdark import CLASSES, LIGHTING, read_exdark
from imbal_core.report import LoadError, LoadReport

HEADER = "Name | Class | Light | In/Out | Train/Val/Test\r\n"
F = "imageclasslist.txt"


def read(tmp_path: Path, content: str | bytes):
    path = tmp_path / F
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    report = LoadReport()
    return read_exdark([path], report), report


def rows_of_images(dataset) -> dict[str, tuple]:
    """name -> (class, light, indoor_outdoor, split)."""
    t = dataset.images
    names = dataset.class_names
    label = dict(zip(dataset.annotations.column("image_id").to_pylist(),
                     (names[c] for c in dataset.annotations.column("category_id").to_pylist())))
    return {
        name: (label[i], light, place, split)
        for i, (name, light, place, split) in enumerate(zip(
            t.column("source_id").to_pylist(), t.column("light").to_pylist(),
            t.column("indoor_outdoor").to_pylist(), t.column("split").to_pylist()))
    }


def report_rows(report: LoadReport) -> list[tuple[str, str, str]]:
    return sorted((r.record, r.code, r.action) for r in report)


# Each case: file text; expected {name: (class, light, indoor_outdoor, split)}; report rows (record, code, action).
CASES = {
    "header and rows, CRLF": (
        HEADER + "2015_00001.png 1 2 1 1\r\n2015_00002.png 12 10 2 3\r\n",
        {"2015_00001.png": ("Bicycle", "Ambient", "Indoor", "train"),
         "2015_00002.png": ("Table", "Twilight", "Outdoor", "test")},
        [],
    ),
    "no header, blank lines, tabs, BOM": (
        "\ufeff\n2015_00001.png\t5 1 2 2\n\n   \n2015_00003.jpg  6  9  1  2",
        {"2015_00001.png": ("Car", "Low", "Outdoor", "val"), "2015_00003.jpg": ("Cat", "Shadow", "Indoor", "val")},
        [],
    ),
    "header only": (HEADER, {}, []),
    "empty file": ("", {}, []),
    "wrong field counts": (
        HEADER + "a.png 1 2 1\nb.png 1 2 1 1 9\nc.png\nd.png 1 2 1 1\n",
        {"d.png": ("Bicycle", "Ambient", "Indoor", "train")},
        [(f"{F}:2", "bad_line", "skipped"), (f"{F}:3", "bad_line", "skipped"), (f"{F}:4", "bad_line", "skipped")],
    ),
    "non-numeric codes": (
        HEADER + "a.png one 2 1 1\nb.png 1 2.0 1 1\nc.png 1 2 -1 1\nd.png 1 2 1 ٣\n",
        {},
        [(f"{F}:{n}", "bad_line", "skipped") for n in (2, 3, 4, 5)],
    ),
    "codes too long for a code (before: int() refused 5,000 digits)": (
        HEADER + f"a.png 1{'0' * 5000} 2 1 1\nb.png 1 {2**70} 1 1\nc.png 3 2 1 1\n",
        {"b.png": ("Bicycle", None, "Indoor", "train"), "c.png": ("Bottle", "Ambient", "Indoor", "train")},
        [(f"{F}:2", "unknown_class", "skipped"), (f"{F}:3", "unknown_code", "kept with light unknown")],
    ),
    "unknown class: skipped": (
        HEADER + "a.png 13 2 1 1\nb.png 0 2 1 1\nc.png 3 2 1 1\n",
        {"c.png": ("Bottle", "Ambient", "Indoor", "train")},
        [(f"{F}:2", "unknown_class", "skipped"), (f"{F}:3", "unknown_class", "skipped")],
    ),
    "unknown light, place and split: kept": (
        HEADER + "a.png 1 11 1 1\nb.png 1 2 3 1\nc.png 1 2 1 4\n",
        {"a.png": ("Bicycle", None, "Indoor", "train"), "b.png": ("Bicycle", "Ambient", None, "train"),
         "c.png": ("Bicycle", "Ambient", "Indoor", "unassigned")},
        [(f"{F}:2", "unknown_code", "kept with light unknown"),
         (f"{F}:3", "unknown_code", "kept with indoor_outdoor unknown"),
         (f"{F}:4", "unknown_code", "kept with split unassigned")],
    ),
    "duplicate names: first kept": (
        HEADER + "a.png 1 2 1 1\na.png 2 3 2 3\n",
        {"a.png": ("Bicycle", "Ambient", "Indoor", "train")},
        [(f"{F}:3", "duplicate_id", "skipped")],
    ),
    "non-UTF-8 name": (
        HEADER.encode() + b"caf\xe9.png 1 2 1 1\n",
        {"caf\ufffd.png": ("Bicycle", "Ambient", "Indoor", "train")},
        [(f"byte {len(HEADER) + 3}", "not_utf8", "replaced invalid bytes")],
    ),
    "a second header-like line is a bad row": (
        HEADER + "Name | Class\n",
        {},
        [(f"{F}:2", "bad_line", "skipped")],
    ),
}


@pytest.mark.parametrize("content, expected, rows", CASES.values(), ids=CASES.keys())
def test_read_exdark(tmp_path, content, expected, rows):
    dataset, report = read(tmp_path, content)
    assert rows_of_images(dataset) == expected
    assert report_rows(report) == sorted(rows)
    assert dataset.task == "classification"
    assert dataset.conditions == ("light", "indoor_outdoor")
    assert dataset.num_annotations == dataset.num_images


def test_every_class_is_a_category(tmp_path):
    dataset, _ = read(tmp_path, HEADER + "a.png 9 2 1 1\n")
    assert dataset.class_names == [CLASSES[c] for c in range(1, 13)]
    assert dataset.categories.column("source_id").to_pylist() == [str(c) for c in range(1, 13)]
    assert dataset.annotations.column("category_id").to_pylist() == [8]  # Dog, code 9
    assert dataset.annotations.column("source_id").to_pylist() == [f"{F}:2"]
    assert dataset.images.column("file_name").to_pylist() == ["a.png"]


def test_folder_and_several_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / F).write_text(HEADER + "x.png 1 2 1 1\n")
    (tmp_path / "b" / "ImageClassList.TXT").write_text(HEADER + "x.png 2 2 1 1\ny.png 2 2 1 2\n")
    report = LoadReport()
    dataset = read_exdark([tmp_path / "a", tmp_path / "b"], report)
    assert dataset.images.column("source_id").to_pylist() == ["x.png", "y.png"]
    assert report_rows(report) == [("ImageClassList.TXT:2", "duplicate_id", "skipped")]
    assert f"{F}:2" in report.rows[0].problem


@pytest.mark.parametrize(
    "setup, match",
    [
        (lambda p: p / "nothing.txt", "no such file"),
        (lambda p: p, "no imageclasslist.txt in this folder"),
        (lambda p: (p / "link.txt").symlink_to(p / "gone.txt") or p / "link.txt", "no such file"),
    ],
    ids=["missing file", "folder without the list", "dangling link"],
)
def test_errors(tmp_path, setup, match):
    with pytest.raises(LoadError, match=match):
        read_exdark([setup(tmp_path)], LoadReport())


def test_no_input():
    with pytest.raises(LoadError, match="No input"):
        read_exdark([], LoadReport())


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_real_list(realdata):
    path = realdata / "exdark" / F
    # Independent figures, straight from the file: rows after the header, and the split column.
    rows = [line.split() for line in path.read_text().splitlines()[1:] if line.strip()]
    expected_splits = Counter({"1": "train", "2": "val", "3": "test"}[r[4]] for r in rows)
    report = LoadReport()
    dataset = read_exdark([realdata / "exdark"], report)
    assert dataset.num_images == len(rows) == 7363
    assert dataset.num_annotations == 7363
    assert len(dataset.class_names) == 12
    assert Counter(dataset.images.column("split").to_pylist()) == expected_splits == {"train": 3000, "val": 1800, "test": 2563}
    assert set(dataset.images.column("light").to_pylist()) == set(LIGHTING.values())
    assert Counter(dataset.images.column("indoor_outdoor").to_pylist()) == Counter(
        {"1": "Indoor", "2": "Outdoor"}[r[3]] for r in rows)
    assert Counter(dataset.class_names[c] for c in dataset.annotations.column("category_id").to_pylist()) == Counter(
        CLASSES[int(r[1])] for r in rows)
    assert not report, report.to_records()[:5]


# --------------------------------------------------------------------------- property

_code = st.one_of(st.integers(-2, 14).map(str), st.sampled_from(["x", "1.5", "", "01"]))
_line = st.one_of(
    st.builds(lambda n, c: " ".join([n, *c]), st.sampled_from(["a.png", "b.png", "c.jpg"]),
              st.lists(_code, min_size=3, max_size=6)),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_line, max_size=12), st.booleans())
def test_nothing_is_lost(lines, header):
    text = (HEADER if header else "") + "\n".join(lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / F
        path.write_text(text, encoding="utf-8", newline="")
        report = LoadReport()
        try:
            dataset = read_exdark([path], report)
        except LoadError:
            return
    kept = set(dataset.annotations.column("source_id").to_pylist())
    dropped = {r.record for r in report if r.action == "skipped"}
    records = []
    first_seen = False
    # A byte-order mark at the start of the file marks the encoding; it is not a record.
    for n, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        tokens = line.split()
        if not tokens:
            continue
        if not first_seen:
            first_seen = True
            if tokens[0].split("|")[0].lower() == "name":
                continue
        records.append(f"{F}:{n}")
    for record in records:
        assert (record in kept) != (record in dropped), record
    assert dataset.num_images == len(kept) == len(records) - len(dropped)
