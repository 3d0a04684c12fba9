"""Average precision (PR AUC): exact parity with scikit-learn on every path of the binned count
(linear bins, bit-pattern bins, the full sort), with ties, signed zeros, ±inf, NaN and extreme scores."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata
from sklearn import metrics as skm

from imbal_core.evaluate import ranking
from imbal_core.evaluate.ranking import _average_precision, _choose_binning, average_precision, pr_auc_per_class

REL = 1e-12
# (binnings, bins, max_selected): the default; the full sort; each binning forced on every input
# (max_selected=1 never falls back), with 1 to 3 bins so that most items share a bin with a positive
PATHS = [(("linear", "bits"), None, 0.5), ((), None, 0.5)] + [
    ((binning,), bins, 1.0) for binning in ("linear", "bits") for bins in (1, 2, 3, 64, None)]
SPECIAL = [0.0, -0.0, 0.5, 1.0, -1.0, 1e-30, -1e-30, 1e-45, 3e38, -3e38, np.inf, -np.inf]


def reference(positive: np.ndarray, score: np.ndarray) -> float:
    """scikit-learn's AP; on dense ranks (same order, same ties), as it refuses infinite scores."""
    if not positive.any() or np.isnan(score).any():
        return float("nan")
    return skm.average_precision_score(positive, rankdata(score, method="dense"))


def assert_same(ours: float, expected: float) -> None:
    if np.isnan(expected):
        assert np.isnan(ours)
    else:
        assert ours == pytest.approx(expected, rel=REL, abs=0)


@st.composite
def scored(draw):
    """(positive, score): few distinct values (ties) or any floats, float32 or float64."""
    n = draw(st.integers(1, 60))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    width = 32 if dtype == np.float32 else 64
    if draw(st.booleans()):
        pool = draw(st.lists(st.sampled_from(SPECIAL) | st.floats(-2, 2, width=width), min_size=1, max_size=4))
        values = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    else:
        values = draw(st.lists(st.floats(allow_nan=False, width=width), min_size=n, max_size=n))
    positive = draw(st.one_of(st.lists(st.booleans(), min_size=n, max_size=n),  # may have no positive
                              st.just([True] * n)))  # every item positive
    score = np.array(values, dtype=dtype)
    if draw(st.integers(0, 19)) == 0:
        score[draw(st.integers(0, n - 1))] = np.nan
    return np.array(positive), score


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=scored())
def test_average_precision_is_scikit_learns_on_every_path(case):
    positive, score = case
    expected = reference(positive, score)
    assert_same(average_precision(positive, score), expected)
    for binnings, bins, max_selected in PATHS:
        ours = _average_precision(score, np.flatnonzero(positive), bins=bins, binnings=binnings,
                                  max_selected=max_selected)
        assert_same(ours, expected)


@pytest.fixture
def sorts(monkeypatch):
    """The number of times all the scores were sorted."""
    calls = []

    def count_by_sorting(score, values):
        calls.append(len(score))
        return sort_all(score, values)

    sort_all = ranking._count_by_sorting
    monkeypatch.setattr(ranking, "_count_by_sorting", count_by_sorting)
    return calls


@pytest.mark.parametrize("binnings, bins, max_selected", PATHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_many_items_share_a_bin_with_positives(binnings, bins, max_selected, dtype, sorts):
    # 5,000 distinct scores (and some repeated) over a few bins: every bin holds positives and
    # hundreds of items on either side of them, which only the exact count can place
    rng = np.random.default_rng(7)
    score = np.r_[rng.normal(size=5000), rng.choice([0.25, -1.5], size=500)].astype(dtype)
    positive = rng.random(len(score)) < 0.1
    ours = _average_precision(score, np.flatnonzero(positive), bins=bins, binnings=binnings, max_selected=max_selected)
    assert_same(ours, skm.average_precision_score(positive, score))
    assert len(sorts) == (not binnings)  # binned unless told to sort: forced, or few positives


def test_a_sample_that_underestimates_the_selection_falls_back_to_sorting(sorts):
    # the binning is chosen on every other item (n // 4096 = 2): the odd items all tie with the
    # positive, so the sample sees almost no item selected where more than half are
    n = 8192
    score = np.linspace(-1, 1, n)
    score[1::2] = 0.5
    positive = np.zeros(n, dtype=bool)
    positive[[1, 10, 5000]] = True
    assert_same(average_precision(positive, score), skm.average_precision_score(positive, score))
    assert sorts == [n]


@pytest.mark.parametrize("score, positive, expected", [
    ([0.3, 0.3, 0.3], [True, False, True], 2 / 3),  # all equal: one threshold
    ([0.1, 0.9, -4.0], [True, True, True], 1.0),  # every item positive
    ([np.inf, 0.2, -np.inf, np.inf], [True, False, True, False], (1 / 2 + 2 / 4) / 2),
    ([-np.inf, -np.inf], [True, False], 1 / 2),  # nothing finite to bin
    ([-0.0, 0.0, 1.0], [True, False, False], (1 / 3)),  # -0.0 ties with 0.0
    ([0.1, 0.9], [False, False], np.nan),  # no positive
    ([0.1, np.nan], [True, False], np.nan),  # a NaN score
])
def test_hand_built_average_precision(score, positive, expected):
    for dtype in (np.float32, np.float64):
        assert_same(average_precision(np.array(positive), np.array(score, dtype=dtype)), expected)


def test_average_precision_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"`positive` and `score` must be one-dimensional, of the same length\. "
                                         r"Got shapes \(2,\) and \(3,\) instead\."):
        average_precision(np.array([True, False]), np.array([0.1, 0.2, 0.3]))


def test_the_binning_follows_the_scores():
    rng = np.random.default_rng(3)
    uniform = rng.random(100_000).astype(np.float32)
    log_spread = np.exp(rng.uniform(-20, 0, 100_000)).astype(np.float32)  # softmax-like, crowded near 0
    few = np.sort(rng.choice(len(uniform), 300, replace=False))

    def chosen(score, positive_index):
        values = np.sort(score[positive_index])
        binner = _choose_binning(score, values, score.min(), score.max(), 1 << 16, ("linear", "bits"), 0.5)
        return binner and binner.__qualname__.split(".")[0]

    assert chosen(uniform, few) == "_linear_bins"
    assert chosen(log_spread, few) == "_bit_bins"
    assert chosen(uniform, np.arange(60_000)) is None  # a head class: sort everything


@pytest.mark.parametrize("order", ["C", "F", "strided"])
def test_pr_auc_per_class_matches_scikit_learn_on_two_threads(order):
    # 200,000 x 12 float32 scores: above the two-thread threshold; long-tail classes, one absent,
    # one holding most items, uniform and softmax-like columns, rounded for ties
    rng = np.random.default_rng(11)
    n, n_classes = 200_000, 12
    freq = np.r_[30.0, 1.0 / np.arange(1, n_classes - 1) ** 1.5, 0.0]
    y_true = rng.choice(n_classes, size=n, p=freq / freq.sum())
    scores = np.round(rng.random((n, n_classes)), 3)
    scores[:, ::2] = np.exp(-30 * scores[:, ::2])
    scores[np.arange(n), y_true] += rng.random(n) < 0.6
    scores = scores.astype(np.float32)
    if order == "F":
        scores = np.asfortranarray(scores)
    elif order == "strided":
        scores = np.repeat(scores, 2, axis=1)[:, ::2]
    ours = pr_auc_per_class(y_true, scores)
    for c in range(n_classes):
        if c == n_classes - 1:
            assert np.isnan(ours[c])
        else:
            assert ours[c] == pytest.approx(skm.average_precision_score(y_true == c, scores[:, c]), rel=REL)
