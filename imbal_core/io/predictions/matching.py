"""Matching predictions to a dataset: :func:`match_predictions` and its helpers (image keys and class labels to dataset ids).

Every mismatch is reported and counted in :class:`Coverage`; see :mod:`imbal_core.io.predictions`.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...dataset import Dataset
from ...report import LoadError, LoadReport
from .names import classes_by_name, images_by_file_name
from .parsing import MAX_REPORT_ROWS
from .table import DETECTION_SCHEMA, Coverage, Predictions, classification_schema, scores_array

# Logged under the public module's name, which is where users look for (and configure) it.
log = logging.getLogger("imbal_core.io.predictions")


def map_ids(values: pa.Array, uniq: pa.Array, mapping: dict[Any, int], type_: pa.DataType) -> pa.Array:
    """Each value's id through ``mapping`` (null when absent), via the unique values."""
    ids = np.array([mapping.get(v, -1) for v in uniq.to_pylist()], dtype=np.int64)
    idx = pc.index_in(values, value_set=uniq).to_numpy(zero_copy_only=False)
    out = ids[idx] if len(idx) else np.zeros(0, np.int64)
    return pa.array(out, type=type_, mask=out < 0)


def _stem(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def image_lookup(dataset: Dataset, keys: list[str], fmt: str, report: LoadReport, file: str) -> dict[str, int]:
    """Each image key's dataset row (keys not found are left out). COCO results name images by
    id (the dataset's ``source_id``); other formats by path or name."""
    images = dataset.images
    src = images.column("source_id").to_pylist()
    names = images.column("file_name").to_pylist()
    exact: dict[str, int] = {}
    for i, s in enumerate(src):
        exact.setdefault(s, i)
    if fmt == "coco":
        return {k: exact[k] for k in keys if k in exact}
    by_name: dict[str, int] = {}
    by_base: dict[str, list[int]] = defaultdict(list)
    by_stem: dict[str, list[int]] = defaultdict(list)
    for i, (s, n) in enumerate(zip(src, names)):
        for text in {s, n} - {None}:
            norm = text.replace("\\", "/")
            by_name.setdefault(norm, i)
            base = norm.rsplit("/", 1)[-1]
            if i not in by_base[base]:
                by_base[base].append(i)
            stem = _stem(base)
            if i not in by_stem[stem]:
                by_stem[stem].append(i)
    out: dict[str, int] = {}
    for key in keys:
        norm = key.replace("\\", "/")
        if norm in exact:
            out[key] = exact[norm]
            continue
        if norm in by_name:
            out[key] = by_name[norm]
            continue
        found = by_base.get(norm.rsplit("/", 1)[-1]) or by_stem.get(_stem(norm))
        if not found:
            continue
        if len(found) == 1:
            out[key] = found[0]
            continue
        narrowed = [i for i in found if _same_folder(norm, src[i], names[i])]
        if len(narrowed) == 1:
            out[key] = narrowed[0]
        else:
            report.add(file, key, "ambiguous_image",
                       f"image {key!r} could be any of {len(found)} images with that name "
                       f"({', '.join(repr(names[i] or src[i]) for i in found[:3])}…)", "left out of the evaluation")
    return out


def _same_folder(key: str, *paths: str | None) -> bool:
    """True when the key's folders (with ``labels`` read as ``images``) occur in one of the paths."""
    parts = key.split("/")[:-1]
    if not parts:
        return False
    folder = "/".join("images" if p == "labels" else p for p in parts)
    return any(p is not None and folder in p.replace("\\", "/") for p in paths)


def class_lookup(dataset: Dataset, labels: list[str], fmt: str) -> dict[str, int]:
    """Each label's dataset class (labels not found are left out): by ``source_id``, then by name;
    by name first for formats that name classes (CSV tables, Scalabel)."""
    src = dataset.categories.column("source_id").to_pylist()
    names = dataset.categories.column("name").to_pylist()
    by_src = {s: i for i, s in enumerate(src)}
    by_name = {n: i for i, n in enumerate(names)}
    out = {}
    for label in labels:
        if fmt in ("csv", "scalabel"):  # these name classes
            hit = by_name.get(label, by_src.get(label))
        else:  # ids and indices first; a YOLO prediction mapped through `names` carries a name
            hit = by_src.get(label, by_name.get(label))
        if hit is not None:
            out[label] = hit
    return out


def unknown_class_text(label: str, count: int, dataset: Dataset, fmt: str, name: str | None = None) -> str:
    what = {"coco": "category_id", "yolo": "class index"}.get(fmt, "class")
    named = f" ({name!r})" if name and name != label else ""
    text = f"{count} prediction{'s' if count != 1 else ''} of {what} {label!r}{named}, which is not a class of the dataset"
    if fmt == "yolo" and dataset.format != "yolo":
        text += " (the dataset's classes are not YOLO indices: pass the class names in index order as `names`)"
    return text


def _image_sizes(image_id: pa.Array, dataset: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(known, width, height)`` per row: the image is in the dataset; its size (NaN when unknown)."""
    ids = image_id.to_numpy(zero_copy_only=False)
    known = ~np.isnan(ids) if ids.dtype.kind == "f" else np.ones(len(ids), bool)
    idx = np.where(known, np.nan_to_num(ids), 0).astype(np.int64)
    width = dataset.images.column("width").to_numpy(zero_copy_only=False).astype(np.float64)
    height = dataset.images.column("height").to_numpy(zero_copy_only=False).astype(np.float64)
    if not len(width):
        return known, np.full(len(ids), np.nan), np.full(len(ids), np.nan)
    return known, np.where(known, width[idx], np.nan), np.where(known, height[idx], np.nan)


def to_pixels(columns: dict[str, Any], image_id: pa.Array, dataset: Dataset, normalized: bool) -> dict[str, Any]:
    """Normalised boxes (YOLO's): scale them to pixels where the dataset knows the image size."""
    if not normalized or not len(image_id):
        return columns
    _, w_img, h_img = _image_sizes(image_id, dataset)
    sized = ~np.isnan(w_img) & ~np.isnan(h_img)
    for name, scale in (("x", w_img), ("w", w_img), ("y", h_img), ("h", h_img)):
        values = pc.cast(columns[name], pa.float64()).to_numpy(zero_copy_only=False)
        columns[name] = pa.array(np.where(sized, values * np.where(sized, scale, 1.0), values), pa.float64())
    return columns


def report_unsized(image_id: pa.Array, dataset: Dataset, report: LoadReport, file: str) -> None:
    """Pixel boxes on images whose size the dataset does not know: there its own boxes are fractions
    of the image (a YOLO export without images), so the two cannot be compared."""
    known, w_img, h_img = _image_sizes(image_id, dataset)
    unsized = known & (np.isnan(w_img) | np.isnan(h_img))
    if unsized.any():
        images = len(np.unique(image_id.to_numpy(zero_copy_only=False)[unsized]))
        report.add(file, "coords=pixels", "unknown_image_size",
                   f"{int(unsized.sum()):,} pixel boxes on {images:,} images whose size the dataset does not know "
                   f"(its boxes there are fractions of the image): they cannot be compared",
                   "kept, evaluated as given")


def match_predictions(predictions: Predictions, dataset: Dataset) -> Predictions:
    """Resolve ``image`` / ``label`` to the dataset's dense ids and report every mismatch.

    Images are matched by the export's own id (``source_id``), then by file name, then by file
    name without folders, then by stem (a stem shared by several images is ambiguous and
    reported); COCO results by id only, unless the file names its images and its ids are its own:
    then by file name (:mod:`.names`, reported with the counts). Classes are matched
    by ``source_id`` (COCO id, YOLO index), then by name (CSV and Scalabel: name first; a full
    COCO file whose category ids are its own: by its declared names).
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
    keys = uniq_images.to_pylist()
    # a COCO file whose image ids are its own is matched by file name (see .names)
    image_map = images_by_file_name(dataset, keys, predictions.image_names, report, file) \
        if predictions.format == "coco" else None
    matched_by_name = image_map is not None
    by_file_name = len(image_map) if image_map is not None else 0
    if image_map is None:
        image_map = image_lookup(dataset, keys, predictions.format, report, file)
    image_id = map_ids(image_keys, uniq_images, image_map, pa.int64())
    labels = table.column("label").combine_chunks()
    uniq_labels = pc.unique(labels)
    class_map = None
    if predictions.format == "coco":
        class_map = classes_by_name(dataset, uniq_labels.to_pylist(), predictions.label_names, report, file)
    by_class_name = len(class_map) if class_map is not None else 0
    if class_map is None:
        class_map = class_lookup(dataset, uniq_labels.to_pylist(), predictions.format)
    category_id = map_ids(labels, uniq_labels, class_map, pa.int32())

    img_np = image_id.to_numpy(zero_copy_only=False)
    known_img = ~np.isnan(img_np) if img_np.dtype.kind == "f" else np.ones(len(img_np), bool)
    cat_valid = pc.is_valid(category_id).to_numpy(zero_copy_only=False)
    unknown_img_keys = Counter(k for k, v in zip(image_keys.to_pylist(), known_img) if not v) if not known_img.all() else Counter()
    for key, count in list(unknown_img_keys.items())[:MAX_REPORT_ROWS]:
        named = predictions.image_names.get(key)
        what = f"{key!r}" + (f" ({named!r})" if named and named != key else "")
        if not matched_by_name:
            why = "which the dataset does not have"
        else:
            why = ("which matches no single image of the dataset by file name" if named
                   else "which has no file name to match it by")
        report.add(file, key, "unknown_image", f"{count} prediction{'s' if count != 1 else ''} for image {what}, {why}",
                   "left out of the evaluation")
    if len(unknown_img_keys) > MAX_REPORT_ROWS:
        _more(report, file, "unknown_image", len(unknown_img_keys) - MAX_REPORT_ROWS, "images")
    unknown_cls = known_img & ~cat_valid
    unknown_labels = Counter(pc.filter(labels, pa.array(unknown_cls)).to_pylist()) if unknown_cls.any() else Counter()
    # A classifier naming a class the dataset lacks is wrong about that image (as scikit-learn counts
    # it); a detection of such a class has no ground truth to meet (as pycocotools leaves it out).
    classification = predictions.kind == "classification"
    action = "counted as wrong predictions (a class of their own)" if classification else "left out of the evaluation"
    for label, count in unknown_labels.most_common():
        report.add(file, label, "unknown_class", unknown_class_text(label, count, dataset, predictions.format,
                                                                 predictions.label_names.get(label)), action)

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
        columns = to_pixels(columns, image_id, dataset, predictions.normalized)
        if predictions.format == "yolo" and not predictions.normalized:
            report_unsized(image_id, dataset, report, file)
    new_table = pa.table(columns, schema=schema)

    matched_images = np.zeros(dataset.num_images, dtype=bool)
    ok = known_img & cat_valid
    evaluated = known_img if classification else ok
    if evaluated.any():
        matched_images[img_np[evaluated].astype(np.int64)] = True
    missing = np.flatnonzero(~matched_images)
    action = "left out of the metrics" if classification else "evaluated as no detections"
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
        images_matched_by_file_name=by_file_name,
        classes_matched_by_name=by_class_name,
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
        return scores_array(None, len(names), n), names
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
        return scores_array(None, len(names), n), names
    new = np.full((n, len(names)), np.nan)
    for cat, col in present.items():
        new[:, cat] = old[:, col]
    return scores_array(new, len(names), n), names
