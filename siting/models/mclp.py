"""MCLP: open at most ``p`` new sites (or spend at most a budget) to cover the most elderly.

Existing facilities stay open (``fixed``); only ``candidates`` may open; ``excluded`` sites never
do. Three ways to solve, chosen by ``method``:

* ``exact`` -- HiGHS branch and cut on the reduced model, warm-started with the fast answer;
  status, bound and gap are HiGHS's own (``Time limit reached`` with its proven gap if it stops);
* ``fast`` -- lazy greedy, then an iterated add/swap local search (:mod:`._local`); the bound
  is the Lagrangian bound evaluated from the LP duals (certified, see :mod:`._heuristic`);
* ``auto`` -- ``fast``, then ``exact`` when the reduced model is small enough to expect HiGHS to
  finish (at most ``exact_max_nonzeros`` after preprocessing: the small benchmark city, 14k,
  is proven optimal in 8-11 s; on the medium one, 183k, branch and cut stalls at the root and
  the time is better spent searching), keeping the better answer and the tighter bound.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from siting._errors import ModelError, SolverError
from siting.models import _heuristic as heur
from siting.models import _highs
from siting.models._prep import (
    Reduced,
    as_sparse_cost,
    build_order,
    check_p,
    check_per_site,
    check_weights,
    reduce,
    site_names,
    site_sets,
)
from siting.models._result import Solution
from siting.problem.cover import coverage_sets

if TYPE_CHECKING:
    from siting.problem.build import Problem

log = logging.getLogger(__name__)

Method = Literal["auto", "exact", "fast"]
_CHUNK = 100  # search rounds between looks at the clock
SMALL_NONZEROS = 5_000
"""Reduced models with at most this many nonzeros go straight to HiGHS branch and cut (warm
started by the greedy answer) under ``auto`` and ``exact``: the demo's is 173 x 62 with 412,
proven optimal in about 0.05 s, while the search's kernels would take ~12 s of CPU to compile
on a first run. Larger ones run the search first (module docstring)."""
# above this many nonzeros the LP is not expected to finish in time (medium benchmark city:
# 183k, 1.7 s; large: 758k, 29 s), so the subgradient gives the bound, beside the search
_LP_MAX_NONZEROS = 400_000


class MCLP:
    """Maximal covering location problem. Build with :meth:`from_cost_matrix`."""

    def __init__(
        self,
        cover: sparse.csr_matrix,
        weights: NDArray[np.float64],
        *,
        p: int,
        fixed: NDArray[np.bool_],
        candidate: NDArray[np.bool_],
        site_ids: Sequence[str],
        site_cost: NDArray[np.float64],
        budget: float,
        floor: float | None = None,
        units: NDArray[np.str_] | None = None,
    ) -> None:
        self.cover = cover
        self.weights = weights
        self.p = p
        self.fixed = fixed
        self.candidate = candidate
        self.site_ids = list(site_ids)
        self.site_cost = site_cost
        self.budget = budget
        self.floor = floor
        self.units = units

    @classmethod
    def from_problem(
        cls,
        problem: Problem,
        *,
        p: int | None = None,
        budget: float | None = None,
        floor: float | None = None,
        units: ArrayLike | None = None,
    ) -> MCLP:
        """Build from a :class:`siting.problem.Problem`: its cost matrix and circles, its
        existing sites fixed, its candidates (the excluded ones never open); ``budget`` spends the
        sites' ``cost``; ``floor`` and ``units`` as in :meth:`from_cost_matrix`."""
        return cls.from_cost_matrix(
            problem.cost,
            problem.weights,
            radius_m=problem.radius_m,
            p=p,
            budget=budget,
            site_cost=problem.sites["cost"].fillna(0.0).to_numpy() if budget is not None else None,
            floor=floor,
            units=units,
            **_problem_sites(problem),
        )

    @classmethod
    def from_cost_matrix(
        cls,
        cost: sparse.spmatrix | ArrayLike,
        weights: ArrayLike,
        *,
        radius_m: float | ArrayLike,
        p: int | None = None,
        fixed: ArrayLike = (),
        candidates: ArrayLike | None = None,
        excluded: ArrayLike = (),
        site_ids: Sequence[str] | None = None,
        site_cost: ArrayLike | None = None,
        budget: float | None = None,
        floor: float | None = None,
        units: ArrayLike | None = None,
    ) -> MCLP:
        """Build the model from a demand x site cost matrix.

        Parameters
        ----------
        cost
            Demand x site walking metres; sparse (absent = unreachable; a stored 0 is a real
            zero) or dense (``inf``/``nan`` = unreachable).
        weights
            Elderly per demand row (>= 0).
        radius_m
            Service radius, metres: one number, or one per demand row.
        p
            Most new sites to open. Give ``p``, ``budget``, or both.
        fixed
            Column indices of existing facilities, always open.
        candidates
            Column indices that may open; default every column neither fixed nor excluded.
        excluded
            Column indices that must not open (excluded land).
        site_ids
            Names of the columns, used in the result; default their indices as text.
        site_cost, budget
            Cost of opening each column and the total to stay within (any currency unit).
        floor, units
            Equity floor: every unit (``units``: one label per demand row, e.g. its 街道/乡镇
            code) has at least this share (0-1] of its elderly covered after the plan. Solved
            by HiGHS branch and cut whatever ``method`` says; a floor some unit cannot reach is
            an error naming the units and why.
        """
        matrix = as_sparse_cost(cost)
        n_demand, n_sites = matrix.shape
        w = check_weights(weights, n_demand)
        fixed_mask, cand = site_sets(n_sites, fixed, candidates, excluded)
        if p is None and budget is None:
            raise ModelError("give `p` (most new sites), `budget` (most cost), or both")
        if p is not None:
            p = check_p(p, cand)
        costs = np.zeros(n_sites) if site_cost is None else site_cost
        costs = check_per_site(costs, n_sites, "site_cost")
        if budget is not None and (budget < 0 or site_cost is None):
            raise ModelError("`budget` needs `site_cost` and must be >= 0")
        ids = site_names(site_ids, n_sites)
        labels = None
        if floor is not None:
            if not 0 < floor <= 1:
                raise ModelError(f"`floor` is a share in (0, 1], got {floor!r}")
            if units is None or len(np.asarray(units)) != n_demand:
                raise ModelError("`floor` needs `units`: one label per demand row")
            labels = np.asarray(units).astype(str)
        return cls(
            coverage_sets(matrix, radius_m),
            w,
            p=int(p) if p is not None else int(cand.sum()),
            fixed=fixed_mask,
            candidate=cand,
            site_ids=ids,
            site_cost=costs,
            budget=float(budget) if budget is not None else np.inf,
            floor=None if floor is None else float(floor),
            units=labels,
        )

    def covered(self, open_columns: ArrayLike) -> NDArray[np.bool_]:
        """Demand rows covered when ``open_columns`` (and the fixed sites) are open."""
        mask = self.fixed.copy()
        mask[np.asarray(open_columns, dtype=np.int64)] = True
        return np.asarray(self.cover[:, mask].sum(axis=1)).ravel() > 0

    def solve(
        self,
        *,
        method: Method = "auto",
        time_limit_s: float = 60.0,
        mip_rel_gap: float = 0.0,
        exact_max_nonzeros: int = 50_000,
        search_rounds: int = 2000,
    ) -> Solution:
        """Solve (see the module docstring for ``method``).

        ``search_rounds`` rounds of the iterated swap search run from a fixed seed, so the same
        input gives the same sites unless the time limit stops the search first (the status
        says so). The bound, from the LP, is reported with every answer.
        """
        if method not in ("auto", "exact", "fast"):
            raise ModelError(f"`method` must be 'auto', 'exact' or 'fast', got {method!r}")
        start = time.perf_counter()
        red = reduce(
            self.cover,
            self.weights,
            self.fixed,
            self.candidate,
            cost=self.site_cost,
            drop_dominated=True,
        )
        cost = self.site_cost[red.columns]
        floor = self._floor_rows(red) if self.floor is not None else None
        if floor is not None and floor.need.size:  # some unit is below the floor today
            chosen, value, bound, status, gap, solver = self._solve_floor(
                red, cost, floor, time_limit_s, mip_rel_gap
            )
        elif red.cover.shape[0] == 0 or self.p == 0 or red.cover.shape[1] == 0:
            chosen = np.zeros(red.cover.shape[1], dtype=bool)
            value, bound, gap, status = 0.0, 0.0, 0.0, "Optimal"
            solver = "none needed: no new site to choose (p = 0)" if self.p == 0 else "trivial"
        elif method != "fast" and red.cover.nnz <= SMALL_NONZEROS:
            # small enough for branch and cut alone: HiGHS proves the optimum in milliseconds,
            # and no search kernel needs compiling (a first run after installing stays quick)
            csc = red.cover.tocsc()
            greedy = heur.lazy_greedy(csc, red.weight, p=self.p, cost=cost, budget=self.budget)
            chosen, value, bound, status, gap = self._exact(
                red, cost, greedy, time_limit_s, mip_rel_gap
            )
            by_greedy = heur.covered_weight(csc, red.weight, greedy)
            if not value >= by_greedy - 1e-9:  # stopped before an answer better than its start
                chosen, value = greedy, by_greedy
            if not np.isfinite(bound):  # stopped before any bound: every row covered is one
                bound = float(red.weight.sum())
            bound = max(bound, value)
            gap = _gap(value, bound)
            solver = f"{_highs.version()} branch and cut (warm start: greedy)"
        else:
            deadline = start + time_limit_s
            run_exact = method == "exact" or (
                method == "auto" and red.cover.nnz <= exact_max_nonzeros
            )
            # when branch and cut follows, the fast part gets at most half of the time
            fast_deadline = start + 0.5 * time_limit_s if run_exact else deadline
            chosen, value, bound, status, solver = self._fast(
                red, cost, fast_deadline, search_rounds
            )
            gap = _gap(value, bound)
            if run_exact and gap > mip_rel_gap:
                left = max(deadline - time.perf_counter(), 1.0)
                x, value_x, bound_x, status, gap_x = self._exact(
                    red, cost, chosen, left, mip_rel_gap
                )
                if value_x >= value - 1e-9:
                    chosen, value = x, value_x
                bound = min(bound, bound_x)
                gap = gap_x if bound == bound_x else _gap(value, bound)
                solver = f"{_highs.version()} branch and cut (warm start: the fast search)"
        picked = red.columns[chosen]
        gains = build_order(self.cover, self.weights, self.fixed, picked, self.site_ids)
        objective = red.baseline + float(sum(g.newly_covered for g in gains))
        if abs(objective - red.baseline - value) > 1e-6 * max(1.0, value):
            raise ModelError(
                f"solution covers {objective - red.baseline:.3f} but the solver "
                f"reported {value:.3f}; please report this"
            )
        return Solution(
            model="mclp",
            gains=tuple(gains),
            objective=objective,
            covered=objective,
            baseline=red.baseline,
            bound=red.baseline + bound,
            gap=gap,
            status=status,
            solver=solver,
            time_s=time.perf_counter() - start,
            p=self.p,
            budget=None if self.budget == np.inf else float(self.budget),
            uncoverable=red.uncoverable,
            uncoverable_rows=tuple(red.uncoverable_rows.tolist()),
            method=method,
        )

    def _fast(
        self, red: Reduced, cost: NDArray[np.float64], deadline: float, rounds: int
    ) -> tuple[NDArray[np.bool_], float, float, str, str]:
        """Greedy, then the iterated swap search in a worker thread; meanwhile the bound: the LP
        relaxation by interior point in a second thread (its duals, read as Lagrangian
        multipliers, give it), or for models too large for the LP to finish in time, subgradient
        steps here, towards the best value the search has found so far. After the search, the
        subgradient also runs while the LP is still busy. Every bound is evaluated from
        multipliers (:func:`heur.lagrangian_bound`), so all are certified."""
        csc = red.cover.tocsc()
        w = red.weight
        budget = self.budget
        greedy = heur.lazy_greedy(csc, w, p=self.p, cost=cost, budget=budget)
        value_greedy = heur.covered_weight(csc, w, greedy)
        found = [value_greedy]  # the search posts its best value here
        has_budget = bool(np.isfinite(budget) and (cost > 0).any())
        use_lp = has_budget or red.cover.nnz <= _LP_MAX_NONZEROS
        total = max(deadline - time.perf_counter(), 0.0)
        stop_search = deadline - 0.2 * total  # a fifth of the time is the bound's alone
        stop_bound = deadline - max(0.02 * total, 0.05)
        pool = ThreadPoolExecutor(max_workers=2)  # HiGHS and the search both release the GIL
        lp = None
        if use_lp:
            lp = pool.submit(
                _highs.run,
                self._model(red, cost, integer=False),
                time_limit_s=max(stop_bound - time.perf_counter(), 0.5),
                relax=True,
                ipm=True,
                partial=True,
            )
        search = pool.submit(
            self._search, csc, w, cost, greedy, rounds=rounds, stop=stop_search, found=found
        )
        pool.shutdown(wait=False)
        sg = None if has_budget else heur.Subgradient(csc, w, p=self.p)
        while time.perf_counter() < stop_bound:
            lp_busy = lp is not None and not lp.done()
            if search.done() and not lp_busy and (sg is None or sg.converged or lp is not None):
                break
            if sg is not None and not sg.converged and (lp is None or search.done()):
                sg.step(found[0])
            else:
                time.sleep(0.005)
        best, done = search.result()
        value_best = heur.covered_weight(csc, w, best)
        bound = sg.best if sg is not None else np.inf
        sources = [f"subgradient ({sg.steps} steps)"] if sg is not None and sg.steps else []
        if lp is not None:
            solved = lp.result()
            lam = np.abs(solved.row_duals[: red.cover.shape[0]])
            lp_bound = heur.lagrangian_bound(csc, w, lam, p=self.p, cost=cost, budget=budget)
            bound = min(bound, lp_bound)
            sources.append(f"HiGHS LP duals ({solved.status})")
        bound = max(bound, value_best)
        log.info(
            "MCLP fast: greedy %.1f, best after %d search rounds %.1f, certified bound %.1f "
            "(from %s)",
            value_greedy,
            done,
            value_best,
            bound,
            ", ".join(sources),
        )
        status = (
            "Optimal (proven by the Lagrangian bound)"
            if _gap(value_best, bound) == 0
            else "Heuristic; gap certified by a Lagrangian bound"
        )
        if done < rounds:
            status += f"; search stopped by the time limit after {done} of {rounds} rounds"
        solver = (
            f"greedy + iterated swap search ({done} rounds, seed 0); Lagrangian bound from "
            + " and ".join(sources)
        )
        return best, value_best, bound, status, solver

    def _search(
        self,
        csc: sparse.csc_matrix,
        w: NDArray[np.float64],
        cost: NDArray[np.float64],
        start: NDArray[np.bool_],
        *,
        rounds: int,
        stop: float,
        found: list[float],
    ) -> tuple[NDArray[np.bool_], int]:
        """The iterated swap search in chunks of rounds (each its own seed), watching the clock
        between chunks and posting the best value to ``found``."""
        best, done = start, 0
        from siting.models import _local as local  # numba: imported when a search runs

        arrays = local.search_arrays(csc)
        while done < rounds:
            chunk = min(_CHUNK, rounds - done)
            best, value = local.iterated_swap_search(
                csc,
                w,
                best,
                p=self.p,
                cost=cost,
                budget=self.budget,
                rounds=chunk,
                seed=done,
                arrays=arrays,
            )
            found[0] = max(found[0], value)
            done += chunk
            if time.perf_counter() > stop:
                break
        return best, done

    def _model(
        self,
        red: Reduced,
        cost: NDArray[np.float64],
        *,
        integer: bool,
        floor: _Floor | None = None,
    ):
        """max w.y  s.t.  y_i <= sum_{j covers i} x_j,  sum x <= p,  cost.x <= budget; with a
        ``floor``, each unit u: sum_i w_ui y_i >= need_u (its elderly beyond the baseline)."""
        n_rows, n_cols = red.cover.shape
        budget_row = np.isfinite(self.budget)
        extra = [sparse.csr_matrix(np.ones((1, n_cols)))]
        upper = [float(self.p)]
        if budget_row:
            extra.append(sparse.csr_matrix(cost.reshape(1, -1)))
            upper.append(self.budget)
        blocks = [[-red.cover.astype(float), sparse.identity(n_rows)]]
        blocks += [[row, None] for row in extra]
        lower = np.full(n_rows + len(extra), -_highs.INF)
        if floor is not None:
            blocks.append([sparse.csr_matrix((len(floor.need), n_cols)), floor.weight])
            lower = np.r_[lower, floor.need]
            upper += [_highs.INF] * len(floor.need)
        a = sparse.bmat(blocks, format="csc")
        n_all = n_cols + n_rows
        return _highs.build(
            a,
            np.r_[np.zeros(n_cols), red.weight],
            np.zeros(n_all),
            np.ones(n_all),
            lower,
            np.r_[np.zeros(n_rows), upper],
            np.r_[np.full(n_cols, integer), np.zeros(n_rows, dtype=bool)],
            maximize=True,
        )

    def _exact(
        self,
        red: Reduced,
        cost: NDArray[np.float64],
        warm: NDArray[np.bool_],
        time_limit_s: float,
        mip_rel_gap: float,
    ) -> tuple[NDArray[np.bool_], float, float, str, float]:
        lp = self._model(red, cost, integer=True)
        rows_covered = np.asarray(red.cover[:, warm].sum(axis=1)).ravel() > 0
        solved = _highs.run(
            lp,
            time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap,
            start=np.r_[warm.astype(float), rows_covered.astype(float)],
        )
        x = solved.x[: red.cover.shape[1]] > 0.5
        log.info(
            "MCLP exact: %s, objective %.1f, bound %.1f, gap %.4g, %d nodes",
            solved.status,
            solved.objective,
            solved.bound,
            solved.gap,
            solved.nodes,
        )
        return x, float(solved.objective), float(solved.bound), solved.status, solved.gap

    def _floor_rows(self, red: Reduced) -> _Floor:
        """Each unit's elderly per reduced row, and what it must gain to reach the floor (only
        units short of it). A unit that cannot reach the floor even with every candidate open
        is an error naming it, with its figures."""
        assert self.floor is not None
        assert self.units is not None
        names, idx = np.unique(self.units, return_inverse=True)
        w = self.weights
        total = np.bincount(idx, weights=w, minlength=len(names))
        fixed = np.asarray(self.cover[:, self.fixed].sum(axis=1)).ravel() > 0
        base = np.bincount(idx[fixed], weights=w[fixed], minlength=len(names))
        inside = red.row_groups >= 0
        reach = np.bincount(idx[inside], weights=w[inside], minlength=len(names))
        tol = 1e-9 * np.maximum(total, 1.0)
        short = (total > 0) & (base + reach < self.floor * total - tol)
        if short.any():
            raise ModelError(
                f"equity floor {self.floor:.1%}: {short.sum()} unit(s) cannot reach it even "
                "with every candidate open (too many elderly no site reaches within their "
                "circle): "
                + "; ".join(
                    f"{names[u]} ({total[u]:,.1f} elderly, {base[u] / total[u]:.1%} covered "
                    f"now, at most {(base[u] + reach[u]) / total[u]:.1%} with every candidate, "
                    f"{total[u] - base[u] - reach[u]:,.1f} out of every circle)"
                    for u in np.flatnonzero(short)
                )
                + "; lower `model.equity_floor`, or add candidates near them"
            )
        need = self.floor * total - base
        active = np.flatnonzero((total > 0) & (need > tol))
        weight = sparse.csr_matrix(
            (w[inside], (idx[inside], red.row_groups[inside])),
            shape=(len(names), red.cover.shape[0]),
        )[active]
        return _Floor(
            names[active],
            weight.tocsr(),
            need[active].astype(np.float64),
            total[active].astype(np.float64),
            base[active].astype(np.float64),
        )

    def _solve_floor(
        self,
        red: Reduced,
        cost: NDArray[np.float64],
        floor: _Floor,
        time_limit_s: float,
        mip_rel_gap: float,
    ) -> tuple[NDArray[np.bool_], float, float, str, float, str]:
        """HiGHS branch and cut with the floor rows, warm-started with the greedy answer when
        that already meets the floor. No plan meeting it: an error naming the units."""
        csc = red.cover.tocsc()
        greedy = heur.lazy_greedy(csc, red.weight, p=self.p, cost=cost, budget=self.budget)
        rows = np.asarray(red.cover[:, greedy].sum(axis=1)).ravel() > 0
        meets = bool((floor.weight @ rows.astype(float) >= floor.need - 1e-9).all())
        solved = _highs.run(
            self._model(red, cost, integer=True, floor=floor),
            time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap,
            start=np.r_[greedy.astype(float), rows.astype(float)] if meets else None,
            partial=True,
        )
        if solved.status == "Infeasible":
            raise ModelError(
                f"equity floor {self.floor:.1%}: no plan within "
                + (f"{self.p} new site(s)" if np.isinf(self.budget) else "the budget")
                + " lifts every unit to it at once (HiGHS proved it infeasible): each could "
                "reach it with every candidate open, but not all of them within this limit. "
                "Units below it today: "
                + "; ".join(
                    f"{u} ({b / t:.1%} of {t:,.1f} elderly, {n:,.1f} more needed)"
                    for u, b, t, n in zip(
                        floor.units, floor.base, floor.total, floor.need, strict=True
                    )
                )
                + "; raise `model.p`/`budget` or lower `model.equity_floor`"
            )
        if not solved.feasible:
            raise SolverError(
                f"equity floor {self.floor:.1%}: HiGHS found no plan meeting it within "
                f"{time_limit_s:g} s (status {solved.status!r}); raise `model.time_limit_s`"
            )
        x = solved.x[: red.cover.shape[1]] > 0.5
        value = heur.covered_weight(csc, red.weight, x)
        bound = max(float(solved.bound), value)
        log.info(
            "MCLP with equity floor %.1f%% on %d unit(s): %s, objective %.1f, bound %.1f",
            100 * (self.floor or 0.0),
            len(floor.need),
            solved.status,
            value,
            bound,
        )
        solver = (
            f"{_highs.version()} branch and cut (equity floor {100 * (self.floor or 0.0):g}% "
            "in every unit)"
        )
        return x, value, bound, solved.status, _gap(value, bound), solver


@dataclass(frozen=True)
class _Floor:
    """The floor's rows: units short of it today, their elderly per reduced demand row."""

    units: NDArray[np.str_]
    weight: sparse.csr_matrix  # units x reduced rows: the unit's elderly in each row
    need: NDArray[np.float64]  # elderly each unit must gain beyond the existing sites
    total: NDArray[np.float64]
    base: NDArray[np.float64]


def _gap(value: float, bound: float) -> float:
    """Relative gap of a maximisation: (bound - value) / value, 0 when both are 0."""
    if bound - value <= 1e-9 * max(1.0, abs(value)):
        return 0.0
    return (bound - value) / value if value > 0 else float("inf")


def _problem_sites(problem: Problem) -> dict[str, Any]:
    """The site arguments every ``from_cost_matrix`` takes, from a problem's site table."""
    return {
        "fixed": problem.columns("existing"),
        "candidates": problem.columns("candidate"),
        "excluded": problem.columns("excluded"),
        "site_ids": problem.site_ids,
    }
