"""COCO AP on boxes that cross the image border equals pycocotools run on the raw files, exactly.

Exporters that write ``x2 - x1 + 1`` put many boxes 1 px past the border; some exports hold boxes
wholly outside the image. imbal clips the first and skips the second *for counting* (the load
report says so); evaluation must see every box as exported, as pycocotools does. Every figure
is compared with ``==``: the twelve summary values and AP / AP50 / AP75 / AR per class.
"""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

import imbal_core
from imbal_core.cli import main
from imbal_core.evaluate import evaluate, evaluate_detection
from imbal_core.evaluate.coco import CocoSummary
from imbal_core.io.predictions import read_predictions

SUMMARY_FIELDS = [f for f in CocoSummary.__dataclass_fields__ if f != "iou_type"]
CATEGORIES = [{"id": 3, "name": "car"}, {"id": 7, "name": "pedestrian"}, {"id": 9, "name": "cyclist"},
              {"id": 11, "name": "tram"}]  # tram: declared, never annotated


def border_export(seed: int, n_images: int = 40) -> tuple[dict, list[dict]]:
    """A COCO ground truth written ``x2 - x1 + 1``, many boxes 1 px past the right / bottom (or
    left / top) border, a few wholly outside the image and a few crowds; and predictions near
    them (jittered, some of the wrong class, some on the boxes outside, scores with ties)."""
    rng = np.random.default_rng(seed)
    images, anns, dets = [], [], []
    for i in range(n_images):
        width, height = int(rng.integers(80, 400)), int(rng.integers(60, 300))
        image_id = 1000 + 7 * i
        images.append({"id": image_id, "file_name": f"frame_{i:04d}.png", "width": width, "height": height})
        boxes = []
        for _ in range(int(rng.integers(0, 7))):
            x1, y1 = int(rng.integers(-1, width - 10)), int(rng.integers(-1, height - 10))
            x2, y2 = int(rng.integers(x1 + 3, width + 1)), int(rng.integers(y1 + 3, height + 1))
            if rng.random() < 0.5:  # the exporter's edge: one past the last pixel
                x2 = width
            if rng.random() < 0.4:
                y2 = height
            boxes.append([float(x1), float(y1), float(x2 - x1 + 1), float(y2 - y1 + 1)])
        for _ in range(int(rng.random() < 0.3)):  # wholly outside: right of, or above, the image
            w, h = float(rng.integers(5, 40)), float(rng.integers(5, 40))
            boxes.append([width + float(rng.integers(0, 5)), 10.0, w, h] if rng.random() < 0.5
                         else [10.0, -h - float(rng.integers(0, 5)), w, h])
        for box in boxes:
            category = int(rng.choice([3, 3, 3, 7, 9]))
            crowd = int(rng.random() < 0.05)
            anns.append({"id": len(anns) + 1, "image_id": image_id, "category_id": category, "bbox": box,
                         "area": box[2] * box[3], "iscrowd": crowd})
            for _ in range(int(rng.integers(0, 3))):
                jitter = rng.normal(0, 2.5, 4)
                dets.append({"image_id": image_id,
                             "category_id": category if rng.random() < 0.85 else int(rng.choice([3, 7, 9, 11])),
                             "bbox": [round(box[0] + jitter[0], 2), round(box[1] + jitter[1], 2),
                                      round(max(1.0, box[2] + jitter[2]), 2), round(max(1.0, box[3] + jitter[3]), 2)],
                             "score": round(float(rng.random()), 2)})  # rounded: ties, as real scores have
        for _ in range(int(rng.integers(0, 3))):  # false alarms
            x, y = float(rng.integers(0, width)), float(rng.integers(0, height))
            dets.append({"image_id": image_id, "category_id": int(rng.choice([3, 7, 9])),
                         "bbox": [x, y, float(rng.integers(4, 80)), float(rng.integers(4, 80))],
                         "score": round(float(rng.random()), 2)})
    return {"images": images, "annotations": anns, "categories": CATEGORIES}, dets


def write_export(folder: Path, seed: int) -> tuple[Path, Path]:
    gt, dets = border_export(seed)
    (folder / "gt.json").write_text(json.dumps(gt))
    (folder / "dt.json").write_text(json.dumps(dets))
    return folder / "gt.json", folder / "dt.json"


def pycocotools_on(gt_path: Path, dt_path: Path):
    """pycocotools run directly on the files, as its README shows; returns the evaluator."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        E = COCOeval(gt, gt.loadRes(str(dt_path)), "bbox")
        E.evaluate()
        E.accumulate()
        E.summarize()
    return E


def reference_per_class(E) -> dict[str, dict[str, float]]:
    """AP (0.50:0.95), AP50, AP75 and AR (100 detections) of each class, all areas, from
    pycocotools' own arrays (COCO's rule: the mean of the values other than -1; NaN when none)."""
    names = {c["id"]: c["name"] for c in E.cocoGt.dataset["categories"]}
    precision, recall = E.eval["precision"][:, :, :, 0, -1], E.eval["recall"][:, :, 0, -1]
    t50, t75 = (int(np.flatnonzero(np.isclose(E.params.iouThrs, t))[0]) for t in (0.5, 0.75))

    def mean(values: np.ndarray) -> float:
        return float(np.mean(values[values > -1])) if (values > -1).any() else float("nan")

    return {names[cat]: {"ap": mean(precision[:, :, k]), "ap50": mean(precision[t50, :, k]),
                         "ap75": mean(precision[t75, :, k]), "ar": mean(recall[:, k])}
            for k, cat in enumerate(E.params.catIds)}


def same(ours: float | None, reference: float) -> bool:
    """Exactly equal; pycocotools' -1 (no data) is imbal's NaN (null in JSON)."""
    if reference == -1 or np.isnan(reference):
        return ours is None or np.isnan(ours)
    return ours == reference


SEEDS = range(6)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_export_exercises_clipping_and_skipping(tmp_path, seed):
    ds = imbal_core.load(write_export(tmp_path, seed)[0], cache=False)
    counts = ds.report.counts()
    assert counts["box_clipped"] >= 20 and counts["box_outside_image"] >= 1
    # counting keeps its clipped boxes: every counted box fits its image
    width = ds.images.column("width").to_numpy()[ds.annotations.column("image_id").to_numpy()]
    x, w = (ds.annotations.column(c).to_numpy() for c in ("x", "w"))
    exported = len(json.loads((tmp_path / "gt.json").read_text())["annotations"])
    assert (x + w <= width).all() and ds.num_annotations == exported - counts["box_outside_image"]
    assert ds.exported_annotations.num_rows == exported  # evaluation sees every box


@pytest.mark.parametrize("seed", SEEDS)
def test_summary_and_per_class_ap_equal_pycocotools_exactly(tmp_path, seed):
    gt_path, dt_path = write_export(tmp_path, seed)
    E = pycocotools_on(gt_path, dt_path)
    ds = imbal_core.load(gt_path, cache=False)
    ev = evaluate_detection(ds, read_predictions(dt_path, ds))
    summary = ev.coco.summary
    mismatched = [(f, getattr(summary, f), r) for f, r in zip(SUMMARY_FIELDS, E.stats) if not same(getattr(summary, f), r)]
    assert not mismatched  # all twelve, with ==
    reference = reference_per_class(E)
    rows = {r["class"]: r for r in ev.classes.to_pylist()}
    assert set(rows) == set(reference)
    mismatched = [(n, k, rows[n][k], v) for n, ref in reference.items() for k, v in ref.items() if not same(rows[n][k], v)]
    assert not mismatched
    assert rows["tram"]["ap"] is None  # no ground truth: no AP


def test_the_operating_point_counts_every_exported_box(tmp_path):
    """The matched confusion matrix sees the boxes as exported too: a prediction equal to the exported
    box of a box 1 px past the border is a match at IoU 1, and a box wholly outside is an object to find."""
    gt = {"images": [{"id": 1, "width": 100, "height": 50}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [80, 10, 21, 41], "area": 861, "iscrowd": 0},
                          {"id": 2, "image_id": 1, "category_id": 1, "bbox": [120, 0, 10, 10], "area": 100, "iscrowd": 0}],
          "categories": [{"id": 1, "name": "car"}]}
    results = [{"image_id": 1, "category_id": 1, "bbox": [80, 10, 21, 41], "score": 0.9}]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(results))
    ds = imbal_core.load(tmp_path / "gt.json", cache=False)
    assert ds.num_annotations == 1 and ds.annotations.column("w")[0].as_py() == 20  # counted: clipped, one box
    ev = evaluate_detection(ds, read_predictions(tmp_path / "dt.json", ds))
    assert ev.detections.column("iou").to_pylist() == [1.0]  # against the exported box, not the clipped one
    # rows = ground truth (car, background), cols = predicted
    assert ev.confusion.matrix.tolist() == [[1, 1], [0, 0]]  # the box outside the image is a miss
    assert ev.ground_truth.column("ann_id").to_pylist() == [0, None]  # not counted: no ann_id
    assert ev.ground_truth.column("status").to_pylist() == ["found", "missed"]
    assert ev.classes.column("recall").to_pylist() == [0.5]


def test_the_cli_equals_pycocotools_exactly(tmp_path, capsys):
    gt_path, dt_path = write_export(tmp_path, 1)
    E = pycocotools_on(gt_path, dt_path)
    code = main(["eval", str(gt_path), "--pred", str(dt_path), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert not [(f, doc["coco"][f], r) for f, r in zip(SUMMARY_FIELDS, E.stats) if not same(doc["coco"][f], r)]
    reference = reference_per_class(E)
    rows = {r["class"]: r for r in doc["classes"]}
    assert not [(n, k, rows[n][k], v) for n, ref in reference.items() for k, v in ref.items() if not same(rows[n][k], v)]


def test_a_warm_cache_evaluates_the_same_boxes(tmp_path):
    """The parse cache keeps the exported boxes (columns of the annotations) and the boxes left out of
    counting, so a second load evaluates exactly as the first."""
    gt_path, dt_path = write_export(tmp_path, 2)
    cold = imbal_core.load(gt_path)
    from imbal_core.io import cache

    cache.wait_for_writes()
    warm = imbal_core.load(gt_path)
    assert warm.exported_annotations.equals(cold.exported_annotations)
    cold_ap, warm_ap = (evaluate(ds, read_predictions(dt_path, ds)).coco.summary for ds in (cold, warm))
    assert all(same(getattr(warm_ap, f), getattr(cold_ap, f)) for f in SUMMARY_FIELDS)


@pytest.mark.realdata
def test_taco_boxes_past_the_border_evaluate_as_pycocotools(realdata, tmp_path):
    """TACO: seven boxes a pixel past the border (counted clipped). Predictions are its own boxes,
    shifted; pycocotools reads a copy in tmp whose annotation ids are made unique (TACO repeats two,
    which pycocotools' index cannot hold), imbal the original file."""
    source = realdata / "taco" / "annotations.json"
    doc = json.loads(source.read_text())
    for i, ann in enumerate(doc["annotations"]):
        ann["id"] = i + 1
    (tmp_path / "gt.json").write_text(json.dumps(doc))
    rng = np.random.default_rng(0)
    dets = [{"image_id": a["image_id"], "category_id": a["category_id"], "score": round(float(rng.random()), 2),
             "bbox": [a["bbox"][0] + float(rng.normal(0, 2)), a["bbox"][1] + float(rng.normal(0, 2)), a["bbox"][2], a["bbox"][3]]}
            for a in doc["annotations"] if rng.random() < 0.8]
    (tmp_path / "dt.json").write_text(json.dumps(dets))
    E = pycocotools_on(tmp_path / "gt.json", tmp_path / "dt.json")
    ds = imbal_core.load(source, cache=False)
    assert ds.report.counts()["box_clipped"] == 7
    ev = evaluate_detection(ds, read_predictions(tmp_path / "dt.json", ds))
    assert not [(f, getattr(ev.coco.summary, f), r) for f, r in zip(SUMMARY_FIELDS, E.stats)
                if not same(getattr(ev.coco.summary, f), r)]
    reference = reference_per_class(E)
    rows = {r["class"]: r for r in ev.classes.to_pylist()}
    assert not [(n, k, rows[n][k], v) for n, ref in reference.items() for k, v in ref.items() if not same(rows[n][k], v)]
