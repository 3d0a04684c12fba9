"""A classification predictions table (CSV / TSV / Parquet) -> the canonical classification table.

The columns it looks for are described in :mod:`imbal_core.io.predictions`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...dataset import Dataset
from ...report import LoadError, LoadReport
from .matching import match_predictions
from .parsing import MAX_REPORT_ROWS, first_per_image, parse_scores
from .table import Predictions, classification_schema, scores_array
from .._tables import detect_column, read_any_table, text_column

PREDICTED_FIELDS = ("predicted", "prediction", "pred", "predicted_label", "pred_label", "predicted_class",
                    "pred_class", "label", "class")
SCORE_FIELDS = ("score", "confidence", "conf", "probability", "prob")
SCORE_PREFIXES = ("score_", "prob_", "probability_")
IMAGE_FIELDS = ("image", "file_name", "filename", "file", "path", "image_path", "img", "image_id", "name")


def read_classification_predictions(path: str | Path, dataset: Dataset | None = None, *,
                                    image_column: str | None = None,
                                    label_column: str | None = None) -> Predictions:
    """A classification predictions table (CSV / TSV / Parquet); see :mod:`imbal_core.io.predictions`."""
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
        "scores": scores_array(scores, n_classes, raw.num_rows), "record": records,
    }
    table = pa.table(columns, schema=classification_schema(n_classes)).filter(pa.array(keep))
    table, dup = first_per_image(table)
    for image_key, count in list(dup.items())[:MAX_REPORT_ROWS]:
        report.add(file, image_key, "duplicate_prediction", f"image {image_key!r} is predicted {count + 1} times", "kept the first")
    preds = Predictions("classification", table, "csv", file, report, class_names=class_names)
    return match_predictions(preds, dataset) if dataset is not None else preds
