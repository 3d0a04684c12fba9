"""select_images: the images behind a number, in an order one can explain.

BCCD (real, read in place): the Platelets selection is recounted from the XML with ElementTree;
the RBC -> WBC confusion cell is checked against predictions generated from the ground truth with
labels swapped (seeded), and every cell's counts add up to the evaluation's matrix entry.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import imbal_core
from imbal_core.evaluate import evaluate
from imbal_core.gallery import confusion_counts, report_images, select_images
from imbal_core.io.predictions import read_predictions

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"

pytestmark = pytest.mark.realdata


def test_platelets_are_exactly_the_images_with_a_platelets_box(bccd, bccd_xml):
    chosen = select_images(bccd, "Platelets")
    expected = {stem: c["Platelets"] for stem, c in bccd_xml.items() if c["Platelets"] > 0}
    got = dict(zip(chosen.table.column("source_id").to_pylist(), chosen.table.column("count").to_pylist()))
    assert got == expected
    assert len(chosen) == len(expected) > 100


def test_the_order_is_most_instances_first_then_by_id(bccd):
    chosen = select_images(bccd, "Platelets")
    rows = list(zip(chosen.table.column("count").to_pylist(), chosen.image_ids))
    assert rows == sorted(rows, key=lambda r: (-r[0], r[1]))
    assert chosen.order == "most Platelets instances first, then by image id"
    assert chosen.page(0, 24) == chosen.image_ids[:24] and chosen.pages(24) == -(-len(chosen) // 24)


def test_split_and_without_class_combine(bccd, bccd_xml):
    split_of = dict(zip(bccd.images.column("source_id").to_pylist(), bccd.images.column("split").to_pylist()))
    chosen = select_images(bccd, without_class="Platelets", split="val")
    expected = {s for s, c in bccd_xml.items() if c["Platelets"] == 0 and split_of[s] == "val"}
    assert set(chosen.table.column("source_id").to_pylist()) == expected
    assert chosen.order == "by image id" and list(chosen.image_ids) == sorted(chosen.image_ids)
    assert chosen.table.column("count").null_count == len(chosen)


def test_ids_keep_the_order_given(bccd):
    chosen = select_images(bccd, ids=[30, 2, 17, 2])
    assert chosen.image_ids == (30, 2, 17) and chosen.order == "in the order given"


def test_wheelchair_at_night_on_the_street_sample():
    ds = imbal_core.load(SAMPLES / "street" / "annotations.json")
    chosen = select_images(ds, "Wheelchair", where={"time_of_day": "night"})
    doc = json.loads((SAMPLES / "street" / "annotations.json").read_text())
    wheelchair = next(c["id"] for c in doc["categories"] if c["name"] == "Wheelchair")
    night = {im["id"] for im in doc["images"] if im["time_of_day"] == "night"}
    per_image = Counter(a["image_id"] for a in doc["annotations"] if a["category_id"] == wheelchair and a["image_id"] in night)
    assert dict(zip(map(int, chosen.table.column("source_id").to_pylist()), chosen.table.column("count").to_pylist())) == per_image
    # beside them: the night images without a wheelchair, for comparison
    others = select_images(ds, where={"time_of_day": "night"}, without_class="Wheelchair")
    assert len(others) + len({i for i in per_image}) == len(night)
    assert set(others.table.column("time_of_day").to_pylist()) == {"night"}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"class_": "Platelet"}, r"`class_` must be one of the dataset's classes: Platelets, RBC, WBC. Got 'Platelet'"),
        ({"without_class": "rbc"}, r"`without_class` must be one of the dataset's classes"),
        ({"split": "training"}, r"`split` must be one of \['train', 'val', 'test'\]"),
        ({"where": {"time_of_day": "night"}}, r"`where` names a condition the dataset does not have: 'time_of_day'"),
        ({"ids": [0, 364]}, r"`ids` must be image ids between 0 and 363. Got \[364\]"),
        ({"confusion": ("RBC", "WBC")}, r"`confusion` needs `predictions`"),
    ],
)
def test_bad_arguments_name_the_parameter(bccd, kwargs, match):
    with pytest.raises(ValueError, match=match):
        select_images(bccd, **kwargs)


def test_the_rbc_to_wbc_cell_holds_exactly_the_swapped_images(bccd, tmp_path, swapped_predictions):
    predictions, swapped, _ = swapped_predictions(bccd, tmp_path)
    chosen = select_images(bccd, predictions=predictions, confusion=("RBC", "WBC"))
    got = dict(zip(chosen.table.column("source_id").to_pylist(), chosen.table.column("count").to_pylist()))
    assert got == dict(swapped) and len(got) > 50
    # the same images as the evaluation counts in that cell
    matrix = evaluate(bccd, predictions).confusion
    assert sum(got.values()) == matrix.matrix[matrix.labels.index("RBC"), matrix.labels.index("WBC")]


def test_every_cell_adds_up_to_the_evaluation_matrix(bccd, tmp_path, swapped_predictions):
    predictions, _, _ = swapped_predictions(bccd, tmp_path, seed=3, share=0.3)
    evaluation = evaluate(bccd, predictions, score_threshold=0.85)  # the swapped ones fall below: misses and ...
    labels = evaluation.confusion.labels
    for i, truth in enumerate(labels):
        for j, predicted in enumerate(labels):
            if truth == predicted == "background":
                continue
            counts = confusion_counts(bccd, evaluation, (truth, predicted))
            assert counts.sum() == evaluation.confusion.matrix[i, j], (truth, predicted)
    # predictions given as such are evaluated at the same operating point
    direct = confusion_counts(bccd, predictions, ("RBC", "background"), score_threshold=0.85)
    assert np.array_equal(direct, confusion_counts(bccd, evaluation, ("RBC", "background")))
    assert direct.sum() > 0


def test_a_classification_cell_matches_the_evaluation():
    ds = imbal_core.load(SAMPLES / "surface" / "labels.csv")
    predictions = read_predictions(SAMPLES / "surface" / "predictions.csv", ds)
    evaluation = evaluate(ds, predictions)
    matrix = evaluation.confusion
    truth, predicted = "Crack", "Background"
    chosen = select_images(ds, predictions=evaluation, confusion=(truth, predicted))
    assert len(chosen) == matrix.matrix[matrix.labels.index(truth), matrix.labels.index(predicted)] > 0
    items = evaluation.items.to_pylist()
    names = evaluation.class_names
    assert set(chosen.image_ids) == {r["image_id"] for r in items
                                     if names[r["true"]] == truth and names[r["predicted"]] == predicted}


def test_load_report_rows_point_at_their_images(bccd):
    rows = [r for r in bccd.report if r.code == "non_positive_box"]
    pairs = report_images(bccd, rows)
    source = bccd.images.column("source_id").to_pylist()
    assert [(source[i], record) for i, record in pairs] == [(r.record.split("#")[0], r.record) for r in rows]
    assert len(pairs) == 2
