"""Location models. The maximal covering location problem (MCLP) with existing facilities.

MCLP: choose at most ``p`` new sites among the candidates so that the most elderly are within
their service radius of an open site, existing facilities kept open. Solved exactly as a mixed
integer programme by HiGHS; the status and gap reported are HiGHS's own.

The model is built on coverage sets, not distances, and preprocessed before solving:
demand already covered by the fixed facilities is constant and leaves the model; demand no
candidate reaches leaves it too (and is counted); demand points with the same set of covering
candidates are merged into one row with their weights added.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from siting._errors import ModelError, SolverError
from siting.coverage import coverage_sets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteGain:
    """One selected site in build order and the elderly it adds after the ones before it."""

    site: str
    newly_covered: float


@dataclass(frozen=True)
class MCLPResult:
    """The answer to an MCLP, as HiGHS reported it.

    ``objective`` and ``bound`` count all covered demand (the fixed facilities' share
    included); ``gap`` is HiGHS's relative MIP gap on the new-site part
    (``(bound - objective) / objective`` as HiGHS defines it, 0 when proven optimal).
    """

    selected: tuple[str, ...]  # in build order: largest marginal gain first
    gains: tuple[SiteGain, ...]
    objective: float  # demand covered with the fixed and the selected sites
    baseline: float  # demand covered by the fixed sites alone
    bound: float  # proven upper bound on ``objective``
    gap: float
    status: str
    solver: str
    time_s: float
    p: int
    uncoverable: float  # demand no fixed or candidate site can reach

    @property
    def newly_covered(self) -> float:
        """Demand the selected sites add to the baseline."""
        return self.objective - self.baseline


def _merge_rows(
    cover: sparse.csr_matrix, weights: NDArray[np.float64]
) -> tuple[sparse.csr_matrix, NDArray[np.float64]]:
    """Merge rows with identical column sets, adding their weights."""
    keys = [
        cover.indices[cover.indptr[i] : cover.indptr[i + 1]].tobytes()
        for i in range(cover.shape[0])
    ]
    _, first, inverse = np.unique(
        np.array(keys, dtype=object), return_index=True, return_inverse=True
    )
    merged_w = np.bincount(inverse, weights=weights, minlength=len(first)).astype(np.float64)
    return cover[first], merged_w


class MCLP:
    """Maximal covering location problem over candidate sites with fixed existing sites.

    Build with :meth:`from_cost_matrix` and call :meth:`solve`.
    """

    def __init__(
        self,
        cover: sparse.csr_matrix,
        weights: NDArray[np.float64],
        *,
        p: int,
        fixed: NDArray[np.bool_],
        candidate: NDArray[np.bool_],
        site_ids: Sequence[str],
    ) -> None:
        self.cover = cover
        self.weights = weights
        self.p = p
        self.fixed = fixed
        self.candidate = candidate
        self.site_ids = list(site_ids)

    @classmethod
    def from_cost_matrix(
        cls,
        cost: sparse.spmatrix | ArrayLike,
        weights: ArrayLike,
        *,
        radius_m: float | ArrayLike,
        p: int,
        fixed: ArrayLike = (),
        candidates: ArrayLike | None = None,
        site_ids: Sequence[str] | None = None,
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
            Most new sites to open (>= 0).
        fixed
            Column indices of existing facilities, always open.
        candidates
            Column indices that may be opened; default every column not fixed.
        site_ids
            Names of the columns, used in the result; default their indices as text.
        """
        cost = _as_sparse_cost(cost)
        w = np.asarray(weights, dtype=float)
        n_demand, n_sites = cost.shape
        if w.shape != (n_demand,) or (w < 0).any() or not np.isfinite(w).all():
            raise ModelError(
                f"`weights` must be {n_demand} finite numbers >= 0 (one per "
                f"demand row), got shape {w.shape}"
            )
        radius = np.broadcast_to(np.asarray(radius_m, float), (n_demand,))
        if (radius <= 0).any() or not np.isfinite(radius).all():
            raise ModelError("`radius_m` must be > 0 and finite")
        fixed_mask = np.zeros(n_sites, dtype=bool)
        fixed_mask[np.asarray(fixed, dtype=np.int64)] = True
        cand_mask = ~fixed_mask if candidates is None else np.zeros(n_sites, dtype=bool)
        if candidates is not None:
            cand_mask[np.asarray(candidates, dtype=np.int64)] = True
        both = np.flatnonzero(cand_mask & fixed_mask)
        if len(both):
            raise ModelError(f"columns {both[:10].tolist()} are both fixed and candidates")
        if not isinstance(p, int | np.integer) or p < 0:
            raise ModelError(f"`p` must be an integer >= 0, got {p!r}")
        if p > cand_mask.sum():
            raise ModelError(
                f"`p` = {p} is larger than the number of candidate sites "
                f"({int(cand_mask.sum())}); lower p or add candidates"
            )
        ids = [str(i) for i in range(n_sites)] if site_ids is None else [str(s) for s in site_ids]
        if len(ids) != n_sites:
            raise ModelError(f"`site_ids` has {len(ids)} names for {n_sites} columns")
        return cls(
            coverage_sets(cost, radius),
            w,
            p=int(p),
            fixed=fixed_mask,
            candidate=cand_mask,
            site_ids=ids,
        )

    def covered(self, open_columns: ArrayLike) -> NDArray[np.bool_]:
        """Demand rows covered when ``open_columns`` (and the fixed sites) are open."""
        mask = self.fixed.copy()
        mask[np.asarray(open_columns, dtype=np.int64)] = True
        return np.asarray(self.cover[:, mask].sum(axis=1)).ravel() > 0

    def solve(self, *, time_limit_s: float = 60.0, mip_rel_gap: float = 0.0) -> MCLPResult:
        """Solve exactly with HiGHS (branch and cut), stopping at ``time_limit_s``.

        A stop at the time limit returns the best solution found with HiGHS's status
        (``Time limit reached``) and its proven gap; no solution at all raises
        :class:`SolverError`.
        """
        start = time.perf_counter()
        baseline_rows = self.covered([])
        baseline = float(self.weights[baseline_rows].sum())
        cand_cols = np.flatnonzero(self.candidate)
        sub = self.cover[~baseline_rows][:, cand_cols].tocsr()
        w = self.weights[~baseline_rows]
        reachable = np.diff(sub.indptr) > 0
        uncoverable = float(w[~reachable].sum())
        sub, w = _merge_rows(sub[reachable], w[reachable])
        useful = np.flatnonzero(np.diff(sub.tocsc().indptr) > 0)
        sub = sub[:, useful].tocsr()
        log.info(
            "MCLP: %d demand rows -> %d after preprocessing; %d of %d candidates reach "
            "uncovered demand; baseline %.0f, uncoverable %.0f",
            len(self.weights),
            sub.shape[0],
            len(useful),
            len(cand_cols),
            baseline,
            uncoverable,
        )
        if sub.shape[0] == 0 or self.p == 0:
            chosen: NDArray[np.int64] = np.array([], dtype=np.int64)
            status, gap, new_bound, new_obj = "Optimal", 0.0, 0.0, 0.0
        else:
            x, status, new_obj, new_bound, gap = _solve_highs(
                sub, w, min(self.p, len(useful)), time_limit_s, mip_rel_gap
            )
            chosen = cand_cols[useful[x]]
        gains = self._build_order(chosen)
        objective = baseline + float(sum(g.newly_covered for g in gains))
        if abs((objective - baseline) - new_obj) > 1e-6 * max(1.0, new_obj):
            raise SolverError(
                f"HiGHS objective {new_obj:.3f} disagrees with the coverage it "
                f"implies {objective - baseline:.3f}; please report this"
            )
        return MCLPResult(
            selected=tuple(g.site for g in gains),
            gains=tuple(gains),
            objective=objective,
            baseline=baseline,
            bound=baseline + new_bound,
            gap=gap,
            status=status,
            solver=f"HiGHS {highspy.Highs().version()}",
            time_s=time.perf_counter() - start,
            p=self.p,
            uncoverable=uncoverable,
        )

    def _build_order(self, chosen: NDArray[np.int64]) -> list[SiteGain]:
        """Order the chosen sites greedily by marginal gain (ties: lower column first)."""
        covered = self.covered([])
        remaining = sorted(int(c) for c in chosen)
        out = []
        while remaining:
            gain = [float(self.weights[~covered & self._column(c)].sum()) for c in remaining]
            best = int(np.argmax(gain))
            col = remaining.pop(best)
            covered |= self._column(col)
            out.append(SiteGain(site=self.site_ids[col], newly_covered=gain[best]))
        return out

    def _column(self, col: int) -> NDArray[np.bool_]:
        return np.asarray(self.cover[:, col].toarray()).ravel()


def _as_sparse_cost(cost: sparse.spmatrix | ArrayLike) -> sparse.csr_matrix:
    if sparse.issparse(cost):
        return sparse.csr_matrix(cost)
    dense = np.asarray(cost, dtype=float)
    if dense.ndim != 2:
        raise ModelError(f"`cost` must be a 2-D demand x site matrix, got shape {dense.shape}")
    ok = np.isfinite(dense)
    r, c = np.nonzero(ok)
    return sparse.csr_matrix((dense[ok], (r, c)), shape=dense.shape)


def _solve_highs(
    cover: sparse.csr_matrix,
    w: NDArray[np.float64],
    p: int,
    time_limit_s: float,
    mip_rel_gap: float,
) -> tuple[NDArray[np.int64], str, float, float, float]:
    """max w.y  s.t.  y_i <= sum_{j covers i} x_j,  sum x <= p,  x binary, 0 <= y <= 1."""
    n_rows, n_cols = cover.shape
    inf = highspy.kHighsInf
    # columns: x_0..x_{n_cols-1}, then y_0..y_{n_rows-1}; rows: one per demand row, then budget
    a = sparse.bmat(
        [
            [-cover.astype(float), sparse.identity(n_rows)],
            [sparse.csr_matrix(np.ones((1, n_cols))), None],
        ],
        format="csc",
    )
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_cols + n_rows, n_rows + 1
    lp.col_cost_ = np.r_[np.zeros(n_cols), w]
    lp.col_lower_ = np.zeros(n_cols + n_rows)
    lp.col_upper_ = np.ones(n_cols + n_rows)
    lp.row_lower_ = np.full(n_rows + 1, -inf)
    lp.row_upper_ = np.r_[np.zeros(n_rows), float(p)]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_cols + [
        highspy.HighsVarType.kContinuous
    ] * n_rows
    lp.sense_ = highspy.ObjSense.kMaximize
    h = highspy.Highs()
    h.silent()
    for key, value in (
        ("time_limit", float(time_limit_s)),
        ("mip_rel_gap", float(mip_rel_gap)),
        ("random_seed", 0),
    ):
        h.setOptionValue(key, value)
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    text = h.modelStatusToString(status)
    info = h.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        raise SolverError(
            f"HiGHS found no feasible MCLP solution (status {text!r}); raise `time_limit_s`"
        )
    x = np.asarray(h.getSolution().col_value[:n_cols])
    chosen = np.flatnonzero(x > 0.5)
    log.info(
        "HiGHS: %s, objective %.1f, bound %.1f, gap %.4g, %d nodes",
        text,
        info.objective_function_value,
        info.mip_dual_bound,
        info.mip_gap,
        info.mip_node_count,
    )
    return (
        chosen,
        text,
        float(info.objective_function_value),
        float(info.mip_dual_bound),
        float(max(info.mip_gap, 0.0)),
    )
