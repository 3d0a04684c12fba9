"""The lake engine on Spark SQL (local[2]): the same SQL text as DuckDB gives the in-memory answers.

One SparkSession (starting the JVM costs seconds, and under pytest-xdist two tests of this module
may run in two processes): the checks that need it run in one test, each a function of its own.
Needs pyspark (requirements.txt installs the `spark` extra) and Java (`make java`)."""
from __future__ import annotations

import pytest

from imbal_core.lake import EngineUnavailable, cube
from imbal_core.lake import spark as lake_spark

from .engine_helpers import (assert_same_cube, assert_same_sums, combined, incidence_rows, lake_incidence, lake_of,
                             real, reference_incidence, sample)
from .test_engine import tiny

SPARK = {"engine": "spark", "master": "local[2]"}


@pytest.mark.realdata
def test_spark_gives_the_in_memory_answers(realdata, tmp_path):
    lake_spark.session("local[2]", "1GB")
    try:
        check_sample_cubes_and_incidence(tmp_path / "sample")
        check_real_exports(tmp_path / "real")
        check_several_sources(tmp_path / "sources")
    finally:
        lake_spark.stop()


def check_sample_cubes_and_incidence(tmp_path):
    dataset = sample("street")
    lake, (source,) = lake_of(tmp_path / "lake", dataset)
    for dims in [(), ("split", "group", *dataset.conditions)]:
        assert_same_cube(cube(lake, dims, **SPARK), dataset, dims, where="spark street")
    image_columns = ("split", "group", *dataset.conditions)
    table = lake_incidence(lake, engine="spark", batch_rows=4000)
    assert table.column_names == ["source", "image_id", "category_id", "class", "instances", "pixels", *image_columns]
    got = sorted(incidence_rows(table, image_columns), key=lambda r: (r[1], r[2]))
    want = sorted(reference_incidence(dataset, source, image_columns), key=lambda r: (r[1], r[2]))
    assert [r[:4] + r[5:] for r in got] == [r[:4] + r[5:] for r in want]
    assert_same_sums([r[4] for r in got], [r[4] for r in want], "spark incidence")
    # the same rows, in the same order, as DuckDB streams them
    assert lake_incidence(lake).to_pylist() == table.to_pylist()


def check_real_exports(tmp_path):
    # exdark: lighting and indoor/outdoor conditions; lvis: 1,230 classes (several bitmask buckets)
    for relative, dims in [("exdark/imageclasslist.txt", None), ("lvis_val_100/lvis_val_100.json", ("split",))]:
        dataset = real(relative)
        lake, _ = lake_of(tmp_path / relative.replace("/", "_"), dataset)
        dims = dims or ("split", *dataset.conditions)
        assert_same_cube(cube(lake, dims, **SPARK), dataset, dims, where=f"spark {relative}")


def check_several_sources(tmp_path):
    a = tiny(["car", "person"], ["time_of_day"], {"split": ["train", "val"], "time_of_day": ["day", "night"]},
             [(0, 0), (0, 1), (1, 1), (1, 1)], name="a")
    b = tiny(["person", "bike", "car"], ["weather"], {"split": ["train", "train", "test"], "weather": ["rain", "fog", None]},
             [(0, 0), (1, 1), (2, 2), (2, 0), (0, 2)], pixels=[5.0, None, 7.0, 1.0, None], name="b")
    # b and lanes carry pixel counts (lanes: masks)
    lake, _ = lake_of(tmp_path / "lake", a, b, sample("lanes"))
    both = combined([a, b, sample("lanes")])
    dims = ("split", *both.conditions)
    assert {"time_of_day", "weather"} <= set(dims)
    got = cube(lake, dims, **SPARK)
    assert_same_cube(got, both, dims, where="spark sources")
    assert got.to_pylist() == cube(lake, dims).to_pylist()


def test_missing_pyspark_or_java_says_how_to_install(tmp_path, monkeypatch):
    lake, _ = lake_of(tmp_path / "lake", tiny(["car"], [], {"split": ["train"]}, [(0, 0)]))
    monkeypatch.setattr(lake_spark, "_session", None)
    monkeypatch.setattr(lake_spark, "_java", lambda: None)
    with pytest.raises(EngineUnavailable, match=r"Java is not installed.*default-jre-headless"):
        cube(lake, ("split",), **SPARK)
    monkeypatch.setitem(__import__("sys").modules, "pyspark.sql", None)
    with pytest.raises(EngineUnavailable, match=r"pyspark is not installed.*pip install 'imbal\[spark\]'"):
        cube(lake, ("split",), **SPARK)
