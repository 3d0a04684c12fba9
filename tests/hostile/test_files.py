"""Hostile inputs, filesystem / archive / image classes, run through the `imbal` CLI.

Each case asserts what a user is promised: exit 0, 1 or 2; no traceback and no "internal error";
the message (or the load report, when the rest was read) names the input file; and nothing good
is lost: the other files of the folder are still read. Classes:

- masks past Pillow's decompression-bomb limit (a 20000 x 20000 aerial mask is legitimate);
- empty, truncated, colour or non-image predicted / ground-truth masks in ``imbal eval --gt-masks``;
- zip archives with encrypted entries, an unsupported compression method, a corrupt entry, or
  entries that clash (``a.txt`` and ``a.txt/x.txt``);
- one file with a non-UTF-8 name in a YOLO, VOC, mask or image-folder export;
- bad inputs whose exit-2 message must name the file (one table through every reader).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imbal_core.cli import main
from imbal_core.evaluate import evaluate_masks
from imbal_core.io import rasters

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"
STREET = SAMPLES / "street" / "annotations.json"
LANES = SAMPLES / "lanes"
CLASSES = ["background", "road", "lane"]
#: The smallest square side past Pillow's default decompression-bomb error (2 x MAX_IMAGE_PIXELS).
PAST_PILLOW = math.isqrt(2 * Image.MAX_IMAGE_PIXELS) + 1


# --------------------------------------------------------------------------- helpers


def run(capsys, caplog, *args) -> tuple[int, str]:
    """Exit code and everything the user sees (stdout, stderr and the warnings logged to stderr)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out + err + caplog.text


def assert_handled(code: int, text: str, *named: str) -> None:
    assert code in (0, 1, 2), text[-2000:]
    assert "Traceback" not in text and "internal error" not in text, text[-2000:]
    for name in named:
        assert name in text, f"{name!r} not named in: {text[-2000:]}"


def write_png_rows(path: Path, width: int, height: int, row_of) -> Path:
    """An 8-bit grey PNG written row by row (``row_of(y)`` gives the row's bytes), so that a mask
    of hundreds of millions of pixels is made without holding it in memory."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(1)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)))
        for y in range(height):
            if data := compressor.compress(b"\x00" + row_of(y)):  # filter byte 0: the row as is
                f.write(chunk(b"IDAT", data))
        f.write(chunk(b"IDAT", compressor.flush()) + chunk(b"IEND", b""))
    return path


def png(path: Path, array, mode: str = "L") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).convert(mode).save(path)
    return path


def bytes_name(folder: Path, name: bytes) -> Path:
    """A path in ``folder`` whose last part is the raw bytes ``name`` (not valid UTF-8)."""
    return Path(os.fsdecode(os.fsencode(folder) + b"/" + name))


@pytest.fixture
def undecodable(tmp_path) -> None:
    try:
        bytes_name(tmp_path, b"probe\xff").write_bytes(b"")
    except (OSError, UnicodeError) as exc:  # macOS and Windows file systems refuse such names
        pytest.skip(f"this file system refuses names that are not UTF-8 ({exc})")
    bytes_name(tmp_path, b"probe\xff").unlink()


# --------------------------------------------------------------------------- masks past Pillow's limit


@pytest.fixture(scope="module")
def aerial_mask(tmp_path_factory) -> Path:
    """A mask of PAST_PILLOW x PAST_PILLOW pixels (about 179 million): a road band on the first
    10 rows, a 50 x 20 building at (100, 1000), background elsewhere."""
    side = PAST_PILLOW
    zero, road = bytes(side), b"\x01" * side
    building = bytes(100) + b"\x02" * 50 + bytes(side - 150)
    path = tmp_path_factory.mktemp("aerial") / "aerial.png"
    return write_png_rows(path, side, side, lambda y: road if y < 10 else building if 1000 <= y < 1020 else zero)


def test_a_mask_past_pillows_limit_is_counted(capsys, caplog, tmp_path, aerial_mask):
    limit = Image.MAX_IMAGE_PIXELS
    (tmp_path / "masks").mkdir()
    shutil.copy(aerial_mask, tmp_path / "masks" / "aerial.png")
    (tmp_path / "classes.txt").write_text("\n".join(CLASSES))
    code, text = run(capsys, caplog, "summary", "--no-cache", "--json", tmp_path)
    assert_handled(code, text)
    doc = json.loads(text.splitlines()[0])
    assert code == 0 and doc["images"] == 1 and not doc["report"]
    pixels = {c["class"]: c["pixels"] for c in doc["classes"]}
    assert pixels == {"road": 10 * PAST_PILLOW, "lane": 50 * 20}
    assert Image.MAX_IMAGE_PIXELS == limit  # Pillow's global limit is left alone


def test_masks_past_pillows_limit_are_evaluated(capsys, caplog, tmp_path, aerial_mask):
    for side in ("gt", "pred"):
        (tmp_path / side).mkdir()
        shutil.copy(aerial_mask, tmp_path / side / "aerial.png")
    (tmp_path / "classes.txt").write_text("\n".join(CLASSES))
    png(tmp_path / "export" / "masks" / "aerial.png", [[0, 1, 2]])  # a small export to evaluate against
    (tmp_path / "export" / "classes.txt").write_text("\n".join(CLASSES))
    code, text = run(capsys, caplog, "eval", "--no-cache", "--json", tmp_path / "export", "--pred", tmp_path / "pred",
                     "--gt-masks", tmp_path / "gt", "--mask-classes", tmp_path / "classes.txt")
    assert_handled(code, text)
    doc = json.loads(text.splitlines()[0])
    assert code == 0 and doc["images"] == 1
    assert {c["class"]: c["iou"] for c in doc["classes"]} == {"road": 1.0, "lane": 1.0}
    assert doc["segmentation"]["pixels"] == PAST_PILLOW ** 2


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_mask_pixels_are_counted_like_a_plain_per_pixel_count(tmp_path, monkeypatch, dtype):
    """Strip by strip (8-bit: a table of value pairs; 16-bit: pixel by pixel), with void (255) and
    unnamed values on both sides, the confusion matrix equals a plain count over all pixels."""
    monkeypatch.setattr(rasters, "STRIP_PIXELS", 40)  # many strips
    rng = np.random.default_rng(7)
    names = ["background", "road", "lane"]
    expected = np.zeros((3, 3), np.int64)  # rows = ground truth (road, lane, background), cols = predicted
    unknown = 0
    order = {1: 0, 2: 1, 0: 2}
    for k in range(3):
        gt, pred = rng.choice([0, 1, 2, 9, 255], (17, 11)), rng.choice([0, 1, 2, 9, 255], (17, 11))
        for g, p in zip(gt.ravel(), pred.ravel()):
            if g == 255:
                continue  # not evaluated
            if g == 9 or p in (9, 255):
                unknown += 1  # names no class
            else:
                expected[order[g], order[p]] += 1
        for side, array in (("gt", gt), ("pred", pred)):
            (tmp_path / side).mkdir(exist_ok=True)
            Image.fromarray(array.astype(dtype)).save(tmp_path / side / f"{k}.png")
    ev = evaluate_masks(tmp_path / "gt", tmp_path / "pred", names)
    assert ev.confusion.matrix.tolist() == expected.tolist()
    assert ev.excluded["pixels_of_unknown_class"] == unknown


# --------------------------------------------------------------------------- unreadable masks in eval --gt-masks


def _mask_pairs(root: Path, stems=("a", "b", "c")) -> tuple[Path, Path, Path]:
    """Ground-truth and predicted masks of ``stems``, their class names, and ``root / "export"``:
    the export they belong to (a mask folder of the same stems and classes)."""
    gt, pred = root / "gt", root / "pred"
    for stem in stems:
        png(gt / f"{stem}.png", [[0, 1], [2, 2]])
        png(pred / f"{stem}.png", [[0, 1], [2, 1]])
        png(root / "export" / "masks" / f"{stem}.png", [[0, 1], [2, 2]])
    (root / "classes.txt").write_text("\n".join(CLASSES))
    (root / "export" / "classes.txt").write_text("\n".join(CLASSES))
    return gt, pred, root / "classes.txt"


def _spoil(path: Path, how: str) -> None:
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "colour":
        Image.new("RGB", (2, 2)).save(path)
    elif how == "not_an_image":
        path.write_bytes(b"this is text, not a PNG\n")
    elif how == "bad_pixels":  # a valid header, then compressed data that is garbage
        data = bytearray(path.read_bytes())
        start = data.index(b"IDAT") + 4
        data[start:start + 8] = b"\xff" * 8
        path.write_bytes(bytes(data))


SPOILS = ["empty", "truncated", "colour", "not_an_image", "bad_pixels"]


@pytest.mark.parametrize("side", ["pred", "gt"])
@pytest.mark.parametrize("how", SPOILS)
def test_one_unreadable_mask_is_reported_and_the_others_evaluated(capsys, caplog, tmp_path, side, how):
    gt, pred, classes = _mask_pairs(tmp_path)
    spoiled = (gt if side == "gt" else pred) / "b.png"
    _spoil(spoiled, how)
    code, text = run(capsys, caplog, "eval", "--no-cache", "--json", tmp_path / "export",
                     "--pred", pred, "--gt-masks", gt, "--mask-classes", classes)
    assert_handled(code, text, str(spoiled))
    doc = json.loads(text.splitlines()[0])
    assert code == 0 and doc["excluded"]["unreadable_masks"] == 1
    assert doc["images"] == 2  # a and c: nothing good lost
    assert doc["segmentation"]["pixels"] == 2 * 4


@pytest.mark.parametrize("how", SPOILS)
def test_no_readable_mask_is_refused_naming_one(capsys, caplog, tmp_path, how):
    gt, pred, classes = _mask_pairs(tmp_path, stems=("a", "b"))
    for stem in ("a", "b"):
        _spoil(pred / f"{stem}.png", how)
    code, text = run(capsys, caplog, "eval", "--no-cache", tmp_path / "export",
                     "--pred", pred, "--gt-masks", gt, "--mask-classes", classes)
    assert_handled(code, text, str(pred / "a.png"))
    assert code == 2 and "no pair of masks could be read" in text


def test_the_cli_prints_the_skipped_mask_on_stderr(tmp_path):
    """The warning reaches a real terminal (not only pytest's log capture)."""
    gt, pred, classes = _mask_pairs(tmp_path)
    (pred / "b.png").write_bytes(b"")
    args = ["eval", "--no-cache", tmp_path / "export", "--pred", pred, "--gt-masks", gt, "--mask-classes", classes]
    result = subprocess.run([sys.executable, "-m", "imbal_core.cli", *map(str, args)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"{pred / 'b.png'}: mask cannot be read: the file is empty" in result.stderr


# --------------------------------------------------------------------------- zip archives


def _patched_zip(path: Path, members: dict[str, bytes], *, method: int | None = None, encrypted: bool = False,
                 corrupt: bool = False) -> Path:
    """A zip whose entries claim another compression ``method``, the encryption flag, or carry
    damaged data; the local and central headers are patched alike."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    data = bytearray(path.read_bytes())
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        start = data.find(signature)
        while start >= 0:
            if method is not None:
                data[start + method_at:start + method_at + 2] = method.to_bytes(2, "little")
            if encrypted:
                data[start + flag_at] |= 1
            start = data.find(signature, start + 4)
    if corrupt:  # flip the stored bytes of the first entry: its CRC no longer matches
        first = data.find(b"PK\x03\x04")
        name_len, extra_len = struct.unpack("<HH", data[first + 26:first + 30])
        body = first + 30 + name_len + extra_len
        data[body] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


ZIPS = {
    "encrypted": (dict(encrypted=True), "labels/a.txt", "encrypted"),
    "deflate64": (dict(method=9), "labels/a.txt", "method 9 (Deflate64)"),
    "zstandard": (dict(method=93), "labels/a.txt", "method 93 (Zstandard)"),
    "corrupt": (dict(corrupt=True), "labels/a.txt", "corrupt"),
}


@pytest.mark.parametrize("kind", list(ZIPS))
def test_an_unreadable_zip_entry_is_refused_naming_archive_and_entry(capsys, caplog, tmp_path, kind):
    options, entry, reason = ZIPS[kind]
    archive = _patched_zip(tmp_path / f"{kind}.zip", {"labels/a.txt": b"0 0.5 0.5 0.1 0.1\n"}, **options)
    code, text = run(capsys, caplog, "eval", "--no-cache", STREET, "--pred", archive)
    assert_handled(code, text, str(archive), repr(entry))
    assert code == 2 and reason in text


@pytest.mark.parametrize("members, entry", [
    ({"a.txt": b"x", "a.txt/x.txt": b"y"}, "a.txt/x.txt"),
    ({"d/a.txt": b"x", "d/a.txt/deeper/x.txt": b"y"}, "d/a.txt/deeper/x.txt"),
    ({"a.txt/x.txt": b"y", "a.txt": b"x"}, "a.txt"),
])
def test_clashing_zip_entries_are_skipped_naming_the_entry(capsys, caplog, tmp_path, members, entry):
    archive = _patched_zip(tmp_path / "clash.zip", members)
    code, text = run(capsys, caplog, "eval", "--no-cache", STREET, "--pred", archive)
    assert_handled(code, text, str(archive), repr(entry))
    assert "cannot also be" in text  # the entry is skipped and reported; the rest is read (test_more.py)


# --------------------------------------------------------------------------- non-UTF-8 file names


def _yolo(root: Path) -> Path:
    for stem in ("a", "b"):
        png(root / "images" / f"{stem}.png", np.zeros((10, 10)))
        _write(root / "labels" / f"{stem}.txt", "0 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").write_text("train: images\nnames: [thing]\n")
    bytes_name(root / "images", b"\xff.png").write_bytes((root / "images" / "a.png").read_bytes())
    bytes_name(root / "labels", b"\xff.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    return root


def _voc(root: Path) -> Path:
    xml = ("<annotation><filename>{}.jpg</filename><size><width>10</width><height>10</height></size><object>"
           "<name>thing</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>")
    (root / "Annotations").mkdir(parents=True)
    for stem in ("a", "b"):
        (root / "Annotations" / f"{stem}.xml").write_text(xml.format(stem))
    bytes_name(root / "Annotations", b"caf\xe9.xml").write_text(xml.format("c"))
    return root


def _masks(root: Path) -> Path:
    for stem in ("a", "b"):
        png(root / "masks" / f"{stem}.png", [[0, 1], [1, 1]])
    (root / "classes.txt").write_text("background\nthing\n")
    bytes_name(root / "masks", b"\xfe.png").write_bytes((root / "masks" / "a.png").read_bytes())
    return root


def _folder(root: Path) -> Path:
    for stem in ("a", "b"):
        png(root / "thing" / f"{stem}.png", [[0]])
    bytes_name(root / "thing", b"\xff.png").write_bytes((root / "thing" / "a.png").read_bytes())
    bad_class = bytes_name(root, b"other\xff")
    bad_class.mkdir()
    (bad_class / "x.png").write_bytes((root / "thing" / "a.png").read_bytes())
    return root


@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.parametrize("make, fmt, shown", [
    (_yolo, "yolo", "\\xff.png"),
    (_voc, "voc", "caf\\xe9.xml"),
    (_masks, "masks", "\\xfe.png"),
    (_folder, "folder", "\\xff.png"),
])
def test_one_undecodable_name_is_reported_and_the_rest_read(capsys, caplog, tmp_path, undecodable, make, fmt, shown, cache):
    root = make(tmp_path / fmt)
    code, text = run(capsys, caplog, "summary", "--json", *([] if cache else ["--no-cache"]), root)
    assert_handled(code, text)
    doc = json.loads(text.splitlines()[0])
    assert code == 0 and doc["format"] == fmt and doc["images"] == 2  # a and b: nothing good lost
    rows = [r for r in doc["report"] if r["code"] == "undecodable_name"]  # the file named, shown with \x escapes
    assert rows and all(r["action"] == "skipped" for r in rows) and any(r["file"].endswith(shown) for r in rows)


def test_an_undecodable_mask_name_in_eval_is_reported(capsys, caplog, tmp_path, undecodable):
    gt, pred, classes = _mask_pairs(tmp_path)
    bytes_name(pred, b"\xff.png").write_bytes((pred / "a.png").read_bytes())
    code, text = run(capsys, caplog, "eval", "--no-cache", "--json", tmp_path / "export",
                     "--pred", pred, "--gt-masks", gt, "--mask-classes", classes)
    assert_handled(code, text)
    assert code == 0 and json.loads(text.splitlines()[0])["images"] == 3


# --------------------------------------------------------------------------- exit-2 messages name the file


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _size_mismatch(root: Path) -> tuple[list, Path]:
    gt, pred, classes = _mask_pairs(root)
    png(pred / "b.png", np.zeros((3, 3)))
    return ["eval", root / "export", "--pred", pred, "--gt-masks", gt, "--mask-classes", classes], pred / "b.png"


def _mask_classes(text: str):
    def make(root: Path) -> tuple[list, Path]:
        gt, pred, _ = _mask_pairs(root)
        classes = _write(root / "mask_classes.txt", text)
        return ["eval", root / "export", "--pred", pred, "--gt-masks", gt, "--mask-classes", classes], classes
    return make


def _mixed(root: Path) -> tuple[list, Path]:
    coco = _write(root / "a.json", '{"images": [], "annotations": [], "categories": []}')
    yaml = _write(root / "b.yaml", "names: [a]\n")
    return ["summary", coco, yaml], coco


def _one(path: str, data: bytes | str, *extra: str):
    def make(root: Path) -> tuple[list, Path]:
        target = _write(root / path, data)
        return ["summary", *extra, target], target
    return make


def _folder_of(files: dict[str, bytes | str], *extra: str, named: str = ""):
    def make(root: Path) -> tuple[list, Path]:
        for rel, data in files.items():
            _write(root / "export" / rel, data)
        return ["summary", *extra, root / "export"], root / "export" / named
    return make


def _missing_mask_folder(side: str):
    def make(root: Path) -> tuple[list, Path]:
        gt, pred, classes = _mask_pairs(root)
        missing = root / "nowhere"
        args = {"gt": gt, "pred": pred, side: missing}
        return ["eval", root / "export", "--pred", args["pred"], "--gt-masks", args["gt"],
                "--mask-classes", classes], missing
    return make


def _zip_pred(members: dict[str, bytes]):
    def make(root: Path) -> tuple[list, Path]:
        archive = _patched_zip(root / "p.zip", members)
        return ["eval", STREET, "--pred", archive], archive
    return make


def _not_a_zip(root: Path) -> tuple[list, Path]:
    archive = _write(root / "p.zip", b"PK\x03\x04 not really")
    return ["eval", STREET, "--pred", archive], archive


BAD_INPUTS = {
    # eval --gt-masks: the class-names file, the folders, a pair of different sizes
    "mask classes empty": _mask_classes(""),
    "mask classes not the export's": _mask_classes("background\nsky\nsea\n"),
    "mask pair of different sizes": _size_mismatch,
    "gt mask folder missing": _missing_mask_folder("gt"),
    "pred mask folder missing": _missing_mask_folder("pred"),
    # format sniffing
    "inputs of two formats": _mixed,
    "unknown extension": _one("a.xyz", "x"),
    "no extension": _one("annotations", "x"),
    "empty json": _one("a.json", ""),
    "json that is no export": _one("a.json", '"text"'),
    "text that is no list": _one("a.txt", "no labels here\n"),
    "folder with nothing known": _folder_of({"readme.md": "x"}),
    # readers, forced or sniffed
    "masks without class names": _folder_of({"masks/a.png": b""}, "--format", "masks"),
    "masks with an empty class-names file": _folder_of({"masks/a.png": b"", "classes.txt": ""}, "--format", "masks",
                                                       named="classes.txt"),
    "masks all unreadable": _folder_of({"masks/a.png": b"", "classes.txt": "bg\nroad\n"}, "--format", "masks"),
    "image folder given a file": _one("a.json", "{}", "--format", "folder"),
    "image folder without images": _folder_of({"a/readme.txt": "x"}, "--format", "folder"),
    "voc without annotations": _folder_of({"readme.md": "x"}, "--format", "voc"),
    "yolo yaml without names": _one("data.yaml", "train: images\n"),
    "csv without an image column": _one("labels.csv", "a,b\n1,2\n"),
    # zips given as predictions
    "zip that is no zip": _not_a_zip,
    "zip with clashing entries": _zip_pred({"a": b"x", "a/b.txt": b"y"}),  # the clash skipped: no .txt left
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_exit_2_messages_name_the_file(capsys, caplog, tmp_path, case):
    args, named = BAD_INPUTS[case](tmp_path)
    code, text = run(capsys, caplog, *args[:1], "--no-cache", *args[1:])
    assert_handled(code, text, str(named))
    assert code == 2
    message = [line for line in text.splitlines() if line.startswith("imbal: ")]
    assert message and message[0].startswith(f"imbal: {named}"), text[-1000:]
