"""Matching helpers of :func:`.predictions.match_predictions`: image keys and class labels to dataset ids."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import Dataset
from ..report import LoadReport


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
    images = dataset.images
    src = images.column("source_id").to_pylist()
    names = images.column("file_name").to_pylist()
    exact: dict[str, int] = {}
    for i, s in enumerate(src):
        exact.setdefault(s, i)
    if fmt == "coco":  # COCO results name images by the export's id only
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
    src = dataset.categories.column("source_id").to_pylist()
    names = dataset.categories.column("name").to_pylist()
    by_src = {s: i for i, s in enumerate(src)}
    by_name = {n: i for i, n in enumerate(names)}
    out = {}
    for label in labels:
        if fmt == "csv":  # tables name classes
            hit = by_name.get(label, by_src.get(label))
        else:  # ids and indices first; a YOLO prediction mapped through `names` carries a name
            hit = by_src.get(label, by_name.get(label))
        if hit is not None:
            out[label] = hit
    return out


def unknown_class_text(label: str, count: int, dataset: Dataset, fmt: str) -> str:
    what = {"coco": "category_id", "yolo": "class index"}.get(fmt, "class")
    text = f"{count} prediction{'s' if count != 1 else ''} of {what} {label!r}, which is not a class of the dataset"
    if fmt == "yolo" and dataset.format != "yolo":
        text += " (the dataset's classes are not YOLO indices: pass the class names in index order as `names`)"
    return text


def to_pixels(columns: dict[str, Any], image_id: pa.Array, dataset: Dataset, fmt: str) -> dict[str, Any]:
    """YOLO boxes are normalised: scale them to pixels where the dataset knows the image size."""
    if fmt != "yolo" or not len(image_id):
        return columns
    ids = image_id.to_numpy(zero_copy_only=False)
    known = ~np.isnan(ids) if ids.dtype.kind == "f" else np.ones(len(ids), bool)
    idx = np.where(known, np.nan_to_num(ids), 0).astype(np.int64)
    width = dataset.images.column("width").to_numpy(zero_copy_only=False).astype(np.float64)
    height = dataset.images.column("height").to_numpy(zero_copy_only=False).astype(np.float64)
    if not len(width):
        return columns
    w_img = np.where(known, width[idx], np.nan)
    h_img = np.where(known, height[idx], np.nan)
    sized = ~np.isnan(w_img) & ~np.isnan(h_img)
    for name, scale in (("x", w_img), ("w", w_img), ("y", h_img), ("h", h_img)):
        values = pc.cast(columns[name], pa.float64()).to_numpy(zero_copy_only=False)
        columns[name] = pa.array(np.where(sized, values * np.where(sized, scale, 1.0), values), pa.float64())
    return columns
