"""Semantic-mask PNG folders: layouts, class-names files, background and void, bad masks; the lanes sample."""
from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import imbal_core
from imbal_core.cube import class_totals
from imbal_core.io import rasters
from imbal_core.io.masks import MAX_MASK_PIXELS, read_class_names, read_masks
from imbal_core.pixels import tiles_from_masks
from imbal_core.report import LoadError, LoadReport
from imbal_core.samples import sample_root

LANES = sample_root() / "lanes"


def png(path, array, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(np.asarray(array, dtype=np.uint8), mode="L")
    if mode == "P":
        img = img.convert("P")
        img.putpalette([v for i in range(256) for v in (i, 255 - i, 0)])
    img.save(path)


A = [[0, 0, 1, 1],
     [0, 2, 2, 1],
     [255, 2, 2, 0]]  # background 4, road 3, lane 4, void 1
B = [[1, 1, 1, 1],
     [1, 1, 1, 1]]


def totals(ds):
    return {r["class"]: (r["images"], r["instances"], r["pixels"]) for r in class_totals(ds).to_pylist()}


@pytest.fixture
def folder(tmp_path):
    png(tmp_path / "masks" / "train" / "a.png", A)
    png(tmp_path / "masks" / "val" / "b.png", B, mode="P")
    (tmp_path / "classes.txt").write_text("background\nroad\nlane\n")
    return tmp_path


def test_a_folder_with_split_subfolders(folder):
    ds = imbal_core.load(folder, format="masks", cache=False)
    assert (ds.format, ds.task, ds.splits) == ("masks", "segmentation", ("train", "val"))
    assert ds.class_names == ["road", "lane"]  # background is not a class
    assert totals(ds) == {"road": (2, 2, 3.0 + 8.0), "lane": (1, 1, 4.0)}
    anns = {r["source_id"]: r for r in ds.annotations.to_pylist()}
    lane = anns["train/a.png:2"]
    assert (lane["x"], lane["y"], lane["w"], lane["h"]) == (1.0, 1.0, 2.0, 2.0)  # the extent of the lane pixels
    images = ds.images.to_pylist()
    assert (images[0]["width"], images[0]["height"], images[0]["source_id"]) == (4, 3, "train/a")
    assert ds.categories.column("source_id").to_pylist() == ["1", "2"]
    assert not ds.report


def test_sniffed_from_the_folder_and_from_masks_alone(folder):
    assert imbal_core.load(folder, cache=False).format == "masks"
    assert imbal_core.load(folder / "masks", cache=False).format == "masks"  # names file one folder up


@pytest.mark.parametrize(
    "text, expected",
    [
        ("background\nroad\n\nlane\n", {0: "background", 1: "road", 3: "lane"}),  # a blank line keeps its index
        ("0 background\n1 road\n7 lane\n", {0: "background", 1: "road", 7: "lane"}),
        ("index,name\n0,background\n1,road\n", {0: "background", 1: "road"}),
        ("1: road\n2: lane\n", {1: "road", 2: "lane"}),
        ("# comment\nroad\nlane\n", {0: "road", 1: "lane"}),
    ],
)
def test_class_names_files(tmp_path, text, expected):
    path = tmp_path / "classes.txt"
    path.write_text(text)
    assert read_class_names(path, LoadReport()) == expected


def test_pascal_labelmap(tmp_path):
    path = tmp_path / "labelmap.txt"
    path.write_text("# label:color_rgb:parts:actions\nbackground:0,0,0::\nroad:128,64,128::\n")
    assert read_class_names(path, LoadReport()) == {0: "background", 1: "road"}


@pytest.mark.parametrize(
    "options, classes",
    [
        ({"background": None}, {"background": 4.0, "road": 3.0, "lane": 4.0}),
        ({"background": "road"}, {"background": 4.0, "lane": 4.0}),
        ({"background": 2}, {"background": 4.0, "road": 3.0}),
        ({"ignore_index": None, "background": "auto"}, {"road": 3.0, "lane": 4.0}),
    ],
)
def test_background_options(tmp_path, options, classes):
    png(tmp_path / "a.png", A)
    (tmp_path / "classes.txt").write_text("background\nroad\nlane\n")
    ds = read_masks([tmp_path], **options)
    assert {n: p for n, (_, _, p) in totals(ds).items()} == classes
    if options.get("ignore_index", 255) is None:  # 255 is then an index the names file does not name
        assert [r.code for r in ds.report] == ["unknown_class_index"]


def test_problems_are_reported(tmp_path):
    png(tmp_path / "ok.png", [[1, 1], [9, 9]])  # 9 is not named
    Image.new("RGB", (2, 2)).save(tmp_path / "colour.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "classes.txt").write_text("background\nroad\nroad\n")
    ds = read_masks([tmp_path])
    codes = {r.code: r for r in ds.report}
    assert set(codes) == {"duplicate_class", "not_a_label_mask", "unreadable_image", "unknown_class_index"}
    assert codes["unknown_class_index"].problem == "2 pixels hold indices the class-names file does not name: [9]"
    assert codes["not_a_label_mask"].record == "colour.png" and codes["not_a_label_mask"].action == "skipped"
    assert ds.num_images == 1 and totals(ds) == {"road": (1, 1, 2.0)}


@pytest.mark.parametrize(
    "setup, options, match",
    [
        (lambda p: png(p / "a.png", A), {}, r"no class-names file found \(looked for classes.txt"),
        (lambda p: png(p / "a.png", A), {"classes": "nope.txt"}, r"nope.txt: the class-names file does not exist"),
        (lambda p: (p / "classes.txt").write_text("road\n") and png(p / "a.png", A), {"background": "sky"},
         r"`background` 'sky' is not a class"),
    ],
)
def test_unusable_layouts_raise(tmp_path, setup, options, match):
    setup(tmp_path)
    with pytest.raises(LoadError, match=match):
        read_masks([tmp_path], **options)


def test_ignore_index_is_validated(folder):
    with pytest.raises(ValueError, match=r"`ignore_index` must be a whole number of at least 0, or None. Got -1 instead."):
        read_masks([folder], ignore_index=-1)


def test_lanes_sample_counts_every_pixel_of_every_mask():
    ds = imbal_core.load(LANES / "masks", cache=False)
    names = (LANES / "classes.txt").read_text().split()
    expected = np.zeros(len(names), np.int64)
    for path in sorted((LANES / "masks").glob("*.png")):
        expected += np.bincount(np.asarray(Image.open(path)).ravel(), minlength=len(names))
    got = totals(ds)
    assert ds.num_images == 150 and ds.class_names == names[1:]
    assert {n: got[n][2] for n in names[1:]} == {n: float(expected[i]) for i, n in enumerate(names) if i}
    # half-resolution masks: about a quarter of the COCO polygons' pixels, lane markings the thinnest
    coco = totals(imbal_core.load(LANES / "annotations.json"))
    assert got["road"][2] / coco["road"][2] == pytest.approx(0.25, rel=0.05)
    assert got["lane_solid"][1] == coco["lane_solid"][0]  # one region per image holding the class


# --------------------------------------------------------------------------- strips, size limit, bad files


def test_counts_and_boxes_do_not_depend_on_the_strips(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    labels = np.zeros((37, 23), np.uint8)
    labels[5:9, 2:7] = 1  # road across two strips of 3 rows
    labels[30:36, 20:23] = 2
    labels[rng.random(labels.shape) < 0.05] = 255  # void
    labels[0, 0] = 9  # an index the names file does not name
    png(tmp_path / "a.png", labels)
    (tmp_path / "classes.txt").write_text("background\nroad\nlane\n")
    whole = read_masks([tmp_path])
    monkeypatch.setattr(rasters, "STRIP_PIXELS", 3 * 23)  # strips of 3 rows
    stripped = read_masks([tmp_path])
    assert stripped.annotations.equals(whole.annotations) and stripped.report.rows == whole.report.rows
    anns = {r["source_id"]: (r["x"], r["y"], r["w"], r["h"], r["pixels"]) for r in stripped.annotations.to_pylist()}
    assert anns["a.png:1"][:4] == (2.0, 5.0, 5.0, 4.0) and anns["a.png:2"][:4] == (20.0, 30.0, 3.0, 6.0)
    assert anns["a.png:1"][4] == float(((labels == 1)).sum())


def test_tiles_of_a_mask_read_in_strips_equal_the_whole(tmp_path, monkeypatch):
    labels = (np.arange(41 * 30).reshape(41, 30) // 17) % 3
    png(tmp_path / "a.png", labels)
    (tmp_path / "classes.txt").write_text("background\nroad\nlane\n")
    whole = tiles_from_masks(tmp_path, tile_size=8)
    monkeypatch.setattr(rasters, "STRIP_PIXELS", 30)  # one row a strip, rounded up to whole tile rows
    stripped = tiles_from_masks(tmp_path, tile_size=8)
    assert stripped.tiles == whole.tiles == 6 * 4 and stripped.table.equals(whole.table)
    assert stripped.table.num_rows and set(stripped.table.column("class").to_pylist()) == {"road", "lane"}


def test_a_mask_is_read_in_bounded_memory(tmp_path):
    """Only one strip at a time is ever widened: peak Python / NumPy memory stays below the size
    of the mask itself as uint8 (the old reader held it as int64: eight times that)."""
    side = 8000
    labels = np.zeros((side, side), np.uint8)
    labels[:100] = 1
    labels[-50:, :300] = 2
    png(tmp_path / "big" / "a.png", labels)
    png(tmp_path / "small" / "a.png", labels[:2, :2])
    for folder in ("big", "small"):
        (tmp_path / folder / "classes.txt").write_text("background\nroad\nlane\n")
    del labels
    read_masks([tmp_path / "small"])  # the modules a read imports are not what is measured
    tracemalloc.start()
    try:
        ds = read_masks([tmp_path / "big"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert totals(ds) == {"road": (1, 1, 100.0 * side), "lane": (1, 1, 50.0 * 300)}
    assert peak < side * side / 2, f"peak {peak / 1e6:.0f} MB for a {side * side / 1e6:.0f} MB mask"


def test_masks_past_the_limit_are_skipped_and_reported(tmp_path):
    png(tmp_path / "big.png", np.ones((40, 30)))
    png(tmp_path / "small.png", np.ones((3, 3)))
    (tmp_path / "classes.txt").write_text("background\nroad\n")
    ds = read_masks([tmp_path], max_pixels=100)
    (row,) = [r for r in ds.report if r.code == "mask_too_large"]
    assert row.record == "big.png" and "30 x 40 = 1,200 pixels, more than the limit of 100" in row.problem
    assert ds.num_images == 1 and totals(ds) == {"road": (1, 1, 9.0)}
    assert MAX_MASK_PIXELS == 32768 * 32768


@pytest.mark.parametrize("content, reason", [
    (b"", "the file is empty"),
    (b"\x89PNG\r\n\x1a\n", "corrupt image header"),
    (b"GIF89a not really", "not an image"),
    ("truncated", "truncated or corrupt pixel data"),
])
def test_empty_or_truncated_masks_are_reported_and_the_rest_read(tmp_path, content, reason):
    png(tmp_path / "good.png", [[1, 1], [0, 1]])
    if content == "truncated":
        png(tmp_path / "bad.png", (np.arange(400).reshape(20, 20) % 3))
        content = (tmp_path / "bad.png").read_bytes()[:-40]
    (tmp_path / "bad.png").write_bytes(content)
    (tmp_path / "classes.txt").write_text("background\nroad\n")
    ds = imbal_core.load(tmp_path, format="masks", cache=False)
    (row,) = [r for r in ds.report if r.code == "unreadable_image"]
    assert row.record == "bad.png" and row.file == str(tmp_path / "bad.png") and reason in row.problem
    assert ds.num_images == 1 and totals(ds) == {"road": (1, 1, 3.0)}


def test_a_mask_whose_name_is_not_utf8_is_reported_and_the_rest_read(tmp_path):
    png(tmp_path / "good.png", [[1, 1], [0, 1]])
    try:
        Path(os.fsdecode(os.fsencode(tmp_path) + b"/r\xe9seau.png")).write_bytes((tmp_path / "good.png").read_bytes())
    except (OSError, UnicodeError) as exc:
        pytest.skip(f"this file system refuses names that are not UTF-8 ({exc})")
    (tmp_path / "classes.txt").write_text("background\nroad\n")
    ds = imbal_core.load(tmp_path, format="masks", cache=False)
    (row,) = ds.report.rows
    assert (row.code, row.record, row.action) == ("undecodable_name", "r\\xe9seau.png", "skipped")
    assert row.file == f"{tmp_path}/r\\xe9seau.png"
    assert ds.num_images == 1 and ds.report.to_arrow().num_rows == 1  # the report itself can be written
