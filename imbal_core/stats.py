"""The three statistics the subgroup and split checks use, on ``scipy.special`` alone.

``scipy.stats`` costs about a second to import (more than the checks themselves on most
exports); ``scipy.special`` holds the distribution functions it calls, so ``imbal check``,
``imbal strata`` and the report start faster. Each function equals its ``scipy.stats``
counterpart (tests/test_stats.py compares them on random tables).
"""
from __future__ import annotations

import numpy as np
from scipy import special


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p) (``scipy.stats.binom.cdf``): 0 for k < 0, 1 for k >= n."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return float(special.bdtr(k, n, p))


def chi2_independence(table: np.ndarray) -> tuple[float, float, int]:
    """Pearson's chi-square test of independence of a contingency table without continuity
    correction (``scipy.stats.chi2_contingency(table, correction=False)``): ``(chi2, p, dof)``.

    The table must have no empty row or column (an expected count of 0 raises ``ValueError``,
    as SciPy does).
    """
    observed = np.asarray(table, dtype=np.float64)
    total = observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / total if total > 0 else np.zeros_like(observed)
    if (expected == 0).any():
        raise ValueError("The internally computed table of expected frequencies has a zero element.")
    dof = int(observed.size - sum(observed.shape) + observed.ndim - 1)
    if dof == 0:
        return 0.0, 1.0, 0
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    return chi2, float(special.chdtrc(dof, chi2)), dof


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits of two probability vectors (each summing to 1): the square
    of ``scipy.spatial.distance.jensenshannon(p, q, base=2)``."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    m = (p + q) / 2
    divergence = (special.rel_entr(p, m).sum() + special.rel_entr(q, m).sum()) / 2
    return float(max(divergence, 0.0) / np.log(2))
