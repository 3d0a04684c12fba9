"""The lake engine on DuckDB: cube and incidence equal the in-memory ones exactly, on every sample,
every real export, random datasets, lakes of several sources and registered tables."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imbal_core.dataset import build_dataset
from imbal_core.lake import LakeError, add_dataset, cube, incidence, register_table
from imbal_core.samples import SAMPLES

from .engine_helpers import (REAL_EXPORTS, assert_same_cube, assert_same_sums, combined, dims_to_check, incidence_rows, lake_incidence,
                             lake_of, real, reference_incidence, sample)


def check_lake(lake: Path, source: str, dataset) -> None:
    """Every cube of :func:`dims_to_check` and the incidence, against the in-memory references."""
    for dims in dims_to_check(dataset):
        assert_same_cube(cube(lake, dims), dataset, dims, where=str(dataset.sources[:1]))
    image_columns = ("split", "group", *dataset.conditions)
    table = lake_incidence(lake)
    want = reference_incidence(dataset, source, image_columns)
    if table is None:
        assert want == []
        return
    assert table.column_names == ["source", "image_id", "category_id", "class", "instances", "pixels", *image_columns]
    got_rows = sorted(incidence_rows(table, image_columns), key=lambda r: (r[1], r[2]))
    want = sorted(want, key=lambda r: (r[1], r[2]))
    assert [r[:4] + r[5:] for r in got_rows] == [r[:4] + r[5:] for r in want]
    assert_same_sums([r[4] for r in got_rows], [r[4] for r in want], "incidence")
    # ordered image by image, then by class id
    keys = list(zip(table.column("image_id").to_pylist(), table.column("category_id").to_pylist()))
    assert keys == sorted(keys)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample(tmp_path, name):
    dataset = sample(name)
    lake, (source,) = lake_of(tmp_path / "lake", dataset)
    check_lake(lake, source, dataset)


@pytest.mark.realdata
@pytest.mark.parametrize("relative", REAL_EXPORTS)
def test_every_real_export(realdata, tmp_path, relative):
    dataset = real(relative)
    lake, (source,) = lake_of(tmp_path / "lake", dataset)
    check_lake(lake, source, dataset)


@pytest.mark.realdata
def test_many_classes_take_several_bitmask_buckets(realdata, tmp_path):
    """LVIS declares 1,230 classes: ids past 62 fall in later buckets of the per-image class masks."""
    dataset = real("lvis_val_100/lvis_val_100.json")
    used = set(dataset.annotations.column("category_id").to_pylist())
    assert max(used) > 2 * 62  # the buckets past the first are exercised
    lake, _ = lake_of(tmp_path / "lake", dataset)
    assert_same_cube(cube(lake, ("split",)), dataset, ("split",))


# --------------------------------------------------------------------------- several sources


def tiny(names, conditions, image_values, annotations, pixels=None, name="memory"):
    """A dataset built in memory: ``image_values`` {column: one value per image}; ``annotations``
    as (image, class position) pairs."""
    n = len(next(iter(image_values.values())))
    return build_dataset(
        images={"file_name": [f"{name}-{i}.jpg" for i in range(n)], **image_values}, categories={"name": names},
        annotations={"image": [a[0] for a in annotations], "category": [a[1] for a in annotations], "pixels": pixels},
        task="detection", format="test", sources=[name], conditions=conditions, check_boxes=False)


def test_sources_keep_their_images_apart_and_merge_classes_by_name(tmp_path):
    # both sources have images 0 and 1: the same ids, different images
    a = tiny(["car", "person"], ["time_of_day"], {"split": ["train", "val"], "time_of_day": ["day", "night"]},
             [(0, 0), (0, 1), (1, 1), (1, 1)], name="a")
    b = tiny(["person", "bike", "car"], ["weather"], {"split": ["train", "train", "test"], "weather": ["rain", "fog", None]},
             [(0, 0), (1, 1), (2, 2), (2, 0), (0, 2)], pixels=[5.0, None, 7.0, 1.0, None], name="b")
    lake, ids = lake_of(tmp_path / "lake", a, b)
    both = combined([a, b])
    for dims in [(), ("split",), ("time_of_day",), ("weather",), ("split", "time_of_day", "weather")]:
        assert_same_cube(cube(lake, dims), both, dims)
    # person, train: image 0 of a and image 0 of b are two images, not one
    rows = cube(lake, ("split",)).to_pylist()
    assert {"split": "train", "class": "person", "images": 2, "instances": 2, "pixels": 5.0} in rows
    table = lake_incidence(lake)
    assert table.column("source").to_pylist()[:3] == [ids[0]] * 3  # sources in manifest order
    assert set(zip(table.column("source").to_pylist(), table.column("image_id").to_pylist())) == \
        {(ids[0], 0), (ids[0], 1), (ids[1], 0), (ids[1], 1), (ids[1], 2)}
    night = [r for r in incidence_rows(table, ("time_of_day", "weather")) if r[5] == "night"]
    assert night == [(ids[0], 1, "person", 2, None, "night", None)]


def test_samples_together_in_one_lake(tmp_path):
    datasets = [sample("street"), sample("surface"), sample("lanes")]
    lake, _ = lake_of(tmp_path / "lake", *datasets)
    both = combined(datasets)
    for dims in [(), ("split",), *((c,) for c in both.conditions), ("split", *both.conditions)]:
        assert_same_cube(cube(lake, dims), both, dims)


def test_registered_table_reads_as_its_rows_say(tmp_path):
    """A registered table beside a copied source: images are its distinct ids (sparse, large),
    splits spelled its way are imbal's, a row without a class is an image without annotations."""
    frames = [1_000_000_007, 1_000_000_007, 1_000_000_007, 5, 5, 42, 900]
    labels = ["car", "wheelchair", "car", "car", None, "wheelchair", "truck"]
    subsets = ["training", "training", "training", "Valid", "Valid", None, "test"]
    tod = ["night", "night", "night", "day", "day", None, "day"]
    px = [10, None, 30, None, None, 4, 8]
    pq.write_table(pa.table({"frame_id": frames, "label": labels, "subset": subsets, "tod": tod,
                             "px": pa.array(px, pa.int64())}), tmp_path / "rows.parquet")
    copied = tiny(["person", "car"], ["time_of_day"], {"split": ["train", "val"], "time_of_day": ["day", "dusk"]},
                  [(0, 0), (1, 1), (1, 0)], name="copied")
    lake, _ = lake_of(tmp_path / "lake", copied)
    register_table(lake, tmp_path / "rows.parquet", "image_id=frame_id,category=label,split=subset,time_of_day=tod,pixels=px")
    # the same rows as a Dataset: images in the order of their ids, classes by name
    order = sorted(set(frames))
    table_ds = tiny(["car", "wheelchair", "truck"], ["time_of_day"],
                    {"split": ["val", "unassigned", "test", "train"], "time_of_day": ["day", None, "day", "night"]},
                    [(order.index(f), ["car", "wheelchair", "truck"].index(lab)) for f, lab in zip(frames, labels) if lab],
                    pixels=[float(p) if p is not None else None for p, lab in zip(px, labels) if lab], name="rows")
    both = combined([copied, table_ds])
    for dims in [(), ("split",), ("time_of_day",), ("split", "time_of_day"), ("group",)]:
        assert_same_cube(cube(lake, dims), both, dims)
    rows = [r for r in incidence_rows(lake_incidence(lake), ("split",)) if r[1] == 1_000_000_007]
    assert [r[2:] for r in rows] == [("car", 2, 40.0, "train"), ("wheelchair", 1, None, "train")]


# --------------------------------------------------------------------------- random datasets

CONDITION_VALUES = st.sampled_from(["day", "night", "dusk", None])


@st.composite
def datasets(draw):
    n_classes = draw(st.integers(1, 70))  # past 62: a second bitmask bucket
    n_images = draw(st.integers(1, 12))
    conditions = draw(st.lists(st.sampled_from(["time_of_day", "weather"]), unique=True, max_size=2))
    images = {
        "split": draw(st.lists(st.sampled_from(["train", "val", "test", "unassigned"]), min_size=n_images, max_size=n_images)),
        "group": draw(st.lists(st.sampled_from(["g1", "g2", None]), min_size=n_images, max_size=n_images)),
        **{c: draw(st.lists(CONDITION_VALUES, min_size=n_images, max_size=n_images)) for c in conditions},
    }
    pairs = draw(st.lists(st.tuples(st.integers(0, n_images - 1), st.integers(0, n_classes - 1)), max_size=40))
    pixels = None
    if draw(st.booleans()):
        pixels = draw(st.lists(st.one_of(st.none(), st.integers(0, 10_000).map(float)), min_size=len(pairs), max_size=len(pairs)))
    dataset = tiny([f"class {k}" for k in range(n_classes)], conditions, images, pairs, pixels=pixels)
    all_dims = ["split", "group", *conditions]
    dims = draw(st.lists(st.sampled_from(all_dims), unique=True, max_size=len(all_dims)))
    return dataset, tuple(dims)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_random_datasets(case):
    dataset, dims = case
    with tempfile.TemporaryDirectory() as folder:
        lake, _ = lake_of(Path(folder) / "lake", dataset)
        assert_same_cube(cube(lake, dims), dataset, dims)


# --------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def street_lake(tmp_path_factory):
    lake, _ = lake_of(tmp_path_factory.mktemp("engine") / "lake", sample("street"))
    return lake


@pytest.mark.parametrize("kw, error, match", [
    ({"dims": ("split", "nowhere")}, ValueError, r"`dims` may name \['split', 'group'.*Got 'nowhere'"),
    ({"dims": ("split", "split")}, ValueError, r"`dims` must not repeat a name"),
    ({"engine": "polars"}, LakeError, r"`engine` must be one of \['duckdb', 'spark'\]. Got 'polars'"),
    ({"memory": "lots"}, LakeError, r"`memory` must be a size such as 500MB.*Got 'lots'"),
    ({"memory": "1MB"}, LakeError, r"`memory` must be at least 32MB. Got '1MB'"),
])
def test_bad_arguments_are_named(street_lake, kw, error, match):
    with pytest.raises(error, match=match):
        cube(street_lake, **kw)


def test_incidence_columns_are_checked(street_lake):
    with pytest.raises(ValueError, match=r"`columns` may name .*Got 'nowhere'"):
        next(incidence(street_lake, columns=["nowhere"]))
    with pytest.raises(LakeError, match=r"`batch_rows` must be at least 1. Got 0"):
        next(incidence(street_lake, batch_rows=0))


def test_incidence_comes_in_batches_of_the_size_asked(street_lake):
    sizes = [b.num_rows for b in incidence(street_lake, columns=["split"], batch_rows=1000)]
    assert len(sizes) > 2 and max(sizes) <= 1000
    assert sum(sizes) == sample("street").image_classes.num_rows


def test_a_damaged_part_file_is_named(tmp_path):
    lake, (source,) = lake_of(tmp_path / "lake", sample("street"))
    part = next((lake / "annotations" / f"source={source}").glob("*.parquet"))
    part.write_bytes(part.read_bytes()[:200])
    with pytest.raises(LakeError, match=str(part.name)):
        cube(lake, ("split",))


def test_an_empty_lake_gives_an_empty_cube(tmp_path):
    lake, _ = lake_of(tmp_path / "lake", tiny(["car"], [], {"split": ["train"]}, []))
    got = cube(lake, ("split",))
    assert got.num_rows == 0 and got.column_names == ["split", "class", "images", "instances", "pixels"]
    assert lake_incidence(lake) is None


def test_progress_is_reported(street_lake):
    seen = []
    cube(street_lake, ("split", "time_of_day"), progress=seen.append)
    assert seen and seen[-1] == 1.0 and all(0.0 <= p <= 1.0 for p in seen)


def test_any_sql_over_the_views(street_lake):
    """query / stream: the views other code builds on, with extra views of its own."""
    from imbal_core.lake import image_keys, query, stream

    dataset = sample("street")
    assert image_keys(street_lake) == ("image_key",)
    got = query(street_lake, "SELECT COUNT(*) AS n, COUNT(DISTINCT image_key) AS k FROM images").to_pylist()
    assert got == [{"n": dataset.num_images, "k": dataset.num_images}]
    night = {"night_images": "SELECT image_key FROM images WHERE time_of_day = 'night'"}
    sql = "SELECT COUNT(*) AS n FROM annotations AS a JOIN night_images AS i ON a.image_key = i.image_key"
    per_image = dataset.annotations.column("image_id").to_pylist()
    tod = dataset.images.column("time_of_day").to_pylist()
    want = sum(tod[i] == "night" for i in per_image)
    assert query(street_lake, sql, views=night).to_pylist() == [{"n": want}]
    assert sum(b.num_rows for b in stream(street_lake, "SELECT * FROM annotations", batch_rows=5000)) == \
        dataset.num_annotations
