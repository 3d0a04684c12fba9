"""The class x condition table of one unit, over all splits or one split, and the counts it is built from.

Tables (:func:`strata_table`), from the count cube
    ``counts`` (classes x condition values, in the unit); row shares (where a class's count
    falls: share of the class's total per value), column shares (the class mix of a value:
    share of the value's total per class), ``expected`` counts under independence and adjusted
    standardised residuals, with a chi-square test of independence and Cramér's V per table
    (computed in :mod:`.independence`). Classes are ordered by total, values by size; a
    condition with more than ``max_values`` values keeps the largest and folds the rest into
    ``other``. Images whose condition is unknown (null) are left out and counted in
    ``unknown``. A pair of conditions is one axis of value combinations (``day · rain``).

Units: ``images`` (images holding the class: a multi-label image counts once per class),
``instances``, or ``pixels`` (mask pixels; box area for box-only data, as on the Long tail page).
Pixels are not independent observations (a test on them finds everything significant), so for
``pixels`` the residuals, tests and findings use the pixel table rescaled to the number of
instances: shares stay pixel shares, the evidence is that of the objects.

:func:`cell_counts`, :func:`check_by` and :func:`check_unit` are shared with the split check
(``imbal_core.splits``) and split generation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..columns import resolve_column
from ..cube import cube
from ..dataset import Dataset
from ..longtail import pixel_source
from ..report import excerpt
from ..types import UNITS, Unit, check_split
from .independence import ChiSquare, _independence

OTHER = "other"
SEPARATOR = " · "
DEFAULT_MAX_VALUES = 12


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
        out: dict[str, Any] = {"class": pa.array(np.repeat(self.classes, cols).tolist() if rows else [], pa.string())}
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


def check_by(dataset: Dataset, by: str | Sequence[str], param: str = "by") -> tuple[str, ...]:
    """``by`` as a tuple of one or two of the dataset's conditions (``"a,b"`` is accepted; a
    condition may be named as the export spells it, ``Time of day`` for ``time_of_day``)."""
    names = tuple(p.strip() for p in by.split(",") if p.strip()) if isinstance(by, str) else tuple(by)
    if not dataset.conditions:
        raise ValueError("This dataset has no conditions (time of day, weather, camera ...): add them from the export's "
                         "image fields or a sidecar (`--conditions FILE`).")
    if not 1 <= len(names) <= 2:
        raise ValueError(f"`{param}` must name one or two conditions. Got {len(names)}: {', '.join(excerpt(n) for n in names[:3])} instead.")
    names = tuple(resolve_column(dataset, name, param, group=False) for name in names)
    if len(set(names)) != len(names):
        raise ValueError(f"`{param}` must name two different conditions. Got {list(names)} instead.")
    return names


def check_unit(dataset: Dataset, unit: str) -> Unit:
    if unit not in UNITS:
        raise ValueError(f"`unit` must be one of {list(UNITS)}. Got {unit!r} instead.")
    if unit == "pixels" and pixel_source(dataset) == "none":
        raise ValueError("`unit` 'pixels' needs masks or boxes with a known image size; this dataset has neither. "
                         "Use 'instances' or 'images'.")
    return unit  # type: ignore[return-value]


def cell_counts(dataset: Dataset, dims: Sequence[str], unit: Unit) -> pa.Table:
    """Counts per (dims..., class) in ``unit``: columns ``*dims``, ``class``, ``count``.

    Null dimension values stay (as nulls). ``pixels`` are mask pixels, or box areas for
    box-only data (images of unknown size have none).
    """
    dims = tuple(dims)
    if unit != "pixels" or pixel_source(dataset) == "masks":
        table = cube(dataset, dims)
        column = pc.fill_null(pc.cast(table.column(unit), pa.float64()), 0.0)
        return pa.table({**{d: table.column(d) for d in dims}, "class": table.column("class"), "count": column})
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
                     "class": pc.take(names, grouped.column("category_id")),
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
    split = check_split(split, dataset.splits)
    if cells is None:
        cells = cell_counts(dataset, ("split", *by), unit)
    df = cells.to_pandas()
    if split is not None:
        df = df[df["split"] == split]
    known = df[list(by)].notna().all(axis=1)
    unknown = float(df.loc[~known, "count"].sum())
    df = df[known]
    by_class = df.groupby("class")["count"].sum()
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
        for cat, key, count in zip(df["class"], df["_key"], df["count"]):
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
