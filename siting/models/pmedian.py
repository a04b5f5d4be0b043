"""p-median: open at most ``p`` new sites to make the elderly's walk to the nearest site shortest.

Minimises the elderly-weighted mean walking distance to the nearest open site (existing sites
fixed open), on the sparse cost matrix: each demand point walks to an open site within the
matrix's cutoff, or is *unassigned* at a penalty of the cutoff plus one metre, so a point no
open site reaches never makes the model infeasible and is reported instead. The result gives
the mean walk of the assigned elderly, the worst-served distance (the longest of those walks)
and the elderly left unassigned. ``fast``: vertex substitution with a Lagrangian lower bound
(:mod:`._median`); ``exact``: HiGHS branch and cut, warm-started with it, status and gap
HiGHS's own; ``auto`` (default): fast, then exact when the model is small enough.

``p = 0`` measures the walks to the existing sites alone; a model in which nobody could be
assigned (``p = 0`` without existing sites in reach, or no site in reach at all) is refused
before solving, where it would otherwise come back "Optimal" with everyone unassigned.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from siting._errors import ModelError
from siting.models import _highs
from siting.models._prep import (
    as_sparse_cost,
    catchment,
    check_p,
    check_weights,
    site_names,
    site_sets,
)
from siting.models._result import SiteGain, Solution, Walks
from siting.models.mclp import Method, _problem_sites
from siting.problem.cover import nearest_open

if TYPE_CHECKING:
    from siting.problem.build import Problem


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
    def from_problem(cls, problem: Problem, *, p: int, max_walk_m: float) -> PMedian:
        """Build from a :class:`siting.problem.Problem`, on walks up to ``max_walk_m``
        (computed on the problem's network, not cut at the circles)."""
        return cls.from_cost_matrix(
            problem.walk_costs(max_walk_m),
            problem.weights,
            cutoff_m=max_walk_m,
            p=p,
            **_problem_sites(problem),
        )

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
        w = check_weights(weights, n_demand)
        if not cutoff_m > 0:
            raise ModelError("`cutoff_m` must be > 0")
        fixed_mask, cand = site_sets(n_sites, fixed, candidates, excluded)
        p = check_p(p, cand)
        coo = matrix.tocoo()
        keep = coo.data <= cutoff_m
        kept = sparse.csr_matrix(
            (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=matrix.shape
        )
        _check_someone_served(kept, w, int(p), fixed_mask, cand, cutoff_m)
        ids = site_names(site_ids, n_sites)
        return cls(
            kept, w, p=int(p), fixed=fixed_mask, candidate=cand, cutoff_m=cutoff_m, site_ids=ids
        )

    def solve(
        self,
        *,
        method: Method = "auto",
        time_limit_s: float = 60.0,
        mip_rel_gap: float = 0.0,
        exact_max_pairs: int = 200_000,
    ) -> Solution:
        """``fast``: vertex substitution, bound by Lagrangian relaxation; ``exact``: HiGHS branch
        and cut warm-started with it, HiGHS's own status and gap; ``auto``: fast, then exact
        when the model has at most ``exact_max_pairs`` demand-site pairs."""
        if method not in ("auto", "exact", "fast"):
            raise ModelError(f"`method` must be 'auto', 'exact' or 'fast', got {method!r}")
        start = time.perf_counter()
        penalty = self.cutoff_m + 1.0
        usable = self.fixed | self.candidate
        cost = self.cost[:, np.flatnonzero(usable)].tocsr()
        is_fixed = self.fixed[usable]
        is_cand = self.candidate[usable]
        from siting.models import _median  # numba: imported when the search runs

        opened = _median.vertex_substitution(
            cost, self.weights, fixed=is_fixed, candidate=is_cand, p=self.p, penalty=penalty
        )
        upper = _median.total_walk(cost, self.weights, opened | is_fixed, penalty)
        run_exact = method == "exact" or (method == "auto" and cost.nnz <= exact_max_pairs)
        share = 0.3 if run_exact else 0.9  # of the time, for the bound
        lower = _median.lagrangian_bound(
            cost,
            self.weights,
            fixed=is_fixed,
            candidate=is_cand,
            p=self.p,
            penalty=penalty,
            upper=upper,
            seconds=share * max(time_limit_s - (time.perf_counter() - start), 0.1),
        )
        lower = min(lower, upper)
        gap = (upper - lower) / upper if upper > 0 else 0.0
        status = "Optimal (proven by the Lagrangian bound)" if gap <= 1e-9 else "Heuristic"
        solver = "vertex substitution; Lagrangian bound by subgradient"
        if run_exact and gap > mip_rel_gap:
            left = max(time_limit_s - (time.perf_counter() - start), 1.0)
            solved, x = self._exact(cost, is_fixed, opened | is_fixed, penalty, left, mip_rel_gap)
            if solved.objective <= upper + 1e-6 * max(upper, 1.0):
                opened, upper = x & ~is_fixed, solved.objective
            lower = max(lower, solved.bound)
            gap = solved.gap if lower == solved.bound else (upper - lower) / upper
            status = solved.status
            solver = f"{_highs.version()} branch and cut (warm start: vertex substitution)"
        walk = nearest_open(cost, opened | is_fixed)
        walk[walk > self.cutoff_m] = np.nan
        assigned = ~np.isnan(walk)
        w = self.weights
        mean = float((w[assigned] * walk[assigned]).sum() / max(w[assigned].sum(), 1e-12))
        cols = np.flatnonzero(usable)
        opened_cols = cols[opened]
        nearest_of = catchment(cost, w, opened | is_fixed)[opened]
        order = sorted(range(len(opened_cols)), key=lambda k: (-nearest_of[k], opened_cols[k]))
        return Solution(
            model="pmedian",
            gains=tuple(
                SiteGain(self.site_ids[opened_cols[k]], float(nearest_of[k])) for k in order
            ),
            objective=float(upper),
            bound=float(lower),
            gap=float(gap),
            status=status,
            solver=solver,
            time_s=time.perf_counter() - start,
            p=self.p,
            method=method,
            uncoverable=float(w[np.diff(cost.indptr) == 0].sum()),  # beyond every usable site
            walks=Walks(
                max_walk_m=self.cutoff_m,
                worst_walk_m=float(np.nanmax(walk)) if assigned.any() else float("nan"),
                walk_m=walk,
                mean_walk_m=mean,
                unassigned=float(w[~assigned].sum()),
            ),
        )

    def _exact(
        self,
        cost: sparse.csr_matrix,
        is_fixed: NDArray[np.bool_],
        warm: NDArray[np.bool_],
        penalty: float,
        time_limit_s: float,
        mip_rel_gap: float,
    ) -> tuple[_highs.Solved, NDArray[np.bool_]]:
        """min sum w d z + sum w penalty u: each point assigned once (or unassigned), only to
        open sites, at most p new sites; warm-started with ``warm``."""
        pairs = cost.tocoo()
        n_rows, n_sites, n_pairs = cost.shape[0], cost.shape[1], pairs.nnz
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
        # the warm start: each point to its nearest open site, or unassigned
        k = np.flatnonzero(warm[pairs.col])
        k = k[np.lexsort((pairs.data[k], pairs.row[k]))]  # by point, then distance
        nearest = k[np.r_[True, pairs.row[k][1:] != pairs.row[k][:-1]]] if len(k) else k
        z = np.zeros(n_pairs)
        z[nearest] = 1.0
        unassigned = np.ones(n_rows)
        unassigned[pairs.row[nearest]] = 0.0
        start = np.r_[warm.astype(float), z, unassigned]
        solved = _highs.run(lp, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, start=start)
        return solved, solved.x[:n_sites] > 0.5


def _check_someone_served(
    cost: sparse.csr_matrix,
    w: NDArray[np.float64],
    p: int,
    fixed: NDArray[np.bool_],
    candidate: NDArray[np.bool_],
    cutoff_m: float,
) -> None:
    """Refuse a model whose every answer leaves all the elderly unassigned: it would come back
    "Optimal" with a mean walk over nobody. ``p = 0`` is a question only with existing sites
    that reach someone (how far the elderly walk today); without them it is an error."""
    if not (w > 0).any():
        raise ModelError("every weight is 0: there are no elderly to assign to sites")
    weighted = cost[w > 0].tocsc()
    reached_by = np.diff(weighted.indptr) > 0  # per site column: reaches someone with elderly
    if p == 0 and not (reached_by & fixed).any():
        why = (
            "there are no existing (fixed) sites"
            if not fixed.any()
            else f"the {int(fixed.sum())} existing (fixed) site(s) reach no demand point with "
            f"elderly within `cutoff_m` ({cutoff_m:,.0f} m)"
        )
        raise ModelError(
            f"`p` is 0 and {why}: no site would be open and nobody assigned. Set `p` "
            "(scenario: `model.p`) to the number of new sites to open, at least 1"
            + ("" if not fixed.any() else ", or raise `cutoff_m` (scenario: `model.max_walk_m`)")
        )
    if not (reached_by & (fixed | candidate)).any():
        raise ModelError(
            f"no existing or candidate site reaches a demand point with elderly within "
            f"`cutoff_m` ({cutoff_m:,.0f} m): nobody could be assigned. Raise `cutoff_m` "
            "(scenario: `model.max_walk_m`) or add candidates near the demand"
        )
