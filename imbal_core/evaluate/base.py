"""What every evaluation result holds, and its JSON form (``imbal eval --json``).

:class:`EvaluationBase` carries the fields the three tasks share; the classification, detection
and segmentation results derive from it and add their own. Its :meth:`~EvaluationBase.to_dict`
gives one shape for every task::

    {"task", "images", "settings", "macro", "weighted", "micro", "accuracy", "balanced_accuracy",
     "classes": [...], "confusion": {"labels", "matrix"}, "by_condition", "coco", "segmentation",
     "excluded"}

Fields that do not apply to the task are null, and so is every undefined value (NaN);
``by_condition`` is filled in by :func:`.document.evaluation_dict`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from ..types import Task
from ._common import Averages, ConfusionMatrix

#: The per-class entries of the JSON form, in order (null where not applicable or undefined).
CLASS_FIELDS = ("class", "critical", "support", "predicted", "tp", "fp", "fn", "precision", "recall", "f1",
                "ap", "ap50", "ap75", "ar", "pr_auc", "iou")


def clean(value: Any) -> Any:
    """``value``, with a NaN or infinite float as None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def class_rows(classes: pa.Table) -> list[dict[str, Any]]:
    """One dict per row of a per-class table (:mod:`.table`) with :data:`CLASS_FIELDS`."""
    columns = {name: classes.column(name).to_pylist() for name in CLASS_FIELDS}
    return [{name: clean(columns[name][i]) for name in CLASS_FIELDS} for i in range(classes.num_rows)]


@dataclass(frozen=True, eq=False, kw_only=True)
class EvaluationBase:
    """A model's predictions against a dataset, whatever the task.

    ``class_names``: the classes, in the order of ``classes`` rows and the confusion matrix;
    ``classes``: the per-class table (:func:`.table.class_table`); ``confusion``: rows = ground
    truth, columns = predicted; ``macro`` / ``weighted`` / ``micro``: precision, recall and F1
    averaged over classes; ``counts``: additive (image, class) tp / fp / fn, what
    :func:`.slices.by_condition` sums; ``image_ids``: the evaluated images (dense ids);
    ``excluded``: what was left out and why, by reason. ``task`` is set by each result class.
    """

    task: ClassVar[Task]

    class_names: tuple[str, ...]
    classes: pa.Table
    confusion: ConfusionMatrix
    macro: Averages
    weighted: Averages
    micro: Averages
    counts: pa.Table
    image_ids: np.ndarray
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def images(self) -> int:
        """How many images were evaluated."""
        return len(self.image_ids)

    def pr_curve(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(recall, precision) of the class ``name`` (both empty where the task cannot draw one)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see the module docstring); each task fills in its own entries."""
        return {
            "task": self.task,
            "images": self.images,
            "settings": {},
            "macro": self.macro.to_dict(),
            "weighted": self.weighted.to_dict(),
            "micro": self.micro.to_dict(),
            "accuracy": None,
            "balanced_accuracy": None,
            "classes": class_rows(self.classes),
            "confusion": self.confusion.to_dict(),
            "by_condition": None,
            "coco": None,
            "segmentation": None,
            "excluded": dict(self.excluded),
        }
