"""Conditions sidecar: imbal_core.io.sidecar.join_conditions."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imbal_core.cube import cube
from imbal_core.dataset import DICT_STRING, validate
from imbal_core.io.classification import read_table
from imbal_core.io.sidecar import join_conditions
from imbal_core.report import LoadError, LoadReport

BASE = "image,label,split,weather\nimgs/a.jpg,cat,train,sun\nimgs/b.jpg,dog,train,rain\nc.jpg,cat,val,sun\n"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


@pytest.fixture
def base(tmp_path):
    return read_table([write(tmp_path, "labels.csv", BASE)], LoadReport())


def column(dataset, name):
    return dataset.images.column(name).to_pylist()


# sidecar, expected: {condition: values per image}, report codes
CASES = {
    "by file name": (
        "file_name,lighting\nimgs/a.jpg,day\nimgs/b.jpg,night\nc.jpg,day\n",
        ({"lighting": ["day", "night", "day"]}, {})),
    "by base name": (
        "image,lighting\na.jpg,day\nb.jpg,night\nc.jpg,day\n",
        ({"lighting": ["day", "night", "day"]}, {"sidecar_matched": 1})),
    "a base name of another folder still matches": (
        "name,lighting\nimgs/a.jpg,day\nx/y/b.jpg,night\n",
        ({"lighting": ["day", "night", None]}, {"sidecar_matched": 1, "no_sidecar_row": 1})),
    "unmatched rows and images without a row": (
        "filename,lighting\nimgs/a.jpg,day\nzzz.jpg,night\n,day\n",
        ({"lighting": ["day", None, None]}, {"sidecar_unmatched": 2, "sidecar_matched": 1, "no_sidecar_row": 2})),
    "duplicate keys: first kept": (
        "image_path,lighting\nimgs/a.jpg,day\nimgs/a.jpg,night\na.jpg,dusk\nimgs/b.jpg,day\nc.jpg,day\n",
        ({"lighting": ["day", "day", "day"]}, {"duplicate_key": 2})),
    "an existing condition is replaced where the sidecar has a value": (
        "file_name,Weather\nimgs/a.jpg,fog\nimgs/b.jpg,\nc.jpg,snow\n",
        ({"weather": ["fog", "rain", "snow"]}, {"condition_overridden": 1})),
    "identifier and measurement columns are not conditions": (
        "file_name,serial,brightness,lighting\n" + "".join(
            f"{n},{i},{i / 3:.2f},day\n" for i, n in enumerate(["imgs/a.jpg", "imgs/b.jpg", "c.jpg"])),
        ({"lighting": ["day"] * 3, "serial": ["0", "1", "2"]}, {"condition_ignored": 1})),
    "a column named like a count table's column is not a condition": (
        "file_name,Class,instances,lighting\nimgs/a.jpg,x,1,day\nimgs/b.jpg,y,2,night\nc.jpg,x,1,day\n",
        ({"lighting": ["day", "night", "day"]}, {"condition_ignored": 2})),
    "header only": (
        "file_name,lighting\n",
        ({}, {"no_sidecar_row": 3})),
}


@pytest.mark.parametrize("content, expected", CASES.values(), ids=CASES.keys())
def test_join(tmp_path, base, content, expected):
    conditions, codes = expected
    joined = join_conditions(base, write(tmp_path, "side.csv", content))
    for name, values in conditions.items():
        assert column(joined, name) == values
        assert joined.images.schema.field(name).type == DICT_STRING
    assert set(conditions) <= set(joined.conditions)
    new_rows = joined.report.rows[len(base.report):]
    assert {c: sum(1 for r in new_rows if r.code == c) for c in {r.code for r in new_rows}} == codes
    validate(joined.images, joined.annotations, joined.categories)


def test_the_match_summary_says_which_rule(tmp_path, base):
    joined = join_conditions(base, write(tmp_path, "side.csv", "image,lighting\nimgs/a.jpg,day\nb.jpg,night\nzz,day\n"))
    (row,) = [r for r in joined.report if r.code == "sidecar_matched"]
    assert row.problem == "2 of 3 rows matched images (1 by file name, 1 by base name); 1 matched none"


def test_split_and_group_are_replaced(tmp_path, base):
    content = "file_name,split,site\nimgs/a.jpg,test,s1\nimgs/b.jpg,,s2\nc.jpg,Validation,\n"
    joined = join_conditions(base, write(tmp_path, "side.csv", content))
    assert column(joined, "split") == ["test", "train", "val"]
    assert column(joined, "group") == ["s1", "s2", None]
    assert joined.conditions == ("weather",)
    rows = {r.code: r.problem for r in joined.report}
    assert rows["split_overridden"].endswith("(images changed: 1)")
    assert rows["group_overridden"].endswith("(images changed: 2)")


def test_the_input_is_not_changed(tmp_path, base):
    before_rows, before_images = list(base.report.rows), base.images
    joined = join_conditions(base, write(tmp_path, "side.csv", "file_name,lighting\nimgs/a.jpg,day\n"))
    assert base.report.rows == before_rows and base.images is before_images
    assert base.conditions == ("weather",) and "lighting" not in base.images.schema.names
    assert joined.report is not base.report
    assert joined.report.rows[: len(before_rows)] == before_rows
    assert joined.sources == (*base.sources, str(tmp_path / "side.csv"))


def test_the_new_condition_feeds_the_cube(tmp_path, base):
    joined = join_conditions(base, write(tmp_path, "side.csv", "file_name,lighting\nimgs/a.jpg,day\nimgs/b.jpg,night\n"))
    table = cube(joined, ("lighting",))
    assert table.to_pylist() == [
        {"lighting": "day", "class": "cat", "images": 1, "instances": 1, "pixels": None},
        {"lighting": "night", "class": "dog", "images": 1, "instances": 1, "pixels": None},
        {"lighting": None, "class": "cat", "images": 1, "instances": 1, "pixels": None},
    ]


def test_parquet_sidecar_keyed_by_numbers(tmp_path):
    dataset = read_table([write(tmp_path, "l.csv", "image_id,label\n7,cat\n8,dog\n")], LoadReport())
    path = tmp_path / "side.parquet"
    pq.write_table(pa.table({"id": pa.array([7, 8], pa.int64()), "camera": pa.array([1, 2], pa.int64())}), path)
    joined = join_conditions(dataset, path)
    assert column(joined, "camera") == ["1", "2"]


def test_key_column_override(tmp_path, base):
    content = "file_name,shot\nnope,imgs/a.jpg\n"
    joined = join_conditions(base, write(tmp_path, "side.csv", content + "x,c.jpg\n"), key_column="shot")
    assert "file_name" not in joined.conditions  # a canonical column name: reported, not a condition
    assert any(r.code == "condition_ignored" and r.record == "file_name" for r in joined.report)
    assert column(joined, "split") == ["train", "train", "val"]


# content, options, error match
ERRORS = [
    ("lighting,weather\nday,sun\n", {}, r"side\.csv: no column names the images\. Columns found: \['lighting', 'weather'\]\. Name it with `key_column=`"),
    ("file_name,lighting\n", {"key_column": "key"}, r"`key_column` names 'key', which is not a column"),
    ("", {}, r"side\.csv: the file is empty"),
]


@pytest.mark.parametrize("content, options, match", ERRORS)
def test_errors(tmp_path, base, content, options, match):
    with pytest.raises(LoadError, match=match) as info:
        join_conditions(base, write(tmp_path, "side.csv", content), **options)
    assert info.value.file == str(tmp_path / "side.csv")


def test_unreadable_sidecar(tmp_path, base):
    with pytest.raises(LoadError, match=r"missing\.csv: no such file"):
        join_conditions(base, tmp_path / "missing.csv")
    with pytest.raises(LoadError, match=r"bad\.parquet: not a readable Parquet file"):
        join_conditions(base, write(tmp_path, "bad.parquet", b"PAR1 garbage"))


def test_match_by_source_id(tmp_path):
    from imbal_core.dataset import build_dataset

    dataset = build_dataset(
        images={"source_id": ["101", "102", "103"], "file_name": ["x/a.jpg", "y/a.jpg", "b.jpg"]},
        annotations={"image": [0, 1, 2], "category": [0, 0, 0]}, categories={"name": ["cat"]},
        task="classification", format="coco", sources=["c.json"])
    content = "image_id,lighting\n101,day\n102,night\na.jpg,dusk\nb.jpg,day\n"
    joined = join_conditions(dataset, write(tmp_path, "side.csv", content))
    assert column(joined, "lighting") == ["day", "night", "day"]
    rows = [(r.code, r.record.rsplit(":", 1)[-1]) for r in joined.report]
    # a.jpg names two files (x/a.jpg, y/a.jpg): no rule picks one
    assert rows == [("sidecar_unmatched", "4"), ("sidecar_matched", "")]
    assert joined.report.rows[-1].problem == "3 of 4 rows matched images (1 by file name, 2 by source id); 1 matched none"


KEY = st.sampled_from(["imgs/a.jpg", "a.jpg", "imgs/b.jpg", "c.jpg", "x.jpg", "", " c.jpg "])


def _model(rows: list[tuple[str, str]]) -> tuple[list, int, int, int]:
    """What the sidecar rules say for BASE: lighting per image, unmatched / duplicate / joined rows."""
    names = ["imgs/a.jpg", "imgs/b.jpg", "c.jpg"]
    lighting: list = [None, None, None]
    taken, seen = set(), set()
    unmatched = duplicate = joined = 0
    for key, value in rows:
        key = key.strip()
        if not key and not value:
            continue  # a blank row is not a record
        if not key:
            unmatched += 1
            continue
        if key in seen:
            duplicate += 1
            continue
        seen.add(key)
        hits = [i for i, n in enumerate(names) if n == key] or [i for i, n in enumerate(names) if n.split("/")[-1] == key.split("/")[-1]]
        if not hits:
            unmatched += 1
        elif hits[0] in taken:
            duplicate += 1
        else:
            taken.add(hits[0])
            lighting[hits[0]] = value or None
            joined += 1
    return lighting, unmatched, duplicate, 3 - len(taken)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(KEY, st.sampled_from(["day", "night", ""])), max_size=8))
def test_every_row_and_image_is_accounted_for(tmp_path, base, rows):
    content = "file_name,lighting\n" + "".join(f"{k},{v}\n" for k, v in rows)
    joined = join_conditions(base, write(tmp_path, "side.csv", content))
    new = joined.report.rows[len(base.report):]
    lighting, unmatched, duplicate, without_row = _model(rows)
    count = {c: sum(1 for r in new if r.code == c) for c in ("sidecar_unmatched", "duplicate_key", "no_sidecar_row")}
    assert count == {"sidecar_unmatched": unmatched, "duplicate_key": duplicate, "no_sidecar_row": without_row}
    if "lighting" in joined.conditions:
        assert column(joined, "lighting") == lighting
    else:
        assert all(v is None for v in lighting)
    validate(joined.images, joined.annotations, joined.categories)
