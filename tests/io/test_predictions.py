"""Predictions readers: COCO results, YOLO txt folders, classification tables — matching and every mismatch reported."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

import imbal_core
from imbal_core.io.predictions import (
    DETECTION_SCHEMA,
    images_frame,
    match_predictions,
    read_predictions,
    sniff_predictions,
)
from imbal_core.report import LoadError

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"


def gt_doc() -> dict:
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
                   {"id": 2, "file_name": "b.jpg", "width": 100, "height": 80},
                   {"id": 7, "file_name": "c.jpg", "width": 100, "height": 80}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0},
                        {"id": 2, "image_id": 2, "category_id": 5, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0}],
        "categories": [{"id": 3, "name": "Car"}, {"id": 5, "name": "Wheelchair"}],
    }


@pytest.fixture
def coco_gt(tmp_path):
    path = tmp_path / "instances_val.json"
    path.write_text(json.dumps(gt_doc()))
    return imbal_core.load(path, cache=False)


def write(tmp_path, name, obj) -> Path:
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def test_coco_results_are_matched_by_the_exports_own_ids(tmp_path, coco_gt):
    path = write(tmp_path, "results.json", [
        {"image_id": 1, "category_id": 3, "bbox": [11, 10, 20, 20], "score": 0.9},
        {"image_id": 2, "category_id": 5, "bbox": [0, 0, 9, 9], "score": 0.4},
    ])
    preds = read_predictions(path, coco_gt)
    assert preds.kind == "detection" and preds.format == "coco"
    assert preds.table.schema == DETECTION_SCHEMA
    assert preds.table.column("image_id").to_pylist() == [0, 1]  # dense ids, not 1 and 2
    assert preds.table.column("category_id").to_pylist() == [0, 1]
    assert preds.table.column("x").to_pylist() == [11.0, 0.0]
    c = preds.coverage
    assert (c.predictions, c.matched, c.images_with_predictions, c.images_without_predictions) == (2, 2, 2, 1)
    assert [r.record for r in preds.report if r.code == "image_without_predictions"] == ["7"]


def test_unknown_images_and_classes_are_reported_not_dropped(tmp_path, coco_gt):
    path = write(tmp_path, "results.json", [
        {"image_id": 1, "category_id": 3, "bbox": [1, 1, 2, 2], "score": 0.9},
        {"image_id": 99, "category_id": 3, "bbox": [1, 1, 2, 2], "score": 0.9},
        {"image_id": 99, "category_id": 3, "bbox": [1, 1, 2, 2], "score": 0.8},
        {"image_id": 2, "category_id": 42, "bbox": [1, 1, 2, 2], "score": 0.7},
    ])
    preds = read_predictions(path, coco_gt)
    assert preds.num_predictions == 4  # nothing dropped from the table
    assert preds.matched().num_rows == 1
    c = preds.coverage
    assert (c.unknown_image_predictions, c.unknown_images, c.unknown_class_predictions, c.unknown_classes) == (2, 1, 1, 1)
    rows = {r.code: r for r in preds.report}
    assert rows["unknown_image"].record == "99" and "2 predictions for image '99'" in rows["unknown_image"].problem
    assert rows["unknown_class"].record == "42" and rows["unknown_class"].action == "left out of the evaluation"
    assert preds.summary_line() == ("4 detection predictions from results.json; 1 matched — 2 predictions for 1 unknown "
                                    "image, 1 prediction of 1 unknown class, 2 images without predictions")


@pytest.mark.parametrize("record, problem", [
    ({"image_id": 1, "category_id": 3, "bbox": [1, 1, 2, 2]}, "score None is not a finite number"),
    ({"image_id": 1, "category_id": 3, "bbox": [1, 1, 2], "score": 0.5}, "is not four finite numbers"),
    ({"image_id": "", "category_id": 3, "bbox": [1, 1, 2, 2], "score": 0.5}, "image_id '' is not an id"),
    ({"image_id": 1, "category_id": 3, "score": 0.5}, "neither a bbox nor a segmentation"),
    ({"image_id": 1, "category_id": True, "bbox": [1, 1, 2, 2], "score": 0.5}, "category_id True is not an id"),
    ({"image_id": 1, "category_id": 3, "segmentation": {"counts": "x"}, "score": 0.5}, "not an RLE"),
    ("text", "record is a str, not an object"),
    # integers too large for a float (they raised OverflowError)
    ({"image_id": 1, "category_id": 3, "bbox": [1, 1, 2, 10**400], "score": 0.5}, "is not four finite numbers"),
    ({"image_id": 1, "category_id": 3, "bbox": [1, 1, 2, 2], "score": 10**400}, "is not a finite number"),
])
def test_bad_result_records_are_skipped_with_the_reason(tmp_path, coco_gt, record, problem):
    path = write(tmp_path, "results.json", [record, {"image_id": 1, "category_id": 3, "bbox": [1, 1, 2, 2], "score": 0.5}])
    preds = read_predictions(path, coco_gt)
    bad = [r for r in preds.report if r.code == "bad_record"]
    assert len(bad) == 1 and problem in bad[0].problem and bad[0].record == "results.json[0]"
    assert preds.num_predictions == 1


def test_masks_as_rle_text_rle_lists_and_polygons(tmp_path, coco_gt):
    mask = np.zeros((80, 100), np.uint8, order="F")
    mask[5:15, 20:40] = 1
    rle = mask_utils.encode(mask)
    uncompressed = {"size": [80, 100], "counts": [int(v) for v in _runs(mask)]}
    path = write(tmp_path, "segm.json", [
        {"image_id": 1, "category_id": 3, "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()}, "score": 0.9},
        {"image_id": 1, "category_id": 3, "segmentation": uncompressed, "score": 0.8},
        {"image_id": 2, "category_id": 5, "segmentation": [[0, 0, 10, 0, 10, 10, 0, 10]], "score": 0.7},
    ])
    preds = read_predictions(path, coco_gt)
    assert preds.has_masks
    counts = preds.table.column("rle_counts").to_pylist()
    assert counts[0] == counts[1] == rle["counts"].decode()  # list counts compressed to the same text
    assert preds.table.column("polygons").to_pylist()[2] == [[0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 10.0]]
    assert "mask predictions" in preds.summary_line()


def _runs(mask: np.ndarray) -> list[int]:
    flat = mask.reshape(-1, order="F")
    changes = np.flatnonzero(np.diff(np.r_[0, flat, 1 - flat[-1]]))
    return np.diff(np.r_[0, changes]).tolist()


def test_a_coco_style_object_with_annotations_is_accepted(tmp_path, coco_gt):
    path = write(tmp_path, "dets.json", {"annotations": [{"image_id": 1, "category_id": 3, "bbox": [1, 1, 2, 2], "score": 1}]})
    assert read_predictions(path, coco_gt).coverage.matched == 1


@pytest.mark.parametrize("content, message", [
    ("{\"images\": 3}", "expected a list of detections, found a dict"),
    ("[", "not valid JSON"),
    ("", "the file is empty"),
])
def test_unusable_coco_results_raise_with_the_file_named(tmp_path, content, message):
    path = write(tmp_path, "results.json", content)
    with pytest.raises(LoadError, match=message):
        read_predictions(path)


@pytest.mark.parametrize("name, expected", [("r.json", "coco"), ("p.csv", "csv"), ("p.parquet", "csv"), ("a.txt", "yolo")])
def test_sniffing_by_name(tmp_path, name, expected):
    path = write(tmp_path, name, "x")
    assert sniff_predictions(path) == expected


def test_sniffing_a_folder_and_refusing_an_unknown_suffix(tmp_path):
    assert sniff_predictions(tmp_path) == "yolo"
    with pytest.raises(LoadError, match="cannot tell what kind of predictions"):
        sniff_predictions(write(tmp_path, "p.xml", "x"))


@pytest.mark.parametrize("options, message", [
    ({"format": "voc"}, "`format` must be one of"),
    ({"names": ["a"]}, "`names` applies to YOLO predictions only"),
    ({"image_column": "x"}, "apply to CSV predictions only"),
])
def test_option_errors_name_the_option(tmp_path, options, message):
    path = write(tmp_path, "r.json", "[]")
    with pytest.raises(ValueError, match=message):
        read_predictions(path, **options)


# --------------------------------------------------------------------------- YOLO


@pytest.fixture
def yolo_gt(tmp_path):
    root = tmp_path / "yolo"
    (root / "labels" / "val").mkdir(parents=True)
    (root / "data.yaml").write_text("names: [car, person]\nval: images/val\n")
    (root / "labels" / "val" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "labels" / "val" / "b.txt").write_text("1 0.2 0.2 0.1 0.1\n")
    return imbal_core.load(root / "data.yaml", cache=False)


def test_yolo_predictions_match_by_stem_and_index(tmp_path, yolo_gt):
    pred = tmp_path / "pred" / "labels"
    pred.mkdir(parents=True)
    (pred / "a.txt").write_text("0 0.5 0.5 0.2 0.2 0.93\n1 0.1 0.1 0.1 0.1 0.2\n")
    (pred / "b.txt").write_text("1 0.2 0.2 0.1 0.1\nnot a line\n7 0.5 0.5 0.1 0.1 0.5\n")
    (pred / "classes.txt").write_text("car\nperson\n")  # not a predictions file
    preds = read_predictions(tmp_path / "pred", yolo_gt)
    assert preds.format == "yolo" and preds.num_predictions == 4
    t = preds.table.to_pylist()
    assert [r["image"] for r in t] == ["labels/a", "labels/a", "labels/b", "labels/b"]
    assert [r["image_id"] for r in t] == [0, 0, 1, 1]
    assert [r["category_id"] for r in t] == [0, 1, 1, None]
    assert t[0]["x"] == pytest.approx(0.4) and t[0]["w"] == pytest.approx(0.2)  # normalised: the images have no size
    assert t[2]["score"] == 1.0
    codes = preds.report.counts()
    assert (codes["no_score"], codes["bad_line"], codes["unknown_class"]) == (1, 1, 1)


def test_yolo_indices_need_names_on_a_coco_dataset(tmp_path, coco_gt):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "a.txt").write_text("0 0.5 0.5 0.2 0.25 0.9\n1 0.5 0.5 0.2 0.2 0.9\n2 0.5 0.5 0.2 0.2 0.9\n")
    unnamed = read_predictions(tmp_path / "p", coco_gt)
    assert unnamed.coverage.matched == 0
    assert any("pass the class names" in r.problem for r in unnamed.report if r.code == "unknown_class")
    named = read_predictions(tmp_path / "p", coco_gt, names=["Car", "Wheelchair"])
    assert named.table.column("category_id").to_pylist() == [0, 1]  # index 2 is beyond the names: reported
    assert named.table.column("h").to_pylist()[0] == pytest.approx(20.0)  # 0.25 of an 80 px image
    assert named.report.counts()["unknown_class"] == 1


def test_an_ambiguous_stem_is_reported(tmp_path):
    doc = gt_doc()
    doc["images"][1]["file_name"] = "train/a.jpg"
    doc["images"][0]["file_name"] = "val/a.jpg"
    path = write(tmp_path, "gt.json", doc)
    ds = imbal_core.load(path, cache=False)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "a.txt").write_text("0 0.5 0.5 0.2 0.2 0.9\n")
    preds = read_predictions(tmp_path / "p", ds, names=["Car", "Wheelchair"])
    assert preds.coverage.matched == 0
    assert "could be any of 2 images" in next(r.problem for r in preds.report if r.code == "ambiguous_image")


YOLO_BOXES = {
    "inside": ("0.5 0.5 0.2 0.2", None),
    "touching the border": ("0.9 0.5 0.2 0.2", None),
    "past the right border": ("0.95 0.5 0.2 0.2", "box_past_border"),
    "past the top border": ("0.5 0.05 0.2 0.2", "box_past_border"),
    "pixel coordinates": ("320 240 50 40", "box_outside_image"),
    "wholly left of the image": ("-0.3 0.5 0.2 0.2", "box_outside_image"),
    "zero width": ("0.5 0.5 0 0.2", "non_positive_box"),
}
# the ground-truth reader's code for the same box (it clips what reaches past the border)
GT_CODE = {None: None, "box_past_border": "box_clipped", "box_outside_image": "box_outside_image",
           "non_positive_box": "non_positive_box"}


@pytest.mark.parametrize("line, code", YOLO_BOXES.values(), ids=list(YOLO_BOXES))
def test_yolo_boxes_outside_the_image_are_reported_as_the_ground_truth_reader_does(tmp_path, line, code):
    (tmp_path / "pred").mkdir()
    (tmp_path / "pred" / "a.txt").write_text(f"0 0.5 0.5 0.1 0.1 0.9\n0 {line} 0.8\n")
    preds = read_predictions(tmp_path / "pred")
    rows = [r for r in preds.report if r.code != "no_score"]
    assert [(r.file, r.record, r.code, r.action) for r in rows] == (
        [] if code is None else [(str(tmp_path / "pred" / "a.txt"), "a.txt:2", code, "kept, evaluated as given")])
    assert preds.num_predictions == 2  # kept: evaluated as given, as pycocotools evaluates results
    # the same line as a ground-truth label (images of unknown size: boxes checked against 0..1)
    gt = tmp_path / "gt"
    (gt / "labels").mkdir(parents=True)
    (gt / "data.yaml").write_text("names: [car]\nval: labels\n")
    (gt / "labels" / "a.txt").write_text(f"0 {line}\n")
    report = imbal_core.load(gt / "data.yaml", cache=False).report
    assert [r.code for r in report if r.record.endswith("a.txt:1")] == ([] if code is None else [GT_CODE[code]])


def test_pixel_coordinates_are_reported_per_line_up_to_a_limit(tmp_path):
    from imbal_core.io.predictions.parsing import MAX_REPORT_ROWS

    (tmp_path / "pred").mkdir()
    (tmp_path / "pred" / "a.txt").write_text("0 320 240 50 40 0.9\n" * (MAX_REPORT_ROWS + 5))
    preds = read_predictions(tmp_path / "pred")
    rows = [r for r in preds.report if r.code == "box_outside_image"]
    assert len(rows) == MAX_REPORT_ROWS + 1 and rows[0].record == "a.txt:1"
    assert "pixel coordinates?" in rows[0].problem
    assert rows[-1].problem.startswith("and 5 more lines") and rows[-1].action == "kept, evaluated as given"


def test_an_empty_yolo_folder_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LoadError, match="no .txt prediction files"):
        read_predictions(tmp_path / "empty")


# --------------------------------------------------------------------------- classification tables


@pytest.fixture(scope="module")
def surface():
    return imbal_core.load(SAMPLES / "surface" / "labels.csv")


def test_the_surface_sample_predictions(surface):
    preds = read_predictions(SAMPLES / "surface" / "predictions.csv", surface)
    assert preds.kind == "classification" and preds.coverage.matched == 6000
    assert preds.class_names == tuple(surface.class_names)  # scores reordered to the dataset's classes
    scores = preds.score_matrix()
    assert scores.shape == (6000, 5) and np.allclose(scores.sum(axis=1), 1.0, atol=1e-6)
    predicted = preds.table.column("category_id").to_numpy()
    assert (scores.argmax(axis=1) == predicted).mean() > 0.99
    first = preds.table.slice(0, 1).to_pylist()[0]
    assert (first["label"], first["score"]) == ("Background", 0.931)


def test_classification_table_mismatches(tmp_path, surface):
    path = write(tmp_path, "p.csv", "image,predicted,score_Background,score_Crack,score_Moss\n"
                                    "img_00001.jpg,Background,0.9,0.05,0.05\n"
                                    "img_00001.jpg,Crack,0.1,0.8,0.1\n"
                                    "nope.jpg,Crack,0.1,0.8,0.1\n"
                                    "img_00002.jpg,Moss,0.1,0.1,0.8\n"
                                    ",Crack,0.1,0.8,0.1\n")
    preds = read_predictions(path, surface)
    codes = preds.report.counts()
    assert codes["duplicate_prediction"] == 1 and codes["bad_record"] == 1
    assert codes["unknown_image"] == 1 and codes["unknown_class"] == 1
    assert codes["unknown_score_column"] == 1  # Moss is not a class
    assert codes["missing_score_column"] == 3  # Efflorescence, Exposed rebar, Spalling have no scores
    assert preds.coverage.matched == 1
    # img_00002 predicted a class the dataset lacks: a wrong prediction, not a missing one
    assert preds.coverage.images_without_predictions == 5998
    actions = [r.action for r in preds.report if r.code == "unknown_class"]
    assert actions == ["counted as wrong predictions (a class of their own)"]
    scores = preds.score_matrix()
    assert np.isnan(scores[:, surface.class_names.index("Spalling")]).all()


def test_scores_without_a_predicted_column_predict_the_highest(tmp_path):
    path = write(tmp_path, "p.csv", "file_name,score_cat,score_dog\na.jpg,0.2,0.8\nb.jpg,0.6,0.4\n")
    preds = read_predictions(path)
    assert preds.table.column("label").to_pylist() == ["dog", "cat"]
    assert preds.table.column("score").to_pylist() == [0.8, 0.6]
    assert preds.coverage is None and "not matched" in preds.summary_line()


@pytest.mark.parametrize("content, message", [
    ("file,other\na,b\n", "no predicted-label column"),
    ("x,y\na,b\n", "no image column found"),
])
def test_classification_tables_without_the_needed_columns(tmp_path, content, message):
    with pytest.raises(LoadError, match=message):
        read_predictions(write(tmp_path, "p.csv", content))


def test_kinds_must_fit_the_dataset(tmp_path, coco_gt, surface):
    with pytest.raises(LoadError, match="classification predictions, but the dataset is a detection export"):
        read_predictions(SAMPLES / "surface" / "predictions.csv", coco_gt)
    with pytest.raises(LoadError, match="detection predictions \\(boxes\\), but the dataset is a classification"):
        read_predictions(write(tmp_path, "r.json", "[]"), surface)


def test_a_pool_read_alone_then_matched(surface):
    pool = read_predictions(SAMPLES / "surface" / "predictions.csv")
    assert pool.coverage is None and pool.table.column("image_id").null_count == pool.num_predictions
    frame = images_frame(pool)
    assert frame.num_rows == 6000 and set(frame.column_names) == {"image", "image_id", "predictions", "max_score"}
    matched = match_predictions(pool, surface)
    assert matched.coverage.matched == 6000 and pool.coverage is None  # the input is unchanged


@pytest.mark.realdata
@pytest.mark.parametrize("name, masks", [("instances_val2014_fakebbox100_results.json", False),
                                         ("instances_val2014_fakesegm100_results.json", True)])
def test_the_real_coco_results(realdata, name, masks):
    folder = realdata / "coco_val2014_100"
    ds = imbal_core.load(folder / "instances_val2014_100.json")
    preds = read_predictions(folder / name, ds)
    c = preds.coverage
    assert (c.predictions, c.matched, c.images_with_predictions, c.images_without_predictions) == (734, 734, 99, 1)
    assert preds.has_masks is masks


def test_a_score_that_is_not_a_number_is_reported(tmp_path):
    path = write(tmp_path, "p.csv", "image,predicted,score_cat,score_dog\na.jpg,cat,0.9,0.1\nb.jpg,dog,high,0.7\nc.jpg,dog,,0.6\n")
    preds = read_predictions(path)
    bad = [r for r in preds.report if r.code == "bad_score"]
    assert [r.problem for r in bad] == ["`score_cat` 'high' is not a number"]
    scores = preds.score_matrix()
    assert scores[0].tolist() == [0.9, 0.1] and np.isnan(scores[1, 0]) and np.isnan(scores[2, 0])
