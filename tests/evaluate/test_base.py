"""The result every evaluation returns: one base, one JSON shape, keyword construction, typed dispatch."""
from __future__ import annotations

import dataclasses
import json
import math

import pytest

from imbal_core.evaluate import (ClassificationEvaluation, DetectionEvaluation, EvaluationBase, SegmentationEvaluation,
                                 by_condition, evaluate_masks, hard_negatives)
from imbal_core.evaluate.document import evaluation_dict, headline
from imbal_core.downloads import json_bytes

from .conftest import SAMPLES

SHAPE = ["task", "images", "settings", "macro", "weighted", "micro", "accuracy", "balanced_accuracy", "classes",
         "confusion", "by_condition", "coco", "segmentation", "excluded"]


@pytest.fixture(scope="module")
def results(street, lanes, surface):
    """(name, evaluation, dataset) of each kind: boxes, COCO masks, labels, semantic mask images."""
    masks = evaluate_masks(SAMPLES / "lanes" / "masks", SAMPLES / "lanes" / "pred_masks", SAMPLES / "lanes" / "classes.txt",
                           dataset=lanes[0])
    return {"street": (street[2], street[0]), "lanes": (lanes[1], lanes[0]), "surface": (surface[1], surface[0]),
            "masks": (masks, lanes[0])}


KINDS = [("street", DetectionEvaluation, "detection"), ("lanes", SegmentationEvaluation, "segmentation"),
         ("surface", ClassificationEvaluation, "classification"), ("masks", SegmentationEvaluation, "segmentation")]


@pytest.mark.parametrize("name, cls, task", KINDS)
def test_every_result_is_a_frozen_evaluation_of_its_task(results, name, cls, task):
    ev, _ = results[name]
    assert type(ev) is cls and isinstance(ev, EvaluationBase) and ev.task == task
    assert ev.images == len(ev.image_ids) > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.macro = ev.micro


@pytest.mark.parametrize("name, cls, task", KINDS)
def test_results_are_built_by_keyword_only(results, name, cls, task):
    ev, _ = results[name]
    values = {f.name: getattr(ev, f.name) for f in dataclasses.fields(ev)}
    assert "task" not in values  # set by the class, not by the caller
    with pytest.raises(TypeError, match="positional"):
        cls(*values.values())
    assert json_bytes(cls(**values).to_dict()) == json_bytes(ev.to_dict())


@pytest.mark.parametrize("name, cls, task", KINDS)
def test_one_json_shape_for_every_task(results, name, cls, task):
    ev, ds = results[name]
    doc = ev.to_dict()
    assert list(doc) == SHAPE and doc["task"] == task and doc["by_condition"] is None
    assert [row["class"] for row in doc["classes"]] == list(ev.class_names)
    json.loads(json_bytes(doc))  # NaN written as null: valid JSON
    rows = by_condition(ev, ds, "split").to_dict()
    assert evaluation_dict(ev, rows) == {**doc, "by_condition": rows}


def test_each_task_fills_in_its_own_entries(results):
    detection, segmentation, classification, masks = (results[n][0].to_dict() for n in ("street", "lanes", "surface", "masks"))
    assert detection["settings"] == {"iou": 0.5, "score_threshold": 0.5, "iou_type": "bbox"}
    assert detection["coco"]["iou_type"] == "bbox" and detection["accuracy"] is detection["segmentation"] is None
    assert segmentation["settings"] == {"score_threshold": 0.5}
    assert segmentation["coco"]["iou_type"] == "segm" and segmentation["segmentation"]["miou"] > 0
    assert classification["settings"] == {} and classification["coco"] is classification["segmentation"] is None
    assert 0 < classification["balanced_accuracy"] < classification["accuracy"] <= 1
    assert masks["coco"] is None and masks["segmentation"]["pixels"] > 0
    assert list(masks["settings"]) == ["score_threshold"] and math.isnan(masks["settings"]["score_threshold"])  # no scores


def test_headline_follows_the_type(results):
    labels = {name: [label for label, _, _ in headline(results[name][0])] for name in results}
    assert labels["surface"][:2] == ["Balanced accuracy", "Accuracy"]
    assert labels["street"][:2] == ["mAP (box)", "mAP50"]
    assert labels["lanes"][:3] == ["mIoU", "Frequency-weighted IoU", "mAP (mask)"] and "mAP50" not in labels["lanes"]
    assert labels["masks"][:2] == ["mIoU", "Frequency-weighted IoU"] and "mAP (mask)" not in labels["masks"]
    assert all(names[-3:] == ["Macro precision", "Macro recall", "Macro F1"] for names in labels.values())


def test_hard_negatives_default_to_the_operating_point(results):
    street, ds = results["street"]
    assert hard_negatives(street, ds).min_score == street.score_threshold == 0.5
    surface, ds = results["surface"]
    assert hard_negatives(surface, ds).min_score == 0.5 and hard_negatives(surface, ds).overlap is None
    masks, ds = results["masks"]
    assert len(hard_negatives(masks, ds)) == 0  # no instances to be wrong about
