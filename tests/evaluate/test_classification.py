"""Classification metrics: parity with scikit-learn to 1e-9, hand-built edge cases, and a dataset-level run."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

import imbal_core
from imbal_core.dataset import build_dataset
from imbal_core.evaluate import classification_metrics, evaluate_classification
from imbal_core.evaluate.table import select_images
from imbal_core.evaluate.classification import average_precision, pr_curve
from imbal_core.io.predictions import Predictions, classification_schema, match_predictions

TOL = 1e-9
SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


def random_case(seed: int):
    """Labels over C classes where some classes are never present and some never predicted."""
    rng = np.random.default_rng(seed)
    C = int(rng.integers(2, 9))
    n = int(rng.integers(1, 300))
    present = rng.choice(C, size=max(1, C - int(rng.integers(0, 3))), replace=False)
    predicted = rng.choice(C, size=max(1, C - int(rng.integers(0, 3))), replace=False)
    y_true = rng.choice(present, size=n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.choice(predicted, size=n))
    y_pred = np.where(np.isin(y_pred, predicted), y_pred, rng.choice(predicted, size=n))
    scores = np.round(rng.random((n, C)), 2)  # rounding makes ties, as real scores have
    return C, y_true, y_pred, scores


SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("undefined, zero_division", [("nan", np.nan), ("zero", 0.0)])
def test_parity_with_scikit_learn(seed, undefined, zero_division):
    C, y_true, y_pred, scores = random_case(seed)
    labels = list(range(C))
    m = classification_metrics(y_true, y_pred, C, scores=scores, undefined=undefined)
    # rows = ground truth, cols = predicted
    assert np.array_equal(m.confusion.matrix, skm.confusion_matrix(y_true, y_pred, labels=labels))
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=zero_division)
    np.testing.assert_allclose(m.per_class.precision, p, atol=TOL, equal_nan=True)
    np.testing.assert_allclose(m.per_class.recall, r, atol=TOL, equal_nan=True)
    np.testing.assert_allclose(m.per_class.f1, f, atol=TOL, equal_nan=True)
    assert np.array_equal(m.per_class.support, s)
    for average, ours in zip(("macro", "weighted", "micro"), m.averages):
        ref = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average, zero_division=zero_division)
        np.testing.assert_allclose([ours.precision, ours.recall, ours.f1], ref[:3], atol=TOL, equal_nan=True)
    assert m.accuracy == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=TOL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true"
        balanced = skm.balanced_accuracy_score(y_true, y_pred)
    assert m.balanced_accuracy == pytest.approx(balanced, abs=TOL)
    for c in range(C):
        if (y_true == c).any():
            assert m.pr_auc[c] == pytest.approx(skm.average_precision_score(y_true == c, scores[:, c]), abs=TOL)
        else:
            assert np.isnan(m.pr_auc[c])  # a class never present has no PR AUC


@pytest.mark.parametrize("seed", range(10))
def test_pr_curve_points_are_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    y = rng.random(200) < 0.2
    s = np.round(rng.random(200), 2)
    precision, recall, thresholds = pr_curve(y, s)
    ref_p, ref_r, ref_t = skm.precision_recall_curve(y, s)
    np.testing.assert_allclose(precision, ref_p[:-1][::-1], atol=TOL)
    np.testing.assert_allclose(recall, ref_r[:-1][::-1], atol=TOL)
    np.testing.assert_allclose(thresholds, ref_t[::-1], atol=TOL)
    assert average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s), abs=TOL)


@pytest.mark.parametrize("positive, score", [
    ([False, False], [0.1, 0.9]),  # no positive
    ([True, False], [np.nan, 0.2]),  # a NaN score
])
def test_average_precision_is_nan_when_undefined(positive, score):
    assert np.isnan(average_precision(np.array(positive), np.array(score)))


def test_float32_scores_give_the_same_pr_auc():
    C, y_true, y_pred, scores = random_case(3)
    a = classification_metrics(y_true, y_pred, C, scores=scores).pr_auc
    b = classification_metrics(y_true, y_pred, C, scores=scores.astype(np.float32)).pr_auc
    np.testing.assert_allclose(a, b, atol=1e-6, equal_nan=True)


def test_hand_built_three_classes():
    # rows = ground truth, cols = predicted; class 2 is never predicted, class 1 never right
    y_true = [0, 0, 0, 1, 2]
    y_pred = [0, 0, 1, 0, 0]
    m = classification_metrics(y_true, y_pred, class_names=["a", "b", "c"])
    assert m.confusion.matrix.tolist() == [[2, 1, 0], [1, 0, 0], [1, 0, 0]]
    assert m.per_class.precision[0] == pytest.approx(0.5)
    assert np.isnan(m.per_class.precision[2])  # never predicted: undefined, not 0
    assert m.per_class.recall.tolist() == pytest.approx([2 / 3, 0.0, 0.0])
    assert m.balanced_accuracy == pytest.approx((2 / 3) / 3)
    assert m.confusion.normalized()[0].tolist() == pytest.approx([2 / 3, 1 / 3, 0.0])


def test_one_class_and_empty_inputs():
    m = classification_metrics([0, 0, 0], [0, 0, 0], 1)
    assert (m.accuracy, m.balanced_accuracy, float(m.per_class.f1[0])) == (1.0, 1.0, 1.0)
    empty = classification_metrics(np.zeros(0, int), np.zeros(0, int), 2)
    assert np.isnan(empty.accuracy) and np.isnan(empty.balanced_accuracy)
    assert empty.confusion.matrix.sum() == 0 and np.isnan(empty.averages[0].f1)


@pytest.mark.parametrize("kwargs, message", [
    ({"y_true": [0, 3], "y_pred": [0, 1], "n_classes": 3}, r"`y_true` must hold class indices 0..2. Got values 0..3"),
    ({"y_true": [0, 1], "y_pred": [0], "n_classes": 2}, "must have the same length"),
    ({"y_true": [0.5], "y_pred": [0], "n_classes": 2}, "must hold class indices \\(integers\\)"),
    ({"y_true": [0], "y_pred": [0], "n_classes": 0}, "`n_classes` must be at least 1. Got 0"),
    ({"y_true": [0], "y_pred": [0], "n_classes": 2, "scores": np.zeros((1, 3))}, r"`scores` must have shape \(1, 2\)"),
    ({"y_true": [0], "y_pred": [0], "n_classes": 2, "class_names": ["a"]}, "`class_names` must name 2 classes"),
    ({"y_true": [0], "y_pred": [0], "n_classes": 2, "undefined": "skip"}, "`undefined` must be one of"),
])
def test_errors_name_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        classification_metrics(**kwargs)


# --------------------------------------------------------------------------- on a dataset


def tiny_dataset():
    """Five images: one label each for 0-2, none for 3, two labels for 4."""
    return build_dataset(
        images={"file_name": [f"{i}.jpg" for i in range(5)], "split": ["val"] * 5,
                "light": ["day", "day", "night", "night", "day"]},
        annotations={"image": [0, 1, 2, 4, 4], "category": [0, 1, 1, 0, 1]},
        categories={"name": ["ok", "crack"]},
        task="classification", format="csv", sources=["t.csv"], conditions=["light"],
    )


def predictions_for(ds, rows):
    n = len(rows)
    scores = pa.FixedSizeListArray.from_arrays(pa.array([v for _, _, s in rows for v in s], pa.float64()), 2)
    table = pa.table({
        "image": pa.array([r[0] for r in rows]), "image_id": pa.nulls(n, pa.int64()), "label": pa.array([r[1] for r in rows]),
        "category_id": pa.nulls(n, pa.int32()), "score": pa.array([max(r[2]) for r in rows], pa.float64()),
        "scores": scores, "record": pa.array([f"p:{i}" for i in range(n)]),
    }, schema=classification_schema(2))
    return match_predictions(Predictions("classification", table, "csv", "p.csv", class_names=("ok", "crack")), ds)


def test_images_without_a_single_label_or_a_prediction_are_counted_not_hidden():
    ds = tiny_dataset()
    preds = predictions_for(ds, [("0.jpg", "ok", [0.9, 0.1]), ("2.jpg", "ok", [0.7, 0.3]),
                                 ("3.jpg", "crack", [0.2, 0.8]), ("4.jpg", "ok", [0.6, 0.4])])
    ev = evaluate_classification(ds, preds)
    assert ev.images == 2  # 0.jpg (right) and 2.jpg (wrong)
    assert ev.excluded == {"no_prediction": 1, "no_label": 1, "several_labels": 1}
    assert ev.confusion.matrix.tolist() == [[1, 0], [1, 0]]
    assert ev.classes.column("pr_auc").to_pylist() == pytest.approx([1.0, 1.0])
    counts = ev.counts.to_pylist()
    assert sum(r["tp"] for r in counts) == 1 and sum(r["fn"] for r in counts) == 1 and sum(r["fp"] for r in counts) == 1
    recall, precision = ev.pr_curve("crack")
    assert recall.tolist() == [1.0, 1.0] and precision.tolist() == [1.0, 0.5]


def test_evaluating_one_split_and_an_unknown_split():
    ds = tiny_dataset()
    preds = predictions_for(ds, [("0.jpg", "ok", [0.9, 0.1])])
    assert evaluate_classification(ds, preds, split="val").images == 1
    with pytest.raises(ValueError, match=r"`split` must be one of \['val'\] or None. Got 'test' instead."):
        evaluate_classification(ds, preds, split="test")


def test_a_list_of_splits_is_checked_name_by_name():
    ds = tiny_dataset()
    assert select_images(ds, ["val"]).sum() == 5 and select_images(ds, []).sum() == 0
    with pytest.raises(ValueError, match=r"`split` must be one of \['val'\] or None. Got 'test' instead."):
        select_images(ds, ["val", "test"])


def test_the_surface_sample_against_scikit_learn():
    ds = imbal_core.load(SAMPLES / "surface" / "labels.csv")
    from imbal_core.io.predictions import read_predictions

    ev = evaluate_classification(ds, read_predictions(SAMPLES / "surface" / "predictions.csv", ds))
    true = ev.items.column("true").to_numpy()
    pred = ev.items.column("predicted").to_numpy()
    assert ev.images == 6000
    assert ev.balanced_accuracy == pytest.approx(skm.balanced_accuracy_score(true, pred), abs=TOL)
    crack = ds.class_names.index("Crack")
    assert ev.classes.column("pr_auc")[crack].as_py() == pytest.approx(
        skm.average_precision_score(true == crack, ev.scores[:, crack]), abs=TOL)
    recalls = dict(zip(ev.classes.column("class").to_pylist(), ev.classes.column("recall").to_pylist()))
    assert recalls["Background"] > 0.95 > recalls["Crack"] > recalls["Exposed rebar"]  # weaker on the rare classes


# --------------------------------------------------------------------------- predicted classes the dataset lacks


def labelled_dataset(truth: list[str], classes: list[str]):
    """One image per label, named ``i.jpg``; ``classes`` are the dataset's classes (maybe unused)."""
    return build_dataset(
        images={"file_name": [f"{i}.jpg" for i in range(len(truth))]},
        annotations={"image": list(range(len(truth))), "category": [classes.index(t) for t in truth]},
        categories={"name": classes}, task="classification", format="csv", sources=["labels.csv"],
    )


def predicted_labels(ds, labels: list[str], scores: np.ndarray | None = None, score_names: tuple[str, ...] = ()):
    """Predictions of ``labels`` for images 0.. in order, matched to ``ds`` (scores optional)."""
    n = len(labels)
    k = len(score_names)
    column = (pa.FixedSizeListArray.from_arrays(pa.array(scores.reshape(-1), pa.float64()), k) if scores is not None
              else pa.nulls(n, classification_schema(k).field("scores").type))
    table = pa.table({
        "image": pa.array([f"{i}.jpg" for i in range(n)]), "image_id": pa.nulls(n, pa.int64()),
        "label": pa.array(labels, pa.string()), "category_id": pa.nulls(n, pa.int32()),
        "score": pa.nulls(n, pa.float64()), "scores": column, "record": pa.array([f"p.csv:{i + 2}" for i in range(n)]),
    }, schema=classification_schema(k))
    return match_predictions(Predictions("classification", table, "csv", "p.csv", class_names=score_names), ds)


def assert_scikit_learn_parity(ev, truth: list[str], predicted: list[str]) -> None:
    """Accuracy, per-class P / R / F1 / support, their averages and the confusion matrix, over the
    evaluation's classes (the dataset's, then those only predicted), as scikit-learn computes them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true", "a single label was found"
        _assert_scikit_learn_parity(ev, truth, predicted)


def _assert_scikit_learn_parity(ev, truth: list[str], predicted: list[str]) -> None:
    labels = list(ev.class_names)
    assert set(truth) | set(predicted) <= set(labels)
    # rows = ground truth, cols = predicted
    assert np.array_equal(ev.confusion.matrix, skm.confusion_matrix(truth, predicted, labels=labels))
    p, r, f, s = skm.precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=np.nan)
    rows = {row["class"]: row for row in ev.classes.to_pylist()}
    for i, name in enumerate(labels):
        for key, ref in (("precision", p[i]), ("recall", r[i]), ("f1", f[i])):
            ours = rows[name][key]
            assert (ours is None and np.isnan(ref)) or ours == pytest.approx(ref, abs=TOL), (name, key, ours, ref)
        assert rows[name]["support"] == s[i]
    for average, ours in zip(("macro", "weighted", "micro"), (ev.macro, ev.weighted, ev.micro)):
        ref = skm.precision_recall_fscore_support(truth, predicted, labels=labels, average=average, zero_division=np.nan)
        np.testing.assert_allclose([ours.precision, ours.recall, ours.f1], ref[:3], atol=TOL, equal_nan=True)
    assert ev.accuracy == pytest.approx(skm.accuracy_score(truth, predicted), abs=TOL)
    assert ev.balanced_accuracy == pytest.approx(skm.balanced_accuracy_score(truth, predicted), abs=TOL)


UNKNOWN_CLASS_CASES = {
    # the case: 2 of 10 clear images predicted foggy, a class the dataset does not have
    "foggy for clear": (["clear"] * 6 + ["rain"] * 4, ["clear"] * 4 + ["foggy"] * 2 + ["rain"] * 4, ["clear", "rain"],
                        0.8, ("foggy",)),
    "two unknown classes, one on a rare class": (["a", "a", "a", "b", "c"], ["a", "x", "y", "b", "x"], ["a", "b", "c"],
                                                 0.4, ("x", "y")),
    "a declared class never used and never predicted": (["a", "b", "b"], ["a", "b", "z"], ["a", "b", "unused"],
                                                        2 / 3, ("z",)),
    "every prediction unknown but one": (["a", "b", "a"], ["q", "r", "a"], ["a", "b"], 1 / 3, ("q", "r")),
}


@pytest.mark.parametrize("truth, predicted, classes, accuracy, only", UNKNOWN_CLASS_CASES.values(), ids=list(UNKNOWN_CLASS_CASES))
def test_a_predicted_class_the_dataset_lacks_is_a_wrong_prediction(truth, predicted, classes, accuracy, only):
    ds = labelled_dataset(truth, classes)
    preds = predicted_labels(ds, predicted)
    ev = evaluate_classification(ds, preds)
    assert ev.images == len(truth) and ev.excluded["no_prediction"] == 0  # nothing dropped
    assert ev.accuracy == pytest.approx(accuracy)
    assert ev.predicted_only == only and ev.class_names == tuple(classes) + only
    assert_scikit_learn_parity(ev, truth, predicted)
    rows = {row["class"]: row for row in ev.classes.to_pylist()}
    for name in only:  # a row of its own: predicted, never right, not a dataset category
        assert rows[name]["precision"] == 0.0 and rows[name]["support"] == 0 and rows[name]["category_id"] is None
    # the report says it happened: one row per unknown class, with how many predictions
    unknown = {r.record: r for r in preds.report if r.code == "unknown_class"}
    assert set(unknown) == set(only)
    assert all(r.action == "counted as wrong predictions (a class of their own)" for r in unknown.values())
    assert preds.coverage.images_without_predictions == 0


def test_unknown_classes_with_scores_keep_pr_auc_of_the_known_ones():
    truth = ["a", "a", "b", "b", "a"]
    predicted = ["a", "x", "b", "a", "x"]
    scores = np.array([[0.9, 0.1], [0.3, 0.2], [0.2, 0.8], [0.6, 0.4], [0.4, 0.1]])
    ds = labelled_dataset(truth, ["a", "b"])
    ev = evaluate_classification(ds, predicted_labels(ds, predicted, scores, ("a", "b")))
    assert ev.scores.shape == (5, 3) and np.isnan(ev.scores[:, 2]).all()  # no score column for x
    pr_auc = ev.classes.column("pr_auc").to_pylist()
    y = np.array(truth)
    assert pr_auc[:2] == pytest.approx([skm.average_precision_score(y == "a", scores[:, 0]),
                                        skm.average_precision_score(y == "b", scores[:, 1])], abs=TOL)
    assert pr_auc[2] is None  # x is never the truth: no PR AUC
    assert_scikit_learn_parity(ev, truth, predicted)


def test_hard_negatives_name_a_class_the_dataset_lacks():
    from imbal_core.evaluate import hard_negatives

    ds = labelled_dataset(["a", "a", "b"], ["a", "b"])
    ev = evaluate_classification(ds, predicted_labels(ds, ["foggy", "a", "a"]))
    table = hard_negatives(ev, ds).table
    assert sorted(zip(table.column("predicted").to_pylist(), table.column("confused_with").to_pylist())) == \
        [("a", "b"), ("foggy", "a")]


@st.composite
def labels_with_unknown_predictions(draw):
    """Ground truth over a dataset's classes; predictions over those and classes the dataset lacks."""
    classes = draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=4, unique=True))
    unknown = draw(st.lists(st.sampled_from(["fog", "snow", "x"]), min_size=1, max_size=3, unique=True))
    truth = draw(st.lists(st.sampled_from(classes), min_size=1, max_size=40))
    predicted = draw(st.lists(st.sampled_from(classes + unknown), min_size=len(truth), max_size=len(truth)))
    return classes, truth, predicted


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labels_with_unknown_predictions())
def test_any_labels_with_unknown_classes_match_scikit_learn(case):
    classes, truth, predicted = case
    ds = labelled_dataset(truth, classes)
    ev = evaluate_classification(ds, predict := predicted_labels(ds, predicted))
    assert ev.images == len(truth)  # every image is scored, whatever it was predicted
    assert ev.predicted_only == tuple(sorted(set(predicted) - set(classes)))
    assert ev.confusion.matrix.sum() == len(truth) and ev.counts.column("fp").to_numpy().sum() == sum(
        t != p for t, p in zip(truth, predicted))
    assert predict.coverage.unknown_class_predictions == sum(p not in classes for p in predicted)
    assert_scikit_learn_parity(ev, truth, predicted)
