"""The sentence that says a hidden-subgroup finding, in the words of its unit.

A whole-data gap: *Wheelchair at night: 9 instances, 0.2% of night instances vs 1.3% of day;
expected 51*; a per-split gap compares with the other splits (*Wheelchair at night in val: ...
vs ... in the other splits*); ``below_minimum`` adds *— fewer than the minimum of N*. Counts
are whole numbers with thousands separators, pixels are shortened (``1.2M``); a numeric
condition value is named (``camera 3``).
"""
from __future__ import annotations

import math
from typing import Any

from ..types import Unit
from .findings import Finding, FindingKind
from .table import OTHER


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
