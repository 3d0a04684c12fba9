"""The canonical dataset: three Arrow tables every reader produces and every analysis reads.

``images``
    ``image_id`` (int64, dense 0..n-1), ``source_id`` (the export's own id or path, as text),
    ``file_name``, ``width`` / ``height`` (int32, pixels; null when unknown), ``split``
    (train / val / test / unassigned, or another name the export uses), ``group`` (sequence,
    video, site or patient: frames of one group must stay in one split; null when none),
    ``annotated_at`` (timestamp, UTC), ``annotator``, then one dictionary-encoded string column
    per condition (``time_of_day``, ``weather``, ``camera`` ...).
``annotations``
    ``ann_id`` (int64, dense), ``source_id`` (the export's own annotation id, or ``file:line``),
    ``image_id`` and ``category_id`` (dense ids), the box ``x``, ``y``, ``w``, ``h`` (float64, in
    pixels; normalised to 0..1 when the image size is unknown, as for YOLO labels without
    images; null for classification), ``area`` (the export's area, pixels²), ``pixels`` (mask
    pixel count, segmentation only, else null), ``iscrowd``, ``difficult``, ``truncated`` and
    ``occluded`` (bool, null when the format has no such flag: ``occluded`` comes from CVAT,
    Labelme shape flags, KITTI, Scalabel and Open Images), ``annotated_at``, ``annotator``;
    ``exported_x``, ``exported_y``, ``exported_w``, ``exported_h`` (float64): the box as the
    export wrote it where imbal clipped it at the image border for counting, null where
    ``x`` .. ``h`` are the export's own values. Classification has one row per image label.
``categories``
    ``category_id`` (int32, dense), ``source_id`` (the export's own id: COCO id, YOLO index,
    VOC name), ``name``, ``supercategory`` (parent in the label hierarchy, or null) and
    ``critical`` (a rare class flagged for priority).
``uncounted`` (beside the three tables)
    Annotations left out of every count because their box lies wholly outside the image, kept
    as exported for evaluation: the annotation columns without ``ann_id``, with ``position``
    (int64), the row's place among ``annotations`` and ``uncounted`` together in export order.
    :attr:`Dataset.exported_annotations` puts both back together.

Counting and evaluation see the boxes differently, on purpose: counts, pixels and sizes use the
clipped boxes of ``annotations``; metrics (COCO AP, the matched confusion matrix) use the boxes
as exported, so that they equal pycocotools run on the same file. What imbal changed is listed in
the load report (``box_clipped``, ``box_outside_image``). A box with a non-finite coordinate
(``non_finite_box``) cannot be counted or evaluated (pycocotools cannot compare it either): it is
skipped for both.

Readers hand their columns to :func:`build_dataset`, which fills what a format lacks with
nulls, casts, checks boxes and runs :func:`validate`: the one place the schema is enforced.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .report import LoadReport
from .types import TASKS, Task  # noqa: F401 (imbal_core.dataset.Task / TASKS: re-exported)
from .image_classes import image_class_table

if TYPE_CHECKING:
    from .source_records import SourceRecords

log = logging.getLogger(__name__)


TIMESTAMP = pa.timestamp("us", tz="UTC")
BOX_COLUMNS = ("x", "y", "w", "h")
DICT_STRING = pa.dictionary(pa.int32(), pa.string())

IMAGE_SCHEMA = pa.schema(
    [
        pa.field("image_id", pa.int64(), nullable=False),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("file_name", pa.string()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("split", DICT_STRING, nullable=False),
        pa.field("group", pa.string()),
        pa.field("annotated_at", TIMESTAMP),
        pa.field("annotator", pa.string()),
    ]
)
ANNOTATION_SCHEMA = pa.schema(
    [
        pa.field("ann_id", pa.int64(), nullable=False),
        pa.field("source_id", pa.string()),
        pa.field("image_id", pa.int64(), nullable=False),
        pa.field("category_id", pa.int32(), nullable=False),
        pa.field("x", pa.float64()),
        pa.field("y", pa.float64()),
        pa.field("w", pa.float64()),
        pa.field("h", pa.float64()),
        pa.field("area", pa.float64()),
        pa.field("pixels", pa.float64()),
        pa.field("iscrowd", pa.bool_()),
        pa.field("difficult", pa.bool_()),
        pa.field("truncated", pa.bool_()),
        pa.field("occluded", pa.bool_()),
        pa.field("annotated_at", TIMESTAMP),
        pa.field("annotator", pa.string()),
        *(pa.field(f"exported_{c}", pa.float64()) for c in BOX_COLUMNS),
    ]
)
#: Annotations left out of counting but kept for evaluation (see the module docstring).
UNCOUNTED_SCHEMA = pa.schema([pa.field("position", pa.int64(), nullable=False)]
                             + [f for f in ANNOTATION_SCHEMA if f.name != "ann_id"])
CATEGORY_SCHEMA = pa.schema(
    [
        pa.field("category_id", pa.int32(), nullable=False),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("supercategory", pa.string()),
        pa.field("critical", pa.bool_(), nullable=False),
    ]
)

#: Canonical split names in display order; other names an export uses sort after them.
SPLITS = ("train", "val", "test")
UNASSIGNED = "unassigned"
_SPLIT_ALIASES = {
    "train": "train", "training": "train", "trn": "train",
    "val": "val", "valid": "val", "validation": "val", "dev": "val", "eval": "val",
    "test": "test", "testing": "test", "tst": "test",
    "": UNASSIGNED, "none": UNASSIGNED, "unassigned": UNASSIGNED, "null": UNASSIGNED, "nan": UNASSIGNED,
}


class SchemaError(ValueError):
    """A table does not follow the canonical schema; the message names the column."""


def normalize_split(name: object) -> str:
    """Map the usual spellings (``valid``, ``validation``, ``Training`` ...) to train / val / test.

    Empty or missing becomes ``unassigned``; any other name is kept, lower-cased.
    """
    if name is None:
        return UNASSIGNED
    text = str(name).strip().lower()
    return _SPLIT_ALIASES.get(text, text)


def split_sort_key(name: str) -> tuple[int, str]:
    if name in SPLITS:
        return (SPLITS.index(name), name)
    return (len(SPLITS) + (1 if name == UNASSIGNED else 0), name)


def condition_name(name: str) -> str:
    """A condition's column name: lower-case words joined by ``_`` (``Time of day`` -> ``time_of_day``)."""
    text = re.sub(r"[^0-9a-zA-Z]+", "_", str(name).strip()).strip("_").lower()
    return text or "condition"


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded export in the canonical schema, with its load report.

    Build one with :func:`build_dataset` (readers do) or :func:`imbal_core.load`.
    """

    images: pa.Table
    annotations: pa.Table
    categories: pa.Table
    task: Task
    report: LoadReport = field(default_factory=LoadReport)
    format: str = "unknown"
    sources: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    #: Content hash of the inputs (set by :func:`imbal_core.load`), usable as a cache key.
    key: str | None = None
    #: Annotations left out of counting, kept for evaluation (:data:`UNCOUNTED_SCHEMA`); None
    #: when not known (a dataset built by hand, or read back from an older cache entry).
    uncounted: pa.Table | None = None
    #: The export's own records as its reader parsed them (COCO: every image and annotation
    #: record, the top-level fields), for the steps that write or evaluate what the tables do
    #: not hold, so that none opens the export again (:mod:`imbal_core.source_records`); None
    #: when the reader keeps none (other formats, a dataset built by hand).
    records: "SourceRecords | None" = None
    #: Where the reader found the export laid out, for writers of the same format (YOLO:
    #: ``root``, the folder image ids are relative to; ``data_yaml``, the data.yaml as read, or
    #: None; ``inputs``, how many YAML or folder inputs there were); None when not recorded.
    origin: Mapping[str, Any] | None = None

    @property
    def splits(self) -> tuple[str, ...]:
        """Split names present in ``images``, train / val / test first, ``unassigned`` last."""
        values = pc.unique(self.images.column("split").combine_chunks().dictionary_decode()).to_pylist()
        return tuple(sorted((v for v in values if v is not None), key=split_sort_key))

    @property
    def class_names(self) -> list[str]:
        return self.categories.column("name").to_pylist()

    @property
    def critical_classes(self) -> list[str]:
        mask = self.categories.column("critical")
        return pc.filter(self.categories.column("name"), mask).to_pylist()

    @property
    def num_images(self) -> int:
        return self.images.num_rows

    @property
    def num_annotations(self) -> int:
        return self.annotations.num_rows

    @cached_property
    def image_classes(self) -> pa.Table:
        """One row per (image, class) present: ``image_id``, ``category_id``, ``instances``, ``pixels``.

        The reduction every count in imbal starts from (see :mod:`imbal_core.cube`); computed once.
        ``pixels`` is null where no annotation of the pair has a pixel count.
        """
        return image_class_table(self.annotations, self.images.num_rows, self.categories.num_rows)

    @cached_property
    def exported_annotations(self) -> pa.Table:
        """The annotations as the export wrote them, in export order: what evaluation compares with.

        The annotation columns (without ``exported_*``) with the boxes as exported (not clipped)
        and the ``uncounted`` rows back in their place, their ``ann_id`` null. Counts use
        :attr:`annotations` instead. Computed once.
        """
        anns = self.annotations
        for c in BOX_COLUMNS:
            exported = pc.coalesce(anns.column(f"exported_{c}"), anns.column(c))
            anns = anns.set_column(anns.schema.get_field_index(c), c, exported)
        anns = anns.drop_columns([f"exported_{c}" for c in BOX_COLUMNS])
        uncounted = self.uncounted
        if uncounted is None:
            if any(r.code == "box_outside_image" and r.action == "skipped" for r in self.report):
                log.warning("%s: the boxes wholly outside their image were not kept (a dataset from an older "
                            "cache entry?); evaluation leaves them out", self.sources[0] if self.sources else "dataset")
            return anns
        if not uncounted.num_rows:
            return anns
        n = anns.num_rows + uncounted.num_rows
        position = uncounted.column("position").to_numpy()
        is_uncounted = np.zeros(n, dtype=bool)
        is_uncounted[position] = True
        rows = uncounted.drop_columns(["position"] + [f"exported_{c}" for c in BOX_COLUMNS])
        rows = rows.add_column(0, anns.schema.field("ann_id").with_nullable(True), pa.nulls(rows.num_rows, pa.int64()))
        both = pa.concat_tables([anns.cast(rows.schema), rows])
        # row k of `both` goes to its export position: counted rows fill the gaps in order
        order = np.empty(n, dtype=np.int64)
        order[np.flatnonzero(~is_uncounted)] = np.arange(anns.num_rows)
        order[position] = np.arange(anns.num_rows, n)
        return both.take(pa.array(order))

    def with_critical(self, names: Sequence[str]) -> "Dataset":
        """A copy with ``critical`` set for exactly the named classes (unknown names raise)."""
        known = set(self.class_names)
        unknown = sorted(set(names) - known)
        if unknown:
            raise ValueError(f"`critical` names classes the dataset does not have: {unknown}. Known: {sorted(known)}.")
        flags = pa.array([n in set(names) for n in self.class_names], pa.bool_())
        cats = self.categories.set_column(self.categories.schema.get_field_index("critical"), "critical", flags)
        # The loader's key names the inputs, not the flags: a copy with other flags must not share it
        # (caches keyed by it would answer with the old flags).
        flagged = hashlib.blake2b(json.dumps(sorted(set(names))).encode(), digest_size=8).hexdigest()
        key = None if self.key is None else f"{self.key}+critical:{flagged}"
        return replace(self, categories=cats, key=key)

    def summary_line(self) -> str:
        """``118,287 images, 860,001 annotations, 80 classes, 3 splits, 3 conditions — 12 records skipped``."""
        text = (
            f"{self.num_images:,} images, {self.num_annotations:,} annotations, "
            f"{self.categories.num_rows:,} classes, {len(self.splits)} splits, {len(self.conditions)} conditions"
        )
        skipped = self.report.skipped
        if skipped:
            text += f" — {skipped:,} records skipped"
        elif self.report:
            text += f" — {len(self.report):,} problems reported, nothing skipped"
        return text


# --------------------------------------------------------------------------- building


def _as_array(values: Any, type_: pa.DataType, n: int, name: str, nulls: dict | None = None) -> pa.Array:
    if values is None:
        return _nulls(n, type_, nulls)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        arr = values
    elif isinstance(values, np.ndarray):
        arr = pa.array(values)
    else:
        if pa.types.is_timestamp(type_):
            return _timestamps(values, n, name)
        arr = pa.array(list(values), type=type_ if not pa.types.is_dictionary(type_) else pa.string())
    if len(arr) != n:
        raise SchemaError(f"Column `{name}` has {len(arr)} values; expected {n}.")
    if pa.types.is_dictionary(type_):
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        arr = pc.cast(arr, pa.string()).dictionary_encode()
        return arr.cast(type_) if arr.type != type_ else arr
    if pa.types.is_timestamp(type_) and not pa.types.is_timestamp(arr.type):
        if arr.null_count == len(arr):
            return _nulls(n, type_, nulls)
        return _timestamps(arr.to_pylist(), n, name)
    if arr.type != type_:
        arr = pc.cast(arr, type_)
    return arr


def _timestamps(values: Sequence[Any], n: int, name: str) -> pa.Array:
    """Parse ISO-8601 text, datetimes or epoch seconds to UTC timestamps (unparseable -> null)."""
    import pandas as pd  # heavy: only for exports that carry annotation dates

    series = pd.Series(list(values), dtype="object")
    numeric = pd.to_numeric(series, errors="coerce")
    parsed = pd.to_datetime(series.where(numeric.isna()), utc=True, errors="coerce", format="ISO8601")
    from_epoch = pd.to_datetime(numeric, unit="s", utc=True, errors="coerce")
    parsed = parsed.fillna(from_epoch) if from_epoch.notna().any() else parsed
    arr = pa.array(parsed.dt.as_unit("us"), type=TIMESTAMP, from_pandas=True)
    if len(arr) != n:
        raise SchemaError(f"Column `{name}` has {len(arr)} values; expected {n}.")
    return arr


def _nulls(n: int, type_: pa.DataType, shared: dict | None) -> pa.Array:
    """``n`` nulls of ``type_``. With ``shared`` (a dict kept for one table), columns of fixed
    width up to 8 bytes share one pair of zeroed buffers: a COCO file has seven all-null columns
    (``exported_*``, ``annotated_at`` ...) of 860,000 rows in the bench, 7 MB each to write."""
    if shared is None or not (pa.types.is_primitive(type_) and type_.bit_width <= 64):
        return pa.nulls(n, type_)
    if "buffers" not in shared:
        shared["buffers"] = pa.nulls(n, pa.int64()).buffers()
    return pa.Array.from_buffers(type_, n, shared["buffers"], null_count=n)


def _table(schema: pa.Schema, columns: Mapping[str, Any], n: int, extra: Sequence[str] = ()) -> pa.Table:
    nulls: dict = {}
    arrays = [_as_array(columns.get(f.name), f.type, n, f.name, nulls) for f in schema]
    fields = list(schema)
    for name in extra:
        arrays.append(_as_array(columns[name], DICT_STRING, n, name))
        fields.append(pa.field(name, DICT_STRING))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _length(columns: Mapping[str, Any]) -> int:
    for v in columns.values():
        if v is not None:
            return len(v)
    return 0


def build_dataset(
    *,
    images: Mapping[str, Any],
    annotations: Mapping[str, Any],
    categories: Mapping[str, Any],
    task: Task,
    format: str,
    sources: Sequence[str],
    report: LoadReport | None = None,
    conditions: Sequence[str] = (),
    annotation_files: str | Sequence[str] | None = None,
    check_boxes: bool = True,
    unsized_boxes_normalised: bool = True,
) -> Dataset:
    """Assemble and validate a :class:`Dataset` from a reader's columns.

    ``images`` and ``categories`` map canonical column names to values (lists, NumPy or Arrow
    arrays); absent columns become nulls, ``image_id`` / ``category_id`` are assigned densely
    in row order. ``annotations`` uses ``image`` and ``category`` (row positions into the other
    two tables) instead of ids. ``conditions`` names image columns kept as conditions.
    ``annotation_files`` (one path, or one per annotation) names the file each annotation came
    from in report rows. Box problems are checked here, once, for every format.
    ``unsized_boxes_normalised`` (True): boxes of images of unknown size are normalised (YOLO
    labels without images) and checked against 0..1; False (COCO, VOC) means they are pixels
    that cannot be checked against the image.
    """
    report = report if report is not None else LoadReport()
    n_img, n_ann, n_cat = _length(images), _length(annotations), _length(categories)
    conditions = tuple(conditions)
    for name in conditions:
        if name in IMAGE_SCHEMA.names:
            raise SchemaError(f"Condition `{name}` has the name of a canonical image column; rename it.")

    img_cols = dict(images)
    img_cols["image_id"] = np.arange(n_img, dtype=np.int64)
    split = img_cols.get("split")
    if split is None:
        img_cols["split"] = pa.array([UNASSIGNED] * n_img)
    else:
        img_cols["split"] = _normalized_splits(split, n_img)
    if img_cols.get("source_id") is None:
        img_cols["source_id"] = pa.array([str(i) for i in range(n_img)])
    image_table = _table(IMAGE_SCHEMA, img_cols, n_img, conditions)

    cat_cols = dict(categories)
    cat_cols["category_id"] = np.arange(n_cat, dtype=np.int32)
    if cat_cols.get("critical") is None:
        cat_cols["critical"] = np.zeros(n_cat, dtype=bool)
    if cat_cols.get("source_id") is None:
        cat_cols["source_id"] = cat_cols.get("name")
    category_table = _table(CATEGORY_SCHEMA, cat_cols, n_cat)

    ann_cols = {k: v for k, v in annotations.items() if k not in ("image", "category")}
    ann_cols["image_id"] = annotations.get("image")
    ann_cols["category_id"] = annotations.get("category")
    ann_cols["ann_id"] = np.arange(n_ann, dtype=np.int64)
    annotation_table = _table(ANNOTATION_SCHEMA, ann_cols, n_ann)
    uncounted = UNCOUNTED_SCHEMA.empty_table()
    if check_boxes and n_ann:
        annotation_table, uncounted = _check_boxes(
            annotation_table, image_table, report, annotation_files, unsized_boxes_normalised)

    validate(image_table, annotation_table, category_table)
    return Dataset(
        images=image_table,
        annotations=annotation_table,
        categories=category_table,
        task=task,
        report=report,
        format=format,
        sources=tuple(str(s) for s in sources),
        conditions=conditions,
        uncounted=uncounted,
    )


def _normalized_splits(values: Any, n: int) -> pa.Array:
    arr = _as_array(values, pa.string(), n, "split") if not isinstance(values, pa.DictionaryArray) else values
    if isinstance(arr, pa.DictionaryArray):
        arr = arr.dictionary_decode()
    enc = pc.cast(arr, pa.string()).dictionary_encode()
    mapped = pa.array([normalize_split(v) for v in enc.dictionary.to_pylist()], pa.string())
    indices = pc.fill_null(enc.indices, -1)
    if pc.any(pc.equal(indices, -1)).as_py():
        mapped = pa.concat_arrays([mapped, pa.array([UNASSIGNED])])
        indices = pc.if_else(pc.equal(indices, -1), len(mapped) - 1, indices)
    return pc.take(mapped, indices)


def _check_boxes(
    anns: pa.Table, images: pa.Table, report: LoadReport, files: str | Sequence[str] | None, unsized_normalised: bool
) -> tuple[pa.Table, pa.Table]:
    """Report non-finite, non-positive and out-of-image boxes; clip for counting, keep the export's box.

    Returns the counted annotations and the ``uncounted`` ones (:data:`UNCOUNTED_SCHEMA`).
    Non-finite coordinates (NaN, inf) are unusable: the annotation is skipped. A box of zero or
    negative size is kept and reported (it still says the object is there). A box reaching past
    the image border is clipped to it for counting and reported, its exported box kept in
    ``exported_*``; one wholly outside is skipped for counting and kept in ``uncounted`` for
    evaluation. Images of unknown size have normalised boxes, checked against 0..1.
    """
    # Written for 860,000 boxes at a time: a full-length array costs 7 MB of fresh memory to
    # write, so the usual case (every box finite, every image sized) makes as few as it can.
    x, y, w, h = (anns.column(c).to_numpy(zero_copy_only=False) for c in BOX_COLUMNS)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & np.isfinite(h)
    has_box = finite if finite.all() else ~np.isnan(x) | ~np.isnan(y) | ~np.isnan(w) | ~np.isnan(h)
    if not has_box.any():
        return anns, UNCOUNTED_SCHEMA.empty_table()
    image_idx = anns.column("image_id").to_numpy()
    widths = images.column("width").to_numpy(zero_copy_only=False).astype(np.float64)
    heights = images.column("height").to_numpy(zero_copy_only=False).astype(np.float64)
    unsized = np.isnan(widths) | np.isnan(heights)  # per image
    normalised = unsized if unsized_normalised else np.zeros(len(unsized), dtype=bool)
    if unsized.any():  # pixel boxes of images of unknown size cannot be checked against the image
        widths = np.where(normalised, 1.0, np.where(unsized, np.inf, widths))
        heights = np.where(normalised, 1.0, np.where(unsized, np.inf, heights))
    width, height, normalised = widths[image_idx], heights[image_idx], normalised[image_idx]
    sids = anns.column("source_id")

    def where_file(mask: np.ndarray) -> list[str]:
        if files is None or isinstance(files, str):
            return [files or ""] * int(mask.sum())
        return [files[i] for i in np.flatnonzero(mask)]

    def rows(mask: np.ndarray, code: str, problems: list[str], action: str) -> None:
        records = pc.filter(sids, pa.array(mask)).to_pylist()
        for file, rec, text in zip(where_file(mask), records, problems):
            report.add(file, rec, code, text, action)

    bad = has_box & ~finite
    if bad.any():
        idx = np.flatnonzero(bad)
        rows(bad, "non_finite_box", [f"box has a non-finite value: [{x[i]}, {y[i]}, {w[i]}, {h[i]}]" for i in idx], "skipped")
    with np.errstate(invalid="ignore"):
        ok = has_box & finite
        nonpos = ok & ((w <= 0) | (h <= 0))
        x2, y2 = x + w, y + h
        outside = ok & ~nonpos & ((x >= width) | (y >= height) | (x2 <= 0) | (y2 <= 0))
        past = ok & ~nonpos & ~outside & ((x < 0) | (y < 0) | (x2 > width) | (y2 > height))
    if nonpos.any():
        idx = np.flatnonzero(nonpos)
        rows(nonpos, "non_positive_box", [f"box of non-positive size: w={w[i]:g}, h={h[i]:g}" for i in idx], "kept")
    if outside.any():
        idx = np.flatnonzero(outside)
        rows(outside, "box_outside_image",
             [f"box [{x[i]:g}, {y[i]:g}, {w[i]:g}, {h[i]:g}] lies wholly outside the {_size(width[i], height[i], normalised[i])} image" for i in idx],
             "skipped")
    if past.any():
        idx = np.flatnonzero(past)
        rows(past, "box_clipped",
             [f"box [{x[i]:g}, {y[i]:g}, {w[i]:g}, {h[i]:g}] reaches past the border of the {_size(width[i], height[i], normalised[i])} image" for i in idx],
             "clipped")
        cx1, cy1 = np.clip(x, 0, width), np.clip(y, 0, height)
        cx2, cy2 = np.clip(x2, 0, width), np.clip(y2, 0, height)
        for name, new, old in (("x", cx1, x), ("y", cy1, y), ("w", cx2 - cx1, w), ("h", cy2 - cy1, h)):
            absent = anns.column(name).is_null().to_numpy(zero_copy_only=False)  # no box stays null, not NaN
            anns = anns.set_column(anns.schema.get_field_index(name), name,
                                   pa.array(np.where(past, new, old), pa.float64(), mask=absent))
            anns = anns.set_column(anns.schema.get_field_index(f"exported_{name}"), f"exported_{name}",
                                   pa.array(old, pa.float64(), mask=~past))
    uncounted = UNCOUNTED_SCHEMA.empty_table()
    if outside.any():
        # its place among the rows evaluation sees: all but the non-finite ones, in export order
        position = np.cumsum(~bad)[outside] - 1
        uncounted = anns.filter(pa.array(outside)).drop_columns(["ann_id"])
        uncounted = uncounted.add_column(0, "position", pa.array(position, pa.int64())).cast(UNCOUNTED_SCHEMA)
    drop = bad | outside
    if drop.any():
        anns = anns.filter(pa.array(~drop))
        anns = anns.set_column(0, "ann_id", pa.array(np.arange(anns.num_rows, dtype=np.int64)))
    return anns, uncounted


def _size(w: float, h: float, normalised: bool) -> str:
    if normalised:
        return "normalised 1x1"
    return "unknown-size" if np.isinf(w) or np.isinf(h) else f"{w:g}x{h:g}"


# --------------------------------------------------------------------------- validation


def validate(images: pa.Table, annotations: pa.Table, categories: pa.Table) -> None:
    """Check the three tables against the canonical schema; raise :class:`SchemaError` naming the column.

    Checks: every canonical column present with its type; extra image columns are
    dictionary-encoded strings (conditions); ids dense (0..n-1 in row order); every
    annotation's ``image_id`` and ``category_id`` refer to an existing row; required columns
    have no nulls.
    """
    for table_name, table, schema in (
        ("images", images, IMAGE_SCHEMA),
        ("annotations", annotations, ANNOTATION_SCHEMA),
        ("categories", categories, CATEGORY_SCHEMA),
    ):
        for f in schema:
            if f.name not in table.schema.names:
                raise SchemaError(f"`{table_name}` lacks column `{f.name}` ({f.type}).")
            found = table.schema.field(f.name).type
            if found != f.type:
                raise SchemaError(f"`{table_name}.{f.name}` must be {f.type}. Got {found} instead.")
            if not f.nullable and table.column(f.name).null_count:
                raise SchemaError(
                    f"`{table_name}.{f.name}` must have no nulls. Found {table.column(f.name).null_count}."
                )
    for name in images.schema.names:
        if name not in IMAGE_SCHEMA.names and images.schema.field(name).type != DICT_STRING:
            raise SchemaError(
                f"Condition column `images.{name}` must be {DICT_STRING}. Got {images.schema.field(name).type} instead."
            )
    for table_name, table, id_col in (
        ("images", images, "image_id"),
        ("annotations", annotations, "ann_id"),
        ("categories", categories, "category_id"),
    ):
        ids = table.column(id_col).to_numpy()
        if len(ids) and not np.array_equal(ids, np.arange(len(ids))):
            raise SchemaError(f"`{table_name}.{id_col}` must be dense: 0..{len(ids) - 1} in row order.")
    names = categories.column("name").to_pylist()
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise SchemaError(f"`categories.name` must be unique. Repeated: {dup}.")
    for col, n, target in (("image_id", images.num_rows, "images"), ("category_id", categories.num_rows, "categories")):
        ids = annotations.column(col).to_numpy()
        if len(ids) and (ids.min() < 0 or ids.max() >= n):
            raise SchemaError(f"`annotations.{col}` refers to rows `{target}` does not have (ids 0..{n - 1}).")
