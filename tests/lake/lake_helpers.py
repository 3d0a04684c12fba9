"""What the lake store's tests share: a source read back from the lake's files with plain pyarrow
(not through the store's own reading code), compared with the in-memory Dataset; a folder snapshot."""
from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from imbal_core import cube

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DATA = ROOT / "sample_data"
IMAGE_COLUMNS = ["image_id", "source_id", "file_name", "width", "height", "split", "group"]


def manifest(lake: Path) -> dict:
    return json.loads((lake / "manifest.json").read_text())


def lake_class_names(lake: Path) -> list[str]:
    """The committed class names, by lake id."""
    classes = manifest(lake)["classes"]
    return pq.read_table(lake / "categories.parquet").column("name").to_pylist()[:classes]


def source_tables(lake: Path, source_id: str):
    """The images and annotations of one copied source, read from its partition folders."""
    images = pq.read_table(lake / "images" / f"source={source_id}")
    annotations = pq.read_table(lake / "annotations" / f"source={source_id}")
    return images, annotations


def class_counts_from_lake(lake: Path, source_id: str) -> dict[str, tuple[int, int, float | None]]:
    """{class name: (images holding it, instances, pixels or None)} counted from the lake's rows."""
    names = lake_class_names(lake)
    _, anns = source_tables(lake, source_id)
    images: dict[str, set] = defaultdict(set)
    instances: dict[str, int] = defaultdict(int)
    pixels: dict[str, float | None] = {}
    for image, category, px in zip(*(anns.column(c).to_pylist() for c in ("image_id", "category_id", "pixels"))):
        name = names[category]
        images[name].add(image)
        instances[name] += 1
        pixels.setdefault(name, None)
        if px is not None:
            pixels[name] = (pixels[name] or 0.0) + px
    return {n: (len(images[n]), instances[n], pixels[n]) for n in instances}


def class_counts_in_memory(dataset) -> dict[str, tuple[int, int, float | None]]:
    """The same from the in-memory cube (the reference)."""
    table = cube(dataset, ())
    name = "class" if "class" in table.column_names else "category"
    rows = zip(*(table.column(c).to_pylist() for c in (name, "images", "instances", "pixels")))
    return {n: (i, k, p) for n, i, k, p in rows}


def assert_source_equals(lake: Path, source_id: str, dataset) -> None:
    """The source's rows in the lake are the dataset's: every image column, every counted
    annotation (class by name), the manifest's counts, and the per-class counts of the cube."""
    entry = next(s for s in manifest(lake)["sources"] if s["id"] == source_id)
    assert (entry["kind"], entry["images"], entry["annotations"]) == ("copied", dataset.num_images, dataset.num_annotations)
    assert entry["conditions"] == list(dataset.conditions)
    images, anns = source_tables(lake, source_id)
    assert images.column_names == IMAGE_COLUMNS + list(dataset.conditions)
    for column in IMAGE_COLUMNS + list(dataset.conditions):
        assert images.column(column).to_pylist() == dataset.images.column(column).to_pylist(), column
    assert anns.num_rows == dataset.num_annotations
    for column in ("image_id", "area", "pixels"):
        assert anns.column(column).to_pylist() == dataset.annotations.column(column).to_pylist(), column
    names = lake_class_names(lake)
    ds_names = dataset.class_names
    assert [names[i] for i in anns.column("category_id").to_pylist()] == \
        [ds_names[i] for i in dataset.annotations.column("category_id").to_pylist()]
    assert set(ds_names) <= set(names)  # declared classes too, used or not
    lake_counts, memory_counts = class_counts_from_lake(lake, source_id), class_counts_in_memory(dataset)
    assert lake_counts.keys() == memory_counts.keys()
    for name, (n_images, n_instances, n_pixels) in memory_counts.items():
        got = lake_counts[name]
        assert got[:2] == (n_images, n_instances), name
        assert (got[2] is None) == (n_pixels is None) and (n_pixels is None or got[2] == pytest.approx(n_pixels)), name


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry below ``folder`` (hidden ones too) with its kind, size and modification time."""
    if not folder.exists():
        return {}
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.stat()
            out[str(path.relative_to(folder))] = (path.is_dir(), st.st_size if path.is_file() else 0, st.st_mtime_ns)
    return out


def without_times(doc: dict) -> dict:
    """An info dict without the times an add stamps (to compare two lakes built alike)."""
    doc = dict(doc, created=None, updated=None)
    doc["sources"] = [dict(s, added=None) for s in doc["sources"]]
    return doc
