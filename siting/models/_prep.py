"""Coverage sets and the reductions every covering model starts from.

A model is built on a boolean demand x site matrix (which sites reach which demand within its
radius), not on distances. Before solving:

* demand already covered by the fixed (existing) sites is a constant and leaves the model;
* demand that no candidate reaches leaves it too, and is counted and listed;
* demand rows with the same set of candidates are merged, their weights added;
* a candidate whose rows are a subset of another's, at no lower cost, is dominated and dropped
  (for covering objectives some optimal solution never needs it).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from siting._errors import ModelError
from siting.models._result import SiteGain

log = logging.getLogger(__name__)


def as_sparse_cost(cost: sparse.spmatrix | ArrayLike) -> sparse.csr_matrix:
    """Demand x site metres as CSR; dense ``inf``/``nan`` and absent sparse entries = none."""
    if sparse.issparse(cost):
        return sparse.csr_matrix(cost)
    dense = np.asarray(cost, dtype=float)
    if dense.ndim != 2:
        raise ModelError(f"`cost` must be a 2-D demand x site matrix, got shape {dense.shape}")
    ok = np.isfinite(dense)
    r, c = np.nonzero(ok)
    return sparse.csr_matrix((dense[ok], (r, c)), shape=dense.shape)


def site_mask(n_sites: int, columns: ArrayLike | None, name: str) -> NDArray[np.bool_]:
    mask = np.zeros(n_sites, dtype=bool)
    if columns is None:
        return mask
    idx = np.asarray(columns, dtype=np.int64).ravel()
    bad = idx[(idx < 0) | (idx >= n_sites)]
    if len(bad):
        raise ModelError(
            f"`{name}` has column indices outside 0..{n_sites - 1}: {bad[:10].tolist()}"
        )
    mask[idx] = True
    return mask


def site_sets(
    n_sites: int, fixed: ArrayLike, candidates: ArrayLike | None, excluded: ArrayLike
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Masks of the fixed (always open) and candidate columns.

    Candidates default to every column not fixed; excluded columns are never candidates; a
    column both fixed and named a candidate is an error.
    """
    fixed_mask = site_mask(n_sites, fixed, "fixed")
    named = site_mask(n_sites, candidates, "candidates")
    both = np.flatnonzero(named & fixed_mask)
    if len(both):
        raise ModelError(f"columns {both[:10].tolist()} are both fixed and candidates")
    cand = (~fixed_mask if candidates is None else named) & ~site_mask(
        n_sites, excluded, "excluded"
    )
    return fixed_mask, cand


@dataclass(frozen=True)
class Reduced:
    """A covering problem after preprocessing, with the maps back to the original."""

    cover: sparse.csr_matrix  # merged rows x kept candidate columns (bool)
    weight: NDArray[np.float64]  # per merged row
    columns: NDArray[np.int64]  # original site column of each kept column
    row_groups: NDArray[np.int64]  # merged row of each original row, -1 if removed
    baseline: float  # weight covered by the fixed sites
    uncoverable: float  # weight no fixed or candidate site reaches
    uncoverable_rows: NDArray[np.int64]  # original rows no site can reach


def reduce(
    cover: sparse.csr_matrix,
    weights: NDArray[np.float64],
    fixed: NDArray[np.bool_],
    candidate: NDArray[np.bool_],
    *,
    cost: NDArray[np.float64] | None = None,
    drop_dominated: bool = True,
) -> Reduced:
    """Apply the reductions in the module docstring."""
    covered_fixed = np.asarray(cover[:, fixed].sum(axis=1)).ravel() > 0
    cand_cols = np.flatnonzero(candidate)
    sub = cover[:, cand_cols].tocsr()
    reach = np.diff(sub.indptr) > 0
    open_rows = ~covered_fixed & reach
    uncoverable_rows = np.flatnonzero(~covered_fixed & ~reach)
    rows = np.flatnonzero(open_rows)
    sub = sub[rows]
    keys = [sub.indices[sub.indptr[i] : sub.indptr[i + 1]].tobytes() for i in range(len(rows))]
    groups = np.empty(0, dtype=np.int64)
    first = np.empty(0, dtype=np.int64)
    if keys:
        _, first, groups = np.unique(
            np.array(keys, dtype=object), return_index=True, return_inverse=True
        )
    merged = sub[first].tocsr()
    merged_w = np.bincount(groups.ravel(), weights=weights[rows], minlength=len(first)).astype(
        np.float64
    )
    keep = np.diff(merged.tocsc().indptr) > 0
    if drop_dominated:
        keep &= ~_dominated(merged, cost[cand_cols] if cost is not None else None)
    merged = merged[:, np.flatnonzero(keep)].tocsr()
    row_groups = np.full(cover.shape[0], -1, dtype=np.int64)
    row_groups[rows] = groups.ravel()
    red = Reduced(
        cover=merged,
        weight=merged_w,
        columns=cand_cols[keep],
        row_groups=row_groups,
        baseline=float(weights[covered_fixed].sum()),
        uncoverable=float(weights[uncoverable_rows].sum()),
        uncoverable_rows=uncoverable_rows,
    )
    log.info(
        "preprocessing: %d demand rows -> %d (merged); %d candidates -> %d (useful, not "
        "dominated); baseline %.1f, uncoverable %.1f",
        cover.shape[0],
        merged.shape[0],
        len(cand_cols),
        merged.shape[1],
        red.baseline,
        red.uncoverable,
    )
    return red


def _dominated(cover: sparse.csr_matrix, cost: NDArray[np.float64] | None) -> NDArray[np.bool_]:
    """Columns whose rows are a subset of another column's rows, at no lower cost.

    Equal row sets keep the lowest-index (cheapest) column. Checked pairwise only among columns
    sharing their rarest row, which keeps the work near the number of nonzeros.
    """
    csc = cover.tocsc()
    n_cols = csc.shape[1]
    cost = np.zeros(n_cols) if cost is None else np.asarray(cost, float)
    row_count = np.diff(cover.indptr)
    col_rows = [csc.indices[csc.indptr[j] : csc.indptr[j + 1]] for j in range(n_cols)]
    out = np.zeros(n_cols, dtype=bool)
    for j, rows in enumerate(col_rows):
        if len(rows) == 0:
            out[j] = True
            continue
        rarest = rows[np.argmin(row_count[rows])]
        for k in cover.indices[cover.indptr[rarest] : cover.indptr[rarest + 1]]:
            if k == j or out[k] or cost[k] > cost[j] or len(col_rows[k]) < len(rows):
                continue
            if len(col_rows[k]) == len(rows) and (cost[k], k) > (cost[j], j):
                continue  # equal sets: the cheaper (then lower-index) one stays
            if np.isin(rows, col_rows[k], assume_unique=True).all():
                out[j] = True
                break
    return out


def build_order(
    cover: sparse.csr_matrix,
    weights: NDArray[np.float64],
    fixed: NDArray[np.bool_],
    picked: ArrayLike,
    site_ids: list[str],
) -> list[SiteGain]:
    """The picked columns in the order a planner would build them: each next the one adding
    the most demand not yet covered (by the fixed sites or those before it); ties: lower
    column first. Each carries that marginal gain. Gains only fall as sites are added, so a
    stale gain is an upper bound and is recomputed only when it reaches the top of the heap."""
    csc = cover.tocsc()
    covered = np.asarray(cover[:, fixed].sum(axis=1)).ravel() > 0

    def gain(c: int) -> float:
        rows = csc.indices[csc.indptr[c] : csc.indptr[c + 1]]
        return float(weights[rows[~covered[rows]]].sum())

    heap = [(-gain(int(c)), int(c)) for c in np.asarray(picked, dtype=np.int64)]
    heapq.heapify(heap)
    out = []
    while heap:
        _, col = heapq.heappop(heap)
        fresh = (-gain(col), col)
        if heap and fresh > heap[0]:  # another may now be better: look again later
            heapq.heappush(heap, fresh)
            continue
        covered[csc.indices[csc.indptr[col] : csc.indptr[col + 1]]] = True
        out.append(SiteGain(site=site_ids[col], newly_covered=-fresh[0]))
    return out


def catchment(
    cost: sparse.csr_matrix, w: NDArray[np.float64], open_: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """Per column, the weight of the rows whose nearest open column it is (ties: lower index)."""
    cols = np.flatnonzero(open_)
    sub = cost[:, cols].tocsr()
    out = np.zeros(cost.shape[1])
    for r in range(sub.shape[0]):
        lo, hi = sub.indptr[r], sub.indptr[r + 1]
        if hi > lo:
            seg = sub.data[lo:hi]
            k = sub.indices[lo:hi][seg == seg.min()].min()
            out[cols[k]] += w[r]
    return out


# -- the input checks every model's from_cost_matrix shares --------------------------------


def check_weights(weights: ArrayLike | None, n_demand: int) -> NDArray[np.float64]:
    """Elderly per demand row: ``n_demand`` finite numbers >= 0 (None: ones)."""
    w = np.ones(n_demand) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n_demand,) or not np.isfinite(w).all() or (w < 0).any():
        raise ModelError(
            f"`weights` must be {n_demand} finite numbers >= 0 (one per demand row), got "
            f"shape {w.shape}"
            + (f" with {int((~np.isfinite(w)).sum())} not finite" if w.shape == (n_demand,) else "")
        )
    return w


def check_per_site(values: ArrayLike, n_sites: int, name: str) -> NDArray[np.float64]:
    """A number per site column (costs, capacities): ``n_sites`` finite numbers >= 0."""
    out = np.asarray(values, dtype=float)
    if out.shape != (n_sites,) or not np.isfinite(out).all() or (out < 0).any():
        raise ModelError(f"`{name}` must be {n_sites} finite numbers >= 0 (one per site column)")
    return out


def check_p(p: object, candidates: NDArray[np.bool_]) -> int:
    """``p`` new sites: an integer from 0 to the number of candidates."""
    n = int(candidates.sum())
    if not isinstance(p, int | np.integer) or isinstance(p, bool) or p < 0:
        raise ModelError(f"`p` must be an integer >= 0, got {p!r}")
    if p > n:
        raise ModelError(
            f"`p` = {p} is larger than the number of candidate sites ({n}); lower p or add "
            "candidates"
        )
    return int(p)


def site_names(site_ids: Sequence[str] | None, n_sites: int) -> list[str]:
    """Names of the site columns (default their positions as text), one per column."""
    names = [str(i) for i in range(n_sites)] if site_ids is None else [str(s) for s in site_ids]
    if len(names) != n_sites:
        raise ModelError(f"`site_ids` has {len(names)} names for {n_sites} columns")
    return names
