"""What the hidden-subgroup finder returns: one :class:`Finding` per gap and :class:`HiddenSubgroups`.

Frozen results with ``to_dict`` (the JSON of ``imbal strata --json``) and ``to_arrow`` /
``to_pandas``. Which cells become findings, the guard against noise and the ranking are in
:mod:`.subgroups`; the sentence each finding carries is written by :mod:`.wording`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

import pandas as pd
import pyarrow as pa

from ..types import Unit
from .independence import ChiSquare
from .table import StrataTable

FindingKind = Literal["absent", "under_represented", "below_minimum"]
FINDING_KINDS: tuple[FindingKind, ...] = ("absent", "under_represented", "below_minimum")


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
    """Findings (ranked, see :mod:`.subgroups`), the tables they came from and their tests."""

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
