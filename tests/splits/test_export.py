"""Writing new splits: COCO, YOLO, VOC and CSV files that reload with the same split membership, and a
folder to write into that is refused when it is a file."""
from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

import imbal_core
from imbal_core.splits import export_formats, export_splits, make_splits

from .conftest import SURFACE, membership




def test_coco_round_trip_keeps_membership_and_records(street, tmp_path):
    result = make_splits(street, (0.8, 0.1, 0.1), seed=1, rounds=2)
    export = export_splits(result.dataset)
    assert export.format == "coco" and sorted(export.files) == ["instances_test.json", "instances_train.json",
                                                                "instances_val.json"]
    paths = export.write(tmp_path / "one")
    again = imbal_core.load(paths, cache=False)
    assert membership(again) == membership(result.dataset)
    assert again.num_annotations == street.num_annotations and again.conditions == street.conditions
    # from several files: split again, export again, reload again
    second = make_splits(again, (0.7, 0.3), seed=2, rounds=1)
    paths = export_splits(second.dataset).write(tmp_path / "two")
    assert membership(imbal_core.load(paths, cache=False)) == membership(second.dataset)
    name, data, mime = export.download()
    assert name == "splits_coco.zip" and mime == "application/zip" and data[:2] == b"PK"


def test_coco_rebuilt_from_tables_without_the_records(street, tmp_path):
    # A dataset without the records the reader keeps (built by hand): rebuilt from the tables. (Only
    # the records count: a moved or deleted source changes nothing, see tests/io/test_coco_records.py.)
    result = make_splits(street, (0.8, 0.2), seed=0, rounds=1)
    moved = replace(result.dataset, sources=(str(tmp_path / "gone.json"),), records=None)
    export = export_splits(moved)
    assert export.warnings and "Rebuilt from the tables" in export.warnings[0]
    again = imbal_core.load(export.write(tmp_path), cache=False)
    assert membership(again) == membership(result.dataset) and again.num_annotations == street.num_annotations


def test_csv_round_trip_through_the_sidecar(tmp_path):
    surface = imbal_core.load(SURFACE, cache=False)
    result = make_splits(surface, (0.6, 0.2, 0.2), seed=0, rounds=1)
    export = export_splits(result.dataset)
    assert export.format == "csv" and export_formats(surface) == ("csv",)
    name, data, mime = export.download()
    assert (name, mime) == ("splits.csv", "text/csv") and data.startswith(b"image,split\n")
    (path,) = export.write(tmp_path)
    again = imbal_core.load(SURFACE, conditions=path, cache=False)
    assert membership(again) == membership(result.dataset)


def write_yolo(root: Path, n: int = 40) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    (root / "data.yaml").write_text(yaml.safe_dump({"names": ["cat", "dog", "bird"], "nc": 3, "train": "train/images",
                                                    "val": "val/images", "extra": "kept"}))
    for i in range(n):
        split = "train" if i < 30 else "val"
        (root / split / "images").mkdir(parents=True, exist_ok=True)
        (root / split / "labels").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (32, 24)).save(root / split / "images" / f"im{i:03d}.jpg")
        lines = [f"{rng.integers(0, 3)} 0.5 0.5 0.2 0.2" for _ in range(rng.integers(1, 4))]
        (root / split / "labels" / f"im{i:03d}.txt").write_text("\n".join(lines) + "\n")


def test_yolo_round_trip_with_relative_lists(tmp_path):
    write_yolo(tmp_path)
    ds = imbal_core.load(tmp_path / "data.yaml", cache=False)
    result = make_splits(ds, (0.6, 0.2, 0.2), seed=0, rounds=1)
    export = export_splits(result.dataset)
    assert sorted(export.files) == ["data.yaml", "test.txt", "train.txt", "val.txt"]
    doc = yaml.safe_load(export.files["data.yaml"])
    assert doc["train"] == "train.txt" and doc["extra"] == "kept" and doc["names"] == ["cat", "dog", "bird"]
    assert export.files["train.txt"].decode().splitlines()[0].startswith("./")
    export.write(tmp_path)  # unzipped into the dataset root, as the note says
    again = imbal_core.load(tmp_path / "data.yaml", cache=False)
    assert membership(again, "file_name") == membership(result.dataset, "file_name")
    assert again.num_annotations == ds.num_annotations


@pytest.mark.realdata
def test_yolo_round_trip_of_the_roboflow_export_keeps_groups_together(realdata, tmp_path):
    ds = imbal_core.load(realdata / "garbage_yolo" / "data.yaml")
    result = make_splits(ds, (0.8, 0.1, 0.1), seed=0, rounds=1)
    assert result.group_by == "group" and result.health.leaks.num_rows == 0
    export = export_splits(result.dataset, paths="absolute")
    export.write(tmp_path)
    again = imbal_core.load(tmp_path / "data.yaml", cache=False)
    assert membership(again, "file_name") == membership(result.dataset, "file_name")
    assert again.num_annotations == ds.num_annotations


def write_voc(root: Path, n: int = 20) -> None:
    (root / "Annotations").mkdir(parents=True)
    for i in range(n):
        name = ["cat", "dog"][i % 2]
        (root / "Annotations" / f"img{i:03d}.xml").write_text(
            f"<annotation><filename>img{i:03d}.jpg</filename><size><width>100</width><height>80</height></size>"
            f"<object><name>{name}</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>20</xmax><ymax>20</ymax></bndbox>"
            "</object></annotation>")


def test_voc_round_trip_writes_imagesets(tmp_path):
    write_voc(tmp_path)
    ds = imbal_core.load(tmp_path, cache=False)
    result = make_splits(ds, (0.6, 0.2, 0.2), seed=0, rounds=1)
    export = export_splits(result.dataset)
    assert sorted(export.files) == [f"ImageSets/Main/{s}.txt" for s in ("test", "train", "trainval", "val")]
    export.write(tmp_path)
    again = imbal_core.load(tmp_path, cache=False)
    assert membership(again) == membership(result.dataset)


@pytest.mark.realdata
def test_voc_round_trip_on_bccd(realdata, tmp_path):
    source = realdata / "bccd_voc" / "BCCD"
    os.symlink(source / "Annotations", tmp_path / "Annotations")
    ds = imbal_core.load(tmp_path, cache=False)
    result = make_splits(ds, (0.7, 0.15, 0.15), seed=0, rounds=1)
    export_splits(result.dataset).write(tmp_path)
    again = imbal_core.load(tmp_path, cache=False)
    assert membership(again) == membership(result.dataset) and again.num_images == 364


def test_an_export_format_the_source_cannot_give_is_refused(street):
    with pytest.raises(ValueError, match=r"`format` 'yolo' needs a yolo export; this dataset was read from coco"):
        export_splits(street, "yolo")
    with pytest.raises(ValueError, match=r"`format` must be one of"):
        export_splits(street, "xml")


def test_write_creates_the_folder(tmp_path, street):
    export = export_splits(street, "csv")
    (path,) = export.write(tmp_path / "a" / "b")
    assert path.read_bytes() == export.files["splits.csv"]
    shutil.rmtree(tmp_path / "a")


def test_custom_split_names_reload_from_coco_and_are_refused_by_yolo(street, tmp_path):
    result = make_splits(street, (0.9, 0.1), seed=0, names=("fit", "holdout"), rounds=1)
    paths = export_splits(result.dataset).write(tmp_path)
    assert sorted(p.name for p in paths) == ["instances_fit.json", "instances_holdout.json"]
    assert membership(imbal_core.load(paths, cache=False)) == membership(result.dataset)
    voc_like = replace(result.dataset, format="voc")
    with pytest.raises(ValueError, match=r"VOC names only train, val and test splits; these splits are called \['fit'"):
        export_splits(voc_like, "voc")


def test_write_goes_into_an_existing_folder_and_refuses_a_file(tmp_path, street):
    export = export_splits(street, "csv")
    (path,) = export.write(tmp_path)  # an existing folder: written into
    assert path == tmp_path / "splits.csv" and path.read_bytes() == export.files["splits.csv"]
    with pytest.raises(ValueError, match=r"^`folder` must be a folder \(created when missing\)\. Got '.*splits\.csv' "
                                         r"instead: an existing file\.$"):
        export.write(path)
    with pytest.raises(ValueError, match=r"Got '.*splits\.csv/new' instead: below '.*splits\.csv', an existing file\."):
        export.write(path / "new")
    assert path.read_bytes() == export.files["splits.csv"]  # left as it was


def test_write_names_a_file_in_the_way_inside_the_folder(tmp_path, street):
    export = export_splits(street, "coco")
    (tmp_path / "instances_val.json").mkdir()  # a folder where a file goes
    with pytest.raises(ValueError, match=r"`folder` '.*' cannot take instances_val\.json: '.*instances_val\.json' or a "
                                         r"folder on its way is in the way"):
        export.write(tmp_path)
