"""COCO reader: every report case on hand-made files, both parsing paths, and the real exports."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

import imbal_core
from imbal_core.cube import class_totals
from imbal_core.io import coco
from imbal_core.report import LoadError, LoadReport

SQUARE = [[10.0, 10.0, 30.0, 10.0, 30.0, 30.0, 10.0, 30.0]]  # a 20x20 square


def base_doc() -> dict:
    return {
        "info": {"description": "annotations: [ tricky } ] text"},
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80, "time_of_day": "day", "camera": 3, "sequence": "s1"},
            {"id": 2, "file_name": "b.jpg", "width": 100, "height": 80, "time_of_day": "night", "camera": 4, "sequence": "s1"},
            {"id": 5, "file_name": "c.jpg", "width": 100, "height": 80, "time_of_day": "day", "camera": 3, "sequence": "s2"},
        ],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 7, "bbox": [10, 10, 20, 20], "area": 400.0, "iscrowd": 0, "segmentation": SQUARE},
            {"id": 11, "image_id": 1, "category_id": 9, "bbox": [40, 10, 10, 10], "area": 100.0, "iscrowd": 0, "segmentation": SQUARE},
            {"id": 12, "image_id": 2, "category_id": 7, "bbox": [0, 0, 5, 5], "area": 25.0, "iscrowd": 0, "segmentation": SQUARE},
        ],
        "categories": [
            {"id": 7, "name": "Car", "supercategory": "vehicle"},
            {"id": 9, "name": "Wheelchair", "supercategory": "person"},
            {"id": 3, "name": "Bus", "supercategory": "vehicle"},
        ],
    }


def write(tmp_path: Path, doc, name="instances_train.json", indent=None) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=indent))
    return path


def read(path, engine="python") -> imbal_core.Dataset:
    return coco.read_coco([path], LoadReport(), engine=engine)


def test_reads_tables_conditions_group_and_split_from_name(tmp_path):
    ds = read(write(tmp_path, base_doc()))
    assert (ds.num_images, ds.num_annotations, ds.categories.num_rows) == (3, 3, 3)
    assert ds.task == "segmentation"
    assert ds.splits == ("train",)
    assert ds.conditions == ("time_of_day", "camera")
    assert ds.images.column("group").to_pylist() == ["s1", "s1", "s2"]
    assert ds.images.column("source_id").to_pylist() == ["1", "2", "5"]
    assert ds.categories.column("source_id").to_pylist() == ["7", "9", "3"]
    assert ds.categories.column("supercategory").to_pylist() == ["vehicle", "person", "vehicle"]
    assert ds.annotations.column("pixels").to_pylist() == [400.0, 100.0, 25.0]
    assert not ds.report


def test_box_only_data_is_detection_with_null_pixels(tmp_path):
    doc = base_doc()
    for a in doc["annotations"]:
        a["segmentation"] = []
    ds = read(write(tmp_path, doc))
    assert ds.task == "detection"
    assert ds.annotations.column("pixels").null_count == 3
    assert ds.annotations.column("area").to_pylist() == [400.0, 100.0, 25.0]


def mutate(fn):
    doc = base_doc()
    fn(doc)
    return doc


CASES = [
    # (name, mutation, expected (code, action, record) rows, images, annotations)
    ("dangling image", lambda d: d["annotations"][0].update(image_id=99), [("dangling_image", "skipped", "10")], 3, 2),
    ("dangling category", lambda d: d["annotations"][0].update(category_id=99), [("dangling_category", "skipped", "10")], 3, 2),
    ("duplicate image id", lambda d: d["images"].append(dict(d["images"][0], file_name="dup.jpg")), [("duplicate_id", "skipped the later one", "1")], 3, 3),
    ("duplicate category id", lambda d: d["categories"].append({"id": 7, "name": "Auto"}), [("duplicate_id", "kept the first", "7")], 3, 3),
    ("duplicate category name", lambda d: d["categories"].append({"id": 8, "name": "Car"}), [("duplicate_name", "merged into one class", "8")], 3, 3),
    ("zero-size box", lambda d: d["annotations"][0].update(bbox=[10, 10, 0, 20]), [("non_positive_box", "kept", "10")], 3, 3),
    ("box past the border", lambda d: d["annotations"][0].update(bbox=[90, 70, 20, 20]), [("box_clipped", "clipped", "10")], 3, 3),
    ("box outside the image", lambda d: d["annotations"][0].update(bbox=[200, 10, 20, 20]), [("box_outside_image", "skipped", "10")], 3, 2),
    ("non-numeric box", lambda d: d["annotations"][0].update(bbox=["a", 1, 2, 3]), [("bad_box", "skipped", "10")], 3, 2),
    ("three-number box", lambda d: d["annotations"][0].update(bbox=[1, 2, 3]), [("bad_box", "skipped", "10")], 3, 2),
    ("non-numeric image id", lambda d: d["images"][2].update(id="five"), [("bad_id", "skipped", "images[2]")], 2, 3),
    ("text image id", lambda d: d["annotations"][0].update(image_id="1"), [], 3, 3),
    ("missing category id", lambda d: d["annotations"][0].pop("category_id"), [("bad_id", "skipped", "10")], 3, 2),
    ("annotation not an object", lambda d: d["annotations"].append([1, 2]), [("bad_record", "skipped", "annotations[3]")], 3, 3),
    ("bad image size", lambda d: d["images"][0].update(width="wide"), [("bad_image_size", "set to unknown", "1")], 3, 3),
    ("category without a name", lambda d: d["categories"][2].pop("name"), [("bad_category", "kept", "3")], 3, 3),
    # integers past int64: an id is skipped (reported); an annotation's own id is kept as text (source_id)
    ("image id past int64", lambda d: d["images"][2].update(id=2**70), [("bad_id", "skipped", "images[2]")], 2, 3),
    ("image_id past int64", lambda d: d["annotations"][0].update(image_id=-(2**70)), [("bad_id", "skipped", "10")], 3, 2),
    ("category_id past int64", lambda d: d["annotations"][0].update(category_id=2**64), [("bad_id", "skipped", "10")], 3, 2),
    ("category id past int64", lambda d: d["categories"][2].update(id=2**63), [("bad_category", "skipped", "categories[2]")], 3, 3),
    ("annotation id past int64", lambda d: d["annotations"][0].update(id=2**70), [], 3, 3),
    ("image size past int32", lambda d: d["images"][0].update(width=1e12, height=1e20),
     [("bad_image_size", "set to unknown", "1")] * 2, 3, 3),
    # objects and lists where text is expected
    ("split an object", lambda d: d["images"][0].update(split={"a": 1}), [("bad_field", "set to unknown there", "split")], 3, 3),
    ("file_name a list", lambda d: d["images"][1].update(file_name=["b.jpg"]),
     [("bad_field", "set to unknown there", "file_name")], 3, 3),
    ("condition mixing objects and text", lambda d: d["images"][0].update(time_of_day={"a": [1]}),
     [("bad_field", "set to unknown there", "time_of_day")], 3, 3),
    ("annotator an object", lambda d: d["annotations"][1].update(annotator={"id": 1}),
     [("bad_field", "set to unknown where it is", "11")], 3, 3),
    ("annotation id an object", lambda d: d["annotations"][1].update(id={"deep": [[1]]}), [], 3, 3),
]


@pytest.mark.parametrize("name, fn, expected, n_images, n_anns", CASES, ids=[c[0] for c in CASES])
def test_bad_records_are_reported(tmp_path, name, fn, expected, n_images, n_anns):
    ds = read(write(tmp_path, mutate(fn)))
    assert [(r.code, r.action, r.record) for r in ds.report] == expected
    assert (ds.num_images, ds.num_annotations) == (n_images, n_anns)


def test_nan_written_by_python_json_is_reported(tmp_path):
    path = tmp_path / "nan.json"
    doc = base_doc()
    doc["annotations"][0]["bbox"] = [float("nan"), 1, 2, 3]
    path.write_text(json.dumps(doc))  # Python writes a bare NaN, which is not JSON
    ds = read(path)
    assert [(r.code, r.action) for r in ds.report] == [("non_finite_box", "skipped")]
    assert ds.num_annotations == 2


def test_missing_area_is_computed_with_pycocotools(tmp_path):
    doc = base_doc()
    del doc["annotations"][0]["area"]
    ds = read(write(tmp_path, doc))
    rle = mask_utils.merge(mask_utils.frPyObjects(SQUARE, 80, 100))
    assert ds.annotations.column("pixels")[0].as_py() == float(mask_utils.area(rle))
    assert [r.code for r in ds.report] == ["area_computed"]


def test_non_utf8_text_is_replaced_and_reported(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps(base_doc()).replace("a.jpg", "caf\u00e9.jpg").encode("latin-1"))
    ds = read(path)
    assert ds.images.column("file_name")[0].as_py() == "caf\ufffd.jpg"
    assert [r.code for r in ds.report] == ["not_utf8"]


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", r"the file is empty"),
        (json.dumps(base_doc()).encode()[:-40], r"not valid JSON — it ends early \(truncated\?\)"),
        (b"[1, 2]", r"not a COCO instances file — the top level is a list"),
        (b'[{"image_id": 1, "category_id": 2, "bbox": [1,2,3,4], "score": 0.9}]', r"a COCO results file\? pass it as predictions"),
        (b'{"images": {}, "categories": []}', r"`images` must be a list; it is a dict"),
        (b'{"images": []}', r"`categories` must be a list; it is missing"),
    ],
)
def test_unusable_files_raise_load_error(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(LoadError, match=match) as info:
        read(path)
    assert str(path) in str(info.value)


def test_several_files_merge_with_splits_from_their_names(tmp_path):
    train = write(tmp_path, base_doc(), "instances_train2017.json")
    val_doc = base_doc()
    val_doc["images"] = val_doc["images"][:1]
    val_doc["annotations"] = val_doc["annotations"][:1]
    val = write(tmp_path, val_doc, "instances_val2017.json")
    ds = coco.read_coco([train, val], LoadReport())
    assert ds.num_images == 4 and ds.num_annotations == 4
    assert ds.images.column("split").to_pylist() == ["train"] * 3 + ["val"]
    assert ds.categories.num_rows == 3
    # the val annotation points at the val copy of image 1, not the train one
    assert ds.annotations.column("image_id").to_pylist()[-1] == 3


def test_image_split_field_wins_over_the_file_name(tmp_path):
    doc = base_doc()
    doc["images"][1]["split"] = "Valid"
    ds = read(write(tmp_path, doc, "instances_train.json"))
    assert ds.images.column("split").to_pylist() == ["train", "val", "train"]


def test_identifier_like_fields_are_not_conditions(tmp_path):
    doc = base_doc()
    doc["images"] = [dict(doc["images"][0], id=i, file_name=f"{i}.jpg", capture_uuid=f"u{i}") for i in range(30)]
    doc["annotations"] = []
    ds = read(write(tmp_path, doc))
    assert "capture_uuid" not in ds.conditions
    assert [(r.code, r.record) for r in ds.report] == [("condition_ignored", "capture_uuid")]


def test_taco_style_scenes_become_a_condition(tmp_path):
    doc = base_doc()
    doc["scene_categories"] = [{"id": 0, "name": "Sand"}, {"id": 1, "name": "Grass"}]
    doc["scene_annotations"] = [
        {"image_id": 1, "background_ids": [1]},
        {"image_id": 1, "background_ids": [0, 1]},
        {"image_id": 2, "background_ids": [7]},
    ]
    ds = read(write(tmp_path, doc))
    assert ds.images.column("scene").to_pylist() == ["Grass", "7", None]
    assert sorted(r.code for r in ds.report) == ["multi_valued_condition", "undeclared_scene"]
    multi = next(r for r in ds.report if r.code == "multi_valued_condition")
    assert multi.problem == "scene has several values (Grass x2, Sand x1)"


# --------------------------------------------------------------------------- the two paths agree


def assert_same(a: imbal_core.Dataset, b: imbal_core.Dataset) -> None:
    assert a.task == b.task and a.conditions == b.conditions
    for name in ("images", "annotations", "categories"):
        assert getattr(a, name).equals(getattr(b, name)), name
    assert [(r.code, r.record) for r in a.report] == [(r.code, r.record) for r in b.report]


def test_fast_path_matches_python_path(tmp_path):
    doc = base_doc()
    doc["annotations"].append({"id": 13, "image_id": 5, "category_id": 9, "bbox": [1, 1, 2, 2], "area": 4, "iscrowd": 1,
                               "segmentation": {"counts": "abc", "size": [80, 100]}, "annotated_at": "2026-11-02T09:00:00Z",
                               "annotator": "ana"})
    doc["annotations"].append({"id": 14, "image_id": 5, "category_id": 7, "bbox": [90, 70, 20, 20], "area": 4, "segmentation": []})
    path = write(tmp_path, doc)
    fast_ds = read(path, engine="fast")
    assert_same(fast_ds, read(path, engine="python"))
    assert fast_ds.annotations.column("pixels").to_pylist()[-2:] == [4.0, None]
    assert fast_ds.annotations.column("annotator").to_pylist()[-2] == "ana"


def test_records_quote_long_values_as_short_excerpts(tmp_path):
    doc = mutate(lambda d: d["annotations"][0].update(bbox=["x" * 800_000]))
    doc["images"].append({"id": "y" * 800_000})
    ds = read(write(tmp_path, doc))
    assert [r.code for r in ds.report] == ["bad_id", "bad_box"]
    assert all(len(r.problem) < 150 for r in ds.report), [len(r.problem) for r in ds.report]
    assert "(800,000 characters)" in ds.report.rows[0].problem


def test_an_annotation_id_past_int64_stays_its_source_id(tmp_path):
    ds = read(write(tmp_path, mutate(lambda d: d["annotations"][0].update(id=2**70))))
    assert ds.annotations.column("source_id").to_pylist()[0] == str(2**70)


@pytest.mark.parametrize("engine", ["python", "fast"])
def test_both_paths_report_sizes_past_int32_and_nested_text_fields(tmp_path, engine):
    """The fast path reads any number as a size and infers a struct for an object field: the
    shared assembly reports both (before, a cast error with no file named / an Arrow error)."""
    doc = base_doc()
    doc["images"][0].update(width=1e12)
    for i, img in enumerate(doc["images"]):
        img["sequence"] = {"seq": i}
    ds = read(write(tmp_path, doc), engine=engine)
    assert [(r.code, r.record) for r in ds.report] == [("bad_image_size", "1"), ("bad_field", "sequence")]
    assert ds.images.column("width").to_pylist() == [None, 100, 100]
    assert ds.images.column("group").null_count == 3


def test_scene_fields_of_the_wrong_type_are_left_out_of_the_scene(tmp_path):
    doc = base_doc()
    doc["scene_categories"] = [{"id": {"a": 1}, "name": "x"}, {"id": 1, "name": ["sea"]}, {"id": 2, "name": "sand"}]
    doc["scene_annotations"] = [{"image_id": 1, "background_ids": [{"a": 1}, 2]}, {"image_id": [2], "background_ids": [2]},
                                {"image_id": 5, "background_ids": [1]}]
    ds = read(write(tmp_path, doc))
    assert ds.images.column("scene").to_pylist() == ["sand", None, "1"]
    assert [(r.code, r.record) for r in ds.report] == [("bad_record", "scene_annotations")]


@pytest.mark.parametrize(
    "fn",
    [
        lambda d: d["annotations"][0].update(bbox=["a", 1, 2, 3]),  # a type DuckDB refuses
        lambda d: d["annotations"][0].update(note="a string with }, { inside"),  # breaks the record split
        lambda d: d["annotations"][0].update(parts=[{"a": 1}, {"b": 2}]),  # a nested list of objects
        lambda d: d["annotations"][0].pop("area"),  # needs the polygon itself
    ],
)
def test_fast_path_hands_surprises_to_the_python_path(tmp_path, fn):
    path = write(tmp_path, mutate(fn))
    with pytest.raises(Exception):
        read(path, engine="fast")
    auto = coco.read_coco([path], LoadReport(), engine="auto")
    assert_same(auto, read(path))


def test_auto_uses_the_fast_path_for_large_files(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(coco, "FAST_PATH_MIN_BYTES", 0)
    monkeypatch.setattr(coco, "_parse_python", lambda *a: calls.append(a) or pytest.fail("python path used"))
    ds = coco.read_coco([write(tmp_path, base_doc())], LoadReport(), engine="auto")
    assert ds.num_annotations == 3 and not calls


def test_pretty_printed_files_load_through_the_python_path(tmp_path, monkeypatch):
    monkeypatch.setattr(coco, "FAST_PATH_MIN_BYTES", 0)
    path = write(tmp_path, base_doc(), indent=2)
    assert_same(coco.read_coco([path], LoadReport(), engine="auto"), read(path))


# --------------------------------------------------------------------------- real exports


@pytest.mark.realdata
@pytest.mark.parametrize("engine", ["python", "fast"])
def test_taco(realdata, engine):
    ds = read(realdata / "taco" / "annotations.json", engine)
    assert (ds.num_images, ds.num_annotations, ds.categories.num_rows) == (1500, 4784, 60)
    assert int((class_totals(ds).column("instances").to_numpy() > 0).sum()) == 59
    assert "scene" in ds.conditions
    assert ds.categories.column("source_id")[0].as_py() == "0"  # TACO ids start at 0
    counts = ds.report.counts()
    assert counts["undeclared_scene"] == 1 and counts["box_clipped"] == 7


@pytest.mark.realdata
@pytest.mark.parametrize("engine", ["python", "fast"])
def test_coco_val2014_100(realdata, engine):
    ds = read(realdata / "coco_val2014_100" / "instances_val2014_100.json", engine)
    totals = class_totals(ds)
    assert (ds.num_images, ds.num_annotations, ds.categories.num_rows) == (100, 839, 80)
    assert int((totals.column("instances").to_numpy() > 0).sum()) == 70
    assert dict(zip(totals.column("class").to_pylist(), totals.column("instances").to_pylist()))["person"] == 256
    assert ds.splits == ("val",)


@pytest.mark.realdata
def test_lvis_val_100(realdata):
    ds = read(realdata / "lvis_val_100" / "lvis_val_100.json", "fast")
    assert (ds.num_images, ds.num_annotations, ds.categories.num_rows) == (100, 977, 1230)
    assert int((class_totals(ds).column("instances").to_numpy() > 0).sum()) == 190


@pytest.mark.realdata
def test_paths_agree_on_real_exports(realdata):
    for path in [realdata / "taco" / "annotations.json", realdata / "coco_val2014_100" / "instances_val2014_100.json",
                 realdata / "lvis_val_100" / "lvis_val_100.json"]:
        assert_same(read(path, "fast"), read(path, "python"))


# --------------------------------------------------------------------------- property: nothing is lost

junk = st.one_of(st.none(), st.integers(-3, 12), st.floats(allow_nan=True), st.text(max_size=3),
                 st.lists(st.integers(0, 50), max_size=5))


@st.composite
def messy_docs(draw):
    doc = base_doc()
    anns = []
    for i in range(draw(st.integers(0, 8))):
        ann = {"id": 100 + i, "image_id": draw(st.sampled_from([1, 2, 5, 99, "x", None])),
               "category_id": draw(st.sampled_from([7, 9, 3, 42, None])),
               "bbox": draw(st.one_of(st.lists(st.floats(-20, 200), min_size=4, max_size=4), junk)),
               "area": draw(st.one_of(st.floats(0, 500), junk)), "segmentation": draw(st.sampled_from([[], SQUARE, None]))}
        if draw(st.booleans()):
            del ann[draw(st.sampled_from(list(ann)))]
        anns.append(ann)
    doc["annotations"] = anns
    return doc


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=messy_docs())
def test_every_annotation_is_kept_or_reported(tmp_path, doc):
    path = tmp_path / "messy.json"
    path.write_text(json.dumps(copy.deepcopy(doc)))
    ds = read(path)
    dropped = {r.record for r in ds.report if r.action == "skipped"}
    kept = set(ds.annotations.column("source_id").to_pylist())
    assert kept | dropped == {str(a["id"]) if "id" in a else f"annotations[{i}]" for i, a in enumerate(doc["annotations"])}
    assert not kept & dropped
    assert np.all(ds.annotations.column("image_id").to_numpy() < ds.num_images)


@pytest.mark.parametrize("chunk", range(16, 48))
def test_fast_path_split_survives_a_separator_across_a_chunk_boundary(monkeypatch, chunk):
    """A ``},{`` whose comma is the first byte of the next chunk was patched to a newline and then
    taken for pretty-printing, sending a compact file to the slow path (for some chunk sizes)."""
    from imbal_core.io.coco import _jsonfast

    monkeypatch.setattr(_jsonfast, "_CHUNK", chunk)
    records = [b'{"id": %d, "w": 1}' % i for i in range(12)]
    data = bytearray(b'{"images": [' + b",".join(records) + b"]}")
    body, _ = _jsonfast.split_records(data, _jsonfast.find_array(data, "images"))
    assert body.records == 12
    assert bytes(body.view).split(b"\n") == records


def test_fast_path_sends_deeply_nested_records_to_the_python_path(tmp_path):
    """pyarrow's JSON reader overflows the C stack on a record nested ~30,000 deep (a segfault):
    such records never reach it."""
    deep = '{"a": ' * 100_000 + "1" + "}" * 100_000
    text = json.dumps(base_doc()).replace('"time_of_day": "day"', f'"time_of_day": {deep}', 1)
    path = tmp_path / "deep.json"
    path.write_text(text)
    with pytest.raises(Exception, match="nest deeper than 1000 levels"):
        read(path, engine="fast")
    with pytest.raises(LoadError, match="nested too deeply"):
        coco.read_coco([path], LoadReport(), engine="auto")
