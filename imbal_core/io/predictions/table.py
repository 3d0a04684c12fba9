"""The canonical predictions table: its schemas, :class:`Predictions` and :class:`Coverage`.

What each column holds is told in :mod:`imbal_core.io.predictions`. The readers build their
tables with :func:`detection_table` and :func:`scores_array`, so every reader returns the same schema.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...report import LoadReport

PredictionKind = Literal["detection", "classification"]

_COMMON = [
    pa.field("image", pa.string(), nullable=False),
    pa.field("image_id", pa.int64()),
    pa.field("label", pa.string(), nullable=False),
    pa.field("category_id", pa.int32()),
    pa.field("score", pa.float64()),
]
DETECTION_SCHEMA = pa.schema(
    _COMMON
    + [pa.field(c, pa.float64()) for c in ("x", "y", "w", "h")]
    + [
        pa.field("rle_counts", pa.string()),
        pa.field("rle_height", pa.int32()),
        pa.field("rle_width", pa.int32()),
        pa.field("polygons", pa.list_(pa.list_(pa.float64()))),
        pa.field("record", pa.string()),
    ]
)


def classification_schema(n_classes: int) -> pa.Schema:
    """The classification table's schema; ``scores`` holds ``n_classes`` values (0: no scores)."""
    scores = pa.list_(pa.float64(), n_classes) if n_classes else pa.list_(pa.float64())
    return pa.schema(_COMMON + [pa.field("scores", scores), pa.field("record", pa.string())])


CLASSIFICATION_SCHEMA = classification_schema(0)


@dataclass(frozen=True)
class Coverage:
    """How the predictions met the dataset (all counts; zero when no dataset was given)."""

    predictions: int  # rows read
    matched: int  # rows with a known image and a known class
    unknown_image_predictions: int  # rows whose image the dataset does not have
    unknown_images: int  # distinct such images
    unknown_class_predictions: int  # rows (of known images) whose class the dataset does not have
    unknown_classes: int
    images_with_predictions: int  # dataset images with a matched prediction (classification: of any class)
    images_without_predictions: int  # dataset images with none
    # the file's images matched by file name because its image ids are its own (0: matched by id)
    images_matched_by_file_name: int = 0
    # the file's classes matched by name because its category ids are its own (0: matched by id)
    classes_matched_by_name: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)
class Predictions:
    """A model's predictions in the canonical table (see :mod:`imbal_core.io.predictions`).

    ``kind``: "detection" (boxes, maybe masks) or "classification". ``class_names`` names the
    ``scores`` columns of a classification table (the dataset's classes in ``category_id``
    order once matched; the file's score columns otherwise), and is empty for detection.
    ``matched_to`` is the key (or summary) of the dataset matched, None when unmatched.
    ``image_names``: the file name of an ``image`` key when the file gives one (a full COCO
    file's ``images``, a ``file_name`` per result), used when the file's image ids are its own.
    ``label_names``: the class name of a ``label`` when the file declares one (a full COCO
    file's ``categories``). ``normalized``: the boxes are fractions of the image size (YOLO
    by default), scaled to pixels when matched to a dataset that knows the image sizes.
    """

    kind: PredictionKind
    table: pa.Table
    format: str
    source: str
    report: LoadReport = field(default_factory=LoadReport)
    class_names: tuple[str, ...] = ()
    coverage: Coverage | None = None
    matched_to: str | None = None
    image_names: Mapping[str, str] = field(default_factory=dict)
    label_names: Mapping[str, str] = field(default_factory=dict)
    normalized: bool = False

    @property
    def num_predictions(self) -> int:
        return self.table.num_rows

    @property
    def has_masks(self) -> bool:
        """True when the predictions carry masks (RLE or polygons): segmentation results."""
        if self.kind != "detection" or not self.table.num_rows:
            return False
        return (self.table.column("rle_counts").null_count < self.table.num_rows
                or self.table.column("polygons").null_count < self.table.num_rows)

    @property
    def has_scores(self) -> bool:
        """Classification: True when every row has per-class scores; detection: always True."""
        if self.kind == "detection":
            return True
        return bool(self.class_names) and self.table.num_rows > 0 and self.table.column("scores").null_count == 0

    def matched(self) -> pa.Table:
        """Rows whose image and class are both in the matched dataset (what analyses use)."""
        t = self.table
        if not t.num_rows:
            return t
        ok = pc.and_(pc.is_valid(t.column("image_id")), pc.is_valid(t.column("category_id")))
        return t.filter(ok)

    def score_matrix(self, table: pa.Table | None = None) -> np.ndarray | None:
        """Classification scores as a float64 array (rows of ``table``, default all) x classes; None without scores."""
        table = self.table if table is None else table
        if self.kind != "classification" or not self.class_names or table.column("scores").null_count:
            return None
        values = pc.list_flatten(table.column("scores").combine_chunks())
        return values.to_numpy(zero_copy_only=False).reshape(table.num_rows, len(self.class_names))

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self):
        return self.table.to_pandas()

    def unusable(self) -> str | None:
        """Why these matched predictions cannot be evaluated at all, or None when they can.

        Nothing matched the dataset (every image or class unknown), or a classification file
        holds no prediction. An empty detection file is usable: the model found nothing.
        """
        c = self.coverage
        if c is None or c.matched:
            return None
        if self.num_predictions:
            first = next((r.problem for r in self.report if r.code in ("unknown_image", "unknown_class", "ambiguous_image")),
                         self.report.rows[0].problem if self.report else "")
            return (f"{Path(self.source).name}: none of the {self.num_predictions:,} predictions matches an image and a "
                    f"class of the dataset" + (f" (first: {first})" if first else "") + ".")
        if self.kind == "classification":
            return f"{Path(self.source).name}: the file holds no prediction to evaluate."
        return None

    def summary_line(self) -> str:
        """``17,414 predictions from predictions.json; 17,414 matched; 160 images without predictions``."""
        kind = "mask" if self.has_masks else self.kind
        text = f"{self.num_predictions:,} {kind} predictions from {Path(self.source).name}"
        c = self.coverage
        if c is None:
            return text + " (not matched to a dataset)"
        text += f"; {c.matched:,} matched"
        extras = []
        if c.unknown_image_predictions:
            extras.append(f"{_n(c.unknown_image_predictions, 'prediction')} for {_n(c.unknown_images, 'unknown image')}")
        if c.unknown_class_predictions:
            extras.append(f"{_n(c.unknown_class_predictions, 'prediction')} of {_n(c.unknown_classes, 'unknown class', 'unknown classes')}")
        if c.images_without_predictions:
            extras.append(f"{_n(c.images_without_predictions, 'image')} without predictions")
        if c.images_matched_by_file_name:
            extras.append(f"{_n(c.images_matched_by_file_name, 'image')} matched by file name")
        if c.classes_matched_by_name:
            extras.append(f"{_n(c.classes_matched_by_name, 'class', 'classes')} matched by name")
        return text + (" — " + ", ".join(extras) if extras else "")


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def detection_table(cols: dict[str, list]) -> pa.Table:
    """The detection table from a reader's column lists; ``image_id`` / ``category_id`` null until matched."""
    n = len(cols["image"])
    arrays = {
        "image": pa.array(cols["image"], pa.string()),
        "image_id": pa.nulls(n, pa.int64()),
        "label": pa.array(cols["label"], pa.string()),
        "category_id": pa.nulls(n, pa.int32()),
        "score": pa.array(cols["score"], pa.float64()),
    }
    for k in ("x", "y", "w", "h"):
        arrays[k] = pa.array(cols[k], pa.float64())
    arrays["rle_counts"] = pa.array(cols["rle_counts"], pa.string())
    arrays["rle_height"] = pa.array(cols["rle_height"], pa.int32())
    arrays["rle_width"] = pa.array(cols["rle_width"], pa.int32())
    arrays["polygons"] = pa.array(cols["polygons"], DETECTION_SCHEMA.field("polygons").type)
    arrays["record"] = pa.array(cols["record"], pa.string())
    return pa.table(arrays, schema=DETECTION_SCHEMA)


def scores_array(scores: np.ndarray | None, n_classes: int, n: int) -> pa.Array:
    """The ``scores`` column from an (n, n_classes) array; all null when there are no scores."""
    if scores is None or not n_classes:
        return pa.nulls(n, classification_schema(n_classes).field("scores").type)
    flat = pa.array(scores.reshape(-1), pa.float64())
    return pa.FixedSizeListArray.from_arrays(flat, n_classes)


def images_frame(predictions: Predictions) -> pa.Table:
    """One row per image key: ``image``, ``image_id``, ``predictions`` (count), ``max_score``.

    Handy for pools (active learning): which images have predictions and how confident.
    """
    t = predictions.table
    if not t.num_rows:
        return pa.table({"image": pa.array([], pa.string()), "image_id": pa.array([], pa.int64()),
                         "predictions": pa.array([], pa.int64()), "max_score": pa.array([], pa.float64())})
    grouped = t.group_by(["image", "image_id"], use_threads=False).aggregate([([], "count_all"), ("score", "max")])
    return grouped.rename_columns(["image", "image_id", "predictions", "max_score"]).select(
        ["image", "image_id", "predictions", "max_score"])
