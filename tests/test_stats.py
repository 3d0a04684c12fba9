"""imbal_core.stats equals scipy.stats on what the checks feed it."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from imbal_core.stats import binom_cdf, chi2_independence, js_divergence


@given(st.integers(-3, 60), st.integers(0, 50), st.floats(0, 1))
def test_binom_cdf(k, n, p):
    assert binom_cdf(k, n, p) == pytest.approx(float(stats.binom.cdf(k, n, p)), rel=1e-9, abs=1e-12)


@settings(max_examples=200)
@given(st.integers(2, 5), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_chi2_independence(rows, cols, seed):
    table = np.random.default_rng(seed).integers(1, 400, size=(rows, cols))
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert chi2_independence(table) == pytest.approx((chi2, p, dof), rel=1e-9, abs=1e-300)


def test_chi2_refuses_an_empty_column_as_scipy_does():
    table = np.array([[3, 0], [4, 0]])
    with pytest.raises(ValueError, match="zero element"):
        stats.chi2_contingency(table, correction=False)
    with pytest.raises(ValueError, match="zero element"):
        chi2_independence(table)


@given(st.lists(st.integers(0, 50), min_size=2, max_size=8), st.integers(0, 2**32 - 1))
def test_js_divergence(counts, seed):
    p = np.asarray(counts, dtype=float) + 1
    q = np.random.default_rng(seed).permutation(p) * np.random.default_rng(seed).integers(0, 3, len(p))
    if q.sum() == 0:
        q = p[::-1].copy()
    p, q = p / p.sum(), q / q.sum()
    assert js_divergence(p, q) == pytest.approx(float(jensenshannon(p, q, base=2) ** 2), rel=1e-9, abs=1e-12)
