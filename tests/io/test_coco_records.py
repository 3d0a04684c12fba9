"""The records the COCO reader keeps (``Dataset.records``): the same from both paths, true to the
file, kept in the parse cache, and enough for every step that used to open the export again —
mask evaluation, the merged export, the split export and the tiles still work once the file is
gone."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import numpy as np
import pytest
import yaml

import imbal_core
from imbal_core.evaluate import coco_ap
from imbal_core.hierarchy import merged_coco
from imbal_core.io import cache
from imbal_core.io.coco import read_coco
from imbal_core.io.predictions import read_predictions
from imbal_core.pixels import coco_pixel_counts, tiles_from_coco
from imbal_core.report import LoadReport
from imbal_core.samples import sample_root
from imbal_core.source_records import SourceRecords
from imbal_core.splits import export_splits, make_splits

SAMPLES = sample_root()
SAMPLE_FILES = [SAMPLES / "street" / "annotations.json", SAMPLES / "lanes" / "annotations.json",
                SAMPLES / "street_daily" / "day01.json"]
REAL_FILES = ["coco_val2014_100/instances_val2014_100.json", "lvis_val_100/lvis_val_100.json", "taco/annotations.json"]


def both_paths(path: Path):
    python = read_coco([path], LoadReport(), engine="python")
    fast = read_coco([path], LoadReport(), engine="fast")
    return python, fast


def assert_same_records(a: SourceRecords, b: SourceRecords) -> None:
    assert a.images.equals(b.images)
    assert a.annotations.equals(b.annotations)
    assert a.files == b.files
    for f in range(a.files):
        assert a.document(f) == b.document(f)


def assert_true_to_the_file(dataset, path: Path) -> None:
    """Every record decodes to the file's own element; each kept image record names its row."""
    doc = json.loads(Path(path).read_bytes())
    records = dataset.records
    assert [msgspec.json.decode(t) for t in records.images.column("record").to_pylist()] == doc["images"]
    assert [msgspec.json.decode(t) for t in records.annotations.column("record").to_pylist()] == doc.get("annotations", [])
    rest = {k: v for k, v in doc.items() if k not in ("images", "annotations")}
    assert {k: v for k, v in records.document(0).items() if k not in ("images", "annotations")} == rest
    rows = records.images.column("row").to_numpy()
    kept = rows >= 0
    ids = [str(doc["images"][i]["id"]) for i in np.flatnonzero(kept)]
    assert dataset.images.column("source_id").take(rows[kept]).to_pylist() == ids
    assert sorted(rows[kept].tolist()) == list(range(dataset.num_images))


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_both_paths_keep_the_same_records_of_the_samples(path):
    python, fast = both_paths(path)
    assert_same_records(python.records, fast.records)
    assert_true_to_the_file(fast, path)


@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL_FILES)
def test_both_paths_keep_the_same_records_of_real_exports(realdata, name):
    python, fast = both_paths(realdata / name)
    assert_same_records(python.records, fast.records)
    assert_true_to_the_file(python, realdata / name)
    names = dict(zip(fast.annotations.column("source_id").to_pylist(), fast.annotations.column("source_id").to_pylist()))
    assert set(names) <= set(fast.records.annotations.column("source_id").to_pylist())


def _image(i, **extra):
    return {"id": i, "file_name": f"{i}.jpg", "width": 100, "height": 80, **extra}


def _ann(i, image_id, category_id=1, **extra):
    return {"id": i, "image_id": image_id, "category_id": category_id, "bbox": [1, 2, 10, 10], "area": 100, **extra}


# Inputs the fast path takes although they are not written as json.dumps writes them: both paths
# must keep the records byte for byte (the per-record path through msgspec's Raw).
HOSTILE = {
    "spaces everywhere": b'{ "images" : [ ' + b', '.join(json.dumps(_image(i)).encode() for i in (1, 2)) + b' ] , '
                         b'"annotations" : [ ' + json.dumps(_ann(1, 1)).encode() + b' ] , '
                         b'"categories" : [ {"id": 1, "name": "a"} ] }',
    "compact, unicode and escapes": json.dumps({
        "info": {"note": "caf\u00e9 \u2603 \"quoted\" }, { ] ["},
        "images": [_image(1, note="s\u00fc\u00df \\ \t"), _image(2, tags=["x", "y"])],
        "annotations": [_ann(1, 1, text="a \"b\" {c}"), _ann(2, 2, segmentation=[[0, 0, 5, 0, 5, 5]])],
        "categories": [{"id": 1, "name": "\u00e9t\u00e9"}]}, separators=(",", ":"), ensure_ascii=False).encode(),
    "skipped and dangling records": json.dumps({
        "images": [_image(1), _image(1, again=True), _image(3)],  # a repeated id: the later one is skipped
        "annotations": [_ann(1, 1), _ann(2, 99), _ann(3, 3, category_id=7), _ann(4, 3, bbox=[500, 500, 5, 5])],
        "categories": [{"id": 1, "name": "a"}], "licenses": [{"id": 1}], "extra": None}).encode(),
    "short records and empty annotations": b'{"categories": [{"id": 1, "name": "a"}], "images": [{"id": 1}, '
                                           b'{"id": 2}], "annotations": []}',
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_both_paths_keep_the_same_records_of_hostile_inputs(tmp_path, name):
    path = tmp_path / "instances.json"
    path.write_bytes(HOSTILE[name])
    python, fast = both_paths(path)
    assert_same_records(python.records, fast.records)
    assert_true_to_the_file(python, path)
    texts = python.records.images.column("record").to_pylist()
    assert all(t in HOSTILE[name] for t in texts)  # byte for byte as written


def test_skipped_records_are_kept_without_a_row(tmp_path):
    path = tmp_path / "instances.json"
    path.write_bytes(HOSTILE["skipped and dangling records"])
    for ds in both_paths(path):
        assert ds.records.images.column("row").to_pylist() == [0, -1, 1]
        assert ds.records.annotations.num_rows == 4 and ds.num_annotations == 1  # 2 dangling, 1 outside its image
        assert ds.records.document(0)["licenses"] == [{"id": 1}] and ds.records.document(0)["images"] == []


def test_a_file_msgspec_refuses_keeps_its_records_written_again(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text('{"images": [{"id": 1, "width": 10, "height": 10, "score": NaN}], "categories": [{"id": 1, "name": "a"}], '
                    '"annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "area": 4}]}')
    ds = imbal_core.load(path, cache=False)
    assert msgspec.json.decode(ds.records.images.column("record")[0].as_py()) == {"id": 1, "width": 10, "height": 10, "score": None}
    assert ds.records.annotations.column("source_id").to_pylist() == ["5"]


def test_several_files_keep_their_records_apart(tmp_path):
    for split, ids in (("train", (1, 2)), ("val", (3,))):
        (tmp_path / f"instances_{split}.json").write_text(json.dumps({
            "images": [_image(i) for i in ids], "annotations": [_ann(10 * i, i) for i in ids],
            "categories": [{"id": 1, "name": "a"}], "info": {"split": split}}))
    ds = imbal_core.load(sorted(tmp_path.glob("*.json")), cache=False)
    records = ds.records
    assert records.files == 2 and [records.document(f)["info"]["split"] for f in range(2)] == ["train", "val"]
    assert records.images.column("file").to_pylist() == [0, 0, 1] and records.images.column("row").to_pylist() == [0, 1, 2]
    assert records.annotations.column("source_id").to_pylist() == ["10", "20", "30"]


@pytest.mark.parametrize("fast", [False, True])
def test_the_cache_keeps_the_records_and_reads_them_on_first_use(tmp_path, monkeypatch, fast):
    from imbal_core.io import coco as coco_reader

    if fast:
        monkeypatch.setattr(coco_reader, "FAST_PATH_MIN_BYTES", 0)
    path = tmp_path / "instances.json"
    shutil.copy(SAMPLES / "street" / "annotations.json", path)
    first = imbal_core.load(path)
    cache.wait_for_writes()
    assert first.records.loaded is not fast  # the fast path's texts were written from the file's map, not copied
    again = imbal_core.load(path)
    assert again.key == first.key and again is not first
    assert not again.records.loaded  # a warm load does not read them
    assert_same_records(again.records, first.records)
    assert again.records.loaded
    meta = json.loads(next((cache.cache_dir() / f"v{cache.VERSION}").glob(f"{first.key}/meta.json")).read_text())
    assert meta["records"] is True


# --------------------------------------------------------------------------- no re-read


@pytest.fixture(params=["per-record", "fast"])
def gone(request, tmp_path, monkeypatch):
    """Load a copy of an export (by either path of the COCO reader), then delete the copy and
    refuse any opening of it: whatever works afterwards reads no file."""
    import builtins
    import io
    import os

    from imbal_core.io import coco as coco_reader

    if request.param == "fast":
        monkeypatch.setattr(coco_reader, "FAST_PATH_MIN_BYTES", 0)

    def load(source: Path, name: str = "instances.json", **options):
        path = tmp_path / name
        shutil.copy(source, path)
        dataset = imbal_core.load(path, cache=False, **options)
        reference = imbal_core.load(source, cache=False, **options)
        path.unlink()
        real_open, real_os_open = builtins.open, os.open

        def refuse(file, *args, **kwargs):
            if str(file) == str(path):
                raise AssertionError(f"{path} opened again")
            return real_open(file, *args, **kwargs)

        def refuse_os(file, *args, **kwargs):
            if str(file) == str(path):
                raise AssertionError(f"{path} opened again")
            return real_os_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", refuse)
        monkeypatch.setattr(io, "open", refuse)
        monkeypatch.setattr(os, "open", refuse_os)
        return dataset, reference

    return load


def test_split_export_of_a_deleted_file_keeps_every_record(gone):
    ds, reference = gone(SAMPLES / "lanes" / "annotations.json")
    result = make_splits(ds, (0.7, 0.3), seed=0, rounds=1)
    export = export_splits(result.dataset)
    assert not export.warnings and "original records" in export.note
    original = json.loads((SAMPLES / "lanes" / "annotations.json").read_bytes())
    split_of = dict(zip(result.dataset.images.column("source_id").to_pylist(),
                        result.dataset.images.column("split").combine_chunks().dictionary_decode().to_pylist()))
    for name, data in export.files.items():
        doc = json.loads(data)
        split = name.removeprefix("instances_").removesuffix(".json")
        wanted = [{**r, "split": split} for r in original["images"] if split_of[str(r["id"])] == split]
        assert doc["images"] == wanted  # every field of every record, in file order
        ids = {r["id"] for r in wanted}
        assert doc["annotations"] == [a for a in original["annotations"] if a["image_id"] in ids]  # segmentations too
        assert doc["categories"] == original["categories"]
    again = imbal_core.load(export.write(Path(str(ds.sources[0]) + ".out")), cache=False)
    assert again.num_annotations == reference.num_annotations and again.task == "segmentation"


def test_merged_export_of_a_deleted_file_rewrites_only_the_categories(gone):
    ds, reference = gone(SAMPLES / "street" / "annotations.json")
    merges = {"Wheelchair": "person", "Stroller": "person"}
    data = merged_coco(ds, merges)
    assert data == merged_coco(reference, merges)
    original = json.loads((SAMPLES / "street" / "annotations.json").read_bytes())
    rewritten = json.loads(data)
    assert rewritten["images"] == original["images"] and rewritten["info"] == original["info"]
    ids = {c["name"]: c["id"] for c in original["categories"]}
    moved = {ids["Wheelchair"]: ids["Person"], ids["Stroller"]: ids["Person"]}
    assert rewritten["annotations"] == [{**a, "category_id": moved.get(a["category_id"], a["category_id"])}
                                        for a in original["annotations"]]
    assert [c["name"] for c in rewritten["categories"]] == [c["name"] for c in original["categories"]
                                                             if c["name"] not in merges]


def test_tiles_and_pixels_of_a_deleted_file(gone):
    ds, _ = gone(SAMPLES / "lanes" / "annotations.json")
    tiles = tiles_from_coco(ds, 512)
    by_path = tiles_from_coco(SAMPLES / "lanes" / "annotations.json", 512)
    assert tiles.table.equals(by_path.table) and tiles.tiles == by_path.tiles == 150 * 6
    pixels = coco_pixel_counts(ds, "polygon")
    assert pixels.table.equals(coco_pixel_counts(SAMPLES / "lanes" / "annotations.json", "polygon").table)


@pytest.mark.realdata
def test_mask_evaluation_of_a_deleted_file_equals_pycocotools(realdata, gone):
    folder = realdata / "coco_val2014_100"
    ds, reference = gone(folder / "instances_val2014_100.json")
    results = folder / "instances_val2014_fakesegm100_results.json"
    ours = coco_ap(ds, read_predictions(results, ds), iou_type="segm")
    theirs = coco_ap(reference, read_predictions(results, reference), iou_type="segm")
    assert ours.summary == theirs.summary and round(ours.summary.ap, 3) == 0.320  # cocoapi's own figure
    assert np.array_equal(ours.ap, theirs.ap, equal_nan=True)


def test_split_export_of_a_moved_yolo_export_uses_what_the_reader_found(tmp_path):
    from PIL import Image

    root = tmp_path / "yolo"
    (root / "data.yaml").parent.mkdir()
    (root / "data.yaml").write_text(yaml.safe_dump({"names": ["cat", "dog"], "train": "train/images", "extra": "kept"}))
    for i in range(6):
        (root / "train" / "images").mkdir(parents=True, exist_ok=True)
        (root / "train" / "labels").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 8)).save(root / "train" / "images" / f"im{i}.jpg")
        (root / "train" / "labels" / f"im{i}.txt").write_text(f"{i % 2} 0.5 0.5 0.2 0.2\n")
    ds = imbal_core.load(root / "data.yaml", cache=False)
    assert ds.origin == {"root": str(root), "data_yaml": yaml.safe_load((root / "data.yaml").read_text()), "inputs": 1}
    result = make_splits(ds, (0.5, 0.5), seed=0, rounds=1)
    shutil.move(root, tmp_path / "elsewhere")
    export = export_splits(result.dataset, paths="absolute")
    doc = yaml.safe_load(export.files["data.yaml"])
    assert doc["extra"] == "kept" and doc["names"] == ["cat", "dog"]
    assert all(line.startswith(str(root)) for line in export.files["train.txt"].decode().splitlines())


def test_a_cache_hit_from_another_folder_re_points_the_yolo_root(tmp_path):
    (tmp_path / "a" / "labels").mkdir(parents=True)
    (tmp_path / "a" / "data.yaml").write_text(yaml.safe_dump({"names": ["cat"], "train": "labels"}))
    (tmp_path / "a" / "labels" / "x.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # the same content and dates: the same cache key
    first = imbal_core.load(tmp_path / "a" / "data.yaml")
    cache.wait_for_writes()
    second = imbal_core.load(tmp_path / "b" / "data.yaml")
    assert second.key == first.key and first.origin["root"] == str(tmp_path / "a")
    assert second.origin["root"] == str(tmp_path / "b") and second.origin["data_yaml"] == first.origin["data_yaml"]


def test_without_records_each_step_says_so_or_uses_the_tables(tmp_path):
    from dataclasses import replace

    ds = replace(imbal_core.load(SAMPLES / "lanes" / "annotations.json", cache=False), records=None)
    with pytest.raises(ValueError, match=r"COCO segmentations are needed; this dataset holds no COCO records"):
        tiles_from_coco(ds)
    from imbal_core.evaluate.coco import _segmentations

    with pytest.raises(ValueError, match=r"Mask evaluation needs COCO ground truth with segmentations; this "
                                         r"dataset holds no COCO records"):
        _segmentations(ds, ["1"], np.zeros(1, np.int64))
    rebuilt = json.loads(merged_coco(ds, {}))
    assert len(rebuilt["annotations"]) == ds.num_annotations and "segmentation" not in rebuilt["annotations"][0]


def test_records_of_a_file_changed_in_place_after_the_load_are_refused(tmp_path, monkeypatch):
    """The fast path copies the records out of the file's memory map when first used; a file
    rewritten in place since (not replaced) would show other bytes there, or none (SIGBUS)."""
    from imbal_core.io import coco as coco_reader

    monkeypatch.setattr(coco_reader, "FAST_PATH_MIN_BYTES", 0)
    path = tmp_path / "instances.json"
    shutil.copy(SAMPLES / "street" / "annotations.json", path)
    ds = imbal_core.load(path, cache=False)
    assert not ds.records.loaded
    with open(path, "r+b") as f:  # cut short in place, as an editor saving over the file may do
        f.truncate(100)
    with pytest.raises(OSError, match=r"instances\.json was changed in place since it was loaded: .* Load it again\."):
        ds.records.annotations


def test_records_of_a_file_replaced_after_the_load_are_those_parsed(tmp_path, monkeypatch):
    from imbal_core.io import coco as coco_reader

    monkeypatch.setattr(coco_reader, "FAST_PATH_MIN_BYTES", 0)
    path = tmp_path / "instances.json"
    shutil.copy(SAMPLES / "street" / "annotations.json", path)
    ds = imbal_core.load(path, cache=False)
    replacement = tmp_path / "new.json"
    replacement.write_text(json.dumps({"images": [_image(1)], "annotations": [], "categories": []}))
    replacement.replace(path)  # as exporters write: a new file renamed over the old one
    reference = read_coco([SAMPLES / "street" / "annotations.json"], LoadReport(), engine="python")
    assert_same_records(ds.records, reference.records)
