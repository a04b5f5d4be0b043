"""Row-weighting swap search for LSCP, compiled with numba (written here: no library has it):
take one site away from a full cover and swap sites until everything is covered again, raising
the weight of rows left uncovered so the search is pushed towards them (a scheme used for
unicost set covering). The arrays and the random stream are :mod:`siting.models._local`'s."""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy import sparse

from siting.models._local import _rand, search_arrays


@njit(cache=True, nogil=True)
def _cover_flip(col_ptr, col_rows, row_ptr, row_cols, x, cnt, rw, score, unc, pos, n_unc, j):
    """Add (``x[j]`` False) or remove column ``j``; keeps counts, scores and the uncovered list.

    ``score`` is, for a column out of the cover, the weight of the uncovered rows it would cover;
    for a column in it, minus the weight of the rows only it covers."""
    adding = not x[j]
    x[j] = adding
    for k in range(col_ptr[j], col_ptr[j + 1]):
        r = col_rows[k]
        before = cnt[r]
        cnt[r] += 1 if adding else -1
        if (adding and before == 0) or (not adding and before == 1):
            for q in range(row_ptr[r], row_ptr[r + 1]):  # r becomes covered / uncovered
                if row_cols[q] != j:
                    score[row_cols[q]] += -rw[r] if adding else rw[r]
            if adding:
                last = unc[n_unc - 1]
                unc[pos[r]] = last
                pos[last] = pos[r]
                pos[r] = -1
                n_unc -= 1
            else:
                unc[n_unc] = r
                pos[r] = n_unc
                n_unc += 1
        elif (adding and before == 1) or (not adding and before == 2):
            for q in range(row_ptr[r], row_ptr[r + 1]):  # the other column covering r alone
                s = row_cols[q]
                if s != j and x[s]:
                    score[s] += rw[r] if adding else -rw[r]
                    break
    own = 0.0
    for k in range(col_ptr[j], col_ptr[j + 1]):
        r = col_rows[k]
        if adding and cnt[r] == 1:
            own -= rw[r]
        elif not adding and cnt[r] == 0:
            own += rw[r]
    score[j] = own
    return n_unc


@njit(cache=True, nogil=True)
def _cover_search(col_ptr, col_rows, row_ptr, row_cols, start, steps, seed, lower):
    state = np.full(1, seed, dtype=np.uint64)
    n_cols = start.shape[0]
    n_rows = row_ptr.shape[0] - 1
    x = np.zeros(n_cols, dtype=np.bool_)
    cnt = np.zeros(n_rows, dtype=np.int32)
    rw = np.ones(n_rows)
    score = np.zeros(n_cols)
    unc = np.arange(n_rows)
    pos = np.arange(n_rows)
    n_unc = n_rows
    for r in range(n_rows):  # every row starts uncovered
        for q in range(row_ptr[r], row_ptr[r + 1]):
            score[row_cols[q]] += 1.0
    for j in range(n_cols):
        if start[j]:
            n_unc = _cover_flip(
                col_ptr, col_rows, row_ptr, row_cols, x, cnt, rw, score, unc, pos, n_unc, j
            )
    stamp = np.zeros(n_cols, dtype=np.int64)
    best = x.copy()
    n_in = int(x.sum())
    best_n = n_in if n_unc == 0 else n_cols + 1
    last_added, last_removed = -1, -1
    for step in range(1, steps + 1):
        if n_unc == 0 and n_in < best_n:
            best[:] = x
            best_n = n_in
        if best_n <= lower or n_in == 0:
            break
        # take out the column losing least (not the one just put in; ties: the oldest)
        out = -1
        for j in range(n_cols):
            if not x[j] or j == last_added:
                continue
            if (
                out < 0
                or score[j] > score[out]
                or (score[j] == score[out] and stamp[j] < stamp[out])
            ):
                out = j
        if out < 0:
            break
        n_unc = _cover_flip(
            col_ptr, col_rows, row_ptr, row_cols, x, cnt, rw, score, unc, pos, n_unc, out
        )
        stamp[out] = step
        n_in -= 1
        last_removed = out
        if n_unc == 0:
            continue  # still a cover with one column fewer: record it next step
        if n_in < best_n - 1:
            # a cover this small is not needed yet: put one back for a random uncovered row
            r = unc[_rand(state, n_unc)]
            add = -1
            for q in range(row_ptr[r], row_ptr[r + 1]):
                j = row_cols[q]
                if j == last_removed and row_ptr[r + 1] - row_ptr[r] > 1:
                    continue
                if (
                    add < 0
                    or score[j] > score[add]
                    or (score[j] == score[add] and stamp[j] < stamp[add])
                ):
                    add = j
            n_unc = _cover_flip(
                col_ptr, col_rows, row_ptr, row_cols, x, cnt, rw, score, unc, pos, n_unc, add
            )
            stamp[add] = step
            n_in += 1
            last_added = add
        for i in range(n_unc):  # rows left out get heavier
            r = unc[i]
            rw[r] += 1.0
            for q in range(row_ptr[r], row_ptr[r + 1]):
                score[row_cols[q]] += 1.0
    return best, best_n


def weighted_cover_search(
    csc: sparse.csc_matrix,
    start: NDArray[np.bool_],
    *,
    steps: int,
    seed: int = 0,
    lower: int = 0,
) -> NDArray[np.bool_]:
    """From the full cover ``start``, search for covers with fewer columns (see the module
    docstring); ``steps`` swaps at most, stopping early at ``lower`` columns."""
    best, n = _cover_search(*search_arrays(csc), start.copy(), int(steps), int(seed), int(lower))
    return best if n <= int(start.sum()) else start.copy()
