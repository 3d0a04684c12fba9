"""The canonical schema: building, box checks, validation and split names."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from imbal_core.dataset import (
    DICT_STRING,
    SchemaError,
    build_dataset,
    normalize_split,
    validate,
)
from imbal_core.report import LoadReport


def tiny(boxes=None, width=100, height=50, **kw):
    """One 100x50 image, one class, one annotation per box."""
    boxes = boxes if boxes is not None else [(10.0, 10.0, 20.0, 20.0)]
    report = LoadReport()
    ds = build_dataset(
        images={"source_id": ["img1"], "file_name": ["a.jpg"], "width": [width], "height": [height], "split": ["Train"]},
        annotations={
            "image": [0] * len(boxes),
            "category": [0] * len(boxes),
            "source_id": [str(i) for i in range(len(boxes))],
            "x": [b[0] for b in boxes], "y": [b[1] for b in boxes], "w": [b[2] for b in boxes], "h": [b[3] for b in boxes],
        },
        categories={"name": ["Car"]},
        task="detection", format="test", sources=["mem"], report=report, annotation_files="f.json", **kw,
    )
    return ds, report


def test_missing_columns_become_nulls_and_ids_are_dense():
    ds, report = tiny()
    assert ds.images.column("image_id").to_pylist() == [0]
    assert ds.images.column("group").null_count == 1
    assert ds.annotations.column("pixels").null_count == 1
    assert ds.categories.column("critical").to_pylist() == [False]
    assert ds.categories.column("source_id").to_pylist() == ["Car"]
    assert ds.splits == ("train",)
    assert not report


@pytest.mark.parametrize(
    "box, size, code, action, kept, clipped_to",
    [
        ((10, 10, 20, 20), (100, 50), None, None, True, (10, 10, 20, 20)),
        ((10, 10, 0, 20), (100, 50), "non_positive_box", "kept", True, (10, 10, 0, 20)),
        ((10, 10, -3, 20), (100, 50), "non_positive_box", "kept", True, (10, 10, -3, 20)),
        ((90, -1, 20, 20), (100, 50), "box_clipped", "clipped", True, (90, 0, 10, 19)),
        ((150, 10, 20, 20), (100, 50), "box_outside_image", "skipped", False, None),
        ((float("nan"), 10, 20, 20), (100, 50), "non_finite_box", "skipped", False, None),
        ((0, 0, float("inf"), 20), (100, 50), "non_finite_box", "skipped", False, None),
        # unknown image size: boxes are normalised, checked against 0..1
        ((0.5, 0.5, 0.7, 0.2), (None, None), "box_clipped", "clipped", True, (0.5, 0.5, 0.5, 0.2)),
        ((0.1, 0.1, 0.2, 0.2), (None, None), None, None, True, (0.1, 0.1, 0.2, 0.2)),
    ],
)
def test_box_checks(box, size, code, action, kept, clipped_to):
    ds, report = tiny([box], width=size[0], height=size[1])
    assert [(r.code, r.action) for r in report] == ([] if code is None else [(code, action)])
    assert ds.num_annotations == (1 if kept else 0)
    if kept:
        got = tuple(ds.annotations.column(c)[0].as_py() for c in ("x", "y", "w", "h"))
        assert got == pytest.approx(clipped_to)
    if code:
        assert report.rows[0].file == "f.json" and report.rows[0].record == "0"


def test_dropped_boxes_keep_ann_ids_dense():
    ds, report = tiny([(1, 1, 2, 2), (500, 1, 2, 2), (3, 3, 2, 2)])
    assert ds.annotations.column("ann_id").to_pylist() == [0, 1]
    assert ds.annotations.column("source_id").to_pylist() == ["0", "2"]
    assert report.counts() == {"box_outside_image": 1}


BOXES = [(1, 1, 2, 2), (500, 1, 2, 2), (float("nan"), 1, 2, 2), (90, -1, 20, 20), (3, 3, 0, 2), (-50, 0, 10, 10)]
#          counted      outside: uncounted   non-finite: dropped    clipped             non-positive  outside


def test_counting_clips_and_skips_while_the_exported_boxes_are_kept():
    ds, report = tiny(BOXES)
    assert report.counts() == {"non_finite_box": 1, "box_outside_image": 2, "box_clipped": 1, "non_positive_box": 1}
    # counting: the clipped box, nothing outside the image
    boxes = {sid: (x, y, w, h) for sid, x, y, w, h in zip(*(ds.annotations.column(c).to_pylist()
                                                            for c in ("source_id", "x", "y", "w", "h")))}
    assert boxes == {"0": (1, 1, 2, 2), "3": (90, 0, 10, 19), "4": (3, 3, 0, 2)}
    exported = [tuple(ds.annotations.column(f"exported_{c}").to_pylist()) for c in "xywh"]
    assert list(zip(*exported)) == [(None,) * 4, (90, -1, 20, 20), (None,) * 4]  # only where clipped
    assert ds.uncounted.column("source_id").to_pylist() == ["1", "5"]
    # evaluation: every box as exported, in export order; the non-finite one is in neither
    whole = ds.exported_annotations
    assert whole.column("source_id").to_pylist() == ["0", "1", "3", "4", "5"]
    assert whole.column("ann_id").to_pylist() == [0, None, 1, 2, None]
    assert list(zip(*(whole.column(c).to_pylist() for c in "xywh"))) == [
        (1, 1, 2, 2), (500, 1, 2, 2), (90, -1, 20, 20), (3, 3, 0, 2), (-50, 0, 10, 10)]
    assert "exported_x" not in whole.schema.names


def test_a_dataset_without_box_problems_evaluates_its_own_annotations():
    ds, report = tiny([(1, 1, 2, 2), (3, 3, 2, 2)])
    assert not report and ds.uncounted.num_rows == 0
    assert ds.exported_annotations.column("x").to_pylist() == [1, 3]
    assert ds.annotations.column("exported_x").null_count == 2


@pytest.mark.parametrize(
    "raw, expected",
    [("train", "train"), ("Training", "train"), ("valid", "val"), ("VALIDATION", "val"), ("dev", "val"),
     ("test", "test"), (" testing ", "test"), ("", "unassigned"), (None, "unassigned"), ("holdout", "holdout")],
)
def test_normalize_split(raw, expected):
    assert normalize_split(raw) == expected


def test_conditions_are_dictionary_strings():
    report = LoadReport()
    ds = build_dataset(
        images={"source_id": ["a", "b"], "time_of_day": ["day", None], "camera": pa.array([1, 2])},
        annotations={"image": [], "category": []},
        categories={"name": []},
        task="classification", format="t", sources=[], report=report, conditions=["time_of_day", "camera"],
    )
    assert ds.images.schema.field("time_of_day").type == DICT_STRING
    assert ds.images.column("camera").to_pylist() == ["1", "2"]
    assert ds.conditions == ("time_of_day", "camera")


def test_condition_named_like_a_canonical_column_is_refused():
    with pytest.raises(SchemaError, match="`split` has the name of a canonical image column"):
        build_dataset(images={"source_id": ["a"], "split": ["x"]}, annotations={"image": [], "category": []},
                      categories={"name": []}, task="detection", format="t", sources=[], conditions=["split"])


def _mutate(ds, table, fn):
    tables = {"images": ds.images, "annotations": ds.annotations, "categories": ds.categories}
    tables[table] = fn(tables[table])
    return tables


@pytest.mark.parametrize(
    "table, mutate, match",
    [
        ("images", lambda t: t.drop_columns(["file_name"]), r"`images` lacks column `file_name`"),
        ("annotations", lambda t: t.set_column(4, "x", pa.array(["1"])), r"`annotations.x` must be double. Got string"),
        ("images", lambda t: t.set_column(0, "image_id", pa.array([5], pa.int64())), r"`images.image_id` must be dense"),
        ("annotations", lambda t: t.set_column(3, "category_id", pa.array([7], pa.int32())), r"`annotations.category_id` refers to rows"),
        ("categories", lambda t: t.set_column(2, "name", pa.array([None], pa.string())), r"`categories.name` must have no nulls"),
        ("images", lambda t: t.append_column("weather", pa.array(["sun"])), r"Condition column `images.weather` must be dictionary"),
    ],
)
def test_validate_names_the_column(table, mutate, match):
    ds, _ = tiny()
    tables = _mutate(ds, table, mutate)
    with pytest.raises(SchemaError, match=match):
        validate(tables["images"], tables["annotations"], tables["categories"])


def test_validate_refuses_repeated_class_names():
    with pytest.raises(SchemaError, match=r"`categories.name` must be unique. Repeated: \['Car'\]"):
        build_dataset(images={"source_id": ["a"]}, annotations={"image": [], "category": []},
                      categories={"name": ["Car", "Car"]}, task="detection", format="t", sources=[])


def test_with_critical():
    ds, _ = tiny()
    assert ds.with_critical(["Car"]).critical_classes == ["Car"]
    assert ds.critical_classes == []  # the original is unchanged
    with pytest.raises(ValueError, match=r"`critical` names classes the dataset does not have: \['Bus'\]"):
        ds.with_critical(["Bus"])


def test_timestamps_parse_iso_and_epoch():
    ds = build_dataset(
        images={"source_id": ["a", "b", "c"], "annotated_at": ["2026-11-02T10:00:00Z", "1700000000", "not a date"]},
        annotations={"image": [], "category": []}, categories={"name": []},
        task="detection", format="t", sources=[],
    )
    values = ds.images.column("annotated_at").to_pylist()
    assert values[0].isoformat() == "2026-11-02T10:00:00+00:00"
    assert values[1].timestamp() == 1700000000
    assert values[2] is None


def test_summary_line_counts_skipped_records():
    ds, report = tiny([(1, 1, 2, 2), (500, 1, 2, 2)])
    assert ds.summary_line() == "1 images, 1 annotations, 1 classes, 1 splits, 0 conditions — 1 records skipped"
    assert np.array_equal(ds.image_classes.column("instances").to_numpy(), [1])


def test_with_critical_gives_the_copy_its_own_cache_key():
    """Caches keyed by Dataset.key (the dashboard's) must not answer a copy with other flags."""
    from dataclasses import replace

    ds = replace(tiny()[0], key="inputs-abc")
    a, b = ds.with_critical(["Car"]), ds.with_critical(["Car"])
    assert a.key == b.key != ds.key
    assert ds.with_critical([]).key != a.key
