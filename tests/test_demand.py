"""Demand points: elderly spread over street nodes inside each polygon, totals kept."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import Point, box

from siting import SitingWarning
from siting.demand import demand_points, snap_sites


def _grid() -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs="EPSG:4547")
    for i in range(5):
        for j in range(5):
            G.add_node(i * 5 + j, x=100.0 * i, y=100.0 * j)
    for i in range(5):
        for j in range(5):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < 5 and j + dj < 5:
                    hw = "primary" if j == 0 else "residential"
                    G.add_edge(i * 5 + j, (i + di) * 5 + j + dj, length=100.0, highway=hw)
    return G


def test_elderly_are_spread_over_lived_street_nodes_and_totals_kept() -> None:
    communities = gpd.GeoDataFrame(
        {"elderly_60plus": [90, 40, 7]},
        index=["A", "B", "C"],
        geometry=[box(-50, 50, 250, 450), box(250, 50, 450, 450), box(1000, 1000, 1100, 1100)],
        crs="EPSG:4547",
    )
    pts = demand_points(communities, _grid())
    a = pts[pts["community"] == "A"]
    assert len(a) == 12
    assert (a["how"] == "street").all()
    assert a["weight"].sum() == pytest.approx(90)
    c = pts[pts["community"] == "C"]  # no node inside: nearest node, snap distance kept
    assert len(c) == 1
    assert c["how"].iloc[0] == "nearest"
    assert c["snap_m"].iloc[0] == pytest.approx(np.hypot(1050 - 400, 1050 - 400))
    assert pts["weight"].sum() == pytest.approx(137)


def test_polygon_with_only_main_road_nodes_falls_back_to_any_node() -> None:
    communities = gpd.GeoDataFrame(
        {"elderly_60plus": [30]}, index=["R"], geometry=[box(-50, -50, 450, 40)], crs="EPSG:4547"
    )
    pts = demand_points(communities, _grid(), highways={"footway"})
    assert (pts["how"] == "any-node").all()
    assert len(pts) == 5


def test_sites_far_from_the_network_are_reported() -> None:
    sites = gpd.GeoDataFrame(
        geometry=[Point(110, 0), Point(5000, 5000)], index=["F1", "F2"], crs="EPSG:4547"
    )
    with pytest.warns(SitingWarning, match=r"'F2'"):
        snapped = snap_sites(sites, _grid(), role="facilities", warn_beyond_m=200)
    assert snapped.loc["F1", "snap_m"] == pytest.approx(10.0)
    assert snapped.loc["F1", "node"] == 5


def test_layers_in_another_crs_than_the_graph_are_refused() -> None:
    from siting import InputDataError

    communities = gpd.GeoDataFrame(
        {"elderly_60plus": [10]},
        index=["A"],
        geometry=[box(115.0, 35.7, 115.01, 35.71)],
        crs="EPSG:4326",
    )
    with pytest.raises(InputDataError, match=r"EPSG:4326.*EPSG:4547"):
        demand_points(communities, _grid())
