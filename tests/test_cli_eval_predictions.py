"""`imbal eval` end to end with predictions matched by file name, `--pred-opt` for YOLO, and Scalabel predictions."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from imbal_core.cli import main

GT = {
    "images": [{"id": 100 + i, "file_name": f"img_{i}.jpg", "width": 640, "height": 480} for i in range(4)],
    "annotations": [
        {"id": 1, "image_id": 100, "category_id": 1, "bbox": [64.0, 48.0, 128.0, 96.0], "area": 12288.0, "iscrowd": 0},
        {"id": 2, "image_id": 101, "category_id": 2, "bbox": [320.0, 240.0, 64.0, 48.0], "area": 3072.0, "iscrowd": 0},
        {"id": 3, "image_id": 102, "category_id": 1, "bbox": [0.0, 0.0, 320.0, 240.0], "area": 76800.0, "iscrowd": 0},
        {"id": 4, "image_id": 103, "category_id": 2, "bbox": [480.0, 360.0, 64.0, 64.0], "area": 4096.0, "iscrowd": 0},
    ],
    "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "person"}],
}
# rows: (image index, category id, x, y, w, h, score): three found, one missed, one false alarm
DETECTIONS = [(0, 1, 66.0, 50.0, 128.0, 96.0, 0.9), (1, 2, 320.0, 240.0, 64.0, 48.0, 0.75),
              (2, 1, 8.0, 4.0, 320.0, 240.0, 0.6), (2, 2, 400.0, 300.0, 32.0, 32.0, 0.55)]


def run(capsys, *args):
    code = main(["eval", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def eval_json(capsys, *args) -> dict:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def gt(tmp_path) -> Path:
    path = tmp_path / "instances_val.json"
    path.write_text(json.dumps(GT))
    return path


def coco_results(tmp_path) -> Path:
    path = tmp_path / "results.json"
    path.write_text(json.dumps([{"image_id": 100 + i, "category_id": c, "bbox": [x, y, w, h], "score": s}
                                for i, c, x, y, w, h, s in DETECTIONS]))
    return path


def same_metrics(a: dict, b: dict) -> None:
    assert a["coco"] == b["coco"] and a["classes"] == b["classes"] and a["confusion"] == b["confusion"]


def test_a_full_coco_file_with_its_own_ids_is_matched_by_file_name(capsys, tmp_path, gt):
    reference = eval_json(capsys, gt, "--pred", coco_results(tmp_path))
    own = {0: 7, 1: 3, 2: 1, 3: 5}  # the detector's own numbering, in another order
    doc = {"images": [{"id": own[i], "file_name": f"/mnt/data/img_{i}.jpg"} for i in (2, 1, 3, 0)],
           "annotations": [{"id": n, "image_id": own[i], "category_id": c, "bbox": [x, y, w, h], "score": s}
                           for n, (i, c, x, y, w, h, s) in enumerate(DETECTIONS)],
           "categories": GT["categories"]}
    dets = tmp_path / "detections.json"
    dets.write_text(json.dumps(doc))
    got = eval_json(capsys, gt, "--pred", dets)
    same_metrics(got, reference)
    assert reference["coco"]["ap"] > 0
    p = got["predictions"]
    assert p["images_matched_by_file_name"] == 3 and p["matched"] == 4 and p["unknown_images"] == 0
    row = next(r for r in p["report"] if r["code"] == "matched_by_file_name")
    assert "3 matched (0 by path, 3 by base name), 0 not matched" in row["example"]
    code, out, err = run(capsys, gt, "--pred", dets)
    assert code == 0, err
    assert "3 images matched by file name" in out and "matched_by_file_name" in out


def test_a_partial_match_by_file_name_is_counted(capsys, tmp_path, gt):
    records = [{"image_id": 900 + i, "file_name": f"img_{i}.jpg" if i != 1 else "elsewhere.jpg", "category_id": c,
                "bbox": [x, y, w, h], "score": s} for i, c, x, y, w, h, s in DETECTIONS]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(records))
    p = eval_json(capsys, gt, "--pred", path)["predictions"]
    assert (p["images_matched_by_file_name"], p["unknown_images"], p["unknown_image_predictions"]) == (2, 1, 1)
    row = next(r for r in p["report"] if r["code"] == "matched_by_file_name")
    assert "2 matched (2 by path, 0 by base name), 1 not matched (1 naming no image of the dataset)" in row["example"]


def yolo_files(folder: Path, layout: tuple[str, ...], pixels: bool) -> Path:
    folder.mkdir()
    for i in range(4):
        lines = []
        for image, c, x, y, w, h, s in DETECTIONS:
            if image != i:
                continue
            values = {"cls": c - 1, "x": x + w / 2, "y": y + h / 2, "w": w, "h": h, "conf": s}
            if not pixels:
                values.update(x=values["x"] / 640, y=values["y"] / 480, w=w / 640, h=h / 480)
            lines.append(" ".join(str(values[k]) for k in layout))
        (folder / f"img_{i}.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_yolo_layout_and_pixel_coordinates_through_pred_opt(capsys, tmp_path, gt):
    names = tmp_path / "names.txt"
    names.write_text("car\nperson\n")
    reference = eval_json(capsys, gt, "--pred", coco_results(tmp_path))
    default = eval_json(capsys, gt, "--pred", yolo_files(tmp_path / "a", ("cls", "x", "y", "w", "h", "conf"), False),
                        "--names", names)
    same_metrics(default, reference)
    ordered = yolo_files(tmp_path / "b", ("cls", "conf", "x", "y", "w", "h"), True)
    got = eval_json(capsys, gt, "--pred", ordered, "--names", names,
                    "--pred-opt", "layout=cls,conf,x,y,w,h", "--pred-opt", "coords=pixels")
    same_metrics(got, reference)
    assert got["predictions"]["format"] == "yolo" and not got["predictions"]["report"][:-1]
    # without the options the same files are misread, and the report says what to pass
    code, out, err = run(capsys, gt, "--pred", ordered, "--names", names)
    assert code == 0 and "box_outside_image" in out and "--pred-opt coords=pixels" in out


@pytest.mark.parametrize("option, message", [
    ("layout=cls,x,y", "`layout` must name each of cls, x, y, w, h once"),
    ("coords=inches", "`coords` must be one of ['normalized', 'pixels']. Got 'inches' instead."),
    ("colour=red", "`options` of yolo predictions must be among ['layout', 'coords']. Got ['colour'] instead."),
    ("layout", "`--pred-opt` must be KEY=VALUE. Got 'layout' instead."),
])
def test_bad_pred_options_exit_2_naming_what_is_accepted(capsys, tmp_path, gt, option, message):
    preds = yolo_files(tmp_path / "p", ("cls", "x", "y", "w", "h", "conf"), False)
    code, _, err = run(capsys, gt, "--pred", preds, "--pred-opt", option)
    assert code == 2 and message in err and "Traceback" not in err


def test_a_pred_option_coco_does_not_take_exits_2(capsys, tmp_path, gt):
    code, _, err = run(capsys, gt, "--pred", coco_results(tmp_path), "--pred-opt", "coords=pixels")
    assert code == 2 and "`options` of coco predictions take none" in err


def test_scalabel_predictions_give_the_metrics_of_the_same_coco_results(capsys, tmp_path, gt):
    reference = eval_json(capsys, gt, "--pred", coco_results(tmp_path))
    frames = [{"name": f"img_{i}.jpg", "labels": [
        {"id": str(n), "category": GT["categories"][c - 1]["name"], "score": s,
         "box2d": {"x1": x, "y1": y, "x2": x + w, "y2": y + h}}
        for n, (image, c, x, y, w, h, s) in enumerate(DETECTIONS) if image == i]} for i in range(4)]
    path = tmp_path / "bdd_preds.json"
    path.write_text(json.dumps(frames))
    got = eval_json(capsys, gt, "--pred", path)
    assert got["predictions"]["format"] == "scalabel" and got["predictions"]["matched"] == 4
    same_metrics(got, reference)
    forced = eval_json(capsys, gt, "--pred", path, "--pred-format", "scalabel")
    same_metrics(forced, reference)
