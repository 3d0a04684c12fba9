"""Can per-image weights meet a plan at all, and if not, why: the linear-programming bound and the notes."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from .solver import ClassPlan

if TYPE_CHECKING:
    from .weights import ImageWeights, Incidence

#: A class is "within" its target when achieved is within this share of it.
TOLERANCE = 0.05


def best_worst_error(inc: "Incidence", targets: np.ndarray, floor: float, cap: float) -> float:
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


def with_notes(result: "ImageWeights", inc: "Incidence", plan: ClassPlan, rows: sp.csr_matrix, m: np.ndarray,
               group_repeats: np.ndarray, check_reachable: int) -> "ImageWeights":
    """``result`` with warnings when a class misses by more than 5%: how many, the best any weights could
    do (linear programming, when there are at most ``check_reachable`` distinct rows) and, for the three
    worst, the class sharing their images that pulls them the other way."""
    missed = np.flatnonzero(~result.within())
    if len(missed) == 0:
        return result
    best = None
    if check_reachable and len(m) <= check_reachable:
        best = best_worst_error(inc, plan.effective, result.floor, result.cap)
    errors = result.relative_error
    worst = missed[np.argsort(-np.abs(errors[missed]))]
    head = (f"Per-image weights miss {len(missed)} of {int((inc.counts > 0).sum())} class targets by more than 5% "
            f"(worst: {result.classes[worst[0]]} {errors[worst[0]]:+.0%}).")
    if best is not None:
        head += (" No weights within the floor and cap can meet them all: the best possible worst miss is "
                 f"{best:.0%}." if best >= 0.095 else  # one decimal near 5%: "5%" would contradict "more than 5%"
                 " No weights within the floor and cap can meet them all: the best possible worst miss is "
                 f"{best:.1%}." if best > TOLERANCE else
                 f" Weights keeping every class within 5% exist (best possible worst miss {best:.1%}); the fitted "
                 "ones spread the misses differently: they minimise the squared misses, not the worst one.")
    notes = [head]
    multipliers = plan.multipliers
    for c in worst[:3]:
        partner = _partner(rows, m, group_repeats, c, multipliers, over=errors[c] > 0)
        if partner is not None:
            d, share = partner
            where = f"{errors[c]:.0%} over" if errors[c] > 0 else f"{-errors[c]:.0%} short of"
            kind = "oversampled" if errors[c] > 0 else "undersampled"
            notes.append(f"{result.classes[c]} ends {where} its target: {share:.0%} of its samples are in images "
                         f"that also hold {result.classes[d]} ({kind} {multipliers[d]:.2g}x).")
    return replace(result, best_worst_error=best, warnings=tuple(notes))


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
