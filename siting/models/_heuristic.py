"""Fast covering heuristics with certified bounds (written here: no library offers them).

* :func:`lazy_greedy` -- the classic greedy (most new weight per unit cost), with lazy
  re-evaluation (a site's gain can only fall as others open);
* :func:`swap_search` -- vertex substitution: repeatedly make the best single add or swap
  (close one open site, open another) while it covers more weight. One pass evaluates every
  move in O(nonzeros + candidates x open sites) using, per demand row, the number of open
  sites covering it and the *sum* of their indices (for a row covered once, that sum is the
  one site covering it);
* :func:`lagrangian_bound` -- for any multipliers ``lam >= 0`` on the constraints
  ``y_i <= sum_j a_ij x_j``, ``sum_i max(0, w_i - lam_i) + max_x sum_j (A^T lam)_j x_j`` is an
  upper bound on the covered weight; with the LP's duals it equals the LP bound. The bound is
  evaluated here from the multipliers alone, so it is certified whatever the LP solver did.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy import sparse


def lazy_greedy(
    csc: sparse.csc_matrix,
    w: NDArray[np.float64],
    *,
    p: int,
    cost: NDArray[np.float64],
    budget: float,
    start: NDArray[np.bool_] | None = None,
) -> NDArray[np.bool_]:
    """Open sites one at a time by new weight per unit cost (plain gain when costs are 0)."""
    n_cols = csc.shape[1]
    chosen = np.zeros(n_cols, dtype=bool) if start is None else start.copy()
    covered = np.zeros(csc.shape[0], dtype=bool)
    for col in np.flatnonzero(chosen):
        covered[csc.indices[csc.indptr[col] : csc.indptr[col + 1]]] = True
    spent = float(cost[chosen].sum())
    ratio_cost = np.where(cost > 0, cost, 1.0) if (cost > 0).any() else np.ones(n_cols)

    def gain(j: int) -> float:
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        return float(w[rows[~covered[rows]]].sum())

    heap: list[tuple[float, int]] = [
        (-gain(j) / ratio_cost[j], j) for j in range(n_cols) if not chosen[j]
    ]
    heapq.heapify(heap)
    while heap and chosen.sum() < p:
        _neg, j = heapq.heappop(heap)
        if spent + cost[j] > budget:
            continue  # cannot afford it now, and spending only grows
        fresh = gain(j) / ratio_cost[j]
        if fresh <= 0:
            continue  # gains only fall: this site will never add anything
        if heap and fresh < -heap[0][0] - 1e-12:
            heapq.heappush(heap, (-fresh, j))
            continue
        chosen[j] = True
        spent += cost[j]
        covered[csc.indices[csc.indptr[j] : csc.indptr[j + 1]]] = True
    return chosen


@njit(cache=True)
def _swap_search(col_ptr, col_rows, w, is_open, cost, budget, p, max_moves, eps):
    n_cols = col_ptr.shape[0] - 1
    n_rows = w.shape[0]
    cnt = np.zeros(n_rows, dtype=np.int32)
    idsum = np.zeros(n_rows, dtype=np.int64)
    spent = 0.0
    n_open = 0
    for j in range(n_cols):
        if is_open[j]:
            spent += cost[j]
            n_open += 1
            for k in range(col_ptr[j], col_ptr[j + 1]):
                cnt[col_rows[k]] += 1
                idsum[col_rows[k]] += j
    extra = np.zeros(n_cols)
    seen = np.full(n_cols, -1, dtype=np.int64)
    touched = np.empty(n_cols, dtype=np.int64)
    loss = np.zeros(n_cols)
    moves = 0
    while moves < max_moves:
        loss[:] = 0.0
        for r in range(n_rows):
            if cnt[r] == 1:
                loss[idsum[r]] += w[r]
        opened = np.flatnonzero(is_open)
        best, best_c, best_s = eps, -1, -1
        for c in range(n_cols):
            if is_open[c]:
                continue
            g0 = 0.0
            nt = 0
            for k in range(col_ptr[c], col_ptr[c + 1]):
                r = col_rows[k]
                if cnt[r] == 0:
                    g0 += w[r]
                elif cnt[r] == 1:
                    s = idsum[r]
                    if seen[s] != c:
                        seen[s] = c
                        extra[s] = 0.0
                        touched[nt] = s
                        nt += 1
                    extra[s] += w[r]
            if n_open < p and spent + cost[c] <= budget and g0 > best:
                best, best_c, best_s = g0, c, -1
            for s in opened:
                if spent - cost[s] + cost[c] <= budget:
                    d = g0 - loss[s] + (extra[s] if seen[s] == c else 0.0)
                    if d > best:
                        best, best_c, best_s = d, c, s
        if best_c < 0:
            break
        if best_s >= 0:
            is_open[best_s] = False
            spent -= cost[best_s]
            n_open -= 1
            for k in range(col_ptr[best_s], col_ptr[best_s + 1]):
                cnt[col_rows[k]] -= 1
                idsum[col_rows[k]] -= best_s
        is_open[best_c] = True
        spent += cost[best_c]
        n_open += 1
        for k in range(col_ptr[best_c], col_ptr[best_c + 1]):
            cnt[col_rows[k]] += 1
            idsum[col_rows[k]] += best_c
        moves += 1
    return is_open, moves


def swap_search(
    csc: sparse.csc_matrix,
    w: NDArray[np.float64],
    chosen: NDArray[np.bool_],
    *,
    p: int,
    cost: NDArray[np.float64],
    budget: float,
    max_moves: int = 100_000,
) -> tuple[NDArray[np.bool_], int]:
    """Best-improvement adds and swaps from ``chosen`` until none covers more weight."""
    eps = 1e-9 * max(float(w.sum()), 1.0)
    out, moves = _swap_search(
        csc.indptr.astype(np.int64),
        csc.indices.astype(np.int64),
        np.ascontiguousarray(w, dtype=np.float64),
        chosen.copy(),
        np.ascontiguousarray(cost, dtype=np.float64),
        float(budget),
        int(p),
        int(max_moves),
        eps,
    )
    return out, int(moves)


def covered_weight(
    csc: sparse.csc_matrix, w: NDArray[np.float64], chosen: NDArray[np.bool_]
) -> float:
    rows = np.unique(
        np.concatenate(
            [csc.indices[csc.indptr[j] : csc.indptr[j + 1]] for j in np.flatnonzero(chosen)]
            or [np.empty(0, dtype=np.int64)]
        )
    )
    return float(w[rows].sum())


def lagrangian_bound(
    csc: sparse.csc_matrix,
    w: NDArray[np.float64],
    lam: NDArray[np.float64],
    *,
    p: int,
    cost: NDArray[np.float64],
    budget: float,
) -> float:
    """Upper bound on the covered weight from multipliers ``lam`` (clipped to ``[0, w]``).

    The site part ``max sum_j c_j x_j`` over ``sum x <= p``, ``cost.x <= budget``,
    ``0 <= x <= 1`` is bounded by its LP: with one of the two constraints it is solved exactly
    by sorting; with both, by the weaker of the two single-constraint optima (still valid).
    """
    lam = np.clip(lam, 0.0, w)
    c = np.asarray(csc.T @ lam).ravel()
    c = np.maximum(c, 0.0)
    by_count = float(np.sort(c)[::-1][:p].sum())
    bound_sites = by_count
    if np.isfinite(budget) and (cost > 0).any():
        bound_sites = min(by_count, _fractional_knapsack(c, cost, budget))
    return float(np.maximum(w - lam, 0.0).sum() + bound_sites)


def _fractional_knapsack(
    value: NDArray[np.float64], cost: NDArray[np.float64], budget: float
) -> float:
    free = cost <= 0
    total = float(value[free].sum())
    v, k = value[~free], cost[~free]
    order = np.argsort(-(v / k), kind="stable")
    left = budget
    for j in order:
        if left <= 0:
            break
        take = min(1.0, left / k[j])
        total += take * v[j]
        left -= take * k[j]
    return total


def lagrangian_set_cover(
    cover: sparse.csr_matrix,
    *,
    iterations: int = 2000,
    start: NDArray[np.bool_] | None = None,
    u0: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.bool_], float]:
    """Beasley's Lagrangian heuristic for covering every row with the fewest columns.

    Subgradient steps on multipliers ``u >= 0`` of the rows; every step gives a lower bound
    ``sum(u) + sum_j min(0, 1 - (A^T u)_j)`` (valid for any ``u``) and a cover: the columns of
    negative reduced cost, uncovered rows repaired with their cheapest column in reduced cost,
    then columns the others make redundant dropped (most expensive in reduced cost first).
    Returns the best cover found (or ``start`` if none is better) and the best lower bound.
    """
    a = sparse.csr_matrix(cover, dtype=np.float64)
    at = a.T.tocsr()
    csc = a.tocsc()
    n_rows, n_cols = a.shape
    col_size = np.diff(csc.indptr).astype(float)
    u = np.zeros(n_rows)
    if u0 is not None:  # the LP's duals: an optimal start for the multipliers
        u = np.maximum(np.asarray(u0, dtype=np.float64), 0.0)
    else:
        for i in range(n_rows):  # u_i = min over covering columns of 1 / |column|
            cols = a.indices[a.indptr[i] : a.indptr[i + 1]]
            u[i] = float((1.0 / col_size[cols]).min())
    best = start.copy() if start is not None else np.ones(n_cols, dtype=bool)
    best_lb, f, stall = 0.0, 2.0, 0
    for it in range(iterations):
        reduced = 1.0 - at @ u
        lb = float(u.sum() + np.minimum(reduced, 0.0).sum())
        if lb > best_lb + 1e-9:
            best_lb, stall = lb, 0
        else:
            stall += 1
            if stall >= 30:
                f, stall = f / 2.0, 0
        x = reduced < 0
        if it % 5 == 0:
            cand = _repair_and_prune(a, csc, x.copy(), reduced)
            if cand.sum() < best.sum():
                best = cand
        if best.sum() <= np.ceil(best_lb - 1e-9) or f < 1e-4:
            break
        g = 1.0 - a @ x.astype(float)
        g[(u <= 0) & (g < 0)] = 0.0
        norm = float(g @ g)
        if norm == 0:
            break
        u = np.maximum(u + f * (best.sum() - lb) / norm * g, 0.0)
    return best, best_lb


def _repair_and_prune(
    a: sparse.csr_matrix, csc: sparse.csc_matrix, x: NDArray[np.bool_], reduced: NDArray[np.float64]
) -> NDArray[np.bool_]:
    count = a @ x.astype(float)
    for i in np.flatnonzero(count == 0):  # cheapest column (in reduced cost) for each hole
        if count[i] > 0:
            continue
        cols = a.indices[a.indptr[i] : a.indptr[i + 1]]
        j = int(cols[np.argmin(reduced[cols])])
        x[j] = True
        count[csc.indices[csc.indptr[j] : csc.indptr[j + 1]]] += 1
    for j in sorted(np.flatnonzero(x).tolist(), key=lambda k: -reduced[k]):
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        if (count[rows] >= 2).all():
            x[j] = False
            count[rows] -= 1
    return x


def subgradient_bound(
    csc: sparse.csc_matrix,
    w: NDArray[np.float64],
    *,
    p: int,
    target: float,
    iterations: int = 800,
    seconds: float = 20.0,
) -> tuple[float, NDArray[np.float64]]:
    """Minimise the Lagrangian bound of the cardinality MCLP over ``lam`` by subgradient steps.

    Every iterate gives a valid upper bound (see :func:`lagrangian_bound`); Polyak steps towards
    ``target`` (the best covered weight found). Returns the best bound and its multipliers.
    """
    import time

    a = sparse.csr_matrix(csc)
    at = csc.T.tocsr()
    lam = 0.5 * w
    best, best_lam = float("inf"), lam.copy()
    f, stall = 1.0, 0
    start = time.perf_counter()
    for _ in range(iterations):
        c = at @ lam
        top = np.argpartition(-c, p - 1)[:p] if p < len(c) else np.arange(len(c))
        top = top[c[top] > 0]
        bound = float(np.maximum(w - lam, 0.0).sum() + c[top].sum())
        if bound < best - 1e-9:
            best, best_lam, stall = bound, lam.copy(), 0
        else:
            stall += 1
            if stall >= 20:
                f, stall = f / 2.0, 0
        x = np.zeros(csc.shape[1])
        x[top] = 1.0
        g = (a @ x) - (w > lam)  # dL/dlam
        norm = float(g @ g)
        if norm == 0 or f < 1e-5 or time.perf_counter() - start > seconds:
            break
        lam = np.clip(lam - f * (bound - target) / norm * g, 0.0, w)
    return best, best_lam
