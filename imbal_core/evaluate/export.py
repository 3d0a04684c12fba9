"""The JSON form of an evaluation (``imbal eval --json``), one shape for every task.

``{"task", "images", "settings", "macro", "weighted", "micro", "accuracy", "balanced_accuracy",
"classes": [...], "confusion": {"labels", "matrix"}, "by_condition", "coco", "segmentation",
"excluded"}`` — fields that do not apply to the task are null, and so is every undefined
value (NaN); :func:`imbal_core.exports.json_bytes` writes NaN as null.
"""
from __future__ import annotations

import math
from typing import Any

CLASS_FIELDS = ("name", "critical", "support", "predicted", "tp", "fp", "fn", "precision", "recall", "f1",
                "ap", "ap50", "ap75", "ar", "pr_auc", "iou")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def class_rows(evaluation: Any) -> list[dict[str, Any]]:
    """One dict per class with :data:`CLASS_FIELDS` (null where not applicable or undefined)."""
    table = evaluation.classes
    columns = {name: table.column(name).to_pylist() for name in CLASS_FIELDS}
    return [{name: _clean(columns[name][i]) for name in CLASS_FIELDS} for i in range(table.num_rows)]


def evaluation_dict(evaluation: Any, by_condition: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    task = evaluation.task
    pixels = getattr(evaluation, "pixels", None)
    coco = getattr(evaluation, "coco", None)
    settings: dict[str, Any] = {}
    for name in ("iou", "score_threshold", "iou_type"):
        if hasattr(evaluation, name):
            settings[name] = getattr(evaluation, name)
    return {
        "task": task,
        "images": evaluation.images,
        "settings": settings,
        "macro": evaluation.macro.to_dict(),
        "weighted": evaluation.weighted.to_dict(),
        "micro": evaluation.micro.to_dict(),
        "accuracy": _clean(getattr(evaluation, "accuracy", None)),
        "balanced_accuracy": _clean(getattr(evaluation, "balanced_accuracy", None)),
        "classes": class_rows(evaluation),
        "confusion": evaluation.confusion.to_dict(),
        "by_condition": by_condition,
        "coco": coco.summary.to_dict() if coco is not None else None,
        "segmentation": pixels.to_dict() if pixels is not None else None,
        "excluded": dict(evaluation.excluded),
    }


def headline(evaluation: Any) -> list[tuple[str, float, str]]:
    """The few figures a page puts on top: (label, value, help), task-specific first."""
    out: list[tuple[str, float, str]] = []
    if evaluation.task == "classification":
        out.append(("Balanced accuracy", evaluation.balanced_accuracy, "mean recall over the classes present"))
        out.append(("Accuracy", evaluation.accuracy, "share of images predicted right"))
    if evaluation.task == "segmentation":
        out.append(("mIoU", evaluation.pixels.miou, "mean pixel IoU over classes, equal weight per class"))
        out.append(("Frequency-weighted IoU", evaluation.pixels.fwiou, "pixel IoU weighted by each class's pixels"))
    if evaluation.coco is not None:
        kind = "mask" if evaluation.coco.summary.iou_type == "segm" else "box"
        out.append((f"mAP ({kind})", evaluation.coco.summary.ap, "COCO AP, IoU 0.50:0.95, mean over classes with ground truth"))
        if evaluation.task == "detection":
            out.append(("mAP50", evaluation.coco.summary.ap50, "COCO AP at IoU 0.5"))
    out += [("Macro precision", evaluation.macro.precision, "mean over classes (undefined ones skipped)"),
            ("Macro recall", evaluation.macro.recall, "mean over classes with ground truth"),
            ("Macro F1", evaluation.macro.f1, "mean F1 over classes")]
    return out
