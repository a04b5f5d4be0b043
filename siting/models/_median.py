"""p-median search and bound (written here: no library offers them on a sparse cost matrix).

* :func:`vertex_substitution` -- from the fixed sites, repeatedly make the best single add or
  swap (open a candidate, or open one and close another) while it shortens the elderly's total
  walk, as Teitz and Bart's vertex substitution; compiled with numba.
* :func:`lagrangian_bound` -- relaxing "each demand point is assigned once" with multipliers
  ``lam`` gives a lower bound on the total walk for any ``lam``; subgradient steps raise it.

Each demand point walks to its nearest open site within the matrix's cutoff, or is unassigned at
``penalty`` metres. A move is evaluated from, per point, the nearest and second-nearest open
distances ``d1`` and ``d2`` and the nearest site ``n1``: opening ``c`` saves
``w (d1 - d_c)`` where ``d_c < d1``; closing ``s`` costs ``w (d2 - d1)`` on the points whose
nearest it is; a swap adds back ``w (d2 - max(d_c, d1))`` on the points nearest ``s`` that ``c``
reaches closer than ``d2`` (Whitaker's fast interchange, as described by Resende and Werneck).
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy import sparse

from siting.problem.cover import nearest_open


@njit(cache=True, nogil=True)
def _nearest_two(row_ptr, row_cols, row_d, is_open, penalty, i):
    d1, n1, d2 = penalty, -1, penalty
    for q in range(row_ptr[i], row_ptr[i + 1]):
        j = row_cols[q]
        if is_open[j]:
            d = row_d[q]
            if d < d1:
                d2, d1, n1 = d1, d, j
            elif d < d2:
                d2 = d
    return d1, n1, d2


@njit(cache=True, nogil=True)
def _refresh(row_ptr, row_cols, row_d, col_ptr, col_rows, is_open, penalty, j, d1, n1, d2):
    """Nearest and second-nearest open sites again for the points column ``j`` reaches."""
    for k in range(col_ptr[j], col_ptr[j + 1]):
        i = col_rows[k]
        d1[i], n1[i], d2[i] = _nearest_two(row_ptr, row_cols, row_d, is_open, penalty, i)


@njit(cache=True, nogil=True)
def _best_move(
    col_ptr, col_rows, col_d, w, is_open, movable, d1, n1, d2, n_new, p, eps, loss, extra, seen
):
    n_cols = is_open.shape[0]
    loss[:] = 0.0
    for i in range(w.shape[0]):
        if n1[i] >= 0:
            loss[n1[i]] += w[i] * (d2[i] - d1[i])
    s_min = -1
    for s in range(n_cols):
        if is_open[s] and movable[s] and (s_min < 0 or loss[s] < loss[s_min]):
            s_min = s
    seen[:] = -1
    best, best_c, best_s = eps, -1, -1
    for c in range(n_cols):
        if is_open[c] or not movable[c]:
            continue
        gain = 0.0
        for k in range(col_ptr[c], col_ptr[c + 1]):
            i = col_rows[k]
            d = col_d[k]
            if d < d1[i]:
                gain += w[i] * (d1[i] - d)
            if n1[i] >= 0 and d < d2[i]:
                s = n1[i]
                if seen[s] != c:
                    seen[s] = c
                    extra[s] = 0.0
                extra[s] += w[i] * (d2[i] - max(d, d1[i]))
        if n_new < p and gain > best:
            best, best_c, best_s = gain, c, -1
        if s_min >= 0:
            d = gain - loss[s_min] + (extra[s_min] if seen[s_min] == c else 0.0)
            if d > best:
                best, best_c, best_s = d, c, s_min
        for k in range(col_ptr[c], col_ptr[c + 1]):
            i = col_rows[k]
            s = n1[i]
            if s >= 0 and movable[s] and col_d[k] < d2[i]:
                d = gain - loss[s] + extra[s]
                if d > best:
                    best, best_c, best_s = d, c, s
    return best, best_c, best_s


@njit(cache=True, nogil=True)
def _substitute(
    row_ptr,
    row_cols,
    row_d,
    col_ptr,
    col_rows,
    col_d,
    w,
    is_open,
    movable,
    penalty,
    p,
    eps,
    max_moves,
):
    n_rows = w.shape[0]
    n_cols = is_open.shape[0]
    d1 = np.empty(n_rows)
    n1 = np.empty(n_rows, dtype=np.int64)
    d2 = np.empty(n_rows)
    for i in range(n_rows):
        d1[i], n1[i], d2[i] = _nearest_two(row_ptr, row_cols, row_d, is_open, penalty, i)
    n_new = 0
    for j in range(n_cols):
        if is_open[j] and movable[j]:
            n_new += 1
    loss = np.zeros(n_cols)
    extra = np.zeros(n_cols)
    seen = np.full(n_cols, -1, dtype=np.int64)
    moves = 0
    while moves < max_moves:
        _, c, s = _best_move(
            col_ptr,
            col_rows,
            col_d,
            w,
            is_open,
            movable,
            d1,
            n1,
            d2,
            n_new,
            p,
            eps,
            loss,
            extra,
            seen,
        )
        if c < 0:
            break
        is_open[c] = True
        if s >= 0:
            is_open[s] = False
            _refresh(row_ptr, row_cols, row_d, col_ptr, col_rows, is_open, penalty, s, d1, n1, d2)
        else:
            n_new += 1
        _refresh(row_ptr, row_cols, row_d, col_ptr, col_rows, is_open, penalty, c, d1, n1, d2)
        moves += 1
    return moves


def vertex_substitution(
    cost: sparse.csr_matrix,
    w: NDArray[np.float64],
    *,
    fixed: NDArray[np.bool_],
    candidate: NDArray[np.bool_],
    p: int,
    penalty: float,
    max_moves: int = 1_000_000,
) -> NDArray[np.bool_]:
    """Open at most ``p`` candidates (the fixed sites stay open) by best adds and swaps."""
    csr = sparse.csr_matrix(cost)
    csc = csr.tocsc()
    is_open = fixed.copy()
    _substitute(
        csr.indptr.astype(np.int64),
        csr.indices.astype(np.int64),
        csr.data.astype(np.float64),
        csc.indptr.astype(np.int64),
        csc.indices.astype(np.int64),
        csc.data.astype(np.float64),
        np.ascontiguousarray(w, dtype=np.float64),
        is_open,
        candidate & ~fixed,
        float(penalty),
        int(p),
        1e-9 * max(float(np.sum(w)) * penalty, 1.0),
        int(max_moves),
    )
    return is_open & ~fixed


def total_walk(
    cost: sparse.csr_matrix, w: NDArray[np.float64], is_open: NDArray[np.bool_], penalty: float
) -> float:
    """Elderly x metres to the nearest open site, ``penalty`` for points none reaches."""
    return float(w @ np.minimum(nearest_open(cost, is_open), penalty))


def lagrangian_bound(
    cost: sparse.csr_matrix,
    w: NDArray[np.float64],
    *,
    fixed: NDArray[np.bool_],
    candidate: NDArray[np.bool_],
    p: int,
    penalty: float,
    upper: float,
    seconds: float,
    iterations: int = 2000,
) -> float:
    """The best lower bound on the total walk found by subgradient steps (Polyak's, towards
    ``upper``, the walk of the best answer); every iterate's bound is valid:

    ``L(lam) = sum lam + sum_i min(0, w_i penalty - lam_i) + sum over the fixed sites and the
    p most negative candidates of rho_j``, with ``rho_j = sum_i min(0, w_i d_ij - lam_i)``.
    """
    coo = sparse.coo_matrix(cost)
    rows, cols, wd = coo.row, coo.col, w[coo.row] * coo.data
    n_rows, n_cols = cost.shape
    usable = candidate & ~fixed
    lam = w * np.minimum(nearest_open(cost, fixed | candidate), penalty)  # a feasible-ish start
    best, scale, stall = -np.inf, 2.0, 0
    start = time.perf_counter()
    for _ in range(iterations):
        red = np.minimum(wd - lam[rows], 0.0)
        rho = np.bincount(cols, weights=red, minlength=n_cols)
        cand = np.flatnonzero(usable & (rho < 0))
        pick = cand[np.argsort(rho[cand], kind="stable")[:p]]
        chosen = fixed.copy()
        chosen[pick] = True
        bound = float(lam.sum() + np.minimum(w * penalty - lam, 0.0).sum() + rho[chosen].sum())
        if bound > best + 1e-9 * abs(bound):
            best, stall = bound, 0
        else:
            stall += 1
            if stall >= 50:
                scale, stall = scale / 2.0, 0
        # dL/dlam_i = 1 - (open sites assigning i at negative reduced cost) - [penalty side]
        assigned = np.bincount(rows, weights=((red < 0) & chosen[cols]), minlength=n_rows)
        g = 1.0 - assigned - (w * penalty - lam < 0)
        norm = float(g @ g)
        if norm == 0 or scale < 1e-4 or time.perf_counter() - start > seconds:
            break
        lam = lam + scale * max(upper - bound, 0.0) / norm * g
    return max(best, 0.0)
