"""Capacitated MCLP: sites serve at most their capacity, so "in reach" is not "served".

A centre with 20 托位 and 300 elderly within 15 minutes serves at most its capacity (in elderly
served, e.g. places x elderly per place). The model opens at most ``p`` new sites (existing ones
stay open) and assigns elderly to open sites within their radius, up to each site's capacity,
maximising the elderly served. Every demand point's elderly are then split three ways:

* served -- assigned to an open site within reach;
* in reach, over capacity -- within reach of an open site, but all of them are full;
* out of reach -- no open site within the radius.

Solved exactly by HiGHS (assignment variables only on covered pairs); status, bound and gap are
HiGHS's own.
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
from siting.models._prep import as_sparse_cost, coverage_sets, site_sets


@dataclass(frozen=True)
class CapacitatedResult:
    """Sites opened and the elderly served, over capacity and out of reach, per demand point."""

    selected: tuple[str, ...]
    objective: float  # elderly served
    bound: float  # HiGHS's proven upper bound on the elderly served
    gap: float
    status: str
    solver: str
    time_s: float
    served: NDArray[np.float64]  # per demand point
    over_capacity: NDArray[np.float64]
    out_of_reach: NDArray[np.float64]
    load: dict[str, float]  # elderly assigned per open site


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
        w = np.asarray(weights, dtype=float)
        cap = np.asarray(capacity, dtype=float)
        if w.shape != (n_demand,) or (w < 0).any():
            raise ModelError(f"`weights` must be {n_demand} numbers >= 0")
        if cap.shape != (n_sites,) or (cap < 0).any() or not np.isfinite(cap).all():
            raise ModelError(
                f"`capacity` must be {n_sites} finite numbers >= 0 (elderly each site can serve)"
            )
        fixed_mask, cand = site_sets(n_sites, fixed, candidates, excluded)
        if not isinstance(p, int | np.integer) or p < 0 or p > cand.sum():
            raise ModelError(
                f"`p` must be between 0 and the {int(cand.sum())} candidates, got {p!r}"
            )
        ids = [str(i) for i in range(n_sites)] if site_ids is None else [str(s) for s in site_ids]
        return cls(
            coverage_sets(matrix, radius_m),
            w,
            cap,
            p=int(p),
            fixed=fixed_mask,
            candidate=cand,
            site_ids=ids,
        )

    def solve(self, *, time_limit_s: float = 60.0, mip_rel_gap: float = 0.0) -> CapacitatedResult:
        start = time.perf_counter()
        usable = self.fixed | self.candidate
        cover = self.cover[:, usable].tocoo()
        cols = np.flatnonzero(usable)
        n_rows, n_sites, n_pairs = self.cover.shape[0], len(cols), cover.nnz
        is_fixed = self.fixed[cols]
        # columns: x (one per usable site), then z (one per covered pair)
        pair_site = sparse.csr_matrix(
            (np.ones(n_pairs), (cover.col, np.arange(n_pairs))), shape=(n_sites, n_pairs)
        )
        pair_row = sparse.csr_matrix(
            (np.ones(n_pairs), (cover.row, np.arange(n_pairs))), shape=(n_rows, n_pairs)
        )
        cap_rows = sparse.hstack([-sparse.diags(self.capacity[cols]), pair_site])
        demand_rows = sparse.hstack([sparse.csr_matrix((n_rows, n_sites)), pair_row])
        count_row = sparse.hstack(
            [
                sparse.csr_matrix((~is_fixed).astype(float).reshape(1, -1)),
                sparse.csr_matrix((1, n_pairs)),
            ]
        )
        a = sparse.vstack([cap_rows, demand_rows, count_row]).tocsc()
        inf = _highs.INF
        lower = np.r_[is_fixed.astype(float), np.zeros(n_pairs)]
        upper = np.r_[np.ones(n_sites), np.full(n_pairs, inf)]
        lp = _highs.build(
            a,
            np.r_[np.zeros(n_sites), np.ones(n_pairs)],
            lower,
            upper,
            np.full(a.shape[0], -inf),
            np.r_[np.zeros(n_sites), self.weights, float(self.p)],
            np.r_[np.ones(n_sites, dtype=bool), np.zeros(n_pairs, dtype=bool)],
            maximize=True,
        )
        solved = _highs.run(lp, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
        is_open = solved.x[:n_sites] > 0.5
        z = np.maximum(solved.x[n_sites:], 0.0)
        served = np.minimum(np.bincount(cover.row, weights=z, minlength=n_rows), self.weights)
        reach = np.zeros(n_rows, dtype=bool)
        reach[cover.row[is_open[cover.col]]] = True
        load = np.bincount(cover.col, weights=z, minlength=n_sites)
        opened = cols[is_open & ~is_fixed]
        return CapacitatedResult(
            selected=tuple(self.site_ids[c] for c in opened),
            objective=float(served.sum()),
            bound=float(solved.bound),
            gap=solved.gap,
            status=solved.status,
            solver=_highs.version(),
            time_s=time.perf_counter() - start,
            served=served,
            over_capacity=np.where(reach, self.weights - served, 0.0),
            out_of_reach=np.where(reach, 0.0, self.weights),
            load={self.site_ids[c]: float(load[k]) for k, c in enumerate(cols) if is_open[k]},
        )
