"""Pascal VOC reader: hand-made VOC folders for every report case, BCCD, and a property test."""
from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imbal_core.io.voc import read_voc
from imbal_core.report import LoadError, LoadReport


def obj(name: str | None = "cat", box=(10, 20, 110, 70), difficult="0", truncated=None, bndbox=True) -> str:
    """One <object>; ``None`` leaves the element out, a tuple entry of None leaves a coordinate out."""
    parts = ["<object>"]
    if name is not None:
        parts.append(f"<name>{escape(name)}</name>")
    parts.append("<pose>Unspecified</pose>")
    for key, value in (("truncated", truncated), ("difficult", difficult)):
        if value is not None:
            parts.append(f"<{key}>{escape(value)}</{key}>")
    if bndbox:
        parts.append("<bndbox>")
        for key, value in zip(("xmin", "ymin", "xmax", "ymax"), box):
            if value is not None:
                parts.append(f"<{key}>{escape(str(value))}</{key}>")
        parts.append("</bndbox>")
    parts.append("</object>")
    return "".join(parts)


def voc(*objects: str, filename: str | None = "img.jpg", size=("640", "480")) -> str:
    parts = ["<annotation><folder>JPEGImages</folder>"]
    if filename is not None:
        parts.append(f"<filename>{escape(filename)}</filename>")
    if size is not None:
        parts.append("<size>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in zip(("width", "height"), size) if v is not None)
                     + "<depth>3</depth></size>")
    parts.extend(objects)
    parts.append("</annotation>")
    return "\n".join(parts)


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def load(root: Path, files: dict[str, str | bytes], where: str | list[str] = ".") -> tuple:
    """Write ``files`` under ``root`` and read ``where`` (a path or paths relative to it)."""
    write(root, files)
    report = LoadReport()
    dataset = read_voc([root / w for w in where] if isinstance(where, list) else [root / where], report)
    return dataset, report


def images_of(dataset) -> dict[str, tuple]:
    t = dataset.images.to_pydict()
    split = dataset.images.column("split").to_pylist()
    return {s: (sp, w, h) for s, sp, w, h in zip(t["source_id"], split, t["width"], t["height"])}


def boxes_of(dataset) -> dict[str, tuple]:
    names = dataset.class_names
    t = dataset.annotations.to_pydict()
    return {
        s: (names[c], x, y, w, h)
        for s, c, x, y, w, h in zip(t["source_id"], t["category_id"], t["x"], t["y"], t["w"], t["h"])
    }


def rows_of(report: LoadReport) -> list[tuple[str, str, str]]:
    return sorted((r.record, r.code, r.action) for r in report)


A = "Annotations/"
UNKNOWN = "set to unknown; its boxes stay in pixels, unchecked against the right and bottom border"
GOOD = voc(obj("cat", (10, 20, 110, 70)), obj("  dog \n", (0, 0, 640, 480)))
LATIN = voc(obj("Café")).encode("latin-1")

# Each case: files written under a fresh folder (read as a VOC root); expected images
# {stem: (split, width, height)}, boxes {source_id: (class, x, y, w, h)}, report rows (record, code, action).
CASES = {
    "one file, two objects, names stripped": (
        {A + "a.xml": GOOD},
        {"a": ("unassigned", 640, 480)},
        {"a#0": ("cat", 10.0, 20.0, 100.0, 50.0), "a#1": ("dog", 0.0, 0.0, 640.0, 480.0)},
        [],
    ),
    "unreadable file (dangling link)": (
        {A + "a.xml": GOOD, "link": A + "b.xml"},
        {"a": ("unassigned", 640, 480)},
        {"a#0": ("cat", 10.0, 20.0, 100.0, 50.0), "a#1": ("dog", 0.0, 0.0, 640.0, 480.0)},
        [("b", "unreadable_file", "skipped")],
    ),
    "truncated XML": (
        {A + "a.xml": GOOD[: len(GOOD) // 2], A + "b.xml": voc(obj("cat"))},
        {"b": ("unassigned", 640, 480)},
        {"b#0": ("cat", 10.0, 20.0, 100.0, 50.0)},
        [("a", "bad_xml", "skipped")],
    ),
    "empty file": (
        {A + "a.xml": b""},
        {},
        {},
        [("a", "bad_xml", "skipped")],
    ),
    "not a VOC annotation": (
        {A + "a.xml": "<svg><rect/></svg>"},
        {},
        {},
        [("a", "bad_xml", "skipped")],
    ),
    "non-UTF-8 name without declared encoding": (
        {A + "a.xml": LATIN},
        {"a": ("unassigned", 640, 480)},
        {"a#0": ("Caf\ufffd", 10.0, 20.0, 100.0, 50.0)},
        [("byte " + str(LATIN.index("é".encode("latin-1"))), "not_utf8", "replaced invalid bytes")],
    ),
    "Latin-1 with declared encoding": (
        {A + "a.xml": ('<?xml version="1.0" encoding="ISO-8859-1"?>' + voc(obj("Café"))).encode("latin-1")},
        {"a": ("unassigned", 640, 480)},
        {"a#0": ("Café", 10.0, 20.0, 100.0, 50.0)},
        [],
    ),
    "encoding unknown to Python: read as UTF-8, reported": (
        {A + "a.xml": ('<?xml version="1.0" encoding="x-no-such"?>' + voc(obj("cat"))).encode()},
        {"a": ("unassigned", 640, 480)},
        {"a#0": ("cat", 10.0, 20.0, 100.0, 50.0)},
        [("", "unknown_encoding", "read as UTF-8")],
    ),
    "a codec that is no text encoding (base64)": (
        {A + "a.xml": ('<?xml version="1.0" encoding="base64"?>' + voc(obj("cat"))).encode()},
        {"a": ("unassigned", 640, 480)},
        {"a#0": ("cat", 10.0, 20.0, 100.0, 50.0)},
        [("", "unknown_encoding", "read as UTF-8")],
    ),
    "multi-byte encoding expat cannot read, Python can": (
        {A + "a.xml": ('<?xml version="1.0" encoding="Shift_JIS"?>' + voc(obj("猫"))).encode("shift_jis")},
        {"a": ("unassigned", 640, 480)},
        {"a#0": ("猫", 10.0, 20.0, 100.0, 50.0)},
        [],
    ),
    "object without name, with empty name, with blank name": (
        {A + "a.xml": voc(obj(None), obj(""), obj("   "), obj("cat"))},
        {"a": ("unassigned", 640, 480)},
        {"a#3": ("cat", 10.0, 20.0, 100.0, 50.0)},
        [("a#0", "missing_name", "skipped"), ("a#1", "missing_name", "skipped"), ("a#2", "missing_name", "skipped")],
    ),
    "bad coordinates: text, missing, no bndbox, empty": (
        {A + "a.xml": voc(obj(box=(10, "x", 20, 30)), obj(box=(10, 20, None, 30)), obj(bndbox=False),
                          obj(box=("", 1, 2, 3)), obj(box=("10.5", " 20 ", "30.5", "40")))},
        {"a": ("unassigned", 640, 480)},
        {"a#4": ("cat", 10.5, 20.0, 20.0, 20.0)},
        [("a#0", "bad_box", "skipped"), ("a#1", "bad_box", "skipped"), ("a#2", "bad_box", "skipped"),
         ("a#3", "bad_box", "skipped")],
    ),
    "non-finite coordinate": (
        {A + "a.xml": voc(obj(box=("nan", 1, 2, 3)), obj(box=(0, 0, "inf", 3)))},
        {"a": ("unassigned", 640, 480)},
        {},
        [("a#0", "non_finite_box", "skipped"), ("a#1", "non_finite_box", "skipped")],
    ),
    "zero-size box kept, box past the border clipped, box outside skipped": (
        {A + "a.xml": voc(obj(box=(5, 5, 5, 5)), obj(box=(600, 400, 700, 500)), obj(box=(700, 10, 720, 20)))},
        {"a": ("unassigned", 640, 480)},
        {"a#0": ("cat", 5.0, 5.0, 0.0, 0.0), "a#1": ("cat", 600.0, 400.0, 40.0, 80.0)},
        [("a#0", "non_positive_box", "kept"), ("a#1", "box_clipped", "clipped"), ("a#2", "box_outside_image", "skipped")],
    ),
    "missing size, no image: kept in pixels, only the near border checked": (
        {A + "a.xml": voc(obj(box=(600, 400, 1700, 1500)), obj(box=(-5, 10, 20, 30)), obj(box=(-50, 0, -10, 10)),
                          obj(box=(3, 3, 3, 9)), size=None)},
        {"a": ("unassigned", None, None)},
        {"a#0": ("cat", 600.0, 400.0, 1100.0, 1100.0), "a#1": ("cat", 0.0, 10.0, 20.0, 20.0),
         "a#3": ("cat", 3.0, 3.0, 0.0, 6.0)},
        [("a", "bad_image_size", UNKNOWN), ("a#1", "box_clipped", "clipped"),
         ("a#2", "box_outside_image", "skipped"), ("a#3", "non_positive_box", "kept")],
    ),
    "non-numeric and zero sizes": (
        {A + "a.xml": voc(obj(), size=("abc", "480")), A + "b.xml": voc(obj(), size=("0", "0")),
         A + "c.xml": voc(obj(), size=("640", None))},
        {"a": ("unassigned", None, None), "b": ("unassigned", None, None), "c": ("unassigned", None, None)},
        {f"{s}#0": ("cat", 10.0, 20.0, 100.0, 50.0) for s in "abc"},
        [("a", "bad_image_size", UNKNOWN), ("b", "bad_image_size", UNKNOWN),
         ("c", "bad_image_size", UNKNOWN)],
    ),
    "bad difficult flag": (
        {A + "a.xml": voc(obj(difficult="maybe"), obj(difficult="1", truncated="true"))},
        {"a": ("unassigned", 640, 480)},
        {"a#0": ("cat", 10.0, 20.0, 100.0, 50.0), "a#1": ("cat", 10.0, 20.0, 100.0, 50.0)},
        [("a#0", "bad_flag", "kept with difficult unknown")],
    ),
    "empty annotation folder": (
        {A + "notes.md": "no annotations yet"},
        {},
        {},
        [],
    ),
    "image with no objects": (
        {A + "a.xml": voc()},
        {"a": ("unassigned", 640, 480)},
        {},
        [],
    ),
    "splits: conflict, missing xml, unlisted, duplicate, extra field; class lists ignored": (
        {A + "a.xml": voc(), A + "b.xml": voc(), A + "c.xml": voc(), A + "d.xml": voc(), A + "e.xml": voc(),
         "ImageSets/Main/train.txt": "a\nb\n\na\n",
         "ImageSets/Main/val.txt": "b\r\nc\r\nghost\r\n",
         "ImageSets/Main/test.txt": "\ufeffd 1\n",
         "ImageSets/Main/trainval.txt": "a\nb\nc\ne\n",
         "ImageSets/Main/cat_train.txt": "e  1\n"},
        {"a": ("train", 640, 480), "b": ("train", 640, 480), "c": ("val", 640, 480), "d": ("test", 640, 480),
         "e": ("unassigned", 640, 480)},
        {},
        [("test.txt:1", "bad_line", "kept the first, 'd'"), ("train.txt:4", "duplicate_id", "ignored"),
         ("val.txt:1", "split_conflict", "kept in train"), ("val.txt:3", "missing_xml", "ignored")],
    ),
    "trainval used when train and val lists are absent": (
        {A + "a.xml": voc(), A + "b.xml": voc(),
         "ImageSets/Main/trainval.txt": "a\n", "ImageSets/Main/test.txt": "b\n"},
        {"a": ("trainval", 640, 480), "b": ("test", 640, 480)},
        {},
        [],
    ),
    "unreadable split list (dangling link)": (
        {A + "a.xml": voc(), "ImageSets/Main/val.txt": "a\n", "link": "ImageSets/Main/train.txt"},
        {"a": ("val", 640, 480)},
        {},
        [("train.txt", "unreadable_file", "ignored")],
    ),
    "non-UTF-8 split list": (
        {A + "a.xml": voc(), "ImageSets/Main/train.txt": b"a\n\xff\n"},
        {"a": ("train", 640, 480)},
        {},
        [("byte 2", "not_utf8", "replaced invalid bytes"), ("train.txt:2", "missing_xml", "ignored")],
    ),
}


@pytest.mark.parametrize("files, images, boxes, rows", CASES.values(), ids=CASES.keys())
def test_read_voc(tmp_path, files, images, boxes, rows):
    files = dict(files)
    if "link" in files:  # a file that cannot be read: a link to nowhere
        link = tmp_path / files.pop("link")
        link.parent.mkdir(parents=True)
        link.symlink_to(tmp_path / "nowhere")
    dataset, report = load(tmp_path, files)
    assert images_of(dataset) == images
    assert boxes_of(dataset) == boxes
    assert rows_of(report) == sorted(rows)


def test_flags_and_file_names(tmp_path):
    dataset, report = load(tmp_path, {A + "a.xml": voc(obj(difficult="1", truncated="0"), obj(difficult=None),
                                                        filename=" pic.png "),
                                      A + "b.xml": voc(filename=None)})
    assert dataset.annotations.column("difficult").to_pylist() == [True, None]
    assert dataset.annotations.column("truncated").to_pylist() == [False, None]
    assert dataset.images.column("file_name").to_pylist() == ["pic.png", None]
    assert dataset.categories.column("source_id").to_pylist() == ["cat"]
    assert dataset.task == "detection" and not report


def test_size_read_from_image_header(tmp_path):
    from PIL import Image

    write(tmp_path, {A + "a.xml": voc(obj(box=(50, 10, 150, 20)), filename="a.png", size=None),
                     A + "b.xml": voc(obj(), filename="b.png", size=("", ""))})
    (tmp_path / "JPEGImages").mkdir()
    Image.new("RGB", (100, 40)).save(tmp_path / "JPEGImages" / "a.png")
    (tmp_path / "JPEGImages" / "b.png").write_bytes(b"not an image")
    report = LoadReport()
    dataset = read_voc([tmp_path], report)
    assert images_of(dataset) == {"a": ("unassigned", 100, 40), "b": ("unassigned", None, None)}
    assert boxes_of(dataset)["a#0"] == ("cat", 50.0, 10.0, 50.0, 10.0)  # clipped against the real width
    assert rows_of(report) == [("a", "bad_image_size", f"read 100x40 from the header of {tmp_path / 'JPEGImages' / 'a.png'}"),
                               ("a#0", "box_clipped", "clipped"), ("b", "bad_image_size", UNKNOWN)]
    assert read_voc([tmp_path], LoadReport(), read_image_sizes=False).images.column("width").to_pylist() == [None, None]


LAYOUT = {"VOC/Annotations/a.xml": voc(obj("cat")), "VOC/Annotations/b.xml": voc(obj("dog"), obj("cat")),
          "VOC/ImageSets/Main/val.txt": "b\n"}


@pytest.mark.parametrize(
    "where",
    [".", "VOC", "VOC/Annotations", ["VOC/Annotations/a.xml", "VOC/Annotations/b.xml"]],
    ids=["one level down", "root", "annotation folder", "xml files"],
)
def test_inputs(tmp_path, where):
    dataset, report = load(tmp_path, LAYOUT, where)
    assert images_of(dataset) == {"a": ("unassigned", 640, 480), "b": ("val", 640, 480)}
    assert dataset.class_names == ["cat", "dog"]
    assert not report


def test_one_xml_file_and_lower_case_folders(tmp_path):
    write(tmp_path, {"annotations/a.xml": voc(obj()), "annotations/b.xml": voc(obj()), "imagesets/main/test.txt": "a\nb\n"})
    dataset = read_voc([tmp_path / "annotations" / "b.xml"], LoadReport())
    assert images_of(dataset) == {"b": ("test", 640, 480)}  # a.xml exists on disk: not reported as missing


def test_several_roots_and_duplicate_ids(tmp_path):
    write(tmp_path, {"X/Annotations/a.xml": voc(obj("cat")), "Y/Annotations/a.xml": voc(obj("dog")),
                     "Y/Annotations/b.xml": voc(obj("dog"))})
    report = LoadReport()
    dataset = read_voc([tmp_path], report)
    assert images_of(dataset) == {"a": ("unassigned", 640, 480), "b": ("unassigned", 640, 480)}
    assert boxes_of(dataset)["a#0"][0] == "cat"
    assert rows_of(report) == [("a", "duplicate_id", "skipped")]
    assert report.rows[0].file.endswith("Y/Annotations/a.xml")


@pytest.mark.parametrize(
    "files, where, match",
    [
        ({"notes/readme.md": "hi"}, ".", "not a VOC folder"),
        ({"ImageSets/Main/train.txt": "a\n"}, "ImageSets/Main/train.txt", "not a VOC annotation file"),
        ({}, "missing", "no such file or folder"),
        ({}, [], "No input"),
    ],
    ids=["folder without xml", "text file", "missing path", "nothing given"],
)
def test_errors(tmp_path, files, where, match):
    write(tmp_path, files)
    inputs = [tmp_path / w for w in where] if isinstance(where, list) else [tmp_path / where]
    with pytest.raises(LoadError, match=match):
        read_voc(inputs, LoadReport())


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
@pytest.mark.parametrize("folder", ["bccd_voc", "bccd_voc/BCCD"])
def test_bccd(realdata, folder):
    report = LoadReport()
    dataset = read_voc([realdata / folder], report)
    assert dataset.num_images == 364
    names = dataset.class_names
    assert names == ["Platelets", "RBC", "WBC"]
    counts = Counter(names[c] for c in dataset.annotations.column("category_id").to_pylist())
    assert counts == {"RBC": 4155, "WBC": 372, "Platelets": 361}
    assert Counter(dataset.images.column("split").to_pylist()) == {"train": 205, "val": 87, "test": 72}
    assert rows_of(report) == [("BloodImage_00338#12", "non_positive_box", "kept"),
                               ("BloodImage_00343#3", "non_positive_box", "kept")]
    assert all(r.file.endswith(f"{r.record.split('#')[0]}.xml") for r in report)
    assert set(dataset.images.column("width").to_pylist()) == {640}


# --------------------------------------------------------------------------- property

_coord = st.one_of(
    st.none(),
    st.integers(-100, 2000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet="0123456789.-eE xn", max_size=6),
)
_object = st.builds(
    obj,
    name=st.one_of(st.none(), st.sampled_from(["cat", "dog", " ", ""]), st.text(max_size=6)),
    box=st.tuples(_coord, _coord, _coord, _coord),
    difficult=st.one_of(st.none(), st.sampled_from(["0", "1", "x"])),
    bndbox=st.booleans(),
)
_size = st.one_of(st.none(), st.tuples(st.sampled_from(["640", "0", "-3", "abc", "1e12", "nan", "32.5"]),
                                      st.sampled_from(["480", "", "1"])))
_file = st.tuples(st.lists(_object, max_size=5), _size, st.sampled_from(["ok", "ok", "truncate", "latin1", "garbage"]),
                  st.integers(0, 10_000))


def _encode(objects: list[str], size, mode: str, cut: int) -> bytes:
    text = voc(*objects, size=size)
    if mode == "latin1":
        return text.encode("utf-8") + b"\xff"  # an invalid byte after the root element
    data = text.encode("utf-8", errors="surrogatepass")
    if mode == "truncate":
        return data[: cut % max(len(data), 1)]
    if mode == "garbage":
        return data[:cut % max(len(data), 1)] + b"\x00<<" + data[cut % max(len(data), 1):]
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_file, max_size=5))
def test_nothing_is_lost(files):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "Annotations").mkdir()
        for i, (objects, size, mode, cut) in enumerate(files):
            (root / "Annotations" / f"f{i}.xml").write_bytes(_encode(objects, size, mode, cut))
        report = LoadReport()
        try:
            dataset = read_voc([root], report)
        except LoadError:
            return
        images = set(dataset.images.column("source_id").to_pylist())
        annotations = set(dataset.annotations.column("source_id").to_pylist())
        dropped = {r.record for r in report if r.action == "skipped"}
        for i, (objects, *_rest) in enumerate(files):
            stem = f"f{i}"
            assert (stem in images) != (stem in dropped), stem
            if stem in images:
                for j in range(len(objects)):
                    sid = f"{stem}#{j}"
                    assert (sid in annotations) != (sid in dropped), sid
        assert dataset.num_annotations == len(annotations)
