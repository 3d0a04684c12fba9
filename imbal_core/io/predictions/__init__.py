"""Model predictions -> one canonical table, matched to a dataset, with every mismatch reported.

Four inputs are read:

``coco``
    A COCO results JSON: a list of ``{"image_id", "category_id", "score", "bbox"}`` records,
    optionally with ``"segmentation"`` (RLE with ``counts`` as text or a list, or polygons).
    A full COCO file of detections (``images``, ``annotations`` with a ``score``, ``categories``)
    is accepted too. ``image_id`` and ``category_id`` are matched to the dataset's
    ``images.source_id`` and ``categories.source_id``. When the file names its images (a full
    file's ``images``, or a ``file_name`` on each result) and its image ids are its own — an id
    the dataset lacks while its file name is the dataset's, or an id whose file name is another
    image's — every image is matched by file name instead (whole path, then base name when
    unique), and one report row (``matched_by_file_name``) gives the counts matched and not; a
    full file's categories likewise by name (``matched_by_class_name``). Never a guess: without
    file names, ids are used; see :mod:`.names`.
``yolo``
    A folder (or one file) of Ultralytics prediction ``.txt`` files, one per image, lines
    ``class cx cy w h [conf]`` normalised to 0..1 by default; option ``layout`` gives another
    column order (``cls,conf,x,y,w,h``: any order of cls, conf, x, y, w, h; x y the centre) and
    ``coords`` (``normalized`` or ``pixels``) the unit. The file's stem is matched to the image's
    file name; the class index to ``categories.source_id`` (a YOLO dataset keeps the index
    there) or, with ``names``, to the class named at that index. Normalised boxes become pixels
    where the image size is known (as the dataset's own boxes do); normalised coordinates outside
    0..1 are reported (the message suggests ``coords=pixels``). A line without ``conf`` (when it
    is the last column) is scored 1.0 (reported once per file).
``scalabel``
    Scalabel / BDD100K JSON, as the ground truth (:mod:`imbal_core.io.scalabel`), with a ``score``
    per label: ``box2d`` boxes, ``poly2d`` / ``rle`` masks; matched by ``<videoName>/<name>`` or
    file name, and class name. See :mod:`.scalabel`.
``csv``
    A classification table (CSV / TSV / Parquet): an image column (``image``, ``file_name`` ...),
    a predicted-label column (``predicted``, ``prediction``, ``pred`` ...) and optional per-class
    score columns ``score_<class>`` (or ``prob_<class>``), as in ``sample_data/surface/predictions.csv``.
    Without a predicted column the highest score is the prediction; a ``score`` /
    ``confidence`` column is the score of the predicted class.

The canonical table (:data:`DETECTION_SCHEMA` / :data:`CLASSIFICATION_SCHEMA`), one row per
prediction, in file order:

- ``image`` (text): the image as the file names it (COCO id, YOLO file stem, Scalabel name, CSV cell);
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
use :meth:`Predictions.matched`. :attr:`Predictions.coverage` holds the counts. A detection of
an unknown class is left out of the evaluation (pycocotools does the same); a classification of
an unknown class is a wrong prediction, counted under a class of its own (scikit-learn does the same).

Options by format (``options`` of :func:`read_predictions`, ``--pred-opt KEY=VALUE`` of ``imbal
eval``; :data:`PREDICTION_OPTIONS`): ``yolo``: ``layout``, ``coords``; ``csv``: ``image_column``,
``label_column``; ``coco`` and ``scalabel`` take none. An option the format does not take is an error
naming the ones it does.

The code lives in parts, each importable from here: the table and its dataclasses
(``table``), one reader per format (``coco``, ``yolo``,
``scalabel``, ``csv_table``), matching (``matching``, and by file
name ``names``) and per-record parsing (``parsing``).

>>> ds = imbal_core.load("instances_val2017.json")
>>> preds = read_predictions("detections.json", ds)       # format sniffed
>>> preds.coverage.unknown_image_predictions, preds.report.to_pandas()
>>> pool = read_predictions("unlabelled_scores.csv")       # no dataset: ids stay null
>>> pool.score_matrix(), pool.class_names                  # (n, classes) scores for active learning
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

from ...dataset import Dataset
from ...report import LoadError
from .coco import read_coco_results
from .csv_table import (  # noqa: F401 (the *_FIELDS / *_PREFIXES column names: re-exported)
    IMAGE_FIELDS,
    PREDICTED_FIELDS,
    SCORE_FIELDS,
    SCORE_PREFIXES,
    read_classification_predictions,
)
from .matching import match_predictions
from .table import (
    CLASSIFICATION_SCHEMA,
    DETECTION_SCHEMA,
    Coverage,
    PredictionKind,
    Predictions,
    classification_schema,
    images_frame,
)
from .scalabel import read_scalabel_predictions
from .yolo import YOLO_SKIP, read_yolo_predictions, yolo_layout  # noqa: F401 (YOLO_SKIP: re-exported)
from .._tables import PARQUET_SUFFIXES
from ..sniff import looks_like_scalabel

PredictionFormat = Literal["auto", "coco", "yolo", "scalabel", "csv"]
PREDICTION_FORMATS: tuple[str, ...] = ("coco", "yolo", "scalabel", "csv")
#: The options each format takes (``options`` of :func:`read_predictions`).
PREDICTION_OPTIONS: dict[str, tuple[str, ...]] = {
    "coco": (), "yolo": ("layout", "coords"), "scalabel": (), "csv": ("image_column", "label_column"),
}
_HEAD = 1 << 16


# --------------------------------------------------------------------------- entry point


def sniff_predictions(path: str | Path) -> str:
    """``coco`` or ``scalabel`` for JSON (by its first bytes), ``csv`` for CSV / TSV / Parquet,
    ``yolo`` for a ``.txt`` file or a folder with ``.txt`` files, ``scalabel`` for a folder of
    Scalabel JSON files only."""
    p = Path(path)
    if p.is_dir():
        if next(p.rglob("*.txt"), None) is None:
            first = next(iter(sorted(p.glob("*.json")) + sorted(p.glob("*/*.json"))), None)
            if first is not None and _json_kind(first) == "scalabel":
                return "scalabel"
        return "yolo"
    suffix = p.suffix.lower()
    if suffix == ".json":
        return _json_kind(p)
    if suffix in (".csv", ".tsv", *PARQUET_SUFFIXES):
        return "csv"
    if suffix == ".txt":
        return "yolo"
    raise LoadError(
        f"{p}: cannot tell what kind of predictions this is from its name. Give a COCO results .json, "
        f"a Scalabel / BDD100K .json, a folder of YOLO .txt files or a classification .csv / .parquet "
        f"(or pass `format`).", file=str(p))


def _json_kind(path: Path) -> str:
    """``scalabel`` when a JSON file's first bytes are Scalabel frames (``name`` and ``labels``, or
    ``{"frames": ...}``) and not COCO records (``image_id``, ``images``, ``annotations``); else ``coco``."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError as exc:
        raise LoadError(f"{path}: cannot be read ({exc.strerror or exc}).", file=str(path)) from None
    coco_keys = any(k in head for k in (b'"image_id"', b'"images"', b'"annotations"'))
    if head.startswith(b"{") and not coco_keys and (b'"frames"' in head or b'"labels"' in head):
        return "scalabel"
    if head.startswith(b"[") and not coco_keys and looks_like_scalabel(head):
        return "scalabel"
    return "coco"


def prediction_options(fmt: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``options`` checked against what ``fmt`` takes (:data:`PREDICTION_OPTIONS`)."""
    options = dict(options or {})
    accepted = PREDICTION_OPTIONS[fmt]
    unknown = sorted(k for k in options if k not in accepted)
    if unknown:
        takes = f"must be among {list(accepted)}" if accepted else "take none"
        raise ValueError(f"`options` of {fmt} predictions {takes}. Got {unknown} instead.")
    return options


def read_predictions(
    path: str | Path,
    dataset: Dataset | None = None,
    *,
    format: PredictionFormat = "auto",
    names: Sequence[str] | None = None,
    image_column: str | None = None,
    label_column: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> Predictions:
    """Read a predictions file (format sniffed when ``auto``) and match it to ``dataset`` if given.

    ``names`` (YOLO only): class names in index order, when the dataset does not identify its
    classes by YOLO index. ``image_column`` / ``label_column`` (CSV only): the columns of the
    image and of the predicted label, when they cannot be found by name. ``options``: the
    format's options by name (:data:`PREDICTION_OPTIONS`), e.g. ``{"layout": "cls,conf,x,y,w,h",
    "coords": "pixels"}`` for YOLO; an option the format does not take raises ValueError.
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
    opts = prediction_options(fmt, options)
    if fmt == "coco":
        preds = read_coco_results(path)
    elif fmt == "yolo":
        preds = read_yolo_predictions(path, names=names, **opts)
    elif fmt == "scalabel":
        preds = read_scalabel_predictions(path)
    else:
        preds = read_classification_predictions(path, image_column=opts.get("image_column", image_column),
                                                label_column=opts.get("label_column", label_column))
    return match_predictions(preds, dataset) if dataset is not None else preds


__all__ = [
    "CLASSIFICATION_SCHEMA", "Coverage", "DETECTION_SCHEMA", "PREDICTION_FORMATS", "PREDICTION_OPTIONS",
    "PredictionFormat", "PredictionKind", "Predictions", "classification_schema", "images_frame", "match_predictions",
    "prediction_options", "read_classification_predictions", "read_coco_results", "read_predictions",
    "read_scalabel_predictions", "read_yolo_predictions", "sniff_predictions", "yolo_layout",
]
