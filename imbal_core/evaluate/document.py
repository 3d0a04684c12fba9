"""The JSON form of an evaluation (``imbal eval --json``) with its slices, the figures a page
shows on top, and :data:`Evaluation`, the type of any of the three results.

The JSON form is :meth:`.base.EvaluationBase.to_dict` (one shape for every task, described in
:mod:`.base`) with ``by_condition`` filled in; :func:`imbal_core.downloads.json_bytes` writes NaN
as null.
"""
from __future__ import annotations

from typing import Any, Union

from .base import CLASS_FIELDS, EvaluationBase, class_rows  # noqa: F401 (re-exported: the JSON's class entries)
from .classification import ClassificationEvaluation
from .detection import DetectionEvaluation
from .segmentation import SegmentationEvaluation

#: What :func:`imbal_core.evaluate.evaluate` returns: one of the three results.
Evaluation = Union[ClassificationEvaluation, DetectionEvaluation, SegmentationEvaluation]


def evaluation_dict(evaluation: EvaluationBase, by_condition: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``evaluation.to_dict()`` with the rows of its slices (:meth:`.slices.SliceTable.to_dict`) as ``by_condition``."""
    return {**evaluation.to_dict(), "by_condition": by_condition}


def headline(evaluation: EvaluationBase) -> list[tuple[str, float, str]]:
    """The few figures a page puts on top: (label, value, help), task-specific first."""
    out: list[tuple[str, float, str]] = []
    coco = None
    if isinstance(evaluation, ClassificationEvaluation):
        out.append(("Balanced accuracy", evaluation.balanced_accuracy, "mean recall over the classes present"))
        out.append(("Accuracy", evaluation.accuracy, "share of images predicted right"))
    elif isinstance(evaluation, SegmentationEvaluation):
        out.append(("mIoU", evaluation.pixels.miou, "mean pixel IoU over classes, equal weight per class"))
        out.append(("Frequency-weighted IoU", evaluation.pixels.fwiou, "pixel IoU weighted by each class's pixels"))
        coco = evaluation.coco
    elif isinstance(evaluation, DetectionEvaluation):
        coco = evaluation.coco
    if coco is not None:
        kind = "mask" if coco.summary.iou_type == "segm" else "box"
        out.append((f"mAP ({kind})", coco.summary.ap, "COCO AP, IoU 0.50:0.95, mean over classes with ground truth"))
        if isinstance(evaluation, DetectionEvaluation):
            out.append(("mAP50", coco.summary.ap50, "COCO AP at IoU 0.5"))
    out += [("Macro precision", evaluation.macro.precision, "mean over classes (undefined ones skipped)"),
            ("Macro recall", evaluation.macro.recall, "mean over classes with ground truth"),
            ("Macro F1", evaluation.macro.f1, "mean F1 over classes")]
    return out
