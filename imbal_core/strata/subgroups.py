"""The hidden-subgroup finder: which class x condition cells are gaps, and in what order.

Findings (:func:`hidden_subgroups`)
    ``absent`` / ``under_represented``: a cell far below its expectation — for the whole data,
    a class's count in a condition value against independence (*Wheelchair at night: 9
    instances, 0.2% of night instances vs 1.3% of day; expected 51*); inside each split, a
    cell against what the whole data predicts for that split (the split's share of the value x
    the class's count there: *no night Wheelchair in val*); and a class missing from a split
    across all values at once. ``below_minimum``: a cell with fewer than ``min_count`` (off by
    default) though not statistically short — an absolute floor for a class in a condition.

    **Guard against multiple-testing noise.** A table of 60 classes x 12 values makes 720
    tests; at the usual 5% level some 36 cells would be "significant" by chance. A cell is a
    finding only when all three hold: (1) its expected count is at least ``min_expected`` (5),
    so there is something to miss; (2) its count is at most ``max_ratio`` (0.5) of expected, a
    gap that matters; (3) the exact lower-tail binomial p-value of its count (the class's
    items falling in the value with the value's share) is below ``alpha`` (0.01) divided by the
    number of cells tested in the call (**Bonferroni** over the whole-data and per-split cells
    together), so the chance of even one false finding on data with independent class and
    condition is at most ``alpha``. ``below_minimum`` findings are an absolute rule the user
    sets, not a test.

Ranking: critical classes first (flagged on the Long tail page, or given); then whole-data
gaps, then per-split gaps, then cells below the minimum; within each, the smallest count to
expected ratio first (an absent cell before a thin one), then the largest shortfall.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..dataset import Dataset
from ..longtail import pixel_source
from ..stats import binom_cdf
from ..types import UNASSIGNED, Unit
from .findings import Finding, FindingKind, HiddenSubgroups
from .table import DEFAULT_MAX_VALUES, OTHER, StrataTable, cell_counts, check_by, check_unit, strata_table
from .wording import _finding


def hidden_subgroups(
    dataset: Dataset,
    by: str | Sequence[str],
    unit: Unit = "instances",
    *,
    critical: Sequence[str] | None = None,
    per_split: bool = True,
    min_expected: float = 5.0,
    max_ratio: float = 0.5,
    alpha: float = 0.01,
    min_count: float | None = None,
    max_values: int = DEFAULT_MAX_VALUES,
) -> HiddenSubgroups:
    """Cells where a class is far below its expected share, ranked (see the module docstring).

    ``by``: one condition or two; ``unit`` ("instances"); ``critical`` (None: the export's flags)
    rank first; ``per_split`` (True) also looks inside each assigned split; ``min_expected`` (5),
    ``max_ratio`` (0.5) and ``alpha`` (0.01, family-wise, Bonferroni) guard against noise;
    ``min_count`` (None = off) flags cells below an absolute floor; ``max_values`` (12) as in
    :func:`strata_table`.
    """
    by = check_by(dataset, by)
    unit = check_unit(dataset, unit)
    _check_positive("min_expected", min_expected)
    _check_positive("max_ratio", max_ratio, 0.0, 1.0)
    _check_positive("alpha", alpha, 0.0, 1.0)
    if min_count is not None:
        _check_positive("min_count", min_count)
    known = set(dataset.class_names)
    if critical is None:
        critical_set = set(dataset.critical_classes)
    else:
        if isinstance(critical, str):
            raise ValueError(f"`critical` must be a list of class names. Got the text {critical!r} instead.")
        unknown = sorted(set(critical) - known)
        if unknown:
            raise ValueError(f"`critical` names classes the dataset does not have: {unknown}. Known: {sorted(known)}.")
        critical_set = set(critical)

    boxes = unit == "pixels" and pixel_source(dataset) == "boxes"
    cells = cell_counts(dataset, ("split", *by), unit)
    whole = strata_table(dataset, by, unit, max_values=max_values, cells=cells)
    splits = [s for s in dataset.splits if s != UNASSIGNED] if per_split else []
    if len(splits) < 2:
        splits = []
    split_tables = {s: strata_table(dataset, by, unit, split=s, cells=cells, like=whole) for s in splits}

    candidates: list[dict[str, Any]] = []
    tested = _whole_candidates(whole, min_expected, candidates)
    for s, table in split_tables.items():
        tested += _split_candidates(whole, table, s, min_expected, candidates)
    threshold = alpha / max(tested, 1)
    findings: list[Finding] = []
    flagged: set[tuple] = set()
    significant = [c for c in candidates if c["p_value"] <= threshold and c["ratio"] <= max_ratio]
    # A class short in a whole split is one finding, not one per value.
    short_splits = {(c["class"], c["split"]) for c in significant if c["split"] is not None and not c["value"]}
    for c in significant:
        if c["split"] is not None and c["value"] and (c["class"], c["split"]) in short_splits:
            continue
        kind: FindingKind = "absent" if c["count"] == 0 else "under_represented"
        findings.append(_finding(kind, c, by, unit, c["class"] in critical_set, boxes))
        flagged.add((c["class"], c["split"], tuple(c["value"])))
    if min_count is not None:
        for i, cls in enumerate(whole.classes):
            for j, value in enumerate(whole.values):
                count = whole.counts[i, j]
                if value == (OTHER,) or count >= min_count or (cls, None, value) in flagged:
                    continue
                c = _cell(whole, i, j, None)
                c["p_value"] = float("nan")
                c["min_count"] = min_count
                findings.append(_finding("below_minimum", c, by, unit, cls in critical_set, boxes))
    findings.sort(key=_rank_key)
    settings = {"min_expected": min_expected, "max_ratio": max_ratio, "alpha": alpha, "min_count": min_count,
                "max_values": max_values, "per_split": per_split, "critical": sorted(critical_set)}
    return HiddenSubgroups(by, unit, tuple(findings), whole, split_tables, tested, alpha, settings)


def _check_positive(name: str, value: float, minimum: float = 0.0, maximum: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < minimum or (
            maximum is not None and value > maximum):
        rule = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValueError(f"`{name}` must be a number {rule}. Got {value!r} instead.")


def _cell(table: StrataTable, i: int, j: int, split: str | None) -> dict[str, Any]:
    count, expected = table.counts[i, j], table.expected[i, j]
    col_total = table.counts[:, j].sum()
    rest_total = table.counts.sum() - col_total
    rest_class = table.counts[i].sum() - count
    return {
        "class": table.classes[i], "value": table.values[j], "split": split, "count": float(count),
        "expected": float(expected), "ratio": float(count / expected) if expected > 0 else float("nan"),
        "share": float(count / col_total) if col_total > 0 else float("nan"),
        "share_elsewhere": float(rest_class / rest_total) if rest_total > 0 else float("nan"),
        "residual": float(table.residuals[i, j]),
        "others": [v for k, v in enumerate(table.values) if k != j],
    }


def _whole_candidates(table: StrataTable, min_expected: float, out: list[dict[str, Any]]) -> int:
    """Cells of the whole table worth testing; returns how many were tested."""
    s = table.test_scale
    total = table.counts.sum() * s
    tested = 0
    for i in range(len(table.classes)):
        row_total = int(round(table.counts[i].sum() * s))
        for j, value in enumerate(table.values):
            if value == (OTHER,) or table.expected[i, j] < min_expected:
                continue
            tested += 1
            p_value = binom_cdf(int(round(table.counts[i, j] * s)), row_total, table.counts[:, j].sum() * s / total)
            c = _cell(table, i, j, None)
            c["p_value"] = p_value
            out.append(c)
    return tested


def _split_candidates(whole: StrataTable, table: StrataTable, split: str, min_expected: float,
                      out: list[dict[str, Any]]) -> int:
    """Cells of one split against the whole data: a class missing from the split over every value
    (one candidate), else each cell. Returns how many were tested."""
    s = whole.test_scale
    tested = 0
    split_col = table.counts.sum(axis=0)
    whole_col = whole.counts.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        value_share = np.where(whole_col > 0, split_col / np.where(whole_col > 0, whole_col, 1), 0.0)
    for i, cls in enumerate(whole.classes):
        whole_row = whole.counts[i]
        expected_row = whole_row * value_share
        count_total, expected_total = table.counts[i].sum(), expected_row.sum()
        if expected_total >= min_expected:
            tested += 1
            share = split_col.sum() / whole_col.sum() if whole_col.sum() > 0 else 0.0
            rest = whole.counts.sum() - table.counts.sum()
            out.append({
                "class": cls, "value": (), "split": split, "count": float(count_total),
                "expected": float(expected_total), "ratio": float(count_total / expected_total),
                "share": float(count_total / table.counts.sum()) if table.counts.sum() > 0 else float("nan"),
                "share_elsewhere": float((whole_row.sum() - count_total) / rest) if rest > 0 else float("nan"),
                "residual": _z(count_total, expected_total, share),
                "p_value": _binom_lower(count_total * s, whole_row.sum() * s, expected_total / max(whole_row.sum(), 1e-12)),
                "others": [],
            })
        for j, value in enumerate(whole.values):
            if value == (OTHER,) or expected_row[j] < min_expected:
                continue
            tested += 1
            count = table.counts[i, j]
            q = value_share[j]
            rest_col = whole_col[j] - split_col[j]
            out.append({
                "class": cls, "value": value, "split": split, "count": float(count),
                "expected": float(expected_row[j]), "ratio": float(count / expected_row[j]),
                "share": float(count / split_col[j]) if split_col[j] > 0 else float("nan"),
                "share_elsewhere": float((whole_row[j] - count) / rest_col) if rest_col > 0 else float("nan"),
                "residual": _z(count, expected_row[j], q),
                "p_value": _binom_lower(count * s, whole_row[j] * s, q), "others": [],
            })
    return tested


def _binom_lower(count: float, n: float, p: float) -> float:
    return binom_cdf(int(round(count)), int(round(n)), min(max(p, 0.0), 1.0))


def _z(count: float, expected: float, q: float) -> float:
    var = expected * (1 - q)
    return float((count - expected) / math.sqrt(var)) if var > 0 else 0.0


def _rank_key(f: Finding) -> tuple:
    tier = 2 if f.kind == "below_minimum" else (0 if f.split is None else 1)
    ratio = f.ratio if not math.isnan(f.ratio) else 1.0
    return (not f.critical, tier, round(ratio, 6), -(f.expected - f.count), f.class_name, f.split or "")
