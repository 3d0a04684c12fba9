"""Per-class evaluation of a model's predictions against a dataset.

>>> from imbal_core.io.predictions import read_predictions
>>> from imbal_core.evaluate import evaluate, by_condition, hard_negatives
>>> preds = read_predictions("predictions.json", ds)
>>> ev = evaluate(ds, preds, iou=0.5, score_threshold=0.5)    # picks the task
>>> ev.classes.to_pandas()                                     # per-class table
>>> ev.confusion.to_pandas()                                   # rows = ground truth, cols = predicted
>>> by_condition(ev, ds, "time_of_day").pivot("recall")        # Person recall: day 0.91, night 0.62
>>> hard_negatives(ev, ds).to_pandas()                         # confident mistakes, ranked per class

Modules: :mod:`.classification`, :mod:`.detection` (with :mod:`.coco`), :mod:`.segmentation`,
:mod:`.slices`, :mod:`.hard_negatives`, :mod:`.ranking` (PR AUC); shared conventions in :mod:`._common`.
"""
from __future__ import annotations

from typing import Sequence, Union

from ..dataset import Dataset
from ..io.predictions import Predictions
from ._common import Averages, ConfusionMatrix, Undefined
from .classification import ClassificationEvaluation, classification_metrics, evaluate_classification
from .coco import CocoResult, CocoSummary
from .detection import DetectionEvaluation, coco_ap, evaluate_detection, match_detections
from .hard_negatives import HardNegatives, hard_negatives
from .segmentation import SegmentationEvaluation, evaluate_masks, evaluate_segmentation
from .slices import SliceTable, by_condition, slice_columns

Evaluation = Union[ClassificationEvaluation, DetectionEvaluation, SegmentationEvaluation]


def evaluation_kind(dataset: Dataset, predictions: Predictions) -> str:
    """"classification", "segmentation" (masks on a COCO segmentation dataset) or "detection"."""
    if dataset.task == "classification":
        return "classification"
    if predictions.has_masks and dataset.task == "segmentation" and dataset.format == "coco":
        return "segmentation"
    return "detection"


def evaluate(
    dataset: Dataset,
    predictions: Predictions,
    *,
    iou: float = 0.5,
    score_threshold: float = 0.5,
    split: str | Sequence[str] | None = None,
    coco_result: CocoResult | None = None,
    undefined: Undefined = "nan",
) -> Evaluation:
    """Evaluate matched ``predictions`` on ``dataset`` with the evaluation its task calls for.

    ``iou`` (0.5) and ``score_threshold`` (0.5): the operating point of detection and
    segmentation (ignored for classification, where the prediction is the predicted label).
    ``split`` (None: all images). ``undefined`` ("nan"): the value of a 0/0 metric.
    ``coco_result``: a COCOeval run of :func:`coco_ap` to reuse (detection, segmentation).
    """
    kind = evaluation_kind(dataset, predictions)
    if kind == "classification":
        return evaluate_classification(dataset, predictions, split=split, undefined=undefined)
    if kind == "segmentation":
        return evaluate_segmentation(dataset, predictions, score_threshold=score_threshold, iou=iou, split=split,
                                     coco_result=coco_result, undefined=undefined)
    return evaluate_detection(dataset, predictions, iou=iou, score_threshold=score_threshold, split=split,
                              iou_type="bbox", coco_result=coco_result, undefined=undefined)


def coco_ap_for(dataset: Dataset, predictions: Predictions, *, split: str | Sequence[str] | None = None) -> CocoResult | None:
    """The COCOeval run :func:`evaluate` would make (None for classification): compute it once,
    pass it as ``coco_result`` to evaluate several operating points."""
    kind = evaluation_kind(dataset, predictions)
    if kind == "classification":
        return None
    return coco_ap(dataset, predictions, split=split, iou_type="segm" if kind == "segmentation" else "bbox")


__all__ = [
    "Averages", "ClassificationEvaluation", "CocoResult", "CocoSummary", "ConfusionMatrix", "coco_ap", "coco_ap_for", "DetectionEvaluation", "Evaluation", "HardNegatives",
    "SegmentationEvaluation", "SliceTable", "by_condition", "classification_metrics", "evaluate", "evaluate_classification",
    "evaluate_detection", "evaluate_masks", "evaluate_segmentation", "evaluation_kind", "hard_negatives",
    "match_detections", "slice_columns",
]
