"""Hidden subgroup imbalance: class x condition tables, residuals, chi-square tests and ranked findings.

A class can look fine overall and be nearly absent where it matters (Wheelchair at night). This
module crosses the classes with one condition or a pair (``time_of_day``, ``time_of_day x
weather``), in any unit, over all splits or one, and finds the cells where a class is missing.

Tables (:func:`strata_table`), from the count cube
    ``counts`` (classes x condition values, in the unit); row shares (where a class's count
    falls: share of the class's total per value), column shares (the class mix of a value:
    share of the value's total per class), ``expected`` counts under independence (row total x
    column total / total) and **adjusted standardised residuals** (Agresti):
    ``(O - E) / sqrt(E (1 - row/total) (1 - column/total))``, about N(0, 1) per cell when class
    and condition are independent, so -2 or less is rare and -4 very rare. A chi-square test of
    independence per table (scipy, no continuity correction) with Cramér's V
    (``sqrt(chi2 / (total x (min(rows, columns) - 1)))``, 0 = independent, 1 = each class in
    one value only). Classes are ordered by total, values by size; a condition with more than
    ``max_values`` values keeps the largest and folds the rest into ``other``. Images whose
    condition is unknown (null) are left out and counted in ``unknown``. A pair of conditions is
    one axis of value combinations (``day · rain``).

Units: ``images`` (images holding the class: a multi-label image counts once per class),
``instances``, or ``pixels`` (mask pixels; box area for box-only data, as on the Long tail page).
Pixels are not independent observations (a test on them finds everything significant), so for
``pixels`` the residuals, tests and findings use the pixel table rescaled to the number of
instances: shares stay pixel shares, the evidence is that of the objects.

Findings (:func:`hidden_subgroups`)
    ``absent`` / ``under_represented``: a cell far below its expectation — for the whole data,
    a class's count in a condition value against independence (*Wheelchair at night: 9
    instances, 0.2% of night instances vs 1.1% of day; expected 40*); inside each split, a
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
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from .cube import cube
from .dataset import UNASSIGNED, Dataset
from .longtail import UNITS, Unit, pixel_source

FindingKind = Literal["absent", "under_represented", "below_minimum"]
FINDING_KINDS: tuple[FindingKind, ...] = ("absent", "under_represented", "below_minimum")
OTHER = "other"
SEPARATOR = " · "
DEFAULT_MAX_VALUES = 12


# --------------------------------------------------------------------------- tables


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


@dataclass(frozen=True, eq=False)
class StrataTable:
    """Classes x condition values of one unit over all splits (``split`` None) or one split.

    ``values[j]`` is the tuple of condition values of column ``j`` (one per name in
    ``conditions``; ``("other",)`` for the folded small values). ``counts``, ``expected`` and
    ``residuals`` are (classes x values) arrays; ``residuals`` are adjusted standardised
    residuals (0 where a margin is the whole table). ``test_scale`` is the factor the residuals
    and the test applied to the counts (1, or instances / pixels for ``pixels``).
    """

    conditions: tuple[str, ...]
    unit: Unit
    split: str | None
    classes: tuple[str, ...]
    values: tuple[tuple[str, ...], ...]
    counts: np.ndarray
    expected: np.ndarray
    residuals: np.ndarray
    test: ChiSquare
    folded: tuple[tuple[str, ...], ...] = ()
    unknown: float = 0.0
    test_scale: float = 1.0

    @property
    def labels(self) -> list[str]:
        """Column labels: ``night``, or ``day · rain`` for a pair."""
        return [SEPARATOR.join(v) for v in self.values]

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    def row_shares(self) -> np.ndarray:
        """Share of each class's total in each value (rows sum to 1)."""
        rows = self.counts.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(rows > 0, self.counts / np.where(rows > 0, rows, 1), np.nan)

    def column_shares(self) -> np.ndarray:
        """Share of each value's total held by each class (columns sum to 1)."""
        cols = self.counts.sum(axis=0, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(cols > 0, self.counts / np.where(cols > 0, cols, 1), np.nan)

    def to_arrow(self) -> pa.Table:
        """Long form: one row per (class, value) with count, expected, residual and both shares."""
        rows, cols = self.counts.shape
        out: dict[str, Any] = {"category": pa.array(np.repeat(self.classes, cols).tolist() if rows else [], pa.string())}
        for k, name in enumerate(self.conditions):
            out[name] = pa.array([v[k] if len(v) > k else v[0] for v in self.values] * rows, pa.string())
        out["count"] = pa.array(self.counts.ravel(), pa.float64())
        out["expected"] = pa.array(self.expected.ravel(), pa.float64())
        out["residual"] = pa.array(self.residuals.ravel(), pa.float64())
        out["share_of_class"] = pa.array(self.row_shares().ravel(), pa.float64())
        out["share_of_value"] = pa.array(self.column_shares().ravel(), pa.float64())
        return pa.table(out)

    def to_pandas(self) -> pd.DataFrame:
        return self.to_arrow().to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {
            "conditions": list(self.conditions),
            "unit": self.unit,
            "split": self.split,
            "classes": list(self.classes),
            "values": self.labels,
            "counts": self.counts.tolist(),
            "expected": self.expected.tolist(),
            "residuals": self.residuals.tolist(),
            "test": self.test.to_dict(),
            "folded": [SEPARATOR.join(v) for v in self.folded],
            "unknown": self.unknown,
        }


def check_by(dataset: Dataset, by: str | Sequence[str]) -> tuple[str, ...]:
    """``by`` as a tuple of one or two of the dataset's conditions (``"a,b"`` is accepted)."""
    names = tuple(p.strip() for p in by.split(",") if p.strip()) if isinstance(by, str) else tuple(by)
    if not dataset.conditions:
        raise ValueError("This dataset has no conditions (time of day, weather, camera ...): add them from the export's "
                         "image fields or a sidecar (`--conditions FILE`).")
    if not 1 <= len(names) <= 2:
        raise ValueError(f"`by` must name one or two conditions. Got {list(names)} instead.")
    for name in names:
        if name not in dataset.conditions:
            raise ValueError(f"`by` may name the conditions {list(dataset.conditions)}. Got {name!r} instead.")
    if len(set(names)) != len(names):
        raise ValueError(f"`by` must name two different conditions. Got {list(names)} instead.")
    return names


def check_unit(dataset: Dataset, unit: str) -> Unit:
    if unit not in UNITS:
        raise ValueError(f"`unit` must be one of {list(UNITS)}. Got {unit!r} instead.")
    if unit == "pixels" and pixel_source(dataset) == "none":
        raise ValueError("`unit` 'pixels' needs masks or boxes with a known image size; this dataset has neither. "
                         "Use 'instances' or 'images'.")
    return unit  # type: ignore[return-value]


def _check_positive(name: str, value: float, minimum: float = 0.0, maximum: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < minimum or (
            maximum is not None and value > maximum):
        rule = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValueError(f"`{name}` must be a number {rule}. Got {value!r} instead.")


def cell_counts(dataset: Dataset, dims: Sequence[str], unit: Unit) -> pa.Table:
    """Counts per (dims..., category) in ``unit``: columns ``*dims``, ``category``, ``count``.

    Null dimension values stay (as nulls). ``pixels`` are mask pixels, or box areas for
    box-only data (images of unknown size have none).
    """
    dims = tuple(dims)
    if unit != "pixels" or pixel_source(dataset) == "masks":
        table = cube(dataset, dims)
        column = pc.fill_null(pc.cast(table.column(unit), pa.float64()), 0.0)
        return pa.table({**{d: table.column(d) for d in dims}, "category": table.column("category"), "count": column})
    anns = dataset.annotations
    w = anns.column("w").to_numpy(zero_copy_only=False).astype(np.float64)
    h = anns.column("h").to_numpy(zero_copy_only=False).astype(np.float64)
    image = anns.column("image_id").to_numpy()
    width = dataset.images.column("width").to_numpy(zero_copy_only=False).astype(np.float64)
    with np.errstate(invalid="ignore"):
        area = np.where((~np.isnan(width))[image] & (w > 0) & (h > 0), w * h, 0.0) if len(image) else np.zeros(0)
    cols: dict[str, Any] = {}
    for d in dims:
        col = dataset.images.column(d).combine_chunks()
        cols[d] = pc.take(col.dictionary_decode() if pa.types.is_dictionary(col.type) else col, anns.column("image_id"))
    cols["category_id"] = anns.column("category_id")
    cols["area"] = pa.array(area, pa.float64())
    grouped = pa.table(cols).group_by([*dims, "category_id"], use_threads=False).aggregate([("area", "sum")])
    names = dataset.categories.column("name")
    return pa.table({**{d: grouped.column(d) for d in dims},
                     "category": pc.take(names, grouped.column("category_id")),
                     "count": grouped.column("area_sum")})


def _instance_total(dataset: Dataset, split: str | None) -> float:
    if split is None:
        return float(dataset.num_annotations)
    t = cube(dataset, ("split",))
    return float(pc.sum(pc.filter(t.column("instances"), pc.equal(t.column("split"), split))).as_py() or 0)


def strata_table(
    dataset: Dataset,
    by: str | Sequence[str],
    unit: Unit = "instances",
    *,
    split: str | None = None,
    max_values: int = DEFAULT_MAX_VALUES,
    cells: pa.Table | None = None,
    like: StrataTable | None = None,
) -> StrataTable:
    """The class x condition table of ``dataset`` (see the module docstring).

    ``by``: one condition or two (``"time_of_day"``, ``("time_of_day", "weather")``);
    ``unit`` ("instances"); ``split`` (None = all splits); ``max_values`` (12): the most columns
    kept, the smallest others folded into ``other``. ``cells`` reuses a :func:`cell_counts`
    table with dims ``("split", *by)`` (a split toggle then only re-aggregates). ``like`` takes
    the rows and columns of another table (a split's table lined up with the whole's).
    """
    by = check_by(dataset, by)
    unit = check_unit(dataset, unit)
    if isinstance(max_values, bool) or not isinstance(max_values, int) or max_values < 2:
        raise ValueError(f"`max_values` must be a whole number of at least 2. Got {max_values!r} instead.")
    if split is not None and split not in dataset.splits:
        raise ValueError(f"`split` may be one of {list(dataset.splits)} or None (all). Got {split!r} instead.")
    if cells is None:
        cells = cell_counts(dataset, ("split", *by), unit)
    df = cells.to_pandas()
    if split is not None:
        df = df[df["split"] == split]
    known = df[list(by)].notna().all(axis=1)
    unknown = float(df.loc[~known, "count"].sum())
    df = df[known]
    by_class = df.groupby("category")["count"].sum()
    by_class = by_class[by_class > 0]
    keys = [tuple(str(x) for x in k) if isinstance(k, tuple) else (str(k),) for k in df[list(by)].itertuples(index=False, name=None)]
    df = df.assign(_key=keys)
    by_value = df.groupby("_key")["count"].sum()
    by_value = by_value[by_value > 0]
    if like is not None:
        classes, values, folded = list(like.classes), list(like.values), like.folded
    else:
        values = _order_values(by_value, by)
        folded = ()
        if len(values) > max_values:
            folded = tuple(values[max_values - 1:])
            values = values[: max_values - 1] + [(OTHER,)]
        classes = sorted(by_class.index, key=lambda c: (-by_class[c], c))
    counts = np.zeros((len(classes), len(values)))
    if classes and values:
        row = {c: i for i, c in enumerate(classes)}
        col = {v: j for j, v in enumerate(values)}
        fold = set(folded)
        for cat, key, count in zip(df["category"], df["_key"], df["count"]):
            if cat in row and (key in col or key in fold):
                counts[row[cat], col.get(key, len(values) - 1)] += count
    scale = 1.0
    if unit == "pixels" and counts.sum() > 0:
        scale = _instance_total(dataset, split) / counts.sum()
    expected, residuals, test = _independence(counts, scale, " x ".join(by), split)
    return StrataTable(by, unit, split, tuple(classes), tuple(values), counts, expected, residuals, test,
                       folded, unknown, scale)


def _order_values(by_value: pd.Series, by: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Values by size; for a pair, combinations grouped by the first value's size, then by size."""
    if len(by) == 1:
        return sorted(by_value.index, key=lambda v: (-by_value[v], v))
    first: dict[str, float] = {}
    for key, total in by_value.items():
        first[key[0]] = first.get(key[0], 0.0) + total
    return sorted(by_value.index, key=lambda v: (-first[v[0]], v[0], -by_value[v], v))


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
    chi2, p, dof, _ = stats.chi2_contingency(tested, correction=False)
    v = math.sqrt(chi2 / (total * (min(tested.shape) - 1)))
    return expected, residuals, ChiSquare(condition, split, float(chi2), int(dof), float(p), float(v), float(total))


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class Finding:
    """One hidden-subgroup gap, with the numbers behind it and a sentence saying it.

    ``condition`` maps each condition to its value (empty for a class missing from a whole
    split). ``count`` and ``expected`` are in ``unit``; ``share`` is the class's share of the
    cell's value total (within the split for per-split findings), ``share_elsewhere`` its share
    of everything outside the value (of the other splits, for per-split findings); ``ratio`` =
    count / expected; ``residual`` the adjusted standardised residual (per-split: the binomial
    z-score against the whole data); ``p_value`` the exact lower-tail binomial p-value before
    correction (NaN for ``below_minimum``).
    """

    kind: FindingKind
    class_name: str
    condition: Mapping[str, str]
    split: str | None
    unit: Unit
    count: float
    expected: float
    share: float
    share_elsewhere: float
    ratio: float
    residual: float
    p_value: float
    critical: bool
    text: str

    def to_dict(self) -> dict[str, Any]:
        count = int(round(self.count)) if self.unit != "pixels" else self.count
        return {"class": self.class_name, "condition": dict(self.condition), "count": count,
                "expected": self.expected, "share": self.share, "share_elsewhere": self.share_elsewhere,
                "residual": self.residual, "split": self.split, "text": self.text, "kind": self.kind,
                "ratio": self.ratio, "p_value": self.p_value, "critical": self.critical, "unit": self.unit}


@dataclass(frozen=True, eq=False)
class HiddenSubgroups:
    """Findings (ranked, see the module docstring), the tables they came from and their tests."""

    conditions: tuple[str, ...]
    unit: Unit
    findings: tuple[Finding, ...]
    table: StrataTable
    split_tables: Mapping[str, StrataTable]
    cells_tested: int
    alpha: float
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tests(self) -> list[ChiSquare]:
        return [self.table.test] + [t.test for t in self.split_tables.values()]

    def to_arrow(self) -> pa.Table:
        """One row per finding (the ``condition`` mapping as one column per condition)."""
        rows = [f.to_dict() for f in self.findings]
        columns: dict[str, Any] = {"rank": pa.array(list(range(1, len(rows) + 1)), pa.int64())}
        for key, typ in (("class", pa.string()), ("split", pa.string()), ("kind", pa.string())):
            columns[key] = pa.array([r[key] for r in rows], typ)
        for name in self.conditions:
            columns[name] = pa.array([r["condition"].get(name) for r in rows], pa.string())
        for key in ("count", "expected", "share", "share_elsewhere", "ratio", "residual", "p_value"):
            columns[key] = pa.array([r[key] for r in rows], pa.float64())
        columns["critical"] = pa.array([r["critical"] for r in rows], pa.bool_())
        columns["text"] = pa.array([r["text"] for r in rows], pa.string())
        return pa.table(columns)

    def to_pandas(self) -> pd.DataFrame:
        return self.to_arrow().to_pandas()

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``imbal strata --json``."""
        return {
            "conditions": list(self.conditions),
            "unit": self.unit,
            "findings": [f.to_dict() for f in self.findings],
            "tests": [t.to_dict() for t in self.tests],
            "cells_tested": self.cells_tested,
            "alpha": self.alpha,
            "settings": dict(self.settings),
            "table": self.table.to_dict(),
        }


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
            p_value = float(stats.binom.cdf(int(round(table.counts[i, j] * s)), row_total,
                                            table.counts[:, j].sum() * s / total))
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
    return float(stats.binom.cdf(int(round(count)), int(round(n)), min(max(p, 0.0), 1.0)))


def _z(count: float, expected: float, q: float) -> float:
    var = expected * (1 - q)
    return float((count - expected) / math.sqrt(var)) if var > 0 else 0.0


def _rank_key(f: Finding) -> tuple:
    tier = 2 if f.kind == "below_minimum" else (0 if f.split is None else 1)
    ratio = f.ratio if not math.isnan(f.ratio) else 1.0
    return (not f.critical, tier, round(ratio, 6), -(f.expected - f.count), f.class_name, f.split or "")


# --------------------------------------------------------------------------- sentences


def _number(value: float, unit: Unit) -> str:
    if unit == "pixels":
        for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if value >= size:
                return f"{value / size:.1f}{suffix}"
        return f"{value:,.0f}"
    return f"{int(round(value)):,}"


def _percent(share: float) -> str:
    if share is None or math.isnan(share):
        return "-"
    if share == 0:
        return "0%"
    if share < 0.001:
        return f"{share * 100:.2f}%"
    return f"{share * 100:.1f}%"


def _value_text(by: tuple[str, ...], value: tuple[str, ...]) -> str:
    parts = []
    for name, v in zip(by, value):
        parts.append(f"{name.replace('_', ' ')} {v}" if v.replace(".", "").replace("-", "").isdigit() else v)
    return ", ".join(parts)


def _unit_words(unit: Unit, count: float, boxes: bool) -> tuple[str, str]:
    """How a count is named (``9 instances``) and what a share is of (``of night instances``)."""
    if unit == "pixels":
        return ("px² of boxes", "box area") if boxes else ("pixels", "pixels")
    word = unit[:-1] if int(round(count)) == 1 else unit
    return word, unit


def _finding(kind: FindingKind, c: dict[str, Any], by: tuple[str, ...], unit: Unit, critical: bool,
             boxes: bool = False) -> Finding:
    value = tuple(c["value"])
    where = _value_text(by, value) if value else ""
    count, expected = c["count"], c["expected"]
    unit_word, noun = _unit_words(unit, count, boxes)
    if c["split"] is None:
        head = f"{c['class']} at {where}"
        others = [v for v in c.get("others", []) if v != (OTHER,)]
        if len(c.get("others", [])) == 1 and others:
            elsewhere = f"of {_value_text(by, others[0])}"
        else:
            elsewhere = "elsewhere"
        text = (f"{head}: {_number(count, unit)} {unit_word}, {_percent(c['share'])} of {where} {noun} "
                f"vs {_percent(c['share_elsewhere'])} {elsewhere}; expected {_number(expected, unit)}")
    elif value:
        head = f"{c['class']} at {where} in {c['split']}"
        text = (f"{head}: {_number(count, unit)} {unit_word}, {_percent(c['share'])} of {c['split']}'s {where} {noun} "
                f"vs {_percent(c['share_elsewhere'])} in the other splits; expected {_number(expected, unit)}")
    else:
        head = f"{c['class']} in {c['split']}"
        text = (f"{head}: {_number(count, unit)} {unit_word}, {_percent(c['share'])} of {c['split']}'s {noun} "
                f"vs {_percent(c['share_elsewhere'])} in the other splits; expected {_number(expected, unit)}")
    if kind == "below_minimum":
        text += f" — fewer than the minimum of {_number(c['min_count'], unit)}"
    condition = dict(zip(by, value)) if value else {}
    return Finding(kind, c["class"], condition, c["split"], unit, count, expected, c["share"],
                   c["share_elsewhere"], c["ratio"], c["residual"], c.get("p_value", float("nan")), critical, text + ".")
