"""What the lake engine's tests share: datasets loaded once, lakes built from them with the store,
the in-memory references (imbal_core.cube.cube, Dataset.image_classes) and the comparisons."""
from __future__ import annotations

import functools
from pathlib import Path

import pyarrow as pa
import pytest

from imbal_core import cube as memory_cube
from imbal_core.dataset import Dataset, build_dataset
from imbal_core.io import load
from imbal_core.lake import add_dataset, incidence
from imbal_core.samples import SAMPLES

ROOT = Path(__file__).resolve().parents[2]
REALDATA = ROOT.parent / "shared" / "realdata"

# Every real export of ../shared/realdata that imbal reads, one dataset each (format sniffed).
REAL_EXPORTS = [
    "coco_val2014_100/instances_val2014_100.json", "taco/annotations.json", "lvis_val_100/lvis_val_100.json",
    "bccd_voc", "garbage_yolo", "exdark/imageclasslist.txt", "labelstudio/test_export_yolo_data.json",
    "labelstudio/test_export_yolo_data_polygons.json", "places_lt", "cvat", "labelme", "open_images/v6",
    "open_images/v5", "kitti", "mot", "darknet_yolo", "bdd100k",
]


@functools.cache
def sample(name: str) -> Dataset:
    s = SAMPLES[name]
    return load(s.files(), format=s.format, cache=False)


@functools.cache
def real(relative: str) -> Dataset:
    return load(REALDATA / relative, cache=False)


def lake_of(folder: Path, *datasets: Dataset) -> tuple[Path, list[str]]:
    """A lake at ``folder`` holding ``datasets`` (one copied source each, added with the store), and
    their source ids."""
    ids = [add_dataset(folder, d).source.id for d in datasets]
    return folder, ids


def dims_to_check(dataset: Dataset) -> list[tuple[str, ...]]:
    """(), (split,), (split, c) for each condition, (group,), and all the dims at once."""
    dims = [(), ("split",), *(("split", c) for c in dataset.conditions), ("group",)]
    if dataset.conditions:
        dims.append(("split", "group", *dataset.conditions))
    return dims


def columns(table: pa.Table) -> dict[str, list]:
    return {name: table.column(name).to_pylist() for name in table.column_names}


def assert_same_cube(got: pa.Table, dataset: Dataset, dims, where: str = "") -> None:
    """``got`` equals the in-memory cube of ``dataset`` over ``dims``: the same columns in the
    same order, the same rows in the same order, every value equal (nulls where it has nulls)."""
    want = memory_cube(dataset, dims)
    assert got.column_names == want.column_names, where
    assert got.num_rows == want.num_rows, f"{where} dims={dims}: {got.num_rows} rows, in memory {want.num_rows}"
    for name, values in columns(want).items():
        if name == "pixels":
            assert_same_sums(got.column(name).to_pylist(), values, f"{where} dims={dims}")
        else:
            assert got.column(name).to_pylist() == values, f"{where} dims={dims}: column {name} differs"
    for name in ("images", "instances"):
        assert got.schema.field(name).type == pa.int64(), name
    assert got.schema.field("pixels").type == pa.float64()


def assert_same_sums(got: list, want: list, where: str = "") -> None:
    """Pixel sums: null exactly where the reference is null, else equal up to the order of
    addition (relative 1e-12: the engines add in parallel, in no fixed order; sums of whole
    numbers, as mask pixel counts are, come out exactly equal whatever the order)."""
    assert [g is None for g in got] == [w is None for w in want], f"{where}: pixels null in other cells"
    for g, w in zip(got, want):
        if w is not None:
            assert g == pytest.approx(w, rel=1e-12), f"{where}: pixels {g} != {w}"


def reference_incidence(dataset: Dataset, source: str, image_columns) -> list[tuple]:
    """Dataset.image_classes joined with class names and the image columns, as lake rows."""
    ic = dataset.image_classes
    names = dataset.class_names
    image_values = {}
    for c in image_columns:
        col = dataset.images.column(c).combine_chunks()
        image_values[c] = (col.dictionary_decode() if pa.types.is_dictionary(col.type) else col).to_pylist()
    rows = []
    for image, category, instances, pixels in zip(*(ic.column(c).to_pylist()
                                                    for c in ("image_id", "category_id", "instances", "pixels"))):
        rows.append((source, image, names[category], instances, pixels, *(image_values[c][image] for c in image_columns)))
    return rows


def lake_incidence(lake: Path, **kw) -> pa.Table:
    batches = list(incidence(lake, **kw))
    if not batches:
        return None
    return pa.Table.from_batches(batches)


def incidence_rows(table: pa.Table, image_columns) -> list[tuple]:
    names = ["source", "image_id", "class", "instances", "pixels", *image_columns]
    return list(zip(*(table.column(n).to_pylist() for n in names)))


def combined(datasets, name: str = "combined") -> Dataset:
    """The datasets as one in-memory Dataset (images one after the other, classes merged by name in
    order of appearance, the union of conditions, null where a dataset lacks one): what a lake of
    them holds, for the in-memory reference."""
    names = list(dict.fromkeys(n for d in datasets for n in d.class_names))
    conditions = list(dict.fromkeys(c for d in datasets for c in d.conditions))
    images: dict[str, list] = {"file_name": [], "split": [], "group": [], **{c: [] for c in conditions}}
    image, category, pixels = [], [], []
    offset = 0
    for d in datasets:
        for c in images:
            if c in d.images.column_names:
                col = d.images.column(c).combine_chunks()
                images[c] += (col.dictionary_decode() if pa.types.is_dictionary(col.type) else col).to_pylist()
            else:
                images[c] += [None] * d.num_images
        local = d.class_names
        image += [offset + i for i in d.annotations.column("image_id").to_pylist()]
        category += [names.index(local[c]) for c in d.annotations.column("category_id").to_pylist()]
        pixels += d.annotations.column("pixels").to_pylist()
        offset += d.num_images
    return build_dataset(images=images, categories={"name": names},
                         annotations={"image": image, "category": category, "pixels": pa.array(pixels, pa.float64())},
                         task="detection", format="test", sources=[name], conditions=conditions, check_boxes=False)
