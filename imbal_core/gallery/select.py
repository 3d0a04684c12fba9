"""Which images a number stands for: :func:`select_images` -> :class:`Selection`, in an order one can explain.

Filters combine with AND: a class present (``class_``), a class absent (``without_class``),
condition values (``where``), splits, a group, an explicit list (``ids``), and a confusion-matrix
cell (``confusion=(truth, predicted)`` with ``predictions``). The cell's images are exactly those
:mod:`imbal_core.evaluate` counts there — the same matching at the same operating point
(``iou``, ``score_threshold``) — and each image's ``count`` is how many of the cell's items it
holds, so the counts add up to the matrix cell.

Order: by ``count`` (the cell's items, else instances of ``class_``), most first, then by image
id; with neither, the order of ``ids`` when given, else by image id. :attr:`Selection.order`
says the rule in words.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..report import ReportRow
from ..types import check_split

if TYPE_CHECKING:
    from ..dataset import Dataset
    from ..evaluate.base import EvaluationBase
    from ..io.predictions import Predictions

BACKGROUND = "background"  # the confusion matrix's extra label (imbal_core.evaluate._common.BACKGROUND)
_IMAGE_COLUMNS = ("image_id", "source_id", "file_name", "split", "group")


@dataclass(frozen=True, eq=False)
class Selection:
    """Selected images, in order. ``table``: one row per image (``image_id``, ``source_id``,
    ``file_name``, ``split``, ``group``, each condition, then ``count``: what the order counts,
    null when it counts nothing); ``description``: what was selected, in words; ``order``: the
    ordering rule in words; ``count_label``: what ``count`` counts (None when nothing)."""

    table: pa.Table
    description: str
    order: str
    count_label: str | None = None

    @property
    def image_ids(self) -> tuple[int, ...]:
        return tuple(self.table.column("image_id").to_pylist())

    def __len__(self) -> int:
        return self.table.num_rows

    def page(self, number: int, size: int = 24) -> tuple[int, ...]:
        """The image ids of page ``number`` (0 first) of ``size`` images."""
        if number < 0 or size < 1:
            raise ValueError(f"`number` must be at least 0 and `size` at least 1. Got {number} and {size} instead.")
        return tuple(self.table.column("image_id").slice(number * size, size).to_pylist())

    def pages(self, size: int = 24) -> int:
        return -(-len(self) // size)

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self):
        return self.table.to_pandas()


def _check_class(dataset: Dataset, name: str | None, parameter: str) -> int | None:
    if name is None:
        return None
    names = dataset.class_names
    if name not in names:
        raise ValueError(f"`{parameter}` must be one of the dataset's classes: {', '.join(names)}. Got {name!r} instead.")
    return names.index(name)


def _column(dataset: Dataset, name: str) -> pa.Array:
    column = dataset.images.column(name).combine_chunks()
    return column.dictionary_decode() if pa.types.is_dictionary(column.type) else column


def _where_mask(dataset: Dataset, where: Mapping[str, Any]) -> tuple[np.ndarray, list[str]]:
    mask = np.ones(dataset.num_images, bool)
    words = []
    for condition, value in where.items():
        if condition not in dataset.conditions:
            known = ", ".join(dataset.conditions) or "none"
            raise ValueError(f"`where` names a condition the dataset does not have: {condition!r}. Its conditions: {known}.")
        values = [value] if isinstance(value, str) or value is None else list(value)
        column = _column(dataset, condition)
        present = [v for v in pc.unique(column).to_pylist() if v is not None]
        unknown = [v for v in values if v is not None and v not in present]
        if unknown:
            raise ValueError(f"`where` gives {condition} values it never takes: {unknown}. "
                             f"Its values: {', '.join(sorted(map(str, present)))}.")
        hit = pc.is_in(column, pa.array([v for v in values if v is not None], pa.string()))
        hit = pc.fill_null(hit, False).to_numpy(zero_copy_only=False)
        if None in values:
            hit = hit | pc.is_null(column).to_numpy(zero_copy_only=False)
        mask &= hit
        words.append(f"{condition} = {' or '.join(map(str, values))}")
    return mask, words


def select_images(
    dataset: Dataset,
    class_: str | None = None,
    *,
    where: Mapping[str, str | Sequence[str] | None] | None = None,
    split: str | Sequence[str] | None = None,
    without_class: str | None = None,
    predictions: Predictions | EvaluationBase | None = None,
    confusion: tuple[str, str] | None = None,
    ids: Iterable[int] | None = None,
    group: str | None = None,
    iou: float = 0.5,
    score_threshold: float = 0.5,
) -> Selection:
    """The images matching every filter given, in the order of the module docstring.

    ``class_``: images with at least one instance of this class. ``without_class``: images with
    none. ``where`` ({condition: value or values}): condition values (a list: any of them).
    ``split``: a split or several. ``group``: one group (sequence, site ...). ``ids``: only these
    image ids (dense). ``confusion`` ((truth, predicted), names or ``"background"``): the images of
    that confusion-matrix cell, which needs ``predictions``: matched :class:`Predictions` (evaluated
    here at ``iou`` 0.5 and ``score_threshold`` 0.5) or the evaluation result already computed
    (its own operating point is used). A name the dataset lacks raises ``ValueError`` listing the
    ones it has.
    """
    n = dataset.num_images
    mask = np.ones(n, bool)
    words: list[str] = []
    count: np.ndarray | None = None
    count_label = None
    c = _check_class(dataset, class_, "class_")
    w = _check_class(dataset, without_class, "without_class")
    per_class = dataset.image_classes
    if c is not None or w is not None:
        img = per_class.column("image_id").to_numpy()
        cat = per_class.column("category_id").to_numpy()
        inst = per_class.column("instances").to_numpy()
    if c is not None:
        count = np.zeros(n, np.int64)
        count[img[cat == c]] = inst[cat == c]
        mask &= count > 0
        words.append(f"with {class_}")
        count_label = f"{class_} instances"
    if w is not None:
        has = np.zeros(n, bool)
        has[img[cat == w]] = True
        mask &= ~has
        words.append(f"without {without_class}")
    if where:
        where_mask, where_words = _where_mask(dataset, where)
        mask &= where_mask
        words.extend(where_words)
    if split is not None:
        wanted = [check_split(s, dataset.splits) for s in ([split] if isinstance(split, str) else split)]
        mask &= pc.is_in(_column(dataset, "split"), pa.array(wanted, pa.string())).to_numpy(zero_copy_only=False)
        words.append(f"split {' or '.join(wanted)}")
    if group is not None:
        mask &= pc.fill_null(pc.equal(_column(dataset, "group"), group), False).to_numpy(zero_copy_only=False)
        words.append(f"group {group}")
    given: np.ndarray | None = None
    if ids is not None:
        given = np.fromiter((int(i) for i in ids), np.int64)
        bad = given[(given < 0) | (given >= n)]
        if len(bad):
            raise ValueError(f"`ids` must be image ids between 0 and {n - 1}. Got {bad[:5].tolist()} instead.")
        keep = np.zeros(n, bool)
        keep[given] = True
        mask &= keep
        words.append(f"among {len(np.unique(given)):,} given images")
    if confusion is not None:
        cell = confusion_counts(dataset, predictions, confusion, iou=iou, score_threshold=score_threshold)
        mask &= cell > 0
        count, count_label = cell, f"{confusion[0]} → {confusion[1]} items"
        words.append(f"in the confusion cell {confusion[0]} → {confusion[1]}")
    chosen = np.flatnonzero(mask)
    if count is not None:
        chosen = chosen[np.lexsort((chosen, -count[chosen]))]
        order = f"most {count_label} first, then by image id"
    elif given is not None:
        _, first = np.unique(given, return_index=True)
        position = np.full(n, np.iinfo(np.int64).max)
        position[given[first]] = first
        chosen = chosen[np.argsort(position[chosen], kind="stable")]
        order = "in the order given"
    else:
        order = "by image id"
    table = _rows(dataset, chosen, count[chosen] if count is not None else None)
    description = "images " + (", ".join(words) if words else "(all)")
    return Selection(table, description, order, count_label)


def _rows(dataset: Dataset, chosen: np.ndarray, count: np.ndarray | None) -> pa.Table:
    columns = [c for c in (*_IMAGE_COLUMNS, *dataset.conditions) if c in dataset.images.column_names]
    table = dataset.images.select(columns).take(pa.array(chosen, pa.int64()))
    for name in columns:
        if pa.types.is_dictionary(table.schema.field(name).type):
            table = table.set_column(table.schema.get_field_index(name), name, table.column(name).cast(pa.string()))
    counts = pa.array(count, pa.int64()) if count is not None else pa.nulls(len(chosen), pa.int64())
    return table.append_column("count", counts)


def _evaluation(dataset: Dataset, predictions: Any, iou: float, score_threshold: float) -> EvaluationBase:
    if hasattr(predictions, "confusion") and hasattr(predictions, "counts"):
        return predictions  # an evaluation already made
    from ..evaluate import evaluate, evaluation_kind

    if evaluation_kind(dataset, predictions) == "detection":
        from ..evaluate.detection import evaluate_detection

        return evaluate_detection(dataset, predictions, iou=iou, score_threshold=score_threshold, coco_ap=False)
    return evaluate(dataset, predictions, iou=iou, score_threshold=score_threshold)


def confusion_counts(dataset: Dataset, predictions: Any, cell: tuple[str, str], *, iou: float = 0.5,
                     score_threshold: float = 0.5) -> np.ndarray:
    """Per image (dense id), how many items of the confusion-matrix ``cell`` (truth, predicted) it
    holds: its sum is the matrix entry (see the module docstring for ``predictions``)."""
    if predictions is None:
        raise ValueError("`confusion` needs `predictions`: the model's predictions or their evaluation.")
    if not (isinstance(cell, (tuple, list)) and len(cell) == 2):
        raise ValueError(f"`confusion` must be a pair (truth, predicted). Got {cell!r} instead.")
    evaluation = _evaluation(dataset, predictions, iou, score_threshold)
    if evaluation.task == "segmentation":  # COCO masks: the instance view's matrix counts objects
        if getattr(evaluation, "instances", None) is None:
            raise ValueError("`confusion` needs a matrix of objects; this segmentation evaluation has only a "
                             "pixel confusion matrix (mask images), whose cells are pixels, not images.")
        evaluation = evaluation.instances
    labels = list(evaluation.confusion.labels)
    for name in cell:
        if name not in labels:
            raise ValueError(f"`confusion` must name classes of the confusion matrix: {', '.join(labels)}. Got {name!r} instead.")
    truth, predicted = labels.index(cell[0]), labels.index(cell[1])
    n = dataset.num_images
    if evaluation.task == "classification":
        items = evaluation.items
        hit = (items.column("true").to_numpy() == truth) & (items.column("predicted").to_numpy() == predicted)
        return np.bincount(items.column("image_id").to_numpy()[hit], minlength=n)
    background = len(labels) - 1 if evaluation.confusion.has_background else -1
    if truth == background and predicted == background:
        raise ValueError("`confusion` cannot be background → background: that cell counts nothing.")
    if predicted == background:  # ground truth missed
        gt = evaluation.ground_truth
        hit = pc.and_(pc.equal(gt.column("status"), "missed"), pc.equal(gt.column("category_id"), truth))
        return np.bincount(gt.column("image_id").filter(hit).to_numpy(), minlength=n)
    det = evaluation.detections
    if truth == background:  # false alarms: duplicates and background detections
        status = pc.is_in(det.column("status"), pa.array(["duplicate", "background"]))
        hit = pc.and_(status, pc.equal(det.column("category_id"), predicted))
    else:
        status = pc.is_in(det.column("status"), pa.array(["correct", "wrong_class"]))
        hit = pc.and_(pc.and_(status, pc.equal(det.column("category_id"), predicted)),
                      pc.fill_null(pc.equal(det.column("matched_category"), truth), False))
    return np.bincount(det.column("image_id").filter(hit).to_numpy(), minlength=n)


def report_images(dataset: Dataset, rows: Iterable[ReportRow]) -> list[tuple[int, str]]:
    """For load-report rows, the (image id, record) pairs they point at: a row whose record is an
    annotation's ``source_id`` (counted or left out of counting) gives its image, one whose
    record is an image's ``source_id`` or ``file_name`` gives that image; rows naming neither
    (a whole file, a category) are left out. Pass the record as ``highlight`` to draw it framed."""
    records = [r.record for r in rows]
    if not records:
        return []
    values = pa.array(records, pa.string())
    out: list[tuple[int, str]] = []
    sources = [(dataset.annotations, "source_id")]
    if dataset.uncounted is not None:
        sources.append((dataset.uncounted, "source_id"))
    sources += [(dataset.images, "source_id"), (dataset.images, "file_name")]
    found = np.full(len(records), -1, np.int64)
    for table, column in sources:
        position = pc.index_in(values, value_set=table.column(column).combine_chunks()).to_numpy(zero_copy_only=False)
        position = np.nan_to_num(position.astype(np.float64), nan=-1).astype(np.int64)
        todo = (found < 0) & (position >= 0)
        if todo.any():
            image = table.column("image_id").to_numpy()
            found[todo] = image[position[todo]]
    for k, image_id in enumerate(found.tolist()):
        if image_id >= 0:
            out.append((image_id, records[k]))
    return out
