"""Expected counts, adjusted residuals and the chi-square test of independence of one table.

``expected`` counts under independence (row total x column total / total) and **adjusted
standardised residuals** (Agresti): ``(O - E) / sqrt(E (1 - row/total) (1 - column/total))``,
about N(0, 1) per cell when class and condition are independent, so -2 or less is rare and -4
very rare. A chi-square test of independence per table (scipy, no continuity correction) with
Cramér's V (``sqrt(chi2 / (total x (min(rows, columns) - 1)))``, 0 = independent, 1 = each
class in one value only).

Both run on the counts times ``scale``: 1, or instances / pixels for a ``pixels`` table (see
:mod:`.table`), so that the evidence is that of the objects.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..stats import chi2_independence


@dataclass(frozen=True)
class ChiSquare:
    """A chi-square test of independence of class and condition(s) on one table.

    ``chi2``, ``dof``, ``p_value`` and ``cramers_v`` are NaN when the table has fewer than two
    classes or two values (nothing to test). ``n`` is the table total the test used (for
    ``pixels``: rescaled to the instance count).
    """

    condition: str
    split: str | None
    chi2: float
    dof: int
    p_value: float
    cramers_v: float
    n: float

    def to_dict(self) -> dict[str, Any]:
        return {"condition": self.condition, "split": self.split, "chi2": self.chi2, "dof": self.dof,
                "p_value": self.p_value, "cramers_v": self.cramers_v, "n": self.n}


def _independence(counts: np.ndarray, scale: float, condition: str, split: str | None
                  ) -> tuple[np.ndarray, np.ndarray, ChiSquare]:
    """Expected counts, adjusted residuals (on counts x ``scale``) and the chi-square test."""
    observed = counts * scale
    total = observed.sum()
    rows, cols = observed.sum(axis=1), observed.sum(axis=0)
    if total <= 0:
        nan = float("nan")
        return np.zeros_like(counts), np.zeros_like(counts), ChiSquare(condition, split, nan, 0, nan, nan, 0.0)
    expected_scaled = np.outer(rows, cols) / total
    with np.errstate(invalid="ignore", divide="ignore"):
        var = expected_scaled * np.outer(1 - rows / total, 1 - cols / total)
        residuals = np.where(var > 0, (observed - expected_scaled) / np.sqrt(np.where(var > 0, var, 1)), 0.0)
    expected = expected_scaled / scale
    tested = observed[rows > 0][:, cols > 0]  # empty rows or columns (a split's table) test nothing
    if tested.shape[0] < 2 or tested.shape[1] < 2:
        nan = float("nan")
        return expected, residuals, ChiSquare(condition, split, nan, 0, nan, nan, float(total))
    chi2, p, dof = chi2_independence(tested)
    v = math.sqrt(chi2 / (total * (min(tested.shape) - 1)))
    return expected, residuals, ChiSquare(condition, split, float(chi2), int(dof), float(p), float(v), float(total))
