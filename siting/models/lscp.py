"""LSCP and target coverage: the fewest new sites reaching everyone (or a share) in reach.

LSCP first reports the demand no candidate can ever reach (ids and weight): with any such
demand the problem has no solution, so it stops and names it unless ``exclude_uncoverable``
says to leave it out explicitly. Target coverage asks for the fewest new sites that bring the
covered share of the elderly to ``target_share`` (0.9 for "90 % within 15 minutes").

``fast``: greedy, then a local search for fewer sites (:mod:`._local`): for LSCP a
row-weighting swap search, for a target share the iterated swap search of MCLP at one site fewer
at a time. The lower bound comes from the LP relaxation, solved meanwhile in a second thread
(for LSCP from its dual solution, scaled to feasibility, so it is certified).
``exact``: HiGHS branch and cut, warm-started with the fast answer. ``auto``: both when small.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from siting._errors import ModelError
from siting._messages import preview
from siting.models import _heuristic as heur
from siting.models import _highs
from siting.models._prep import (
    Reduced,
    as_sparse_cost,
    build_order,
    check_weights,
    reduce,
    site_names,
    site_sets,
)
from siting.models._result import Solution
from siting.models.mclp import Method, _problem_sites
from siting.problem.cover import coverage_sets

if TYPE_CHECKING:
    from siting.problem.build import Problem

log = logging.getLogger(__name__)


class LSCP:
    """Location set covering: fewest new sites so every coverable demand point is in reach."""

    def __init__(
        self,
        cover: sparse.csr_matrix,
        weights: NDArray[np.float64],
        *,
        fixed: NDArray[np.bool_],
        candidate: NDArray[np.bool_],
        site_ids: Sequence[str],
        demand_ids: Sequence[str],
        target_share: float | None = None,
    ) -> None:
        if target_share is not None and not 0 < target_share <= 1:
            raise ModelError(f"`target_share` must be in (0, 1], got {target_share!r}")
        self.target_share = target_share
        self.cover = cover
        self.weights = weights
        self.fixed = fixed
        self.candidate = candidate
        self.site_ids = list(site_ids)
        self.demand_ids = list(demand_ids)

    @classmethod
    def from_problem(cls, problem: Problem, *, exclude_uncoverable: bool = False) -> LSCP:
        """Build from a :class:`siting.problem.Problem` (its circles, existing sites fixed,
        excluded candidates never open); demand ids are ``community#node``."""
        return cls.from_cost_matrix(
            problem.cost,
            radius_m=problem.radius_m,
            weights=problem.weights,
            demand_ids=_demand_ids(problem),
            exclude_uncoverable=exclude_uncoverable,
            **_problem_sites(problem),
        )

    @classmethod
    def from_cost_matrix(
        cls,
        cost: sparse.spmatrix | ArrayLike,
        *,
        radius_m: float | ArrayLike,
        weights: ArrayLike | None = None,
        fixed: ArrayLike = (),
        candidates: ArrayLike | None = None,
        excluded: ArrayLike = (),
        site_ids: Sequence[str] | None = None,
        demand_ids: Sequence[str] | None = None,
        exclude_uncoverable: bool = False,
        **kwargs: float,
    ) -> LSCP:
        """Build from a demand x site matrix of metres (see :meth:`MCLP.from_cost_matrix`).

        ``weights`` (elderly per row) only serve the reports; ``demand_ids`` name the rows in
        them. Raises :class:`ModelError` listing the uncoverable demand unless
        ``exclude_uncoverable`` is True.
        """
        matrix = as_sparse_cost(cost)
        n_demand, n_sites = matrix.shape
        w = check_weights(weights, n_demand)
        fixed_mask, cand = site_sets(n_sites, fixed, candidates, excluded)
        if not cand.any():
            raise ModelError("there are no candidate sites to open")
        ids = site_names(site_ids, n_sites)
        rows = (
            [str(i) for i in range(n_demand)]
            if demand_ids is None
            else [str(d) for d in demand_ids]
        )
        model = cls(
            coverage_sets(matrix, radius_m),
            w,
            fixed=fixed_mask,
            candidate=cand,
            site_ids=ids,
            demand_ids=rows,
            **kwargs,
        )
        unreachable, weight = model.uncoverable()
        if len(unreachable) and not exclude_uncoverable:
            raise ModelError(
                f"{len(unreachable)} demand point(s) ({weight:,.0f} elderly) are out of reach of "
                f"every candidate and existing site: {preview(unreachable)}; no set of sites "
                "covers everyone. Add candidates near them, or pass exclude_uncoverable=True "
                "(scenario: exclude_uncoverable: true) to cover everyone else"
            )
        return model

    def uncoverable(self) -> tuple[list[str], float]:
        """Demand ids no fixed or candidate site reaches, and their total weight."""
        reach = np.asarray(self.cover[:, self.fixed | self.candidate].sum(axis=1)).ravel() > 0
        rows = np.flatnonzero(~reach)
        return [self.demand_ids[i] for i in rows], float(self.weights[rows].sum())

    def _required_weight(self, red: Reduced) -> float | None:
        """The weight to reach: None means every (merged) row, as in LSCP."""
        if self.target_share is None:
            return None
        total = float(self.weights.sum())
        reachable = red.baseline + float(red.weight.sum())
        if self.target_share * total > reachable + 1e-9:
            raise ModelError(
                f"a share of {self.target_share:.1%} is out of reach: every "
                f"candidate together covers {reachable / total:.1%} of the weight"
            )
        return self.target_share * total - red.baseline

    def solve(
        self,
        *,
        method: Method = "auto",
        time_limit_s: float = 60.0,
        exact_max_nonzeros: int = 50_000,
        search_steps: int = 500_000,
        enough: int | None = None,
    ) -> Solution:
        """Solve; see the module docstring for ``method``.

        The search is seeded, so the same input gives the same sites unless the time limit
        stops it first (it gets four fifths of the limit, checked between chunks of steps).
        ``enough``: stop searching (and skip branch and cut) once a cover with at most this many
        new sites is found, for callers asking only whether that many suffice (p-center).
        """
        start = time.perf_counter()
        red = reduce(self.cover, self.weights, self.fixed, self.candidate, drop_dominated=True)
        need = self._required_weight(red)
        csc = red.cover.tocsc()
        if red.cover.shape[0] == 0 or (need is not None and need <= 0):
            chosen = np.zeros(red.cover.shape[1], dtype=bool)
            lower, status, solver = 0, "Optimal", "trivial"
        else:
            chosen = _greedy_cover(csc, red.weight, need)
            pool = ThreadPoolExecutor(max_workers=1)  # the LP bound, beside the search
            bound = pool.submit(self._lower_bound, red, max(time_limit_s * 0.8, 0.5))
            pool.shutdown(wait=False)
            deadline = start + 0.8 * time_limit_s
            if need is None:
                chosen, done, finished = _cover_search(
                    csc, chosen, search_steps, deadline, enough or 0
                )
                solver = f"greedy, then a row-weighting swap search ({done:,} steps); LP bound"
            else:
                chosen, done, finished = _target_search(csc, red.weight, chosen, need, deadline)
                solver = f"greedy, then swap search at ever fewer sites ({done} rounds); LP bound"
            lower = bound.result()
            status = "Heuristic; gap certified by the LP bound"
            if chosen.sum() <= lower:
                status = "Optimal (proven by the LP bound)"
            elif not finished:
                status += "; search stopped by the time limit"
            small = red.cover.nnz <= exact_max_nonzeros
            settled = chosen.sum() <= lower or (enough is not None and chosen.sum() <= enough)
            if (method == "exact" or (method == "auto" and small)) and not settled:
                left = max(start + time_limit_s - time.perf_counter(), 1.0)
                x, mip_lower, status = self._exact(red, chosen, need, left)
                if x.sum() <= chosen.sum():
                    chosen = x
                lower = max(lower, mip_lower)
                solver = f"{_highs.version()} branch and cut (warm start: the search)"
        picked = red.columns[chosen]
        gains = build_order(self.cover, self.weights, self.fixed, picked, self.site_ids)
        n = int(chosen.sum())
        covered = float(self.weights[self._covered(picked)].sum())
        return Solution(
            model="target" if self.target_share is not None else "lscp",
            gains=tuple(gains),
            objective=n,
            bound=int(lower),
            gap=(n - lower) / n if n else 0.0,
            status=status,
            solver=solver,
            time_s=time.perf_counter() - start,
            covered=covered,
            target_share=self.target_share,
            method=method,
            uncoverable=red.uncoverable,
            uncoverable_rows=tuple(red.uncoverable_rows.tolist()),
        )

    def _model(self, red: Reduced, need: float | None, *, integer: bool):
        n_rows, n_cols = red.cover.shape
        if need is None:  # every row: sum_{j covers i} x_j >= 1
            return _highs.build(
                red.cover.astype(float).tocsc(),
                np.ones(n_cols),
                np.zeros(n_cols),
                np.ones(n_cols),
                np.ones(n_rows),
                np.full(n_rows, _highs.INF),
                np.full(n_cols, integer),
                maximize=False,
            )
        a = sparse.bmat(
            [
                [-red.cover.astype(float), sparse.identity(n_rows)],
                [None, sparse.csr_matrix(red.weight.reshape(1, -1))],
            ],
            format="csc",
        )
        n_all = n_cols + n_rows
        return _highs.build(
            a,
            np.r_[np.ones(n_cols), np.zeros(n_rows)],
            np.zeros(n_all),
            np.ones(n_all),
            np.r_[np.full(n_rows, -_highs.INF), need],
            np.r_[np.zeros(n_rows), _highs.INF],
            np.r_[np.full(n_cols, integer), np.zeros(n_rows, dtype=bool)],
            maximize=False,
        )

    def _lower_bound(self, red: Reduced, time_limit_s: float) -> int:
        need = self._required_weight(red)
        solved = _highs.run(
            self._model(red, need, integer=False),
            time_limit_s=time_limit_s,
            relax=True,
            ipm=need is None,
            partial=True,  # an unfinished LP still gives a valid (weaker) bound
        )
        if need is not None:
            return math.ceil(solved.objective - 1e-6) if solved.status == "Optimal" else 0
        u = np.maximum(solved.row_duals, 0.0)  # dual of the covering LP: max sum u, A^T u <= 1
        col_load = np.asarray(red.cover.T.astype(float) @ u).ravel()
        scale = max(float(col_load.max(initial=0.0)), 1.0)
        return math.ceil(u.sum() / scale - 1e-9)

    def _exact(
        self, red: Reduced, warm: NDArray[np.bool_], need: float | None, time_limit_s: float
    ) -> tuple[NDArray[np.bool_], int, str]:
        lp = self._model(red, need, integer=True)
        start = warm.astype(float)
        if need is not None:
            rows = np.asarray(red.cover[:, warm].sum(axis=1)).ravel() > 0
            start = np.r_[start, rows.astype(float)]
        solved = _highs.run(lp, time_limit_s=time_limit_s, start=start)
        x = solved.x[: red.cover.shape[1]] > 0.5
        return x, math.ceil(solved.bound - 1e-6), solved.status

    def _covered(self, picked: NDArray[np.int64]) -> NDArray[np.bool_]:
        mask = self.fixed.copy()
        mask[picked] = True
        return np.asarray(self.cover[:, mask].sum(axis=1)).ravel() > 0


class TargetCoverage(LSCP):
    """Fewest new sites so that ``target_share`` of all elderly are covered.

    Demand out of every site's reach is allowed here: it simply cannot count towards the share.
    """

    @classmethod
    def from_problem(  # type: ignore[override]  # the share is what this model is about
        cls, problem: Problem, *, target_share: float
    ) -> LSCP:
        """Fewest new sites reaching ``target_share`` of a problem's elderly."""
        return cls.from_target(
            problem.cost,
            radius_m=problem.radius_m,
            weights=problem.weights,
            target_share=target_share,
            demand_ids=_demand_ids(problem),
            **_problem_sites(problem),
        )

    @classmethod
    def from_target(
        cls,
        cost: sparse.spmatrix | ArrayLike,
        *,
        radius_m: float | ArrayLike,
        weights: ArrayLike,
        target_share: float,
        fixed: ArrayLike = (),
        candidates: ArrayLike | None = None,
        excluded: ArrayLike = (),
        site_ids: Sequence[str] | None = None,
        demand_ids: Sequence[str] | None = None,
    ) -> LSCP:
        """Build from a demand x site matrix of metres and the share to reach (0-1]."""
        return cls.from_cost_matrix(
            cost,
            radius_m=radius_m,
            weights=weights,
            fixed=fixed,
            candidates=candidates,
            excluded=excluded,
            site_ids=site_ids,
            demand_ids=demand_ids,
            exclude_uncoverable=True,
            target_share=target_share,
        )


def _greedy_cover(
    csc: sparse.csc_matrix, w: NDArray[np.float64], need: float | None
) -> NDArray[np.bool_]:
    """Lazy greedy set cover (most uncovered rows, or weight for a target), then drop the
    sites the others make redundant."""
    n_rows, n_cols = csc.shape
    value = np.ones(n_rows) if need is None else w
    goal = float(value.sum()) if need is None else need
    chosen = heur.lazy_greedy(csc, value, p=n_cols, cost=np.zeros(n_cols), budget=np.inf, goal=goal)
    counts = np.asarray(csc[:, chosen].sum(axis=1)).ravel()
    got = float(value[counts > 0].sum())
    by_size = sorted(
        np.flatnonzero(chosen).tolist(), key=lambda k: csc.indptr[k + 1] - csc.indptr[k]
    )
    for col in by_size:
        rows = csc.indices[csc.indptr[col] : csc.indptr[col + 1]]
        lost = float(value[rows][counts[rows] == 1].sum())
        if got - lost >= goal - 1e-9:  # the others still cover enough without it
            chosen[col] = False
            counts[rows] -= 1
            got -= lost
    return chosen


_STEPS = 250_000  # cover-search steps between looks at the clock


def _cover_search(
    csc: sparse.csc_matrix, start: NDArray[np.bool_], steps: int, deadline: float, enough: int
) -> tuple[NDArray[np.bool_], int, bool]:
    """The row-weighting search in chunks (each from the best cover so far, its own seed),
    stopping early at ``enough`` columns."""
    from siting.models import _cover_search  # numba: imported when a search runs

    best, done = start, 0
    while done < steps and best.sum() > enough:
        if time.perf_counter() > deadline:
            return best, done, False
        chunk = min(_STEPS, steps - done)
        best = _cover_search.weighted_cover_search(csc, best, steps=chunk, seed=done, lower=enough)
        done += chunk
    return best, done, True


def _target_search(
    csc: sparse.csc_matrix,
    w: NDArray[np.float64],
    start: NDArray[np.bool_],
    need: float,
    deadline: float,
    rounds: int = 300,
) -> tuple[NDArray[np.bool_], int, bool]:
    """Fewer sites for a target share: drop the site losing least, let the iterated swap
    search (MCLP with one site fewer) recover the weight; repeat while it reaches ``need``."""
    best, done = start, 0
    cost = np.zeros(csc.shape[1])
    from siting.models import _local as local

    arrays = local.search_arrays(csc)
    while best.sum() > 1:
        if time.perf_counter() > deadline:
            return best, done, False
        trial = best.copy()
        counts = np.asarray(csc[:, trial].sum(axis=1)).ravel()
        opened = np.flatnonzero(trial)
        loss = [
            float(w[(r := csc.indices[csc.indptr[j] : csc.indptr[j + 1]])][counts[r] == 1].sum())
            for j in opened
        ]
        trial[opened[int(np.argmin(loss))]] = False
        p = int(trial.sum())
        trial, value = local.iterated_swap_search(
            csc, w, trial, p=p, cost=cost, budget=np.inf, rounds=rounds, seed=done, arrays=arrays
        )
        done += rounds
        if value < need - 1e-9:
            break
        best = trial
    return best, done, True


def _demand_ids(problem: Problem) -> list[str]:
    """``community#node`` for each demand point, for messages naming them."""
    d = problem.demand
    return [f"{c}#{n}" for c, n in zip(d["community"], d["node"], strict=True)]
