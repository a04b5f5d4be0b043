"""p-median: open at most ``p`` new sites to make the elderly's walk to the nearest site shortest.

Minimises the elderly-weighted mean walking distance to the nearest open site (existing sites
fixed open), on the sparse cost matrix: each demand point walks to an open site within the
matrix's cutoff, or is *unassigned* at a penalty of the cutoff plus one metre, so a point no
open site reaches never makes the model infeasible and is reported instead. The result gives
the mean walk of the assigned elderly, the worst-served distance (the longest of those walks)
and the elderly left unassigned. Solved exactly by HiGHS; status and gap are HiGHS's own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from siting._errors import ModelError
from siting.models import _highs
from siting.models._prep import as_sparse_cost, site_sets


@dataclass(frozen=True)
class PMedianResult:
    selected: tuple[str, ...]
    mean_walk_m: float  # elderly-weighted, over the assigned elderly
    worst_walk_m: float  # the longest walk of an assigned demand point
    unassigned: float  # elderly no open site reaches within the cutoff
    objective: float  # sum of weight x metres, unassigned at the penalty
    bound: float
    gap: float
    status: str
    solver: str
    time_s: float
    walk_m: NDArray[np.float64]  # per demand point: metres to its site, NaN if unassigned


class PMedian:
    """Build with :meth:`from_cost_matrix`, solve with :meth:`solve`."""

    def __init__(
        self,
        cost: sparse.csr_matrix,
        weights: NDArray[np.float64],
        *,
        p: int,
        fixed: NDArray[np.bool_],
        candidate: NDArray[np.bool_],
        cutoff_m: float,
        site_ids: Sequence[str],
    ) -> None:
        self.cost, self.weights, self.p = cost, weights, p
        self.fixed, self.candidate, self.cutoff_m = fixed, candidate, cutoff_m
        self.site_ids = list(site_ids)

    @classmethod
    def from_cost_matrix(
        cls,
        cost: sparse.spmatrix | ArrayLike,
        weights: ArrayLike,
        *,
        p: int,
        cutoff_m: float,
        fixed: ArrayLike = (),
        candidates: ArrayLike | None = None,
        excluded: ArrayLike = (),
        site_ids: Sequence[str] | None = None,
    ) -> PMedian:
        """``cost``: demand x site metres (sparse or dense); pairs beyond ``cutoff_m`` are
        treated as out of reach."""
        matrix = as_sparse_cost(cost)
        n_demand, n_sites = matrix.shape
        w = np.asarray(weights, dtype=float)
        if w.shape != (n_demand,) or (w < 0).any():
            raise ModelError(f"`weights` must be {n_demand} numbers >= 0")
        if not cutoff_m > 0:
            raise ModelError("`cutoff_m` must be > 0")
        fixed_mask, cand = site_sets(n_sites, fixed, candidates, excluded)
        if not isinstance(p, int | np.integer) or p < 0 or p > cand.sum():
            raise ModelError(f"`p` must be between 0 and the {int(cand.sum())} candidates")
        coo = matrix.tocoo()
        keep = coo.data <= cutoff_m
        kept = sparse.csr_matrix(
            (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=matrix.shape
        )
        ids = [str(i) for i in range(n_sites)] if site_ids is None else [str(s) for s in site_ids]
        return cls(
            kept, w, p=int(p), fixed=fixed_mask, candidate=cand, cutoff_m=cutoff_m, site_ids=ids
        )

    def solve(self, *, time_limit_s: float = 60.0, mip_rel_gap: float = 0.0) -> PMedianResult:
        start = time.perf_counter()
        usable = self.fixed | self.candidate
        cols = np.flatnonzero(usable)
        pairs = self.cost[:, cols].tocoo()
        n_rows, n_sites, n_pairs = self.cost.shape[0], len(cols), pairs.nnz
        penalty = self.cutoff_m + 1.0
        is_fixed = self.fixed[cols]
        # columns: x (sites), z (pairs), u (unassigned, one per row)
        idx = np.arange(n_pairs)
        assign = sparse.hstack(
            [
                sparse.csr_matrix((n_rows, n_sites)),
                sparse.csr_matrix((np.ones(n_pairs), (pairs.row, idx)), shape=(n_rows, n_pairs)),
                sparse.identity(n_rows),
            ]
        )
        link = sparse.hstack(
            [
                sparse.csr_matrix((-np.ones(n_pairs), (idx, pairs.col)), shape=(n_pairs, n_sites)),
                sparse.identity(n_pairs),
                sparse.csr_matrix((n_pairs, n_rows)),
            ]
        )
        count = sparse.hstack(
            [
                sparse.csr_matrix((~is_fixed).astype(float).reshape(1, -1)),
                sparse.csr_matrix((1, n_pairs + n_rows)),
            ]
        )
        a = sparse.vstack([assign, link, count]).tocsc()
        n_all = n_sites + n_pairs + n_rows
        inf = _highs.INF
        obj = np.r_[np.zeros(n_sites), self.weights[pairs.row] * pairs.data, self.weights * penalty]
        lp = _highs.build(
            a,
            obj,
            np.r_[is_fixed.astype(float), np.zeros(n_pairs + n_rows)],
            np.ones(n_all),
            np.r_[np.ones(n_rows), np.full(n_pairs, -inf), -inf],
            np.r_[np.ones(n_rows), np.zeros(n_pairs), float(self.p)],
            np.r_[np.ones(n_sites, dtype=bool), np.zeros(n_pairs + n_rows, dtype=bool)],
            maximize=False,
        )
        solved = _highs.run(lp, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
        is_open = solved.x[:n_sites] > 0.5
        # each point walks to its nearest open site (what the optimum assigns, ties exact)
        walk = np.full(n_rows, np.nan)
        open_pairs = is_open[pairs.col]
        for r, d in zip(pairs.row[open_pairs], pairs.data[open_pairs], strict=True):
            if np.isnan(walk[r]) or d < walk[r]:
                walk[r] = d
        assigned = ~np.isnan(walk)
        w = self.weights
        mean = float((w[assigned] * walk[assigned]).sum() / max(w[assigned].sum(), 1e-12))
        opened = cols[is_open & ~is_fixed]
        return PMedianResult(
            selected=tuple(self.site_ids[c] for c in opened),
            mean_walk_m=mean,
            worst_walk_m=float(np.nanmax(walk)) if assigned.any() else float("nan"),
            unassigned=float(w[~assigned].sum()),
            objective=float(solved.objective),
            bound=float(solved.bound),
            gap=solved.gap,
            status=solved.status,
            solver=_highs.version(),
            time_s=time.perf_counter() - start,
            walk_m=walk,
        )
