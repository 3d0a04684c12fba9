"""Exports: the merge mapping (JSON, CSV) and the merged export as COCO JSON, a YOLO zip or a labels CSV."""
from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath
from typing import Any, Mapping

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import Dataset
from ..downloads import csv_bytes, json_bytes
from ..source_records import Unreadable, decode, raw, write_document
from .merge import apply_merges, resolve_merges


def mapping_json(merges: Mapping[str, str], resolved: Mapping[str, str] | None = None) -> bytes:
    """``{"merges": {child: parent}, "resolved": {child: class it ends in}}`` as JSON."""
    return json_bytes({"merges": dict(merges), "resolved": dict(resolved or merges)})


def mapping_csv(merges: Mapping[str, str]) -> bytes:
    """``child,parent`` rows (readable by :func:`read_mapping`), spreadsheet-safe."""
    return csv_bytes(pa.table({"child": pa.array(list(merges), pa.string()),
                               "parent": pa.array(list(merges.values()), pa.string())}))


def merged_coco(dataset: Dataset, merges: Mapping[str, str]) -> bytes:
    """The export as COCO JSON with the merges applied.

    A dataset read from one COCO file is rewritten from the records its reader kept
    (:attr:`~imbal_core.Dataset.records`; the file is not read again), so everything the file
    held (segmentations, extra fields, the records the reader reported) is kept and only
    categories change. Any other dataset is written from its tables: images (with ``split`` and
    conditions as fields), boxes, areas and ``iscrowd`` — masks of non-COCO formats are not
    carried over.
    """
    resolved = resolve_merges(dataset, merges)
    if dataset.format == "coco" and dataset.records is not None and dataset.records.files == 1:
        try:
            return _rewrite_coco(dataset, merges, resolved)
        except Unreadable:  # a part the fast path never read (a deep `info`): written from the tables
            pass
    merged = apply_merges(dataset, merges)
    return json_bytes(_coco_from_tables(merged), indent=None)


def _rewrite_coco(dataset: Dataset, merges: Mapping[str, str], resolved: dict[str, str]) -> bytes:
    """The one source file again, from its kept records: only the categories and the
    ``category_id`` of annotations of merged classes change (those records alone are decoded)."""
    records = dataset.records
    doc = records.document(0)
    names = dataset.class_names
    source_of = dict(zip(names, dataset.categories.column("source_id").to_pylist()))
    categories = [c for c in doc.get("categories") or [] if isinstance(c, dict)]
    by_name = {str(c.get("name")): c for c in categories}
    ids = [c.get("id") for c in categories if isinstance(c.get("id"), (int, float))]
    next_id = int(max(ids, default=0)) + 1
    target_id: dict[str, Any] = {}
    for child, target in resolved.items():
        if target in target_id:
            continue
        if target not in by_name:  # a parent that is not a class yet
            by_name[target] = {"id": next_id, "name": target, "supercategory": merges.get(child, target)}
            categories.append(by_name[target])
            next_id += 1
        target_id[target] = by_name[target].get("id")
    old_ids = {}
    for child, target in resolved.items():
        for c in categories:
            if str(c.get("id")) == str(source_of[child]) and str(c.get("name")) == child:
                old_ids[c.get("id")] = target_id[target]
    doc["categories"] = [c for c in categories if str(c.get("name")) not in resolved]
    images = [raw(t) for t in records.images.column("record").to_pylist()]
    return write_document(doc, images, _remapped(records.annotations.column("record"), old_ids))


class _CategoryOf(msgspec.Struct):
    category_id: Any = None


def _remapped(texts: pa.ChunkedArray, old_ids: dict[Any, Any]) -> list[Any]:
    """Annotation records with ``category_id`` remapped by ``old_ids``; the others as they are."""
    category_of = msgspec.json.Decoder(_CategoryOf)
    out: list[Any] = []
    for text in texts.to_pylist():
        try:
            category = category_of.decode(text).category_id
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # not an object, or text msgspec refuses
            rec = decode(text)
            category = rec.get("category_id") if isinstance(rec, dict) else None
        if not old_ids or not _hashable(category) or category not in old_ids:
            out.append(raw(text))
            continue
        rec = decode(text)
        rec["category_id"] = old_ids[category]
        out.append(rec)
    return out


def _hashable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))




def _coco_from_tables(dataset: Dataset) -> dict[str, Any]:
    images = dataset.images
    image_ids = list(range(1, images.num_rows + 1))
    cols = {name: images.column(name).to_pylist() for name in ("file_name", "width", "height")}
    split = images.column("split").combine_chunks().dictionary_decode().to_pylist()
    conditions = {c: images.column(c).combine_chunks().dictionary_decode().to_pylist() for c in dataset.conditions}
    image_records = []
    for i in range(images.num_rows):
        rec = {"id": image_ids[i], "file_name": cols["file_name"][i], "width": cols["width"][i],
               "height": cols["height"][i], "split": split[i]}
        rec.update({c: v[i] for c, v in conditions.items() if v[i] is not None})
        image_records.append(rec)
    anns = dataset.annotations
    a = {k: anns.column(k).to_pylist() for k in ("image_id", "category_id", "x", "y", "w", "h", "area", "iscrowd")}
    ann_records = []
    for i in range(anns.num_rows):
        rec = {"id": i + 1, "image_id": a["image_id"][i] + 1, "category_id": a["category_id"][i] + 1,
               "iscrowd": int(bool(a["iscrowd"][i]))}
        if a["x"][i] is not None:
            rec["bbox"] = [a["x"][i], a["y"][i], a["w"][i], a["h"][i]]
        if a["area"][i] is not None:
            rec["area"] = a["area"][i]
        ann_records.append(rec)
    cats = dataset.categories
    categories = [{"id": i + 1, "name": n, "supercategory": s}
                  for i, (n, s) in enumerate(zip(cats.column("name").to_pylist(), cats.column("supercategory").to_pylist()))]
    return {"images": image_records, "annotations": ann_records, "categories": categories}


def merged_yolo_zip(dataset: Dataset, merges: Mapping[str, str]) -> bytes:
    """A zip of a YOLO export with the merges applied: ``data.yaml`` (the remapped ``names``
    list and one folder per split) and ``labels/<split>/<image stem>.txt`` for every image
    (``class x_center y_center width height``, normalised). Boxes of images of unknown size are
    already normalised and written as they are. Classification data has no boxes: ``ValueError``."""
    import yaml

    if dataset.task == "classification":
        raise ValueError("A YOLO export needs boxes; this is a classification dataset (download the merged labels CSV).")
    merged = apply_merges(dataset, merges)
    images = merged.images
    split = images.column("split").combine_chunks().dictionary_decode().to_pylist()
    files = images.column("file_name").to_pylist()
    widths = images.column("width").to_pylist()
    heights = images.column("height").to_pylist()
    anns = merged.annotations
    a = {k: anns.column(k).to_pylist() for k in ("image_id", "category_id", "x", "y", "w", "h")}
    lines: dict[int, list[str]] = {i: [] for i in range(images.num_rows)}
    for i in range(anns.num_rows):
        if a["x"][i] is None:
            continue
        img = a["image_id"][i]
        w, h = widths[img], heights[img]
        sx, sy = (1.0 / w, 1.0 / h) if w and h else (1.0, 1.0)
        cx, cy = (a["x"][i] + a["w"][i] / 2) * sx, (a["y"][i] + a["h"][i] / 2) * sy
        lines[img].append(f"{a['category_id'][i]} {cx:.6f} {cy:.6f} {a['w'][i] * sx:.6f} {a['h'][i] * sy:.6f}")
    buffer = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for img in range(images.num_rows):
            stem = PurePosixPath(str(files[img] or img)).stem
            name = f"labels/{split[img]}/{stem}.txt"
            if name in used:
                name = f"labels/{split[img]}/{stem}_{img}.txt"
            used.add(name)
            zf.writestr(name, "\n".join(lines[img]) + ("\n" if lines[img] else ""))
        data = {"path": ".", "names": merged.class_names, "nc": len(merged.class_names)}
        data.update({s: f"images/{s}" for s in merged.splits})
        zf.writestr("data.yaml", yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return buffer.getvalue()


def merged_labels_csv(dataset: Dataset, merges: Mapping[str, str]) -> bytes:
    """For classification: ``image,label,split`` with the merges applied (spreadsheet-safe CSV)."""
    merged = apply_merges(dataset, merges)
    anns = merged.annotations
    image = anns.column("image_id")
    return csv_bytes(pa.table({
        "image": pc.take(merged.images.column("file_name"), image),
        "label": pc.take(merged.categories.column("name"), anns.column("category_id")),
        "split": pc.take(merged.images.column("split").combine_chunks().dictionary_decode(), image),
    }))
