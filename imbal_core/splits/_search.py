"""The optimiser behind :func:`imbal_core.splits.make_splits`, on plain matrices.

Input: ``B`` blocks (a group, or one image when there are no groups), each with its image count
and, per *family* of features, a sparse row of counts: class instances, images holding each class,
images per condition value. Output: one split index per block.

Objective (lower is better), averaged over the splits:

- per family, the mean over its features of ``|share in the split - share in the whole|``, where
  a feature's share is its count over the family's total in that split (for the instance family
  this is exactly the per-class label-distribution error the split check reports);
- a guard against a class missing from a split although it has blocks enough to be everywhere;
- the size: no cost while a split's share of the images is within ``tolerance`` of its ratio,
  a steep one beyond, and a slight one for any deviation (exact sizes win ties).

Search: group-aware iterative stratification (Sechidis et al., 2011: rarest label first, each block
to the split that still wants that label most) for a start, then local search over moves of one
block and swaps of two, from a few seeded starts; the best result wins. Moves are scored for all
blocks at once in O(non-zeros): the sum of ``|e_f + n P_f|`` over the features a block does not
hold is a piecewise-linear function of its size ``n`` alone, read from prefix sums over sorted
breakpoints; only the block's own non-zeros need a correction. A move is applied only when its
exact score for the state at that moment improves the objective, so a local search never makes it
worse; kicks (random swaps between searches) may, and the best assignment seen is kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: Cost of each (split, class) cell that has no instance although the class could be in every split.
MISSING_WEIGHT = 0.5
#: Cost per unit of a split's image share beyond the tolerance, and per unit of any deviation.
SIZE_WEIGHT = 4.0
EXACT_SIZE_WEIGHT = 0.02
_EPS = 1e-12
#: Families with at most this many (block, feature) cells are searched with dense arrays.
DENSE_CELLS = 2_000_000
#: At most this many blocks per pair of splits are scored in one pass (a seeded sample).
MAX_CANDIDATES = 20_000
#: Two splits with at most this many pairs of blocks between them have every swap scored (else the best 16 a side).
FULL_SWAP_PAIRS = 4_096


@dataclass
class Family:
    """One family of features: a sparse (blocks x features) count matrix and its weight."""

    name: str
    matrix: sp.csr_matrix
    weight: float = 1.0
    guard_missing: bool = False  # a split without any of a feature costs MISSING_WEIGHT / features


class _FamilyState:
    """Per split: counts ``X`` (S x F), totals ``N``, errors ``e = X - N P`` and the cost of one family."""

    def __init__(self, family: Family, assign: np.ndarray, n_splits: int):
        m = family.matrix.tocsr()
        totals = np.asarray(m.sum(axis=0)).ravel()
        keep = np.flatnonzero(totals > 0)
        if len(keep) < m.shape[1]:
            m = m[:, keep].tocsr()
        m.sort_indices()
        self.matrix = m
        totals = totals[keep]
        blocks = m.shape[0]
        # Small problems keep a dense copy: dense row arithmetic beats sparse slicing there.
        self.dense = m.toarray() if blocks * len(keep) <= DENSE_CELLS else None
        self.weight = family.weight / max(len(keep), 1)
        self.P = totals / totals.sum() if totals.sum() > 0 else totals
        self.row_totals = np.asarray(m.sum(axis=1)).ravel()
        self.S = n_splits
        self.feasible = np.diff(m.tocsc().indptr) >= n_splits if family.guard_missing else None
        self.miss_weight = MISSING_WEIGHT / max(len(keep), 1) if family.guard_missing else 0.0
        onehot = sp.csr_matrix((np.ones(blocks), (assign, np.arange(blocks))), shape=(n_splits, blocks))
        self.X = np.asarray((onehot @ m).todense(), dtype=np.float64).reshape(n_splits, len(keep))
        self.N = self.X.sum(axis=1)
        self.e = self.X - np.multiply.outer(self.N, self.P)
        self.cost = np.array([self._cost(s) for s in range(n_splits)])
        self._breaks: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def _cost(self, s: int) -> float:
        cost = self.weight * _share_error(np.abs(self.e[s]).sum(), self.N[s])
        if self.feasible is not None:
            cost += self.miss_weight * float(np.sum((self.X[s] == 0) & self.feasible))
        return cost

    def _G(self, s: int, n: np.ndarray) -> np.ndarray:
        """``sum_f |e_sf + n P_f|`` for each ``n``: ``sum_f P_f |n - beta_f|`` with ``beta_f = -e_sf / P_f``."""
        if s not in self._breaks:
            beta = -self.e[s] / self.P
            order = np.argsort(beta, kind="stable")
            b, p = beta[order], self.P[order]
            self._breaks[s] = (b, np.concatenate([[0.0], np.cumsum(p)]), np.concatenate([[0.0], np.cumsum(p * b)]))
        b, cp, cpb = self._breaks[s]
        k = np.searchsorted(b, n, side="right")
        return n * cp[k] - cpb[k] + (cpb[-1] - cpb[k]) - n * (cp[-1] - cp[k])

    def move_delta(self, rows: np.ndarray, s: int, t: int) -> np.ndarray:
        """Change of ``cost_s + cost_t`` when each block of ``rows`` (all in ``s``) moves to ``t``."""
        old = self.cost[s] + self.cost[t]
        if self.dense is not None:
            x = self.dense[rows]
            return self.change_cost(s, -x) + self.change_cost(t, x) - old
        n = self.row_totals[rows]
        sub = self.matrix[rows]
        row_of = np.repeat(np.arange(len(rows)), np.diff(sub.indptr))
        f, x = sub.indices, sub.data
        nr = n[row_of]
        es = self.e[s, f] + nr * self.P[f]
        et = self.e[t, f] - nr * self.P[f]
        corr_s = np.bincount(row_of, np.abs(es - x) - np.abs(es), minlength=len(rows))
        corr_t = np.bincount(row_of, np.abs(et + x) - np.abs(et), minlength=len(rows))
        new = self.weight * (_share_error(self._G(s, n) + corr_s, self.N[s] - n)
                             + _share_error(self._G(t, -n) + corr_t, self.N[t] + n))
        if self.feasible is not None:
            miss = self.miss_weight * np.array([np.sum((self.X[u] == 0) & self.feasible) for u in (s, t)])
            feas = self.feasible[f]
            lost = np.bincount(row_of, (feas & (self.X[s, f] == x)).astype(float), minlength=len(rows))
            gained = np.bincount(row_of, (feas & (self.X[t, f] == 0)).astype(float), minlength=len(rows))
            new = new + miss.sum() + self.miss_weight * (lost - gained)
        return new - old

    def change_cost(self, s: int, dx: np.ndarray) -> np.ndarray:
        """Cost of split ``s`` after adding ``dx`` (F, or ... x F for many at once) to its counts."""
        X = self.X[s] + dx
        N = X.sum(axis=-1)
        err = np.abs(X - np.multiply.outer(N, self.P)).sum(axis=-1)
        cost = self.weight * _share_error(err, N)
        if self.feasible is not None:
            cost = cost + self.miss_weight * ((X <= 0) & self.feasible).sum(axis=-1)
        return cost

    def row(self, block: int) -> np.ndarray:
        if self.dense is not None:
            return self.dense[block]
        out = np.zeros(self.X.shape[1])
        lo, hi = self.matrix.indptr[block], self.matrix.indptr[block + 1]
        out[self.matrix.indices[lo:hi]] = self.matrix.data[lo:hi]
        return out

    def rows(self, blocks: np.ndarray) -> np.ndarray:
        if self.dense is not None:
            return self.dense[blocks]
        return self.matrix[blocks].toarray()

    def apply(self, dx: np.ndarray, s: int, t: int) -> None:
        """Move counts ``dx`` (dense, F) from split ``s`` to split ``t``."""
        for u, sign in ((s, -1.0), (t, 1.0)):
            self.X[u] += sign * dx
            self.N[u] = self.X[u].sum()
            self.e[u] = self.X[u] - self.N[u] * self.P
            self.cost[u] = self._cost(u)
            self._breaks.pop(u, None)


def _share_error(abs_sum, total):
    """``sum_f |e_f| / N``; an empty split gets the largest error (1)."""
    if np.ndim(total) == 0:
        return float(abs_sum) / float(total) if total > _EPS else 1.0
    total = np.asarray(total, dtype=np.float64)
    safe = np.where(total > _EPS, total, 1.0)
    return np.where(total > _EPS, np.asarray(abs_sum) / safe, 1.0)


class Search:
    """Local search state: the assignment, the family states and the split sizes."""

    def __init__(self, families: list[Family], sizes: np.ndarray, ratios: np.ndarray, tolerance: float,
                 assign: np.ndarray):
        self.ratios = ratios
        self.S = len(ratios)
        self.tolerance = tolerance
        self.sizes = sizes.astype(np.float64)
        self.total = self.sizes.sum()
        self.assign = assign.copy()
        self.families = [_FamilyState(f, self.assign, self.S) for f in families]
        self.M = np.bincount(self.assign, self.sizes, minlength=self.S)

    def size_cost(self, s: int, M):
        if np.ndim(M) == 0:
            dev = abs(float(M) / self.total - self.ratios[s])
            return SIZE_WEIGHT * max(dev - self.tolerance, 0.0) + EXACT_SIZE_WEIGHT * dev
        dev = np.abs(np.asarray(M) / self.total - self.ratios[s])
        return SIZE_WEIGHT * np.maximum(dev - self.tolerance, 0.0) + EXACT_SIZE_WEIGHT * dev

    def split_cost(self, s: int) -> float:
        return float(sum(f.cost[s] for f in self.families) + self.size_cost(s, self.M[s]))

    def cost(self) -> float:
        return sum(self.split_cost(s) for s in range(self.S)) / self.S

    def _move_deltas(self, rows: np.ndarray, s: int, t: int, with_size: bool = True) -> np.ndarray:
        delta = np.zeros(len(rows))
        for f in self.families:
            delta += f.move_delta(rows, s, t)
        if with_size:
            m = self.sizes[rows]
            delta += (self.size_cost(s, self.M[s] - m) + self.size_cost(t, self.M[t] + m)
                      - self.size_cost(s, self.M[s]) - self.size_cost(t, self.M[t]))
        return delta

    def _exact_move(self, block: int, s: int, t: int) -> float:
        delta = 0.0
        for f in self.families:
            x = f.row(block)
            delta += float(f.change_cost(s, -x)) + float(f.change_cost(t, x)) - f.cost[s] - f.cost[t]
        m = self.sizes[block]
        return delta + (self.size_cost(s, self.M[s] - m) + self.size_cost(t, self.M[t] + m)
                        - self.size_cost(s, self.M[s]) - self.size_cost(t, self.M[t]))

    def _apply_move(self, block: int, s: int, t: int) -> None:
        for f in self.families:
            f.apply(f.row(block), s, t)
        self.M[s] -= self.sizes[block]
        self.M[t] += self.sizes[block]
        self.assign[block] = t

    def _apply_swap(self, i: int, j: int, s: int, t: int) -> None:
        for f in self.families:
            f.apply(f.row(i) - f.row(j), s, t)
        d = self.sizes[i] - self.sizes[j]
        self.M[s] -= d
        self.M[t] += d
        self.assign[i], self.assign[j] = t, s

    def _best_swap(self, s: int, t: int, k: int) -> tuple[float, int, int]:
        in_s, in_t = np.flatnonzero(self.assign == s), np.flatnonzero(self.assign == t)
        if not len(in_s) or not len(in_t):
            return 0.0, -1, -1
        if len(in_s) * len(in_t) <= FULL_SWAP_PAIRS:  # few blocks (a few dozen drives): try every pair
            cs, ct = in_s, in_t
        else:  # the k most promising blocks on each side
            cs = in_s[np.argsort(self._move_deltas(in_s, s, t, with_size=False), kind="stable")[:k]]
            ct = in_t[np.argsort(self._move_deltas(in_t, t, s, with_size=False), kind="stable")[:k]]
        delta = np.zeros((len(cs), len(ct)))
        for f in self.families:
            d = f.rows(cs)[:, None, :] - f.rows(ct)[None, :, :]  # what s gives to t
            delta += f.change_cost(s, -d) + f.change_cost(t, d) - f.cost[s] - f.cost[t]
        dm = self.sizes[cs][:, None] - self.sizes[ct][None, :]
        delta += (self.size_cost(s, self.M[s] - dm) + self.size_cost(t, self.M[t] + dm)
                  - self.size_cost(s, self.M[s]) - self.size_cost(t, self.M[t]))
        i, j = np.unravel_index(np.argmin(delta), delta.shape)
        return float(delta[i, j]), int(cs[i]), int(ct[j])

    def kick(self, rng: np.random.Generator, strength: int) -> None:
        """Swap ``strength`` random pairs of blocks between random splits (to leave a local optimum)."""
        for _ in range(strength):
            s, t = rng.choice(self.S, 2, replace=False)
            in_s, in_t = np.flatnonzero(self.assign == s), np.flatnonzero(self.assign == t)
            if len(in_s) and len(in_t):
                self._apply_swap(int(rng.choice(in_s)), int(rng.choice(in_t)), int(s), int(t))

    def run(self, max_passes: int, rng: np.random.Generator, swap_candidates: int = 16) -> None:
        """Improve until no move or swap helps (or ``max_passes``).

        Each pass scores the moves of every block (of a seeded sample of :data:`MAX_CANDIDATES`
        per pair of splits when there are more) at once and applies the best; further candidates
        of the pass are re-scored exactly (the state has changed) and applied while they help.
        """
        pairs = [(s, t) for s in range(self.S) for t in range(self.S) if s != t]
        batch = max(64, len(self.assign) // 256)
        for _ in range(max_passes):
            found: list[tuple[float, int, int, int]] = []
            for s, t in pairs:
                rows = np.flatnonzero(self.assign == s)
                if len(rows) > MAX_CANDIDATES:
                    rows = np.sort(rng.choice(rows, MAX_CANDIDATES, replace=False))
                if not len(rows):
                    continue
                delta = self._move_deltas(rows, s, t)
                best = np.argsort(delta, kind="stable")[:batch]
                found += [(float(delta[i]), int(rows[i]), s, t) for i in best if delta[i] < -_EPS]
            found.sort()
            if found:
                _, block, s, t = found[0]
                self._apply_move(block, s, t)
                misses = 0
                for _, block, s, t in found[1:batch]:
                    if misses >= 16:
                        break
                    if self.assign[block] == s and self._exact_move(block, s, t) < -_EPS:
                        self._apply_move(block, s, t)
                        misses = 0
                    else:
                        misses += 1
                continue
            swaps = [(*self._best_swap(s, t, swap_candidates), s, t) for s, t in pairs if s < t]
            delta, i, j, s, t = min(swaps) if swaps else (0.0, -1, -1, 0, 0)
            if delta >= -_EPS:
                return
            self._apply_swap(i, j, s, t)


def initial_assignment(families: list[Family], sizes: np.ndarray, ratios: np.ndarray,
                       rng: np.random.Generator) -> np.ndarray:
    """Iterative stratification over blocks (Sechidis et al., 2011), extended to groups and conditions.

    Labels (every feature of every family) are taken rarest first (fewest blocks holding them);
    each block not yet placed that holds the label goes, largest first, to the split that still
    wants most of that label (ties: the split that wants most images, then a seeded draw). Other
    labels' wants are updated after each label's turn. Blocks holding no label fill the splits
    that still want images.
    """
    S, B = len(ratios), len(sizes)
    matrix = sp.hstack([f.matrix for f in families], format="csc") if families else sp.csc_matrix((B, 0))
    totals = np.asarray(matrix.sum(axis=0)).ravel()
    holders = np.diff(matrix.indptr)
    want = ratios[:, None] * totals[None, :]
    want_size = ratios * sizes.sum()
    assign = np.full(B, -1, dtype=np.int64)
    tiebreak = rng.random(B)
    labels = [f for f in np.lexsort((rng.random(len(holders)), holders)) if holders[f] > 0]
    csr = matrix.tocsr()
    for label in labels:
        lo, hi = matrix.indptr[label], matrix.indptr[label + 1]
        blocks, counts = matrix.indices[lo:hi], matrix.data[lo:hi]
        free = assign[blocks] < 0
        if not free.any():
            continue
        blocks, counts = blocks[free], counts[free]
        order = np.lexsort((tiebreak[blocks], -sizes[blocks], -counts))
        w, ws = want[:, label].tolist(), want_size.tolist()
        prio = rng.permutation(S).tolist()  # a seeded order among exact ties
        placed = np.empty(len(order), dtype=np.int64)
        block_sizes, block_counts = sizes[blocks].tolist(), counts.tolist()
        for k, i in enumerate(order.tolist()):
            s = max(range(S), key=lambda u: (w[u], ws[u], prio[u]))
            placed[k] = s
            w[s] -= block_counts[i]
            ws[s] -= block_sizes[i]
        want_size = np.asarray(ws)
        chosen = blocks[order]
        assign[chosen] = placed
        sub = csr[chosen]
        row_split = np.repeat(placed, np.diff(sub.indptr))
        np.subtract.at(want, (row_split, sub.indices), sub.data)
    rest = np.flatnonzero(assign < 0)
    for b in rest[np.lexsort((tiebreak[rest], -sizes[rest]))]:
        s = int(np.argmax(want_size))
        assign[b] = s
        want_size[s] -= sizes[b]
    return assign


def optimise(families: list[Family], sizes: np.ndarray, ratios: np.ndarray, tolerance: float,
             seed: int | np.random.Generator, rounds: int | None = None, max_passes: int | None = None
             ) -> tuple[np.ndarray, float]:
    """The best assignment (split index per block) found, and its cost.

    ``rounds`` local searches are run in all (None: more for fewer blocks, as each is cheap and
    groups make the landscape rugged): a few seeded starts, each followed by kicks (a few random
    swaps, then local search again; kept only if better).
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    B = len(sizes)
    if rounds is None:
        rounds = int(np.clip(8_000 // max(B, 1), 1, 48))
    if max_passes is None:  # a pass scores up to MAX_CANDIDATES blocks per pair of splits
        pairs = len(ratios) * (len(ratios) - 1)
        max_passes = int(np.clip(1_500_000 // max(min(B, MAX_CANDIDATES) * pairs, 1), 5, 400))
    starts = min(rounds, 4)
    kicks = rounds // starts - 1
    best, best_cost = None, np.inf
    for child in rng.spawn(starts):
        search = Search(families, sizes, ratios, tolerance, initial_assignment(families, sizes, ratios, child))
        search.run(max_passes, child)
        here, here_cost = search.assign.copy(), search.cost()
        for _ in range(kicks):
            search.kick(child, strength=int(np.clip(B // 20, 2, 6)))
            search.run(max_passes, child)
            cost = search.cost()
            if cost < here_cost - _EPS:
                here, here_cost = search.assign.copy(), cost
            else:
                search = Search(families, sizes, ratios, tolerance, here)
        if here_cost < best_cost - _EPS:
            best, best_cost = here, here_cost
    return best, best_cost
