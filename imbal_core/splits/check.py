"""Split health: does each split look like the whole, and does anything leak between splits?

:func:`check_splits` compares every assigned split (``unassigned`` images are left out) with
the whole assigned data:

- **stratification** (the verdict): each class's share of the split's images against its share
  of train's — :func:`imbal_core.splits.stratification.stratification`, the one definition the
  checklist (``imbal check``) uses too: relative share deviation, judged where train's share
  predicts at least 5 images, counted only beyond chance;
- **classes** (descriptive, in ``unit``: images holding the class, instances or pixels): each
  class's share of the split against its share of the whole; the **Jensen–Shannon divergence**
  (base 2: 0 = identical distributions, 1 = disjoint) of the split's class distribution from
  the whole's; a chi-square test of the split against the other splits (classes x {split,
  rest}); classes with data that have none in the split.
- **conditions**: each condition value's share of the split's images against the whole, and a
  divergence per condition.
- **leakage**: groups (sequence, video, site, patient: the ``group`` column, or a condition
  named by ``group_by``) whose images sit in more than one split, and file names found in
  more than one split (duplicated images).
- the **label-distribution error**: the mean over splits and classes of ``|share in split -
  share in whole|`` (:func:`label_distribution_error`), the figure the split generator minimises.

Verdict per split (``pass`` / ``warn`` / ``fail``, the worst reason wins): *fail* when a group
or a file name it holds is also in another split, when a class with at least as many images as
there are splits is missing from it, or when a class's share of its images is off train's by
more than the fail tolerance (0.5) beyond chance; *warn* when a rarer class is missing, a class
share is off by more than the tolerance (0.25) beyond chance, no class has images enough there
to be judged, or a condition's divergence exceeds ``js_warn`` (0.01). The worst offenders
(largest share deviations from train) are named with their shares.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..columns import resolve_column
from ..cube import image_counts, is_count_source
from ..dataset import UNASSIGNED, Dataset
from ..longtail import Unit
from ..stats import chi2_independence
from ..stats import js_divergence as divergence
from ..strata import cell_counts, check_unit
from .stratification import TOLERANCE, Stratification, stratification

Status = Literal["pass", "warn", "fail"]
#: Divergence of a split's condition values from the whole beyond which the split warns.
JS_WARN = 0.01
WORST_SHOWN = 3


def label_distribution_error(counts: np.ndarray) -> float:
    """Mean over splits (rows) and classes (columns with data) of ``|share in split - share in whole|``.

    ``counts`` is (splits x classes) in any unit; a split's shares are its counts over its total.
    Splits with nothing in them are left out; NaN when fewer than one split or class has data.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2:
        raise ValueError(f"`counts` must be a 2-D array (splits x classes). Got {counts.ndim} dimensions instead.")
    totals = counts.sum(axis=1)
    whole = counts.sum(axis=0)
    if whole.sum() <= 0:
        return float("nan")
    used = whole > 0
    rows = counts[totals > 0][:, used] / totals[totals > 0, None]
    if rows.size == 0:
        return float("nan")
    return float(np.abs(rows - whole[used] / whole.sum()).mean())


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen–Shannon divergence (base 2) of two count or probability vectors; NaN if either is empty."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    return divergence(p / p.sum(), q / q.sum())


@dataclass(frozen=True)
class SplitVerdict:
    """One split's verdict and the numbers behind it (see the module docstring)."""

    split: str
    status: Status
    images: int
    image_share: float
    js_divergence: float
    chi2: float
    p_value: float
    missing: tuple[str, ...]
    leaked_groups: int
    duplicate_files: int
    condition_divergence: dict[str, float]
    worst: tuple[str, ...]
    reasons: tuple[str, ...]

    @property
    def text(self) -> str:
        head = f"{self.split}: {self.status}"
        return head + (" — " + "; ".join(self.reasons) if self.reasons else "")

    def to_dict(self) -> dict[str, Any]:
        return {"split": self.split, "status": self.status, "images": self.images, "image_share": self.image_share,
                "js_divergence": self.js_divergence, "chi2": self.chi2, "p_value": self.p_value,
                "missing": list(self.missing), "leaked_groups": self.leaked_groups,
                "duplicate_files": self.duplicate_files, "condition_divergence": dict(self.condition_divergence),
                "worst": list(self.worst), "reasons": list(self.reasons), "text": self.text}


@dataclass(frozen=True, eq=False)
class SplitHealth:
    """Split check results.

    ``stratification``: the class-share verdict (:mod:`imbal_core.splits.stratification`), the same
    object the checklist's ``splits_stratified`` rule is built from.
    ``classes``: one row per (class, split) — ``class``, ``split``, ``count``, ``share``,
    ``whole_share``, ``difference`` (share - whole share). ``conditions``: one row per
    (condition, value, split) — ``images``, ``share``, ``whole_share``, ``difference``.
    ``leaks``: one row per straddling group — ``group``, ``splits``, ``images`` and images per
    split. ``duplicates``: one row per file name found in several splits. ``message`` says why
    nothing was checked when there are fewer than two assigned splits.
    """

    unit: Unit
    splits: tuple[str, ...]
    group_by: str | None
    verdicts: tuple[SplitVerdict, ...]
    classes: pa.Table
    conditions: pa.Table
    leaks: pa.Table
    duplicates: pa.Table
    label_distribution_error: float
    unassigned: int = 0
    message: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    stratification: Stratification | None = None

    @property
    def status(self) -> Status:
        statuses = [v.status for v in self.verdicts]
        return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"

    @property
    def passed(self) -> bool:
        """True when no split fails (warnings allowed)."""
        return self.status != "fail"

    def verdict(self, split: str) -> SplitVerdict:
        for v in self.verdicts:
            if v.split == split:
                return v
        raise KeyError(f"no verdict for split {split!r}; splits: {list(self.splits)}")

    def to_arrow(self) -> pa.Table:
        """One row per split with its verdict."""
        rows = [v.to_dict() for v in self.verdicts]
        return pa.table({
            "split": pa.array([r["split"] for r in rows], pa.string()),
            "status": pa.array([r["status"] for r in rows], pa.string()),
            "images": pa.array([r["images"] for r in rows], pa.int64()),
            "image_share": pa.array([r["image_share"] for r in rows], pa.float64()),
            "js_divergence": pa.array([r["js_divergence"] for r in rows], pa.float64()),
            "chi2": pa.array([r["chi2"] for r in rows], pa.float64()),
            "p_value": pa.array([r["p_value"] for r in rows], pa.float64()),
            "missing": pa.array([", ".join(r["missing"]) for r in rows], pa.string()),
            "leaked_groups": pa.array([r["leaked_groups"] for r in rows], pa.int64()),
            "duplicate_files": pa.array([r["duplicate_files"] for r in rows], pa.int64()),
            "worst": pa.array(["; ".join(r["worst"]) for r in rows], pa.string()),
            "reasons": pa.array(["; ".join(r["reasons"]) for r in rows], pa.string()),
        })

    def to_pandas(self) -> pd.DataFrame:
        return self.to_arrow().to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "passed": self.passed,
            "unit": self.unit,
            "splits": list(self.splits),
            "group_by": self.group_by,
            "unassigned": self.unassigned,
            "message": self.message,
            "label_distribution_error": self.label_distribution_error,
            "verdicts": [v.to_dict() for v in self.verdicts],
            "leaks": self.leaks.to_pylist(),
            "duplicates": self.duplicates.to_pylist(),
            "settings": dict(self.settings),
            "stratification": self.stratification.to_dict() if self.stratification is not None else None,
        }


def _decoded(dataset: Dataset, column: str) -> list:
    col = dataset.images.column(column).combine_chunks()
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    return col.to_pylist()


def check_group_by(dataset: Dataset, group_by: str | None, param: str = "group_by") -> str | None:
    """The column ``group_by`` names: ``group`` (also by the export's own name for its group
    field, e.g. ``sequence``), a condition (also by the export's spelling), or None."""
    if group_by is None:
        return None
    return resolve_column(dataset, group_by, param)


def check_splits(
    dataset: Dataset,
    unit: Unit = "instances",
    *,
    group_by: str | None = "group",
    tolerance: float = TOLERANCE,
    fail_tolerance: float | None = None,
    js_warn: float = JS_WARN,
) -> SplitHealth:
    """The split check of ``dataset`` (see the module docstring).

    ``unit`` ("instances") of the descriptive class shares, divergence and label-distribution
    error; ``group_by`` ("group"): the column whose values must stay in one split (the export's
    own name for it is accepted; None: no leakage check by group); ``tolerance`` (0.25) and
    ``fail_tolerance`` (None: twice ``tolerance``): the relative deviation of a class's share of
    a split's images from train's beyond which the split warns / fails (when beyond chance, see
    :mod:`imbal_core.splits.stratification`); ``js_warn`` (0.01): the condition divergence beyond
    which a split warns.
    """
    unit = check_unit(dataset, unit)
    group_by = check_group_by(dataset, group_by)
    if isinstance(js_warn, bool) or not isinstance(js_warn, (int, float)) or math.isnan(js_warn) or not 0 <= js_warn <= 1:
        raise ValueError(f"`js_warn` must be a number between 0 and 1. Got {js_warn!r} instead.")
    strat = stratification(dataset, tolerance=tolerance, fail_tolerance=fail_tolerance)
    settings = {"tolerance": strat.tolerance, "fail_tolerance": strat.fail_tolerance, "js_warn": js_warn}
    # a lake answers with counts: no list of every image's split there (see _leaks, _duplicates)
    split_col = None if is_count_source(dataset) else _decoded(dataset, "split")
    counted = image_counts(dataset, ("split",))
    split_images = dict(zip(counted.column("split").to_pylist(), counted.column("images").to_pylist()))
    splits = tuple(s for s in dataset.splits if s != UNASSIGNED)
    unassigned = int(split_images.get(UNASSIGNED, 0))
    empty = _empty_tables()
    if len(splits) < 2:
        message = ("No split is assigned: every image is unassigned." if not splits else
                   f"Only one split ({splits[0]}) is assigned: there is nothing to compare it with.")
        if unassigned and splits:
            message += f" {unassigned:,} images are unassigned."
        return SplitHealth(unit, splits, group_by, (), *empty, float("nan"), unassigned, message, settings, strat)

    cells = cell_counts(dataset, ("split",), unit).to_pandas()
    cells = cells[cells["split"].isin(splits)]
    names = [n for n in dataset.class_names]
    matrix = (cells.pivot_table(index="split", columns="class", values="count", aggfunc="sum")
              .reindex(index=list(splits), columns=names).fillna(0.0))
    counts = matrix.to_numpy()
    whole = counts.sum(axis=0)
    images_per_split = {s: int(split_images.get(s, 0)) for s in splits}
    total_images = sum(images_per_split.values())
    presence = _presence(dataset, splits, names)

    classes_table = _class_rows(splits, names, counts)
    conditions_table, cond_div = _condition_rows(dataset, splits)
    leaks, leaked_by_split = _leaks(dataset, group_by, split_col, splits)
    duplicates, dup_by_split = _duplicates(dataset, split_col, splits)

    verdicts = []
    for k, split in enumerate(splits):
        row = counts[k]
        js = js_divergence(row, whole)
        rest = whole - row
        chi2, p = _chi_square(row, rest)
        missing = tuple(n for i, n in enumerate(names) if whole[i] > 0 and row[i] == 0)
        rare_missing = tuple(n for n in missing if presence[n] < len(splits))
        hard_missing = tuple(n for n in missing if n not in rare_missing)
        reasons: list[str] = []
        status: Status = "pass"

        def worse(new: Status) -> None:
            nonlocal status
            order = ("pass", "warn", "fail")
            status = new if order.index(new) > order.index(status) else status

        if leaked_by_split.get(split):
            worse("fail")
            reasons.append(f"{leaked_by_split[split]:,} {group_by} groups also in another split")
        if dup_by_split.get(split):
            worse("fail")
            reasons.append(f"{dup_by_split[split]:,} file names also in another split")
        if hard_missing:
            worse("fail")
            reasons.append(f"missing {_list(hard_missing)}")
        if rare_missing:
            worse("warn")
            reasons.append(f"missing {_list(rare_missing)} (too rare for every split)")
        for status_, bound in (("fail", strat.fail_tolerance), ("warn", strat.tolerance)):
            off = [c.short for c in strat.cells_of(split) if c.status == status_]
            if off:
                worse(status_)
                reasons.append(f"class share of images off {strat.reference}'s beyond ±{bound:.0%}: {_list(off)}")
        if strat.judged and split != strat.reference and not strat.split_judged(split):
            worse("warn")
            reasons.append("too few images to judge the class shares (no class expects 5)")
        for cond, div in cond_div.get(split, {}).items():
            if not math.isnan(div) and div > js_warn:
                worse("warn")
                reasons.append(f"{cond} divergence {div:.3f} > {js_warn:g}")
        verdicts.append(SplitVerdict(
            split, status, images_per_split[split], images_per_split[split] / total_images if total_images else float("nan"),
            js, chi2, p, missing, leaked_by_split.get(split, 0), dup_by_split.get(split, 0),
            cond_div.get(split, {}), _worst(strat, split), tuple(reasons)))
    ld = label_distribution_error(counts)
    message = f"{unassigned:,} unassigned images are left out." if unassigned else ""
    return SplitHealth(unit, splits, group_by, tuple(verdicts), classes_table, conditions_table, leaks, duplicates,
                       ld, unassigned, message, settings, strat)


def _list(names: Sequence[str], shown: int = 5) -> str:
    text = ", ".join(names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _presence(dataset: Dataset, splits: Sequence[str], names: Sequence[str]) -> dict[str, int]:
    """Images holding each class, over the assigned splits."""
    cells = cell_counts(dataset, ("split",), "images").to_pandas()
    cells = cells[cells["split"].isin(splits)]
    per_class = cells.groupby("class")["count"].sum()
    return {n: int(per_class.get(n, 0)) for n in names}


def _chi_square(row: np.ndarray, rest: np.ndarray) -> tuple[float, float]:
    table = np.vstack([row, rest])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) <= 0).any():
        return float("nan"), float("nan")
    chi2, p, _ = chi2_independence(table)
    return float(chi2), float(p)


def _worst(strat: Stratification, split: str) -> tuple[str, ...]:
    """The split's largest class-share deviations from the reference, as ``Truck 23.0% vs 15.1% (+53%)``."""
    return tuple(f"{c.category} {_pct(c.share)} vs {_pct(c.reference_share)} ({c.deviation:+.0%})"
                 for c in strat.cells_of(split)[:WORST_SHOWN])


def _pct(x: float) -> str:
    return f"{x * 100:.2f}%" if 0 < x < 0.001 else f"{x * 100:.1f}%"


def _class_rows(splits: Sequence[str], names: Sequence[str], counts: np.ndarray) -> pa.Table:
    whole = counts.sum(axis=0)
    whole_share = whole / whole.sum() if whole.sum() > 0 else np.zeros_like(whole)
    rows: dict[str, list] = {"class": [], "split": [], "count": [], "share": [], "whole_share": [], "difference": []}
    for k, split in enumerate(splits):
        total = counts[k].sum()
        for i, name in enumerate(names):
            share = counts[k, i] / total if total > 0 else float("nan")
            rows["class"].append(name)
            rows["split"].append(split)
            rows["count"].append(float(counts[k, i]))
            rows["share"].append(float(share))
            rows["whole_share"].append(float(whole_share[i]))
            rows["difference"].append(float(share - whole_share[i]))
    return pa.table({k: pa.array(v, pa.string() if k in ("class", "split") else pa.float64()) for k, v in rows.items()})


def _condition_rows(dataset: Dataset, splits: Sequence[str]) -> tuple[pa.Table, dict[str, dict[str, float]]]:
    rows: dict[str, list] = {"condition": [], "value": [], "split": [], "images": [], "share": [], "whole_share": [],
                             "difference": []}
    divergence: dict[str, dict[str, float]] = {s: {} for s in splits}
    for cond in dataset.conditions:
        # images per (split, value) of the assigned splits, values sorted, from the image counts
        counted = image_counts(dataset, ("split", cond))
        cells = {(s, v): n for s, v, n in zip(*(counted.column(c).to_pylist() for c in ("split", cond, "images")))
                 if s in splits and v is not None}
        if not cells:
            continue
        values = sorted({v for _, v in cells})
        table = np.array([[cells.get((s, v), 0) for v in values] for s in splits], dtype=np.float64)
        whole = table.sum(axis=0)
        for k, split in enumerate(splits):
            row = table[k]
            divergence[split][cond] = js_divergence(row, whole)
            for j, value in enumerate(values):
                share = row[j] / row.sum() if row.sum() > 0 else float("nan")
                rows["condition"].append(cond)
                rows["value"].append(str(value))
                rows["split"].append(split)
                rows["images"].append(int(row[j]))
                rows["share"].append(float(share))
                rows["whole_share"].append(float(whole[j] / whole.sum()))
                rows["difference"].append(float(share - whole[j] / whole.sum()))
    types = {"condition": pa.string(), "value": pa.string(), "split": pa.string(), "images": pa.int64()}
    return pa.table({k: pa.array(v, types.get(k, pa.float64())) for k, v in rows.items()}), divergence


def _codes(dataset: Dataset, column: str) -> tuple[np.ndarray, list]:
    """Integer code per image (-1 where null) and the distinct values, without Python objects per row."""
    col = dataset.images.column(column).combine_chunks()
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col)
    indices = col.indices.to_numpy(zero_copy_only=False)
    codes = np.where(np.asarray(col.is_valid()), indices, -1) if col.null_count else indices
    return codes.astype(np.int64), col.dictionary.to_pylist()


def _spread(keys: np.ndarray, split_index: np.ndarray, n_splits: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys found in more than one split, and their (key x split) image counts."""
    ok = (keys >= 0) & (split_index >= 0)
    keys, split_index = keys[ok], split_index[ok]
    if not len(keys):
        return np.zeros(0, dtype=np.int64), np.zeros((0, n_splits), dtype=np.int64)
    uniq, inverse = np.unique(keys, return_inverse=True)
    table = np.zeros((len(uniq), n_splits), dtype=np.int64)
    np.add.at(table, (inverse, split_index), 1)
    multi = (table > 0).sum(axis=1) > 1
    return uniq[multi], table[multi]


def _lake_spread(dataset, column: str, splits: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """A lake's values of ``column`` in more than one split, in order of first appearance, and
    their (value x split) image counts: what :func:`_spread` gives from the image rows."""
    rows = dataset.spread(column, splits).to_pylist()
    first = {r["value"]: r["first"] for r in rows}
    values = sorted(first, key=first.__getitem__)
    position, column_of = {v: i for i, v in enumerate(values)}, {s: j for j, s in enumerate(splits)}
    table = np.zeros((len(values), len(splits)), dtype=np.int64)
    for r in rows:
        table[position[r["value"]], column_of[r["split"]]] += r["images"]
    return values, table


def _split_index(split_col: list, splits: Sequence[str]) -> np.ndarray:
    position = {s: i for i, s in enumerate(splits)}
    return np.array([position.get(s, -1) for s in split_col], dtype=np.int64)


def _leaks(dataset: Dataset, group_by: str | None, split_col: list, splits: Sequence[str]) -> tuple[pa.Table, dict[str, int]]:
    empty = pa.table({"group": pa.array([], pa.string()), "splits": pa.array([], pa.string()),
                      "images": pa.array([], pa.int64()), **{s: pa.array([], pa.int64()) for s in splits}})
    if group_by is None:
        return empty, {}
    if is_count_source(dataset):
        values, table = _lake_spread(dataset, group_by, splits)
        keys = np.arange(len(values))
    else:
        codes, values = _codes(dataset, group_by)
        keys, table = _spread(codes, _split_index(split_col, splits), len(splits))
    if not len(keys):
        return empty, {}
    order = np.argsort(-table.sum(axis=1), kind="stable")
    keys, table = keys[order], table[order]
    out = {
        "group": pa.array([str(values[k]) for k in keys], pa.string()),
        "splits": pa.array([", ".join(s for s, c in zip(splits, row) if c > 0) for row in table], pa.string()),
        "images": pa.array(table.sum(axis=1), pa.int64()),
    }
    for i, s in enumerate(splits):
        out[s] = pa.array(table[:, i], pa.int64())
    return pa.table(out), {s: int((table[:, i] > 0).sum()) for i, s in enumerate(splits)}


def _duplicates(dataset: Dataset, split_col: list, splits: Sequence[str]) -> tuple[pa.Table, dict[str, int]]:
    empty = pa.table({"file_name": pa.array([], pa.string()), "splits": pa.array([], pa.string()),
                      "images": pa.array([], pa.int64())})
    if is_count_source(dataset):
        names, table = _lake_spread(dataset, "file_name", splits)
    else:
        codes, values = _codes(dataset, "file_name")
        keys, table = _spread(codes, _split_index(split_col, splits), len(splits))
        names = [str(values[k]) for k in keys]
    if not len(names):
        return empty, {}
    order = sorted(range(len(names)), key=names.__getitem__)
    return pa.table({
        "file_name": pa.array([names[i] for i in order], pa.string()),
        "splits": pa.array([", ".join(s for s, c in zip(splits, table[i]) if c > 0) for i in order], pa.string()),
        "images": pa.array([int(table[i].sum()) for i in order], pa.int64()),
    }), {s: int((table[:, j] > 0).sum()) for j, s in enumerate(splits)}


def _empty_tables() -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    classes = pa.table({"class": pa.array([], pa.string()), "split": pa.array([], pa.string()),
                        **{k: pa.array([], pa.float64()) for k in ("count", "share", "whole_share", "difference")}})
    conditions = pa.table({"condition": pa.array([], pa.string()), "value": pa.array([], pa.string()),
                           "split": pa.array([], pa.string()), "images": pa.array([], pa.int64()),
                           **{k: pa.array([], pa.float64()) for k in ("share", "whole_share", "difference")}})
    leaks = pa.table({"group": pa.array([], pa.string()), "splits": pa.array([], pa.string()),
                      "images": pa.array([], pa.int64())})
    duplicates = pa.table({"file_name": pa.array([], pa.string()), "splits": pa.array([], pa.string()),
                           "images": pa.array([], pa.int64())})
    return classes, conditions, leaks, duplicates
