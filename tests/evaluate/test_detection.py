"""Detection: cocoapi's reference figures, per-class AP against pycocotools, the matched confusion
matrix on hand-built boxes, and properties of the matching on any input."""
from __future__ import annotations

import contextlib
from dataclasses import replace
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

import imbal_core
from imbal_core.evaluate import coco_ap, evaluate_detection, match_detections
from imbal_core.evaluate.coco import CocoSummary
from imbal_core.evaluate.detection import STATUSES, box_iou
from imbal_core.io.predictions import read_predictions

SUMMARY_FIELDS = [f for f in CocoSummary.__dataclass_fields__ if f != "iou_type"]


def reference_figures(path: Path) -> dict[str, list[float]]:
    """cocoapi's printed summaries in val2014_fake_eval_res.txt, by iou type."""
    out: dict[str, list[float]] = {}
    kind = None
    for line in path.read_text().splitlines():
        if line.startswith("type="):
            kind = line.split("=", 1)[1].strip()
            out[kind] = []
        elif kind and "] =" in line:
            out[kind].append(float(line.rsplit("=", 1)[1]))
    return out


@pytest.fixture(scope="module")
def val2014(realdata):
    folder = realdata / "coco_val2014_100"
    return folder, imbal_core.load(folder / "instances_val2014_100.json")


@pytest.mark.realdata
@pytest.mark.parametrize("iou_type, results", [("bbox", "instances_val2014_fakebbox100_results.json"),
                                               ("segm", "instances_val2014_fakesegm100_results.json")])
def test_cocoapi_reference_figures(val2014, iou_type, results):
    folder, ds = val2014
    reference = reference_figures(folder / "val2014_fake_eval_res.txt")[iou_type]
    result = coco_ap(ds, read_predictions(folder / results, ds), iou_type=iou_type)
    ours = [getattr(result.summary, f) for f in SUMMARY_FIELDS]
    assert [round(v, 3) for v in ours] == reference  # all twelve, as cocoapi prints them
    if iou_type == "bbox":
        assert (round(result.summary.ap, 3), round(result.summary.ap50, 3), round(result.summary.ap75, 3)) == (0.505, 0.697, 0.573)
    else:
        assert round(result.summary.ap, 3) == 0.320


@pytest.mark.realdata
def test_per_class_ap_equals_pycocotools_on_the_original_files(val2014):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    folder, ds = val2014
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(folder / "instances_val2014_100.json"))
        E = COCOeval(gt, gt.loadRes(str(folder / "instances_val2014_fakebbox100_results.json")), "bbox")
        E.evaluate()
        E.accumulate()
    precision = E.eval["precision"][:, :, :, 0, -1]
    by_name = {}
    for k, cat in enumerate(E.params.catIds):
        p = precision[:, :, k]
        by_name[gt.cats[cat]["name"]] = p[p > -1].mean() if (p > -1).any() else np.nan
    ev = evaluate_detection(ds, read_predictions(folder / "instances_val2014_fakebbox100_results.json", ds))
    ours = dict(zip(ev.classes.column("class").to_pylist(), ev.classes.column("ap").to_pylist()))
    assert set(ours) == set(by_name)
    for name, value in by_name.items():
        if np.isnan(value):
            assert ours[name] is None  # a class with no ground truth has no AP (null, not -1)
        else:
            assert ours[name] == pytest.approx(value, abs=1e-12)


@pytest.mark.realdata
def test_nothing_is_printed(val2014, capsys):
    folder, ds = val2014
    evaluate_detection(ds, read_predictions(folder / "instances_val2014_fakebbox100_results.json", ds))
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------- hand-built boxes

PERSON, WHEELCHAIR, STROLLER = 0, 1, 2


def test_confusion_matrix_on_hand_built_boxes(scene):
    ds, preds = scene
    ev = evaluate_detection(ds, preds, iou=0.5, score_threshold=0.5)
    # rows = ground truth (Person, Wheelchair, Stroller, background), cols = predicted
    assert ev.confusion.labels == ("Person", "Wheelchair", "Stroller", "background")
    assert ev.confusion.matrix.tolist() == [
        [1, 0, 0, 1],  # a person found, a person missed (the crowd is not counted)
        [1, 0, 0, 0],  # the wheelchair taken for a person
        [0, 0, 0, 0],
        [1, 2, 0, 0],  # the duplicate person; two wheelchairs on nothing of their class
    ]
    assert ev.detections.column("status").to_pylist() == [
        "correct", "duplicate", "wrong_class", "background", "ignored", "below_threshold", "background"]
    assert ev.ground_truth.column("status").to_pylist() == ["found", "missed", "wrong_class", "crowd"]
    rows = {r["class"]: r for r in ev.classes.to_pylist()}
    assert (rows["Person"]["support"], rows["Person"]["predicted"], rows["Person"]["tp"]) == (2, 3, 1)
    assert rows["Person"]["precision"] == pytest.approx(1 / 3) and rows["Person"]["recall"] == pytest.approx(0.5)
    assert (rows["Wheelchair"]["precision"], rows["Wheelchair"]["recall"], rows["Wheelchair"]["f1"]) == (0.0, 0.0, 0.0)
    assert rows["Stroller"]["precision"] is None and rows["Stroller"]["recall"] is None  # undefined: null
    assert ev.macro.recall == pytest.approx(0.25)  # mean of Person 0.5 and Wheelchair 0: Stroller has no support
    assert ev.images == 2 and ev.excluded == {"images_without_predictions": 1}


def test_the_overlap_of_a_false_alarm_names_the_other_class(scene):
    ds, preds = scene
    d = evaluate_detection(ds, preds).detections.to_pylist()
    assert (d[6]["overlap_category"], d[6]["best_same_iou"]) == (PERSON, 0.0)
    assert d[6]["overlap_iou"] == pytest.approx(81 / 119)
    assert d[2]["matched_category"] == WHEELCHAIR and d[2]["iou"] == pytest.approx(1.0)


@pytest.mark.parametrize("threshold, predicted_person", [(0.05, 4), (0.5, 3), (0.95, 0)])
def test_the_score_threshold_sets_what_counts(scene, threshold, predicted_person):
    ds, preds = scene
    ev = evaluate_detection(ds, preds, score_threshold=threshold, coco_ap=False)
    assert ev.classes.column("predicted")[PERSON].as_py() == predicted_person
    assert ev.classes.column("ap").null_count == 3  # COCOeval skipped


def test_a_coco_run_is_reused_across_operating_points(scene):
    ds, preds = scene
    run = coco_ap(ds, preds)
    a = evaluate_detection(ds, preds, score_threshold=0.2, coco_result=run)
    b = evaluate_detection(ds, preds, score_threshold=0.2)
    assert a.coco is run
    assert a.classes.column("ap").to_pylist() == b.classes.column("ap").to_pylist()
    assert a.confusion.matrix.tolist() == b.confusion.matrix.tolist()
    with pytest.raises(ValueError, match="`coco_result` is a bbox run over 1 images; this evaluation is bbox over 2 images"):
        evaluate_detection(ds, preds, coco_result=replace(run, images=1))


@pytest.mark.parametrize("kwargs, message", [
    ({"iou": 0}, r"`iou` must be above 0 and at most 1. Got 0 instead."),
    ({"iou": 1.5}, r"`iou` must be above 0 and at most 1. Got 1.5 instead."),
    ({"score_threshold": -0.1}, r"`score_threshold` must be between 0 and inf. Got -0.1 instead."),
    ({"iou_type": "segm"}, "`iou_type` 'segm' needs predictions with masks"),
    ({"iou_type": "mask"}, r"`iou_type` must be one of \['auto', 'bbox', 'segm'\]"),
])
def test_bad_options_name_the_parameter(scene, kwargs, message):
    ds, preds = scene
    with pytest.raises(ValueError, match=message):
        evaluate_detection(ds, preds, **kwargs)


def test_unmatched_predictions_are_refused(scene, tmp_path):
    ds, _ = scene
    from imbal_core.io.predictions import read_coco_results

    with pytest.raises(ValueError, match="must be matched to the dataset first"):
        evaluate_detection(ds, read_coco_results(tmp_path / "results.json"))


@pytest.mark.parametrize("seed", range(5))
def test_box_iou_equals_pycocotools(seed):
    rng = np.random.default_rng(seed)
    a = np.c_[rng.uniform(0, 50, (30, 2)), rng.uniform(0, 40, (30, 2))]
    b = np.c_[rng.uniform(0, 50, (30, 2)), rng.uniform(1, 40, (30, 2))]
    crowd = rng.random(30) < 0.3
    reference = np.diagonal(np.asarray(mask_utils.iou(a.tolist(), b.tolist(), crowd.astype(np.uint8).tolist())))
    np.testing.assert_allclose(box_iou(a, b, crowd), reference, atol=1e-12)


boxes = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(0, 40), st.integers(0, 40),
                           st.integers(1, 30), st.integers(1, 30), st.booleans()), max_size=25)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gt=boxes, dt=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(0, 40), st.integers(0, 40),
                                       st.integers(1, 30), st.integers(1, 30), st.floats(0, 1)), max_size=30),
       iou=st.sampled_from([0.3, 0.5, 0.75]), threshold=st.sampled_from([0.0, 0.5]))
def test_matching_accounts_for_every_box_once(gt, dt, iou, threshold):
    C, n_images = 4, 3
    g = np.array(gt, dtype=np.float64).reshape(-1, 7)
    d = np.array(dt, dtype=np.float64).reshape(-1, 7)
    crowd = g[:, 6].astype(bool)
    m = match_detections(g[:, 0].astype(int), g[:, 1].astype(int), g[:, 2:6], crowd,
                         d[:, 0].astype(int), d[:, 1].astype(int), d[:, 6], d[:, 2:6], C, n_images,
                         iou=iou, score_threshold=threshold)
    matrix = m.matrix
    # every non-crowd object is in exactly one cell of its row
    assert matrix[:C].sum(axis=1).tolist() == np.bincount(g[~crowd, 1].astype(int), minlength=C).tolist()
    counted = np.isin(m.dt_status, [STATUSES.index(s) for s in ("correct", "wrong_class", "duplicate", "background")])
    assert matrix[:, :C].sum(axis=0).tolist() == np.bincount(d[counted, 1].astype(int), minlength=C).tolist()
    assert ((m.dt_status == STATUSES.index("below_threshold")) == (d[:, 6] < threshold)).all()
    assert matrix[C, C] == 0
    matched = m.dt_gt[m.dt_gt >= 0]
    assert len(set(matched.tolist())) == len(matched)  # an object is matched at most once
    for k in np.flatnonzero(m.dt_gt >= 0):  # a match is in the same image, with enough overlap
        j = m.dt_gt[k]
        assert g[j, 0] == d[k, 0] and not crowd[j] and m.dt_iou[k] >= iou


def test_the_street_sample_is_weaker_on_rare_classes(street):
    ds, preds, ev = street
    recall = dict(zip(ev.classes.column("class").to_pylist(), ev.classes.column("recall").to_pylist()))
    assert recall["Car"] > recall["Person"] > recall["Wheelchair"] and recall["Stroller"] < 0.6
    assert ev.confusion.matrix[-1, ev.class_names.index("Wheelchair")] >= 40  # confident wheelchair false alarms
    recall_points, precision = ev.pr_curve("Wheelchair")
    assert len(recall_points) == len(precision) > 10 and precision.min() > 0
