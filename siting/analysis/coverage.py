"""Service circles: which elderly are within reach, per 社区/村, per 街道/乡镇 and overall.

A demand point is covered when an open site is within its own radius: the 一刻钟 walk
(15 minutes x walking speed) for points in 社区, 1,000 m for points in 村. Radii are per
point, so one cost matrix cut off at the largest radius serves both circles.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from siting.models import SiteGain, Solution, build_order
from siting.network.arrays import WalkNetwork, as_network
from siting.network.distances import WalkArrays, reachable_nodes
from siting.problem.cover import nearest_m

if TYPE_CHECKING:
    import networkx as nx

    from siting.problem.build import Problem

log = logging.getLogger(__name__)


def by_community(
    points: pd.DataFrame,
    communities: pd.DataFrame,
    radius_m: NDArray[np.float64],
    before: NDArray[np.bool_],
    after: NDArray[np.bool_],
    nearest_before_m: NDArray[np.float64],
    *,
    access: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
) -> pd.DataFrame:
    """Elderly covered before and after, per 社区/村, with the radius that decided it; with
    ``access`` (2SFCA per demand point before and after, :mod:`siting.analysis.access`), its
    elderly-weighted mean per 社区/村 as ``access_2sfca_before`` / ``access_2sfca_after``."""
    frame = pd.DataFrame(
        {
            "code": points["community"].to_numpy(),
            "w": points["weight"].to_numpy(),
            "b": points["weight"].to_numpy() * before,
            "a": points["weight"].to_numpy() * after,
            "r": radius_m,
            "near": nearest_before_m,
        }
    )
    agg = frame.groupby("code").agg(
        radius_m=("r", "max"),
        covered_before=("b", "sum"),
        covered_after=("a", "sum"),
        nearest_before_m=("near", "min"),
    )
    out = communities[["code", "name", "street_code", "kind", "elderly_60plus"]].join(agg)
    out = out.rename(columns={"elderly_60plus": "elderly"})
    lived = out["elderly"] > 0
    for when in ("before", "after"):
        col = f"covered_{when}"
        out[col] = out[col].round(1)
        # no share where nobody is counted: a 社区/村 without elderly is not "100 % covered"
        out[f"share_{when}"] = (out[col] / out["elderly"].where(lived)).round(4)
    out["status_after"] = np.select(
        [~lived, out["share_after"] >= 0.9999, out["share_after"] <= 0.0],
        ["no elderly", "covered", "uncovered"],
        "partly covered",
    )
    out["nearest_before_m"] = out["nearest_before_m"].round(0)
    if access is not None:
        from siting.analysis.access import by_community as per_community

        for when, values in zip(("before", "after"), access, strict=True):
            mean = per_community(points["community"], points["weight"], values)
            out[f"access_2sfca_{when}"] = out["code"].map(mean).fillna(0.0).round(2)
    return out.reset_index(drop=True)


def by_unit(table: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Roll a per-community table up to 街道/乡镇 (``street_code``)."""
    agg = table.groupby("street_code")[["elderly", "covered_before", "covered_after"]].sum()
    agg["communities"] = table.groupby("street_code").size()
    agg["communities_uncovered_after"] = (
        table.assign(u=table["status_after"] == "uncovered").groupby("street_code")["u"].sum()
    )
    out = units[["code", "name", "kind"]].join(agg, how="left").fillna(0)
    for when in ("before", "after"):
        out[f"share_{when}"] = (
            (out[f"covered_{when}"] / out["elderly"].where(out["elderly"] > 0)).fillna(1.0).round(4)
        )
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Summary:
    """Who a plan covers, from a :class:`~siting.problem.Problem` and a
    :class:`~siting.models.Solution`: computed once, read by the report, map and API."""

    covered_before: NDArray[np.bool_]  # per demand point: within the circle of an existing site
    covered_after: NDArray[np.bool_]  # ... of an existing site or a selected one
    uncoverable: NDArray[np.bool_]  # ... of no usable site at all
    nearest_before_m: NDArray[np.float64]  # walk to the nearest existing site (NaN: none)
    new_sites: tuple[SiteGain, ...]  # selected sites in build order, elderly newly covered
    newly_covered_rows: dict[str, NDArray[np.int64]]  # per selected site, the points it adds
    weights: NDArray[np.float64] = field(repr=False)

    def elderly(self, which: NDArray[np.bool_]) -> float:
        return float(self.weights[which].sum())


def summarise(problem: Problem, solution: Solution | Sequence[str]) -> Summary:
    """Coverage before and after a plan: ``solution`` (its selected sites) or a list of ids to
    open in addition to the existing sites. Each site is credited, in build order (the one
    adding most first), with the elderly it newly brings inside their circle, so the credits
    add up to the gain."""
    chosen = solution.selected if isinstance(solution, Solution) else tuple(solution)
    columns = problem.column_of(chosen)
    existing = problem.columns("existing")
    fixed = np.zeros(problem.cover.shape[1], dtype=bool)
    fixed[existing] = True
    w = problem.weights
    gains = build_order(problem.cover, w, fixed, columns, problem.site_ids)
    csc = problem.cover.tocsc()
    where = {s: k for k, s in enumerate(problem.site_ids)}
    taken = problem.covered(existing)
    rows: dict[str, NDArray[np.int64]] = {}
    for g in gains:
        c = where[g.site]
        reach = csc.indices[csc.indptr[c] : csc.indptr[c + 1]]
        mine = reach[~taken[reach]]
        taken[mine] = True
        rows[g.site] = mine
    return Summary(
        covered_before=problem.covered(existing),
        covered_after=problem.covered(np.r_[existing, columns]),
        uncoverable=problem.uncoverable(),
        nearest_before_m=nearest_m(problem.cost, existing),
        new_sites=tuple(gains),
        newly_covered_rows=rows,
        weights=w,
    )


def service_areas(
    network: WalkNetwork | nx.MultiDiGraph,
    site_nodes: ArrayLike,
    site_offset_m: ArrayLike,
    radius_m: ArrayLike,
    *,
    site_ids: ArrayLike,
    arrays: WalkArrays | None = None,
    buffer_m: float = 40.0,
) -> gpd.GeoDataFrame:
    """One polygon per site: the streets walkable within its radius, buffered.

    An edge belongs to the area when both its ends are within the radius (after the site's own
    walk to the street). The polygon is the union of those edges buffered by ``buffer_m``: it
    follows the streets and leaves out what the network cannot reach, unlike a convex hull.
    The searches are the same compiled ones as the cost matrix (:func:`costs.reachable_nodes`).
    """
    net = as_network(network)
    if len(np.asarray(site_nodes)) == 0:  # no site open at all: no area, not an error
        return gpd.GeoDataFrame(
            {"site": pd.Series(dtype=str), "radius_m": pd.Series(dtype=float)},
            geometry=[],
            crs=net.crs,
        )
    arrays, reach = reachable_nodes(
        arrays if arrays is not None else net.arrays,
        site_nodes,
        radius_m=radius_m,
        site_offset_m=site_offset_m,
    )
    nodes_xy = net.xy if arrays is net.arrays else net.xy[net.arrays.index_of(arrays.node_ids)]
    upper = sparse.triu(arrays.adjacency, k=1).tocoo()
    reach_csc = reach.tocsc()

    def area(k: int) -> shapely.Geometry:
        inside = np.zeros(len(nodes_xy), dtype=bool)
        inside[reach_csc.indices[reach_csc.indptr[k] : reach_csc.indptr[k + 1]]] = True
        use = inside[upper.row] & inside[upper.col]
        lines = shapely.linestrings(
            np.stack([nodes_xy[upper.row[use]], nodes_xy[upper.col[use]]], axis=1)
        )
        if len(lines) == 0:  # the site's own node, or nothing within reach
            node = arrays.index_of([np.asarray(site_nodes)[k]])[0]
            return shapely.Point(nodes_xy[node]).buffer(buffer_m)
        return shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=2))

    # GEOS releases the GIL in buffer and union: the sites' areas are built on every core
    # (measured on the large benchmark city, 40 sites of ~760 edges: 1.9 s on one, 1.1 s on two)
    with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, 8)) as pool:
        polys = list(pool.map(area, range(reach.shape[1])))
    radii = np.broadcast_to(np.asarray(radius_m, float), (reach.shape[1],))
    return gpd.GeoDataFrame(
        {"site": [str(s) for s in np.asarray(site_ids)], "radius_m": radii},
        geometry=polys,
        crs=net.crs,
    )


def dissolve_areas(
    areas: gpd.GeoDataFrame, by: list[str], *, simplify_m: float = 4.0
) -> gpd.GeoDataFrame:
    """Union service areas per group (e.g. ``["role", "tier"]``) for maps; metric CRS in."""
    if areas.crs is None or areas.crs.is_geographic:
        raise ValueError("dissolve_areas needs service areas in a metric CRS")
    groups = areas.dissolve(by=by, aggfunc={"site": "count"}).rename(columns={"site": "sites"})
    groups["geometry"] = groups.geometry.simplify(simplify_m)
    return groups.reset_index()
