"""Capacitated MCLP: sites serve at most their capacity, so "in reach" is not "served".

A centre with 20 托位 and 300 elderly within 15 minutes serves at most its capacity (in elderly
served, e.g. places x elderly per place). The model opens at most ``p`` new sites (existing ones
stay open) and assigns elderly to open sites within their radius, up to each site's capacity,
maximising the elderly served. Every demand point's elderly are then split three ways:

* served -- assigned to an open site within reach;
* in reach, over capacity -- within reach of an open site, but all of them are full;
* out of reach -- no open site within the radius.

``exact``/``auto``: HiGHS branch and cut (assignment variables only on covered pairs), warm-started
with the capacity-aware greedy, so it never returns less; status, bound and gap are HiGHS's own.
``fast``: the greedy sites with their best assignment, and a bound from the LP relaxation's duals
(for cities where branch and cut cannot finish: on the medium benchmark city, 10,000 x 2,000,
p = 100, HiGHS alone served 12,694 elderly in 60 s against a bound of 139,180).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import highspy
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from siting._errors import ModelError
from siting._messages import preview
from siting.models import _highs
from siting.models._prep import (
    as_sparse_cost,
    check_p,
    check_per_site,
    check_weights,
    site_names,
    site_sets,
)
from siting.models._result import CapacitySplit, SiteGain, Solution
from siting.models.mclp import MCLP, Method, _problem_sites
from siting.problem.cover import coverage_sets

if TYPE_CHECKING:
    from siting.problem.build import Problem


class CapacitatedMCLP:
    """Build with :meth:`from_cost_matrix`, solve with :meth:`solve`."""

    def __init__(
        self,
        cover: sparse.csr_matrix,
        weights: NDArray[np.float64],
        capacity: NDArray[np.float64],
        *,
        p: int,
        fixed: NDArray[np.bool_],
        candidate: NDArray[np.bool_],
        site_ids: Sequence[str],
    ) -> None:
        self.cover, self.weights, self.capacity = cover, weights, capacity
        self.p, self.fixed, self.candidate, self.site_ids = p, fixed, candidate, list(site_ids)

    @classmethod
    def from_problem(cls, problem: Problem, *, p: int) -> CapacitatedMCLP:
        """Build from a :class:`siting.problem.Problem`, whose sites' ``capacity`` (elderly
        each can serve) must be known for every existing site and candidate."""
        usable = problem.sites["role"] != "excluded"
        missing = problem.sites.loc[usable & problem.sites["capacity"].isna(), "id"].tolist()
        if missing:
            raise ModelError(
                f"no capacity for sites {preview(missing)}: fill the capacity column, or set "
                "`model.candidate_capacity` for new sites"
            )
        return cls.from_cost_matrix(
            problem.cost,
            problem.weights,
            radius_m=problem.radius_m,
            capacity=problem.sites["capacity"].fillna(0.0).to_numpy(),
            p=p,
            **_problem_sites(problem),
        )

    @classmethod
    def from_cost_matrix(
        cls,
        cost: sparse.spmatrix | ArrayLike,
        weights: ArrayLike,
        *,
        radius_m: float | ArrayLike,
        capacity: ArrayLike,
        p: int,
        fixed: ArrayLike = (),
        candidates: ArrayLike | None = None,
        excluded: ArrayLike = (),
        site_ids: Sequence[str] | None = None,
    ) -> CapacitatedMCLP:
        """``capacity``: elderly each site can serve (>= 0), one per column."""
        matrix = as_sparse_cost(cost)
        n_demand, n_sites = matrix.shape
        w = check_weights(weights, n_demand)
        cap = check_per_site(capacity, n_sites, "capacity")
        fixed_mask, cand = site_sets(n_sites, fixed, candidates, excluded)
        p = check_p(p, cand)
        ids = site_names(site_ids, n_sites)
        return cls(
            coverage_sets(matrix, radius_m),
            w,
            cap,
            p=int(p),
            fixed=fixed_mask,
            candidate=cand,
            site_ids=ids,
        )

    def solve(
        self, *, method: Method = "auto", time_limit_s: float = 60.0, mip_rel_gap: float = 0.0
    ) -> Solution:
        """``fast``: capacity-aware greedy sites, their best assignment (an LP), and the LP
        relaxation's bound; ``exact`` and ``auto``: HiGHS branch and cut warm-started with that
        answer, so it never returns less; status, bound and gap are HiGHS's own."""
        if method not in ("auto", "exact", "fast"):
            raise ModelError(f"`method` must be 'auto', 'exact' or 'fast', got {method!r}")
        start = time.perf_counter()
        usable = self.fixed | self.candidate
        cover = self.cover[:, usable].tocoo()
        cols = np.flatnonzero(usable)
        is_fixed = self.fixed[cols]
        cap = self.capacity[cols]
        # two starts: the capacity-aware greedy, and the sites covering the most elderly (the
        # MCLP's fast answer, whose certified bound also bounds the served: nobody is served
        # who is not covered); each gets its best assignment (an LP), the better one is kept
        covering = MCLP(
            self.cover,
            self.weights,
            p=self.p,
            fixed=self.fixed,
            candidate=self.candidate,
            site_ids=self.site_ids,
            site_cost=np.zeros(len(self.site_ids)),
            budget=np.inf,
        ).solve(method="fast", time_limit_s=max(0.3 * time_limit_s, 1.0))
        position = {self.site_ids[c]: k for k, c in enumerate(cols)}
        by_coverage = is_fixed.copy()
        by_coverage[[position[sid] for sid in covering.selected]] = True
        starts = {
            "capacity-aware greedy": self._greedy(cover.tocsc(), cap, is_fixed),
            "the MCLP's sites": by_coverage,
        }
        assigned = {
            name: self._assign(cover, cap, is_fixed, sites, time_limit_s / 4)
            for name, sites in starts.items()
        }
        name = max(assigned, key=lambda k: float(assigned[k][1].sum()))
        x, z, _ = assigned[name]
        if method == "fast":
            relaxed = _highs.run(
                self._lp(cover, cap, is_fixed),
                time_limit_s=max(time_limit_s - (time.perf_counter() - start), 0.5),
                relax=True,
                ipm=True,
                partial=True,
            )
            value = float(z.sum())
            # the capacity LP alone is weak (fractional sites spread their places everywhere)
            places = float(cap[is_fixed].sum() + np.sort(cap[~is_fixed])[::-1][: self.p].sum())
            bound = min(
                _lp_bound(relaxed, cover, cap, self.weights, is_fixed, self.p),
                covering.bound,
                places,
            )
            bound = max(bound, value)
            gap = (bound - value) / value if value > 0 else 0.0
            status = "Optimal (proven by the bounds)" if gap <= 1e-9 else "Heuristic"
            solver = (
                f"{name}, assignment by LP; bound: the least of the LP relaxation, the "
                "covering bound and the places"
            )
        else:
            left = max(time_limit_s - (time.perf_counter() - start), 1.0)
            x, z, solved = self._mip(cover, cap, is_fixed, x, z, left, mip_rel_gap)
            bound, gap, status = solved.bound, solved.gap, solved.status
            solver = f"{_highs.version()} branch and cut (warm start: {name})"
        n_rows = self.cover.shape[0]
        served = np.minimum(np.bincount(cover.row, weights=z, minlength=n_rows), self.weights)
        reach = np.zeros(n_rows, dtype=bool)
        reach[cover.row[x[cover.col]]] = True
        load = np.bincount(cover.col, weights=z, minlength=len(cols))
        opened = cols[x & ~is_fixed]
        loads = {self.site_ids[c]: float(load[k]) for k, c in enumerate(cols) if x[k]}
        order = sorted((self.site_ids[c] for c in opened), key=lambda sid: (-loads[sid], sid))
        anywhere = np.diff(self.cover[:, usable].tocsr().indptr) > 0
        return Solution(
            model="cmclp",
            gains=tuple(SiteGain(sid, loads[sid]) for sid in order),  # most elderly served first
            objective=float(served.sum()),
            bound=float(bound),
            gap=float(gap),
            status=status,
            solver=solver,
            time_s=time.perf_counter() - start,
            p=self.p,
            method=method,
            uncoverable=float(self.weights[~anywhere].sum()),
            capacity=CapacitySplit(
                served=served,
                over_capacity=np.where(reach, self.weights - served, 0.0),
                out_of_reach=np.where(reach, 0.0, self.weights),
                load=loads,
            ),
        )

    def _greedy(
        self, csc: sparse.csc_matrix, cap: NDArray[np.float64], is_fixed: NDArray[np.bool_]
    ) -> NDArray[np.bool_]:
        """Open sites one at a time by the elderly they could still serve: the lesser of their
        capacity and the unserved elderly in reach (which only falls as sites open, so gains
        are re-evaluated lazily). Each opened site takes first the points fewest sites reach."""
        left = self.weights.astype(float).copy()
        reach_count = np.diff(csc.tocsr().indptr)
        is_open = is_fixed.copy()

        def gain(j: int) -> float:
            rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
            return float(min(cap[j], left[rows].sum()))

        def take(j: int) -> None:
            rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
            room = cap[j]
            for i in rows[np.argsort(reach_count[rows], kind="stable")]:
                amount = min(left[i], room)
                left[i] -= amount
                room -= amount
                if room <= 0:
                    break

        for k in np.flatnonzero(is_fixed).tolist():
            take(k)
        heap: list[tuple[float, int]] = [(-gain(k), k) for k in np.flatnonzero(~is_fixed).tolist()]
        heapq.heapify(heap)
        opened = 0
        while heap and opened < self.p:
            _, j = heapq.heappop(heap)
            fresh = (-gain(j), j)
            if fresh[0] >= 0:
                continue  # serves nobody now, and gains only fall
            if heap and fresh > heap[0]:
                heapq.heappush(heap, fresh)
                continue
            is_open[j] = True
            take(j)
            opened += 1
        return is_open

    def _lp(
        self, cover: sparse.coo_matrix, cap: NDArray[np.float64], is_fixed: NDArray[np.bool_]
    ) -> highspy.HighsLp:
        """max sum z  s.t.  per site sum z <= cap x,  per point sum z <= w,  sum new x <= p."""
        n_rows, n_sites, n_pairs = self.cover.shape[0], len(cap), cover.nnz
        pair_site = sparse.csr_matrix(
            (np.ones(n_pairs), (cover.col, np.arange(n_pairs))), shape=(n_sites, n_pairs)
        )
        pair_row = sparse.csr_matrix(
            (np.ones(n_pairs), (cover.row, np.arange(n_pairs))), shape=(n_rows, n_pairs)
        )
        cap_rows = sparse.hstack([-sparse.diags(cap), pair_site])
        demand_rows = sparse.hstack([sparse.csr_matrix((n_rows, n_sites)), pair_row])
        count_row = sparse.hstack(
            [
                sparse.csr_matrix((~is_fixed).astype(float).reshape(1, -1)),
                sparse.csr_matrix((1, n_pairs)),
            ]
        )
        a = sparse.vstack([cap_rows, demand_rows, count_row]).tocsc()
        inf = _highs.INF
        return _highs.build(
            a,
            np.r_[np.zeros(n_sites), np.ones(n_pairs)],
            np.r_[is_fixed.astype(float), np.zeros(n_pairs)],
            np.r_[np.ones(n_sites), np.full(n_pairs, inf)],
            np.full(a.shape[0], -inf),
            np.r_[np.zeros(n_sites), self.weights, float(self.p)],
            np.r_[np.ones(n_sites, dtype=bool), np.zeros(n_pairs, dtype=bool)],
            maximize=True,
        )

    def _assign(
        self,
        cover: sparse.coo_matrix,
        cap: NDArray[np.float64],
        is_fixed: NDArray[np.bool_],
        sites: NDArray[np.bool_],
        time_limit_s: float,
    ) -> tuple[NDArray[np.bool_], NDArray[np.float64], _highs.Solved]:
        """The best assignment to ``sites`` (their x fixed: an LP)."""
        lp = self._lp(cover, cap, is_fixed)
        n_sites = len(cap)
        lp.col_lower_ = np.r_[sites.astype(float), lp.col_lower_[n_sites:]]
        lp.col_upper_ = np.r_[sites.astype(float), lp.col_upper_[n_sites:]]
        solved = _highs.run(lp, time_limit_s=max(time_limit_s, 1.0), relax=True)
        return sites.copy(), np.maximum(solved.x[n_sites:], 0.0), solved

    def _mip(
        self,
        cover: sparse.coo_matrix,
        cap: NDArray[np.float64],
        is_fixed: NDArray[np.bool_],
        x: NDArray[np.bool_],
        z: NDArray[np.float64],
        time_limit_s: float,
        mip_rel_gap: float,
    ) -> tuple[NDArray[np.bool_], NDArray[np.float64], _highs.Solved]:
        """Branch and cut, warm-started with sites ``x`` and assignment ``z``."""
        n_sites = len(cap)
        solved = _highs.run(
            self._lp(cover, cap, is_fixed),
            time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap,
            start=np.r_[x.astype(float), z],
        )
        return solved.x[:n_sites] > 0.5, np.maximum(solved.x[n_sites:], 0.0), solved


def _lp_bound(
    relaxed: _highs.Solved,
    cover: sparse.coo_matrix,
    cap: NDArray[np.float64],
    w: NDArray[np.float64],
    is_fixed: NDArray[np.bool_],
    p: int,
) -> float:
    """An upper bound on the elderly served from the LP's duals, valid whether or not the LP
    finished (weak duality): with prices ``v_j`` >= 0 on the sites' capacity and ``u_i`` >= 0 on
    the points, raised where needed so that every pair has ``u_i + v_j >= 1``, the served total
    is at most ``sum w u`` plus ``cap v`` over the fixed sites and the ``p`` best candidates."""
    n_sites, n_rows = len(cap), len(w)
    duals = np.abs(relaxed.row_duals)
    v = duals[:n_sites].copy()
    u = duals[n_sites : n_sites + n_rows].copy()
    need = np.zeros(n_rows)
    np.maximum.at(need, cover.row, 1.0 - v[cover.col])
    u = np.maximum(u, need)
    value = cap * v
    free = np.sort(value[~is_fixed])[::-1][:p]
    return float(w @ u + value[is_fixed].sum() + free[free > 0].sum())
