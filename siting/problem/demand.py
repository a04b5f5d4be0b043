"""Demand and sites on the network.

Each 社区/村's elderly are spread evenly over the street nodes inside its polygon, so a
community can be partly covered, as a large 社区 at the edge of a service circle is. Only nodes
on streets where people live count (residential streets, living streets, service roads and
footpaths by default; not the empty country roads between villages). A polygon with no such
node falls back to every node inside it, and a polygon with no node at all to the node nearest
its inside point, with the snap distance kept; both fallbacks are recorded warnings
(``demand_on_any_street_node``, ``demand_at_nearest_node``) with the codes.

A candidate given as a parcel is sited at the parcel's point nearest a street
(:func:`parcel_sites`), before it is snapped like any site.

Facilities and candidate sites join the network at their nearest node; the snap distance is
kept and added to every walk. A site whose nearest node lies on a detached piece of street (not
the largest connected one) joins the main network instead when a node of it is within
``warn_beyond_m`` (``site_snapped_past_detached_street``), and otherwise stays and is reported
(``site_on_detached_street``); sites farther than ``warn_beyond_m`` from any street are reported
(``site_far_from_network``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from siting._errors import InputDataError
from siting._messages import preview
from siting._record import preview_zh, role_zh, warn
from siting.network.arrays import WalkNetwork, as_network

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)

RESIDENTIAL_HIGHWAYS = frozenset(
    {"residential", "living_street", "service", "footway", "pedestrian", "path", "steps"}
)


def _node_frame(net: WalkNetwork, highways: Collection[str]) -> gpd.GeoDataFrame:
    nodes = net.nodes()
    nodes["lived"] = net.lived_nodes(set(highways))
    return nodes


def demand_points(
    communities: gpd.GeoDataFrame,
    network: WalkNetwork | nx.MultiDiGraph,
    *,
    highways: Collection[str] = RESIDENTIAL_HIGHWAYS,
) -> gpd.GeoDataFrame:
    """Spread each 社区/村's ``elderly_60plus`` over the street nodes inside it.

    Parameters
    ----------
    communities
        社区/村 polygons in the graph's CRS, indexed by code, with ``elderly_60plus``.
    network
        The projected walking network (or an osmnx graph).
    highways
        OSM ``highway`` classes along which people live.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per demand point: ``community`` (code), ``node``, ``weight`` (elderly, float;
        the weights of a community add up to its elderly), ``snap_m`` (0 for street nodes),
        ``how`` (``street``, ``any-node``, ``nearest``).
    """
    net = as_network(network)
    if communities.crs is None or not communities.crs.equals(net.crs):
        raise InputDataError(
            f"the 社区/村 polygons are in {communities.crs} but the walking "
            f"network in {net.crs}: project them to the network's CRS first"
        )
    nodes = _node_frame(net, highways)
    polygons = communities[["geometry"]].rename_axis("community")
    inside = gpd.sjoin(nodes, polygons, predicate="within", how="inner")
    frames = []
    lived = inside[inside["lived"]]
    have_lived = set(lived["community"])
    frames.append(lived.assign(how="street"))
    anynode = inside[~inside["community"].isin(have_lived)]
    frames.append(anynode.assign(how="any-node"))
    placed = have_lived | set(anynode["community"])
    empty = communities.loc[~communities.index.isin(placed)]
    if len(empty):
        reps = empty.geometry.representative_point()
        dist, pos = cKDTree(nodes[["x", "y"]].to_numpy()).query(np.column_stack([reps.x, reps.y]))
        frames.append(
            gpd.GeoDataFrame(
                {"community": empty.index, "snap_m": dist, "how": "nearest"},
                geometry=gpd.points_from_xy(nodes["x"].to_numpy()[pos], nodes["y"].to_numpy()[pos]),
                index=nodes.index[pos],
                crs=nodes.crs,
            )
        )
    pts = pd.concat(frames)
    pts["node"] = pts.index.astype(np.int64)
    pts["snap_m"] = pts["snap_m"].fillna(0.0) if "snap_m" in pts else 0.0
    pts = pts.sort_values(["community", "node"]).reset_index(drop=True)
    counts = pts.groupby("community")["node"].transform("size")
    elderly = communities["elderly_60plus"].reindex(pts["community"]).to_numpy(float)
    pts["weight"] = elderly / counts.to_numpy()
    out = gpd.GeoDataFrame(
        pts[["community", "node", "weight", "snap_m", "how"]],
        geometry=pts.geometry.to_numpy(),
        crs=net.crs,
    )
    by_how = out.groupby("community")["how"].first().value_counts()
    log.info(
        "demand: %d points for %d 社区/村 (%s); %s elderly before and after spreading (%s)",
        len(out),
        out["community"].nunique(),
        by_how.to_dict(),
        f"{communities['elderly_60plus'].sum():,.0f}",
        f"{out['weight'].sum():,.1f}",
    )
    _report_fallbacks(out, highways)
    return out


def _report_fallbacks(pts: gpd.GeoDataFrame, highways: Collection[str]) -> None:
    """A recorded warning for each fallback: the 社区/村 codes and the elderly they hold."""
    for how, code, why, why_zh in (
        (
            "any-node",
            "demand_on_any_street_node",
            "have no node on a street people live on ({}) inside their polygon: their elderly "
            "are spread over every street node inside it, main roads included",
            "的边界面内没有居住街道（{}）上的节点：其老人分布在面内所有街道节点上，包括主干道",
        ),
        (
            "nearest",
            "demand_at_nearest_node",
            "have no street node inside their polygon: their elderly are placed at the street "
            "node nearest the polygon's inside point, and the straight walk to it (up to "
            "{max_m:,.0f} m) is added to every distance",
            "的边界面内没有街道节点：其老人置于距面内点最近的街道节点，到该节点的直线步行距离"
            "（最长 {max_m:,.0f} 米）计入每段距离",
        ),
    ):
        rows = pts[pts["how"] == how]
        codes = sorted(rows["community"].unique())
        if codes:
            lived = ", ".join(sorted(highways))
            warn(
                code,
                f"{len(codes)} 社区/村 "
                + why.format(lived, max_m=float(rows["snap_m"].max()))
                + f" ({rows['weight'].sum():,.1f} elderly): {preview(codes)}",
                codes,
                zh=f"{len(codes)} 个社区/村"
                + why_zh.format(lived, max_m=float(rows["snap_m"].max()))
                + f"（老人 {rows['weight'].sum():,.1f} 人）：{preview_zh(codes)}",
                stacklevel=3,
            )


def snap_sites(
    sites: gpd.GeoDataFrame,
    network: WalkNetwork | nx.MultiDiGraph,
    *,
    role: str,
    warn_beyond_m: float,
) -> pd.DataFrame:
    """Nearest graph node for each site on the main network and the straight walk to it.

    Parameters
    ----------
    sites
        Points in the network's (metric) CRS, indexed by id.
    network
        The projected walking network (or an osmnx graph).
    role
        What the sites are, for messages (``facilities``, ``sites``...).
    warn_beyond_m
        Sites farther than this from any node are kept (the walk is counted in every distance)
        and reported (``site_far_from_network``). A site whose nearest node lies on a detached
        piece of street (not the largest weakly connected one) joins the nearest node of the
        largest piece instead when that is within ``warn_beyond_m`` of it
        (``site_snapped_past_detached_street``, with both distances), else it stays and is
        reported (``site_on_detached_street``): a village whose streets do not reach the
        city's keeps its own site.

    Returns
    -------
    pandas.DataFrame
        ``node`` and ``snap_m`` (metres) per site, in the order of ``sites``.
    """
    if sites.crs is None or sites.crs.is_geographic:
        raise InputDataError(f"{role}: project the sites to the analysis CRS before snapping")
    net = as_network(network)
    ids, xy = net.node_ids, net.xy
    at = np.column_stack([sites.geometry.x, sites.geometry.y])
    dist, pos = cKDTree(xy).query(at)
    out = pd.DataFrame({"node": ids[pos], "snap_m": dist}, index=sites.index)
    _onto_main_piece(out, net, at, role=role, within_m=warn_beyond_m)
    far = out.index[out["snap_m"] > warn_beyond_m]
    if len(far):
        warn(
            "site_far_from_network",
            f"{role}: {len(far)} site(s) lie more than {warn_beyond_m:.0f} m from the "
            f"walking network: ids {preview(list(far))} (distances "
            f"{preview([round(d) for d in out.loc[far, 'snap_m']])} m); the straight "
            "walk to the street is added to every distance; check their coordinates "
            "and coordinate system",
            far,
            zh=f"{role_zh(role)}：{len(far)} 个站点距步行网络超过 {warn_beyond_m:.0f} 米：编号 "
            f"{preview_zh(list(far))}（距离 "
            f"{preview_zh([round(d) for d in out.loc[far, 'snap_m']])} 米）；"
            + "到街道的直线步行距离计入每段距离；请检查其坐标和坐标系",
        )
    log.info(
        "snapped %d %s to the network; median %.0f m, max %.0f m",
        len(out),
        role,
        out["snap_m"].median() if len(out) else 0.0,
        out["snap_m"].max() if len(out) else 0.0,
    )
    return out


def parcel_sites(parcels: gpd.GeoSeries, network: WalkNetwork | nx.MultiDiGraph) -> pd.DataFrame:
    """The site of each parcel: its point nearest to a street of the walking network.

    Parameters
    ----------
    parcels
        Parcel polygons in the network's (metric) CRS, indexed by id.
    network
        The projected walking network; its streets as drawn (:meth:`WalkNetwork.lines`).

    Returns
    -------
    pandas.DataFrame
        ``x``, ``y`` of the site (on the parcel's edge facing the nearest street, or, where
        streets touch or cross the parcel, the street point on it nearest the parcel's centre)
        and ``street_m``, the straight
        distance from the parcel to that street (0 when they touch), per parcel.
    """
    net = as_network(network)
    if parcels.crs is None or not parcels.crs.equals(net.crs):
        raise InputDataError(
            f"the parcels are in {parcels.crs} but the walking network in {net.crs}: "
            "project them to the network's CRS first"
        )
    if parcels.empty:
        return pd.DataFrame({"x": [], "y": [], "street_m": []}, index=parcels.index)
    edges = net.lines()
    shapes = parcels.to_numpy()
    tree = shapely.STRtree(edges)
    (which, nearest), dist = tree.query_nearest(shapes, return_distance=True, all_matches=False)
    order = np.argsort(which)
    lines = shapely.shortest_line(shapes[which[order]], edges[nearest[order]])
    start = shapely.get_point(lines, 0)
    dist = dist[order]
    # a parcel that streets touch or cross: the street point on it nearest its centre, the same
    # whichever way the streets are cut into edges (the first touching edge the index returns
    # is not: two readings of one network could place the site 50 m apart)
    touched = np.flatnonzero(dist == 0)
    if len(touched):
        on, hit = tree.query(shapes[touched], predicate="intersects")
        for k, t in enumerate(touched):
            streets = shapely.union_all(edges[hit[on == k]])
            inside = shapely.intersection(shapes[t], streets)
            if not inside.is_empty:
                centre = shapely.get_point(
                    shapely.shortest_line(shapes[t].representative_point(), inside), 1
                )
                start[t] = centre
    out = pd.DataFrame(
        {"x": shapely.get_x(start), "y": shapely.get_y(start), "street_m": dist},
        index=parcels.index,
    )
    log.info(
        "placed %d parcel site(s) at the parcel's point nearest a street; median %.0f m, "
        "max %.0f m from the parcel to the street",
        len(out),
        out["street_m"].median(),
        out["street_m"].max(),
    )
    return out


def _onto_main_piece(
    out: pd.DataFrame,
    net: WalkNetwork,
    at: np.ndarray,
    *,
    role: str,
    within_m: float,
) -> None:
    """Move sites snapped onto a detached piece of street to the main piece (in ``out``)."""
    if out.empty or net.piece.max(initial=0) == 0:
        return
    ids, xy = net.node_ids, net.xy
    main = net.piece == 0
    off = ~np.isin(out["node"].to_numpy(), ids[main])
    if not off.any():
        return
    dist, pos = cKDTree(xy[main]).query(at[off])
    move = dist <= within_m
    moved, stays = out.index[off][move], out.index[off][~move]
    before = out.loc[moved, "snap_m"].to_numpy()
    out.loc[moved, "node"] = ids[main][pos[move]]
    out.loc[moved, "snap_m"] = dist[move]
    if len(moved):
        pairs = [
            f"{i!r} {a:.0f} m -> {b:.0f} m"
            for i, a, b in zip(moved, before, dist[move], strict=True)
        ]
        warn(
            "site_snapped_past_detached_street",
            f"{role}: {len(moved)} site(s) were nearest to a piece of street not connected to "
            "the main walking network, and join the main network at its nearest node instead "
            f"(walk to the detached piece -> to the main network): {', '.join(pairs[:20])}"
            f"{'...' if len(pairs) > 20 else ''}; check the streets around them",
            moved,
            zh=f"{role_zh(role)}：{len(moved)} 个站点最近的街道段与主步行网络不连通，已改接主网络上"
            "最近的节点（到不连通街道段的距离 -> 到主网络的距离）："
            f"{'，'.join(pairs[:20])}{'……' if len(pairs) > 20 else ''}；请检查其周边街道",
            stacklevel=3,
        )
    if len(stays):
        warn(
            "site_on_detached_street",
            f"{role}: {len(stays)} site(s) stand on a piece of street not connected to the main "
            f"walking network, which is more than {within_m:.0f} m away: ids {preview(list(stays))}"
            "; they reach only the demand on their own piece; check the streets around them",
            stays,
            zh=f"{role_zh(role)}：{len(stays)} 个站点位于与主步行网络不连通的街道段上，"
            f"距主网络超过 {within_m:.0f} 米：编号 {preview_zh(list(stays))}；"
            + "它们只能覆盖所在街道段上的需求；请检查其周边街道",
            stacklevel=3,
        )


def project_elderly(
    communities: gpd.GeoDataFrame,
    *,
    year: int,
    base_year: int,
    annual_rate: float | None,
    factors: dict[str, float],
) -> gpd.GeoDataFrame:
    """Grow ``elderly_60plus`` to ``year``: ``(1 + annual_rate) ** (year - base_year)``, times a
    factor for the 社区/村 code if given, else for its 街道/乡镇 code. Unknown codes are errors."""
    known = set(communities.index) | set(communities["street_code"])
    unknown = sorted(set(factors) - known)
    if unknown:
        raise InputDataError(
            f"`projection.factors` names codes that are neither 社区/村 nor "
            f"街道/乡镇: {preview(unknown)}"
        )
    growth = (1.0 + annual_rate) ** (year - base_year) if annual_rate is not None else 1.0
    unit_factor = communities["street_code"].map(factors).astype(float)
    own = pd.Series(
        communities.index.map(lambda c: factors.get(c, np.nan)),
        index=communities.index,
        dtype=float,
    )
    factor = own.fillna(unit_factor).fillna(1.0) * growth
    out = communities.copy()
    before = float(out["elderly_60plus"].sum())
    out["elderly_60plus"] = out["elderly_60plus"].astype(float) * factor
    log.info(
        "projection to %d: elderly (60+) %s -> %s (growth %.4f per year from %d, %d "
        "code factor(s))",
        year,
        f"{before:,.0f}",
        f"{out['elderly_60plus'].sum():,.0f}",
        annual_rate or 0.0,
        base_year,
        len(factors),
    )
    return out
