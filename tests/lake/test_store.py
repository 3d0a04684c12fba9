"""The lake store: exports and tables into a lake, read back equal; merging by name; no-ops; bad lakes."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imbal_core.dataset import build_dataset
from imbal_core.io import load
from imbal_core.lake import LakeError, add, add_dataset, info, open_lake, register_table
from imbal_core.samples import SAMPLES

from .lake_helpers import (SAMPLE_DATA, assert_source_equals, lake_class_names, manifest, snapshot,
                           source_tables)

# Every real export of ../shared/realdata that imbal reads, as one dataset each (format sniffed).
REAL_EXPORTS = [
    "coco_val2014_100/instances_val2014_100.json", "taco/annotations.json", "lvis_val_100/lvis_val_100.json",
    "bccd_voc", "garbage_yolo", "exdark/imageclasslist.txt", "labelstudio/test_export_yolo_data.json",
    "labelstudio/test_export_yolo_data_polygons.json", "places_lt", "cvat", "labelme", "open_images/v6",
    "open_images/v5", "kitti", "mot", "darknet_yolo", "bdd100k",
]


def added(lake: Path, paths, **kw):
    """Add, and the dataset the add read (parsed again, without the cache, as the reference)."""
    result = add(lake, paths, **kw)
    dataset = load(paths, format=kw.get("format") or "auto", cache=False)
    return result, dataset


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample_reads_back(tmp_path, name):
    sample = SAMPLES[name]
    result, dataset = added(tmp_path / "lake", sample.files(), format=sample.format)
    assert result.added and result.source.content_hash == load(sample.files(), format=sample.format).key
    assert_source_equals(tmp_path / "lake", result.source.id, dataset)
    assert lake_class_names(tmp_path / "lake") == dataset.class_names  # the first source: its ids, its order


@pytest.mark.realdata
@pytest.mark.parametrize("relative", REAL_EXPORTS)
def test_every_real_export_reads_back(realdata, tmp_path, relative):
    result, dataset = added(tmp_path / "lake", [realdata / relative])
    assert result.added
    assert_source_equals(tmp_path / "lake", result.source.id, dataset)


@pytest.mark.realdata
def test_all_real_exports_in_one_lake(realdata, tmp_path):
    lake = tmp_path / "lake"
    datasets = {}
    for relative in REAL_EXPORTS:
        result, datasets[result_id(result)] = added(lake, [realdata / relative])
    doc = info(lake)
    assert len(doc.sources) == len(REAL_EXPORTS)
    assert doc.images == sum(d.num_images for d in datasets.values())
    assert doc.annotations == sum(d.num_annotations for d in datasets.values())
    union = list(dict.fromkeys(n for d in datasets.values() for n in d.class_names))
    assert list(doc.classes) == union
    assert list(doc.conditions) == list(dict.fromkeys(c for d in datasets.values() for c in d.conditions))
    for source_id, dataset in datasets.items():
        assert_source_equals(lake, source_id, dataset)


def result_id(result) -> str:
    return result.source.id


def test_street_daily_exports_merge_by_name(tmp_path):
    """Ten daily exports of one project: ten sources, one set of classes."""
    lake = tmp_path / "lake"
    days = sorted((SAMPLE_DATA / "street_daily").glob("day*.json"))
    for day in days:
        result, dataset = added(lake, [day])
        assert_source_equals(lake, result.source.id, dataset)
    assert len(manifest(lake)["sources"]) == len(days)
    assert sorted(lake_class_names(lake)) == sorted(load(days[-1]).class_names)


def tiny(names, conditions, image_values, annotations, pixels=None):
    """A dataset built in memory: ``image_values`` {column: values per image}; ``annotations`` (image, class position)."""
    n = len(next(iter(image_values.values())))
    images = {"file_name": [f"{i}.jpg" for i in range(n)], **image_values}
    return build_dataset(
        images=images, categories={"name": names},
        annotations={"image": [a[0] for a in annotations], "category": [a[1] for a in annotations],
                     "pixels": pixels},
        task="segmentation" if pixels else "detection", format="test", sources=["memory"], conditions=conditions)


def test_overlapping_class_names_merge_by_name_and_missing_conditions_are_null(tmp_path):
    lake = tmp_path / "lake"
    a = tiny(["car", "person"], ["time_of_day"], {"split": ["train", "val"], "time_of_day": ["day", "night"]},
             [(0, 0), (0, 1), (1, 1)])
    b = tiny(["person", "bike", "car"], ["weather"], {"split": ["train", "train", "test"], "weather": ["rain", "fog", None]},
             [(0, 0), (1, 1), (2, 2), (2, 0)], pixels=[5.0, None, 7.0, 1.0])
    ra, rb = add_dataset(lake, a), add_dataset(lake, b)
    assert rb.new_classes == ("bike",)
    assert lake_class_names(lake) == ["car", "person", "bike"]
    _, anns_b = source_tables(lake, rb.source.id)
    assert anns_b.column("category_id").to_pylist() == [1, 2, 0, 1]  # person, bike, car, person: lake ids by name
    for result, dataset in ((ra, a), (rb, b)):
        assert_source_equals(lake, result.source.id, dataset)
    assert manifest(lake)["conditions"] == ["time_of_day", "weather"]
    rows = duckdb.sql(
        f"SELECT source, image_id, time_of_day, weather FROM read_parquet('{lake}/images/*/*.parquet', "
        "hive_partitioning = true, union_by_name = true, hive_types = {'source': 'VARCHAR'}) ORDER BY source, image_id"
    ).fetchall()
    by_source = {ra.source.id: [(0, "day", None), (1, "night", None)],
                 rb.source.id: [(0, None, "rain"), (1, None, "fog"), (2, None, None)]}
    assert rows == sorted((s, *r) for s, values in by_source.items() for r in values)


def test_the_same_content_twice_is_a_no_op(tmp_path):
    lake, street = tmp_path / "lake", SAMPLE_DATA / "street" / "annotations.json"
    first = add(lake, [street])
    before = snapshot(lake)
    copy = tmp_path / "elsewhere.json"
    shutil.copyfile(street, copy)  # other path, same bytes: the same content
    for again in (add(lake, [street]), add(lake, [copy])):
        assert not again.added and again.source == first.source
        assert "nothing to do" in again.message
    assert snapshot(lake) == before


def test_known_content_is_recognised_before_parsing_with_or_without_the_cache(tmp_path, monkeypatch):
    import imbal_core.io

    lake, lanes = tmp_path / "lake", SAMPLE_DATA / "lanes" / "annotations.json"
    first = add(lake, [lanes], cache=False)
    assert first.added and first.source.content_hash == load(lanes).key  # the parse cache's key, even uncached

    def no_parse(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(imbal_core.io, "load", no_parse)
    assert not add(lake, [lanes]).added and not add(lake, [lanes], cache=False).added


def test_a_different_conditions_file_is_other_content(tmp_path):
    lake, csv = tmp_path / "lake", SAMPLE_DATA / "surface" / "labels.csv"
    sidecar = tmp_path / "cameras.csv"
    names = load(csv).images.column("file_name").to_pylist()
    sidecar.write_text("file_name,camera\n" + "".join(f"{n},cam{i % 3}\n" for i, n in enumerate(names)))
    plain, with_camera = add(lake, [csv]), add(lake, [csv], conditions=sidecar)
    assert with_camera.added and with_camera.source.id != plain.source.id
    assert with_camera.source.conditions == ("lighting", "camera")
    assert manifest(lake)["conditions"] == ["lighting", "camera"]


# --------------------------------------------------------------------------- registered tables


def write_table(folder: Path) -> list[dict]:
    """Two Parquet files of one annotation table, in the user's own column names."""
    rows = [
        {"frame_id": 10, "label": "Person", "subset": "train", "tod": "day", "px": 3.0},
        {"frame_id": 10, "label": "truck", "subset": "train", "tod": "day", "px": None},
        {"frame_id": 11, "label": None, "subset": "val", "tod": "night", "px": None},   # an image without annotations
        {"frame_id": 12, "label": "zebra", "subset": "val", "tod": "night", "px": 2.5},
        {"frame_id": 12, "label": "Person", "subset": "val", "tod": "night", "px": 1.0},
    ]
    folder.mkdir()
    for part, chunk in enumerate((rows[:2], rows[2:])):
        pq.write_table(pa.Table.from_pylist(chunk, schema=pa.schema(
            [("frame_id", pa.int64()), ("label", pa.string()), ("subset", pa.string()), ("tod", pa.string()),
             ("px", pa.float64())])), folder / f"part{part}.parquet")
    return rows


MAPPING = "image_id=frame_id,category=label,split=subset,time_of_day=tod,pixels=px"


def test_a_registered_table_reads_back_through_its_mapping(tmp_path):
    lake, table = tmp_path / "lake", tmp_path / "table"
    rows = write_table(table)
    add(lake, [SAMPLE_DATA / "street" / "annotations.json"])  # declares Person, not truck or zebra
    classes_before = lake_class_names(lake)
    result = register_table(lake, str(table / "*.parquet"), MAPPING)
    entry = manifest(lake)["sources"][-1]
    assert result.added and entry["kind"] == "registered" and entry["format"] == "parquet"
    assert entry["table"] == {"glob": str(table.resolve() / "*.parquet"),
                              "map": {"image_id": "frame_id", "category": "label", "split": "subset",
                                      "time_of_day": "tod", "pixels": "px"}}
    assert (entry["images"], entry["annotations"]) == (len({r["frame_id"] for r in rows}), sum(r["label"] is not None for r in rows))
    assert entry["conditions"] == ["time_of_day"]
    assert lake_class_names(lake) == classes_before + ["truck", "zebra"]  # new names appended, Person merged
    assert result.new_classes == ("truck", "zebra")
    assert not (lake / "images" / f"source={entry['id']}").exists()  # no row copied
    # read back through the recorded glob and map: the user's rows under the lake's names
    select = ", ".join(f'"{column}" AS "{key}"' for key, column in entry["table"]["map"].items())
    got = duckdb.sql(f"SELECT {select} FROM read_parquet('{entry['table']['glob']}') ORDER BY image_id, category NULLS FIRST").fetchall()
    want = sorted(((r["frame_id"], r["label"], r["subset"], r["tod"], r["px"]) for r in rows),
                  key=lambda r: (r[0], r[1] is not None, r[1] or ""))
    assert got == want
    before = snapshot(lake)
    assert not register_table(lake, str(table / "*.parquet"), MAPPING).added  # the same files again: a no-op
    assert snapshot(lake) == before


@pytest.mark.parametrize("mapping, match", [
    ("image_id=frame_id,category=labels", r"names column 'labels' for `category`, but the table .* has no such column"),
    ("image_id=frame_id", r"`map` must name the table's column for `category`"),
    ("image_id=label,category=label", r"'label' \(for `image_id`\) must hold integers. Got string"),
    ("image_id=frame_id,category=label,pixels=tod", r"'tod' \(for `pixels`\) must hold numbers"),
    ("image_id=frame_id,category=label,Time Of Day=tod", r"key 'Time Of Day' is neither a lake column"),
    ("image_id=frame_id,category=label,source=tod", r"key 'source' is neither a lake column"),
    ("image_id=frame_id,category", r"`map` entries must be KEY=COLUMN"),
])
def test_a_bad_mapping_is_refused_and_nothing_is_written(tmp_path, mapping, match):
    lake, table = tmp_path / "lake", tmp_path / "table"
    write_table(table)
    add(lake, [SAMPLE_DATA / "lanes" / "annotations.json"])
    before = snapshot(lake)
    with pytest.raises(LakeError, match=match):
        register_table(lake, str(table / "*.parquet"), mapping)
    assert snapshot(lake) == before


def test_a_registered_table_that_disappears_makes_the_lake_unusable(tmp_path):
    lake, table = tmp_path / "lake", tmp_path / "table"
    write_table(table)
    register_table(lake, table, MAPPING)  # a folder: every Parquet file below it
    assert manifest(lake)["sources"][0]["table"]["glob"] == str(table.resolve() / "**" / "*.parquet")
    shutil.rmtree(table)
    with pytest.raises(LakeError, match="the registered table of source .* matches no file any more"):
        info(lake)


# --------------------------------------------------------------------------- bad lakes


def street_lake(tmp_path: Path) -> tuple[Path, str]:
    lake = tmp_path / "lake"
    return lake, add(lake, [SAMPLE_DATA / "street" / "annotations.json"]).source.id


def _missing_part(lake, sid):
    (lake / "annotations" / f"source={sid}" / "part-0.parquet").unlink()


def _truncated_part(lake, sid):
    path = lake / "images" / f"source={sid}" / "part-0.parquet"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage_categories(lake, sid):
    (lake / "categories.parquet").write_bytes(b"not parquet at all")


def _missing_categories(lake, sid):
    (lake / "categories.parquet").unlink()


def _newer_manifest(lake, sid):
    doc = manifest(lake)
    doc["imbal_lake"] = 2
    (lake / "manifest.json").write_text(json.dumps(doc))


def _broken_manifest(lake, sid):
    (lake / "manifest.json").write_text('{"imbal_lake": 1, "sources": [')


def _extra_part(lake, sid):
    shutil.copyfile(lake / "images" / f"source={sid}" / "part-0.parquet", lake / "images" / f"source={sid}" / "part-1.parquet")


BREAKERS = [
    pytest.param(_missing_part, r"part-0.parquet: missing|has no annotations Parquet file", id="missing part"),
    pytest.param(_truncated_part, r"part-0.parquet: not a readable Parquet file", id="truncated part"),
    pytest.param(_garbage_categories, r"categories.parquet: not a readable Parquet file", id="corrupt categories"),
    pytest.param(_missing_categories, r"categories.parquet: missing", id="missing categories"),
    pytest.param(_newer_manifest, r"format version 2, newer than this imbal reads \(up to 1\)", id="newer version"),
    pytest.param(_broken_manifest, r"manifest.json: the lake manifest cannot be read", id="broken manifest"),
    pytest.param(_extra_part, r"holds 6,010 images rows; the manifest says .* 3,005", id="extra part"),
]


@pytest.mark.parametrize("breaker, match", BREAKERS)
def test_a_damaged_lake_is_refused_and_nothing_is_written(tmp_path, breaker, match):
    lake, sid = street_lake(tmp_path)
    breaker(lake, sid)
    before = snapshot(lake)
    with pytest.raises(LakeError, match=match):
        info(lake)
    with pytest.raises(LakeError, match=match):
        add(lake, [SAMPLE_DATA / "lanes" / "annotations.json"])
    assert snapshot(lake) == before


@pytest.mark.parametrize("make, match", [
    (lambda p: (p.mkdir(), (p / "notes.txt").write_text("mine")), r"not a lake: it has no manifest.json and holds other files \(e.g. 'notes.txt'\)"),
    (lambda p: p.write_text("a file"), r"not a lake: it is a file, not a folder"),
])
def test_a_path_that_is_not_a_lake_is_refused(tmp_path, make, match):
    path = tmp_path / "lake"
    make(path)
    before = snapshot(tmp_path)
    with pytest.raises(LakeError, match=match):
        add(path, [SAMPLE_DATA / "lanes" / "annotations.json"])
    assert snapshot(tmp_path) == before
    with pytest.raises(LakeError, match="not a lake"):
        info(tmp_path / "nowhere")


def test_a_condition_named_like_a_lake_column_is_refused(tmp_path):
    dataset = tiny(["car"], ["source"], {"source": ["a"]}, [(0, 0)])
    with pytest.raises(LakeError, match="condition `source` has the name of a lake column"):
        add_dataset(tmp_path / "lake", dataset)
    assert not (tmp_path / "lake").exists()


def test_uncommitted_category_rows_are_ignored_then_replaced(tmp_path):
    """What an add killed between the categories and the manifest leaves: rows past `classes`."""
    lake, _ = street_lake(tmp_path)
    table = pq.read_table(lake / "categories.parquet")
    ghost = pa.table({"category_id": pa.array([table.num_rows], pa.int64()), "name": ["ghost"],
                      "supercategory": pa.nulls(1, pa.string()), "critical": [False]})
    pq.write_table(pa.concat_tables([table, ghost]), lake / "categories.parquet")
    assert "ghost" not in info(lake).classes and len(info(lake).classes) == table.num_rows
    result = add(lake, [SAMPLE_DATA / "lanes" / "annotations.json"])
    names = pq.read_table(lake / "categories.parquet").column("name").to_pylist()
    assert "ghost" not in names and len(names) == manifest(lake)["classes"]
    assert_source_equals(lake, result.source.id, load(SAMPLE_DATA / "lanes" / "annotations.json"))


# --------------------------------------------------------------------------- property


NAMES = ["car", "person", "bike", "Ünïcode", "a,b", "dog"]


@st.composite
def datasets(draw):
    n_images = draw(st.integers(1, 6))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    conditions = draw(st.lists(st.sampled_from(["time_of_day", "weather"]), unique=True, max_size=2))
    values = st.sampled_from(["day", "night", "rain", None])
    columns = {"split": draw(st.lists(st.sampled_from(["train", "val", "test", "holdout", None]),
                                      min_size=n_images, max_size=n_images)),
               "group": draw(st.lists(st.sampled_from(["g1", "g2", None]), min_size=n_images, max_size=n_images))}
    for c in conditions:
        columns[c] = draw(st.lists(values, min_size=n_images, max_size=n_images))
    pairs = draw(st.lists(st.tuples(st.integers(0, n_images - 1), st.integers(0, len(names) - 1)), max_size=12))
    pixels = draw(st.one_of(st.none(), st.lists(st.one_of(st.none(), st.floats(0, 1e6)), min_size=len(pairs), max_size=len(pairs))))
    return tiny(names, conditions, columns, pairs, pixels=pixels if pairs else None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=datasets(), second=datasets())
def test_random_datasets_read_back_equal(first, second):
    with tempfile.TemporaryDirectory() as folder:
        lake = Path(folder) / "lake"
        one, two = add_dataset(lake, first), add_dataset(lake, second)
        assert two.added == (two.source.content_hash != one.source.content_hash)
        assert_source_equals(lake, one.source.id, first)
        assert_source_equals(lake, two.source.id, second)
        assert lake_class_names(lake) == list(dict.fromkeys(first.class_names + second.class_names))
        ids = list(dict.fromkeys([one.source.id, two.source.id]))
        assert open_lake(lake).files("images") == [lake / "images" / f"source={i}" / "part-0.parquet" for i in ids]


def test_a_new_lake_in_an_existing_empty_folder(tmp_path):
    (tmp_path / "lake").mkdir()
    lanes = SAMPLE_DATA / "lanes" / "annotations.json"
    result = add(tmp_path / "lake", [lanes])
    assert info(tmp_path / "lake").sources == (result.source,)
    assert info(tmp_path / "lake").images == load(lanes).num_images
    assert os.path.exists(tmp_path / "lake" / ".lock")
