"""Active-learning selection: uncertainty measures, pools from real prediction files, quota-proportional batches."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import entropy

import imbal_core
from imbal_core.active import Pool, _objects, build_pool, select_batch, uncertainty
from imbal_core.charts.active import condition_mix, uncertainty_histogram
from imbal_core.io.predictions import read_predictions

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"


# --------------------------------------------------------------------------- uncertainty


@pytest.mark.parametrize("p, least, margin", [
    ([1.0, 0.0], 0.0, 0.0),
    ([0.5, 0.5], 0.5, 1.0),
    ([0.7, 0.2, 0.1], 0.3, 0.5),
    ([0.4, 0.4, 0.2], 0.6, 1.0),
])
def test_uncertainty_rules(p, least, margin):
    row = np.array([p])
    assert uncertainty(row, "least-confidence")[0] == pytest.approx(least)
    assert uncertainty(row, "margin")[0] == pytest.approx(margin)
    assert uncertainty(row, "entropy")[0] == pytest.approx(entropy(p) / math.log(len(p)))  # parity with scipy


def test_entropy_is_normalised_by_the_outcomes_given():
    assert uncertainty(np.array([[0.5, 0.5]]), "entropy", outcomes=4)[0] == pytest.approx(math.log(2) / math.log(4))


def test_unknown_rule():
    with pytest.raises(ValueError, match="`rule` must be one of \\['entropy', 'margin', 'least-confidence'\\]"):
        uncertainty(np.array([[1.0]]), "random")


def test_overlapping_boxes_of_two_classes_make_one_uncertain_object():
    boxes = np.array([[10, 10, 50, 100], [12, 11, 50, 98], [300, 300, 20, 20]], dtype=float)
    dist = _objects(boxes, np.array([0.45, 0.40, 0.9]), np.array([0, 1, 0]), n_classes=2, iou=0.5)
    np.testing.assert_allclose(dist, [[0.9, 0.0, 0.1], [0.45, 0.40, 0.15]])  # objects by best score
    # Scores summing past 1 are rescaled: no negative background.
    dist = _objects(boxes[:2], np.array([0.9, 0.8]), np.array([0, 1]), n_classes=2, iou=0.5)
    assert dist[0].sum() == pytest.approx(1.0) and dist[0, 2] == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------- pools from files


@pytest.fixture(scope="module")
def street():
    ds = imbal_core.load(SAMPLES / "street" / "annotations.json")
    preds = read_predictions(SAMPLES / "street" / "predictions.json", ds)
    return ds, preds, build_pool(preds, ds)


def test_street_pool_covers_every_image_with_its_metadata(street):
    ds, preds, pool = street
    assert pool.size == ds.num_images == 3005
    table = pool.table.to_pandas()
    assert (table.loc[table["predictions"] == 0, "uncertainty"] == 0).all()
    # 150 counted from the JSON: 3,005 image ids in annotations.json, 2,855 of them in predictions.json
    assert (table["predictions"] == 0).sum() == preds.coverage.images_without_predictions == 150
    assert table["group"].str.startswith("drive_").all() and set(pool.conditions) == {"time_of_day", "weather", "camera"}
    assert 0 <= table["uncertainty"].min() and table["uncertainty"].max() <= 1
    assert table["classes"].map(len).sum() > 0


def test_night_frames_are_less_certain_for_a_detector_weaker_at_night(street):
    table = street[2].table.to_pandas()
    with_preds = table[table["predictions"] > 0]
    by_time = with_preds.groupby("time_of_day")["uncertainty"].mean()
    assert by_time["night"] > by_time["day"]


def test_a_detection_pool_without_an_export_uses_the_file_labels():
    preds = read_predictions(SAMPLES / "street" / "predictions.json")
    pool = build_pool(preds, rule="margin")
    assert set(pool.class_names) == {"1", "2", "3", "4", "6", "7", "8", "10", "11", "13"}
    assert pool.size == 3005 - 150 and pool.table.column("group").null_count == pool.size  # images with predictions


@pytest.fixture(scope="module")
def surface():
    return build_pool(read_predictions(SAMPLES / "surface" / "predictions.csv"), rule="least-confidence")


def test_classification_pool_from_score_columns(surface):
    assert surface.size == 6000 and surface.kind == "classification"
    assert surface.class_names == ("Background", "Crack", "Spalling", "Efflorescence", "Exposed rebar")
    first = surface.table.slice(0, 1).to_pylist()[0]
    assert first["image"] == "img_00001.jpg" and first["classes"] == ["Background"]
    assert first["uncertainty"] == pytest.approx(1 - 0.931)


def test_classification_without_scores_is_refused(tmp_path):
    path = tmp_path / "preds.csv"
    path.write_text("image,predicted\na.jpg,cat\nb.jpg,dog\n")
    with pytest.raises(ValueError, match="no per-class score columns"):
        build_pool(read_predictions(path))


def test_a_coco_pool_matched_to_an_image_list(tmp_path):
    export = {"images": [{"id": 7, "file_name": "a.jpg", "width": 100, "height": 100, "sequence": "s1"},
                         {"id": 8, "file_name": "b.jpg", "width": 100, "height": 100, "sequence": "s2"}],
              "annotations": [], "categories": [{"id": 3, "name": "Wheelchair"}, {"id": 5, "name": "Person"}]}
    results = [{"image_id": 7, "category_id": 3, "bbox": [10, 10, 20, 40], "score": 0.45},
               {"image_id": 7, "category_id": 5, "bbox": [11, 10, 20, 40], "score": 0.40}]
    (tmp_path / "pool.json").write_text(json.dumps(export))
    (tmp_path / "preds.json").write_text(json.dumps(results))
    ds = imbal_core.load(tmp_path / "pool.json")
    pool = build_pool(read_predictions(tmp_path / "preds.json"), ds)  # matched here
    rows = {r["file_name"]: r for r in pool.table.to_pylist()}
    assert rows["a.jpg"]["classes"] == ["Wheelchair", "Person"] and rows["a.jpg"]["group"] == "s1"
    assert rows["a.jpg"]["uncertainty"] == pytest.approx(entropy([0.45, 0.40, 0.15]) / math.log(3))
    assert rows["b.jpg"]["uncertainty"] == 0 and rows["b.jpg"]["classes"] == []


# --------------------------------------------------------------------------- selection on hand-built pools


def pool_of(rows: list[tuple[str, float, list[str], str | None]], conditions: dict[str, list] | None = None) -> Pool:
    """rows: (image, uncertainty, predicted classes, group)."""
    cols = {
        "image": [r[0] for r in rows], "image_id": pa.nulls(len(rows), pa.int64()), "file_name": [r[0] for r in rows],
        "group": pa.array([r[3] for r in rows], pa.string()), **(conditions or {}),
        "predictions": [1] * len(rows), "uncertainty": [r[1] for r in rows],
        "classes": pa.array([r[2] for r in rows], pa.list_(pa.string())),
        "class_scores": pa.array([[0.5] * len(r[2]) for r in rows], pa.list_(pa.float64())),
        "class_counts": pa.array([[1] * len(r[2]) for r in rows], pa.list_(pa.int64())),
    }
    return Pool(pa.table(cols), "detection", "entropy", ("A", "B", "C"), tuple(conditions or {}))


def many(prefix: str, count: int, classes: list[str], groups: int = 1000, u: float = 0.5):
    return [(f"{prefix}{i}", u - i * 1e-4, classes, f"{prefix}-g{i % groups}") for i in range(count)]


def fills(selection) -> dict[str, int]:
    return {r["class"]: r["selected"] for r in selection.classes.to_pylist()}


def test_slots_are_shared_in_proportion_to_what_each_class_needs():
    pool = pool_of(many("a", 100, ["A"]) + many("b", 100, ["B"]) + many("u", 100, [], u=0.9))
    selection = select_batch(pool, 40, {"A": 300, "B": 100}, max_per_group=40)
    assert fills(selection) == {"A": 30, "B": 10}
    assert selection.size == 40
    assert set(selection.batch.column("fills").to_pylist()) == {"A", "B"}  # the uncertain rest waits


def test_a_class_out_of_candidates_gives_its_slots_to_the_others():
    pool = pool_of(many("a", 100, ["A"]) + many("b", 4, ["B"]) + many("c", 100, ["C"]))
    selection = select_batch(pool, 40, {"A": 100, "B": 100, "C": 200}, max_per_group=40)
    assert fills(selection) == {"A": 12, "B": 4, "C": 24}  # B's unused 6 of 10 shared 1:2


def test_a_class_out_of_candidates_after_the_others_filled_their_shares_still_gives_its_slots():
    # shares 30 : 10 (300 : 100 of 40); A runs out at its 30th slot, when B has already filled its 10:
    # A's unused slot still goes to B (which needs 100), not to the uncertain rest
    pool = pool_of(many("a", 29, ["A"]) + many("b", 100, ["B"]) + many("u", 100, [], u=0.9))
    selection = select_batch(pool, 40, {"A": 300, "B": 100}, max_per_group=40)
    assert fills(selection) == {"A": 29, "B": 11} and selection.size == 40
    assert {r["class"]: r["share"] for r in selection.classes.to_pylist()} == {"A": 29, "B": 11}


def test_no_class_gets_more_slots_than_it_still_needs():
    pool = pool_of(many("a", 100, ["A"]) + many("b", 100, ["B"]) + many("u", 100, [], u=0.9))
    selection = select_batch(pool, 60, {"A": 5, "B": 500}, max_per_group=60)
    assert fills(selection) == {"A": 1, "B": 59}  # 60 x 5 / 505 rounds to 1
    selection = select_batch(pool, 60, {"A": 5, "B": 20}, max_per_group=60)
    assert fills(selection) == {"A": 5, "B": 20} and selection.size == 60  # the other 35 by uncertainty


def test_slots_no_class_can_fill_go_to_the_most_uncertain():
    pool = pool_of(many("a", 5, ["A"]) + many("u", 50, [], u=0.9))
    selection = select_batch(pool, 20, {"A": 100}, max_per_group=20)
    assert fills(selection) == {"A": 5} and selection.size == 20
    reasons = selection.batch.column("reason").to_pylist()
    assert sum(r.startswith("among the most uncertain") for r in reasons) == 15


def test_the_group_cap_spreads_the_batch():
    pool = pool_of(many("night", 60, ["A"], groups=1, u=0.9) + many("day", 60, ["A"], groups=30, u=0.5))
    selection = select_batch(pool, 30, {"A": 100}, max_per_group=5)
    groups = selection.batch.column("group").to_pylist()
    assert groups.count("night-g0") == 5  # not 30 frames of the one night drive
    assert max(groups.count(g) for g in set(groups)) <= 5 and selection.size == 30


def test_default_cap_is_a_twentieth_of_the_batch():
    pool = pool_of(many("x", 200, [], groups=1))
    assert select_batch(pool, 100).size == 5
    assert select_batch(pool, 100, group=None).size == 100
    assert select_batch(pool, 100, group="sequence").size == 5  # the export's name for groups


def test_boost_favours_short_classes():
    pool = pool_of([("plain", 0.6, [], "g1"), ("wheel", 0.4, ["A"], "g2")])
    assert select_batch(pool, 1, {"A": 10}, boost=1.0, group=None).batch.column("image").to_pylist() == ["wheel"]
    assert select_batch(pool, 1, None, group=None).batch.column("image").to_pylist() == ["plain"]


def test_deterministic_for_a_seed():
    pool = pool_of([(f"i{k}", 0.5, ["A"] if k % 2 else ["B"], f"g{k % 7}") for k in range(200)])  # all tied
    a = select_batch(pool, 50, {"A": 100, "B": 300}, seed=3, max_per_group=50)
    b = select_batch(pool, 50, {"A": 100, "B": 300}, seed=3, max_per_group=50)
    c = select_batch(pool, 50, {"A": 100, "B": 300}, seed=4, max_per_group=50)
    assert a.batch.equals(b.batch)
    assert a.batch.column("image").to_pylist() != c.batch.column("image").to_pylist()
    assert fills(a) == fills(c) == {"B": 37, "A": 13}  # 12.5 : 37.5, the tie to the first name


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, "`n` must be a whole number of at least 1. Got 0"),
    ({"n": 5, "group": "camera"}, "`group` must be 'group'"),
    ({"n": 5, "max_per_group": 0}, "`max_per_group` must be a whole number of at least 1. Got 0"),
    ({"n": 5, "boost": -1}, "`boost` must be a number of at least 0"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        select_batch(pool_of(many("a", 3, ["A"])), **kwargs)


@settings(max_examples=120, deadline=None)
@given(
    rows=st.lists(st.tuples(st.floats(0, 1), st.lists(st.sampled_from("ABC"), unique=True, max_size=2),
                            st.integers(0, 6)), min_size=1, max_size=60),
    n=st.integers(1, 40), cap=st.integers(1, 10),
    needs=st.dictionaries(st.sampled_from("ABC"), st.integers(0, 50), max_size=3),
)
def test_selection_constraints_hold_for_any_pool(rows, n, cap, needs):
    pool = pool_of([(f"i{k}", u, cls, f"g{g}") for k, (u, cls, g) in enumerate(rows)])
    selection = select_batch(pool, n, needs, max_per_group=cap, seed=1)
    images = selection.batch.column("image").to_pylist()
    groups = selection.batch.column("group").to_pylist()
    assert len(images) == len(set(images)) <= n
    assert all(groups.count(g) <= cap for g in set(groups))
    eligible = sum(min(cap, sum(1 for r in rows if r[2] == g)) for g in {r[2] for r in rows})
    assert len(images) == min(n, eligible)  # never short while an allowed image is left
    for row in selection.classes.to_pylist():
        assert row["selected"] <= row["share"] <= math.ceil(row["remaining"])
    shares = sum(r["share"] for r in selection.classes.to_pylist())
    assert shares <= n


# --------------------------------------------------------------------------- the sample batch and charts


def test_street_batch_fills_quotas_in_proportion_and_respects_the_cap(street):
    _, _, pool = street
    quotas = {"Wheelchair": 348, "Bicycle": 148}
    # Counted from predictions.json with pandas: 224 images have a Wheelchair prediction scored 0.3 or more (335 a
    # Bicycle one), in 57 drives; at most 15 per drive they still offer 223.
    # A batch of 300: in proportion 300 x 348 / 496 = 210.5 and 89.5 -> 210 : 90 (largest remainder). Wheelchair has
    # enough candidates for its 210, so each class fills exactly its share.
    selection = select_batch(pool, 300, quotas, group="sequence")
    by = {r["class"]: r for r in selection.classes.to_pylist()}
    assert by["Wheelchair"]["candidates"] == 224 and by["Bicycle"]["candidates"] == 335
    assert {c: (r["share"], r["selected"]) for c, r in by.items()} == {"Wheelchair": (210, 210), "Bicycle": (90, 90)}
    groups = selection.batch.column("group").to_pylist()
    assert max(groups.count(g) for g in set(groups)) <= 15  # ceil(300 / 20)
    # A batch of 360: in proportion 252.6 : 107.4 -> 253 : 107, more than Wheelchair's 224 candidates. Wheelchair
    # runs out and its unused slots go to Bicycle (which still needs 148), so the quotas still share all 360.
    larger = {r["class"]: r for r in select_batch(pool, 360, quotas, group="sequence").classes.to_pylist()}
    assert larger["Wheelchair"]["selected"] == larger["Wheelchair"]["share"] <= 224
    assert larger["Wheelchair"]["share"] + larger["Bicycle"]["share"] == 360 and 107 < larger["Bicycle"]["share"] <= 148
    assert larger["Bicycle"]["selected"] == larger["Bicycle"]["share"]
    assert selection.batch.column("rank").to_pylist() == list(range(1, selection.size + 1))
    scores = selection.batch.column("score").to_pylist()
    assert scores == sorted(scores, reverse=True)
    header = selection.to_csv().decode().splitlines()[0]
    assert header == "rank,image,file_name,score,predicted,reason,group,uncertainty"


def test_charts(street):
    _, _, pool = street
    selection = select_batch(pool, 200, {"Wheelchair": 100})
    hist = uncertainty_histogram(pool, selection)
    assert len(hist.data[0].x) == pool.size and len(hist.data[1].x) == 200
    mix = condition_mix(selection, "time_of_day")
    assert sorted(mix.data[0].x) == ["day", "night"]
    assert sum(mix.data[0].y) == pytest.approx(100) and sum(mix.data[1].y) == pytest.approx(100)
    with pytest.raises(ValueError, match="`condition` must be one of"):
        condition_mix(selection, "planet")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3), st.floats(0.01, 1.0)), min_size=1, max_size=30),
       st.sampled_from(["entropy", "margin", "least-confidence"]))
def test_sparse_object_uncertainty_matches_the_dense_rows(boxes, rule):
    """Objects are kept sparse for speed; their uncertainty must equal :func:`uncertainty` on the dense rows."""
    from imbal_core.active import _group_objects, _object_uncertainty

    image = np.array([b[0] for b in boxes])
    classes = np.array([b[1] for b in boxes])
    scores = np.array([b[2] for b in boxes])
    xy = np.array([[10.0 * k, 0.0, 8.0, 8.0] for k in range(len(boxes))])  # a few overlap, most do not
    xy[::3, 0] = 0.0
    objects = _group_objects(image, xy, scores, classes, 4, 0.5)
    dense = objects.dense(4)
    assert np.allclose(dense.sum(axis=1)[dense[:, :-1].sum(axis=1) <= 1], 1.0)
    np.testing.assert_allclose(_object_uncertainty(objects, rule, 5), uncertainty(dense, rule, 5), atol=1e-12)
