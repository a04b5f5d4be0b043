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
from scipy.spatial import cKDTree

from siting._errors import InputDataError
from siting._messages import preview
from siting._record import preview_zh, warn
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
