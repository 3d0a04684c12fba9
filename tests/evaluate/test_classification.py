"""Classification metrics: parity with scikit-learn to 1e-9, hand-built edge cases, and a dataset-level run."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics as skm

import imbal_core
from imbal_core.dataset import build_dataset
from imbal_core.evaluate import classification_metrics, evaluate_classification
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
    with pytest.raises(ValueError, match=r"`split` must name splits of the dataset \['val'\]. Got \['test'\]"):
        evaluate_classification(ds, preds, split="test")


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
    recalls = dict(zip(ev.classes.column("name").to_pylist(), ev.classes.column("recall").to_pylist()))
    assert recalls["Background"] > 0.95 > recalls["Crack"] > recalls["Exposed rebar"]  # weaker on the rare classes
