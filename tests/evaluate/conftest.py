"""Shared evaluation fixtures: a hand-built detection scene and the street sample, evaluated once."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import imbal_core
from imbal_core.evaluate import evaluate
from imbal_core.io.predictions import read_predictions

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture
def scene(tmp_path):
    """One 100x100 image: a found person, a missed person, a wheelchair taken for a person, a crowd of people.

    Predictions: the found person, its duplicate, the swap, a wheelchair on nothing, a person on the
    crowd, the missed person below the threshold, and a wheelchair on the found person.
    """
    gt = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100, "time_of_day": "night"},
                   {"id": 2, "file_name": "b.jpg", "width": 100, "height": 100, "time_of_day": "day"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [20, 20, 10, 10], "area": 100, "iscrowd": 0},
            {"id": 3, "image_id": 1, "category_id": 2, "bbox": [40, 40, 10, 10], "area": 100, "iscrowd": 0},
            {"id": 4, "image_id": 1, "category_id": 1, "bbox": [80, 80, 20, 20], "area": 400, "iscrowd": 1},
        ],
        "categories": [{"id": 1, "name": "Person"}, {"id": 2, "name": "Wheelchair"}, {"id": 3, "name": "Stroller"}],
    }
    results = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},  # d0 correct
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.8},  # d1 duplicate
        {"image_id": 1, "category_id": 1, "bbox": [40, 40, 10, 10], "score": 0.7},  # d2 class swap
        {"image_id": 1, "category_id": 2, "bbox": [70, 0, 10, 10], "score": 0.95},  # d3 false alarm
        {"image_id": 1, "category_id": 1, "bbox": [82, 82, 10, 10], "score": 0.85},  # d4 on the crowd
        {"image_id": 1, "category_id": 1, "bbox": [20, 20, 10, 10], "score": 0.3},  # d5 below threshold
        {"image_id": 1, "category_id": 2, "bbox": [1, 1, 10, 10], "score": 0.6},  # d6 wheelchair on a person
    ]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "results.json").write_text(json.dumps(results))
    ds = imbal_core.load(tmp_path / "gt.json", cache=False)
    return ds, read_predictions(tmp_path / "results.json", ds)


@pytest.fixture(scope="session")
def street():
    """The street sample, its predictions and their evaluation at score 0.5, IoU 0.5."""
    ds = imbal_core.load(SAMPLES / "street" / "annotations.json")
    preds = read_predictions(SAMPLES / "street" / "predictions.json", ds)
    return ds, preds, evaluate(ds, preds, iou=0.5, score_threshold=0.5)


@pytest.fixture(scope="session")
def lanes():
    """The lanes sample and the evaluation of its mask predictions (pixels and instances)."""
    ds = imbal_core.load(SAMPLES / "lanes" / "annotations.json")
    return ds, evaluate(ds, read_predictions(SAMPLES / "lanes" / "predictions.json", ds))


@pytest.fixture(scope="session")
def surface():
    ds = imbal_core.load(SAMPLES / "surface" / "labels.csv")
    return ds, evaluate(ds, read_predictions(SAMPLES / "surface" / "predictions.csv", ds))
