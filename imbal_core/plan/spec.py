"""The rebalancing spec: one validated object made from whatever the user typed.

A strategy arrives as a name in any usual spelling (``"effective number"``, ``"repeat_factor"``,
``"lvis"``), as a mapping of per-class targets (which means ``custom``) or from a CSV / JSON file
of targets. :func:`make_spec` turns it into a frozen :class:`PlanSpec` once, at the boundary;
the solver, the per-image fit and the exports trust it afterwards.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence, get_args

from ..types import PLAN_UNITS, PlanUnit

Strategy = Literal["balanced", "sqrt", "effective-number", "repeat-factor", "custom"]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)
#: The former names of :data:`imbal_core.types.PlanUnit` and :data:`~imbal_core.types.PLAN_UNITS`.
Unit = PlanUnit
UNITS = PLAN_UNITS

#: What each strategy aims for, in one line (the page and the CLI help show these).
DESCRIPTIONS: dict[Strategy, str] = {
    "balanced": "max-min fair: raise the smallest classes first, undersample the largest (water-filling)",
    "sqrt": "targets proportional to the square root of the counts",
    "effective-number": "class-balanced targets of Cui et al. 2019: count / effective number (1 - beta^n) / (1 - beta)",
    "repeat-factor": "LVIS repeat factors: r(c) = max(1, sqrt(t / f(c))), f(c) = share of images holding c",
    "custom": "your own per-class targets (classes left out keep their count)",
}

_ALIASES = {
    "balanced": "balanced", "balance": "balanced", "maxmin": "balanced", "max-min": "balanced", "uniform": "balanced",
    "sqrt": "sqrt", "square-root": "sqrt", "squareroot": "sqrt",
    "effective-number": "effective-number", "effective": "effective-number", "class-balanced": "effective-number",
    "cui": "effective-number", "cb": "effective-number",
    "repeat-factor": "repeat-factor", "repeat": "repeat-factor", "rfs": "repeat-factor", "lvis": "repeat-factor",
    "custom": "custom", "targets": "custom",
}


def normalize_strategy(name: str) -> Strategy:
    """``"Effective number"``, ``"effective_number"`` -> ``"effective-number"``; unknown names raise."""
    key = "-".join(str(name).strip().lower().replace("_", " ").split())
    if key not in _ALIASES:
        raise ValueError(f"`strategy` must be one of {list(STRATEGIES)}. Got {name!r} instead.")
    return _ALIASES[key]  # type: ignore[return-value]


def check_plan_unit(unit: object) -> PlanUnit:
    """``unit`` when a plan can count in it (:data:`~imbal_core.types.PLAN_UNITS`), else ``ValueError``."""
    if unit not in PLAN_UNITS:
        raise ValueError(f"`unit` must be one of {list(PLAN_UNITS)}. Got {unit!r} instead.")
    return unit  # type: ignore[return-value]


def _parse_number(name: str, value: Any) -> float:
    """A finite number from a number or its text (a CLI argument, a form field); ``name`` is the parameter."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(str(value).strip())
        except ValueError:
            raise ValueError(f"`{name}` must be a number. Got {value!r} instead.") from None
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be a finite number. Got {value!r} instead.")
    return value


def normalize_targets(targets: Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
    """``{"Car": 2000, ...}`` -> sorted ``(("Car", 2000.0), ...)``; targets must be non-negative numbers."""
    if not isinstance(targets, Mapping):
        raise ValueError(f"`targets` must map class names to numbers. Got {type(targets).__name__} instead.")
    if not targets:
        raise ValueError("`targets` must name at least one class.")
    out = {}
    for name, value in targets.items():
        label = str(name).strip()
        if not label:
            raise ValueError("`targets` has an empty class name.")
        number = _parse_number(f"targets[{label!r}]", value)
        if number < 0:
            raise ValueError(f"`targets[{label!r}]` must be at least 0. Got {value!r} instead.")
        out[label] = number
    return tuple(sorted(out.items()))


@dataclass(frozen=True)
class PlanSpec:
    """How to rebalance; validated on construction (build one with :func:`make_spec`).

    strategy ("balanced"): see :data:`DESCRIPTIONS`.
    budget (None): total effective samples per epoch, summed over classes (for detection an image
        holding k classes counts k times); None means the current total (custom: the targets' sum).
    cap (5.0): the most any class (and any image) may be oversampled, as a multiple of its count.
    floor (0.0): the least fraction of a class (and of an image) kept: 0.5 keeps at least half.
    unit ("images"): count a class by the images holding it, or by its instances.
    beta (0.999): effective-number strategy only; 0 means no rebalancing, towards 1 means balanced.
    threshold (0.001): repeat-factor strategy only (LVIS ``t``): classes in fewer than this share
        of the images are repeated.
    targets (None): custom strategy only: sorted ``(class, target)`` pairs.
    """

    strategy: Strategy = "balanced"
    budget: int | None = None
    cap: float = 5.0
    floor: float = 0.0
    unit: PlanUnit = "images"
    beta: float = 0.999
    threshold: float = 0.001
    targets: tuple[tuple[str, float], ...] | None = None

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"`strategy` must be one of {list(STRATEGIES)}. Got {self.strategy!r} instead.")
        check_plan_unit(self.unit)
        if self.budget is not None and (isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget <= 0):
            raise ValueError(f"`budget` must be a positive whole number. Got {self.budget!r} instead.")
        if not (isinstance(self.cap, (int, float)) and math.isfinite(self.cap) and self.cap >= 1):
            raise ValueError(f"`cap` must be at least 1. Got {self.cap!r} instead.")
        if not (isinstance(self.floor, (int, float)) and 0 <= self.floor <= 1):
            raise ValueError(f"`floor` must be between 0 and 1 (a fraction of each class kept). Got {self.floor!r} instead.")
        if not (0 <= self.beta < 1):
            raise ValueError(f"`beta` must be at least 0 and below 1. Got {self.beta!r} instead.")
        if not (0 < self.threshold <= 1):
            raise ValueError(f"`threshold` must be above 0 and at most 1. Got {self.threshold!r} instead.")
        if self.strategy == "custom" and not self.targets:
            raise ValueError("The `custom` strategy needs `targets`: a mapping of class names to target counts.")
        if self.strategy != "custom" and self.targets:
            raise ValueError(f"`targets` are for the `custom` strategy only. Got strategy {self.strategy!r} with targets.")

    @property
    def targets_dict(self) -> dict[str, float]:
        return dict(self.targets or ())

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy, "budget": self.budget, "cap": float(self.cap), "floor": float(self.floor),
            "unit": self.unit, "beta": float(self.beta), "threshold": float(self.threshold),
            "targets": self.targets_dict or None,
        }


def make_spec(
    strategy: str | Mapping[str, Any] | None = None,
    *,
    budget: int | float | str | None = None,
    cap: float | str = 5.0,
    floor: float | str | None = 0.0,
    unit: str = "images",
    beta: float | str = 0.999,
    threshold: float | str = 0.001,
    targets: Mapping[str, Any] | None = None,
) -> PlanSpec:
    """The one place flexible input becomes a :class:`PlanSpec`.

    ``strategy`` is a name (any usual spelling) or a mapping of targets (then ``custom``);
    None means ``balanced``, or ``custom`` when ``targets`` are given.
    Numbers may arrive as text (from a CLI or a form); a whole-valued float budget is accepted.
    """
    if isinstance(strategy, Mapping):
        if targets is not None:
            raise ValueError("Give per-class targets once: either as `strategy` or as `targets`.")
        targets, strategy = strategy, "custom"
    if strategy is None:
        strategy = "custom" if targets is not None else "balanced"
    name = normalize_strategy(strategy)
    if budget is not None:
        number = _parse_number("budget", budget)
        if number != int(number):
            raise ValueError(f"`budget` must be a positive whole number. Got {budget!r} instead.")
        budget = int(number)
    unit_name = str(unit).strip().lower()
    return PlanSpec(
        strategy=name,
        budget=budget,
        cap=_parse_number("cap", cap),
        floor=0.0 if floor is None else _parse_number("floor", floor),
        unit=unit_name,  # type: ignore[arg-type]
        beta=_parse_number("beta", beta),
        threshold=_parse_number("threshold", threshold),
        targets=normalize_targets(targets) if targets is not None else None,
    )


def parse_counts(text: str) -> dict[str, int]:
    """``"Car=6000,Pedestrian=2500"`` -> ``{"Car": 6000, "Pedestrian": 2500}`` (whole, non-negative counts)."""
    counts: dict[str, int] = {}
    for part in str(text).split(","):
        if not part.strip():
            continue
        name, sep, value = part.rpartition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"`counts` must look like 'Car=6000,Pedestrian=2500'. Got {part.strip()!r} instead.")
        number = _parse_number(f"counts[{name!r}]", value)
        if number < 0 or number != int(number):
            raise ValueError(f"`counts[{name!r}]` must be a whole number of at least 0. Got {value.strip()!r} instead.")
        if name in counts:
            raise ValueError(f"`counts` names {name!r} twice.")
        counts[name] = int(number)
    if not counts:
        raise ValueError("`counts` must name at least one class, like 'Car=6000,Pedestrian=2500'.")
    return counts


def check_target_classes(targets: Mapping[str, Any], classes: Sequence[str], source: str = "targets",
                         among: str = "the export") -> None:
    """ValueError, naming ``source`` (the targets file), when ``targets`` name a class that is not
    in ``classes`` (the classes of ``among``); the closest known name is suggested, long lists cut."""
    from difflib import get_close_matches

    from ..report import excerpt

    known = list(classes)
    unknown = sorted(set(targets) - set(known))
    if not unknown:
        return
    close = get_close_matches(unknown[0], known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"{source}: {len(unknown)} class(es) not in {among}: {excerpt(unknown, 120)}.{hint} "
                     f"Known: {excerpt(sorted(known), 200)}.")


_NAME_COLUMNS = ("class", "name", "category", "label")


def read_targets(source: str | Path | bytes, name: str = "") -> dict[str, float]:
    """Per-class targets from a CSV (a class column — ``class``, ``name``, ``category`` or ``label`` —
    and a ``target`` column) or a JSON object ``{"Car": 2000, ...}``; ``source`` is a path or the bytes."""
    import pandas as pd

    from ..io.files import parse_json, read_bytes
    from ..report import LoadError, LoadReport, excerpt, shorten

    if isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), name or "targets"
    else:
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"`targets` file not found: {path}")
        data, label = read_bytes(path), str(path)
    text = data.decode("utf-8-sig", errors="replace")
    if label.lower().endswith(".json") or text.lstrip().startswith("{"):
        try:
            doc = parse_json(data, label, LoadReport())  # bounded: a file nested too deeply is an error, not a crash
        except LoadError as exc:
            raise ValueError(str(exc)) from None
        if not isinstance(doc, dict):
            raise ValueError(f"{label}: the JSON must be an object mapping class names to targets.")
        pairs = doc
    else:
        try:
            table = pd.read_csv(io.StringIO(text), sep=None, engine="python", dtype=str)
        except Exception as exc:  # pandas raises several parser errors
            raise ValueError(f"{label}: cannot read it as CSV ({shorten(str(exc), 200)}).") from None
        columns = {c.strip().lower(): c for c in table.columns}
        name_col = next((columns[c] for c in _NAME_COLUMNS if c in columns), None)
        if name_col is None or "target" not in columns:
            raise ValueError(f"{label}: needs a class column ({', '.join(_NAME_COLUMNS)}) and a `target` column. "
                             f"Found {excerpt(list(table.columns))}.")
        pairs = {}
        for line, (cls, value) in enumerate(zip(table[name_col], table[columns["target"]]), start=2):
            if cls is None or str(cls).strip() in ("", "nan"):
                raise ValueError(f"{label}:{line}: the class name is empty.")
            if str(cls).strip() in pairs:
                raise ValueError(f"{label}:{line}: {excerpt(str(cls).strip())} appears twice.")
            pairs[str(cls).strip()] = value
    for cls, value in pairs.items():
        if isinstance(value, (dict, list)):
            raise ValueError(f"{label}: the target of {excerpt(cls)} must be a number. Got {excerpt(value)} instead.")
    try:
        return dict(normalize_targets(pairs))
    except ValueError as exc:  # the message may quote a class name from the file: keep it short
        raise ValueError(f"{label}: {shorten(str(exc), 300)}") from None
