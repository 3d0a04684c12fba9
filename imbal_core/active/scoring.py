"""The uncertainty rules (least confidence, margin, entropy) on rows of probabilities, in 0..1.

See :mod:`imbal_core.active` for how a pool image's probabilities are formed.
"""
from __future__ import annotations

import math
from typing import Literal, get_args

import numpy as np

Rule = Literal["entropy", "margin", "least-confidence"]
RULES: tuple[Rule, ...] = get_args(Rule)
Aggregate = Literal["max", "mean", "sum"]
AGGREGATES: tuple[Aggregate, ...] = get_args(Aggregate)


def uncertainty(p: np.ndarray, rule: Rule, outcomes: int | None = None) -> np.ndarray:
    """Uncertainty of each row of probabilities ``p`` (rows sum to 1) under ``rule``, in 0..1.

    ``outcomes`` (the number of columns): the entropy's normaliser, log(outcomes).
    """
    if rule not in RULES:
        raise ValueError(f"`rule` must be one of {list(RULES)}. Got {rule!r} instead.")
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 1:
        raise ValueError(f"`p` must be a 2-D array with a column per outcome. Got shape {p.shape} instead.")
    if p.shape[0] == 0:
        return np.zeros(0)
    if rule == "least-confidence":
        return 1.0 - p.max(axis=1)
    if rule == "margin":
        if p.shape[1] == 1:
            return 1.0 - p[:, 0]
        top2 = -np.sort(-p, axis=1)[:, :2]
        return 1.0 - (top2[:, 0] - top2[:, 1])
    k = max(outcomes or p.shape[1], 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return terms.sum(axis=1) / math.log(k)
