"""p-center: open at most ``p`` new sites so that the longest walk to the nearest site is shortest.

This answers "how far does the worst-served community walk, at best, with p more centres".
Every demand point with elderly counts (a point with none does not); existing sites are open.

Solved as a sequence of set-covering problems (:class:`~siting.models.lscp.LSCP`): a radius is
feasible when ``p`` new sites can bring every point within it. The radii tried are the distinct
walking distances of the matrix, halved each step (about ``log2`` of their number); each covering
problem carries its own proof, so

* the answer's longest walk is the smallest radius at which a cover with ``p`` sites was *found*;
* the lower bound is the next radius above the largest at which the covering problem's lower
  bound *proves* more than ``p`` sites are needed (and never below the farthest point's walk to
  its nearest site of all). Where a covering problem is neither solved nor refuted, the gap says
  so: it is the distance between the two.

``p = 0`` gives the existing sites' longest walk (no search); without existing sites it is
refused before solving.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from siting._errors import ModelError
from siting._messages import preview
from siting.models._prep import (
    as_sparse_cost,
    catchment,
    check_p,
    check_weights,
    site_names,
    site_sets,
)
from siting.models._result import SiteGain, Solution, Walks
from siting.models.lscp import LSCP
from siting.models.mclp import Method, _problem_sites
from siting.problem.cover import nearest_open

if TYPE_CHECKING:
    from siting.problem.build import Problem

log = logging.getLogger(__name__)


class CutoffTooShortError(ModelError):
    """The cost matrix's cutoff is too short for ``p`` sites to reach every demand point."""


class PCenter:
    """Build with :meth:`from_cost_matrix`, solve with :meth:`solve`."""

    def __init__(
        self,
        cost: sparse.csr_matrix,
        weights: NDArray[np.float64],
        *,
        p: int,
        fixed: NDArray[np.bool_],
        candidate: NDArray[np.bool_],
        site_ids: Sequence[str],
        rows: NDArray[np.int64],
        uncoverable_rows: NDArray[np.int64],
        cutoff_m: float,
    ) -> None:
        self.cost, self.weights, self.p = cost, weights, p
        self.cutoff_m = cutoff_m  # the longest walk the matrix holds
        self.fixed, self.candidate = fixed, candidate
        self.site_ids = list(site_ids)
        self.rows = rows  # the demand rows that count: elderly > 0, some site in reach
        self.uncoverable_rows = uncoverable_rows

    @classmethod
    def from_problem(
        cls,
        problem: Problem,
        *,
        p: int,
        max_walk_m: float,
        exclude_uncoverable: bool = False,
    ) -> PCenter:
        """Build from a :class:`siting.problem.Problem`, on walks up to ``max_walk_m``."""
        d = problem.demand
        return cls.from_cost_matrix(
            problem.walk_costs(max_walk_m),
            problem.weights,
            p=p,
            demand_ids=[f"{c}#{n}" for c, n in zip(d["community"], d["node"], strict=True)],
            exclude_uncoverable=exclude_uncoverable,
            cutoff_m=max_walk_m,
            **_problem_sites(problem),
        )

    @classmethod
    def from_cost_matrix(
        cls,
        cost: sparse.spmatrix | ArrayLike,
        weights: ArrayLike,
        *,
        p: int,
        fixed: ArrayLike = (),
        candidates: ArrayLike | None = None,
        excluded: ArrayLike = (),
        site_ids: Sequence[str] | None = None,
        demand_ids: Sequence[str] | None = None,
        exclude_uncoverable: bool = False,
        cutoff_m: float | None = None,
    ) -> PCenter:
        """``cost``: demand x site walking metres (sparse: absent = beyond ``cutoff_m``, the
        cutoff the matrix was computed with, default its longest stored walk; dense:
        ``inf``/``nan``). Demand that no fixed or candidate site reaches at all stops the model,
        named, unless ``exclude_uncoverable``."""
        matrix = as_sparse_cost(cost)
        n_demand, n_sites = matrix.shape
        w = check_weights(weights, n_demand)
        fixed_mask, cand = site_sets(n_sites, fixed, candidates, excluded)
        p = check_p(p, cand)
        if p == 0 and not fixed_mask.any():
            raise ModelError(
                "`p` is 0 and there are no existing (fixed) sites: no site would be open and "
                "no walk could be measured. Set `p` (scenario: `model.p`) to the number of new "
                "sites to open, at least 1"
            )
        # with p = 0 no candidate opens: only the existing sites can reach anyone
        usable = np.flatnonzero(fixed_mask if p == 0 else fixed_mask | cand)
        reach = np.diff(matrix[:, usable].tocsr().indptr) > 0
        counts = w > 0
        lost = np.flatnonzero(counts & ~reach)
        if len(lost) and not exclude_uncoverable:
            ids = (
                [str(i) for i in lost]
                if demand_ids is None
                else [str(demand_ids[int(i)]) for i in lost]
            )
            raise CutoffTooShortError(
                f"{len(lost)} demand point(s) ({w[lost].sum():,.0f} elderly) are beyond the "
                + (
                    "matrix's cutoff from every existing site (p = 0 opens no new one): "
                    if p == 0
                    else "matrix's cutoff from every site: "
                )
                + f"{preview(ids)}; compute the matrix with a longer cutoff (scenario: "
                "`model.max_walk_m`), "
                + ("raise `p`" if p == 0 else "add candidates near them")
                + ", or pass exclude_uncoverable=True"
            )
        names = site_names(site_ids, n_sites)
        return cls(
            matrix,
            w,
            p=int(p),
            fixed=fixed_mask,
            candidate=cand,
            site_ids=names,
            rows=np.flatnonzero(counts & reach),
            uncoverable_rows=lost,
            cutoff_m=float(cutoff_m if cutoff_m is not None else matrix.data.max(initial=0.0)),
        )

    def solve(self, *, method: Method = "auto", time_limit_s: float = 60.0) -> Solution:
        """Bisect over the distinct walking distances (see the module docstring)."""
        start = time.perf_counter()
        sub = self.cost[self.rows].tocsr()
        usable = self.fixed | self.candidate
        radii = np.unique(sub[:, np.flatnonzero(usable)].data)
        if len(self.rows) == 0:
            raise ModelError(
                "no demand point with elderly is in reach of any site within the matrix's "
                "cutoff: check the weights, or compute the matrix with a longer cutoff "
                "(scenario: `model.max_walk_m`)"
            )
        if self.p == 0:  # nothing to choose: the existing sites' longest walk, exactly
            return self._existing_only(sub, start)
        nearest_any = nearest_open(sub, usable)
        lo = int(np.searchsorted(radii, nearest_any.max()))  # no radius below this can work
        hi = len(radii) - 1
        per_solve = max(time_limit_s / (2 + math.log2(max(hi - lo + 1, 2))), 1.0)

        def attempt(k: int) -> tuple[bool, bool, NDArray[np.bool_]]:
            """(found a cover with <= p new sites, proved none exists, the sites found)."""
            model = LSCP.from_cost_matrix(
                sub,
                radius_m=float(radii[k]),
                fixed=np.flatnonzero(self.fixed),
                candidates=np.flatnonzero(self.candidate),
            )
            left = start + time_limit_s - time.perf_counter()
            res = model.solve(
                method=method, time_limit_s=max(min(per_solve, left), 0.5), enough=self.p
            )
            chosen = np.zeros(len(self.site_ids), dtype=bool)
            chosen[[int(s) for s in res.selected]] = True
            return res.objective <= self.p, res.bound > self.p, chosen

        found, proved, best = attempt(hi)
        if not found:
            raise CutoffTooShortError(
                f"{self.p} new site(s) cannot bring every demand point within the matrix's "
                f"cutoff ({radii[hi]:,.0f} m) of a site"
                + (" (proven)" if proved else " (none found)")
                + "; raise p, or compute the matrix with a longer cutoff (in a scenario: "
                "raise `model.max_walk_m`)"
            )
        proven_up_to = lo - 1  # radii[proven_up_to] proven infeasible (or below the floor)
        steps = 1
        while lo < hi and time.perf_counter() < start + time_limit_s:
            mid = (lo + hi) // 2
            ok, refuted, chosen = attempt(mid)
            steps += 1
            if ok:
                hi, best = mid, chosen
            else:
                lo = mid + 1
                if refuted:
                    proven_up_to = max(proven_up_to, mid)
        open_ = best | self.fixed
        walk = np.full(self.cost.shape[0], np.nan)
        walk[self.rows] = nearest_open(sub, open_)
        worst = float(np.nanmax(walk[self.rows]))
        bound = float(max(radii[proven_up_to + 1], nearest_any.max()))
        bound = min(bound, worst)
        gap = (worst - bound) / worst if worst > 0 else 0.0
        status = "Optimal (proven by the covering bounds)" if gap == 0 else "Heuristic"
        if lo < hi:
            status += "; bisection stopped by the time limit"
        nearest_of = catchment(sub, self.weights[self.rows], open_)
        picked = sorted(np.flatnonzero(best), key=lambda j: (-nearest_of[j], j))
        log.info(
            "p-center: longest walk %.0f m, bound %.0f m, %d covering problems", worst, bound, steps
        )
        return Solution(
            model="pcenter",
            gains=tuple(SiteGain(self.site_ids[j], float(nearest_of[j])) for j in picked),
            objective=worst,
            bound=bound,
            gap=gap,
            status=status,
            solver=f"bisection over {len(radii):,} walking distances, {steps} LSCP solves",
            time_s=time.perf_counter() - start,
            p=self.p,
            method=method,
            walks=Walks(max_walk_m=self.cutoff_m, worst_walk_m=worst, walk_m=walk, bound_m=bound),
            uncoverable=float(self.weights[self.uncoverable_rows].sum()),
            uncoverable_rows=tuple(self.uncoverable_rows.tolist()),
        )

    def _existing_only(self, sub: sparse.csr_matrix, start: float) -> Solution:
        """p = 0: the one possible answer, the existing sites; its longest walk is its bound."""
        walk = np.full(self.cost.shape[0], np.nan)
        walk[self.rows] = nearest_open(sub, self.fixed)
        worst = float(np.nanmax(walk[self.rows]))
        return Solution(
            model="pcenter",
            gains=(),
            objective=worst,
            bound=worst,
            gap=0.0,
            status="Optimal (p = 0: the existing sites are the only answer)",
            solver="none needed: no new site to choose (p = 0)",
            time_s=time.perf_counter() - start,
            p=0,
            walks=Walks(max_walk_m=self.cutoff_m, worst_walk_m=worst, walk_m=walk, bound_m=worst),
            uncoverable=float(self.weights[self.uncoverable_rows].sum()),
            uncoverable_rows=tuple(self.uncoverable_rows.tolist()),
        )
