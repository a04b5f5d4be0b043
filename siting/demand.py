"""Demand and sites on the network.

Each 社区/村's elderly are spread evenly over the street nodes inside its polygon, so a
community can be partly covered, as a large 社区 at the edge of a service circle is. Only nodes
on streets where people live count (residential streets, living streets, service roads and
footpaths by default; not the empty country roads between villages). A polygon with no such
node falls back to every node inside it, and a polygon with no node at all to the node nearest
its inside point, with the snap distance kept; both fallbacks are logged with the codes.

Facilities and candidate sites join the network at their nearest node; the snap distance is
kept and added to every walk, and sites far from any street are reported.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Collection

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
from scipy.spatial import cKDTree

from siting._errors import InputDataError, SitingWarning
from siting._validate import preview

log = logging.getLogger(__name__)

RESIDENTIAL_HIGHWAYS = frozenset(
    {"residential", "living_street", "service", "footway", "pedestrian", "path", "steps"}
)


def _node_frame(G: nx.MultiDiGraph, highways: Collection[str]) -> gpd.GeoDataFrame:
    nodes = ox.graph_to_gdfs(G, edges=False)
    lived: set[int] = set()
    for u, v, hw in G.edges(data="highway"):
        tags = hw if isinstance(hw, list) else [hw]
        if any(t in highways for t in tags):
            lived.update((u, v))
    nodes = nodes[["x", "y", "geometry"]].copy()
    nodes["lived"] = nodes.index.isin(list(lived))
    return nodes


def demand_points(
    communities: gpd.GeoDataFrame,
    G: nx.MultiDiGraph,
    *,
    highways: Collection[str] = RESIDENTIAL_HIGHWAYS,
) -> gpd.GeoDataFrame:
    """Spread each 社区/村's ``elderly_60plus`` over the street nodes inside it.

    Parameters
    ----------
    communities
        社区/村 polygons in the graph's CRS, indexed by code, with ``elderly_60plus``.
    G
        Projected walking graph.
    highways
        OSM ``highway`` classes along which people live.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per demand point: ``community`` (code), ``node``, ``weight`` (elderly, float;
        the weights of a community add up to its elderly), ``snap_m`` (0 for street nodes),
        ``how`` (``street``, ``any-node``, ``nearest``).
    """
    if communities.crs is None or not communities.crs.equals(G.graph["crs"]):
        raise InputDataError(
            f"the 社区/村 polygons are in {communities.crs} but the walking "
            f"graph in {G.graph['crs']}: project them to the graph's CRS first"
        )
    nodes = _node_frame(G, highways)
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
        crs=G.graph["crs"],
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
    for how in ("any-node", "nearest"):
        codes = sorted(out.loc[out["how"] == how, "community"].unique())
        if codes:
            log.info("demand fallback %r for %d 社区/村: %s", how, len(codes), preview(codes))
    return out


def snap_sites(
    sites: gpd.GeoDataFrame, G: nx.MultiDiGraph, *, role: str, warn_beyond_m: float
) -> pd.DataFrame:
    """Nearest graph node for each site and the straight-line walk to it (``snap_m``).

    Sites farther than ``warn_beyond_m`` from any node are kept (the walk is counted in every
    distance) and reported with a :class:`SitingWarning` naming them.
    """
    if sites.crs is None or sites.crs.is_geographic:
        raise InputDataError(f"{role}: project the sites to the analysis CRS before snapping")
    nodes = ox.graph_to_gdfs(G, edges=False)
    dist, pos = cKDTree(nodes[["x", "y"]].to_numpy()).query(
        np.column_stack([sites.geometry.x, sites.geometry.y])
    )
    out = pd.DataFrame(
        {"node": nodes.index.to_numpy()[pos].astype(np.int64), "snap_m": dist}, index=sites.index
    )
    far = out.index[out["snap_m"] > warn_beyond_m]
    if len(far):
        message = (
            f"{role}: {len(far)} site(s) lie more than {warn_beyond_m:.0f} m from the "
            f"walking network: ids {preview(list(far))} (distances "
            f"{preview([round(d) for d in out.loc[far, 'snap_m']])} m); the straight "
            "walk to the street is added to every distance; check their coordinates "
            "and coordinate system"
        )
        log.warning(message)
        warnings.warn(message, SitingWarning, stacklevel=2)
    log.info(
        "snapped %d %s to the network; median %.0f m, max %.0f m",
        len(out),
        role,
        out["snap_m"].median() if len(out) else 0.0,
        out["snap_m"].max() if len(out) else 0.0,
    )
    return out


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
