"""Local search for the covering models, compiled with numba (written here: no library has it).

* :func:`swap_search` -- vertex substitution for MCLP: repeatedly make the best single add or
  swap (close one open site, open another) while it covers more weight;
* :func:`iterated_swap_search` -- iterated local search around it: close a few open sites that
  sit near each other, refill and descend again, keep the answer if it covers no less; a fixed
  number of rounds from a fixed seed, so the same input gives the same answer;
* for LSCP, the row-weighting search is :mod:`siting.models._cover_search` (it shares
  :func:`search_arrays` and the random stream with these).

How a move is found quickly: per demand row the search keeps the number of open sites
covering it and the *sum* of their indices (for a row covered once, that sum is the one site
covering it); per site it keeps ``g0``, the weight of uncovered rows it would add, and ``loss``,
the weight only it covers while open; opening or closing a site updates them for the rows it
touches. A swap (open ``c``, close ``s``) gains ``g0[c] - loss[s] + extra``, where ``extra`` is
the weight of rows only ``s`` covered that ``c`` covers too, so it is never more than
``g0[c]``: only the sites whose ``g0`` beats the best move found so far are examined row by row,
and for each only the open sites sharing rows with it (for the others, the one of least loss).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy import sparse


@njit(cache=True, nogil=True)
def _rand(state, n):
    """A uniform integer in [0, n) from a splitmix64 stream: the same numbers on every platform
    and numba version, so a seed fixes the search."""
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return np.int64(z % np.uint64(n))


@njit(cache=True, nogil=True)
def _state(col_ptr, col_rows, row_ptr, row_cols, w, is_open):
    """Per row: open sites covering it and the sum of their indices; per site: ``g0`` (weight
    of uncovered rows it covers) and ``loss`` (weight of rows only it covers, if open)."""
    n_rows = w.shape[0]
    n_cols = is_open.shape[0]
    cnt = np.zeros(n_rows, dtype=np.int32)
    idsum = np.zeros(n_rows, dtype=np.int64)
    for j in range(n_cols):
        if is_open[j]:
            for k in range(col_ptr[j], col_ptr[j + 1]):
                cnt[col_rows[k]] += 1
                idsum[col_rows[k]] += j
    g0 = np.zeros(n_cols)
    loss = np.zeros(n_cols)
    for r in range(n_rows):
        if cnt[r] == 0:
            for q in range(row_ptr[r], row_ptr[r + 1]):
                g0[row_cols[q]] += w[r]
        elif cnt[r] == 1:
            loss[idsum[r]] += w[r]
    return cnt, idsum, g0, loss


@njit(cache=True, nogil=True)
def _open(col_ptr, col_rows, row_ptr, row_cols, w, cnt, idsum, g0, loss, j):
    for k in range(col_ptr[j], col_ptr[j + 1]):
        r = col_rows[k]
        if cnt[r] == 0:
            for q in range(row_ptr[r], row_ptr[r + 1]):
                g0[row_cols[q]] -= w[r]
            loss[j] += w[r]
        elif cnt[r] == 1:
            loss[idsum[r]] -= w[r]
        cnt[r] += 1
        idsum[r] += j


@njit(cache=True, nogil=True)
def _close(col_ptr, col_rows, row_ptr, row_cols, w, cnt, idsum, g0, loss, j):
    for k in range(col_ptr[j], col_ptr[j + 1]):
        r = col_rows[k]
        cnt[r] -= 1
        idsum[r] -= j
        if cnt[r] == 0:
            for q in range(row_ptr[r], row_ptr[r + 1]):
                g0[row_cols[q]] += w[r]
            loss[j] -= w[r]
        elif cnt[r] == 1:
            loss[idsum[r]] += w[r]


@njit(cache=True, nogil=True)
def _best_move(
    col_ptr,
    col_rows,
    w,
    is_open,
    cnt,
    idsum,
    g0,
    loss,
    cost,
    budget,
    spent,
    n_open,
    p,
    eps,
    extra,
    seen,
    only,
    n_only,
):
    """The best add or swap: (gain, site to open, site to close or -1), opening one of
    ``only[:n_only]`` (any site when ``n_only`` < 0).

    A swap (c, s) gains at most ``g0[c]`` (what it keeps of s's rows never exceeds s's loss),
    so only sites whose ``g0`` beats the best move found so far are looked at in detail."""
    n_cols = is_open.shape[0] if n_only < 0 else n_only
    budgeted = np.isfinite(budget)
    opened = np.flatnonzero(is_open)
    s_min = -1
    for s in opened:
        if s_min < 0 or loss[s] < loss[s_min]:
            s_min = s
    best, best_c, best_s = eps, -1, -1
    seen[:] = -1  # stale marks from an earlier call would pass for this call's
    for i in range(n_cols):
        c = i if n_only < 0 else only[i]
        if is_open[c]:
            continue
        if n_open < p and spent + cost[c] <= budget and g0[c] > best:
            best, best_c, best_s = g0[c], c, -1
        if not budgeted and s_min >= 0 and g0[c] - loss[s_min] > best:
            best, best_c, best_s = g0[c] - loss[s_min], c, s_min  # at least this much
    for i in range(n_cols):
        c = i if n_only < 0 else only[i]
        if is_open[c] or g0[c] <= best or opened.shape[0] == 0:
            continue
        for k in range(col_ptr[c], col_ptr[c + 1]):
            r = col_rows[k]
            if cnt[r] == 1:
                s = idsum[r]
                if seen[s] != c:
                    seen[s] = c
                    extra[s] = 0.0
                extra[s] += w[r]
        if budgeted:  # which closures are affordable depends on the costs: try them all
            for s in opened:
                if spent - cost[s] + cost[c] <= budget:
                    d = g0[c] - loss[s] + (extra[s] if seen[s] == c else 0.0)
                    if d > best:
                        best, best_c, best_s = d, c, s
            continue
        d = g0[c] - loss[s_min] + (extra[s_min] if seen[s_min] == c else 0.0)
        if d > best:
            best, best_c, best_s = d, c, s_min
        for k in range(col_ptr[c], col_ptr[c + 1]):  # the sites sharing rows with c
            r = col_rows[k]
            if cnt[r] == 1:
                s = idsum[r]
                d = g0[c] - loss[s] + extra[s]
                if d > best:
                    best, best_c, best_s = d, c, s
    return best, best_c, best_s


@njit(cache=True, nogil=True)
def _best_add_per_cost(g0, is_open, cost, left, eps):
    """Under a budget, the affordable site adding most weight per unit cost (free sites
    first), as the greedy does; -1 if none adds anything."""
    best, best_ratio, best_free = -1, 0.0, False
    for c in range(is_open.shape[0]):
        if is_open[c] or g0[c] <= eps or cost[c] > left:
            continue
        free = cost[c] <= 0
        ratio = g0[c] if free else g0[c] / cost[c]
        if best < 0 or (free and not best_free) or (free == best_free and ratio > best_ratio):
            best, best_ratio, best_free = c, ratio, free
    return best


@njit(cache=True, nogil=True)
def _descend(
    col_ptr,
    col_rows,
    row_ptr,
    row_cols,
    w,
    is_open,
    cnt,
    idsum,
    g0,
    loss,
    cost,
    budget,
    p,
    eps,
    max_moves,
    extra,
    seen,
    log_open,
    log_close,
    n_log,
    only,
    n_only,
):
    """Best moves until none gains; every flip is appended to the logs (for undoing).

    With ``n_only`` >= 0 the moves first open only sites of ``only[:n_only]`` (the region a
    perturbation touched); when none gains there, one look at every site decides whether to go
    on over all of them."""
    spent = 0.0
    n_open = 0
    for j in range(is_open.shape[0]):
        if is_open[j]:
            spent += cost[j]
            n_open += 1
    moves = 0
    budgeted = np.isfinite(budget)
    while moves < max_moves:
        c, s = -1, -1
        if budgeted and n_open < p:
            c = _best_add_per_cost(g0, is_open, cost, budget - spent, eps)
        if c < 0:
            _, c, s = _best_move(
                col_ptr,
                col_rows,
                w,
                is_open,
                cnt,
                idsum,
                g0,
                loss,
                cost,
                budget,
                spent,
                n_open,
                p,
                eps,
                extra,
                seen,
                only,
                n_only,
            )
            if c < 0 and n_only >= 0:
                n_only = -1  # the region is exhausted: is there a move anywhere else?
                continue
        if c < 0:
            break
        if s >= 0:
            is_open[s] = False
            spent -= cost[s]
            n_open -= 1
            _close(col_ptr, col_rows, row_ptr, row_cols, w, cnt, idsum, g0, loss, s)
            if n_log >= 0:
                log_close[n_log] = s
        elif n_log >= 0:
            log_close[n_log] = -1
        is_open[c] = True
        spent += cost[c]
        n_open += 1
        _open(col_ptr, col_rows, row_ptr, row_cols, w, cnt, idsum, g0, loss, c)
        if n_log >= 0:
            log_open[n_log] = c
            n_log += 1
        moves += 1
    return moves, n_log


@njit(cache=True, nogil=True)
def _ils(col_ptr, col_rows, row_ptr, row_cols, w, start, cost, budget, p, eps, rounds, seed, k_max):
    state = np.full(1, seed, dtype=np.uint64)
    n_cols = start.shape[0]
    extra = np.zeros(n_cols)
    seen = np.full(n_cols, -1, dtype=np.int64)
    mark = np.full(n_cols, -1, dtype=np.int64)
    near = np.empty(n_cols, dtype=np.int64)
    is_open = start.copy()
    cnt, idsum, g0, loss = _state(col_ptr, col_rows, row_ptr, row_cols, w, is_open)
    log_open = np.empty(0, dtype=np.int64)
    _descend(
        col_ptr,
        col_rows,
        row_ptr,
        row_cols,
        w,
        is_open,
        cnt,
        idsum,
        g0,
        loss,
        cost,
        budget,
        p,
        eps,
        1_000_000,
        extra,
        seen,
        log_open,
        log_open,
        -1,
        near,
        -1,
    )
    value = 0.0
    for r in range(w.shape[0]):
        if cnt[r] > 0:
            value += w[r]
    best = is_open.copy()
    best_value = value
    log_open = np.empty(4 * n_cols + 16, dtype=np.int64)
    log_close = np.empty(4 * n_cols + 16, dtype=np.int64)
    closed = np.empty(k_max + 1, dtype=np.int64)
    region = np.empty(n_cols, dtype=np.int64)
    for it in range(rounds):
        opened = np.flatnonzero(is_open)
        if opened.shape[0] == 0:
            break
        spent = 0.0
        for j in opened:
            spent += cost[j]
        s0 = opened[_rand(state, opened.shape[0])]
        n_near = 0  # open sites sharing a row with s0's rows: its neighbourhood
        for k in range(col_ptr[s0], col_ptr[s0 + 1]):
            r = col_rows[k]
            for q in range(row_ptr[r], row_ptr[r + 1]):
                j = row_cols[q]
                if is_open[j] and j != s0 and mark[j] != it:
                    mark[j] = it
                    near[n_near] = j
                    n_near += 1
        n_close = 1 + _rand(state, k_max)  # besides s0
        for i in range(min(n_close, n_near)):  # a random part of the neighbourhood
            pick = i + _rand(state, n_near - i)
            near[i], near[pick] = near[pick], near[i]
        m = min(n_close, n_near)
        while m < n_close and m < opened.shape[0] - 1:  # too few neighbours: any open sites
            j = opened[_rand(state, opened.shape[0])]
            if j != s0 and mark[j] != it:
                mark[j] = it
                near[m] = j
                m += 1
        near[m] = s0
        m += 1
        for i in range(m):
            j = near[i]
            closed[i] = j
            mark[j] = it
            is_open[j] = False
            spent -= cost[j]
            _close(col_ptr, col_rows, row_ptr, row_cols, w, cnt, idsum, g0, loss, j)
        # the kick: open as many random closed sites from around them, so the descent starts
        # somewhere new rather than re-opening what it just closed
        n_region = 0
        for i in range(m):
            for k in range(col_ptr[closed[i]], col_ptr[closed[i] + 1]):
                r = col_rows[k]
                for q in range(row_ptr[r], row_ptr[r + 1]):
                    j = row_cols[q]
                    if not is_open[j] and mark[j] != it:
                        mark[j] = it
                        region[n_region] = j
                        n_region += 1
        n_log = 0
        for i in range(min(m, n_region)):
            pick = i + _rand(state, n_region - i)
            region[i], region[pick] = region[pick], region[i]
            j = region[i]
            if spent + cost[j] <= budget:
                is_open[j] = True
                spent += cost[j]
                _open(col_ptr, col_rows, row_ptr, row_cols, w, cnt, idsum, g0, loss, j)
                log_open[n_log] = j
                log_close[n_log] = -1
                n_log += 1
        for i in range(m):  # the descent looks first at the region, closed sites included
            region[n_region + i] = closed[i]
        _, n_log = _descend(
            col_ptr,
            col_rows,
            row_ptr,
            row_cols,
            w,
            is_open,
            cnt,
            idsum,
            g0,
            loss,
            cost,
            budget,
            p,
            eps,
            log_open.shape[0] - n_log,
            extra,
            seen,
            log_open,
            log_close,
            n_log,
            region,
            n_region + m,
        )
        trial_value = 0.0
        for r in range(w.shape[0]):
            if cnt[r] > 0:
                trial_value += w[r]
        if trial_value >= value - eps:  # no worse: move there (plateaus are crossed)
            value = trial_value
            if value > best_value + eps:
                best[:] = is_open
                best_value = value
            continue
        for i in range(n_log - 1, -1, -1):  # undo, last move first
            c = log_open[i]
            is_open[c] = False
            _close(col_ptr, col_rows, row_ptr, row_cols, w, cnt, idsum, g0, loss, c)
            s = log_close[i]
            if s >= 0:
                is_open[s] = True
                _open(col_ptr, col_rows, row_ptr, row_cols, w, cnt, idsum, g0, loss, s)
        for i in range(m):
            j = closed[i]
            is_open[j] = True
            _open(col_ptr, col_rows, row_ptr, row_cols, w, cnt, idsum, g0, loss, j)
    return best, best_value


SearchArrays = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]


def search_arrays(csc: sparse.csc_matrix) -> SearchArrays:
    """Column and row index arrays (CSC pointers and rows, CSR pointers and columns)."""
    csr = csc.tocsr()
    return (
        csc.indptr.astype(np.int64),
        csc.indices.astype(np.int64),
        csr.indptr.astype(np.int64),
        csr.indices.astype(np.int64),
    )


def swap_search(
    csc: sparse.csc_matrix,
    w: NDArray[np.float64],
    chosen: NDArray[np.bool_],
    *,
    p: int,
    cost: NDArray[np.float64],
    budget: float,
    max_moves: int = 1_000_000,
) -> tuple[NDArray[np.bool_], int]:
    """Best-improvement adds and swaps from ``chosen`` until none covers more weight."""
    col_ptr, col_rows, row_ptr, row_cols = search_arrays(csc)
    w = np.ascontiguousarray(w, dtype=np.float64)
    out = chosen.copy()
    cnt, idsum, g0, loss = _state(col_ptr, col_rows, row_ptr, row_cols, w, out)
    n_cols = csc.shape[1]
    none = np.empty(0, dtype=np.int64)
    moves, _ = _descend(
        col_ptr,
        col_rows,
        row_ptr,
        row_cols,
        w,
        out,
        cnt,
        idsum,
        g0,
        loss,
        np.ascontiguousarray(cost, dtype=np.float64),
        float(budget),
        int(p),
        _eps(w),
        int(max_moves),
        np.zeros(n_cols),
        np.full(n_cols, -1, dtype=np.int64),
        none,
        none,
        -1,
        none,
        -1,
    )
    return out, int(moves)


def iterated_swap_search(
    csc: sparse.csc_matrix,
    w: NDArray[np.float64],
    start: NDArray[np.bool_],
    *,
    p: int,
    cost: NDArray[np.float64],
    budget: float,
    rounds: int,
    seed: int = 0,
    max_close: int = 6,
    arrays: SearchArrays | None = None,
) -> tuple[NDArray[np.bool_], float]:
    """``rounds`` rounds of: close 2..``max_close`` + 1 open sites around a random open site,
    open as many random sites around them, descend (that region first); keep the result when it
    covers no less. ``arrays``: :func:`search_arrays` of ``csc``, for callers that search the
    same matrix in many calls."""
    col_ptr, col_rows, row_ptr, row_cols = arrays if arrays is not None else search_arrays(csc)
    best, value = _ils(
        col_ptr,
        col_rows,
        row_ptr,
        row_cols,
        np.ascontiguousarray(w, dtype=np.float64),
        start.copy(),
        np.ascontiguousarray(cost, dtype=np.float64),
        float(budget),
        int(p),
        _eps(w),
        int(rounds),
        int(seed),
        int(max_close),
    )
    return best, float(value)


def _eps(w: NDArray[np.float64]) -> float:
    return 1e-9 * max(float(np.sum(w)), 1.0)
