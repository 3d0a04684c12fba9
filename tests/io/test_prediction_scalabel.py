"""Scalabel / BDD100K predictions (the ground truth's JSON with a `score` per label) for evaluation."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

import imbal_core
from imbal_core.evaluate import evaluate
from imbal_core.io.predictions import read_predictions, sniff_predictions
from imbal_core.report import LoadError

CLASSES = {1: "car", 2: "pedestrian", 3: "rider"}


def write(path: Path, doc) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def coco_case(seed: int = 4) -> tuple[dict, list[dict]]:
    """A COCO ground truth (ids 500 + i, files ``cam/f_i.jpg``) and noisy detections as COCO results;
    coordinates multiples of 1/4 pixel so x2 - x1 gives back w exactly."""
    rng = np.random.default_rng(seed)
    gt = {"images": [], "annotations": [], "categories": [{"id": k, "name": v} for k, v in CLASSES.items()]}
    results = []
    for i in range(20):
        gt["images"].append({"id": 500 + i, "file_name": f"cam/f_{i:02d}.jpg", "width": 1280, "height": 720})
        for _ in range(int(rng.integers(1, 5))):
            cat = int(rng.integers(1, 4))
            x, y, w, h = (float(v) for v in (rng.integers(0, 1100), rng.integers(0, 600), rng.integers(8, 170),
                                              rng.integers(8, 110)))
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": 500 + i, "category_id": cat,
                                      "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
            if rng.random() < 0.85:
                dx, dy = (rng.integers(-24, 25, size=2) / 4).tolist()
                results.append({"image_id": 500 + i, "category_id": cat, "bbox": [x + dx, y + dy, w, h],
                                "score": float(rng.integers(1, 100)) / 100})
        results.append({"image_id": 500 + i, "category_id": int(rng.integers(1, 4)), "bbox": [600.0, 300.0, 50.0, 50.0],
                        "score": float(rng.integers(1, 60)) / 100})
    return gt, results


def as_scalabel(gt: dict, results: list[dict], video: str | None = None) -> list[dict]:
    """The same results as Scalabel frames: one frame per image, labels with box2d and score."""
    name_of = {im["id"]: im["file_name"].split("/")[-1] for im in gt["images"]}
    frames: dict[int, dict] = {}
    for n, r in enumerate(results):
        frame = frames.setdefault(r["image_id"], {"name": name_of[r["image_id"]], "labels": [],
                                                  **({"videoName": video} if video else {})})
        x, y, w, h = r["bbox"]
        frame["labels"].append({"id": str(n), "category": CLASSES[r["category_id"]], "score": r["score"],
                                "box2d": {"x1": x, "y1": y, "x2": x + w, "y2": y + h}})
    return list(frames.values())


def metrics(ds, preds):
    ev = evaluate(ds, preds)
    s = ev.coco.summary
    return (s.ap, s.ap50, s.ap75, s.ar100), ev.classes.select(["class", "tp", "fp", "fn", "ap", "ap50"]).to_pylist()


@pytest.fixture
def case(tmp_path):
    gt, results = coco_case()
    ds = imbal_core.load(write(tmp_path / "instances_val.json", gt), cache=False)
    return gt, results, ds


def test_scalabel_predictions_give_the_metrics_of_the_same_coco_results(tmp_path, case):
    gt, results, ds = case
    coco = read_predictions(write(tmp_path / "results.json", results), ds)
    scalabel = read_predictions(write(tmp_path / "preds.json", as_scalabel(gt, results)), ds)
    assert scalabel.format == "scalabel" and scalabel.coverage.matched == len(results)
    for column in ("image_id", "category_id", "score", "x", "y", "w", "h"):
        assert scalabel.table.column(column).to_pylist() == coco.table.column(column).to_pylist()
    assert metrics(ds, scalabel) == metrics(ds, coco)
    assert metrics(ds, coco)[0][0] > 0.3  # not a trivial zero


def test_the_frames_object_and_a_folder_of_files(tmp_path, case):
    gt, results, ds = case
    frames = as_scalabel(gt, results)
    write(tmp_path / "one" / "preds.json", {"frames": frames, "config": {"categories": [{"name": "car"}]}})
    write(tmp_path / "many" / "a.json", frames[:7])
    write(tmp_path / "many" / "sub" / "b.json", frames[7:])
    one = read_predictions(tmp_path / "one" / "preds.json", ds)
    many = read_predictions(tmp_path / "many", ds)
    assert many.format == "scalabel"
    assert metrics(ds, one) == metrics(ds, many)
    assert many.coverage.matched == len(results)


def test_a_scalabel_ground_truth_matches_by_video_and_name(tmp_path):
    gt_frames = [{"name": f"{v}-{i}.jpg", "videoName": v, "attributes": {"weather": "rainy"}, "labels": [
        {"id": f"{v}{i}", "category": "car", "box2d": {"x1": 10.0, "y1": 10.0, "x2": 50.0, "y2": 40.0}}]}
        for v in ("a", "b") for i in range(3)]
    ds = imbal_core.load(write(tmp_path / "gt" / "det_val.json", gt_frames), cache=False)
    preds_frames = [{**f, "labels": [{**lab, "score": 0.8} for lab in f["labels"]]} for f in gt_frames[:5]]
    preds_frames.append({"name": "c-0.jpg", "videoName": "c", "labels": [
        {"id": "x", "category": "truck", "score": 0.5, "box2d": {"x1": 1, "y1": 1, "x2": 5, "y2": 5}}]})
    preds = read_predictions(write(tmp_path / "pred.json", preds_frames), ds)
    assert preds.table.column("image").to_pylist()[:2] == ["a/a-0.jpg", "a/a-1.jpg"]
    assert preds.table.column("image_id").to_pylist() == [0, 1, 2, 3, 4, None]
    c = preds.coverage
    assert (c.matched, c.unknown_images, c.images_without_predictions) == (5, 1, 1)
    ev = evaluate(ds, preds)
    assert ev.classes.column("recall").to_pylist() == [pytest.approx(5 / 6)]


def test_polygons_and_rle_become_masks(tmp_path, case):
    gt, _, ds = case
    mask = np.zeros((720, 1280), np.uint8, order="F")
    mask[100:140, 200:260] = 1
    rle = mask_utils.encode(mask)
    frames = [{"name": "f_00.jpg", "labels": [
        {"id": "p", "category": "car", "score": 0.9,
         "poly2d": [{"vertices": [[10, 10], [50, 10], [50, 40], [10, 40]], "types": "LLLL", "closed": True}]},
        {"id": "l", "category": "car", "score": 0.8,
         "poly2d": [{"vertices": [[0, 0], [5, 5]], "types": "LL", "closed": False}]},
        {"id": "r", "category": "rider", "score": 0.7, "rle": {"counts": rle["counts"].decode(), "size": [720, 1280]}},
    ]}]
    preds = read_predictions(write(tmp_path / "segm.json", frames), ds)
    rows = preds.table.to_pylist()
    assert rows[0]["polygons"] == [[10.0, 10.0, 50.0, 10.0, 50.0, 40.0, 10.0, 40.0]]
    assert (rows[0]["x"], rows[0]["y"], rows[0]["w"], rows[0]["h"]) == (10.0, 10.0, 40.0, 30.0)
    assert rows[1]["polygons"] is None and rows[1]["w"] == 5.0  # an open polyline: a box, no mask
    assert rows[2]["rle_counts"] == rle["counts"].decode() and rows[2]["rle_height"] == 720 and rows[2]["x"] is None
    assert preds.has_masks


@pytest.mark.parametrize("label, problem", [
    ({"id": "1", "score": 0.5, "box2d": {"x1": 1, "y1": 1, "x2": 5, "y2": 5}}, "label category is missing"),
    ({"id": "1", "category": "car", "score": "high", "box2d": {"x1": 1, "y1": 1, "x2": 5, "y2": 5}},
     "score 'high' is not a finite number"),
    ({"id": "1", "category": "car", "score": 0.5, "box2d": {"x1": 1, "y1": 1, "x2": "5"}},
     "box2d has a missing or non-numeric coordinate"),
    ({"id": "1", "category": "car", "score": 0.5, "rle": {"counts": "x"}}, "rle is not an RLE"),
    ("car", "label is 'car', not an object"),
])
def test_bad_labels_are_skipped_with_the_reason(tmp_path, label, problem):
    good = {"id": "2", "category": "car", "score": 0.5, "box2d": {"x1": 1, "y1": 1, "x2": 5, "y2": 5}}
    preds = read_predictions(write(tmp_path / "p.json", [{"name": "a.jpg", "videoName": "v", "labels": [label, good]}]))
    bad = [r for r in preds.report if r.code == "bad_record"]
    assert len(bad) == 1 and problem in bad[0].problem and bad[0].action == "skipped"
    assert bad[0].record in ("p.json:v/a.jpg#1", "p.json:v/a.jpg#0")
    assert preds.num_predictions == 1


def test_bad_frames_other_shapes_and_missing_scores_are_reported(tmp_path):
    frames = [
        {"labels": []},
        "frame",
        {"name": "a.jpg", "labels": "none"},
        {"name": "b.jpg", "labels": [{"id": "1", "category": "car", "box3d": {"x": 1}, "score": 0.4}]},
        {"name": "c.jpg", "labels": [{"id": "1", "category": "car", "box2d": {"x1": 1, "y1": 1, "x2": 5, "y2": 5}},
                                     {"id": "2", "category": "car", "box2d": {"x1": 1, "y1": 1, "x2": 5, "y2": 5}}]},
    ]
    preds = read_predictions(write(tmp_path / "p.json", frames))
    rows = [(r.record, r.code, r.action) for r in preds.report]
    assert rows == [("p.json:frames[0]", "bad_record", "skipped"), ("p.json:frames[1]", "bad_record", "skipped"),
                    ("p.json:frames[2]", "bad_record", "skipped"), ("box3d", "unsupported_shape", "skipped"),
                    ("p.json", "no_score", "scored 1.0")]
    assert preds.table.column("score").to_pylist() == [1.0, 1.0]


@pytest.mark.parametrize("content, message", [
    ("3", "not Scalabel / BDD100K predictions — the top level is int"),
    ('{"config": {}}', "the top level is an object without `frames`"),
    ("[", "not valid JSON"),
])
def test_unusable_files_raise_with_the_file_named(tmp_path, content, message):
    path = write(tmp_path / "p.json", content)
    with pytest.raises(LoadError, match=message):
        read_predictions(path, format="scalabel")


def test_a_folder_without_json_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LoadError, match="no .json prediction files"):
        read_predictions(tmp_path / "empty", format="scalabel")


@pytest.mark.parametrize("content, expected", [
    ('[{"name": "a.jpg", "videoName": "v", "labels": []}]', "scalabel"),
    ('{"frames": [{"name": "a.jpg", "labels": []}], "config": {}}', "scalabel"),
    ('{"name": "a.jpg", "labels": [{"category": "car", "score": 1}]}', "scalabel"),
    ('[{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5, "file_name": "a.jpg"}]', "coco"),
    ('{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [], "categories": [{"id": 1, "name": "x"}]}', "coco"),
    ("[]", "coco"),
])
def test_json_predictions_are_sniffed_by_their_first_bytes(tmp_path, content, expected):
    assert sniff_predictions(write(tmp_path / "p.json", content)) == expected


def test_folders_are_sniffed_by_what_they_hold(tmp_path):
    write(tmp_path / "s" / "val" / "a.json", '[{"name": "a.jpg", "labels": []}]')
    write(tmp_path / "y" / "a.txt", "0 0.5 0.5 0.1 0.1 0.9\n")
    assert sniff_predictions(tmp_path / "s") == "scalabel"
    assert sniff_predictions(tmp_path / "y") == "yolo"


@pytest.mark.realdata
def test_the_real_bdd100k_labels_scored_are_a_perfect_prediction(realdata, tmp_path):
    """The BDD100K example as ground truth; the same file with a score per label as predictions."""
    source = realdata / "bdd100k" / "example_annotation.json"
    ds = imbal_core.load(source, cache=False)
    frames = json.loads(source.read_text())
    for frame in frames:
        for n, label in enumerate(frame["labels"]):
            label["score"] = 0.9 - n / 10
    preds = read_predictions(write(tmp_path / "pred.json", frames), ds)
    # recounted from the file: 1 frame, 4 car polygons
    assert preds.format == "scalabel" and preds.coverage.matched == 4 and preds.coverage.images_with_predictions == 1
    assert all(p is not None for p in preds.table.column("polygons").to_pylist())
    ev = evaluate(ds, preds)
    car = ev.classes.to_pylist()[0]
    assert (car["class"], car["support"], car["tp"], car["fp"]) == ("car", 4, 4, 0)
