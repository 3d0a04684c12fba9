"""`imbal eval`: cocoapi's reference figures through the CLI, the JSON shape, exit codes and files written."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from imbal_core.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"
STREET = [str(SAMPLES / "street" / "annotations.json"), "--pred", str(SAMPLES / "street" / "predictions.json")]
SURFACE = [str(SAMPLES / "surface" / "labels.csv"), "--pred", str(SAMPLES / "surface" / "predictions.csv")]
CLASS_KEYS = {"class", "critical", "support", "predicted", "tp", "fp", "fn", "precision", "recall", "f1", "ap", "ap50",
              "ap75", "ar", "pr_auc", "iou"}


def run(capsys, *args):
    code = main(["eval", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def eval_json(capsys, *args):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    assert out.count("\n") == 1  # exactly one JSON object
    assert "NaN" not in out  # NaN is written as null
    return json.loads(out)


@pytest.mark.realdata
@pytest.mark.parametrize("results, iou_type, task, expected", [
    ("instances_val2014_fakebbox100_results.json", "bbox", "detection", (0.505, 0.697, 0.573)),
    ("instances_val2014_fakesegm100_results.json", "segm", "segmentation", (0.320, 0.562, 0.299)),
])
def test_the_cli_reproduces_cocoapis_reference(realdata, capsys, results, iou_type, task, expected):
    folder = realdata / "coco_val2014_100"
    doc = eval_json(capsys, folder / "instances_val2014_100.json", "--pred", folder / results)
    assert doc["task"] == task and doc["coco"]["iou_type"] == iou_type
    assert (round(doc["coco"]["ap"], 3), round(doc["coco"]["ap50"], 3), round(doc["coco"]["ap75"], 3)) == expected
    classes = {c["class"]: c for c in doc["classes"]}
    assert len(classes) == 80 and set(doc["classes"][0]) == CLASS_KEYS
    unused = [c for c in classes.values() if c["support"] == 0]
    assert len(unused) == 10 and all(c["ap"] is None and c["recall"] is None for c in unused)  # NaN -> null
    assert doc["predictions"]["matched"] == 734 and doc["predictions"]["images_without_predictions"] == 1
    if task == "segmentation":
        assert 0 < doc["segmentation"]["miou"] < 1 and classes["person"]["iou"] is not None
    else:
        assert doc["segmentation"] is None and classes["person"]["pr_auc"] is None


def test_street_json_shape_with_slices_and_hard_negatives(capsys, tmp_path):
    out = tmp_path / "hard.csv"
    doc = eval_json(capsys, *STREET, "--by", "time_of_day", "--hard-negatives", out, "--score-threshold", "0.5")
    assert {"task", "macro", "classes", "confusion", "by_condition", "coco"} <= set(doc)
    assert set(doc["macro"]) == {"precision", "recall", "f1"}
    assert doc["confusion"]["labels"][-1] == "background"
    assert len(doc["confusion"]["matrix"]) == 11 and all(len(r) == 11 for r in doc["confusion"]["matrix"])
    cells = {(r["value"], r["class"]): r for r in doc["by_condition"]}
    night, day = cells[("night", "Wheelchair")], cells[("day", "Wheelchair")]
    assert night["condition"] == "time_of_day" and night["support"] == 9 and night["small_support"] is True
    assert night["recall"] < day["recall"]
    total = {c["class"]: c["support"] for c in doc["classes"]}
    assert cells[("night", "Person")]["support"] + cells[("day", "Person")]["support"] == total["Person"]
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert doc["hard_negatives"] == {"file": str(out), "rows": len(rows)}
    assert rows[0]["predicted"] == "Wheelchair" and rows[0]["rank"] == "1"
    assert {"confused_with", "file_name", "x", "time_of_day"} <= set(rows[0])


def test_classification_json(capsys):
    doc = eval_json(capsys, *SURFACE, "--by", "lighting")
    assert doc["task"] == "classification" and doc["coco"] is None
    assert 0 < doc["balanced_accuracy"] < doc["accuracy"] < 1
    crack = next(c for c in doc["classes"] if c["class"] == "Crack")
    assert crack["pr_auc"] is not None and crack["ap"] is None and crack["support"] == 173
    assert {r["value"] for r in doc["by_condition"]} == {"daylight", "overcast", "artificial", "low"}


def test_the_readable_output(capsys):
    code, out, err = run(capsys, *STREET, "--by", "time_of_day", "--split", "val")
    assert code == 0, err
    assert out.startswith("detection evaluation — 430 images")
    assert "confusion (rows = ground truth, columns = predicted)" in out
    assert "recall by time_of_day (support; * fewer than 30)" in out and "*)" in out  # small cells flagged
    assert "COCO bbox: AP 0." in out and "macro: precision" in out


def test_semantic_masks_through_the_cli(capsys):
    lanes = SAMPLES / "lanes"
    doc = eval_json(capsys, lanes / "annotations.json", "--pred", lanes / "pred_masks", "--gt-masks", lanes / "masks",
                    "--mask-classes", lanes / "classes.txt", "--by", "time_of_day")
    assert doc["task"] == "segmentation" and doc["predictions"] is None
    assert 0.4 < doc["segmentation"]["miou"] < 0.7
    assert {r["value"] for r in doc["by_condition"]} == {"day", "night"}


def test_min_recall_fails_the_run_with_exit_1(capsys):
    code, out, err = run(capsys, *SURFACE, "--min-recall", "0.9", "--json")
    assert code == 1
    assert "recall below 0.9 for" in err and "Crack" in err
    assert {f["class"] for f in json.loads(out)["failed"]} >= {"Crack", "Exposed rebar"}
    code, _, _ = run(capsys, *SURFACE, "--min-recall", "0.1")
    assert code == 0


@pytest.mark.parametrize("args, message", [
    (["--iou", "0"], "`iou` must be above 0 and at most 1. Got 0.0 instead."),
    (["--by", "sequence"], "`by` must be one of"),
    (["--split", "holdout"], "`split` must be one of ['train', 'val', 'test'] or None. Got 'holdout' instead."),
    (["--min-recall", "2"], "`--min-recall` must be between 0 and 1"),
])
def test_bad_options_exit_2_with_a_message(capsys, args, message):
    code, out, err = run(capsys, *STREET, *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_predictions_that_match_nothing_exit_2(capsys, tmp_path):
    wrong = tmp_path / "results.json"
    wrong.write_text(json.dumps([{"image_id": 999999, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.9}]))
    code, _, err = run(capsys, STREET[0], "--pred", wrong)
    assert code == 2 and "none of the 1 predictions matches" in err and "999999" in err


def test_an_empty_classification_file_exits_2_and_an_empty_detection_file_scores_0(capsys, tmp_path):
    empty = tmp_path / "p.csv"
    empty.write_text("image,predicted\n")
    code, _, err = run(capsys, SURFACE[0], "--pred", empty)
    assert code == 2 and "holds no prediction to evaluate" in err
    nothing = tmp_path / "results.json"
    nothing.write_text("[]")
    doc = eval_json(capsys, STREET[0], "--pred", nothing, "--split", "val")
    assert doc["coco"]["ap"] == 0.0 and doc["macro"]["recall"] == 0.0 and doc["macro"]["precision"] is None


@pytest.mark.parametrize("pred, message", [
    ("missing.json", "no such file"),
    (str(SAMPLES / "surface" / "predictions.csv"), "classification predictions, but the dataset is a detection export"),
])
def test_unusable_predictions_exit_2(capsys, pred, message):
    code, _, err = run(capsys, STREET[0], "--pred", pred)
    assert code == 2 and message in err


def test_gt_masks_need_the_class_names(capsys):
    code, _, err = run(capsys, *STREET, "--gt-masks", "x")
    assert code == 2 and "`--gt-masks` needs `--mask-classes`" in err


def test_a_zip_of_yolo_predictions(capsys, tmp_path):
    import zipfile

    root = tmp_path / "yolo"
    (root / "labels" / "val").mkdir(parents=True)
    (root / "data.yaml").write_text("names: [car, person]\nval: images/val\n")
    (root / "labels" / "val" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "labels" / "val" / "b.txt").write_text("1 0.2 0.2 0.1 0.1\n")
    archive = tmp_path / "pred.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("predict/labels/a.txt", "0 0.5 0.5 0.2 0.2 0.9\n")
        zf.writestr("predict/labels/b.txt", "0 0.2 0.2 0.1 0.1 0.8\n")
    doc = eval_json(capsys, root / "data.yaml", "--pred", archive)
    assert doc["predictions"]["matched"] == 2
    # rows = ground truth (car, person, background): the car found, the person taken for a car
    assert doc["confusion"]["matrix"] == [[1, 0, 0], [1, 0, 0], [0, 0, 0]]


def test_a_predicted_class_the_labels_lack_counts_as_wrong(capsys, tmp_path):
    """2 of 10 clear images predicted `foggy`, a class the labels never use: accuracy 0.8, as scikit-learn says."""
    labels, preds = tmp_path / "labels.csv", tmp_path / "pred.csv"
    truth = ["clear"] * 6 + ["rain"] * 4
    predicted = ["clear"] * 4 + ["foggy"] * 2 + ["rain"] * 4
    labels.write_text("image,label\n" + "".join(f"{i}.jpg,{t}\n" for i, t in enumerate(truth)))
    preds.write_text("image,predicted\n" + "".join(f"{i}.jpg,{p}\n" for i, p in enumerate(predicted)))
    doc = eval_json(capsys, labels, "--pred", preds)
    assert doc["images"] == 10 and doc["accuracy"] == pytest.approx(0.8)
    classes = {c["class"]: c for c in doc["classes"]}
    assert classes["clear"]["recall"] == pytest.approx(4 / 6) and classes["foggy"]["precision"] == 0.0
    assert doc["macro"]["precision"] == pytest.approx(2 / 3)
    # rows = ground truth, cols = predicted
    assert doc["confusion"] == {"labels": ["clear", "rain", "foggy"], "matrix": [[4, 0, 2], [0, 4, 0], [0, 0, 0]]}
    assert [(r["code"], r["rows"], r["action"]) for r in doc["predictions"]["report"]] == [
        ("unknown_class", 1, "counted as wrong predictions (a class of their own)")]
    code, out, err = run(capsys, labels, "--pred", preds)
    assert code == 0, err
    assert "unknown_class" in out and "counted as wrong predictions" in out and "accuracy 0.800" in out


def test_yolo_predictions_in_pixel_coordinates_are_reported(capsys, tmp_path):
    root = tmp_path / "yolo"
    (root / "labels" / "val").mkdir(parents=True)
    (root / "data.yaml").write_text("names: [car, person]\nval: images/val\n")
    (root / "labels" / "val" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "labels" / "val" / "b.txt").write_text("1 0.2 0.2 0.1 0.1\n")
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / "a.txt").write_text("0 320 240 128 96 0.9\n")  # pixels of a 640x480 image, not fractions
    (pred / "b.txt").write_text("1 128 96 64 48 0.8\n")
    doc = eval_json(capsys, root / "data.yaml", "--pred", pred)
    assert doc["predictions"]["matched"] == 2 and doc["coco"]["ap"] == 0.0
    report = {r["code"]: r for r in doc["predictions"]["report"]}
    assert report["box_outside_image"]["rows"] == 2 and report["box_outside_image"]["action"] == "kept, evaluated as given"
    assert "pixel coordinates?" in report["box_outside_image"]["example"]
    code, out, err = run(capsys, root / "data.yaml", "--pred", pred)
    assert code == 0, err
    assert "box_outside_image" in out and "pixel coordinates?" in out
