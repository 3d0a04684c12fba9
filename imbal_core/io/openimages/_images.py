"""Every image of an Open Images export, with its split, file name and size.

Images come from the image lists (``ImageID,Subset,...``), then the ids in the files read, then
the image files in ``images/<subset>/`` when a folder was given (CSVs given one by one take only
sizes from there), in that order; the first split given wins and every other
split given for the same image is reported once per file (``split_conflict``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...dataset import SPLITS, UNASSIGNED, normalize_split
from ...report import LoadReport
from ..files import safe_name, split_from_name
from ..imagesize import image_size
from ..sniff import IMAGE_EXTENSIONS
from ._layout import Files
from ._rows import Rows, read_images


class Images:
    """The images table being built: ``ids`` (the Open Images ids, in order) and its columns."""

    def __init__(self, files: Files, read: list[Rows], report: LoadReport, sizes: bool):
        ids: list[pa.Array] = []
        splits: list[pa.Array] = []
        origins: list[str] = []
        for path in files.of("images"):
            rows = read_images(path, report)
            ids.append(rows.columns["ImageID"])
            splits.append(rows.columns["Subset"])
            origins.append(str(path))
        for rows in read:
            ids.append(rows.columns["ImageID"])
            splits.append(pa.array([split_from_name(rows.path.name)] * len(rows), pa.string()))
            origins.append(str(rows.path))
        on_disk = image_files(files.image_folders)
        listed = on_disk if files.images_on_disk else {}
        ids.append(pa.array(list(listed), pa.string()))
        splits.append(pa.array([s for s, _ in listed.values()], pa.string()))
        origins.append(", ".join(str(f) for f in files.image_folders) or "images/")
        all_ids = pa.concat_arrays(ids)
        codes = pc.dictionary_encode(all_ids).indices.to_numpy(zero_copy_only=False).astype(np.int64)
        _, first = np.unique(codes, return_index=True)
        first = np.sort(first)
        self.ids = all_ids.take(pa.array(first))
        row_of_code = np.empty(len(first), np.int64)
        row_of_code[codes[first]] = np.arange(len(first))
        origin = np.repeat(np.arange(len(ids)), [len(a) for a in ids])
        self.split = self._splits(row_of_code[codes], pa.concat_arrays(splits), origin, origins, report)
        self._files(on_disk, report, sizes)

    def _splits(self, row: np.ndarray, splits: pa.Array, origin: np.ndarray, origins: list[str],
                report: LoadReport) -> list[str]:
        encoded = pc.dictionary_encode(splits)
        names = np.array([normalize_split(s) for s in encoded.dictionary.to_pylist()] + [None], dtype=object)
        code = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        named = np.flatnonzero(code >= 0)
        chosen = np.full(len(self.ids), -1, np.int64)
        chosen_at = np.zeros(len(self.ids), np.int64)
        rows, first = np.unique(row[named], return_index=True)
        chosen[rows], chosen_at[rows] = code[named[first]], origin[named[first]]
        differs = named[names[code[named]] != names[chosen[row[named]]]]
        if len(differs):
            _, once = np.unique(np.stack([row[differs], code[differs], origin[differs]]), axis=1, return_index=True)
            for i in differs[np.sort(once)].tolist():
                image, kept = self.ids[row[i]].as_py(), names[chosen[row[i]]]
                report.add(origins[origin[i]], image, "split_conflict",
                           f"image is in {kept} in {origins[chosen_at[row[i]]]} and in {names[code[i]]} here",
                           f"kept in {kept}")
        return [UNASSIGNED if c < 0 else names[c] for c in chosen.tolist()]

    def _files(self, on_disk: dict[str, tuple[str | None, Path]], report: LoadReport, sizes: bool) -> None:
        self.file_name: list[str] = []
        self.width: list[int | None] = []
        self.height: list[int | None] = []
        for image_id in self.ids.to_pylist():
            path = on_disk.get(image_id, (None, None))[1]
            size = image_size(path) if sizes and path is not None else None
            if sizes and path is not None and size is None:
                report.add(path, image_id, "unreadable_image", "the image header cannot be read", "kept; size unknown")
            self.file_name.append(path.name if path is not None else f"{image_id}.jpg")
            self.width.append(size[0] if size else None)
            self.height.append(size[1] if size else None)

    def rows(self, image_ids: pa.Array) -> np.ndarray:
        """The image row of each id (every id read is an image)."""
        return pc.index_in(image_ids, value_set=self.ids).to_numpy(zero_copy_only=False).astype(np.int64)

    def sizes(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Width and height of the images at ``rows``, 1 where unknown (boxes stay fractions)."""
        width = np.array([1.0 if w is None else w for w in self.width], np.float64)
        height = np.array([1.0 if h is None else h for h in self.height], np.float64)
        return width[rows], height[rows]

    def columns(self) -> dict[str, object]:
        return {"source_id": self.ids, "file_name": self.file_name, "split": self.split,
                "width": pa.array(self.width, pa.int32()), "height": pa.array(self.height, pa.int32())}


def image_files(folders: list[Path]) -> dict[str, tuple[str | None, Path]]:
    """Image id -> (the split its subset folder names, or None; path), from ``images/<subset>/<id>.<ext>``."""
    found: dict[str, tuple[str | None, Path]] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in IMAGE_EXTENSIONS and path.stem not in found and safe_name(path) == str(path):
                subset = normalize_split(path.parent.name) if path.parent != folder else None
                found[path.stem] = (subset if subset in SPLITS else None, path)
    return found
