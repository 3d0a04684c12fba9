"""COCO predictions whose image (and category) ids are their own: matched by file name, with counts, never guessed."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import imbal_core
from imbal_core.evaluate import evaluate
from imbal_core.io.predictions import read_predictions

CLASSES = {3: "car", 5: "person", 9: "wheelchair"}


def make_case(seed: int = 0, images: int = 24) -> tuple[dict, list[dict]]:
    """A COCO ground truth (ids 1000 + 7 i, files ``val/img_i.jpg``) and noisy detections of it as a
    results list with the ground truth's ids (some boxes moved, some missed, some false alarms)."""
    rng = np.random.default_rng(seed)
    gt = {"images": [], "annotations": [], "categories": [{"id": k, "name": v} for k, v in CLASSES.items()]}
    results = []
    for i in range(images):
        image_id = 1000 + 7 * i
        gt["images"].append({"id": image_id, "file_name": f"val/img_{i:03d}.jpg", "width": 640, "height": 480})
        for _ in range(int(rng.integers(0, 4))):
            cat = int(rng.choice(list(CLASSES)))
            x, y = float(rng.integers(0, 500)), float(rng.integers(0, 350))
            w, h = float(rng.integers(10, 130)), float(rng.integers(10, 120))
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": image_id, "category_id": cat,
                                      "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
            if rng.random() < 0.8:  # found, the box moved a little
                dx, dy = rng.integers(-12, 13, size=2)
                results.append({"image_id": image_id, "category_id": cat, "bbox": [x + dx, y + dy, w, h],
                                "score": round(float(rng.uniform(0.3, 1.0)), 3)})
        if rng.random() < 0.5:  # a false alarm
            results.append({"image_id": image_id, "category_id": int(rng.choice(list(CLASSES))),
                            "bbox": [float(rng.integers(0, 500)), float(rng.integers(0, 350)), 40.0, 40.0],
                            "score": round(float(rng.uniform(0.0, 0.6)), 3)})
    return gt, results


def full_file(gt: dict, results: list[dict], new_ids: dict[int, int], names: dict[int, str] | None = None,
              categories: dict[int, int] | None = None) -> dict:
    """The results as a full COCO file whose images are numbered ``new_ids`` (old -> new), listed in
    the new ids' order; ``names``: the file name written for an image (default the ground truth's);
    ``categories``: its own category ids (old -> new)."""
    categories = categories or {k: k for k in CLASSES}
    images = sorted(gt["images"], key=lambda im: new_ids[im["id"]])
    return {
        "images": [{"id": new_ids[im["id"]], "file_name": (names or {}).get(im["id"], im["file_name"]),
                    "width": im["width"], "height": im["height"]} for im in images],
        "annotations": [{**r, "id": n + 1, "image_id": new_ids[r["image_id"]], "category_id": categories[r["category_id"]]}
                        for n, r in enumerate(results)],
        "categories": [{"id": categories[k], "name": v} for k, v in CLASSES.items()],
    }


def write(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc))
    return path


def metrics(ds, preds) -> tuple:
    ev = evaluate(ds, preds, iou=0.5, score_threshold=0.5)
    s = ev.coco.summary
    classes = ev.classes.select(["class", "support", "predicted", "tp", "fp", "fn", "ap", "ap50"]).to_pylist()
    return (s.ap, s.ap50, s.ap75, s.ar100), classes


def pycocotools_stats(gt: dict, results: list[dict]) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = json.loads(json.dumps(gt))
        coco.createIndex()
        E = COCOeval(coco, coco.loadRes(json.loads(json.dumps(results))), "bbox")
        E.evaluate()
        E.accumulate()
        E.summarize()
    return E.stats


@pytest.fixture
def case(tmp_path):
    gt, results = make_case()
    ds = imbal_core.load(write(tmp_path / "instances_val.json", gt), cache=False)
    reference = read_predictions(write(tmp_path / "results.json", results), ds)
    return gt, results, ds, reference


def shuffled_ids(gt: dict, seed: int, start: int = 1) -> dict[int, int]:
    ids = [im["id"] for im in gt["images"]]
    new = np.random.default_rng(seed).permutation(len(ids)) + start
    return {old: int(n) for old, n in zip(ids, new)}


def test_the_reference_uses_ids_and_says_nothing_about_file_names(case):
    _, _, _, reference = case
    assert reference.coverage.images_matched_by_file_name == 0
    assert "matched_by_file_name" not in reference.report.codes()


@pytest.mark.parametrize("start", [1, 1000], ids=["ids 1..n", "ids overlapping the dataset's"])
def test_a_full_coco_file_with_its_own_shuffled_image_ids_gives_the_same_metrics(tmp_path, case, start):
    gt, results, ds, reference = case
    new_ids = shuffled_ids(gt, seed=3, start=start)
    preds = read_predictions(write(tmp_path / "dets.json", full_file(gt, results, new_ids)), ds)
    n_images = len({r["image_id"] for r in results})
    assert preds.coverage.images_matched_by_file_name == n_images
    assert preds.coverage.matched == len(results) and preds.coverage.unknown_image_predictions == 0
    row = next(r for r in preds.report if r.code == "matched_by_file_name")
    assert f"{n_images} matched ({n_images} by path, 0 by base name), 0 not matched" in row.problem
    assert row.action == "ids ignored, matched by file name"
    assert f"{n_images} images matched by file name" in preds.summary_line()
    assert metrics(ds, preds) == metrics(ds, reference)
    # pycocotools on a copy whose ids were corrected by hand gives the same AP
    stats = pycocotools_stats(gt, results)
    (ap, ap50, ap75, ar100), _ = metrics(ds, preds)
    assert (ap, ap50, ap75, ar100) == pytest.approx((stats[0], stats[1], stats[2], stats[8]), abs=1e-12)


def test_ids_that_are_the_datasets_but_name_other_files_are_not_trusted(tmp_path, case):
    """The same id set as the dataset's, permuted: every id is known, so only the file names tell."""
    gt, results, ds, reference = case
    ids = [im["id"] for im in gt["images"]]
    permuted = dict(zip(ids, np.random.default_rng(5).permutation(ids).tolist()))
    preds = read_predictions(write(tmp_path / "dets.json", full_file(gt, results, permuted)), ds)
    row = next(r for r in preds.report if r.code == "matched_by_file_name")
    assert "name another file than the dataset's image of that id" in row.problem
    assert metrics(ds, preds) == metrics(ds, reference)
    # read by id it would be wrong: the same file without its images list
    by_id = read_predictions(write(tmp_path / "by_id.json", {"annotations": full_file(gt, results, permuted)["annotations"]}), ds)
    assert metrics(ds, by_id) != metrics(ds, reference)


def test_a_results_list_with_a_file_name_per_record_and_base_names(tmp_path, case):
    gt, results, ds, reference = case
    new_ids = shuffled_ids(gt, seed=7)
    name_of = {im["id"]: im["file_name"] for im in gt["images"]}
    # absolute paths elsewhere: only the base name is the dataset's
    records = [{**r, "image_id": new_ids[r["image_id"]], "file_name": "/data/coco/" + name_of[r["image_id"]].split("/")[-1]}
               for r in results]
    preds = read_predictions(write(tmp_path / "results_named.json", records), ds)
    n_images = len({r["image_id"] for r in results})
    row = next(r for r in preds.report if r.code == "matched_by_file_name")
    assert f"{n_images} matched (0 by path, {n_images} by base name)" in row.problem
    assert metrics(ds, preds) == metrics(ds, reference)


def test_partial_matches_are_counted_and_the_rest_reported(tmp_path, case):
    gt, results, ds, _ = case
    new_ids = shuffled_ids(gt, seed=11, start=1)
    name_of = {im["id"]: im["file_name"] for im in gt["images"]}
    images = sorted({r["image_id"] for r in results})
    renamed, unnamed = set(images[:2]), set(images[2:4])  # 2 name files the dataset lacks, 2 have no name
    records = []
    for r in results:
        rec = {**r, "image_id": new_ids[r["image_id"]]}
        if r["image_id"] in renamed:
            rec["file_name"] = f"other/{r['image_id']}.jpg"
        elif r["image_id"] not in unnamed:
            rec["file_name"] = name_of[r["image_id"]]
        records.append(rec)
    preds = read_predictions(write(tmp_path / "partial.json", records), ds)
    n = len(images)
    row = next(r for r in preds.report if r.code == "matched_by_file_name")
    assert (f"{n - 4} matched ({n - 4} by path, 0 by base name), 4 not matched "
            f"(2 without a file name, 2 naming no image of the dataset)") in row.problem
    c = preds.coverage
    assert c.images_matched_by_file_name == n - 4 and c.unknown_images == 4
    lost = sum(r["image_id"] in renamed | unnamed for r in results)
    assert c.unknown_image_predictions == lost and c.matched == len(results) - lost
    problems = [r.problem for r in preds.report if r.code == "unknown_image"]
    assert sum("has no file name to match it by" in p for p in problems) == 2
    assert sum("matches no single image of the dataset by file name" in p and "other/" in p for p in problems) == 2


def test_ids_are_used_when_they_are_the_datasets_and_the_names_agree(tmp_path, case):
    gt, results, ds, reference = case
    name_of = {im["id"]: im["file_name"] for im in gt["images"]}
    spellings = ["./{}", "C:\\data\\{}", "{}"]  # the same file: a leading ./, Windows folders around it, as is
    records = [{**r, "file_name": spellings[i % 3].format(name_of[r["image_id"]].replace("/", "\\" if i % 3 == 1 else "/"))}
               for i, r in enumerate(results)]
    records.append({"image_id": 5, "category_id": 3, "bbox": [1, 1, 5, 5], "score": 0.9, "file_name": "not_here.jpg"})
    preds = read_predictions(write(tmp_path / "named.json", records), ds)
    # an unknown id naming no image of the dataset is an image the dataset lacks: ids stay in use
    assert "matched_by_file_name" not in preds.report.codes()
    assert preds.coverage.unknown_images == 1 and preds.coverage.matched == len(results)


def test_an_ambiguous_base_name_is_not_matched(tmp_path):
    gt = {"images": [{"id": 1, "file_name": "train/a.jpg", "width": 10, "height": 10},
                     {"id": 2, "file_name": "val/a.jpg", "width": 10, "height": 10},
                     {"id": 3, "file_name": "val/b.jpg", "width": 10, "height": 10}],
          "annotations": [{"id": 1, "image_id": 3, "category_id": 1, "bbox": [1, 1, 4, 4], "area": 16, "iscrowd": 0}],
          "categories": [{"id": 1, "name": "car"}]}
    ds = imbal_core.load(write(tmp_path / "gt.json", gt), cache=False)
    dets = {"images": [{"id": 10, "file_name": "a.jpg"}, {"id": 11, "file_name": "b.jpg"}],
            "annotations": [{"image_id": 10, "category_id": 1, "bbox": [1, 1, 4, 4], "score": 0.9},
                            {"image_id": 11, "category_id": 1, "bbox": [1, 1, 4, 4], "score": 0.8}],
            "categories": [{"id": 1, "name": "car"}]}
    preds = read_predictions(write(tmp_path / "dets.json", dets), ds)
    assert preds.table.column("image_id").to_pylist() == [None, 2]
    ambiguous = next(r for r in preds.report if r.code == "ambiguous_image")
    assert ambiguous.record == "10" and "could be any of 2 images" in ambiguous.problem
    assert "1 matched (0 by path, 1 by base name), 1 not matched (1 ambiguous)" in next(
        r.problem for r in preds.report if r.code == "matched_by_file_name")


def test_an_image_id_named_two_ways_is_reported_and_not_matched_by_name(tmp_path, case):
    gt, results, ds, _ = case
    records = [{"image_id": 1, "category_id": 3, "bbox": [1, 1, 5, 5], "score": 0.9, "file_name": "val/img_000.jpg"},
               {"image_id": 1, "category_id": 3, "bbox": [1, 1, 5, 5], "score": 0.8, "file_name": "val/img_001.jpg"},
               {"image_id": 2, "category_id": 3, "bbox": [1, 1, 5, 5], "score": 0.7, "file_name": "val/img_002.jpg"}]
    preds = read_predictions(write(tmp_path / "conflict.json", records), ds)
    conflict = next(r for r in preds.report if r.code == "conflicting_name")
    assert conflict.record == "conflict.json[1]" and "named both 'val/img_000.jpg' and 'val/img_001.jpg'" in conflict.problem
    assert preds.table.column("image_id").to_pylist() == [None, None, 2]  # img_002 is dense row 2
    assert "1 without a file name" in next(r.problem for r in preds.report if r.code == "matched_by_file_name")


def test_a_full_file_with_its_own_category_ids_is_matched_by_class_name(tmp_path, case):
    gt, results, ds, reference = case
    own = {3: 0, 5: 1, 9: 2}  # 0-based, as some exporters write; 3 is the dataset's car but here wheelchair's id is 2
    doc = full_file(gt, results, shuffled_ids(gt, seed=2), categories=own)
    preds = read_predictions(write(tmp_path / "dets.json", doc), ds)
    row = next(r for r in preds.report if r.code == "matched_by_class_name")
    assert "3 predicted classes were matched by name — 3 matched, 0 not matched" in row.problem
    assert preds.coverage.classes_matched_by_name == 3
    assert metrics(ds, preds) == metrics(ds, reference)


def test_declared_category_names_that_agree_with_the_ids_change_nothing(tmp_path, case):
    gt, results, ds, reference = case
    doc = full_file(gt, results, {im["id"]: im["id"] for im in gt["images"]})
    preds = read_predictions(write(tmp_path / "dets.json", doc), ds)
    assert not {"matched_by_class_name", "matched_by_file_name"} & preds.report.codes()
    assert metrics(ds, preds) == metrics(ds, reference)


def test_bad_image_records_of_a_full_file_are_reported(tmp_path, case):
    gt, results, ds, _ = case
    doc = full_file(gt, results, shuffled_ids(gt, seed=1))
    doc["images"] += [{"id": "x", "file_name": "a.jpg"}, {"id": 99999}, "text"]
    preds = read_predictions(write(tmp_path / "dets.json", doc), ds)
    bad = [r for r in preds.report if r.code == "bad_record"]
    assert [r.record for r in bad] == [f"images[{len(gt['images']) + 1}]", "images"]
    assert "2 image records in `images` lack a whole-number `id` or a `file_name`" in bad[1].problem


def test_a_scalabel_ground_truth_and_coco_results_named_by_file(tmp_path):
    """Images without numeric ids (Scalabel's are names): COCO results carrying file names still match."""
    frames = [{"name": f"f{i}.jpg", "videoName": "v1", "labels": [
        {"id": str(i), "category": "car", "box2d": {"x1": 10.0 * i, "y1": 5.0, "x2": 10.0 * i + 20, "y2": 25.0}}]}
        for i in range(4)]
    ds = imbal_core.load(write(tmp_path / "det_val.json", frames), cache=False)
    results = [{"image_id": 100 + i, "file_name": f"f{i}.jpg", "category_id": 1, "bbox": [10.0 * i, 5.0, 20.0, 20.0],
                "score": 0.9} for i in range(3)]
    dets = {"annotations": results, "categories": [{"id": 1, "name": "car"}]}
    preds = read_predictions(write(tmp_path / "dets.json", dets), ds)
    assert preds.table.column("image_id").to_pylist() == [0, 1, 2]
    assert preds.table.column("category_id").to_pylist() == [0, 0, 0]
    assert preds.coverage.images_matched_by_file_name == 3 and preds.coverage.classes_matched_by_name == 1
    ev = evaluate(ds, preds)
    assert ev.classes.column("recall").to_pylist() == [0.75]


@pytest.mark.realdata
def test_the_real_coco_results_renumbered_and_shuffled(realdata, tmp_path):
    folder = realdata / "coco_val2014_100"
    gt_path = folder / "instances_val2014_100.json"
    gt = json.loads(gt_path.read_text())
    results = json.loads((folder / "instances_val2014_fakebbox100_results.json").read_text())
    ds = imbal_core.load(gt_path)
    reference = read_predictions(folder / "instances_val2014_fakebbox100_results.json", ds)
    new_ids = shuffled_ids(gt, seed=0)
    doc = {"images": [{"id": new_ids[im["id"]], "file_name": im["file_name"]}
                      for im in sorted(gt["images"], key=lambda im: new_ids[im["id"]])],
           "annotations": [{**r, "image_id": new_ids[r["image_id"]]} for r in results],
           "categories": gt["categories"]}
    preds = read_predictions(write(tmp_path / "dets.json", doc), ds)
    assert preds.coverage.images_matched_by_file_name == 99 and preds.coverage.matched == 734
    (ap, ap50, ap75, _), classes = metrics(ds, preds)
    assert (round(ap, 3), round(ap50, 3), round(ap75, 3)) == (0.505, 0.697, 0.573)  # cocoapi's reference figures
    assert metrics(ds, preds) == metrics(ds, reference)
