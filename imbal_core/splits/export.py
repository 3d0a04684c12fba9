"""New splits written in the form the user's tooling reads (:func:`export_splits`).

``coco``
    One COCO file per split, ``instances_<split>.json``: the original records of the source
    file(s), kept whole (segmentations, extra fields), split by image; each image record's field
    ``split`` is set to its new split (readers that do not know it ignore it; imbal reads it, so
    splits of any name reload). The records are those the COCO reader kept
    (:attr:`~imbal_core.Dataset.records`): the source files are not read again. A dataset without
    them (built by hand) is rebuilt from the loaded tables (boxes, areas, image fields and
    conditions; no segmentations) and the note says so.
``yolo``
    ``train.txt`` / ``val.txt`` / ``test.txt`` listing image paths, and an updated ``data.yaml``
    (the original's keys and ``names``, its splits pointing at the lists, no ``path``: the YAML's
    folder is the root). ``paths="relative"`` (default) writes ``./images/...`` paths relative to
    the dataset root: unzip into the root (beside the original ``data.yaml``, which it replaces).
    ``paths="absolute"`` writes absolute paths: the files work from anywhere on this machine.
``voc``
    ``ImageSets/Main/<split>.txt`` (image ids, one a line) and ``trainval.txt`` when there are
    train and val: unzip into the VOC root (the folder holding ``Annotations/``).
``csv``
    ``splits.csv`` with ``image`` (the file name, or the export's image id where file names
    repeat) and ``split``. It reloads as a sidecar: ``imbal_core.load(export, conditions="splits.csv")``
    (``--conditions`` on the command line), whose ``split`` column replaces the splits.

Several files are zipped for download (:meth:`SplitExport.download`); :meth:`SplitExport.write`
writes them into a folder.
"""
from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np
import pyarrow as pa
import yaml

from ..dataset import UNASSIGNED, Dataset
from ..report import shorten
from ..downloads import csv_bytes
from ..source_records import SourceRecords, Unreadable, decode, raw, write_document

log = logging.getLogger(__name__)

ExportFormat = Literal["coco", "yolo", "voc", "csv"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("coco", "yolo", "voc", "csv")
PathMode = Literal["relative", "absolute"]


@dataclass(frozen=True)
class SplitExport:
    """The files of one export: relative path -> bytes, and a note on where they go."""

    format: ExportFormat
    files: dict[str, bytes]
    note: str
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def zip_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in self.files.items():
                zf.writestr(name, data)
        return buffer.getvalue()

    def download(self) -> tuple[str, bytes, str]:
        """``(file name, data, mime type)``: the file itself when there is one, else a zip."""
        if len(self.files) == 1:
            name, data = next(iter(self.files.items()))
            mime = {".csv": "text/csv", ".json": "application/json", ".txt": "text/plain"}.get(Path(name).suffix,
                                                                                            "application/octet-stream")
            return Path(name).name, data, mime
        return f"splits_{self.format}.zip", self.zip_bytes(), "application/zip"

    def write(self, folder: str | Path) -> list[Path]:
        """Write every file below ``folder`` (created when missing; files of the same name in it are
        replaced); returns the paths written. ``folder`` must not be an existing file
        (:func:`check_folder`)."""
        root = check_folder(folder)
        written = []
        for name, data in self.files.items():
            target = root / name
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            except (FileExistsError, NotADirectoryError, IsADirectoryError):  # a file where a folder goes, or the reverse
                raise ValueError(f"`folder` {_quoted(root)} cannot take {name}: {_quoted(target)} or a folder on its way "
                                 "is in the way (a file where a folder goes, or a folder where a file goes).") from None
            written.append(target)
        return written


def check_folder(folder: str | Path, param: str = "folder") -> Path:
    """``folder`` as a path to write into; a ``ValueError`` naming it when it, or a folder above it,
    is an existing file (writing there would fail, or replace the file)."""
    path = Path(folder)
    for existing in (path, *path.parents):
        if not existing.exists():
            continue
        if not existing.is_dir():
            where = "an existing file" if existing == path else f"below {_quoted(existing)}, an existing file"
            raise ValueError(f"`{param}` must be a folder (created when missing). Got {_quoted(path)} instead: {where}.")
        break
    return path


def _quoted(path: Path) -> str:
    return repr(shorten(str(path), 80))


def export_formats(dataset: Dataset) -> tuple[ExportFormat, ...]:
    """The formats this dataset's splits can be written in: its own (COCO, YOLO, VOC), then CSV."""
    own = (dataset.format,) if dataset.format in ("coco", "yolo", "voc") else ()
    return (*own, "csv")  # type: ignore[return-value]


def export_splits(dataset: Dataset, format: ExportFormat | None = None, *, paths: PathMode = "relative") -> SplitExport:
    """The splits of ``dataset`` (e.g. ``make_splits(...).dataset``) written as ``format``.

    ``format`` (None: the dataset's own when it is COCO, YOLO or VOC, else CSV); ``paths``
    ("relative") for YOLO lists (see the module docstring).
    """
    allowed = export_formats(dataset)
    fmt = format or allowed[0]
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"`format` must be one of {list(EXPORT_FORMATS)}. Got {fmt!r} instead.")
    if fmt not in allowed:
        raise ValueError(f"`format` {fmt!r} needs a {fmt} export; this dataset was read from {dataset.format}. "
                         f"Its splits can be written as {list(allowed)}.")
    if paths not in ("relative", "absolute"):
        raise ValueError(f"`paths` must be 'relative' or 'absolute'. Got {paths!r} instead.")
    odd = [s for s in _names(dataset) if s not in ("train", "val", "test")]
    if fmt in ("yolo", "voc") and odd:
        raise ValueError(f"{fmt.upper()} names only train, val and test splits; these splits are called {odd}. "
                         "Name them train / val / test, or export coco or csv.")
    if fmt == "coco":
        return _coco(dataset)
    if fmt == "yolo":
        return _yolo(dataset, paths)
    if fmt == "voc":
        return _voc(dataset)
    return _csv(dataset)


def _splits(dataset: Dataset) -> list[str]:
    col = dataset.images.column("split").combine_chunks().dictionary_decode()
    return col.to_pylist()


def _names(dataset: Dataset) -> list[str]:
    return [s for s in dataset.splits if s != UNASSIGNED]


# --------------------------------------------------------------------------- CSV


def image_keys(dataset: Dataset) -> list[str]:
    """The ``image`` of each row: the file name when file names are unique, else the export's id."""
    names = dataset.images.column("file_name").to_pylist()
    if None not in names and len(set(names)) == len(names):
        return names
    return dataset.images.column("source_id").to_pylist()


def _csv(dataset: Dataset) -> SplitExport:
    table = pa.table({"image": pa.array(image_keys(dataset), pa.string()), "split": pa.array(_splits(dataset), pa.string())})
    note = ("splits.csv: one row per image (image, split). Load it as a sidecar with the export to use the new splits: "
            "imbal_core.load(export, conditions='splits.csv'), or --conditions splits.csv on the command line.")
    return SplitExport("csv", {"splits.csv": csv_bytes(table)}, note)


# --------------------------------------------------------------------------- VOC


def _voc(dataset: Dataset) -> SplitExport:
    ids = dataset.images.column("source_id").to_pylist()
    splits = _splits(dataset)
    files: dict[str, bytes] = {}
    for name in _names(dataset):
        files[f"ImageSets/Main/{name}.txt"] = "".join(f"{i}\n" for i, s in zip(ids, splits) if s == name).encode()
    names = _names(dataset)
    if "train" in names and "val" in names:
        files["ImageSets/Main/trainval.txt"] = "".join(f"{i}\n" for i, s in zip(ids, splits) if s in ("train", "val")).encode()
    note = ("ImageSets/Main/<split>.txt lists the image ids of each split. Unzip into the VOC root (the folder holding "
            "Annotations/), replacing the old lists.")
    return SplitExport("voc", files, note)


# --------------------------------------------------------------------------- YOLO


def _image_path(source_id: str, file_name: str | None) -> str:
    """The image path of a YOLO item (its id is the label path when the image is not on disk)."""
    if not source_id.lower().endswith(".txt"):
        return source_id
    parts = source_id.split("/")
    if "labels" in parts:
        i = len(parts) - 1 - parts[::-1].index("labels")
        parts[i] = "images"
    parts[-1] = file_name or (Path(parts[-1]).stem + ".jpg")
    return "/".join(parts)


def _yolo(dataset: Dataset, paths: PathMode) -> SplitExport:
    warnings: list[str] = []
    origin = dataset.origin or {}  # what the YOLO reader found: the root, data.yaml (never read again here)
    root = Path(origin["root"]) if isinstance(origin.get("root"), str) else Path(".")
    doc = origin.get("data_yaml") if isinstance(origin.get("data_yaml"), dict) else None
    inputs = origin.get("inputs", 0)
    if isinstance(inputs, int) and inputs > 1:
        warnings.append(f"{inputs} YOLO sources: paths are relative to the first, {root}; "
                        "use absolute paths (paths='absolute') to keep every image reachable.")
    ids = dataset.images.column("source_id").to_pylist()
    file_names = dataset.images.column("file_name").to_pylist()
    splits = _splits(dataset)
    files: dict[str, bytes] = {}
    for name in _names(dataset):
        lines = []
        for sid, fname, s in zip(ids, file_names, splits):
            if s != name:
                continue
            rel = _image_path(sid, fname)
            lines.append(str(root / rel) if paths == "absolute" else "./" + rel)
        files[f"{name}.txt"] = ("\n".join(lines) + "\n").encode()
    out: dict[str, Any] = {}
    if doc is not None:
        out.update({k: v for k, v in doc.items() if k not in ("path", "train", "val", "valid", "test")})
    if "names" not in out:
        out["names"] = {int(sid) if sid.isdigit() else i: name for i, (sid, name) in
                        enumerate(zip(dataset.categories.column("source_id").to_pylist(), dataset.class_names))}
        out["nc"] = len(dataset.class_names)
    ordered = {name: f"{name}.txt" for name in _names(dataset)}  # the splits first, as Ultralytics writes them
    ordered.update({k: v for k, v in out.items() if k not in ordered})
    files["data.yaml"] = yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True).encode()
    where = (f"Unzip into the dataset root ({root}), beside the images/ and labels/ folders: the new data.yaml replaces "
             "the old one and its splits point at the lists." if paths == "relative" else
             "The lists hold absolute paths: put data.yaml and the lists in any folder on this machine.")
    note = f"data.yaml and one list of image paths per split. {where}"
    return SplitExport("yolo", files, note, tuple(warnings))


# --------------------------------------------------------------------------- COCO


def _coco(dataset: Dataset) -> SplitExport:
    records = dataset.records
    if records is None:
        log.info("COCO export rebuilt from the tables: the dataset holds no COCO records")
        return _coco_from_tables(dataset, "the dataset holds none of the export's own records "
                                          "(built by hand, or not read from COCO)")
    try:
        return _coco_from_records(dataset, records)
    except Unreadable as exc:  # a part the fast path never read (a deep `info`): the tables still hold the data
        log.info("COCO export rebuilt from the tables: %s", exc)
        return _coco_from_tables(dataset, f"the export's own records cannot be decoded ({exc})")


def _coco_from_records(dataset: Dataset, records: SourceRecords) -> SplitExport:
    split_of = _splits(dataset)
    names = _names(dataset)
    warnings: list[str] = []
    per_split: dict[str, dict[str, list]] = {n: {"images": [], "annotations": []} for n in names}
    categories: dict[Any, Any] = {}
    extra: dict[str, Any] = {}
    seen_ids: set = set()
    image_of = msgspec.json.Decoder(_ImageOf)
    for file in range(records.files):
        doc = records.document(file)
        for cat in doc.get("categories") or []:
            if isinstance(cat, dict) and _hashable(cat.get("id")):
                categories.setdefault(cat.get("id"), cat)
        for key in ("info", "licenses", "scene_categories"):
            if key in doc and key not in extra:
                extra[key] = doc[key]
        row_of = _kept_images(records, file)
        clash = seen_ids & set(row_of)
        if clash:
            warnings.append(f"{len(clash):,} image ids repeat across the source files; those images keep their ids, "
                            "so one split file may hold two images with the same id.")
        seen_ids |= set(row_of)
        image_split = {}
        for key, (row, rec) in row_of.items():
            split = split_of[row]
            if split not in per_split:
                continue
            per_split[split]["images"].append({**rec, "split": split})
            image_split[key] = split
        for text in records.file_rows(records.annotations, file).column("record").to_pylist():
            try:
                image_id = image_of.decode(text).image_id
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # not an object, or text msgspec refuses
                ann = decode(text)
                image_id = ann.get("image_id") if isinstance(ann, dict) else None
            split = image_split.get(_image_key({"id": image_id}))
            if split is not None:
                per_split[split]["annotations"].append(raw(text))
        for scene in doc.get("scene_annotations", []) or []:
            key = _image_key({"id": scene.get("image_id")}) if isinstance(scene, dict) else None
            split = image_split.get(key)
            if split is not None:
                per_split[split].setdefault("scene_annotations", []).append(scene)
    files = {}
    for name in names:
        out = {**{k: v for k, v in extra.items() if k != "scene_categories"}, "images": per_split[name]["images"],
               "annotations": per_split[name]["annotations"], "categories": list(categories.values())}
        if "scene_annotations" in per_split[name] or "scene_categories" in extra:
            out["scene_annotations"] = per_split[name].get("scene_annotations", [])
            out["scene_categories"] = extra.get("scene_categories", [])
        files[f"instances_{name}.json"] = write_document(out, out["images"], out["annotations"])
    note = ("One COCO file per split (instances_<split>.json) with the original records; each image's field `split` "
            "is set to its new split. Load the files together to see the new splits.")
    return SplitExport("coco", files, note, tuple(warnings))


class _ImageOf(msgspec.Struct):
    """The one field of an annotation record the split export reads (the rest is not decoded)."""

    image_id: Any = None


def _hashable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _image_key(rec: Any) -> Any:
    if not isinstance(rec, dict):
        return None
    value = rec.get("id")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _kept_images(records: SourceRecords, file: int) -> dict[Any, tuple[int, dict]]:
    """Image id -> (dataset row, image record) of the records of ``file`` the reader kept."""
    images = records.file_rows(records.images, file)
    rows = images.column("row").to_numpy()
    texts = images.column("record")
    out: dict[Any, tuple[int, dict]] = {}
    for k in np.flatnonzero(rows >= 0).tolist():
        rec = decode(texts[k].as_py())
        if isinstance(rec, dict):
            out[_image_key(rec)] = (int(rows[k]), rec)
    return out


def _coco_from_tables(dataset: Dataset, why: str) -> SplitExport:
    images = dataset.images
    anns = dataset.annotations
    cats = dataset.categories
    split_of = _splits(dataset)
    source = images.column("source_id").to_pylist()
    numeric = all(s.lstrip("-").isdigit() for s in source)
    image_ids = [int(s) for s in source] if numeric else list(range(1, len(source) + 1))
    cat_source = cats.column("source_id").to_pylist()
    cat_ids = [int(s) for s in cat_source] if all(s.lstrip("-").isdigit() for s in cat_source) else \
        list(range(1, len(cat_source) + 1))
    categories = [{"id": cid, "name": n, **({"supercategory": sc} if sc else {})}
                  for cid, n, sc in zip(cat_ids, cats.column("name").to_pylist(), cats.column("supercategory").to_pylist())]
    columns = {c: images.column(c).combine_chunks() for c in ("file_name", "width", "height", "group", *dataset.conditions)}
    columns = {c: (v.dictionary_decode() if pa.types.is_dictionary(v.type) else v).to_pylist() for c, v in columns.items()}
    names = _names(dataset)
    per_split: dict[str, dict[str, list]] = {n: {"images": [], "annotations": []} for n in names}
    for row, split in enumerate(split_of):
        if split not in per_split:
            continue
        rec: dict[str, Any] = {"id": image_ids[row], "file_name": columns["file_name"][row],
                               "width": columns["width"][row], "height": columns["height"][row], "split": split}
        if columns["group"][row] is not None:
            rec["group"] = columns["group"][row]
        for c in dataset.conditions:
            if columns[c][row] is not None:
                rec[c] = columns[c][row]
        per_split[split]["images"].append(rec)
    a = {c: anns.column(c).to_numpy(zero_copy_only=False) for c in ("image_id", "category_id", "x", "y", "w", "h", "area")}
    crowd = anns.column("iscrowd").to_pylist()
    for k in range(anns.num_rows):
        row = int(a["image_id"][k])
        split = split_of[row]
        if split not in per_split:
            continue
        box = [float(a[c][k]) for c in ("x", "y", "w", "h")]
        rec = {"id": k + 1, "image_id": image_ids[row], "category_id": cat_ids[int(a["category_id"][k])],
               "iscrowd": int(bool(crowd[k]))}
        if not any(np.isnan(box)):
            rec["bbox"] = box
            rec["area"] = float(a["area"][k]) if not np.isnan(a["area"][k]) else box[2] * box[3]
        per_split[split]["annotations"].append(rec)
    files = {f"instances_{n}.json": msgspec.json.encode({**per_split[n], "categories": categories}) for n in names}
    note = ("One COCO file per split (instances_<split>.json), rebuilt from the loaded tables: boxes, areas, image fields "
            "and conditions; segmentations are not included.")
    return SplitExport("coco", files, note, (f"Rebuilt from the tables because {why}.",))
