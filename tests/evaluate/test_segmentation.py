"""Segmentation: pixel confusion and IoU on hand-built masks (COCO RLE and PNG), and the lanes sample."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

import imbal_core
from imbal_core.evaluate import evaluate, evaluate_masks, evaluate_segmentation
from imbal_core.evaluate.segmentation import iou_from_confusion
from imbal_core.io.predictions import read_predictions

LANES = Path(__file__).resolve().parents[2] / "sample_data" / "lanes"


def rle(rows: slice, cols: slice, size=(20, 20)) -> dict:
    mask = np.zeros(size, np.uint8, order="F")
    mask[rows, cols] = 1
    encoded = mask_utils.encode(mask)
    return {"size": list(encoded["size"]), "counts": encoded["counts"].decode()}


@pytest.fixture
def squares(tmp_path):
    """A 20x20 image: class A in the top-left 10x10, B in the bottom-right 10x10.
    Predictions: A on the left half of its square, B shifted 5 px left, a 2x2 A inside B at score 0.3."""
    gt = {"images": [{"id": 1, "file_name": "a.jpg", "width": 20, "height": 20, "light": "low"}],
          "annotations": [
              {"id": 1, "image_id": 1, "category_id": 1, "segmentation": rle(slice(0, 10), slice(0, 10)), "area": 100,
               "bbox": [0, 0, 10, 10], "iscrowd": 0},
              {"id": 2, "image_id": 1, "category_id": 2, "segmentation": rle(slice(10, 20), slice(10, 20)), "area": 100,
               "bbox": [10, 10, 10, 10], "iscrowd": 0}],
          "categories": [{"id": 1, "name": "A"}, {"id": 2, "name": "B"}]}
    results = [{"image_id": 1, "category_id": 1, "segmentation": rle(slice(0, 10), slice(0, 5)), "score": 0.9},
               {"image_id": 1, "category_id": 2, "segmentation": rle(slice(10, 20), slice(5, 20)), "score": 0.8},
               {"image_id": 1, "category_id": 1, "segmentation": rle(slice(15, 17), slice(15, 17)), "score": 0.3}]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "pred.json").write_text(json.dumps(results))
    ds = imbal_core.load(tmp_path / "gt.json", cache=False)
    return ds, read_predictions(tmp_path / "pred.json", ds)


def test_pixel_confusion_of_hand_built_masks(squares):
    ds, preds = squares
    ev = evaluate_segmentation(ds, preds, score_threshold=0.5)
    # rows = ground truth (A, B, background), cols = predicted
    assert ev.confusion.matrix.tolist() == [[50, 0, 50], [0, 100, 0], [0, 50, 150]]
    assert ev.classes.column("iou").to_pylist() == pytest.approx([0.5, 100 / 150])
    assert ev.pixels.miou == pytest.approx((0.5 + 2 / 3) / 2)
    assert ev.pixels.fwiou == pytest.approx((100 * 0.5 + 100 * 2 / 3) / 200)
    assert ev.pixels.pixel_accuracy == pytest.approx(300 / 400)
    assert ev.classes.column("support").to_pylist() == [100, 100]
    assert ev.instances is not None and ev.coco.summary.iou_type == "segm"


def test_the_smaller_mask_is_painted_on_top(squares):
    ds, preds = squares
    ev = evaluate_segmentation(ds, preds, score_threshold=0.2, instances=False)
    assert ev.confusion.matrix[1].tolist() == [4, 96, 0]  # the 2x2 A inside B wins its pixels
    assert ev.instances is None and ev.coco is None


def test_evaluate_picks_segmentation_for_masks_on_a_segmentation_dataset(squares):
    ds, preds = squares
    assert evaluate(ds, preds).task == "segmentation"


def test_iou_from_a_confusion_matrix():
    matrix = np.array([[8, 2, 0], [1, 0, 1], [1, 0, 87]])  # C = 2 plus background
    iou, summary = iou_from_confusion(matrix)
    assert iou.tolist() == pytest.approx([8 / 12, 0.0])
    assert summary.miou == pytest.approx(8 / 24) and summary.pixels == 100
    empty_class = np.array([[5, 0, 0], [0, 0, 0], [0, 0, 5]])
    iou, summary = iou_from_confusion(empty_class)
    assert np.isnan(iou[1]) and summary.miou == 1.0  # a class neither present nor predicted is left out


def write_png(path: Path, array: np.ndarray) -> None:
    Image.fromarray(array.astype(np.uint8), mode="L").save(path)


@pytest.fixture
def mask_folders(tmp_path):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir(), pred.mkdir()
    g = np.zeros((4, 4), np.uint8)
    g[:2, :2] = 1
    g[2:, 2:] = 2
    g[0, 3] = 255  # not evaluated
    p = np.zeros((4, 4), np.uint8)
    p[:2, :1] = 1
    p[2:, 1:] = 2
    write_png(gt / "x.png", g)
    write_png(pred / "x.png", p)
    write_png(gt / "only_gt.png", g)
    return gt, pred


def test_semantic_masks(mask_folders):
    gt, pred = mask_folders
    ev = evaluate_masks(gt, pred, ["background", "lane", "arrow"])
    # rows = ground truth (lane, arrow, background), cols = predicted
    assert ev.confusion.matrix.tolist() == [[2, 0, 2], [0, 4, 0], [0, 2, 5]]
    assert ev.classes.column("iou").to_pylist() == pytest.approx([2 / 4, 4 / 6])
    assert ev.excluded["gt_without_prediction"] == 1 and ev.pixels.pixels == 15


def test_semantic_masks_against_the_lanes_dataset_by_stem(lanes):
    ds, full = lanes
    names = (LANES / "classes.txt").read_text().split()
    ev = evaluate_masks(LANES / "masks", LANES / "pred_masks", names, dataset=ds)
    assert ev.images == 150 and ev.class_names == tuple(ds.class_names)
    # half-resolution PNGs and full-resolution COCO masks agree closely
    np.testing.assert_allclose(ev.classes.column("iou").to_numpy(), full.classes.column("iou").to_numpy(), atol=0.05)
    iou = dict(zip(full.class_names, full.classes.column("iou").to_pylist()))
    assert iou["road"] > 0.95 > iou["sidewalk"] > iou["lane_solid"] > iou["lane_dashed"]  # thin markings suffer


@pytest.mark.parametrize("kwargs, message", [
    ({"class_names": []}, "`class_names` must name at least one class"),
    ({"class_names": ["a"], "background_index": 3}, r"`background_index` must be an index into `class_names` \(0..0\)"),
])
def test_semantic_mask_option_errors(mask_folders, kwargs, message):
    gt, pred = mask_folders
    with pytest.raises(ValueError, match=message):
        evaluate_masks(gt, pred, **kwargs)


def test_masks_of_different_sizes_raise(mask_folders):
    gt, pred = mask_folders
    write_png(pred / "x.png", np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"Masks of 'x' differ in size: ground truth \(4, 4\), prediction \(5, 4\)"):
        evaluate_masks(gt, pred, ["background", "lane", "arrow"])


def test_unknown_pixel_values_are_counted_and_left_out(mask_folders):
    gt, pred = mask_folders
    write_png(pred / "x.png", np.full((4, 4), 9))
    ev = evaluate_masks(gt, pred, ["background", "lane", "arrow"])
    assert ev.excluded["pixels_of_unknown_class"] == 15 and ev.pixels.pixels == 0
