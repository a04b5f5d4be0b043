"""Where sites stand on the walking network: existing facilities and candidate points snapped to
their nearest street (an unconnected street piece handed to the main network, with a warning),
and candidate parcels sited at their point nearest a street."""

from __future__ import annotations

import logging
from dataclasses import replace
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

if TYPE_CHECKING:
    from siting.inputs.load import Inputs

log = logging.getLogger(__name__)


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


def place_parcel_sites(inp: Inputs, net: WalkNetwork) -> Inputs:
    """Candidates given as parcels, each sited at the parcel's point nearest a street of the
    walking network ``net`` (:func:`parcel_sites`), with that distance in
    ``parcel_street_m``; a recorded warning (``candidate_sites_on_parcels``) lists them."""
    if inp.parcels is None or inp.parcels.empty:
        return inp
    crs = net.crs
    sites = parcel_sites(inp.parcels.to_crs(crs), net)
    points = gpd.GeoSeries(
        gpd.points_from_xy(sites["x"], sites["y"]), index=sites.index, crs=crs
    ).to_crs(inp.candidates.crs)
    cand = inp.candidates.copy()
    geometry = cand.geometry.copy()
    geometry.loc[points.index] = points
    cand = cand.set_geometry(geometry)
    cand.loc[sites.index, "parcel_street_m"] = sites["street_m"].round(1)
    far = sites["street_m"].sort_values(ascending=False)
    shown = ", ".join(f"{i} {d:,.0f} m" for i, d in far.head(10).items())
    warn(
        "candidate_sites_on_parcels",
        f"{len(sites)} candidate(s) are parcels: each one's site is the parcel's point "
        "nearest a street of the walking network (where a street touches the parcel, on it); "
        f"distance from the parcel to that street, farthest first: {shown}"
        + (", ..." if len(sites) > 10 else ""),
        list(sites.index),
        zh=f"{len(sites)} 个候选点是地块：每个站点取地块上距步行网络街道最近的点（有街道接触地块"
        f"时取在街道上）；地块到该街道的距离（由远及近）：{shown}"
        + ("，……" if len(sites) > 10 else ""),
    )
    return replace(inp, candidates=cand)
