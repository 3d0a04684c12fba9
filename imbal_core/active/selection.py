"""Quota-filling batch selection: which pool images to label next, with per-group caps.

The ``n`` slots are shared among the quota classes still short of their targets, the rest go
to the most uncertain images (the rules: :mod:`imbal_core.active`, step by step).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..apportion import apportion
from ..downloads import csv_bytes
from ..io._conditions import GROUP_FIELDS
from .pool import Pool
from .scoring import Rule

log = logging.getLogger(__name__)

#: Default group cap: one twentieth of the batch.
GROUP_SHARE = 0.05


@dataclass(frozen=True, eq=False)
class Selection:
    """A batch to label, ranked, with how it shares out over classes and conditions.

    ``batch`` columns: ``rank`` (1 = label first), ``image``, ``image_id``, ``file_name``,
    ``group``, conditions, ``score`` (what was ranked), ``uncertainty``, ``predicted`` (the quota
    classes it is predicted to hold, with probabilities, as text), ``fills`` (the quota class
    whose share it fills, null for uncertainty picks), ``reason``.
    ``classes``: per quota class ``class``, ``remaining`` (to its target), ``share`` (slots it
    was given), ``selected`` (images that fill it), ``holding`` (selected images predicted to hold
    it, whatever they fill), ``candidates`` (pool images predicted to hold it).
    ``conditions``: per ``condition`` and ``value``: ``pool`` images and ``selected`` images.
    """

    batch: pa.Table
    classes: pa.Table
    conditions: pa.Table
    n: int
    rule: Rule
    max_per_group: int | None
    group: str | None
    seed: int

    @property
    def size(self) -> int:
        return self.batch.num_rows

    def to_csv(self) -> bytes:
        """The ranked batch for the annotation tool (formula-safe CSV)."""
        keep = [c for c in ("rank", "image", "file_name", "score", "predicted", "reason", "group", "uncertainty")
                if c in self.batch.schema.names]
        return csv_bytes(self.batch.select(keep))

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "selected": self.size, "rule": self.rule, "group": self.group,
                "max_per_group": self.max_per_group, "seed": self.seed,
                "classes": self.classes.to_pylist(), "conditions": self.conditions.to_pylist()}


def resolve_group(pool: Pool, group: str | None) -> str | None:
    """The pool column that ``group`` names: ``group`` itself, a condition, or an export's name for groups
    (``sequence``, ``video``, ``site`` ...) which the readers put in ``group``. None: no cap."""
    if group is None:
        return None
    if group in ("group", *pool.conditions):
        return group
    if group in GROUP_FIELDS:
        return "group"
    raise ValueError(f"`group` must be 'group' (the export's sequence / video / site) or a condition "
                     f"{list(pool.conditions)}. Got {group!r} instead.")


def select_batch(pool: Pool, n: int, quotas: Mapping[str, float] | None = None, *, boost: float = 1.0,
                 group: str | None = "group", max_per_group: int | None = None, seed: int = 0) -> Selection:
    """Choose ``n`` images to label (see :mod:`imbal_core.active`).

    ``quotas``: what each class still needs (e.g. ``remaining`` from quota progress); classes at
    or below 0 are ignored. ``boost`` (1.0): extra weight of images predicted to hold a short
    class. ``group`` ("group"): the column images are capped by (None: no cap); ``max_per_group``
    (None: ceil(n / 20)). ``seed`` (0): breaks ties.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"`n` must be a whole number of at least 1. Got {n!r} instead.")
    if not isinstance(boost, (int, float)) or not math.isfinite(boost) or boost < 0:
        raise ValueError(f"`boost` must be a number of at least 0. Got {boost!r} instead.")
    column = resolve_group(pool, group)
    cap = max_per_group if max_per_group is not None else max(1, math.ceil(n * GROUP_SHARE))
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ValueError(f"`max_per_group` must be a whole number of at least 1. Got {max_per_group!r} instead.")
    needs = {str(k): float(v) for k, v in (quotas or {}).items() if v is not None and float(v) > 0}
    unknown = sorted(set(needs) - set(pool.class_names))
    if unknown:
        log.info("quota classes the pool's predictions never name: %s", unknown)
    table = pool.table
    size = table.num_rows
    rng = np.random.default_rng(seed)
    tiebreak = rng.permutation(size)
    classes = table.column("classes").to_pylist()
    probs = table.column("class_scores").to_pylist()
    unc = table.column("uncertainty").to_numpy(zero_copy_only=False)
    short = [[c for c in cs if c in needs] for cs in classes]
    score = np.where([bool(s) for s in short], unc * (1 + boost), unc)
    ranking = np.lexsort((tiebreak, -score))  # best first
    groups = table.column(column).to_pylist() if column else [None] * size
    taken_in_group: dict[Any, int] = {}
    chosen: list[int] = []
    fills: dict[int, str | None] = {}
    is_chosen = np.zeros(size, dtype=bool)

    def allowed(i: int) -> bool:
        g = groups[i]
        return not is_chosen[i] and (g is None or taken_in_group.get(g, 0) < cap)

    def take(i: int, reason: str | None) -> None:
        is_chosen[i] = True
        chosen.append(i)
        fills[i] = reason
        if groups[i] is not None:
            taken_in_group[groups[i]] = taken_in_group.get(groups[i], 0) + 1

    candidates: dict[str, list[int]] = {c: [] for c in needs}
    for i in ranking.tolist():
        for c in short[i]:
            candidates[c].append(i)
    # A class never gets more slots than it still needs (an image holds at least one of it).
    caps = {c: math.ceil(needs[c]) for c in needs}
    shares = apportion(min(n, size), {c: needs[c] for c in needs if candidates[c]}, caps)
    filled = {c: 0 for c in needs}
    pointer = {c: 0 for c in needs}
    active = {c for c in shares if shares[c] > 0}
    exhausted: set[str] = set()
    while active and len(chosen) < n:
        c = min(active, key=lambda k: (filled[k] / shares[k], -needs[k], k))
        lst = candidates[c]
        while pointer[c] < len(lst) and not allowed(lst[pointer[c]]):
            pointer[c] += 1
        if pointer[c] >= len(lst):  # out of candidates: its unused slots go to the others, in proportion
            active.discard(c)
            exhausted.add(c)
            spare = shares[c] - filled[c]
            shares[c] = filled[c]
            # every class not out of candidates, including those that already filled their share
            others = {k: needs[k] for k in shares if k not in exhausted}
            room = {k: caps[k] - shares[k] for k in others}
            for k, extra in apportion(spare, others, room).items():
                shares[k] += extra
            active = {k for k in others if shares[k] > filled[k]}
            continue
        take(lst[pointer[c]], c)
        filled[c] += 1
        if filled[c] >= shares[c]:
            active.discard(c)
    for i in ranking.tolist():  # what no quota class could fill: the most uncertain images left
        if len(chosen) >= n:
            break
        if allowed(i):
            take(i, None)
    return _selection(pool, chosen, fills, score, short, probs, classes, needs, shares, candidates, n, column, cap,
                      seed, max_per_group if column else None)


def _selection(pool: Pool, chosen: list[int], fills: dict[int, str | None], score: np.ndarray, short: list[list[str]],
               probs: list[list[float]], classes: list[list[str]], needs: dict[str, float], shares: dict[str, int],
               candidates: dict[str, list[int]], n: int, column: str | None, cap: int, seed: int,
               max_per_group: int | None) -> Selection:
    table = pool.table
    position = {i: k for k, i in enumerate(chosen)}
    order = sorted(chosen, key=lambda i: (-score[i], position[i]))
    idx = pa.array(order, pa.int64())
    rows = table.take(idx)
    predicted = []
    for i in order:
        pairs = [(c, p) for c, p in zip(classes[i], probs[i]) if c in needs] or list(zip(classes[i], probs[i]))[:3]
        predicted.append(", ".join(f"{c} ({p:.2f})" for c, p in pairs))
    reasons = []
    for i in order:
        what = f"{pool.rule} {table.column('uncertainty')[i].as_py():.2f}"
        reasons.append(f"fills the {fills[i]} quota; {what}" if fills[i] else f"among the most uncertain; {what}")
    keep = ["image", "image_id", "file_name", "group", *pool.conditions, "uncertainty"]
    batch = rows.select(keep)
    batch = batch.set_column(batch.schema.get_field_index("uncertainty"), "uncertainty",
                             pc.round(batch.column("uncertainty"), 4))
    batch = batch.add_column(0, "rank", pa.array(np.arange(1, len(order) + 1), pa.int64()))
    batch = batch.add_column(batch.schema.get_field_index("uncertainty"), "score",
                             pa.array([round(float(score[i]), 4) for i in order], pa.float64()))
    batch = batch.append_column("predicted", pa.array(predicted, pa.string()))
    batch = batch.append_column("fills", pa.array([fills[i] for i in order], pa.string()))
    batch = batch.append_column("reason", pa.array(reasons, pa.string()))
    picked = set(chosen)
    filled_by: dict[str, int] = {}
    holding: dict[str, int] = {}
    for i in picked:
        if fills[i] is not None:
            filled_by[fills[i]] = filled_by.get(fills[i], 0) + 1
        for c in short[i]:
            holding[c] = holding.get(c, 0) + 1
    class_rows = {"class": [], "remaining": [], "share": [], "selected": [], "holding": [], "candidates": []}
    for c in sorted(needs, key=lambda k: (-needs[k], k)):
        class_rows["class"].append(c)
        class_rows["remaining"].append(needs[c])
        class_rows["share"].append(shares.get(c, 0))
        class_rows["selected"].append(filled_by.get(c, 0))
        class_rows["holding"].append(holding.get(c, 0))
        class_rows["candidates"].append(len(candidates.get(c, [])))
    class_table = pa.table({"class": pa.array(class_rows["class"], pa.string()),
                            "remaining": pa.array(class_rows["remaining"], pa.float64()),
                            **{k: pa.array(class_rows[k], pa.int64()) for k in ("share", "selected", "holding", "candidates")}})
    cond_rows = {"condition": [], "value": [], "pool": [], "selected": []}
    for name in ([column] if column and column not in pool.conditions else []) + list(pool.conditions):
        values = table.column(name).to_pylist()
        counts: dict[Any, list[int]] = {}
        for i, v in enumerate(values):
            counts.setdefault(v, [0, 0])[0] += 1
        for i in chosen:
            counts[values[i]][1] += 1
        if name == column and name not in pool.conditions:
            counts = {v: c for v, c in counts.items() if c[1]}  # groups: only those in the batch
        for v, (total, sel) in sorted(counts.items(), key=lambda kv: (-kv[1][1], str(kv[0]))):
            cond_rows["condition"].append(name)
            cond_rows["value"].append(None if v is None else str(v))
            cond_rows["pool"].append(total)
            cond_rows["selected"].append(sel)
    cond_table = pa.table({"condition": pa.array(cond_rows["condition"], pa.string()),
                           "value": pa.array(cond_rows["value"], pa.string()),
                           "pool": pa.array(cond_rows["pool"], pa.int64()),
                           "selected": pa.array(cond_rows["selected"], pa.int64())})
    return Selection(batch, class_table, cond_table, n, pool.rule, cap if column else None, column, seed)
