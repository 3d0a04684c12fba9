"""How far per-image weights miss a plan, whether any weights could meet it (the linear-programming
bound) and, when they cannot, why: the notes a fit reports, as plain data."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .incidence import Incidence
from .solver import ClassPlan

#: A class is "within" its target when achieved is within this share of it.
TOLERANCE = 0.05


@dataclass(frozen=True)
class MissNotes:
    """What a fit reports about its misses: ``best_worst_error`` (the linear-programming bound, None
    when not checked) and ``warnings`` (sentences, the first a summary; empty when nothing is missed)."""

    best_worst_error: float | None = None
    warnings: tuple[str, ...] = ()


def relative_error(achieved: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """achieved / target - 1 per class (NaN where the target is 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(targets > 0, achieved / np.maximum(targets, 1) - 1, np.nan)


def within(errors: np.ndarray, counts: np.ndarray, tolerance: float = TOLERANCE) -> np.ndarray:
    """Per class: the relative error is at most ``tolerance`` (classes with no samples count as within)."""
    err = np.abs(errors)
    return np.where(np.isnan(err) | (counts == 0), True, err <= tolerance)


def best_worst_error(inc: Incidence, targets: np.ndarray, floor: float, cap: float) -> float:
    """The smallest worst-class relative error ``max_c |achieved_c - target_c| / target_c`` reachable
    by any per-image repeats within ``[floor, cap]`` (a linear programme over distinct rows; HiGHS).

    0 means the targets can all be met exactly. Classes with no samples are left out.
    """
    import scipy.optimize as so  # half a second to import: only when a plan is missed

    rows, m, _ = inc.groups
    active = (inc.counts > 0)
    targets = np.asarray(targets, dtype=np.float64)
    if len(m) == 0 or not active.any():
        return 0.0
    sub = rows.T.tocsr()[active]  # classes x groups
    e = targets[active]
    denom = np.maximum(e, 1.0)
    n_groups = sub.shape[1]
    t_column = sp.csr_matrix(-denom[:, None])
    a_ub = sp.vstack([sp.hstack([sub, t_column]), sp.hstack([-sub, t_column])]).tocsr()
    b_ub = np.r_[e, -e]
    cost = np.r_[np.zeros(n_groups), 1.0]
    bounds = np.c_[np.r_[floor * m, 0.0], np.r_[cap * m, np.inf]]
    out = so.linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if out.status != 0:  # pragma: no cover - the programme is always feasible (t is free above)
        raise RuntimeError(f"linear programme failed: {out.message}")
    return float(out.x[-1])


def miss_notes(inc: Incidence, plan: ClassPlan, errors: np.ndarray, floor: float, cap: float,
               group_repeats: np.ndarray, check_reachable: int) -> MissNotes:
    """The notes on weights whose per-class relative ``errors`` miss by more than :data:`TOLERANCE`: how
    many classes, the best any weights within ``[floor, cap]`` could do (linear programming, when there
    are at most ``check_reachable`` distinct rows) and, for the three worst, the class sharing their
    images that pulls them the other way. ``group_repeats``: the repeats of each distinct row."""
    missed = np.flatnonzero(~within(errors, inc.counts))
    if len(missed) == 0:
        return MissNotes()
    rows, m, _ = inc.groups
    best = None
    if check_reachable and len(m) <= check_reachable:
        best = best_worst_error(inc, plan.effective, floor, cap)
    worst = missed[np.argsort(-np.abs(errors[missed]))]
    notes = [_summary(len(missed), int((inc.counts > 0).sum()), inc.classes[worst[0]], errors[worst[0]], best)]
    multipliers = plan.multipliers
    for c in worst[:3]:
        partner = _partner(rows, m, group_repeats, c, multipliers, over=errors[c] > 0)
        if partner is not None:
            d, share = partner
            where = f"{errors[c]:.0%} over" if errors[c] > 0 else f"{-errors[c]:.0%} short of"
            kind = "oversampled" if errors[c] > 0 else "undersampled"
            notes.append(f"{inc.classes[c]} ends {where} its target: {share:.0%} of its samples are in images "
                         f"that also hold {inc.classes[d]} ({kind} {multipliers[d]:.2g}x).")
    return MissNotes(best, tuple(notes))


def _summary(missed: int, classes: int, worst: str, worst_error: float, best: float | None) -> str:
    """The first note: how many classes miss, the worst, and what the linear programme says (when run)."""
    tolerance = f"{TOLERANCE:.0%}"
    head = f"Per-image weights miss {missed} of {classes} class targets by more than {tolerance} " \
           f"(worst: {worst} {worst_error:+.0%})."
    if best is None:
        return head
    if best <= TOLERANCE:
        return (f"{head} Weights keeping every class within {tolerance} exist (best possible worst miss {best:.1%}); "
                "the fitted ones spread the misses differently: they minimise the squared misses, not the worst one.")
    # Whole percents from twice the tolerance up; one decimal below, where "5%" would contradict "more than 5%".
    shown = f"{best:.0%}" if round(best * 100) >= round(2 * TOLERANCE * 100) else f"{best:.1%}"
    return f"{head} No weights within the floor and cap can meet them all: the best possible worst miss is {shown}."


def _partner(rows: sp.csr_matrix, m: np.ndarray, r: np.ndarray, c: int, multipliers: np.ndarray,
             over: bool) -> tuple[int, float] | None:
    """The class sharing the most of ``c``'s samples among those pushed the other way (over: oversampled)."""
    column = np.asarray(rows[:, c].todense()).ravel()
    mass = m * r * column
    total = mass.sum()
    if total <= 0:
        return None
    shared = np.asarray(rows.sign().T @ mass).ravel() / total  # of c's samples, the share in images holding d
    with np.errstate(invalid="ignore"):
        eligible = (multipliers > 1) if over else (multipliers < 1)
    eligible[c] = False
    shared = np.where(eligible, shared, 0.0)
    d = int(np.argmax(shared))
    return (d, float(shared[d])) if shared[d] > 0 else None
