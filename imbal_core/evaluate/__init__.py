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
:mod:`.slices`, :mod:`.negatives` (hard negatives), :mod:`.ranking` (PR AUC); the result every task returns
in :mod:`.base`, its JSON form in :mod:`.document`; shared conventions in :mod:`._common`.

``import imbal_core`` binds :func:`evaluate` eagerly: it is also the name of this package, and
importing the package later would otherwise make ``imbal_core.evaluate`` the package instead of
the function. So this module stays light, as :mod:`imbal_core.cube` does: the names below are
imported from their modules on first use, and :func:`evaluate` imports the task it runs.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from ..dataset import Dataset
    from ..io.predictions import Predictions
    from ..types import Task
    from ._common import Undefined
    from .coco import CocoResult
    from .document import Evaluation

_LAZY = {
    "Averages": "_common",
    "ConfusionMatrix": "_common",
    "Undefined": "_common",
    "EvaluationBase": "base",
    "ClassificationEvaluation": "classification",
    "classification_metrics": "classification",
    "evaluate_classification": "classification",
    "CocoResult": "coco",
    "CocoSummary": "coco",
    "DetectionEvaluation": "detection",
    "coco_ap": "detection",
    "evaluate_detection": "detection",
    "match_detections": "detection",
    "Evaluation": "document",
    "HardNegatives": "negatives",
    "hard_negatives": "negatives",
    "SegmentationEvaluation": "segmentation",
    "evaluate_masks": "segmentation",
    "evaluate_segmentation": "segmentation",
    "SliceTable": "slices",
    "by_condition": "slices",
    "slice_columns": "slices",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def evaluation_kind(dataset: Dataset, predictions: Predictions) -> Task:
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
    # the task's module is imported here, not above: see the module docstring
    if kind == "classification":
        from .classification import evaluate_classification

        return evaluate_classification(dataset, predictions, split=split, undefined=undefined)
    if kind == "segmentation":
        from .segmentation import evaluate_segmentation

        return evaluate_segmentation(dataset, predictions, score_threshold=score_threshold, iou=iou, split=split,
                                     coco_result=coco_result, undefined=undefined)
    from .detection import evaluate_detection

    return evaluate_detection(dataset, predictions, iou=iou, score_threshold=score_threshold, split=split,
                              iou_type="bbox", coco_result=coco_result, undefined=undefined)


def coco_ap_for(dataset: Dataset, predictions: Predictions, *, split: str | Sequence[str] | None = None) -> CocoResult | None:
    """The COCOeval run :func:`evaluate` would make (None for classification): compute it once,
    pass it as ``coco_result`` to evaluate several operating points."""
    kind = evaluation_kind(dataset, predictions)
    if kind == "classification":
        return None
    from .detection import coco_ap

    return coco_ap(dataset, predictions, split=split, iou_type="segm" if kind == "segmentation" else "bbox")


__all__ = [*sorted(_LAZY, key=str.lower), "coco_ap_for", "evaluate", "evaluation_kind"]
