"""The COCO fast path (`io/coco/fast.py`, `io/coco/_jsonfast.py`) against the per-record path.

The fast path maps the file, splits the arrays' records without copying them, hands them to
DuckDB as ``string_view`` values and leaves the polygons unparsed. Whatever it does, it must
give the same dataset as the per-record path: a generated file full of edge cases is read both
ways, also with tiny chunks and view windows so that every boundary is crossed.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from imbal_core.io.coco import _jsonfast as fast
from imbal_core.io import coco
from imbal_core.report import LoadReport

SQUARE = [[10.0, 10.0, 30.0, 10.0, 30.0, 30.0, 10.0, 30.0]]


def edge_case_doc(n_annotations: int = 1500, seed: int = 0) -> dict:
    """A COCO file with every kind of record the fast path takes, mixed."""
    rng = random.Random(seed)
    images = []
    for i in range(1, 121):
        image = {"id": i * 3, "file_name": f"{i:06d}.jpg", "width": 100, "height": 80,
                 "split": rng.choice(["train", "val", "test"]), "time_of_day": rng.choice(["day", "night"])}
        if i % 17 == 0:
            del image["width"]  # unknown size: pixel boxes cannot be checked
        images.append(image)
    segmentations = [
        SQUARE, SQUARE + SQUARE, [], None, {}, [[]], {"counts": "abc", "size": [80, 100]},
        {"counts": [0, 5, 10], "size": [80, 100]}, [1.0, 2.0, 3.0],
    ]
    boxes = [[10, 10, 20, 20], [90, 70, 20, 20], [-5, -5, 10, 10], [200, 10, 20, 20], [10, 10, 0, 5],
             [0.5, 0.25, 99.5, 79.75], [1e-3, 2e6, 3, 4]]
    annotations = []
    for k in range(n_annotations):
        seg = segmentations[k % len(segmentations)] if k % 5 else SQUARE
        ann = {"segmentation": seg, "area": round(rng.uniform(1, 500), 2), "iscrowd": int(isinstance(seg, dict)),
               "image_id": rng.choice(images)["id"], "bbox": boxes[k % len(boxes)],
               "category_id": rng.choice([1, 2, 5, 7]), "id": 10_000 + k}
        if k % 11 == 0:
            ann = dict(reversed(list(ann.items())))  # segmentation last, not first
        if k % 13 == 0:
            ann.pop("segmentation")
        if k % 19 == 0:
            ann["attributes"] = {"segmentation": [[1, 2, 3, 4]], "occluded": False}  # a key of that name, nested
        if k % 23 == 0:
            ann["annotator"] = f"ann{k % 3}"
            ann["annotated_at"] = "2026-03-01T10:00:00Z"
        if k % 29 == 0:
            ann["image_id"] = 99_999  # undeclared image
        if k % 31 == 0:
            ann["category_id"] = 3  # undeclared category
        if k % 37 == 0:
            ann.pop("bbox")
        annotations.append(ann)
    categories = [{"id": c, "name": f"class_{c}", "supercategory": "thing"} for c in (1, 2, 5, 7)]
    return {"info": {"note": 'text with }, { and }] and "annotations": [ inside'}, "images": images,
            "annotations": annotations, "categories": categories}


def write(path: Path, doc: dict, compact: bool) -> Path:
    path.write_text(json.dumps(doc, separators=(",", ":") if compact else None))
    return path


def read(path: Path, engine: str):
    return coco.read_coco([path], LoadReport(), engine=engine)


def assert_same(a, b, problems: bool = True) -> None:
    """Equal tables and report rows (``problems``: their text too)."""
    assert a.task == b.task and a.conditions == b.conditions
    for name in ("images", "annotations", "categories", "uncounted"):
        assert getattr(a, name).equals(getattr(b, name)), name
    row = (lambda r: (r.code, r.record, r.problem, r.action)) if problems else (lambda r: (r.code, r.record, r.action))
    assert [row(r) for r in a.report] == [row(r) for r in b.report]


@pytest.mark.parametrize("compact", [False, True], ids=["json.dump spacing", "compact"])
@pytest.mark.parametrize("chunk, window", [(fast._CHUNK, fast._VIEW_WINDOW), (4099, 1 << 12)],
                         ids=["default", "tiny chunks and view windows"])
def test_fast_path_gives_the_per_record_dataset(tmp_path, monkeypatch, compact, chunk, window):
    monkeypatch.setattr(fast, "_CHUNK", chunk)
    monkeypatch.setattr(fast, "_VIEW_WINDOW", window)
    path = write(tmp_path / "instances_train.json", edge_case_doc(), compact)
    fast_ds = read(path, "fast")  # raises if the fast path gave up
    python_ds = read(path, "python")
    assert_same(fast_ds, python_ds)
    codes = {r.code for r in fast_ds.report}
    assert {"box_clipped", "box_outside_image", "non_positive_box", "dangling_image", "dangling_category"} <= codes
    assert fast_ds.uncounted.num_rows > 0
    # the nested `segmentation` key, an empty object and an empty list are no segmentation
    seg = fast_ds.annotations.column("pixels").is_valid().to_numpy(zero_copy_only=False)
    assert 0 < seg.sum() < len(seg)


def test_fast_path_handles_a_file_with_only_rle_segmentations(tmp_path):
    """Records whose segmentation is no list are read again for an object: here nearly all."""
    doc = edge_case_doc(200)
    for k, ann in enumerate(doc["annotations"]):
        ann["segmentation"] = {"counts": "abc", "size": [80, 100]} if k % 3 else None
    path = write(tmp_path / "a.json", doc, compact=False)
    assert_same(read(path, "fast"), read(path, "python"))


def records_of(body: fast.Body) -> list[bytes]:
    return [v.encode() for v in fast.lines(body).column("line").to_pylist()]


@pytest.mark.parametrize("window", [1 << 30, 64, 40])
def test_string_views_point_at_each_record_across_windows(window, monkeypatch):
    monkeypatch.setattr(fast, "_VIEW_WINDOW", window)
    records = [b'{"id": %d, "name": "%s"}' % (i, b"x" * (i % 9)) for i in range(40)] + [b'{"a":1}', b"{}"]
    data = b'{"annotations": [' + b", ".join(records) + b"]}"
    body, _ = fast.split_records(data, fast.find_array(data, "annotations"), patch=False)
    assert body.records == len(records)
    text = fast.lines(body).column("line")
    assert text.type == pa.string_view()
    text.validate(full=True)  # lengths, inline bytes, prefixes, buffer indices and offsets
    assert [t.strip().encode() for t in text.to_pylist()] == records


@pytest.mark.parametrize("value, expected", [
    ("[[1, 2]]", True), ("[ [1]]", True), ("[1, 2]", True), ("[[]]", True), ('{"size": [1, 2]}', True),
    ("{ }", False), ("{}", False), ("[]", False), ("[ ]", False), ("null", False), ('"text"', False), ("3", False),
])
def test_key_presence_follows_the_per_record_rule(value, expected):
    """A segmentation counts when it is a non-empty list or object (``bool(seg)`` in the
    per-record path), whatever the spacing."""
    records = [b'{"id": 1, "segmentation" : ' + value.encode() + b'}', b'{"id": 2}',
               b'{"note": "x\\"segmentation\\": [[1]]", "id": 3}']
    data = b'{"annotations": [' + b",".join(records) + b"]}"
    body, present = fast.split_records(data, fast.find_array(data, "annotations"), b"segmentation", patch=False)
    assert present.tolist() == [expected, False, False]
    assert fast.key_presence(body, b"segmentation").tolist() == [expected, False, False]


def test_file_bytes_maps_files_and_reads_empty_ones(tmp_path):
    path = tmp_path / "a.json"
    path.write_bytes(b'{"images": []}')
    with fast.FileBytes(path) as source:
        assert bytes(source.data[:10]) == b'{"images":'
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with fast.FileBytes(empty) as source:
        assert len(source.data) == 0


def test_pretty_printed_annotations_are_refused_before_duckdb(tmp_path):
    doc = edge_case_doc(50)
    text = json.dumps(doc).replace('}, {"', '},\n  {"')
    path = tmp_path / "pretty.json"
    path.write_text(text)
    with pytest.raises(fast.FastPathUnavailable, match="pretty-printed"):
        read(path, "fast")
    auto = coco.read_coco([path], LoadReport(), engine="auto")
    assert auto.num_annotations == read(path, "python").num_annotations


def test_separators_are_found_whatever_the_chunk_size(monkeypatch):
    records = [b'{"id": %d, "v": [%s]}' % (i, b", ".join(b"%d" % j for j in range(i % 7))) for i in range(60)]
    data = b'{"annotations": [' + b", ".join(records) + b"]}"
    expected = None
    for chunk in (7, 16, 33, 64, 1 << 22):
        monkeypatch.setattr(fast, "_CHUNK", chunk)
        body, _ = fast.split_records(data, fast.find_array(data, "annotations"), patch=False)
        got = (body.records, body.separators.tolist(), body.heads.tobytes())
        expected = expected or got
        assert got == expected
    assert body.records == 60
    starts = body.record_starts()
    assert body.heads.tobytes() == b"".join(data[s : s + 4] for s in starts.tolist())
    assert np.array_equal(body.record_stops() - starts, [len(r) + (1 if i else 0) for i, r in enumerate(records)])


HUGE = "9" * 400  # an integer beyond the float range: float() raises OverflowError on it


@pytest.mark.parametrize("field, text, code", [
    ("bbox", f'"bbox": [{HUGE}, 0, 1, 1]', "non_finite_box"),
    ("area", f'"area": {HUGE}', None),
    ("width", f'"width": {HUGE}', "bad_image_size"),
])
def test_integers_beyond_the_float_range_are_read_the_same_way_by_both_paths(tmp_path, monkeypatch, field, text, code):
    """They crashed the per-record path (OverflowError, an internal error in the CLI); the fast
    path reads them as infinite, and so does the per-record path now."""
    doc = edge_case_doc(30)
    raw = json.dumps(doc)
    target = {"bbox": '"bbox": [10, 10, 20, 20]', "area": '"area": ', "width": '"width": 100'}[field]
    at = raw.index(target)
    end = raw.index(",", at) if field == "area" else at + len(target)
    raw = raw[:at] + text + raw[end:]
    path = tmp_path / "huge.json"
    path.write_text(raw)
    python_ds = read(path, "python")
    assert code is None or code in {r.code for r in python_ds.report}
    monkeypatch.setattr(coco, "FAST_PATH_MIN_BYTES", 0)
    # (the fast path's message says "inf" where the per-record one quotes the digits)
    assert_same(coco.read_coco([path], LoadReport(), engine="auto"), python_ds, problems=False)


def test_duckdb_reads_patched_and_unpatched_bodies_alike():
    """One record per line (what pyarrow reads; the segmentation reader's bodies) or not."""
    records = [b'{"id": %d, "name": "r%d"}' % (i, i) for i in range(50)]
    data = bytearray(b'{"annotations": [' + b", ".join(records) + b"]}")
    start = fast.find_array(data, "annotations")
    warmup = fast.Warmup('{"id": "BIGINT"}')
    try:
        select = """SELECT from_json(line, '{"id": "BIGINT"}').id AS id FROM lines"""
        unpatched, _ = fast.split_records(bytes(data), start, patch=False)
        patched_body, _ = fast.split_records(data, start)
        assert patched_body.patched and not unpatched.patched
        for body in (unpatched, patched_body, fast.patched(unpatched)):
            assert fast.duckdb_records(body, select, warmup).column("id").to_pylist() == list(range(50))
        rows = np.array([3, 7, 49])
        assert fast.duckdb_records(unpatched, select, warmup, rows=rows).column("id").to_pylist() == [3, 7, 49]
    finally:
        warmup.close()


def test_the_duckdb_warm_up_does_not_import_pandas():
    """pyarrow imports pandas on its first conversion of Python values: 0.2 s holding the GIL.
    Done by the warm-up, beside the NumPy split, it made the split wait for the GIL at every call
    (0.08 s became 0.3-0.6 s); it belongs beside DuckDB's parse, which runs without the GIL."""
    code = ("import sys; from imbal_core.io.coco import _jsonfast as fast; w = fast.Warmup('{\"id\": \"BIGINT\"}'); "
            "w.ready(); w.close(); print('pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr[-2000:]
