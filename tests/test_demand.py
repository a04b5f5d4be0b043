"""Demand points: elderly spread over street nodes inside each polygon, totals kept."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import Point, box

from siting import SitingWarning
from siting._record import RecordedWarning
from siting.problem.demand import demand_points
from siting.problem.sites import snap_sites


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
    with pytest.warns(RecordedWarning, match=r"1 社区/村 have no street node.*\['C'\]") as caught:
        pts = demand_points(communities, _grid())
    assert [w.message.code for w in caught] == ["demand_at_nearest_node"]
    assert caught[0].message.ids == ("C",)
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
    with pytest.warns(RecordedWarning, match=r"main roads included \(30.0 elderly\)") as caught:
        pts = demand_points(communities, _grid(), highways={"footway"})
    assert [w.message.code for w in caught] == ["demand_on_any_street_node"]
    assert caught[0].message.ids == ("R",)
    assert (pts["how"] == "any-node").all()
    assert len(pts) == 5


def test_sites_far_from_the_network_are_reported() -> None:
    sites = gpd.GeoDataFrame(
        geometry=[Point(110, 0), Point(5000, 5000)], index=["F1", "F2"], crs="EPSG:4547"
    )
    with pytest.warns(SitingWarning, match=r"'F2'") as caught:
        snapped = snap_sites(sites, _grid(), role="facilities", warn_beyond_m=200)
    assert [w.message.code for w in caught] == ["site_far_from_network"]
    assert caught[0].message.ids == ("F2",)
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


def _with_detached_square(G: nx.MultiDiGraph, x: float, y: float, first: int) -> None:
    """A 20 m square of street not connected to anything, its corner at (x, y)."""
    corners = [(x, y), (x + 20, y), (x + 20, y + 20), (x, y + 20)]
    for k, (cx, cy) in enumerate(corners):
        G.add_node(first + k, x=cx, y=cy)
    for k in range(4):
        a, b = first + k, first + (k + 1) % 4
        G.add_edge(a, b, length=20.0, highway="service")
        G.add_edge(b, a, length=20.0, highway="service")


def test_sites_on_a_detached_piece_of_street_join_the_main_network() -> None:
    G = _grid()
    _with_detached_square(G, 140, 140, 100)  # inside a block, 40 m off the grid's streets
    _with_detached_square(G, 2000, 2000, 200)  # a village whose streets reach nowhere
    sites = gpd.GeoDataFrame(
        geometry=[Point(150, 150), Point(2010, 2010), Point(300, 100)],
        index=["F1", "F2", "F3"],
        crs="EPSG:4547",
    )
    with pytest.warns(RecordedWarning) as caught:
        snapped = snap_sites(sites, G, role="facilities", warn_beyond_m=200)
    codes = {w.message.code: w.message for w in caught}
    assert set(codes) == {"site_snapped_past_detached_street", "site_on_detached_street"}
    past = codes["site_snapped_past_detached_street"]
    assert past.ids == ("F1",)
    assert "'F1' 14 m -> 71 m" in past.message  # to the detached square, to the grid
    assert snapped.loc["F1", "node"] in {6, 7, 11, 12}  # a corner of its block on the grid
    assert snapped.loc["F1", "snap_m"] == pytest.approx(np.hypot(50, 50))
    assert codes["site_on_detached_street"].ids == ("F2",)  # the grid is 2 km away: it stays
    assert snapped.loc["F2", "node"] in {200, 201, 202, 203}
    assert snapped.loc["F3", "node"] == 16
    assert snapped.loc["F3", "snap_m"] == 0.0


def test_a_parcel_a_street_crosses_gets_one_site_however_the_street_is_cut() -> None:
    """A street crossing a parcel, drawn as one edge or as five: the site is the street point
    on the parcel nearest its centre either way (the first touching edge an index returns
    depended on the cutting, and moved sites by tens of metres)."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from siting.network.arrays import WalkNetwork
    from siting.problem.sites import parcel_sites

    def street(cuts: int) -> WalkNetwork:
        x = np.linspace(0.0, 500.0, cuts + 1)
        return WalkNetwork(
            crs="EPSG:4547",
            node_ids=np.arange(cuts + 1),
            x=x,
            y=np.full(cuts + 1, 100.0),
            u=np.arange(cuts),
            v=np.arange(1, cuts + 1),
            length=np.diff(x),
            highway=np.array(["residential"] * cuts, dtype=object),
        )

    parcel = gpd.GeoSeries([shapely.box(180.0, 60.0, 300.0, 120.0)], index=["P1"], crs=4547)
    one, five = parcel_sites(parcel, street(1)), parcel_sites(parcel, street(5))
    assert one.loc["P1", ["x", "y"]].tolist() == pytest.approx([240.0, 100.0])
    assert five.loc["P1", ["x", "y"]].tolist() == pytest.approx([240.0, 100.0])
    assert one.loc["P1", "street_m"] == five.loc["P1", "street_m"] == 0.0
