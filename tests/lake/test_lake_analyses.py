"""The analyses on a lake (imbal_core.lake.dataset.LakeDataset) give the numbers they give on the export:
summary, the health checklist, strata findings, split health, the class-level plan, the hierarchy and its
what-if, the long tail — on every sample, every real export, a lake of several sources, and on Spark.

The reference is always the in-memory Dataset the lake was built from. Only the fields that name the
input differ (``sources``, ``format``, the plan's ``dataset`` / ``format``) and the load report, which a
lake does not keep; pixel sums are compared up to the order of addition (the engine adds in parallel).
"""
from __future__ import annotations

import json
import math

import pytest

from imbal_core.cli import main
from imbal_core.cube import RowsUnavailable, cube, image_counts, is_count_source
from imbal_core.downloads import json_bytes
from imbal_core.health import check
from imbal_core.hierarchy import from_supercategories, parent_images, suggest_merges, what_if
from imbal_core.lake import LakeError
from imbal_core.lake import engine as lake_engine
from imbal_core.lake import rows as lake_rows
from imbal_core.lake import spark as lake_spark
from imbal_core.lake.dataset import LakeDataset
from imbal_core.longtail import long_tail, pixel_source, subset_choices
from imbal_core.plan import default_split, default_strategy, fit_weights, incidence, make_spec, plan_for_dataset
from imbal_core.samples import SAMPLES
from imbal_core.splits import check_splits
from imbal_core.strata import hidden_subgroups
from imbal_core.summary import summarize

from .engine_helpers import REAL_EXPORTS, combined, lake_of, real, sample
from .test_engine import tiny

#: Fields of the summary that name the input, or hold the load report (not kept in a lake).
SUMMARY_SOURCE_FIELDS = ("sources", "format", "report")


def plain(obj):
    """``obj`` as the JSON the CLI prints (NaN -> null, tuples -> lists)."""
    return json.loads(json_bytes(obj))


def assert_same(got, want, where: str = "") -> None:
    """Equal JSON values; floats equal up to 1e-9 relative (pixel sums added in another order)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), f"{where}: keys {list(got)} != {list(want)}"
        for k in want:
            assert_same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: {len(got)} items != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(got, bool) and isinstance(got, (int, float)):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), f"{where}: {got} != {want}"
    else:
        assert got == want and type(got) is type(want), f"{where}: {got!r} != {want!r}"


def without(doc: dict, *keys: str) -> dict:
    return {k: v for k, v in doc.items() if k not in keys}


def plan_doc(dataset, reference) -> dict:
    """The class-level plan of the reference's default strategy and split, without the input's names."""
    plan = plan_for_dataset(dataset, make_spec(default_strategy(reference)), default_split(reference))
    return plain({**plan.to_dict(), "source": without(plan.source.to_dict(), "dataset", "format")})


def merges_of(reference) -> dict[str, str]:
    """Two merges of classes with data into the largest class (to exercise the what-if everywhere)."""
    totals = cube(reference, ()).sort_by([("instances", "descending"), ("class", "ascending")]).column("class").to_pylist()
    return {c: totals[0] for c in totals[1:3]}


def assert_analyses_equal(lake_dataset: LakeDataset, reference, where: str) -> None:
    """Every count-level analysis of the lake equals that of the reference Dataset."""
    assert is_count_source(lake_dataset) and not is_count_source(reference)
    got, want = plain(summarize(lake_dataset).to_dict()), plain(summarize(reference).to_dict())
    assert got["format"] == "lake" and got["report"] == []
    assert_same(without(got, *SUMMARY_SOURCE_FIELDS), without(want, *SUMMARY_SOURCE_FIELDS), f"{where} summary")
    assert_same(plain(check(lake_dataset).to_dict()), plain(check(reference).to_dict()), f"{where} check")
    assert_same(plain(check_splits(lake_dataset).to_dict()), plain(check_splits(reference).to_dict()), f"{where} splits")
    for condition in reference.conditions[:2]:
        assert_same(plain(hidden_subgroups(lake_dataset, condition).to_dict()),
                    plain(hidden_subgroups(reference, condition).to_dict()), f"{where} strata {condition}")
    assert subset_choices(lake_dataset) == subset_choices(reference), where
    if reference.num_annotations:
        assert_same(plan_doc(lake_dataset, reference), plan_doc(reference, reference), f"{where} plan")
    hierarchy = from_supercategories(reference)
    assert_same(plain(suggest_merges(lake_dataset, hierarchy).to_dict()),
                plain(suggest_merges(reference, hierarchy).to_dict()), f"{where} hierarchy")
    # a lake keeps no boxes: box-only data has no pixel unit there (masks count the same)
    source = pixel_source(reference)
    assert pixel_source(lake_dataset) == ("none" if source == "boxes" else source), where
    want_tail = plain(long_tail(reference).to_dict())
    if source == "boxes":
        want_tail["pixel_source"] = "none"
    assert_same(plain(long_tail(lake_dataset).to_dict()), want_tail, f"{where} long tail")


@pytest.fixture(scope="module")
def lakes(tmp_path_factory):
    """The lake dataset of an in-memory dataset (built once per dataset for the module)."""
    made: dict[int, LakeDataset] = {}

    def make(dataset, **options) -> LakeDataset:
        if id(dataset) not in made:
            folder = tmp_path_factory.mktemp("lake")
            lake_of(folder / "lake", dataset)
            made[id(dataset)] = folder / "lake"
        return LakeDataset.open(made[id(dataset)], **options)

    return make


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample(lakes, name):
    dataset = sample(name)
    assert_analyses_equal(lakes(dataset), dataset, name)


@pytest.mark.realdata
@pytest.mark.parametrize("relative", REAL_EXPORTS)
def test_every_real_export(realdata, lakes, relative):
    dataset = real(relative)
    assert_analyses_equal(lakes(dataset), dataset, relative)


def test_a_lake_of_several_sources_counts_as_their_union(tmp_path):
    """Classes merged by name, conditions null where a source lacks them, images kept apart by source,
    a group shared by two sources' splits found as a leak: against the same data in one Dataset."""
    a = tiny(["car", "person"], ["time_of_day"],
             {"split": ["train", "val", "train"], "time_of_day": ["day", "night", None], "group": ["g1", "g1", "g2"]},
             [(0, 0), (0, 1), (1, 1), (1, 1), (2, 0)], name="a")
    b = tiny(["person", "bike", "car"], ["weather"],
             {"split": ["train", "train", "test"], "weather": ["rain", "fog", None], "group": ["g3", "g2", "g2"]},
             [(0, 0), (1, 1), (2, 2), (2, 0), (0, 2)], pixels=[5.0, None, 7.0, 1.0, None], name="b")
    lake, _ = lake_of(tmp_path / "lake", a, b)
    reference = combined([a, b])
    lake_dataset = LakeDataset.open(lake)
    assert_analyses_equal(lake_dataset, reference, "two sources")
    assert check_splits(lake_dataset).leaks.column("group").to_pylist() == ["g2", "g1"]
    for dims in [(), ("split",), ("time_of_day",), ("split", "weather"), ("group",)]:
        assert image_counts(lake_dataset, dims).equals(image_counts(reference, dims)), dims


@pytest.mark.parametrize("name", ["street", "lanes"])
def test_per_image_rows_and_merges_equal_the_export(lakes, name):
    """The per-image tables (plan weights, parent images) and a merge what-if, from the lake."""
    dataset = sample(name)
    lake_dataset = lakes(dataset)
    assert lake_dataset.image_classes.equals(dataset.image_classes)
    for column in ("split", "group", "file_name", *dataset.conditions):
        assert lake_dataset.images.column(column).to_pylist() == dataset.images.column(column).to_pylist(), column
    split = default_split(dataset)
    plan = plan_for_dataset(dataset, make_spec("sqrt"), split)
    got, want = fit_weights(incidence(lake_dataset, split), plan), fit_weights(incidence(dataset, split), plan)
    assert got.weights.tolist() == want.weights.tolist() and got.image_ids.tolist() == want.image_ids.tolist()
    hierarchy = from_supercategories(dataset)
    assert parent_images(lake_dataset, hierarchy) == parent_images(dataset, hierarchy)
    merges = merges_of(dataset)
    for unit in ("instances", "images"):  # images: an image holding two merged classes counts once
        assert_same(plain(what_if(lake_dataset, merges, unit).to_dict()), plain(what_if(dataset, merges, unit).to_dict()),
                    f"{name} what-if {unit}")


def test_per_image_rows_that_do_not_fit_the_memory_limit_are_refused_with_the_numbers(lakes, monkeypatch):
    dataset = sample("street")
    lake_dataset = lakes(dataset, memory="100MB")
    pairs = dataset.image_classes.num_rows
    monkeypatch.setattr(lake_rows, "PAIR_BYTES", 10**9 // pairs + 1)  # as if each pair took 1 GB / pairs bytes
    with pytest.raises(RowsUnavailable, match=rf"`memory`='100MB': {pairs:,} \(image, class\) pairs need about "
                                              r"1\.0 GB in memory \(100\.0 MB allowed\)"):
        lake_dataset.image_classes
    monkeypatch.setattr(lake_rows, "IMAGE_BYTES", 10**9 // dataset.num_images + 1)
    with pytest.raises(RowsUnavailable, match=rf"{dataset.num_images:,} images need about 1\.\d GB"):
        lake_dataset.images
    # the class-level analyses need neither
    assert_same(plan_doc(lake_dataset, dataset), plan_doc(dataset, dataset), "plan without rows")


def test_the_annotation_rows_are_not_in_a_lake(lakes):
    lake_dataset = lakes(sample("street"))
    with pytest.raises(RowsUnavailable, match=r"^Reading the annotation rows \(boxes, masks, ids\) is not available on "
                                              r"the lake at .*: it needs the export's rows.* Run it on the export itself"):
        lake_dataset.annotations


def test_cubes_are_kept_and_smaller_ones_summed_from_them(lakes, monkeypatch):
    dataset = sample("street")
    lake_dataset = lakes(dataset)
    asked = []
    original = lake_engine.cube
    monkeypatch.setattr(lake_engine, "cube", lambda lake, dims, **kw: asked.append(tuple(dims)) or original(lake, dims, **kw))
    wide = ("split", *dataset.conditions)
    assert cube(lake_dataset, wide).equals(cube(dataset, wide))
    for dims in [(), ("split",), ("time_of_day",), ("weather", "split"), ("split", "camera")]:
        assert cube(lake_dataset, dims).equals(cube(dataset, dims)), dims
    assert cube(lake_dataset, ("group",)).equals(cube(dataset, ("group",)))
    assert asked == [wide, ("split", "group")]  # one query for all the cubes over split and conditions


def test_prepare_reports_progress_up_to_done(lakes):
    lake_dataset = lakes(sample("street"))
    seen = []
    lake_dataset.prepare(lambda fraction, text: seen.append((fraction, text)))
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert any("count cube by split, time_of_day, weather, camera" in t for _, t in seen)


@pytest.mark.parametrize(("options", "error", "match"), [
    ({"engine": "polars"}, LakeError, r"`engine` must be one of \['duckdb', 'spark'\]. Got 'polars'"),
    ({"memory": "lots"}, LakeError, r"`memory` must be a size such as 500MB, 1GB or 2GiB. Got 'lots'"),
])
def test_bad_settings_are_refused(lakes, options, error, match):
    with pytest.raises(error, match=match):
        lakes(sample("street"), **options)


def test_spark_gives_the_same_cubes_and_analyses(lakes, capsys):
    """One SparkSession for the module (starting the JVM costs half a minute, each cube query tens of
    seconds on two cores): the cube over every dim, the image counts, the summary and split health from
    Spark equal the in-memory ones and DuckDB's, on two samples; and `imbal summary --engine spark`."""
    lake_spark.session("local[2]", "1GB")
    try:
        for name in ("street", "lanes"):
            dataset = sample(name)
            on_spark, on_duckdb = lakes(dataset, engine="spark"), lakes(dataset)
            # the widest cube first (one Spark query); the others are summed from it
            for dims in [("split", "group", *dataset.conditions), ("split",), ()]:
                got, want = cube(on_spark, dims), cube(dataset, dims)
                assert got.drop_columns(["pixels"]).equals(want.drop_columns(["pixels"])), (name, dims)
                assert_same(got.column("pixels").to_pylist(), want.column("pixels").to_pylist(), f"{name} {dims}")
                assert image_counts(on_spark, dims).equals(image_counts(dataset, dims)), (name, dims)
            assert_same(plain(summarize(on_spark).to_dict()), plain(summarize(on_duckdb).to_dict()), f"{name} summary")
            assert_same(plain(check_splits(on_spark).to_dict()), plain(check_splits(dataset).to_dict()), f"{name} splits")
        path = on_duckdb.path
        assert main(["summary", str(path), "--engine", "spark", "--master", "local[2]", "--json"]) == 0
        spark_out = json.loads(capsys.readouterr().out)
        assert main(["summary", str(path), "--json"]) == 0
        assert_same(spark_out, json.loads(capsys.readouterr().out), "cli --engine spark")
    finally:
        lake_spark.stop()


def test_an_empty_split_table_and_no_annotations(tmp_path):
    """A lake whose only source has images but no annotation: zeros everywhere, as in memory."""
    dataset = tiny(["car"], [], {"split": ["train", "val"]}, [], name="empty")
    lake, _ = lake_of(tmp_path / "lake", dataset)
    lake_dataset = LakeDataset.open(lake)
    got = plain(summarize(lake_dataset).to_dict())
    assert_same(without(got, *SUMMARY_SOURCE_FIELDS), without(plain(summarize(dataset).to_dict()), *SUMMARY_SOURCE_FIELDS),
                "empty")
    assert cube(lake_dataset, ("split",)).num_rows == 0
    assert image_counts(lake_dataset, ("split",)).to_pylist() == [{"split": "train", "images": 1},
                                                                  {"split": "val", "images": 1}]
    assert lake_dataset.image_classes.schema == dataset.image_classes.schema and lake_dataset.image_classes.num_rows == 0
    assert math.isnan(check_splits(lake_dataset).label_distribution_error) == math.isnan(
        check_splits(dataset).label_distribution_error)
    assert lake_dataset.images.column("split").to_pylist() == ["train", "val"]
