"""Image folder trees root/[split/]class/image: imbal_core.io.classification.read_folder."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from PIL import Image

from imbal_core.cube import class_totals
from imbal_core.io import folders
from imbal_core.io.classification import read_folder
from imbal_core.report import LoadError, LoadReport


def make_tree(root: Path, files: dict[str, object]) -> Path:
    """``files``: relative path -> (width, height) for a real PNG / JPEG, bytes for raw content, None for a folder."""
    for rel, spec in files.items():
        path = root / rel
        if spec is None:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(spec, bytes):
            path.write_bytes(spec)
        else:
            fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
            Image.new("RGB", spec).save(path, fmt)
    return root


def per_class(dataset) -> dict[str, int]:
    totals = class_totals(dataset)
    return dict(zip(totals.column("class").to_pylist(), totals.column("images").to_pylist()))


# tree, expected: {class: images}, splits, report codes
CASES = {
    "classes only": (
        {"cat/a.png": (4, 3), "cat/b.PNG": (4, 3), "dog/c.jpg": (2, 2)},
        ({"cat": 2, "dog": 1}, ("unassigned",), {})),
    "split folders": (
        {"train/cat/a.png": (2, 2), "valid/cat/b.png": (2, 2), "test/dog/c.png": (2, 2)},
        ({"cat": 2, "dog": 1}, ("train", "val", "test"), {})),
    "empty class folder is declared": (
        {"cat/a.png": (2, 2), "rare": None},
        ({"cat": 1, "rare": 0}, ("unassigned",), {})),
    "other files ignored in one row": (
        {"cat/a.png": (2, 2), "cat/notes.txt": b"x", "labels.json": b"{}", ".DS_Store": b"x"},
        ({"cat": 1}, ("unassigned",), {"ignored_files": 1})),
    "images outside class folders": (
        {"cat/a.png": (2, 2), "loose.png": (2, 2)},
        ({"cat": 1}, ("unassigned",), {"no_class_folder": 1})),
    "image loose in a split folder": (
        {"train/cat/a.png": (2, 2), "train/loose.png": (2, 2)},
        ({"cat": 1}, ("train",), {"no_class_folder": 1})),
    "not a split beside splits": (
        {"train/cat/a.png": (2, 2), "extra/cat/b.png": (2, 2), "extra/cat/c.png": (2, 2)},
        ({"cat": 1}, ("train",), {"not_a_split_folder": 1})),
    "unreadable header": (
        {"cat/a.jpg": b"not an image", "cat/b.png": (2, 2)},
        ({"cat": 2}, ("unassigned",), {"unreadable_image": 1})),
    "nested classes stay apart": (
        {"a/house/outdoor/1.png": (2, 2), "b/park/outdoor/2.png": (2, 2)},
        ({"a/house/outdoor": 1, "b/park/outdoor": 1}, ("unassigned",), {})),
    "every extension, any case": (
        {f"c/x.{ext}": b"?" for ext in ("jpg", "JPEG", "png", "bmp", "gif", "Tif", "tiff", "webp")},
        ({"c": 8}, ("unassigned",), {"unreadable_image": 8})),
    "numbers sort by value": (
        {"10/a.png": (2, 2), "2/b.png": (2, 2), "b/c.png": (2, 2)},
        ({"2": 1, "10": 1, "b": 1}, ("unassigned",), {})),
}


@pytest.mark.parametrize("tree, expected", CASES.values(), ids=CASES.keys())
def test_folders(tmp_path, tree, expected):
    classes, splits, codes = expected
    report = LoadReport()
    dataset = read_folder([make_tree(tmp_path / "root", tree)], report)
    assert per_class(dataset) == classes
    assert dataset.class_names == list(classes)
    assert dataset.splits == splits
    assert dict(report.counts()) == codes
    assert dataset.task == "classification" and dataset.format == "folder"


def test_sizes_file_names_and_report_records(tmp_path):
    root = make_tree(tmp_path / "root", {"train/cat/a.png": (5, 3), "train/cat/bad.jpg": b"x", "train/dog/b.jpg": (7, 9)})
    report = LoadReport()
    dataset = read_folder([root], report)
    images = dataset.images
    assert images.column("file_name").to_pylist() == ["train/cat/a.png", "train/cat/bad.jpg", "train/dog/b.jpg"]
    assert images.column("width").to_pylist() == [5, None, 7]
    assert images.column("height").to_pylist() == [3, None, 9]
    (row,) = list(report)
    assert (row.file, row.record, row.action) == (str(root / "train/cat/bad.jpg"), "train/cat/bad.jpg", "kept, size unknown")


def test_root_named_like_a_split(tmp_path):
    root = make_tree(tmp_path / "val", {"cat/a.png": (2, 2)})
    assert read_folder([root], LoadReport()).splits == ("val",)


def test_several_roots(tmp_path):
    train = make_tree(tmp_path / "train", {"cat/a.png": (2, 2)})
    test = make_tree(tmp_path / "test", {"cat/a.png": (2, 2), "dog/b.png": (2, 2)})
    dataset = read_folder([train, test], LoadReport())
    assert dataset.splits == ("train", "test")
    assert per_class(dataset) == {"cat": 2, "dog": 1}


@pytest.mark.parametrize("option, expected_width, codes", [
    (True, [2, 2, 2], {}),
    (False, [None, None, None], {}),
    ("auto", [None, None, None], {"sizes_not_read": 1}),  # 3 images > the limit of 2 set below
])
def test_read_sizes(tmp_path, monkeypatch, option, expected_width, codes):
    monkeypatch.setattr(folders, "SIZE_READ_LIMIT", 2)
    root = make_tree(tmp_path / "root", {"c/a.png": (2, 2), "c/b.png": (2, 2), "c/d.png": (2, 2)})
    report = LoadReport()
    dataset = read_folder([root], report, read_sizes=option)
    assert dataset.images.column("width").to_pylist() == expected_width
    assert dict(report.counts()) == codes


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_symlinks(tmp_path):
    outside = make_tree(tmp_path / "outside", {"x.png": (2, 2), "d/y.png": (2, 2)})
    root = make_tree(tmp_path / "root", {"cat/a.png": (2, 2), "shared/b.png": (2, 2)})
    os.symlink(outside / "x.png", root / "cat" / "x.png")
    os.symlink(outside / "d", root / "dog")
    os.symlink(root / "shared", root / "alias")  # inside the root: followed
    os.symlink(root, root / "cat" / "loop")  # a loop: visited once
    report = LoadReport()
    dataset = read_folder([root], report)
    assert per_class(dataset) == {"alias": 1, "cat": 1, "shared": 1}
    assert sorted(r.record for r in report if r.code == "symlink_outside_root") == ["cat/x.png", "dog"]


# inputs, options, error match
def test_errors(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(LoadError, match=r"file\.txt: not a folder"):
        read_folder([tmp_path / "file.txt"], LoadReport())
    with pytest.raises(LoadError, match=r"nowhere: not a folder"):
        read_folder([tmp_path / "nowhere"], LoadReport())
    with pytest.raises(ValueError, match=r"`read_sizes` must be True, False or 'auto'\. Got 'yes' instead\."):
        read_folder([tmp_path], LoadReport(), read_sizes="yes")


def test_empty_tree_has_no_images(tmp_path):
    dataset = read_folder([make_tree(tmp_path / "root", {"empty": None})], LoadReport())
    assert (dataset.num_images, dataset.class_names) == (0, ["empty"])


def test_header_reads_are_cheap(tmp_path):
    """Pillow reads the size from the header: well under a millisecond per image (measured ~50 µs)."""
    tree = {f"c{i % 4}/{i}.png": (64, 48) for i in range(200)}
    root = make_tree(tmp_path / "root", tree)
    read_folder([root], LoadReport(), read_sizes=False)  # warm the file cache
    start = time.perf_counter()
    dataset = read_folder([root], LoadReport(), read_sizes=True)
    per_image = (time.perf_counter() - start) / 200
    assert dataset.images.column("width").to_pylist() == [64] * 200
    assert per_image < 2e-3


def test_a_file_whose_name_is_not_utf8_is_reported_and_the_rest_read(tmp_path):
    root = make_tree(tmp_path / "tree", {"cat/a.png": (4, 3), "dog/b.png": (5, 5)})
    try:
        bad = Path(os.fsdecode(os.fsencode(root / "cat") + b"/\xff.png"))
        bad.write_bytes((root / "cat" / "a.png").read_bytes())
        os.mkdir(os.fsencode(root) + b"/bird\xe9")
    except (OSError, UnicodeError) as exc:
        pytest.skip(f"this file system refuses names that are not UTF-8 ({exc})")
    (Path(os.fsdecode(os.fsencode(root) + b"/bird\xe9")) / "c.png").write_bytes((root / "cat" / "a.png").read_bytes())
    report = LoadReport()
    ds = read_folder([root], report)
    assert per_class(ds) == {"cat": 1, "dog": 1}
    rows = sorted((r.record, r.code, r.action) for r in report if r.code == "undecodable_name")
    assert rows == [("bird\\xe9", "undecodable_name", "skipped"), ("cat/\\xff.png", "undecodable_name", "skipped")]
    assert report.to_arrow().num_rows == len(report)  # every row can be written (no surrogates left)


def test_sizes_of_images_past_pillows_limit_are_read(tmp_path):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20_000, 20_000, 8, 0, 0, 0, 0))
    root = make_tree(tmp_path, {"aerial/a.png": header + chunk(b"IDAT", b""), "aerial/b.png": (3, 2)})
    report = LoadReport()
    ds = read_folder([root], report, read_sizes=True)
    assert sorted(zip(ds.images.column("width").to_pylist(), ds.images.column("height").to_pylist())) == [
        (3, 2), (20_000, 20_000)]
    assert not report
