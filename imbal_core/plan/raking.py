"""The optimiser behind :func:`imbal_core.plan.weights.fit_weights`: bounded raking in its dual.

With ``A`` the (distinct) image rows x classes, ``m`` their multiplicities and ``e`` the targets,
the repeats that minimise ``sum_i m_i (r_i log r_i - r_i) + 1/(2 mu) sum_c (a_c - e_c)^2 / e_c``
over ``floor <= r_i <= cap`` (``a = A^T (m r)``) are ``r_i = clip(exp(A_i theta), floor, cap)``,
where ``theta`` (one log-factor per class) maximises the concave dual

    D(theta) = theta . e - mu/2 sum_c e_c theta_c^2 - sum_i m_i phi(A_i theta),

``phi`` being the convex conjugate of the bounded entropy. Its gradient costs two sparse products,
``e - mu e theta - A^T (m r)``: stationarity says each class misses its target by ``mu theta_c``
of it, so reachable targets are met to about 0.1% and unreachable ones settle on the penalty's
compromise. L-BFGS with the dual's diagonal curvature as the initial inverse Hessian (head and
tail classes differ by orders of magnitude there) converges in tens of iterations on a million images.
"""
from __future__ import annotations

import logging
import math
from typing import Callable

import numpy as np
import scipy.sparse as sp

log = logging.getLogger(__name__)


def fit_log_factors(rows: sp.csr_matrix, m: np.ndarray, targets: np.ndarray, counts: np.ndarray, lo: float, hi: float,
                    mu: float, tolerance: float, max_iterations: int) -> tuple[np.ndarray, int, bool]:
    """Repeats per distinct row, the iterations used and whether the residual fell below ``tolerance``."""
    # A floor of 0 becomes 1e-12 repeats: exp() of very negative numbers gives subnormal floats,
    # on which arithmetic is a hundred times slower.
    log_lo, log_hi = math.log(max(lo, 1e-12)), math.log(hi)
    rows_t = rows.T.tocsr()
    squares_t = rows_t.multiply(rows_t).tocsr() if (rows.data != 1).any() else rows_t
    scale = np.maximum(targets, 1.0)
    theta = np.log(np.clip(np.maximum(targets, 0.5) / np.maximum(counts, 1), max(lo, 1e-6), hi))

    def negative_dual(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        s = rows @ theta
        clipped = np.clip(s, log_lo, log_hi)
        r = np.exp(clipped)
        phi = r * (s - clipped + 1.0)  # the conjugate of the bounded entropy
        # elementwise sums, not `@`: BLAS dot products stall when their threads compete for the cores
        value = (theta * targets).sum() - 0.5 * mu * (scale * theta * theta).sum() - (m * phi).sum()
        grad = targets - mu * scale * theta - rows_t @ (m * r)
        return -value, -grad, r, s

    value, grad, r, s = negative_dual(theta)
    # The dual's curvature along theta_c: the class's unclipped mass (+ the penalty); it differs by
    # orders of magnitude between head and tail classes, so it preconditions L-BFGS.
    inside = (s > log_lo) & (s < log_hi)
    curvature = np.maximum(squares_t @ (m * r * inside) + mu * scale, 1e-9)

    def residual(g: np.ndarray) -> float:
        return float(np.max(np.abs(g) / scale))

    theta, iterations, grad = lbfgs(negative_dual, theta, value, grad, 1.0 / curvature,
                                    lambda g: residual(g) < tolerance, max_iterations)
    residual_left = residual(grad)
    r = np.exp(np.clip(rows @ theta, log_lo, log_hi))
    converged = residual_left < tolerance
    if not converged:
        log.info("per-image fit stopped after %d iterations (residual %.2g)", iterations, residual_left)
    return r, iterations, converged


def lbfgs(fun: Callable[[np.ndarray], tuple], x: np.ndarray, value: float, grad: np.ndarray,
          inverse_diagonal: np.ndarray, done: Callable[[np.ndarray], bool], max_iterations: int,
          memory: int = 10) -> tuple[np.ndarray, int, np.ndarray]:
    """Minimise a smooth convex ``fun`` (returning value and gradient first) by L-BFGS with a diagonal
    initial inverse Hessian and Armijo backtracking, until ``done(gradient)``. Returns
    ``(x, iterations, gradient)``."""
    history: list[tuple[np.ndarray, np.ndarray, float]] = []
    iteration = 0
    for iteration in range(1, max_iterations + 1):
        if done(grad):
            iteration -= 1
            break
        q = grad.copy()
        alphas = []
        for s_k, y_k, rho in reversed(history):
            alpha = rho * (s_k * q).sum()
            q -= alpha * y_k
            alphas.append(alpha)
        if history:
            s_k, y_k, _ = history[-1]
            q *= (s_k * y_k).sum() / (y_k * inverse_diagonal * y_k).sum()
        q *= inverse_diagonal
        for (s_k, y_k, rho), alpha in zip(history, reversed(alphas)):
            q += (alpha - rho * (y_k * q).sum()) * s_k
        direction = -q
        slope = (grad * direction).sum()
        if slope >= 0:  # not a descent direction: restart from the preconditioned gradient
            history.clear()
            direction = -inverse_diagonal * grad
            slope = (grad * direction).sum()
        step = 1.0
        for _ in range(40):
            new_value, new_grad, *_ = fun(x + step * direction)
            if new_value <= value + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        s_k, y_k = step * direction, new_grad - grad
        curvature = (s_k * y_k).sum()
        if curvature > 1e-12 * math.sqrt((s_k * s_k).sum() * (y_k * y_k).sum()):
            history.append((s_k, y_k, 1.0 / curvature))
            if len(history) > memory:
                history.pop(0)
        x, value, grad = x + s_k, new_value, new_grad
    return x, iteration, grad
