"""Coverage per point with per-point radii, rolled up to 社区 and 街道."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from siting.analysis.coverage import by_community, by_unit
from siting.models import coverage_sets
from siting.problem.cover import covered_by, nearest_m


def test_each_point_uses_its_own_radius() -> None:
    cost = sparse.csr_matrix(np.array([[950.0, 0.0], [950.0, 0.0], [0.0, 400.0]]))
    cost = sparse.csr_matrix((np.array([950.0, 950.0, 0.0]), ([0, 1, 2], [0, 0, 1])), shape=(3, 2))
    cover = coverage_sets(cost, [900.0, 1000.0, 900.0])  # 社区 point, 村 point, 社区 point
    assert covered_by(cover, [0]).tolist() == [False, True, False]
    assert covered_by(cover, [1]).tolist() == [False, False, True]  # a stored 0 m is covered
    assert np.isnan(nearest_m(cost, [1])[0])
    assert nearest_m(cost, [0, 1])[2] == 0.0


def test_rollup_to_community_and_unit() -> None:
    points = pd.DataFrame({"community": ["A", "A", "B", "B"], "weight": [30.0, 10.0, 5.0, 5.0]})
    communities = pd.DataFrame(
        {
            "code": ["A", "B"],
            "name": ["甲社区", "乙村"],
            "street_code": ["S", "S"],
            "kind": ["社区", "村"],
            "elderly_60plus": [40, 10],
        },
        index=["A", "B"],
    )
    radius = np.array([900.0, 900.0, 1000.0, 1000.0])
    before = np.array([True, False, False, False])
    after = np.array([True, True, False, True])
    table = by_community(
        points, communities, radius, before, after, np.array([300.0, np.nan, np.nan, np.nan])
    )
    a, b = table.iloc[0], table.iloc[1]
    assert (a.covered_before, a.share_before, a.share_after) == (30, 0.75, 1.0)
    assert (b.radius_m, b.covered_after, b.status_after) == (1000, 5, "partly covered")
    assert a.status_after == "covered"
    assert np.isnan(b.nearest_before_m)
    units = pd.DataFrame({"code": ["S"], "name": ["某街道"], "kind": ["街道"]}, index=["S"])
    rolled = by_unit(table, units).iloc[0]
    assert (rolled.elderly, rolled.covered_before, rolled.covered_after) == (50, 30, 45)
    assert rolled.share_after == pytest.approx(0.9)


def test_service_area_follows_the_streets_within_reach() -> None:
    import networkx as nx
    from shapely.geometry import Point

    from siting.analysis.coverage import service_areas

    G = nx.MultiDiGraph(crs="EPSG:4547")
    xy = {1: (0, 0), 2: (500, 0), 3: (1000, 0), 4: (500, 500), 5: (1500, 0)}
    for n, (x, y) in xy.items():
        G.add_node(n, x=float(x), y=float(y))
    for a, b in ((1, 2), (2, 3), (2, 4), (3, 5)):
        length = float(np.hypot(xy[a][0] - xy[b][0], xy[a][1] - xy[b][1]))
        G.add_edge(a, b, length=length)
        G.add_edge(b, a, length=length)
    areas = service_areas(G, [1], [0.0], [1000.0], site_ids=["F1"], buffer_m=40.0)
    poly = areas.geometry.iloc[0]
    assert areas["site"].tolist() == ["F1"]
    assert poly.contains(Point(250, 0))
    assert poly.contains(Point(500, 250))  # the side street, within 1,000 m at its end
    assert not poly.contains(Point(1250, 0))  # the edge to node 5 ends at 1,500 m
    assert not poly.contains(Point(250, 250))  # inside the hull, but no street goes there
