"""The other models at city scale: p-median, p-center and capacitated MCLP on a shared city.

``python -m benchmarks walks --size medium`` runs each model's ``fast`` method (and the
capacitated model's ``auto``, branch and cut warm-started) on the same matrix and prints, per
model, its answer, its certified bound and gap, and the seconds it took.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks._data import city
from siting.models import CapacitatedMCLP, PCenter, PMedian
from siting.network.distances import search

P_FOR = {"small": 20, "medium": 100, "large": 500}
WALK_M = 1500.0  # longest walk the walk models consider
PLACES = 1500.0  # elderly each site can serve, capacitated model


def main(size: str, limit: float) -> int:
    wl = city(size)
    p = P_FOR[size]
    w = wl.demand_w.astype(float)
    wide = search(wl.edges, wl.demand_node, wl.site_node, cutoff_m=WALK_M).matrix
    print(
        f"workload {size}: {wide.shape[0]:,} demand x {wide.shape[1]:,} sites, "
        f"{wide.nnz:,} pairs within {WALK_M:.0f} m, p = {p}, time limit {limit:.0f} s"
    )
    rows = []
    start = time.perf_counter()
    pm = PMedian.from_cost_matrix(wide, w, p=p, cutoff_m=WALK_M).solve(
        method="fast", time_limit_s=limit
    )
    rows.append(
        (
            "p-median fast",
            time.perf_counter() - start,
            f"mean walk {pm.walks.mean_walk_m:,.0f} m, {pm.walks.unassigned:,.0f} unassigned",
            pm.gap,
        )
    )
    start = time.perf_counter()
    pc = PCenter.from_cost_matrix(wide, w, p=p, exclude_uncoverable=True).solve(
        method="fast", time_limit_s=limit
    )
    rows.append(
        (
            "p-center fast",
            time.perf_counter() - start,
            f"longest walk {pc.walks.worst_walk_m:,.0f} m (bound {pc.bound:,.0f} m)",
            pc.gap,
        )
    )
    circle = search(wl.edges, wl.demand_node, wl.site_node, cutoff_m=wl.radius_m).matrix
    capacity = np.full(circle.shape[1], PLACES)
    model = CapacitatedMCLP.from_cost_matrix(
        circle, w, radius_m=wl.radius_m, capacity=capacity, p=p
    )
    for method in ("fast", "auto"):
        start = time.perf_counter()
        cm = model.solve(method=method, time_limit_s=limit)
        rows.append(
            (
                f"capacitated {method} ({PLACES:.0f}/site)",
                time.perf_counter() - start,
                f"{cm.objective:,.0f} served (bound {cm.bound:,.0f})",
                cm.gap,
            )
        )
    print(f"\n{'model':34s} {'seconds':>8s} {'gap':>8s}  answer")
    for name, sec, answer, gap in rows:
        print(f"{name:34s} {sec:8.1f} {gap:8.2%}  {answer}")
    return 0
