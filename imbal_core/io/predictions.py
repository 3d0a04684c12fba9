"""Model predictions -> one canonical table, matched to a dataset, with every mismatch reported.

Three inputs are read:

``coco``
    A COCO results JSON: a list of ``{"image_id", "category_id", "score", "bbox"}`` records,
    optionally with ``"segmentation"`` (RLE with ``counts`` as text or a list, or polygons).
    A COCO-style object with an ``annotations`` list of such records is accepted too.
    ``image_id`` and ``category_id`` are the export's own ids, matched to the dataset's
    ``images.source_id`` and ``categories.source_id``.
``yolo``
    A folder (or one file) of Ultralytics prediction ``.txt`` files, one per image, lines
    ``class cx cy w h [conf]`` normalised to 0..1. The file's stem is matched to the image's
    file name; the class index to ``categories.source_id`` (a YOLO dataset keeps the index
    there) or, with ``names``, to the class named at that index. Boxes become pixels where the
    image size is known (as the dataset's own boxes do). A line without ``conf`` is scored 1.0
    (reported once per file).
``csv``
    A classification table (CSV / TSV / Parquet): an image column (``image``, ``file_name`` ...),
    a predicted-label column (``predicted``, ``prediction``, ``pred`` ...) and optional per-class
    score columns ``score_<class>`` (or ``prob_<class>``), as in ``sample_data/surface/predictions.csv``.
    Without a predicted column the highest score is the prediction; a ``score`` /
    ``confidence`` column is the score of the predicted class.

The canonical table (:data:`DETECTION_SCHEMA` / :data:`CLASSIFICATION_SCHEMA`), one row per
prediction, in file order:

- ``image`` (text): the image as the file names it (COCO id, YOLO file stem, CSV cell);
  ``image_id`` (int64): the dense dataset id, null when the image is not in the dataset (or no
  dataset was given).
- ``label`` (text): the class as the file names it (COCO category id, YOLO index, CSV name);
  ``category_id`` (int32): the dense dataset id, null when unknown.
- ``score`` (float64, 0..1 for most models): the confidence of this prediction; for
  classification the score of the predicted class (null when the file has none).
- detection: ``x``, ``y``, ``w``, ``h`` (float64, pixels; normalised when the image size is
  unknown); ``rle_counts`` (compressed COCO RLE as text), ``rle_height``, ``rle_width``
  (int32) when the prediction has a mask; ``polygons`` (list of ``[x1, y1, x2, y2, ...]``)
  when the mask came as polygons. Null when absent.
- classification: ``scores`` (fixed-size list of float64, one per class of
  :attr:`Predictions.class_names`), null when the file has no score columns.
- ``record``: where the row came from (``file:index`` or ``file:line``), for reports.

Matching is done once, by :func:`match_predictions` (the readers call it when given a dataset).
Nothing is dropped silently: predictions for images or classes the dataset does not have keep
a null id and are listed in the report (``unknown_image``, ``unknown_class``: one row per image
or class, with the number of predictions), as are dataset images without any prediction
(``image_without_predictions``) and unreadable records (``bad_record``, ``bad_line``). Analyses
use :meth:`Predictions.matched`. :attr:`Predictions.coverage` holds the counts.

>>> ds = imbal_core.load("instances_val2017.json")
>>> preds = read_predictions("detections.json", ds)       # format sniffed
>>> preds.coverage.unknown_image_predictions, preds.report.to_pandas()
>>> pool = read_predictions("unlabelled_scores.csv")       # no dataset: ids stay null
>>> pool.score_matrix(), pool.class_names                  # (n, classes) scores for active learning
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import Dataset
from ..report import LoadError, LoadReport
from ._files import decode_text, parse_json, read_bytes
from ._prediction_matching import class_lookup, image_lookup, map_ids, to_pixels, unknown_class_text
from ._prediction_parsing import MAX_REPORT_ROWS, coco_record, first_per_image, parse_float, parse_scores, whole
from ._tables import PARQUET_SUFFIXES, detect_column, read_any_table, text_column

log = logging.getLogger(__name__)


PredictionFormat = Literal["auto", "coco", "yolo", "csv"]
PredictionKind = Literal["detection", "classification"]
PREDICTION_FORMATS: tuple[str, ...] = ("coco", "yolo", "csv")

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


PREDICTED_FIELDS = ("predicted", "prediction", "pred", "predicted_label", "pred_label", "predicted_class",
                    "pred_class", "label", "class")
SCORE_FIELDS = ("score", "confidence", "conf", "probability", "prob")
SCORE_PREFIXES = ("score_", "prob_", "probability_")
IMAGE_FIELDS = ("image", "file_name", "filename", "file", "path", "image_path", "img", "image_id", "name")
YOLO_SKIP = {"classes.txt", "notes.txt", "readme.txt", "labels.txt"}


@dataclass(frozen=True)
class Coverage:
    """How the predictions met the dataset (all counts; zero when no dataset was given)."""

    predictions: int  # rows read
    matched: int  # rows with a known image and a known class
    unknown_image_predictions: int  # rows whose image the dataset does not have
    unknown_images: int  # distinct such images
    unknown_class_predictions: int  # rows (of known images) whose class the dataset does not have
    unknown_classes: int
    images_with_predictions: int  # dataset images with at least one matched prediction
    images_without_predictions: int  # dataset images with none

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)
class Predictions:
    """A model's predictions in the canonical table (see the module docstring).

    ``kind``: "detection" (boxes, maybe masks) or "classification". ``class_names`` names the
    ``scores`` columns of a classification table (the dataset's classes in ``category_id``
    order once matched; the file's score columns otherwise), and is empty for detection.
    ``matched_to`` is the key (or summary) of the dataset matched, None when unmatched.
    """

    kind: PredictionKind
    table: pa.Table
    format: str
    source: str
    report: LoadReport = field(default_factory=LoadReport)
    class_names: tuple[str, ...] = ()
    coverage: Coverage | None = None
    matched_to: str | None = None

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
        return text + (" — " + ", ".join(extras) if extras else "")


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


# --------------------------------------------------------------------------- entry point


def sniff_predictions(path: str | Path) -> str:
    """``coco`` for JSON, ``csv`` for CSV / TSV / Parquet, ``yolo`` for a folder or ``.txt`` file."""
    p = Path(path)
    if p.is_dir():
        return "yolo"
    suffix = p.suffix.lower()
    if suffix == ".json":
        return "coco"
    if suffix in (".csv", ".tsv", *PARQUET_SUFFIXES):
        return "csv"
    if suffix == ".txt":
        return "yolo"
    raise LoadError(
        f"{p}: cannot tell what kind of predictions this is from its name. Give a COCO results .json, "
        f"a folder of YOLO .txt files or a classification .csv / .parquet (or pass `format`).", file=str(p))


def read_predictions(
    path: str | Path,
    dataset: Dataset | None = None,
    *,
    format: PredictionFormat = "auto",
    names: Sequence[str] | None = None,
    image_column: str | None = None,
    label_column: str | None = None,
) -> Predictions:
    """Read a predictions file (format sniffed when ``auto``) and match it to ``dataset`` if given.

    ``names`` (YOLO only): class names in index order, when the dataset does not identify its
    classes by YOLO index. ``image_column`` / ``label_column`` (CSV only): the columns of the
    image and of the predicted label, when they cannot be found by name.
    Raises :class:`LoadError` when the file cannot be used at all.
    """
    path = Path(path)
    if not path.exists():
        raise LoadError(f"{path}: no such file or folder.", file=str(path))
    fmt = sniff_predictions(path) if format == "auto" else format
    if fmt not in PREDICTION_FORMATS:
        raise ValueError(f"`format` must be one of {['auto', *PREDICTION_FORMATS]}. Got {format!r} instead.")
    if names is not None and fmt != "yolo":
        raise ValueError(f"`names` applies to YOLO predictions only; this is a {fmt} file.")
    if (image_column or label_column) and fmt != "csv":
        raise ValueError(f"`image_column` / `label_column` apply to CSV predictions only; this is a {fmt} file.")
    if fmt == "coco":
        preds = read_coco_results(path)
    elif fmt == "yolo":
        preds = read_yolo_predictions(path, names=names)
    else:
        preds = read_classification_predictions(path, image_column=image_column, label_column=label_column)
    return match_predictions(preds, dataset) if dataset is not None else preds


# --------------------------------------------------------------------------- COCO results


def read_coco_results(path: str | Path, dataset: Dataset | None = None) -> Predictions:
    """A COCO results JSON (see the module docstring); matched to ``dataset`` when given."""
    path = str(path)
    report = LoadReport()
    doc = parse_json(read_bytes(path), path, report)
    if isinstance(doc, dict) and isinstance(doc.get("annotations"), list):
        records = doc["annotations"]
    elif isinstance(doc, list):
        records = doc
    else:
        raise LoadError(f"{path}: not a COCO results file — expected a list of detections, found a "
                        f"{type(doc).__name__}.", report, path)
    cols: dict[str, list] = {k: [] for k in ("image", "label", "score", "x", "y", "w", "h", "rle_counts",
                                             "rle_height", "rle_width", "polygons", "record")}
    for i, rec in enumerate(records):
        where = f"{Path(path).name}[{i}]"
        problem = coco_record(rec, cols, where)
        if problem:
            report.add(path, where, "bad_record", problem, "skipped")
    table = _detection_table(cols)
    preds = Predictions("detection", table, "coco", path, report)
    return match_predictions(preds, dataset) if dataset is not None else preds


def _detection_table(cols: dict[str, list]) -> pa.Table:
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


# --------------------------------------------------------------------------- YOLO txt


def read_yolo_predictions(path: str | Path, dataset: Dataset | None = None, *,
                          names: Sequence[str] | None = None) -> Predictions:
    """A folder of YOLO prediction ``.txt`` files (or one file); see the module docstring.

    The image key is the file's path below the folder without its suffix (``val/img_01``),
    matched to the dataset by file name, then by stem. ``names`` maps class indices to names.
    """
    root = Path(path)
    report = LoadReport()
    if root.is_dir():
        files = sorted(p for p in root.rglob("*.txt") if p.name.lower() not in YOLO_SKIP and not p.name.startswith("."))
        if not files:
            raise LoadError(f"{root}: no .txt prediction files in this folder.", report, str(root))
    else:
        files, root = [root], root.parent
    label_of = {str(i): str(n) for i, n in enumerate(names)} if names is not None else None
    cols: dict[str, list] = {k: [] for k in ("image", "label", "score", "x", "y", "w", "h", "record")}
    for file in files:
        key = file.relative_to(root).with_suffix("").as_posix()
        text = decode_text(read_bytes(file), file, report)
        unscored = 0
        for number, line in enumerate(text.splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            where = f"{file.name}:{number}"
            values = [parse_float(v) for v in parts[1:]]
            if len(parts) not in (5, 6) or any(v is None for v in values) or whole(parse_float(parts[0])) is None:
                report.add(file, where, "bad_line",
                           f"line {line.strip()!r:.60} is not `class cx cy w h [conf]` with numbers", "skipped")
                continue
            index = whole(parse_float(parts[0]))
            label = label_of.get(index, index) if label_of is not None else index
            if label_of is not None and index not in label_of:
                report.add(file, where, "unknown_class", f"class index {index} is beyond the {len(label_of)} names", "skipped")
                continue
            cx, cy, w, h = values[:4]
            score = values[4] if len(values) == 5 else None
            if score is None:
                unscored += 1
                score = 1.0
            cols["image"].append(key)
            cols["label"].append(label)
            cols["score"].append(score)
            for k, v in (("x", cx - w / 2), ("y", cy - h / 2), ("w", w), ("h", h)):
                cols[k].append(v)
            cols["record"].append(where)
        if unscored:
            report.add(file, file.name, "no_score", f"{unscored} lines have no confidence", "scored 1.0")
    for k in ("rle_counts", "rle_height", "rle_width", "polygons"):
        cols[k] = [None] * len(cols["image"])
    table = _detection_table(cols)
    preds = Predictions("detection", table, "yolo", str(path), report)
    return match_predictions(preds, dataset) if dataset is not None else preds


# --------------------------------------------------------------------------- classification table


def read_classification_predictions(path: str | Path, dataset: Dataset | None = None, *,
                                    image_column: str | None = None,
                                    label_column: str | None = None) -> Predictions:
    """A classification predictions table (CSV / TSV / Parquet); see the module docstring."""
    report = LoadReport()
    raw = read_any_table(path, report)
    file = raw.file
    names = raw.table.schema.names
    image_col = detect_column(names, IMAGE_FIELDS, image_column, "image", file, report)
    if image_col is None:
        raise LoadError(f"{file}: no image column found. Columns: {names}. Name it `image` (or pass `image_column`).",
                        report, file)
    score_cols: dict[str, str] = {}
    for name in names:
        low = name.lower()
        prefix = next((p for p in SCORE_PREFIXES if low.startswith(p) and len(name) > len(p)), None)
        if prefix and name != image_col:
            score_cols[name[len(prefix):]] = name
    rest = [n for n in names if n != image_col and n not in score_cols.values()]
    label_col = detect_column(rest, PREDICTED_FIELDS, label_column, "label", file, report)
    if label_col is None and not score_cols:
        raise LoadError(
            f"{file}: no predicted-label column and no `score_<class>` columns. Columns: {names}. "
            f"Name the prediction `predicted` (or pass `label_column`).", report, file)
    image = text_column(raw, image_col, report)
    records = raw.records
    class_names = tuple(score_cols)
    scores = None
    if score_cols:
        matrix = np.column_stack([
            pc.cast(raw.table.column(c), pa.float64(), safe=False).to_numpy(zero_copy_only=False)
            if not pa.types.is_string(raw.table.column(c).type) else parse_scores(raw, c, report)
            for c in score_cols.values()
        ]).astype(np.float64)
        scores = matrix
    if label_col is not None:
        label = text_column(raw, label_col, report)
    else:
        label = pa.array([class_names[i] for i in np.nanargmax(np.nan_to_num(scores, nan=-np.inf), axis=1)], pa.string())
    score_col = detect_column([n for n in rest if n != label_col], SCORE_FIELDS, None, "score", file, report)
    if score_col is not None:
        score = pc.cast(raw.table.column(score_col), pa.float64(), safe=False) \
            if not pa.types.is_string(raw.table.column(score_col).type) else pa.array(parse_scores(raw, score_col, report))
    elif scores is not None:
        col_of = {n: i for i, n in enumerate(class_names)}
        idx = np.array([col_of.get(v, -1) for v in label.to_pylist()], dtype=np.int64)
        picked = np.where(idx >= 0, scores[np.arange(len(idx)), np.maximum(idx, 0)], np.nan)
        score = pa.array(picked, mask=np.isnan(picked))
    else:
        score = pa.nulls(raw.num_rows, pa.float64())
    keep = pc.and_(pc.is_valid(image), pc.is_valid(label)).to_numpy(zero_copy_only=False)
    if not keep.all():
        bad = np.flatnonzero(~keep)
        rec = records.to_pylist()
        for i in bad[:MAX_REPORT_ROWS]:
            what = "image" if image[i].as_py() is None else "predicted label"
            report.add(file, rec[i], "bad_record", f"the {what} cell is empty", "skipped")
    n_classes = len(class_names)
    columns = {
        "image": image, "image_id": pa.nulls(raw.num_rows, pa.int64()), "label": label,
        "category_id": pa.nulls(raw.num_rows, pa.int32()), "score": pc.cast(score, pa.float64()),
        "scores": _scores_array(scores, n_classes, raw.num_rows), "record": records,
    }
    table = pa.table(columns, schema=classification_schema(n_classes)).filter(pa.array(keep))
    table, dup = first_per_image(table)
    for image_key, count in list(dup.items())[:MAX_REPORT_ROWS]:
        report.add(file, image_key, "duplicate_prediction", f"image {image_key!r} is predicted {count + 1} times", "kept the first")
    preds = Predictions("classification", table, "csv", file, report, class_names=class_names)
    return match_predictions(preds, dataset) if dataset is not None else preds


def _scores_array(scores: np.ndarray | None, n_classes: int, n: int) -> pa.Array:
    if scores is None or not n_classes:
        return pa.nulls(n, classification_schema(n_classes).field("scores").type)
    flat = pa.array(scores.reshape(-1), pa.float64())
    return pa.FixedSizeListArray.from_arrays(flat, n_classes)


# --------------------------------------------------------------------------- matching


def match_predictions(predictions: Predictions, dataset: Dataset) -> Predictions:
    """Resolve ``image`` / ``label`` to the dataset's dense ids and report every mismatch.

    Images are matched by the export's own id (``source_id``), then by file name, then by file
    name without folders, then by stem (a stem shared by several images is ambiguous and
    reported). Classes are matched by ``source_id`` (COCO id, YOLO index), then by name.
    Classification scores are reordered to the dataset's classes (``class_names`` becomes the
    dataset's); a class without a score column gets NaN scores (reported). A new
    :class:`Predictions` is returned; the input is unchanged.
    """
    if predictions.kind == "classification" and dataset.task != "classification":
        raise LoadError(f"{predictions.source}: classification predictions, but the dataset is a {dataset.task} "
                        f"export. Give detection results (COCO results JSON or YOLO txt) instead.",
                        file=predictions.source)
    if predictions.kind == "detection" and dataset.task == "classification":
        raise LoadError(f"{predictions.source}: detection predictions (boxes), but the dataset is a classification "
                        f"export. Give a table of predicted labels instead.", file=predictions.source)
    report = LoadReport()
    report.extend(predictions.report)
    table = predictions.table
    file = predictions.source
    image_keys = table.column("image").combine_chunks()
    uniq_images = pc.unique(image_keys)
    image_map = image_lookup(dataset, uniq_images.to_pylist(), predictions.format, report, file)
    image_id = map_ids(image_keys, uniq_images, image_map, pa.int64())
    labels = table.column("label").combine_chunks()
    uniq_labels = pc.unique(labels)
    class_map = class_lookup(dataset, uniq_labels.to_pylist(), predictions.format)
    category_id = map_ids(labels, uniq_labels, class_map, pa.int32())

    img_np = image_id.to_numpy(zero_copy_only=False)
    known_img = ~np.isnan(img_np) if img_np.dtype.kind == "f" else np.ones(len(img_np), bool)
    cat_valid = pc.is_valid(category_id).to_numpy(zero_copy_only=False)
    unknown_img_keys = Counter(k for k, v in zip(image_keys.to_pylist(), known_img) if not v) if not known_img.all() else Counter()
    for key, count in list(unknown_img_keys.items())[:MAX_REPORT_ROWS]:
        report.add(file, key, "unknown_image",
                   f"{count} prediction{'s' if count != 1 else ''} for image {key!r}, which the dataset does not have",
                   "left out of the evaluation")
    if len(unknown_img_keys) > MAX_REPORT_ROWS:
        _more(report, file, "unknown_image", len(unknown_img_keys) - MAX_REPORT_ROWS, "images")
    unknown_cls = known_img & ~cat_valid
    unknown_labels = Counter(pc.filter(labels, pa.array(unknown_cls)).to_pylist()) if unknown_cls.any() else Counter()
    for label, count in unknown_labels.most_common():
        report.add(file, label, "unknown_class", unknown_class_text(label, count, dataset, predictions.format),
                   "left out of the evaluation")

    scores = table.column("scores").combine_chunks() if predictions.kind == "classification" else None
    class_names = predictions.class_names
    if predictions.kind == "classification":
        scores, class_names = _reorder_scores(predictions, dataset, report)
    columns = {name: table.column(name) for name in table.schema.names}
    columns["image_id"] = image_id
    columns["category_id"] = category_id
    if scores is not None:
        columns["scores"] = scores
    schema = classification_schema(len(class_names)) if predictions.kind == "classification" else DETECTION_SCHEMA
    if predictions.kind == "detection":
        columns = to_pixels(columns, image_id, dataset, predictions.format)
    new_table = pa.table(columns, schema=schema)

    matched_images = np.zeros(dataset.num_images, dtype=bool)
    ok = known_img & cat_valid
    if ok.any():
        matched_images[img_np[ok].astype(np.int64)] = True
    missing = np.flatnonzero(~matched_images)
    action = "left out of the metrics" if predictions.kind == "classification" else "evaluated as no detections"
    if len(missing):
        src = dataset.images.column("source_id").to_pylist()
        fname = dataset.images.column("file_name").to_pylist()
        for i in missing[:MAX_REPORT_ROWS]:
            report.add(file, src[i], "image_without_predictions",
                       f"image {fname[i] or src[i]!r} has no prediction", action)
        if len(missing) > MAX_REPORT_ROWS:
            _more(report, file, "image_without_predictions", len(missing) - MAX_REPORT_ROWS, "images")
    coverage = Coverage(
        predictions=table.num_rows,
        matched=int(ok.sum()),
        unknown_image_predictions=int((~known_img).sum()),
        unknown_images=len(unknown_img_keys),
        unknown_class_predictions=int(unknown_cls.sum()),
        unknown_classes=len(unknown_labels),
        images_with_predictions=int(matched_images.sum()),
        images_without_predictions=int(len(missing)),
    )
    if coverage.matched == 0 and table.num_rows:
        log.warning("%s: no prediction matched the dataset", file)
    return replace(predictions, table=new_table, report=report, class_names=class_names, coverage=coverage,
                   matched_to=dataset.key or dataset.summary_line())


def _more(report: LoadReport, file: str, code: str, count: int, what: str) -> None:
    report.add(file, "…", code, f"and {count:,} more {what} (the report lists the first {MAX_REPORT_ROWS:,})",
               "counted in the coverage")


def _reorder_scores(predictions: Predictions, dataset: Dataset, report: LoadReport) -> tuple[pa.Array, tuple[str, ...]]:
    """Scores in the dataset's class order; columns for unknown classes reported, missing ones NaN."""
    table = predictions.table
    names = tuple(dataset.class_names)
    n = table.num_rows
    if not predictions.class_names:
        return _scores_array(None, len(names), n), names
    file_cols = {c: i for i, c in enumerate(predictions.class_names)}
    lookup = class_lookup(dataset, list(file_cols), "csv")
    for c in predictions.class_names:
        if c not in lookup:
            report.add(predictions.source, f"score_{c}", "unknown_score_column",
                       f"score column for {c!r}, which is not a class of the dataset", "ignored")
    present = {lookup[c]: file_cols[c] for c in file_cols if c in lookup}
    missing = [names[i] for i in range(len(names)) if i not in present]
    for name in missing:
        report.add(predictions.source, f"score_{name}", "missing_score_column",
                   f"no score column for class {name!r}", "its scores are unknown (no PR AUC)")
    old = predictions.score_matrix()
    if old is None:  # some rows lack scores
        return _scores_array(None, len(names), n), names
    new = np.full((n, len(names)), np.nan)
    for cat, col in present.items():
        new[:, cat] = old[:, col]
    return _scores_array(new, len(names), n), names


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


__all__ = [
    "CLASSIFICATION_SCHEMA", "Coverage", "DETECTION_SCHEMA", "PREDICTION_FORMATS", "PredictionFormat",
    "PredictionKind", "Predictions", "classification_schema", "images_frame", "match_predictions",
    "read_classification_predictions", "read_coco_results", "read_predictions", "read_yolo_predictions",
    "sniff_predictions",
]
